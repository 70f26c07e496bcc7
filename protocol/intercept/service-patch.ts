// The JSON patches that switch a Service to the intercept routers and back (docs/inbound.md
// "Two developers on one Service"), pure functions used by the runner (join) and the pod (leave,
// restore). Every patch carries `test` ops on what it read, so a concurrent change (a colleague,
// GitOps) makes it fail instead of being overwritten; the caller re-reads and decides again.

export const LABEL_ROUTER_FOR = 'kinject.dev/router-for';
export const ANNOTATION_ORIGINAL_SELECTOR = 'kinject.dev/original-selector';
export const ANNOTATION_INTERCEPTED_BY = 'kinject.dev/intercepted-by';
/** the field managers kinject writes Services with: the runner and the pod's restorer */
export const FIELD_MANAGERS = ['kinject', 'kinject-restorer'];

export interface InterceptMember {
  session: string;
  user: string;
  headers: { name: string; value: string }[];
  pathPrefix?: string;
}

/** The part of a Service these functions read. */
export interface ServiceView {
  metadata?: { annotations?: Record<string, string> };
  spec?: { selector?: Record<string, string> };
}

export type PatchOp = { op: 'test' | 'add' | 'replace'; path: string; value: unknown } | { op: 'remove'; path: string };

const esc = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');
const annotationPath = (key: string) => `/metadata/annotations/${esc(key)}`;

export function routerSelector(service: string): Record<string, string> {
  return { [LABEL_ROUTER_FOR]: service };
}

export function isGlobalMember(m: InterceptMember): boolean {
  return m.headers.length === 0 && !m.pathPrefix;
}

/** The members recorded on the Service ([] when it is not intercepted). */
export function membersOf(svc: ServiceView): InterceptMember[] {
  const text = svc.metadata?.annotations?.[ANNOTATION_INTERCEPTED_BY];
  if (!text) return [];
  try {
    const list = JSON.parse(text) as unknown;
    return Array.isArray(list) ? (list as InterceptMember[]) : [];
  } catch {
    return [];
  }
}

export function originalSelectorOf(svc: ServiceView): Record<string, string> | undefined {
  const text = svc.metadata?.annotations?.[ANNOTATION_ORIGINAL_SELECTOR];
  if (!text) return undefined;
  try {
    return JSON.parse(text) as Record<string, string>;
  } catch {
    return undefined;
  }
}

function describeMember(m: InterceptMember): string {
  return `${m.user} (session ${m.session}${isGlobalMember(m) ? ', global' : `, ${m.headers.map((h) => `${h.name}=${h.value}`).join(' ')}${m.pathPrefix ? ` ${m.pathPrefix}` : ''}`})`;
}

/** Why `me` may not join (one line naming the holder), or undefined. */
export function joinConflict(svc: ServiceView, me: InterceptMember, serviceName: string): string | undefined {
  const members = membersOf(svc).filter((m) => m.session !== me.session);
  if (!members.length) return undefined;
  const global = members.find(isGlobalMember);
  if (global) return `Service ${serviceName} is already intercepted globally by ${describeMember(global)}: wait for it to end, or ask them`;
  if (isGlobalMember(me)) {
    return `Service ${serviceName} already has personal intercepts (${members.map(describeMember).join('; ')}): a global intercept would take their traffic; add --header NAME=VALUE`;
  }
  return undefined;
}

/** Adds `me`: the first member also switches the selector (tested against what was read). */
export function joinPatch(svc: ServiceView, me: InterceptMember, serviceName: string): PatchOp[] {
  const members = membersOf(svc);
  const annotations = svc.metadata?.annotations;
  const current = annotations?.[ANNOTATION_INTERCEPTED_BY];
  const list = JSON.stringify([...members.filter((m) => m.session !== me.session), me]);
  if (current !== undefined) {
    return [
      { op: 'test', path: annotationPath(ANNOTATION_INTERCEPTED_BY), value: current },
      { op: 'replace', path: annotationPath(ANNOTATION_INTERCEPTED_BY), value: list },
    ];
  }
  const selector = svc.spec?.selector ?? {};
  const ours = { [ANNOTATION_ORIGINAL_SELECTOR]: JSON.stringify(selector), [ANNOTATION_INTERCEPTED_BY]: list };
  const ops: PatchOp[] = [{ op: 'test', path: '/spec/selector', value: selector }];
  if (annotations) for (const [k, v] of Object.entries(ours)) ops.push({ op: 'add', path: annotationPath(k), value: v });
  else ops.push({ op: 'add', path: '/metadata/annotations', value: ours });
  ops.push({ op: 'replace', path: '/spec/selector', value: routerSelector(serviceName) });
  return ops;
}

/**
 * Removes `session`; the last member puts the original selector back and removes kinject's
 * annotations in the same patch. undefined: nothing of ours is left. With `keepSelector` (someone
 * else changed the Service) only our annotations and our selector key are removed, under test.
 */
export function leavePatch(svc: ServiceView, session: string, serviceName: string, keepSelector = false): PatchOp[] | undefined {
  const annotations = svc.metadata?.annotations ?? {};
  const current = annotations[ANNOTATION_INTERCEPTED_BY];
  const members = membersOf(svc);
  const selector = svc.spec?.selector ?? {};
  if (current === undefined) {
    // not ours any more; a selector key of ours left in someone else's selector is removed alone
    if (keepSelector && selector[LABEL_ROUTER_FOR] === serviceName && Object.keys(selector).length > 1) {
      return [
        { op: 'test', path: `/spec/selector/${esc(LABEL_ROUTER_FOR)}`, value: serviceName },
        { op: 'remove', path: `/spec/selector/${esc(LABEL_ROUTER_FOR)}` },
      ];
    }
    return undefined;
  }
  const rest = members.filter((m) => m.session !== session);
  const ops: PatchOp[] = [{ op: 'test', path: annotationPath(ANNOTATION_INTERCEPTED_BY), value: current }];
  if (rest.length && !keepSelector) {
    if (rest.length === members.length) return undefined;
    ops.push({ op: 'replace', path: annotationPath(ANNOTATION_INTERCEPTED_BY), value: JSON.stringify(rest) });
    return ops;
  }
  const original = originalSelectorOf(svc);
  if (!keepSelector && original) {
    ops.push({ op: 'test', path: '/spec/selector', value: selector });
    ops.push({ op: 'replace', path: '/spec/selector', value: original });
  } else if (selector[LABEL_ROUTER_FOR] === serviceName && Object.keys(selector).length > 1) {
    ops.push({ op: 'remove', path: `/spec/selector/${esc(LABEL_ROUTER_FOR)}` });
  }
  const ours = [ANNOTATION_ORIGINAL_SELECTOR, ANNOTATION_INTERCEPTED_BY];
  if (Object.keys(annotations).every((k) => ours.includes(k))) ops.push({ op: 'remove', path: '/metadata/annotations' });
  else for (const key of ours) if (annotations[key] !== undefined) ops.push({ op: 'remove', path: annotationPath(key) });
  return ops;
}

/** What in `svc` says someone else changed it while `session` intercepts it, or undefined. */
export function foreignChange(svc: ServiceView, session: string, serviceName: string): string | undefined {
  const selector = svc.spec?.selector ?? {};
  const ours = routerSelector(serviceName);
  if (JSON.stringify(selector) !== JSON.stringify(ours)) return `spec.selector is now ${JSON.stringify(selector)}`;
  if (!membersOf(svc).some((m) => m.session === session)) return `annotation ${ANNOTATION_INTERCEPTED_BY} no longer lists this session`;
  return undefined;
}

/** The managedFields entry of the latest writer that is not kinject: "manager (operation) at time". */
export function lastForeignWriter(
  managedFields: { manager?: string; operation?: string; time?: string | Date }[] | undefined,
  ours: string[],
): { by: string; at: string } {
  const theirs = (managedFields ?? []).filter((f) => f.manager && !ours.includes(f.manager));
  theirs.sort((a, b) => String(toIso(a.time)).localeCompare(String(toIso(b.time))));
  const last = theirs.at(-1);
  return last
    ? { by: `${last.manager}${last.operation ? ` (${last.operation})` : ''}`, at: toIso(last.time) ?? 'unknown time' }
    : { by: 'an unknown writer', at: 'unknown time' };
}

/**
 * The latest writer other than `ours` that changed the Service after `since` (managedFields
 * times, the API server's clock, whole seconds; writes to the status do not count), or undefined:
 * a runner coming back to a Service it had intercepted does not switch it again over their change.
 */
export function foreignWriteSince(
  managedFields: { manager?: string; operation?: string; time?: string | Date; subresource?: string }[] | undefined,
  ours: string[],
  since: string,
): { by: string; at: string } | undefined {
  const after = Date.parse(since);
  if (Number.isNaN(after)) return undefined;
  const theirs = (managedFields ?? []).filter(
    (f) => f.manager && !ours.includes(f.manager) && f.subresource !== 'status' && Date.parse(toIso(f.time) ?? '') > after,
  );
  return theirs.length ? lastForeignWriter(theirs, ours) : undefined;
}

/** when `manager` last wrote the Service (managedFields), or undefined */
export function lastWriteBy(managedFields: { manager?: string; time?: string | Date }[] | undefined, manager: string): string | undefined {
  const times = (managedFields ?? []).filter((f) => f.manager === manager && f.time).map((f) => toIso(f.time)!);
  return times.sort().at(-1);
}

function toIso(t: string | Date | undefined): string | undefined {
  return t instanceof Date ? t.toISOString() : t;
}

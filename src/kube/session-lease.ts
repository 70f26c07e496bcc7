// The session's Lease (coordination.k8s.io/v1) kinject-<id>: how the cluster can tell that a
// session's kinject still runs (session-liveness.ts has the rule). startProxyPod() (proxy-pod.ts) creates it
// right after the Job (owned by the Job: the garbage collector removes it with the Job; labelled
// like it); the runner renews it every grace/6 s (5 s by default) and states the grace as
// leaseDurationSeconds (30 s by default, KINJECT_SESSION_GRACE_SECONDS overrides it).
// holderIdentity is "user@host pid N".
//
// Ending a live session on purpose (`kinject session close`, `kinject cleanup --include-live`)
// first marks its Lease with the annotation kinject.dev/closed-by: the runner sees it at its next
// renewal (its update conflicts; it reads the Lease back), or sees the Lease gone, and reports
// closure through `closed`, so `kinject run` can say who ended the session and stop its command.
//
// Why a Lease and not an annotation on the Job: a Lease is made for exactly this (nodes and
// leader election use it), nothing watches it, and renewing it every few seconds does not wake
// the Job controller the way updating a Job would.

import type { KubeAccess } from './config.js';
import { KubeApiError } from './client.js';
import { isStatus } from './errors.js';
import { sessionLabels, sessionName } from './proxy-job.js';
import { DEFAULT_GRACE_SECONDS, type LeaseFacts } from './session-liveness.js';
import { sleep } from '../util/sleep.js';

export const ANNOTATION_CLOSED_BY = 'kinject.dev/closed-by';
export const GRACE_ENV = 'KINJECT_SESSION_GRACE_SECONDS';

export interface V1LeaseLike {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
  };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string };
}

export function leasePath(namespace: string | undefined, name?: string): string {
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `/apis/coordination.k8s.io/v1${ns}/leases${name ? `/${encodeURIComponent(name)}` : ''}`;
}

/** A MicroTime: RFC 3339 with 6 fractional digits, as the API server wants it. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The grace in seconds: KINJECT_SESSION_GRACE_SECONDS (an integer 2..3600) or 30. */
export function graceSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[GRACE_ENV];
  if (raw === undefined || raw === '') return DEFAULT_GRACE_SECONDS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 2 || n > 3600) {
    throw new Error(`${GRACE_ENV}=${raw} must be a whole number of seconds from 2 to 3600`);
  }
  return n;
}

export function buildSessionLease(o: {
  id: string;
  namespace: string;
  holder: string;
  graceSeconds: number;
  job: { name: string; uid: string };
  now?: Date;
}): V1LeaseLike {
  const now = microTime(o.now ?? new Date());
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: sessionName(o.id),
      namespace: o.namespace,
      labels: sessionLabels(o.id),
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: o.job.name, uid: o.job.uid, controller: false, blockOwnerDeletion: false }],
    },
    spec: { holderIdentity: o.holder, leaseDurationSeconds: o.graceSeconds, acquireTime: now, renewTime: now },
  };
}

/** What session-liveness.ts needs from a Lease. */
export function leaseFacts(lease: V1LeaseLike): LeaseFacts {
  const renew = lease.spec?.renewTime ?? lease.spec?.acquireTime ?? lease.metadata?.creationTimestamp;
  const closedBy = lease.metadata?.annotations?.[ANNOTATION_CLOSED_BY];
  return {
    ...(lease.spec?.holderIdentity ? { holder: lease.spec.holderIdentity } : {}),
    ...(renew ? { renewTime: new Date(renew) } : {}),
    ...(lease.spec?.leaseDurationSeconds ? { durationSeconds: lease.spec.leaseDurationSeconds } : {}),
    ...(closedBy ? { closedBy } : {}),
  };
}

export interface SessionLease {
  /** resolves with a one-line reason once someone else ended the session; never rejects */
  closed: Promise<string>;
  /**
   * once `closed` resolved: true when the Lease carried a closed-by mark (ended on purpose by
   * `kinject session close` / `cleanup --include-live`), false when the Lease was just gone
   * (its Job deleted, e.g. after its pod was lost: session/self-healing.ts makes a new one)
   */
  readonly closedByMark?: boolean;
  /** stops renewing and deletes the Lease (best effort, never throws) */
  stop(): Promise<void>;
}

export interface LeaseKeeperOptions {
  access: KubeAccess;
  namespace: string;
  id: string;
  holder: string;
  graceSeconds: number;
  job: { name: string; uid: string };
  /** one line when the Lease cannot be created or renewed for a while */
  warn: (msg: string) => void;
}

/**
 * Creates the session's Lease and keeps renewing it. If it cannot be created (no permission, an
 * API without leases) it warns once and returns a keeper that does nothing: the session then
 * counts as live while its pod is active (session-liveness.ts), and its pod ends by itself
 * after its runner's end.
 */
export async function keepSessionLease(o: LeaseKeeperOptions): Promise<SessionLease> {
  const { client } = o.access;
  const name = sessionName(o.id);
  const path = leasePath(o.namespace, name);
  const where = `${o.namespace}/${name}`;
  let lease: V1LeaseLike;
  try {
    lease = await client.post<V1LeaseLike>(leasePath(o.namespace), buildSessionLease(o), { timeoutMs: 10_000 });
  } catch (err) {
    const why = err instanceof KubeApiError && err.status === 403 ? 'forbidden' : (err as Error).message.split('\n')[0];
    o.warn(
      `warning: cannot create the session's Lease ${where} (${why}): \`kinject cleanup\` by others keeps this session only while its pod runs; grant leases in rbac/kinject-role.yaml`,
    );
    return { closed: new Promise<string>(() => {}), stop: async () => {} };
  }

  const everyMs = Math.max(500, Math.round((o.graceSeconds * 1000) / 6));
  let stopped = false;
  let resolveClosed!: (why: string) => void;
  const closed = new Promise<string>((r) => (resolveClosed = r));
  let failingSince: number | undefined;
  let warned = false;
  const closedBy = (l: V1LeaseLike | undefined): string | undefined => l?.metadata?.annotations?.[ANNOTATION_CLOSED_BY];
  let byMark = false;
  const end = (why: string, mark = false) => {
    stopped = true;
    byMark = mark;
    resolveClosed(why);
  };

  const renewOnce = async (): Promise<void> => {
    const next: V1LeaseLike = { ...lease, spec: { ...lease.spec, renewTime: microTime(new Date()) } };
    try {
      lease = await client.request<V1LeaseLike>('PUT', path, { body: next, timeoutMs: Math.max(3000, everyMs * 2) });
      failingSince = undefined;
      return;
    } catch (err) {
      if (stopped) return;
      if (isStatus(err, 404)) {
        end(`session ${where} was closed by someone else: its Lease and Job were deleted`);
        return;
      }
      if (isStatus(err, 409)) {
        // changed by someone else: read it back; a closed-by mark means the session is being ended
        try {
          const current = await client.get<V1LeaseLike>(path, { timeoutMs: 5000 });
          const by = closedBy(current);
          if (by) {
            end(`session ${where} was closed by ${by}`, true);
            return;
          }
          lease = current;
          return renewOnce();
        } catch (e) {
          if (isStatus(e, 404)) {
            end(`session ${where} was closed by someone else: its Lease and Job were deleted`);
            return;
          }
        }
      }
      failingSince ??= Date.now();
      if (!warned && Date.now() - failingSince > (o.graceSeconds * 1000) / 2) {
        warned = true;
        o.warn(
          `warning: cannot renew the session's Lease ${where} (${(err as Error).message.split('\n')[0]}); \`kinject cleanup\` by others may end this session`,
        );
      }
    }
  };

  void (async () => {
    while (!stopped) {
      await sleep(everyMs, undefined, true);
      if (stopped) break;
      await renewOnce();
    }
  })();

  return {
    closed,
    get closedByMark() {
      return byMark;
    },
    async stop() {
      stopped = true;
      try {
        await client.delete(path, { timeoutMs: 5000 });
      } catch {
        // gone already, or no permission: it goes with its Job (garbage collector)
      }
    },
  };
}

/**
 * Marks a session's Lease as being closed by `by` (kinject.dev/closed-by). Returns the marked
 * Lease, or undefined when there is none (its runner will notice the deletion instead).
 */
export async function markLeaseClosed(access: KubeAccess, namespace: string, id: string, by: string): Promise<V1LeaseLike | undefined> {
  const path = leasePath(namespace, sessionName(id));
  for (let attempt = 0; attempt < 5; attempt++) {
    let lease: V1LeaseLike;
    try {
      lease = await access.client.get<V1LeaseLike>(path, { timeoutMs: 5000 });
    } catch (err) {
      if (isStatus(err, 404) || isStatus(err, 403)) return undefined;
      throw err;
    }
    const marked: V1LeaseLike = {
      ...lease,
      metadata: { ...lease.metadata, annotations: { ...lease.metadata?.annotations, [ANNOTATION_CLOSED_BY]: by } },
    };
    try {
      return await access.client.request<V1LeaseLike>('PUT', path, { body: marked, timeoutMs: 5000 });
    } catch (err) {
      if (isStatus(err, 409)) continue; // renewed meanwhile: read it again
      if (isStatus(err, 404) || isStatus(err, 403)) return undefined;
      throw err;
    }
  }
  return undefined;
}

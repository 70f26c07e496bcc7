// `kinject session list` and `session close` for the sessions of this machine (the local
// registry, session/registry.ts): every kinject run, teleport and intercept of this user, live or
// dead, with its kind, context and namespaces, target, pid, start time, proxy pod and tunnel state.
import { KinjectError } from '../errors.js';
import { listLocalSessions, type LocalSession } from '../session/registry.js';
import { closeLocalSessions } from '../session/local-close.js';

export function listLocalCommand(json: boolean): void {
  const sessions = listLocalSessions();
  if (json) {
    process.stdout.write(
      `${JSON.stringify(
        sessions.map((s) => ({ ...s.record, alive: s.alive })),
        null,
        2,
      )}\n`,
    );
    return;
  }
  if (sessions.length === 0) {
    process.stderr.write("kinject: no sessions on this machine (`kinject session list -n NS` lists a namespace's sessions in the cluster)\n");
    return;
  }
  const rows = sessions.map((s) => {
    const r = s.record;
    return [
      r.id,
      r.kind,
      s.alive ? 'live' : 'dead',
      String(r.pid),
      `${r.context ?? '-'}/${r.namespaces.join(',') || '-'}`,
      r.target ?? '-',
      r.startedAt.replace(/\.\d+Z$/, 'Z'),
      r.proxyPod ?? '-',
      s.alive ? r.tunnel : '-',
    ];
  });
  const head = ['ID', 'KIND', 'STATE', 'PID', 'CONTEXT/NAMESPACES', 'TARGET', 'STARTED', 'PROXY POD', 'TUNNEL'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [head, ...rows]) process.stdout.write(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')}\n`);
}

/** Closes the local sessions `which` selects; dead teleports' cluster objects are deleted too. */
export async function closeSessionsCommand(which: (s: LocalSession) => boolean, what: string): Promise<number> {
  const dead = listLocalSessions().filter((s) => !s.alive && which(s) && s.record.proxyPod);
  const { lines, warnings } = await closeLocalSessions(which);
  for (const l of lines) process.stdout.write(`${l}\n`);
  for (const w of warnings) process.stderr.write(`kinject: warning: ${w}\n`);
  if (dead.length) await deleteDeadProxyPods(dead);
  if (lines.length === 0) process.stderr.write(`kinject: no ${what} on this machine\n`);
  return warnings.length ? 1 : 0;
}

/** The proxy pods of sessions whose kinject died: deleted at once (their Lease would expire anyway). */
async function deleteDeadProxyPods(dead: LocalSession[]): Promise<void> {
  const { connectKube } = await import('../kube/config.js');
  const { deleteProxyPod } = await import('../kube/proxy-pod.js');
  for (const s of dead) {
    const [ns] = s.record.proxyPod!.split('/');
    try {
      const access = await connectKube({ context: s.record.context, namespace: ns });
      await deleteProxyPod(access, ns, s.record.id);
      access.client.close();
      process.stdout.write(`removed the proxy pod of dead session ${s.record.id} in ${ns}\n`);
    } catch (err) {
      process.stderr.write(
        `kinject: warning: the proxy pod of dead session ${s.record.id} in ${ns} was not removed (${(err as Error).message}); \`kinject cleanup -n ${ns}\` removes it\n`,
      );
    }
  }
}

/** `kinject session close ID`: the local session with that id, if there is one (else undefined: the caller tries the cluster). */
export async function closeLocalById(id: string): Promise<number | undefined> {
  const bare = id.replace(/^kinject-/, '');
  if (!listLocalSessions().some((s) => s.record.id === bare)) return undefined;
  return closeSessionsCommand((s) => s.record.id === bare, `session ${bare}`);
}

export function unknownSession(id: string): KinjectError {
  return new KinjectError(`no session ${id} on this machine; \`kinject session list\` shows them (with -n NS: a namespace's sessions in the cluster)`);
}

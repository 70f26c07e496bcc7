// `kinject cleanup`: removes what kinject sessions left behind and lists it. First the local part,
// which needs no cluster: volume mounts of kinject processes that are gone (SIGKILL), their
// session key and warning directories, dead teleports' hosts blocks and files (teleport/leftovers.ts)
// and their local session records (session/registry.ts). Then the cluster part: the Jobs, pods, Secrets and Leases
// of sessions that are not live (kube/session-liveness.ts), in one namespace or all, and those
// sessions taken off the Services they intercepted (the last one restores the selector:
// intercept/orphaned-services.ts, for when their router pods could not do it themselves); live
// sessions are kept and listed. `--include-live` ends those too, after a confirmation on a
// terminal (`--yes` in scripts). If the cluster cannot be reached, the local part is still done
// and the cluster's error is reported (exit 1). Under sudo the cluster part uses the invoking
// user's kubeconfig (teleport/sudo.ts), never root's.
import { usageError } from '../errors.js';
import { removeLeftoverMounts } from '../volumes/leftovers.js';
import { removeStaleSessionDirs } from '../session/dirs.js';
import { removeDeadSessions } from '../session/registry.js';
import { removeDeadTeleports } from '../teleport/leftovers.js';
import { confirm } from './confirm.js';
import type { KubeFlags } from './options.js';

export interface CleanupCommandOptions extends KubeFlags {
  allNamespaces: boolean;
  includeLive?: boolean;
  yes?: boolean;
}

const say = (line: string) => process.stderr.write(`kinject: ${line}\n`);

export async function cleanupCommand(options: CleanupCommandOptions): Promise<void> {
  if (options.allNamespaces && options.namespace) throw usageError('use either -n NAMESPACE or --all-namespaces, not both');
  if (options.includeLive && !options.yes && !process.stdin.isTTY) {
    throw usageError("--include-live ends sessions that are in use (other people's too): add --yes to confirm (stdin is not a terminal)");
  }
  await cleanupLocal();
  const { connectKube } = await import('../kube/config.js');
  const { cleanupSessions } = await import('../kube/cleanup.js');
  const { describeSession } = await import('../kube/session-liveness.js');
  const { sessionName, localUser } = await import('../kube/index.js');
  // `sudo kinject cleanup` (for a hosts block a killed keeper left): the invoking user's kubeconfig, as teleport
  const { kubeconfigFor } = await import('../teleport/sudo.js');
  const access = await connectKube({ kubeconfig: kubeconfigFor(options), context: options.context, namespace: options.namespace });
  const { removed, kept, leasesVisible } = await cleanupSessions({ access, allNamespaces: options.allNamespaces });
  const { releaseOrphanedServices } = await import('../intercept/orphaned-services.js');
  const live = new Set(kept.map((s) => `${s.namespace}/${s.id}`));
  const orphans = await releaseOrphanedServices({
    client: access.client,
    namespace: options.allNamespaces ? undefined : access.namespace,
    isLive: (ns, id) => live.has(`${ns}/${id}`),
  });
  for (const r of orphans.released) {
    const gone = `session${r.sessions.length > 1 ? 's' : ''} ${r.sessions.join(', ')}`;
    process.stdout.write(
      r.restored
        ? `restored Service ${r.namespace}/${r.service} (its intercept ${gone} had ended without restoring it)\n`
        : `took ${gone} off Service ${r.namespace}/${r.service} (live intercepts remain)\n`,
    );
  }
  if (!orphans.visible) say('warning: cannot list services (forbidden): intercepted Services were not checked; grant services list (rbac/kinject-role.yaml)');
  for (const object of removed) {
    process.stdout.write(`removed ${object.kind} ${object.namespace}/${object.name}\n`);
  }
  if (!leasesVisible) {
    say(
      'warning: cannot list leases (forbidden): sessions were judged by their Jobs alone (kept while their pod is active); grant leases list (rbac/kinject-role.yaml)',
    );
  }
  const scope = options.allNamespaces ? 'all namespaces' : `namespace ${access.namespace}`;
  const describe = (s: (typeof kept)[number]) => describeSession(s.namespace, sessionName(s.id), s.liveness);
  let closed = 0;
  if (options.includeLive && kept.length > 0) {
    const ok = options.yes || (await confirm(`end ${kept.length} live session${kept.length > 1 ? 's' : ''} (${kept.map(describe).join('; ')})? [y/N] `));
    if (ok) {
      const { closeSessions } = await import('../kube/session-close.js');
      const done = await closeSessions(access, kept, `${localUser()} pid ${process.pid} (kinject cleanup --include-live)`);
      for (const c of done) {
        const s = kept.find((k) => k.namespace === c.namespace && k.id === c.id)!;
        process.stdout.write(`closed live session ${describe(s)}\n`);
      }
      closed = done.length;
    } else {
      for (const s of kept) process.stdout.write(`kept live session ${describe(s)}\n`);
    }
  } else {
    for (const s of kept) process.stdout.write(`kept live session ${describe(s)}\n`);
  }
  const restored = orphans.released.length;
  const main =
    removed.length || restored
      ? `removed ${removed.length} objects${restored ? `, released ${restored} intercepted Service${restored > 1 ? 's' : ''}` : ''}`
      : closed
        ? ''
        : 'nothing to clean up';
  const ended = closed ? `${main ? ', ' : ''}closed ${closed} live session${closed > 1 ? 's' : ''}` : '';
  const keptNote = kept.length && !closed ? ` (kept ${kept.length} live session${kept.length > 1 ? 's' : ''})` : '';
  say(`${main}${ended} in ${scope}${keptNote}`);
}

async function cleanupLocal(): Promise<void> {
  const mounts = await removeLeftoverMounts({ log: { warn: say } });
  for (const dir of mounts.removed) process.stdout.write(`removed mount ${dir}\n`);
  for (const dir of mounts.skipped) say(`left ${dir} mounted: the kinject that made it is still running`);
  // a mount that could not be unmounted was reported by removeLeftoverMounts (with the command to try)
  removeStaleSessionDirs();
  const teleports = removeDeadTeleports(); // before the records go: they name the files
  for (const line of teleports.removed) process.stdout.write(`${line}\n`);
  for (const w of teleports.warnings) say(`warning: ${w}`);
  for (const r of removeDeadSessions()) process.stdout.write(`removed the record of dead session ${r.id} (${r.kind}, pid ${r.pid})\n`);
}

// `kinject session list` and `kinject session close ID...`. Without -n / -A (and without
// --context / --kubeconfig): this machine's sessions, from the local registry (session-local.ts).
// With them: the sessions in a namespace of the cluster with their liveness (who runs them, when
// their Lease was last renewed), and ending chosen ones on purpose, live or not
// (kube/session-close.ts: the runner is told who closed it and stops its command). Under sudo the
// local view is the invoking user's: the command runs again as them (teleport/as-invoker.ts).
import { usageError } from '../errors.js';
import { KinjectError } from '../errors.js';
import type { KubeFlags } from './options.js';

export interface SessionCommandOptions extends KubeFlags {
  allNamespaces?: boolean;
  json?: boolean;
  all?: boolean;
}

/** -n, -A, --context or --kubeconfig given: the cluster's view; else this machine's. */
function clusterView(options: SessionCommandOptions): boolean {
  return Boolean(options.namespace || options.allNamespaces || options.context || options.kubeconfig);
}

/**
 * Under sudo: this command run as the invoking user (their registry; teleport/as-invoker.ts), its
 * exit code; else undefined. With `closes`, root first removes what dead teleports left in the
 * hosts file (a SIGKILLed keeper's block), which the user could not.
 */
export async function asSudoInvoker(closes: boolean): Promise<number | undefined> {
  const { sudoInvoker } = await import('../teleport/sudo.js');
  const invoker = sudoInvoker();
  if (!invoker) return undefined;
  if (closes) {
    const { removeDeadTeleports } = await import('../teleport/leftovers.js');
    const dead = removeDeadTeleports();
    for (const line of dead.removed) process.stdout.write(`${line}\n`);
    for (const w of dead.warnings) process.stderr.write(`kinject: warning: ${w}\n`);
  }
  const { runAsInvoker } = await import('../teleport/as-invoker.js');
  return runAsInvoker(process.argv.slice(2), invoker);
}

async function access(options: KubeFlags) {
  const { connectKube } = await import('../kube/config.js');
  return connectKube({ kubeconfig: options.kubeconfig, context: options.context, namespace: options.namespace });
}

export async function sessionListCommand(options: SessionCommandOptions): Promise<void> {
  if (options.allNamespaces && options.namespace) throw usageError('use either -n NAMESPACE or --all-namespaces, not both');
  if (!clusterView(options)) {
    const code = await asSudoInvoker(false);
    if (code !== undefined) {
      process.exitCode = code;
      return;
    }
    const { listLocalCommand } = await import('./session-local.js');
    listLocalCommand(Boolean(options.json));
    return;
  }
  if (options.json) throw usageError('--json lists the sessions of this machine: drop -n/-A/--context/--kubeconfig');
  const { listSessions, describeSession, sessionName } = await import('../kube/index.js');
  const a = await access(options);
  const { sessions } = await listSessions({ access: a, allNamespaces: options.allNamespaces });
  for (const s of sessions) {
    process.stdout.write(`${s.liveness.live ? 'live     ' : 'left over'} ${describeSession(s.namespace, sessionName(s.id), s.liveness)}\n`);
  }
  if (sessions.length === 0) process.stderr.write(`kinject: no sessions in ${options.allNamespaces ? 'any namespace' : `namespace ${a.namespace}`}\n`);
}

export async function sessionCloseCommand(ids: string[], options: SessionCommandOptions): Promise<number> {
  if (options.all && ids.length) throw usageError('give either session ids or --all, not both');
  if (!options.all && ids.length === 0) throw usageError('name the sessions to close (ids as `kinject session list` shows them), or --all');
  if (!clusterView(options)) {
    const asInvoker = await asSudoInvoker(true);
    if (asInvoker !== undefined) return asInvoker;
    const local = await import('./session-local.js');
    if (options.all) return local.closeSessionsCommand(() => true, 'sessions');
    let code = 0;
    for (const id of ids) {
      const r = await local.closeLocalById(id);
      if (r === undefined) throw local.unknownSession(id);
      code ||= r;
    }
    return code;
  }
  if (options.all)
    throw usageError("--all closes the sessions of this machine: drop -n/--context/--kubeconfig (`kinject cleanup --include-live` ends a namespace's)");
  await closeClusterSessions(ids, options);
  return 0;
}

async function closeClusterSessions(ids: string[], options: KubeFlags): Promise<void> {
  const { listSessions, closeSession, describeSession, sessionName, localUser } = await import('../kube/index.js');
  const a = await access(options);
  const wanted = ids.map((id) => id.replace(/^kinject-/, ''));
  for (const id of wanted) {
    if (!/^[a-z0-9]+$/.test(id)) throw usageError(`${id} is not a session id (kinject-<id>, as \`kinject session list\` shows it)`);
  }
  const found = await Promise.all(wanted.map(async (id) => (await listSessions({ access: a, session: id })).sessions[0]));
  const missing = wanted.filter((_, i) => !found[i]);
  if (missing.length) {
    throw new KinjectError(`no kinject session ${missing.map(sessionName).join(', ')} in namespace ${a.namespace}; \`kinject session list -n NS\` shows them`);
  }
  const by = `${localUser()} pid ${process.pid} (kinject session close)`;
  await Promise.all(
    found.map(async (s) => {
      await closeSession(a, s!, by);
      process.stdout.write(`closed ${s!.liveness.live ? 'live ' : ''}session ${describeSession(s!.namespace, sessionName(s!.id), s!.liveness)}\n`);
    }),
  );
}

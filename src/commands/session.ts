// `kinject session list` and `kinject session close ID...`: the sessions in a namespace with their
// liveness (who runs them, when their Lease was last renewed), and ending chosen ones on purpose,
// live or not (kube/session-close.ts: the runner is told who closed it and stops its command).
import { usageError } from '../errors.js';
import { KinjectError } from '../errors.js';
import type { KubeFlags } from './options.js';

export interface SessionCommandOptions extends KubeFlags {
  allNamespaces?: boolean;
}

async function access(options: KubeFlags) {
  const { connectKube } = await import('../kube/config.js');
  return connectKube({ kubeconfig: options.kubeconfig, context: options.context, namespace: options.namespace });
}

export async function sessionListCommand(options: SessionCommandOptions): Promise<void> {
  if (options.allNamespaces && options.namespace) throw usageError('use either -n NAMESPACE or --all-namespaces, not both');
  const { listSessions, describeSession, sessionName } = await import('../kube/index.js');
  const a = await access(options);
  const { sessions } = await listSessions({ access: a, allNamespaces: options.allNamespaces });
  for (const s of sessions) {
    process.stdout.write(`${s.liveness.live ? 'live     ' : 'left over'} ${describeSession(s.namespace, sessionName(s.id), s.liveness)}\n`);
  }
  if (sessions.length === 0) process.stderr.write(`kinject: no sessions in ${options.allNamespaces ? 'any namespace' : `namespace ${a.namespace}`}\n`);
}

export async function sessionCloseCommand(ids: string[], options: KubeFlags): Promise<void> {
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

// A session in a cluster: the proxy pod (a Job) and the tunnel pool to it, both registered on the
// cleanup stack the moment they exist; with --target, the workload's env as the pod sees it.
import { connectKube } from '../kube/config.js';
import { fetchPodEnv, workloadEnv, type Env } from '../kube/env.js';
import { startSession, type Session } from '../kube/session.js';
import { createPodUpstream } from '../tunnel/index.js';
import type { Upstream } from '../front/upstream.js';
import type { Logger } from '../log.js';
import type { TargetFlags } from '../commands/options.js';
import { seconds } from '../commands/options.js';
import type { CleanupStack } from './cleanup-stack.js';

export interface ClusterSession {
  session: Session;
  upstream: Upstream;
  /** the workload's env (only with --target) */
  env?: Env;
}

export async function openClusterSession(flags: TargetFlags, cleanup: CleanupStack, log: Logger, signal: AbortSignal): Promise<ClusterSession> {
  const timeoutSeconds = seconds(flags.timeout, '--timeout');
  const access = await connectKube({ kubeconfig: flags.kubeconfig, context: flags.context, namespace: flags.namespace });
  signal.throwIfAborted();
  const session = await startSession(
    { access, target: flags.target, container: flags.container, image: flags.proxyImage, timeoutSeconds, signal },
    log.info,
  );
  cleanup.add(`proxy pod ${session.podName}`, () => session.close());
  signal.throwIfAborted();
  const upstream = createPodUpstream({
    kc: access.kc,
    namespace: session.namespace,
    pod: session.podName,
    port: session.port,
    token: session.token,
    debug: log.debug,
  });
  cleanup.add('tunnel', () => upstream.close());
  let env: Env | undefined;
  if (session.target) {
    env = workloadEnv(await fetchPodEnv(await upstream.open()), session.target.container);
  } else {
    await upstream.open().then((stream) => stream.destroy()); // the tunnel works end to end
  }
  log.info(`tunnel up to ${session.podName}`);
  return { session, upstream, env };
}

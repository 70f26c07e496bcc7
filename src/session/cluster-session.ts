// A kinject session in a cluster: the proxy pod (a Job) and the one multiplexed tunnel to it, both
// registered on the cleanup stack the moment they exist; with --target, the workload's env as the
// pod sees it and, when the volume plan asks for them, the workload's volumes mounted locally
// (volumes/session-volumes.ts).
// Loaded lazily by `kinject run`: @kubernetes/client-node takes ~0.5 s to load.
import { connectKube } from '../kube/config.js';
import { fetchPodEnv, workloadEnv, type Env } from '../kube/env.js';
import { startSession, type Session } from '../kube/proxy-pod.js';
import { createPodUpstream, type PodTunnelPool } from '../tunnel/index.js';
import type { Upstream } from '../front/upstream.js';
import type { Logger } from '../log.js';
import type { CleanupStack } from '../child/cleanup-stack.js';
import { mountSessionVolumes, warnIfVolumesSkipped, type SessionVolumes, type VolumePlan } from '../volumes/session-volumes.js';

export interface ClusterSession {
  session: Session;
  upstream: Upstream;
  /** the workload's env (only with --target) */
  env?: Env;
  /** the mounted volumes (only with --target and a plan that asks for them) */
  volumes?: SessionVolumes;
}

/** Where and what: the kube flags, --target/--container/--proxy-image, and --timeout as a number. */
export interface ClusterSessionOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  target?: string;
  container?: string;
  proxyImage?: string;
  /** give up when the proxy pod is not ready after this long */
  timeoutSeconds: number;
}

export async function openClusterSession(
  flags: ClusterSessionOptions,
  cleanup: CleanupStack,
  log: Logger,
  signal: AbortSignal,
  volumePlan: VolumePlan = { request: false },
): Promise<ClusterSession> {
  const { timeoutSeconds } = flags;
  const access = await connectKube({ kubeconfig: flags.kubeconfig, context: flags.context, namespace: flags.namespace });
  signal.throwIfAborted();
  const session = await startSession(
    { access, target: flags.target, container: flags.container, image: flags.proxyImage, timeoutSeconds, signal, volumes: volumePlan.request },
    log.info,
  );
  // the tunnel closes first (the stack runs backwards): by then its SHUTDOWN told the pod server
  // to exit, and the pod can go at once
  let tunnel: PodTunnelPool | undefined;
  cleanup.add(`proxy pod ${session.podName}`, () => session.close({ podExited: tunnel?.podExited ?? false }));
  signal.throwIfAborted();
  const upstream = createPodUpstream({
    kc: access.kc,
    client: access.client,
    namespace: session.namespace,
    pod: session.podName,
    port: session.port,
    token: session.token,
    debug: log.debug,
    warn: log.warn,
  });
  tunnel = upstream;
  cleanup.add('tunnel', () => upstream.close());
  let env: Env | undefined;
  if (session.target) {
    env = workloadEnv(await fetchPodEnv(await upstream.open()), session.target.container);
  } else {
    await upstream.ready(); // the tunnel works end to end
  }
  log.info(`tunnel up to ${session.podName}`);
  signal.throwIfAborted();
  warnIfVolumesSkipped(volumePlan, session.target, log);
  let volumes: SessionVolumes | undefined;
  if (volumePlan.request && session.sftp) {
    volumes = await mountSessionVolumes({ sftp: session.sftp, upstream, sessionId: session.id, plan: volumePlan, cleanup, log, signal });
    signal.throwIfAborted();
  } else if (volumePlan.request && session.target) {
    log.debug('volumes: the proxy pod serves no volumes');
  }
  return { session, upstream, env, volumes };
}

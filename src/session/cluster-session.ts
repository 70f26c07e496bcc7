// A kinject session in a cluster: the proxy pod (a Job) and the one multiplexed tunnel to it, both
// registered on the cleanup stack the moment they exist; with --target, the workload's env as the
// pod sees it and, when the volume plan asks for them, the workload's volumes mounted locally
// (volumes/session-volumes.ts).
// Loaded lazily by `kinject run`: @kubernetes/client-node takes ~0.5 s to load.
import { connectKube } from '../kube/config.js';
import { fetchPodEnv, workloadEnv, type Env } from '../kube/env.js';
import { startProxyPod, type ProxyPod } from '../kube/proxy-pod.js';
import { createPodUpstream, type PodTunnel } from '../tunnel/index.js';
import type { Upstream } from '../front/upstream.js';
import type { Logger } from '../log.js';
import type { CleanupStack } from '../child/cleanup-stack.js';
import type { InterceptRequest } from '../intercept/flags.js';
import { planSessionIntercept } from '../intercept/pod-plan.js';
import { localChannelHandler } from '../intercept/local-channels.js';
import { startIntercept } from '../intercept/session.js';
import { graceSeconds } from '../kube/session-lease.js';
import { mountSessionVolumes, warnIfVolumesSkipped, type SessionVolumes, type VolumePlan } from '../volumes/session-volumes.js';

export interface ClusterSession {
  proxyPod: ProxyPod;
  upstream: Upstream;
  /** the workload's env (only with --target) */
  env?: Env;
  /** the mounted volumes (only with --target and a plan that asks for them) */
  volumes?: SessionVolumes;
  /** resolves when someone else ended the session (its Lease: kube/session-lease.ts) */
  closed: Promise<string>;
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
  /** --intercept and its filters, parsed (src/intercept/flags.ts) */
  intercept?: InterceptRequest;
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
  // an intercept is checked before anything is created, and shapes the pod (router label and ports)
  const inbound = flags.intercept && flags.target ? await planSessionIntercept(access, flags.target, flags.container, flags.intercept) : undefined;
  signal.throwIfAborted();
  const proxyPod = await startProxyPod(
    {
      access,
      target: inbound?.target ?? flags.target,
      container: flags.container,
      image: flags.proxyImage,
      timeoutSeconds,
      signal,
      volumes: volumePlan.request,
      inbound: inbound?.podInbound,
    },
    log.info,
  );
  // the tunnel closes first (the stack runs backwards): by then its SHUTDOWN told the pod server
  // to exit, and the pod can go at once
  let tunnel: PodTunnel | undefined;
  cleanup.add(`proxy pod ${proxyPod.podName}`, () => proxyPod.close({ podExited: tunnel?.podExited ?? false }));
  signal.throwIfAborted();
  const upstream = createPodUpstream({
    kc: access.kc,
    client: access.client,
    namespace: proxyPod.namespace,
    pod: proxyPod.podName,
    port: proxyPod.port,
    token: proxyPod.token,
    log,
    onChannel: inbound ? localChannelHandler(inbound.plan.ports.map((p) => p.localPort)) : undefined,
  });
  tunnel = upstream;
  cleanup.add('tunnel', () => upstream.close());
  let env: Env | undefined;
  if (proxyPod.target) {
    env = workloadEnv(await fetchPodEnv(await upstream.open()), proxyPod.target.container);
  } else {
    await upstream.ready(); // the tunnel works end to end
  }
  log.info(`tunnel up to ${proxyPod.podName}`);
  signal.throwIfAborted();
  if (inbound) {
    await startIntercept({ access, pod: proxyPod, plan: inbound.plan, upstream, cleanup, log, graceSeconds: graceSeconds() });
    signal.throwIfAborted();
  }
  warnIfVolumesSkipped(volumePlan, proxyPod.target, log);
  let volumes: SessionVolumes | undefined;
  if (volumePlan.request && proxyPod.sftp) {
    volumes = await mountSessionVolumes({ sftp: proxyPod.sftp, upstream, sessionId: proxyPod.id, plan: volumePlan, cleanup, log, signal });
    signal.throwIfAborted();
  } else if (volumePlan.request && proxyPod.target) {
    log.debug('volumes: the proxy pod serves no volumes');
  }
  return { proxyPod, upstream, env, volumes, closed: proxyPod.lease.closed };
}

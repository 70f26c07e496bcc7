// A kinject session in a cluster: the proxy pod (a Job) and the one multiplexed tunnel to it, both
// registered on the cleanup stack the moment they exist; with --target, the workload's env as the
// pod sees it and, when the volume plan asks for them, the workload's volumes mounted locally
// (volumes/session-volumes.ts). A lost pod is replaced (self-healing.ts). The tunnel's transport
// (--transport: direct to the pod IP or the API server's port-forward) is chosen per pod here
// (tunnel/transport.ts) and named in the "tunnel up" line.
// Test hook (test/e2e/run-pod-loss-volumes.test.js; no other use): KINJECT_TEST_NEW_SFTP_KEYS=1
// gives a replacement pod new SFTP keys, so sshfs cannot log in to it (the "did not come back" line).
// Loaded lazily by `kinject run`: @kubernetes/client-node takes ~0.5 s to load.
import { connectKube } from '../kube/config.js';
import { fetchPodEnv, workloadEnv, type Env } from '../kube/env.js';
import { startProxyPod, type ProxyPod } from '../kube/proxy-pod.js';
import { createPodUpstream } from '../tunnel/index.js';
import { openPortForward } from '../tunnel/portforward.js';
import { Transport, type TransportMode } from '../tunnel/transport.js';
import { SelfHealingUpstream } from './self-healing.js';
import type { Logger } from '../log.js';
import type { CleanupStack } from '../child/cleanup-stack.js';
import type { InterceptRequest } from '../intercept/flags.js';
import { planSessionIntercept } from '../intercept/pod-plan.js';
import { localChannelHandler } from '../intercept/local-channels.js';
import { startIntercept } from '../intercept/session.js';
import { graceSeconds } from '../kube/session-lease.js';
import { DEFAULT_PING_MS } from '../../protocol/mux/index.js';
import { INTERCEPT_PING_MS } from '../../protocol/intercept/commands.js';
import type { Leftovers } from '../volumes/mount.js';
import { mountSessionVolumes, warnIfVolumesSkipped, type SessionVolumes, type VolumePlan } from '../volumes/session-volumes.js';

export interface ClusterSession {
  /** the first proxy pod (upstream.currentPod is the one in use) */
  proxyPod: ProxyPod;
  /** the kubeconfig context in use */
  context: string;
  upstream: SelfHealingUpstream;
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
  /** the tunnel was lost / is back (tunnel/pod-tunnel.ts onState) */
  onTunnelState?: (state: 'lost' | 'up', reason?: string) => void;
  /** --transport (default port-forward here; `kinject run` defaults to auto) */
  transport?: string;
  /** --intercept and its filters, parsed (src/intercept/flags.ts) */
  intercept?: InterceptRequest;
  /** told of each local thing as it is made, for the run's guardian (child/guardian.ts) */
  guard?: (l: Partial<Leftovers>) => void;
}

export async function openClusterSession(
  flags: ClusterSessionOptions,
  cleanup: CleanupStack,
  log: Logger,
  signal: AbortSignal,
  volumePlan: VolumePlan = { request: false },
): Promise<ClusterSession> {
  const { timeoutSeconds } = flags;
  const mode = (flags.transport ?? 'port-forward') as TransportMode;
  const access = await connectKube({ kubeconfig: flags.kubeconfig, context: flags.context, namespace: flags.namespace });
  signal.throwIfAborted();
  // an intercept is checked before anything is created, and shapes the pod (router label and ports)
  const inbound = flags.intercept && flags.target ? await planSessionIntercept(access, flags.target, flags.container, flags.intercept) : undefined;
  signal.throwIfAborted();
  const podOptions = {
    access,
    target: inbound?.target ?? flags.target,
    container: flags.container,
    image: flags.proxyImage,
    timeoutSeconds,
    volumes: volumePlan.request,
    direct: mode !== 'port-forward',
    inbound: inbound?.podInbound,
  };
  const proxyPod = await startProxyPod({ ...podOptions, signal }, log.info);
  // a lost pod is replaced by one made the same way: the resolved target (a copy of the same
  // workload, the same env) and the same SFTP keys (sshfs reconnects); its progress is debug only
  const keys = process.env.KINJECT_TEST_NEW_SFTP_KEYS === '1' ? undefined : proxyPod.sftp?.keys;
  const startPod = (s: AbortSignal) => startProxyPod({ ...podOptions, target: proxyPod.target, keys, signal: s }, log.debug);
  // each pod gets its own transport: the first is probed before the tunnel starts (and
  // --transport direct fails the start when it does not work); a replacement's is probed before
  // its tunnel's first connection, and falls back to port-forward when direct does not answer
  const transports: Transport[] = [];
  cleanup.add('transport probe', () => {
    for (const t of transports) t.close();
  });
  const transportTo = (pod: ProxyPod) => {
    const t = new Transport({
      mode,
      direct: pod.direct,
      podLabel: `${pod.namespace}/${pod.podName}`,
      portForward: () => openPortForward({ kc: access.kc, namespace: pod.namespace, pod: pod.podName, port: pod.port }, { timeoutMs: 10_000 }),
      // a switch to port-forward is often the pod going away: held, and dropped if it is
      // (self-healing.ts); one about a pod already replaced (its tunnel's last try) is debug only
      warn: (line) => {
        if (!healing) log.warn(line);
        else if (healing.currentPod !== pod) log.debug(line);
        else healing.warnUnlessGone(line);
      },
      debug: log.debug,
    });
    transports.push(t);
    return t;
  };
  // the pod is on the cleanup stack before anything else can fail (a refused --transport direct)
  // the tunnel closes first (the stack runs backwards): by then its SHUTDOWN told the pod server
  // to exit, and the pod can go at once
  let healing: SelfHealingUpstream | undefined;
  cleanup.add(`proxy pod ${proxyPod.podName}`, () => (healing ? healing.closePod() : proxyPod.close()));
  const first = transportTo(proxyPod);
  await first.choose();
  signal.throwIfAborted();
  const upstream = new SelfHealingUpstream({
    pod: proxyPod,
    startPod,
    log,
    graceSeconds: graceSeconds(),
    tunnelTo: (pod, hooks) => {
      const transport = pod === proxyPod ? first : transportTo(pod);
      const chosen =
        pod === proxyPod
          ? Promise.resolve()
          : transport.choose().then(
              () => {},
              () => {},
            );
      return createPodUpstream({
        kc: access.kc,
        client: access.client,
        namespace: pod.namespace,
        pod: pod.podName,
        port: pod.port,
        token: pod.token,
        log: { debug: log.debug, warn: hooks.warn },
        onGone: hooks.onGone,
        onState: flags.onTunnelState,
        onChannel: inbound ? localChannelHandler(inbound.plan.ports.map((p) => p.localPort)) : undefined,
        // an intercept's pod tells a runner that is away (asleep, off the network) by its pings
        ...(inbound ? { heartbeatMs: INTERCEPT_PING_MS, deadMs: 3 * DEFAULT_PING_MS } : {}),
        transportKind: () => transport.current,
        connect: async () => {
          await chosen;
          return transport.connect();
        },
      });
    },
  });
  healing = upstream;
  cleanup.add('tunnel', () => upstream.close());
  signal.throwIfAborted();
  let env: Env | undefined;
  if (proxyPod.target) {
    env = workloadEnv(await fetchPodEnv(await upstream.open()), proxyPod.target.container);
  } else {
    await upstream.ready(); // the tunnel works end to end
  }
  log.info(`tunnel up to ${proxyPod.podName} via ${first.describe()}`);
  signal.throwIfAborted();
  if (inbound) {
    await startIntercept({ access, pod: proxyPod, plan: inbound.plan, upstream, cleanup, log, graceSeconds: graceSeconds(), replacements: upstream });
    signal.throwIfAborted();
  }
  warnIfVolumesSkipped(volumePlan, proxyPod.target, log);
  let volumes: SessionVolumes | undefined;
  if (volumePlan.request && proxyPod.sftp) {
    volumes = await mountSessionVolumes({
      sftp: proxyPod.sftp,
      sftpPort: () => upstream.currentPod.sftp?.port ?? proxyPod.sftp!.port,
      upstream,
      sessionId: proxyPod.id,
      plan: volumePlan,
      cleanup,
      log,
      signal,
      guard: flags.guard,
    });
    const mounted = volumes;
    if (mounted) upstream.onReplaced((pod) => void mounted.afterReplacement(`${pod.namespace}/${pod.podName}`));
    signal.throwIfAborted();
  } else if (volumePlan.request && proxyPod.target) {
    log.debug('volumes: the proxy pod serves no volumes');
  }
  return { proxyPod, context: access.context, upstream, env, volumes, closed: upstream.closed };
}

// The session's proxy pod: startProxyPod() creates it (a Job, its Secret) and waits until its
// container runs; ProxyPod.close() / deleteProxyPod() delete it again.
//
// Order (no orphaned Secret or pod possible, and nothing that outlives a SIGKILL by more than a
// minute): create the Job with a CREATE_DEADLINE_SECONDS deadline -> create the session's Lease
// (session-lease.ts: renewed while the session runs, so that `kinject cleanup` elsewhere leaves
// it alone) and the Secret, both owned by the Job -> lengthen the Job's deadline to the start
// deadline. The pod's Secret volume makes it wait for the Secret (which normally exists before
// the kubelet gets to the pod). Then poll the pod (every 250 ms) and, while it is not running,
// the events of the pod and the Job, reporting progress lines and the reason the cluster gives
// when it stalls (image pull, scheduling, config, mounts). Errors that cannot resolve
// themselves fail at once; others fail at the timeout (default 120 s). On any failure, or when
// the caller's AbortSignal fires, everything created so far is deleted before the error is thrown.
// While waiting, API server hiccups (no answer, 5xx, 429) are retried, 1 s apart, up to 8 times.
//
// Deadlines: a kill before the deadline is lengthened leaves a Job that Kubernetes fails after
// CREATE_DEADLINE_SECONDS and the TTL removes with its pod, Lease and Secret. (An earlier order
// created the Job suspended and unsuspended it after the Secret: a kill in between, a few hundred
// ms on a loaded API server, left a suspended Job for good, since suspended Jobs have no running
// deadline; the chaos suite's kills found it.) Until the pod runs, the deadline is --timeout +
// 60 s (raised to the full value, default 24 h, once it runs): a start that kinject abandons
// (killed mid-start, or close() could not reach the API server) is failed by Kubernetes and
// removed by the TTL; a pod that runs without a runner exits when idle (proxy-job.ts).
//
// Volumes (`volumes: true` with a target): the exports are the target container's volume mounts
// (volumeExports); when there are any, a fresh key pair per side is made here (generateSessionKeys),
// the pod also runs the SFTP server on its loopback, and the ProxyPod carries what the runner
// needs to mount them with sshfs (`sftp`: port, client private key, host public key, exports).
//
// Direct transport (`direct: true`): a fresh TLS certificate per side (direct/session-certs.ts)
// goes into the Secret, the pod also listens on its pod IP with mutual TLS, and the ProxyPod
// carries the pod IP, the port and the runner's half (`direct`) for tunnel/direct-connect.ts.

import { readFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import type { CoreV1Event, V1Job, V1Pod, V1Secret } from '@kubernetes/client-node';
import { proxyPodBundle } from '../paths.js';
import { version as kinjectVersion } from '../version.js';
import { KinjectError } from '../errors.js';
import { retry, sleep } from '../util/sleep.js';
import type { KubeAccess } from './config.js';
import { KubeApiError } from './client.js';
import { apiError, isStatus } from './errors.js';
import {
  DEFAULT_ACTIVE_DEADLINE_SECONDS,
  DEFAULT_PROXY_IMAGE,
  LABEL_SESSION,
  buildProxyJob,
  buildProxySecret,
  localClusterImage,
  newSessionId,
  newToken,
  proxyLayout,
  sessionName,
  type ProxyInbound,
  type ProxyJobOptions,
  type ProxyLayout,
} from './proxy-job.js';
import { eventState, podState, type PodState } from './pod-status.js';
import { parseTarget, resolveTarget, type ResolvedTarget, type TargetRef } from './target.js';
import { volumeExports, type PodSpecLike } from '../volumes/volume-list.js';
import { graceSeconds, keepSessionLease, type SessionLease } from './session-lease.js';
import { generateSessionKeys, type SessionKeys } from '../../protocol/ssh.js';

export const DEFAULT_START_TIMEOUT_SECONDS = 120;
export const POLL_INTERVAL_MS = 250;
export const CLOSE_TIMEOUT_MS = 10_000;
/** the Job's deadline while starting: --timeout plus this */
export const START_DEADLINE_GRACE_SECONDS = 60;
/** the Job's deadline from its creation until its Lease and Secret exist (a kill meanwhile: gone within a minute) */
export const CREATE_DEADLINE_SECONDS = 40;
/** consecutive failed polls (network error, 5xx, 429) tolerated while waiting, 1 s apart */
const MAX_TRANSIENT_FAILURES = 8;
const TRANSIENT_RETRY_MS = 1000;

export interface ProxyPodOptions {
  access: KubeAccess;
  /** --target: "deployment/web", a parsed ref, or an already resolved target; none = targetless */
  target?: string | TargetRef | ResolvedTarget;
  /** --container */
  container?: string;
  /** --proxy-image; default: kinject.local/node:<major> on the local dev cluster (context "kinject"), else node:22-alpine */
  image?: string;
  imagePullPolicy?: string;
  /** --timeout, seconds (default 120) */
  timeoutSeconds?: number;
  /** pod exits this long after its last connection closed (default 30) */
  exitWhenIdleSeconds?: number;
  /** Job's activeDeadlineSeconds (default 86400) */
  activeDeadlineSeconds?: number;
  /** the pod server bundle; default: loadProxyScript() (dist/proxy-pod.cjs) */
  script?: Buffer;
  /** aborts the start (and deletes what was created) */
  signal?: AbortSignal;
  /** serve the target container's volume mounts over SFTP (default false; needs a target) */
  volumes?: boolean;
  /** the direct transport: make a per-session TLS certificate pair and have the pod listen on its pod IP (default false) */
  direct?: boolean;
  /** the session's Lease grace (session-lease.ts; default $KINJECT_SESSION_GRACE_SECONDS or 30) */
  graceSeconds?: number;
  /** the SFTP key pair to use instead of a fresh one (a replacement pod: sshfs reconnects with the keys it has) */
  keys?: SessionKeys;
  /** --intercept: the router's label and ports on the pod */
  inbound?: ProxyInbound;
}

/** What the runner needs to mount the target's volumes with sshfs (ProxyPod.sftp). */
export interface ProxyPodSftp {
  /** the SFTP server's port on the pod's loopback: reach it by a SOCKS CONNECT to 127.0.0.1:<port> through the tunnel */
  port: number;
  /** sshfs' IdentityFile contents (OpenSSH private key; write it with mode 0600) */
  clientPrivateKey: string;
  /** the server's host key (`ssh-ed25519 AAAA... comment`), for known_hosts */
  hostPublicKey: string;
  /** the in-cluster paths the server exports */
  exports: { path: string; readOnly: boolean }[];
  /** the whole key pair (to give a replacement pod the same keys) */
  keys: SessionKeys;
}

/** What the runner needs for the direct transport (ProxyPod.direct; tunnel/direct-connect.ts). */
export interface ProxyPodDirect {
  /** the pod's IP (status.podIP) and the direct listener's port on it */
  host: string;
  port: number;
  /** PEM: the runner's certificate and key, the pod's certificate (pinned) */
  clientCert: string;
  clientKey: string;
  serverCert: string;
}

export interface ProxyPod {
  /** set when the direct transport was asked for and the pod has an IP */
  direct?: ProxyPodDirect;
  id: string;
  namespace: string;
  jobName: string;
  jobUid: string;
  secretName: string;
  podName: string;
  /** the RFC 1929 password (username "kinject") */
  token: string;
  /** the pod server's port on the pod's loopback (port-forward target) */
  port: number;
  image: string;
  /** the resolved --target, if any (its `container` is the workload's original container spec) */
  target?: ResolvedTarget;
  /** set when volumes were asked for, there is a target and it has volume mounts */
  sftp?: ProxyPodSftp;
  /** the session's Lease: `lease.closed` resolves when someone else ended the session */
  lease: SessionLease;
  /**
   * Deletes the Job (Background propagation) and the Secret and waits until the pod is gone;
   * idempotent, at most ~10 s, never throws. podExited: the pod server has exited (it answered
   * the tunnel's SHUTDOWN), so the pod is deleted at once too (grace 0) instead of waiting
   * ~1.5 s for the garbage collector and the kubelet; without RBAC to delete pods, it waits.
   */
  close(options?: CloseOptions): Promise<void>;
}

export interface CloseOptions {
  podExited?: boolean;
}

export type Progress = (message: string) => void;

export function localUser(): string {
  let user = process.env.USER || 'unknown';
  try {
    user = userInfo().username || user;
  } catch {
    // no passwd entry: keep $USER
  }
  return `${user}@${hostname()}`;
}

function isResolved(t: ProxyPodOptions['target']): t is ResolvedTarget {
  return typeof t === 'object' && t !== null && 'podSpec' in t;
}

/**
 * The pod server bundle. The CommonJS build (dist/proxy-pod.cjs) is preferred: in the pod the
 * file is /kinject/proxy-pod.js with no package.json beside it, so node loads it as CommonJS.
 */
export async function loadProxyScript(): Promise<Buffer> {
  const cjs = proxyPodBundle.replace(/\.js$/, '.cjs');
  try {
    return await readFile(cjs);
  } catch {
    // fall back to the ESM build (works where node detects module syntax)
  }
  try {
    return await readFile(proxyPodBundle);
  } catch (err) {
    throw new KinjectError(`the proxy pod bundle ${cjs} is missing; run npm run build`, { cause: err });
  }
}

/**
 * Deletes a session's Job and Secret by id (and its pod at once when podName is given: only once
 * its server has exited), then waits until the pod is gone. Idempotent; never throws; bounded by
 * timeoutMs.
 */
export async function deleteProxyPod(access: KubeAccess, namespace: string, id: string, timeoutMs = CLOSE_TIMEOUT_MS, podName?: string): Promise<void> {
  const name = sessionName(id);
  const ns = encodeURIComponent(namespace);
  const until = Date.now() + timeoutMs;
  // each delete is retried (API server hiccup) until it succeeds, finds nothing, or time is up
  const del = (path: string, query: Record<string, string> = { propagationPolicy: 'Background' }): Promise<void> =>
    retry(
      async () => {
        const left = until - Date.now();
        if (left < 200) return;
        try {
          await access.client.delete(path, { query, timeoutMs: Math.min(5000, left) });
        } catch (err) {
          if (isStatus(err, 404)) return;
          if (err instanceof KubeApiError && (err.status === 401 || err.status === 403)) return;
          throw err;
        }
      },
      { attempts: 20, delayMs: () => Math.min(500, Math.max(0, until - Date.now() - 200)) },
    ).catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all([
      del(`/api/v1/namespaces/${ns}/secrets/${name}`),
      del(`/apis/batch/v1/namespaces/${ns}/jobs/${name}`),
      // its container has stopped: nothing for a grace period to wait for (403: the GC does it)
      podName ? del(`/api/v1/namespaces/${ns}/pods/${encodeURIComponent(podName)}`, { gracePeriodSeconds: '0' }) : undefined,
    ]),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
  // the pod goes through the garbage collector after its Job: wait (bounded) until it is gone, so
  // nothing of the session is left when kinject exits
  const selector = `${LABEL_SESSION}=${id}`;
  while (Date.now() < until - 250) {
    try {
      const pods = await access.client.get<{ items?: unknown[] }>(`/api/v1/namespaces/${ns}/pods`, { query: { labelSelector: selector }, timeoutMs: 3000 });
      if (!pods?.items?.length) return;
    } catch {
      return; // cannot look (e.g. forbidden): the Job's deletion takes the pod with it anyway
    }
    await sleep(250);
  }
}

/**
 * Creates the proxy pod for one session and waits until its container runs. progress() gets the
 * lines to show on stderr. Throws a KinjectError (after deleting what it created) on failure.
 * The jobs, in order: resolve the target, plan the SFTP exports and keys, create the objects
 * (createProxyObjects), wait for the pod (waitForPod), raise the Job's deadline (raiseDeadline).
 */
export async function startProxyPod(opts: ProxyPodOptions, progress: Progress = () => {}): Promise<ProxyPod> {
  const { access } = opts;
  const namespace = access.namespace;
  const signal = opts.signal;
  const timeoutMs = (opts.timeoutSeconds ?? DEFAULT_START_TIMEOUT_SECONDS) * 1000;
  let grace: number;
  try {
    grace = opts.graceSeconds ?? graceSeconds();
  } catch (err) {
    throw new KinjectError((err as Error).message, { exitCode: 2 });
  }
  const startedAt = new Date();
  const deadline = Date.now() + timeoutMs;

  // the direct transport's certificates, made while the target is looked up and the bundle read;
  // the X.509 library is loaded only when asked for (it is not small)
  const certsMaking = opts.direct ? import('../direct/session-certs.js').then((m) => m.generateSessionCerts(localUser())) : Promise.resolve(undefined);
  certsMaking.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile
  const target = await resolveStartTarget(opts);
  const script = opts.script ?? (await loadProxyScript());
  const image = opts.image || localClusterImage(access.context) || localClusterImage(access.cluster) || DEFAULT_PROXY_IMAGE;
  const { exports, keys } = sftpPlan(opts, target);
  const certs = await certsMaking;
  // Until the pod runs, the Job's deadline is short: a start that kinject abandons (killed, or
  // close() cannot reach the API server) ends by itself. Raised to the full value once running.
  const fullDeadline = opts.activeDeadlineSeconds ?? DEFAULT_ACTIVE_DEADLINE_SECONDS;
  const startDeadline = Math.min(fullDeadline, Math.ceil(timeoutMs / 1000) + START_DEADLINE_GRACE_SECONDS);
  const jobBase: Omit<ProxyJobOptions, 'id'> = {
    namespace,
    image,
    imagePullPolicy: opts.imagePullPolicy,
    token: newToken(),
    script,
    version: kinjectVersion,
    user: localUser(),
    startedAt,
    target,
    exitWhenIdleSeconds: opts.exitWhenIdleSeconds,
    activeDeadlineSeconds: startDeadline,
    ...(certs ? { direct: { serverCert: certs.server.cert, serverKey: certs.server.key, clientCert: certs.client.cert } } : {}),
    inbound: opts.inbound,
  };

  const state: StartState = { id: newSessionId(), created: false };
  let closing: Promise<void> | undefined;
  const close = (options: CloseOptions = {}) => {
    if (!state.created) return Promise.resolve();
    const force = options.podExited ? state.runningPod : undefined;
    closing ??= Promise.all([state.lease?.stop(), deleteProxyPod(access, namespace, state.id, CLOSE_TIMEOUT_MS, force)]).then(() => {});
    return closing;
  };
  const checkAbort = () => {
    if (signal?.aborted) throw new KinjectError('interrupted while starting the proxy pod');
  };

  try {
    checkAbort();
    const jobFor = (id: string) => jobWithLayout({ ...jobBase, id }, keys, exports);
    // the Lease right after the Job: from then on `kinject cleanup` elsewhere sees the session as live
    const startLease = (job: { name: string; uid: string }) =>
      keepSessionLease({
        access,
        namespace,
        id: state.id,
        holder: `${localUser()} pid ${process.pid}`,
        graceSeconds: grace,
        job,
        warn: progress,
      });
    progress(`creating proxy pod ${sessionName(state.id)} in ${namespace}${target ? ` from ${target.display}` : ''}`);
    const { jobOpts, layout, jobUid } = await createProxyObjects(access, state, jobFor, startLease, checkAbort);
    const jobName = sessionName(state.id);
    const containerName = target?.container.name ?? 'proxy';
    const podName = await waitForPod({
      access,
      namespace,
      id: state.id,
      jobUid,
      containerName,
      image,
      deadline,
      timeoutMs,
      signal,
      progress,
    });
    if (fullDeadline !== startDeadline) await raiseDeadline(access, jobName, fullDeadline);
    state.runningPod = podName;
    progress(`pod ready: ${podName}`);
    const podIp = certs ? await readPodIp(access, namespace, podName) : undefined;
    const direct: ProxyPodDirect | undefined =
      certs && podIp
        ? { host: podIp, port: layout.directPort, clientCert: certs.client.cert, clientKey: certs.client.key, serverCert: certs.server.cert }
        : undefined;
    const sftp: ProxyPodSftp | undefined =
      keys && jobOpts.sftp ? { port: jobOpts.sftp.port, clientPrivateKey: keys.clientPrivateKey, hostPublicKey: keys.hostPublicKey, exports, keys } : undefined;
    return {
      id: state.id,
      namespace,
      jobName,
      jobUid,
      secretName: jobName,
      podName,
      token: jobBase.token,
      port: layout.port,
      image,
      target,
      ...(sftp ? { sftp } : {}),
      ...(direct ? { direct } : {}),
      lease: state.lease!,
      close,
    };
  } catch (err) {
    await close();
    if (err instanceof KinjectError) throw err;
    throw new KinjectError(`starting the proxy pod failed: ${(err as Error).message}`, { cause: err });
  }
}

/** What a start has made so far: the session id (a new one after a name clash), whether objects exist, the running pod. */
interface StartState {
  id: string;
  created: boolean;
  runningPod?: string;
  lease?: SessionLease;
}

type SftpExports = ProxyPodSftp['exports'];

/** --target as a ResolvedTarget (looked up in the cluster unless the caller resolved it), or undefined. */
async function resolveStartTarget(opts: ProxyPodOptions): Promise<ResolvedTarget | undefined> {
  if (isResolved(opts.target)) return opts.target;
  if (!opts.target) return undefined;
  const ref = typeof opts.target === 'string' ? parseTarget(opts.target) : opts.target;
  return resolveTarget(opts.access.client, opts.access.namespace, ref, opts.container);
}

/** The running pod's IP, or undefined when it has none or the GET fails (then there is no direct transport). */
async function readPodIp(access: KubeAccess, namespace: string, podName: string): Promise<string | undefined> {
  try {
    const pod = await access.client.get<V1Pod>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(podName)}`, { timeoutMs: 5000 });
    return pod?.status?.podIP || undefined;
  } catch {
    return undefined;
  }
}

/** The volume exports to serve (volumes asked for, with a target) and, when there are any, a fresh key pair per side. */
function sftpPlan(opts: ProxyPodOptions, target: ResolvedTarget | undefined): { exports: SftpExports; keys?: SessionKeys } {
  const exports =
    opts.volumes && target
      ? // (V1Volume is a class without an index signature, hence the cast to volume-list's PodSpecLike)
        volumeExports(target.podSpec as unknown as PodSpecLike, target.container.name).map((e) => ({ path: e.path, readOnly: e.readOnly }))
      : [];
  return { exports, keys: exports.length ? (opts.keys ?? generateSessionKeys(`kinject-${hostname()}`)) : undefined };
}

/** The Job's options and the pod's layout for one id (the SFTP port comes from the layout). */
function jobWithLayout(jobOpts: ProxyJobOptions, keys: SessionKeys | undefined, exports: SftpExports): { jobOpts: ProxyJobOptions; layout: ProxyLayout } {
  const layout = proxyLayout(jobOpts);
  if (keys) {
    jobOpts.sftp = { port: layout.sftpPort, hostPrivateKey: keys.hostPrivateKey, clientPublicKey: keys.clientPublicKey, exports };
  }
  return { jobOpts, layout };
}

/**
 * Creates the Job with a CREATE_DEADLINE_SECONDS deadline (a new id on a name clash, twice at
 * most), then the session's Lease (startLease) and the Secret, both owned by the Job, then
 * lengthens the Job's deadline to the start deadline: no orphaned Secret or pod is possible, and a
 * kill at any point leaves nothing past a minute. state.created is set as soon as the Job exists,
 * state.lease once the Lease does.
 */
async function createProxyObjects(
  access: KubeAccess,
  state: StartState,
  jobFor: (id: string) => { jobOpts: ProxyJobOptions; layout: ProxyLayout },
  startLease: (job: { name: string; uid: string }) => Promise<SessionLease>,
  checkAbort: () => void,
): Promise<{ jobOpts: ProxyJobOptions; layout: ProxyLayout; jobUid: string }> {
  const { client, namespace } = access;
  const ns = encodeURIComponent(namespace);
  let { jobOpts, layout } = jobFor(state.id);
  let job: V1Job;
  for (let attempt = 0; ; attempt++) {
    try {
      const short = Math.min(jobOpts.activeDeadlineSeconds ?? CREATE_DEADLINE_SECONDS, CREATE_DEADLINE_SECONDS);
      job = await client.post<V1Job>(`/apis/batch/v1/namespaces/${ns}/jobs`, buildProxyJob({ ...jobOpts, activeDeadlineSeconds: short }, layout));
      break;
    } catch (err) {
      if (isStatus(err, 409) && attempt < 2) {
        state.id = newSessionId();
        ({ jobOpts, layout } = jobFor(state.id));
        continue;
      }
      throw apiError(err, { verb: 'create', resource: 'jobs.batch', namespace });
    }
  }
  state.created = true;
  const jobName = sessionName(state.id);
  const jobUid = job.metadata?.uid;
  if (!jobUid) throw new KinjectError(`the API server returned Job ${jobName} without a uid`);
  state.lease = await startLease({ name: jobName, uid: jobUid });
  checkAbort();
  try {
    await client.post<V1Secret>(`/api/v1/namespaces/${ns}/secrets`, buildProxySecret(jobOpts, { name: jobName, uid: jobUid }));
  } catch (err) {
    throw apiError(err, { verb: 'create', resource: 'secrets', namespace });
  }
  checkAbort();
  try {
    await client.patch(`/apis/batch/v1/namespaces/${ns}/jobs/${jobName}`, [
      { op: 'replace', path: '/spec/activeDeadlineSeconds', value: jobOpts.activeDeadlineSeconds ?? DEFAULT_ACTIVE_DEADLINE_SECONDS },
    ]);
  } catch (err) {
    throw apiError(err, { verb: 'patch', resource: 'jobs.batch', namespace, name: jobName });
  }
  return { jobOpts, layout, jobUid };
}

/** The pod runs: the Job's activeDeadlineSeconds goes from the short start value to the full one. */
async function raiseDeadline(access: KubeAccess, jobName: string, seconds: number): Promise<void> {
  const namespace = access.namespace;
  try {
    await access.client.patch(`/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs/${jobName}`, [
      { op: 'replace', path: '/spec/activeDeadlineSeconds', value: seconds },
    ]);
  } catch (err) {
    throw apiError(err, { verb: 'patch', resource: 'jobs.batch', namespace, name: jobName });
  }
}

interface WaitArgs {
  access: KubeAccess;
  namespace: string;
  id: string;
  jobUid: string;
  containerName: string;
  image: string;
  deadline: number;
  timeoutMs: number;
  signal?: AbortSignal;
  progress: Progress;
}

async function listEvents(access: KubeAccess, namespace: string, uid: string): Promise<CoreV1Event[]> {
  try {
    const list = await access.client.get<{ items?: CoreV1Event[] }>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, {
      query: { fieldSelector: `involvedObject.uid=${uid}` },
      timeoutMs: 5000,
    });
    return list?.items ?? [];
  } catch (err) {
    // events are a nicety: without permission (or on a hiccup) we just know less
    if (err instanceof KubeApiError) return [];
    throw err;
  }
}

async function waitForPod(a: WaitArgs): Promise<string> {
  const ns = encodeURIComponent(a.namespace);
  const shown = new Set<string>();
  const say = (msg: string) => {
    if (!shown.has(msg)) {
      shown.add(msg);
      a.progress(msg);
    }
  };
  let lastStall: string | undefined;
  let lastEventsAt = 0;
  let podName: string | undefined;
  let polls = 0;
  let transientFailures = 0;
  const maxPolls = Math.ceil(a.timeoutMs / POLL_INTERVAL_MS) + 1000;
  while (polls++ < maxPolls) {
    if (a.signal?.aborted) throw new KinjectError('interrupted while starting the proxy pod');
    let pods: V1Pod[];
    try {
      const list = await a.access.client.get<{ items?: V1Pod[] }>(`/api/v1/namespaces/${ns}/pods`, {
        query: { labelSelector: `${LABEL_SESSION}=${a.id}` },
        timeoutMs: 10_000,
      });
      pods = list?.items ?? [];
      transientFailures = 0;
    } catch (err) {
      // an API server hiccup (restart, load balancer, 5xx, 429) is retried for a few seconds
      const transient = err instanceof KubeApiError && (err.status === 0 || err.status === 429 || err.status >= 500);
      if (!transient || ++transientFailures > MAX_TRANSIENT_FAILURES || Date.now() >= a.deadline) {
        throw apiError(err, { verb: 'list', resource: 'pods', namespace: a.namespace });
      }
      a.progress(`waiting: the API server did not answer (${(err as Error).message}); retrying`);
      await sleep(TRANSIENT_RETRY_MS, a.signal);
      continue;
    }
    // newest pod first (a Job with backoffLimit 0 makes at most one, but be safe)
    pods.sort((x, y) => String(y.metadata?.creationTimestamp ?? '').localeCompare(String(x.metadata?.creationTimestamp ?? '')));
    const pod = pods[0];
    let state: PodState | undefined;
    if (pod) {
      podName = pod.metadata?.name;
      state = podState(pod, a.containerName);
      if (state.kind === 'running' && podName) return podName;
    }
    const now = Date.now();
    if (state?.kind !== 'failed' && now - lastEventsAt >= 1000) {
      lastEventsAt = now;
      const uid = pod?.metadata?.uid;
      const evs = [...(await listEvents(a.access, a.namespace, a.jobUid)), ...(uid ? await listEvents(a.access, a.namespace, uid) : [])];
      const es = eventState(evs);
      if (es && (!state || state.kind === 'starting' || (es.kind === 'failed' && !pod))) state = es;
      if (!pod) {
        // the Job itself may have given up (deadline, failed pod already gone)
        const job = await a.access.client.get<V1Job>(`/apis/batch/v1/namespaces/${ns}/jobs/${sessionName(a.id)}`, { timeoutMs: 5000 }).catch((err: unknown) => {
          if (isStatus(err, 404)) return null;
          return undefined;
        });
        if (job === null) state = { kind: 'failed', reason: `Job ${sessionName(a.id)} was deleted` };
        const failed = job?.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
        if (failed) state = { kind: 'failed', reason: `Job failed: ${failed.reason ?? ''} ${failed.message ?? ''}`.trim() };
      }
    }
    if (state?.kind === 'failed') throw new KinjectError(`proxy pod ${podName ?? sessionName(a.id)} in ${a.namespace} cannot start: ${state.reason}`);
    if (state?.kind === 'stalled') {
      if (state.reason !== lastStall) say(`waiting: ${state.reason}`);
      lastStall = state.reason;
    } else if (state?.kind === 'starting') {
      say(state.progress);
    }
    if (Date.now() >= a.deadline) {
      const why =
        lastStall ?? (state?.kind === 'starting' ? `still ${state.progress}` : pod ? `pod phase ${pod.status?.phase ?? 'unknown'}` : 'no pod was created');
      throw new KinjectError(
        `proxy pod ${podName ?? sessionName(a.id)} in ${a.namespace} did not start within ${Math.round(a.timeoutMs / 1000)} s: ${why}; raise --timeout or fix the cause`,
      );
    }
    await sleep(Math.min(POLL_INTERVAL_MS, Math.max(0, a.deadline - Date.now())), a.signal);
  }
  throw new KinjectError(`proxy pod ${sessionName(a.id)} in ${a.namespace} did not start`);
}

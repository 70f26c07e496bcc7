// The session's Kubernetes objects, built as plain data (pure functions, no I/O):
//
//  * Secret kinject-<id>: `proxy-pod.js` (the bundled pod server) and `token` (32 random bytes,
//    hex), owned by the Job (ownerReference, controller=false, blockOwnerDeletion=false) so that
//    deleting the Job garbage-collects it. Mounted read-only at /kinject. With volumes (`sftp`
//    option) also `sftp-host-key` (the SFTP server's private host key), `sftp-client-key.pub`
//    (the one client key it accepts) and `sftp-exports.json` (the paths it serves). With the
//    direct transport (`direct` option) also `direct-server.crt`, `direct-server.key` and
//    `direct-client.crt` (the pod's TLS certificate and key, the one client certificate it accepts).
//  * Job kinject-<id>: backoffLimit 0, ttlSecondsAfterFinished 0 and activeDeadlineSeconds
//    (default 86400 = 24 h, the last guard against a session nobody ends; proxy-pod.ts creates
//    the Job with a very short deadline, lengthens it to the start deadline once the Secret exists
//    and to the full one once the pod runs).
//    Its one pod runs `node /kinject/proxy-pod.js --listen 127.0.0.1:1080 --token-file
//    /kinject/token --exit-when-idle N`, with volumes also `--sftp-listen 127.0.0.1:1081
//    --sftp-host-key-file ... --sftp-authorized-key-file ... --sftp-exports-file ...` (files in
//    the Secret's mount). No ports are exposed and no Service exists: the only way in is a
//    port-forward, which needs pods/portforward permission, plus the token (and for SFTP, which
//    the runner reaches by a SOCKS CONNECT to the pod's loopback, also the session's client key).
//    With `direct` the pod server also listens on its pod IP (`--direct-listen
//    [$(KINJECT_POD_IP)]:<port + 2>`, the IP from the downward API) with mutual TLS: reaching it
//    needs the session's client certificate, then the token (docs/design.md, "Direct transport").
//
// Lifetime when kinject vanishes without cleaning up (kill -9, laptop lid): the port-forward
// websockets close and the runner's heartbeats stop (docs/design.md); the pod server exits N
// seconds (default 30) after its last connection closed, the Job completes and TTL 0 deletes Job,
// pod and Secret a few seconds later: everything is gone about 30-40 s after the last connection.
// If the pod's end of some port-forward connections stays open (an API server or kubelet restart
// under the session), the pod exits max(N, 60) s after the last heartbeat, new connection or byte
// from a client instead. activeDeadlineSeconds ends even a session still in use after 24 h.
//
// Targetless pod: a minimal pod (no service account token, no service links, linux node) that
// meets the Pod Security "restricted" level: non-root, no privilege escalation, all capabilities
// dropped, RuntimeDefault seccomp.
//
// With --target, the pod is a copy of the workload's pod template so that env (literal,
// ConfigMap/Secret refs, downward API), envFrom, volumes, service account, node selector,
// affinity, tolerations, imagePullSecrets, pod securityContext, DNS settings and host aliases
// are what the workload sees:
//  - the chosen container runs the proxy: image/command/args replaced, probes, lifecycle hooks,
//    ports, workingDir, stdin/tty removed, resources replaced by kinject's (PROXY_RESOURCES:
//    requests and limits, whatever the workload's container asked for), a hardened
//    securityContext (non-root, no privilege escalation, all capabilities dropped,
//    RuntimeDefault seccomp, read-only root filesystem);
//  - init containers are kept with their own resources and securityContext (they seed volumes
//    the workload reads; a quota or Pod Security level that rejects them rejects the workload's
//    own pods too, and kinject's error names the field), except native sidecars
//    (init containers with restartPolicy Always), which are dropped like all other regular
//    containers: the local process talks to its own localhost, not to the pod's sidecars;
//  - the workload's labels and annotations are NOT copied, so Services never send traffic to
//    the proxy pod and no controller adopts it;
//  - volumes that mounts refer to but the template lacks (StatefulSet volumeClaimTemplates)
//    become emptyDirs; the /kinject secret volume gets a name that does not clash;
//  - env entries that would break the proxy's own node process (NODE_OPTIONS, PATH, LD_PRELOAD,
//    LD_LIBRARY_PATH) are renamed KINJECT_ENV_<NAME>; workloadEnv() (env.ts) renames them back;
//  - nodeName, priority, preemptionPolicy, readinessGates, schedulingGates, ephemeral
//    containers, hostname/subdomain and the pod's activeDeadlineSeconds are dropped;
//  - with hostNetwork the proxy listens on a random high port of the node's loopback instead of
//    1080, and the SFTP server on another one instead of 1081 (sessions must not collide there).
// The workload itself is never modified.

import { randomBytes } from 'node:crypto';
import type {
  V1Container,
  V1EnvVar,
  V1Job,
  V1PodSecurityContext,
  V1PodSpec,
  V1Secret,
  V1SecurityContext,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { KinjectError } from '../errors.js';
import { ROUTER_HEALTH_PORT } from '../../protocol/intercept/commands.js';

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'kinject';
export const LABEL_SESSION = 'kinject.dev/session';
export const MANAGED_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE}`;
export const ANNOTATION_VERSION = 'kinject.dev/version';
export const ANNOTATION_USER = 'kinject.dev/user';
export const ANNOTATION_STARTED = 'kinject.dev/started-at';
export const ANNOTATION_TARGET = 'kinject.dev/target';

export const DEFAULT_PROXY_PORT = 1080;
export const DEFAULT_EXIT_WHEN_IDLE_SECONDS = 30;
/** 24 h: a Job still running after this is failed by Kubernetes and cleaned up by its TTL. */
export const DEFAULT_ACTIVE_DEADLINE_SECONDS = 86400;
export const TERMINATION_GRACE_SECONDS = 2;
export const DEFAULT_RUN_AS_USER = 1000;
export const SECRET_KEY_SCRIPT = 'proxy-pod.js';
export const SECRET_KEY_TOKEN = 'token';
export const SECRET_KEY_SFTP_HOST_KEY = 'sftp-host-key';
export const SECRET_KEY_SFTP_CLIENT_KEY = 'sftp-client-key.pub';
export const SECRET_KEY_SFTP_EXPORTS = 'sftp-exports.json';
export const SECRET_KEY_DIRECT_CERT = 'direct-server.crt';
export const SECRET_KEY_DIRECT_KEY = 'direct-server.key';
export const SECRET_KEY_DIRECT_CLIENT_CERT = 'direct-client.crt';
/** The downward-API env var with the pod's IP, for --direct-listen. */
export const POD_IP_ENV = 'KINJECT_POD_IP';
/**
 * Default proxy image for real clusters: the official Node.js image, current LTS line, alpine
 * variant. Official and widely mirrored (pull-through caches usually have it), small (~45 MB
 * compressed), multi-arch, ships a `node` user with uid 1000 (matches runAsUser), and any Node
 * >= 20 runs the bundled pod server. Air-gapped or policy-restricted clusters pass --proxy-image.
 */
export const DEFAULT_PROXY_IMAGE = 'node:22-alpine';
/** The local dev cluster (cluster/) has no registry; its node image is imported into containerd. */
export const LOCAL_CLUSTER_IMAGE_PREFIX = 'kinject.local/node:';
/** Env names renamed in the proxy container (they would change how its node process runs). */
export const RENAMED_ENV = ['NODE_OPTIONS', 'PATH', 'LD_PRELOAD', 'LD_LIBRARY_PATH'] as const;
export const RENAMED_ENV_PREFIX = 'KINJECT_ENV_';
/** Kubernetes caps a Secret at 1 MiB; leave room for the token and metadata. */
export const MAX_SCRIPT_BYTES = 1_000_000;

/**
 * The proxy container's requests AND limits (all four set, so a namespace whose ResourceQuota or
 * LimitRange demands them admits the pod). Requests: what an idle pod server uses. Limits: the
 * pod server is one Node.js thread, so 1 CPU barely throttles it; 128Mi is ~2x the peak measured
 * under the bench's load (docs/design.md, "Proxy pod resources").
 */
export const PROXY_RESOURCES = {
  requests: { cpu: '10m', memory: '32Mi' },
  limits: { cpu: '1', memory: '128Mi' },
};

/** A short random id: 8 chars of [a-z0-9], starting with a letter. */
export function newSessionId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(8);
  let id = alphabet[bytes[0]! % 26]!;
  for (let i = 1; i < 8; i++) id += alphabet[bytes[i]! % 36]!;
  return id;
}

/** The RFC 1929 password of a session: 32 random bytes, hex. */
export function newToken(): string {
  return randomBytes(32).toString('hex');
}

export function sessionName(id: string): string {
  return `kinject-${id}`;
}

/** A random port for hostNetwork pods, where 1080 on the node's loopback may be taken. */
export function randomHighPort(avoid?: number): number {
  for (;;) {
    const port = 20000 + (randomBytes(2).readUInt16BE(0) % 30000);
    if (port !== avoid) return port;
  }
}

/** kinject.local/node:<major> for the local dev cluster (context/cluster named "kinject"), else undefined. */
export function localClusterImage(contextOrCluster: string, nodeMajor = process.versions.node.split('.')[0]): string | undefined {
  return contextOrCluster === 'kinject' ? `${LOCAL_CLUSTER_IMAGE_PREFIX}${nodeMajor}` : undefined;
}

export interface TargetTemplate {
  /** "deployment/web" */
  display: string;
  podSpec: V1PodSpec;
  container: V1Container;
}

export interface ProxyJobOptions {
  id: string;
  namespace: string;
  image: string;
  imagePullPolicy?: string;
  token: string;
  /** the pod server bundle (dist/proxy-pod.js) */
  script: Buffer | string;
  version: string;
  /** "user@host" */
  user: string;
  startedAt: Date;
  target?: TargetTemplate;
  /** port the pod server listens on (pod loopback); default 1080 */
  port?: number;
  exitWhenIdleSeconds?: number;
  activeDeadlineSeconds?: number;
  /** volumes: run the SFTP server too (its port on the pod's loopback, keys, exported paths) */
  sftp?: ProxySftpOptions;
  /** the direct transport: the pod server also listens on its pod IP with mutual TLS */
  direct?: ProxyDirectOptions;
  /** --intercept: the router's label and ports (src/intercept/) */
  inbound?: ProxyInbound;
}

export interface ProxyDirectOptions {
  /** PEM: the pod's certificate and private key, the one client certificate it accepts */
  serverCert: string;
  serverKey: string;
  clientCert: string;
}

/** What an intercept adds to the pod: the label its Service will select, the ports the router listens on. */
export interface ProxyInbound {
  labels: Record<string, string>;
  ports: { containerPort: number; name?: string }[];
}

/** an intercepting pod restores the Service when it is stopped: time for that */
export const INBOUND_TERMINATION_GRACE_SECONDS = 15;

export interface ProxySftpOptions {
  /** the SFTP server's port on the pod's loopback (normally the layout's sftpPort) */
  port: number;
  /** the server's private host key (OpenSSH format) */
  hostPrivateKey: string;
  /** the one client public key it accepts (`ssh-ed25519 AAAA... comment`) */
  clientPublicKey: string;
  /** the in-pod paths it serves */
  exports: { path: string; readOnly: boolean }[];
}

export interface ProxyLayout {
  /** where the secret is mounted ("/kinject" unless the template uses that path) */
  mountDir: string;
  /** the secret volume's name in the pod */
  volumeName: string;
  port: number;
  /** the SFTP server's port on the pod's loopback: port + 1, a random high port with hostNetwork */
  sftpPort: number;
  /** the direct listener's port on the pod IP: port + 2, a random high port with hostNetwork */
  directPort: number;
}

export function sessionLabels(id: string): Record<string, string> {
  return { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, [LABEL_SESSION]: id, 'app.kubernetes.io/name': 'kinject-proxy' };
}

function sessionAnnotations(o: ProxyJobOptions): Record<string, string> {
  return {
    [ANNOTATION_VERSION]: o.version,
    [ANNOTATION_USER]: o.user,
    [ANNOTATION_STARTED]: o.startedAt.toISOString(),
    [ANNOTATION_TARGET]: o.target ? o.target.display : 'none',
  };
}

export function proxyCommand(layout: ProxyLayout, exitWhenIdleSeconds: number, sftp = false, direct = false): string[] {
  const command = [
    'node',
    `${layout.mountDir}/${SECRET_KEY_SCRIPT}`,
    '--listen',
    `127.0.0.1:${layout.port}`,
    '--token-file',
    `${layout.mountDir}/${SECRET_KEY_TOKEN}`,
    '--exit-when-idle',
    String(exitWhenIdleSeconds),
  ];
  if (sftp) {
    command.push(
      '--sftp-listen',
      `127.0.0.1:${layout.sftpPort}`,
      '--sftp-host-key-file',
      `${layout.mountDir}/${SECRET_KEY_SFTP_HOST_KEY}`,
      '--sftp-authorized-key-file',
      `${layout.mountDir}/${SECRET_KEY_SFTP_CLIENT_KEY}`,
      '--sftp-exports-file',
      `${layout.mountDir}/${SECRET_KEY_SFTP_EXPORTS}`,
    );
  }
  if (direct) {
    command.push(
      '--direct-listen',
      `[$(${POD_IP_ENV})]:${layout.directPort}`,
      '--direct-cert-file',
      `${layout.mountDir}/${SECRET_KEY_DIRECT_CERT}`,
      '--direct-key-file',
      `${layout.mountDir}/${SECRET_KEY_DIRECT_KEY}`,
      '--direct-client-cert-file',
      `${layout.mountDir}/${SECRET_KEY_DIRECT_CLIENT_CERT}`,
    );
  }
  return command;
}

function keptInitContainers(spec: V1PodSpec): V1Container[] {
  return (spec.initContainers ?? []).filter((c) => c.restartPolicy !== 'Always');
}

function underPath(p: string, dir: string): boolean {
  const a = p.replace(/\/+$/, '');
  return a === dir || a.startsWith(dir + '/') || dir.startsWith(a + '/');
}

/** Mount dir, volume name and port for this session's pod (avoids clashes with the template). */
export function proxyLayout(o: Pick<ProxyJobOptions, 'id' | 'target' | 'port' | 'sftp'>): ProxyLayout {
  const spec = o.target?.podSpec;
  const volumes = new Set((spec?.volumes ?? []).map((v) => v.name));
  const mountPaths = [o.target?.container, ...(spec ? keptInitContainers(spec) : [])].flatMap((c) => c?.volumeMounts ?? []).map((m) => m.mountPath);
  let volumeName = 'kinject';
  for (let i = 1; volumes.has(volumeName); i++) volumeName = `kinject-${i}`;
  let mountDir = '/kinject';
  if (mountPaths.some((p) => underPath(p, mountDir))) mountDir = `/kinject-${o.id}`;
  const port = o.port ?? (spec?.hostNetwork ? randomHighPort() : DEFAULT_PROXY_PORT);
  const sftpPort = o.sftp?.port ?? (spec?.hostNetwork ? randomHighPort(port) : port + 1);
  let directPort = port + 2;
  while (spec?.hostNetwork && (directPort === port + 2 || directPort === sftpPort)) directPort = randomHighPort(port);
  return { mountDir, volumeName, port, sftpPort, directPort };
}

function positiveUid(...uids: (number | undefined)[]): number | undefined {
  return uids.find((u) => typeof u === 'number' && u > 0);
}

function proxySecurityContext(container?: V1Container, podSc?: V1PodSecurityContext): V1SecurityContext {
  const runAsUser = positiveUid(container?.securityContext?.runAsUser, podSc?.runAsUser) ?? DEFAULT_RUN_AS_USER;
  const runAsGroup = positiveUid(container?.securityContext?.runAsGroup, podSc?.runAsGroup);
  return {
    runAsNonRoot: true,
    runAsUser,
    ...(runAsGroup !== undefined ? { runAsGroup } : {}),
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Renames env entries that would change how the proxy's node runs (see RENAMED_ENV). */
export function renameProxyEnv(env: V1EnvVar[] | undefined): V1EnvVar[] | undefined {
  if (!env) return undefined;
  const renamed = new Set<string>(RENAMED_ENV);
  return env.map((e) => (renamed.has(e.name) ? { ...e, name: RENAMED_ENV_PREFIX + e.name } : e));
}

function proxyContainer(o: ProxyJobOptions, layout: ProxyLayout, from?: V1Container, podSc?: V1PodSecurityContext): V1Container {
  const mount: V1VolumeMount = { name: layout.volumeName, mountPath: layout.mountDir, readOnly: true };
  const c: V1Container = {
    name: from?.name ?? 'proxy',
    image: o.image,
    imagePullPolicy: o.imagePullPolicy ?? 'IfNotPresent',
    command: proxyCommand(layout, o.exitWhenIdleSeconds ?? DEFAULT_EXIT_WHEN_IDLE_SECONDS, o.sftp !== undefined, o.direct !== undefined),
    resources: structuredClone(PROXY_RESOURCES),
    securityContext: proxySecurityContext(from, podSc),
    volumeMounts: [...(from?.volumeMounts ?? []), mount],
  };
  const env = renameProxyEnv(from?.env);
  if (o.direct) {
    // last, so a template's own KINJECT_POD_IP cannot shadow it
    const podIp = { name: POD_IP_ENV, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } };
    c.env = [...(env ?? []).filter((e) => e.name !== POD_IP_ENV), podIp];
  } else if (env?.length) c.env = env;
  if (from?.envFrom?.length) c.envFrom = from.envFrom;
  return c;
}

function secretVolume(o: ProxyJobOptions, layout: ProxyLayout): V1Volume {
  return { name: layout.volumeName, secret: { secretName: sessionName(o.id), defaultMode: 0o444 } };
}

function targetlessPodSpec(o: ProxyJobOptions, layout: ProxyLayout): V1PodSpec {
  return {
    restartPolicy: 'Never',
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    securityContext: { runAsNonRoot: true, runAsUser: DEFAULT_RUN_AS_USER, runAsGroup: DEFAULT_RUN_AS_USER, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [proxyContainer(o, layout)],
    volumes: [secretVolume(o, layout)],
  };
}

const DROPPED_POD_FIELDS = [
  'nodeName',
  'priority',
  'preemptionPolicy',
  'readinessGates',
  'schedulingGates',
  'ephemeralContainers',
  'hostname',
  'subdomain',
  'activeDeadlineSeconds',
] as const;

function targetPodSpec(o: ProxyJobOptions, layout: ProxyLayout, target: TargetTemplate): V1PodSpec {
  const src = structuredClone(target.podSpec);
  const spec: V1PodSpec = { ...src };
  for (const f of DROPPED_POD_FIELDS) delete (spec as unknown as Record<string, unknown>)[f];
  spec.restartPolicy = 'Never';
  spec.terminationGracePeriodSeconds = TERMINATION_GRACE_SECONDS;
  const init = keptInitContainers(src);
  if (init.length) spec.initContainers = init;
  else delete spec.initContainers;
  spec.containers = [proxyContainer(o, layout, structuredClone(target.container), src.securityContext)];
  const volumes = [...(src.volumes ?? []), secretVolume(o, layout)];
  const have = new Set(volumes.map((v) => v.name));
  for (const c of [...init, ...spec.containers]) {
    for (const m of c.volumeMounts ?? []) {
      if (!have.has(m.name)) {
        volumes.push({ name: m.name, emptyDir: {} });
        have.add(m.name);
      }
    }
  }
  spec.volumes = volumes;
  return spec;
}

/** The session's Job (its pod waits for the Secret, which is created right after it). */
export function buildProxyJob(o: ProxyJobOptions, layout: ProxyLayout = proxyLayout(o)): V1Job {
  const name = sessionName(o.id);
  const labels = sessionLabels(o.id);
  const annotations = sessionAnnotations(o);
  const podSpec = o.target ? targetPodSpec(o, layout, o.target) : targetlessPodSpec(o, layout);
  if (o.inbound) addInbound(podSpec, o.inbound);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: o.namespace, labels, annotations },
    spec: {
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      ttlSecondsAfterFinished: 0,
      activeDeadlineSeconds: o.activeDeadlineSeconds ?? DEFAULT_ACTIVE_DEADLINE_SECONDS,
      template: {
        metadata: { labels: { ...labels, ...o.inbound?.labels }, annotations: { [ANNOTATION_TARGET]: annotations[ANNOTATION_TARGET]! } },
        spec: podSpec,
      },
    },
  };
}

function addInbound(spec: V1PodSpec, inbound: ProxyInbound): void {
  const c = spec.containers[0]!;
  c.ports = inbound.ports.map((p) => ({ containerPort: p.containerPort, protocol: 'TCP', ...(p.name ? { name: p.name } : {}) }));
  // Ready (in the Service's endpoints) only while the routers take traffic: not before they listen,
  // not while they drain (proxy-pod/inbound/intercept-host.ts)
  c.readinessProbe = { httpGet: { path: '/ready', port: ROUTER_HEALTH_PORT }, periodSeconds: 1, failureThreshold: 1, successThreshold: 1, timeoutSeconds: 1 };
  spec.terminationGracePeriodSeconds = INBOUND_TERMINATION_GRACE_SECONDS;
  if (inbound.ports.some((p) => p.containerPort < 1024)) {
    // a safe sysctl (allowed under Pod Security restricted): the non-root router may bind the port
    const sysctls = (spec.securityContext?.sysctls ?? []).filter((x) => x.name !== 'net.ipv4.ip_unprivileged_port_start');
    spec.securityContext = { ...spec.securityContext, sysctls: [...sysctls, { name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] };
  }
}

/** The session's Secret, owned by the (already created) Job. */
export function buildProxySecret(
  o: Pick<ProxyJobOptions, 'id' | 'namespace' | 'token' | 'script' | 'sftp' | 'direct'>,
  job: { name: string; uid: string },
): V1Secret {
  const script = typeof o.script === 'string' ? Buffer.from(o.script, 'utf8') : o.script;
  if (script.length > MAX_SCRIPT_BYTES) {
    throw new KinjectError(`the proxy pod bundle is ${script.length} bytes, over the ${MAX_SCRIPT_BYTES}-byte Secret limit; rebuild it with npm run build:pod`);
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: sessionName(o.id),
      namespace: o.namespace,
      labels: sessionLabels(o.id),
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.name, uid: job.uid, controller: false, blockOwnerDeletion: false }],
    },
    type: 'Opaque',
    immutable: true,
    data: {
      [SECRET_KEY_SCRIPT]: script.toString('base64'),
      [SECRET_KEY_TOKEN]: Buffer.from(o.token, 'utf8').toString('base64'),
      ...(o.sftp ? sftpSecretData(o.sftp) : {}),
      ...(o.direct ? directSecretData(o.direct) : {}),
    },
  };
}

function sftpSecretData(sftp: ProxySftpOptions): Record<string, string> {
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  const exportsJson = JSON.stringify(sftp.exports.map((e) => ({ path: e.path, readOnly: e.readOnly })));
  return {
    [SECRET_KEY_SFTP_HOST_KEY]: b64(sftp.hostPrivateKey.endsWith('\n') ? sftp.hostPrivateKey : `${sftp.hostPrivateKey}\n`),
    [SECRET_KEY_SFTP_CLIENT_KEY]: b64(`${sftp.clientPublicKey.trim()}\n`),
    [SECRET_KEY_SFTP_EXPORTS]: b64(exportsJson),
  };
}

function directSecretData(d: ProxyDirectOptions): Record<string, string> {
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  return {
    [SECRET_KEY_DIRECT_CERT]: b64(d.serverCert),
    [SECRET_KEY_DIRECT_KEY]: b64(d.serverKey),
    [SECRET_KEY_DIRECT_CLIENT_CERT]: b64(d.clientCert),
  };
}

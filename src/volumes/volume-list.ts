// Which paths the proxy pod's SFTP server exports: the chosen container's volume mounts, from the
// pod spec (the workload's pod template), plus the service-account token directory when it is
// mounted automatically. Pure.

export interface VolumeExport {
  /** In-cluster (in-container) absolute path. */
  path: string;
  readOnly: boolean;
  /** The volume's name (`serviceaccount-token` for the automatic token mount). */
  volume: string;
  /** The volume's kind: configMap, secret, emptyDir, persistentVolumeClaim, ... */
  kind: string;
}

// The subset of the Kubernetes pod spec read here (compatible with V1PodSpec).
export interface PodSpecLike {
  containers?: ContainerLike[];
  initContainers?: ContainerLike[];
  volumes?: Array<{ name: string } & Record<string, unknown>>;
  automountServiceAccountToken?: boolean;
}
export interface ContainerLike {
  name: string;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean; subPath?: string; subPathExpr?: string }>;
}

export const SERVICE_ACCOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
/** The proxy's own mount in the proxy pod (its server and session secret): never exported. */
export const PROXY_MOUNT_PATH = '/kinject';

/** Volume kinds whose contents Kubernetes always mounts read-only. */
const ALWAYS_READ_ONLY = new Set(['configMap', 'secret', 'downwardAPI', 'projected', 'image']);

function volumeKind(volume: Record<string, unknown> | undefined): string {
  if (!volume) return 'unknown';
  const key = Object.keys(volume).find((k) => k !== 'name' && volume[k] !== undefined && volume[k] !== null);
  return key ?? 'unknown';
}

function sourceReadOnly(volume: Record<string, unknown> | undefined, kind: string): boolean {
  if (ALWAYS_READ_ONLY.has(kind)) return true;
  const src = volume?.[kind];
  return typeof src === 'object' && src !== null && (src as { readOnly?: unknown }).readOnly === true;
}

const normalize = (p: string) => {
  const parts: string[] = [];
  for (const part of p.split('/')) {
    if (!part || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
};

/**
 * The exports for `containerName` (default: the first container). Throws when the container does
 * not exist. Sorted by path, one entry per path.
 */
export function volumeExports(spec: PodSpecLike, containerName?: string): VolumeExport[] {
  const containers = spec.containers ?? [];
  const container = containerName === undefined ? containers[0] : containers.find((c) => c.name === containerName);
  if (!container) {
    throw new Error(
      containerName === undefined
        ? 'the pod spec has no containers'
        : `the pod spec has no container named ${JSON.stringify(containerName)} (it has: ${containers.map((c) => c.name).join(', ') || 'none'})`,
    );
  }
  const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v as Record<string, unknown>]));
  const byPath = new Map<string, VolumeExport>();
  for (const vm of container.volumeMounts ?? []) {
    if (!vm.mountPath || !vm.mountPath.startsWith('/')) continue;
    const path = normalize(vm.mountPath);
    if (path === '/' || path === PROXY_MOUNT_PATH || path.startsWith(`${PROXY_MOUNT_PATH}/`)) continue;
    const volume = volumes.get(vm.name);
    const kind = volumeKind(volume);
    const readOnly = vm.readOnly === true || sourceReadOnly(volume, kind);
    const prev = byPath.get(path);
    byPath.set(path, { path, readOnly: readOnly || Boolean(prev?.readOnly), volume: vm.name, kind });
  }
  const automount = spec.automountServiceAccountToken !== false;
  if (automount && !byPath.has(SERVICE_ACCOUNT_PATH)) {
    byPath.set(SERVICE_ACCOUNT_PATH, { path: SERVICE_ACCOUNT_PATH, readOnly: true, volume: 'serviceaccount-token', kind: 'projected' });
  }
  return [...byPath.values()].sort((a, b) => a.path.localeCompare(b.path));
}

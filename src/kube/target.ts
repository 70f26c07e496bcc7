// --target: parses `KIND/NAME` (deployment, deploy, statefulset, sts, replicaset, rs, pod; a bare
// NAME is a deployment), fetches the workload's pod template (a pod's own spec for pod/NAME), and
// picks the container (--container, default the first regular one). Read-only: the workload is
// never modified.

import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import type { KubeClient } from './client.js';
import { isStatus } from './errors.js';
import { KinjectError, apiError } from './errors.js';
import { usageError } from '../errors.js';

export type TargetKind = 'deployment' | 'statefulset' | 'replicaset' | 'pod';

export interface TargetRef {
  kind: TargetKind;
  name: string;
}

export interface ResolvedTarget {
  ref: TargetRef;
  /** "deployment/web" */
  display: string;
  /** the pod template's spec (or the pod's spec), as the API returned it */
  podSpec: V1PodSpec;
  /** the chosen container, as in podSpec.containers */
  container: V1Container;
}

const KIND_ALIASES: Record<string, TargetKind> = {
  deployment: 'deployment',
  deployments: 'deployment',
  deploy: 'deployment',
  'deployment.apps': 'deployment',
  statefulset: 'statefulset',
  statefulsets: 'statefulset',
  sts: 'statefulset',
  'statefulset.apps': 'statefulset',
  replicaset: 'replicaset',
  replicasets: 'replicaset',
  rs: 'replicaset',
  'replicaset.apps': 'replicaset',
  pod: 'pod',
  pods: 'pod',
  po: 'pod',
};

const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Parses --target. Throws a usage error (exit code 2) for an unknown kind or an invalid name. */
export function parseTarget(text: string): TargetRef {
  const s = text.trim();
  const slash = s.indexOf('/');
  const kindText = slash < 0 ? 'deployment' : s.slice(0, slash).toLowerCase();
  const name = slash < 0 ? s : s.slice(slash + 1);
  const kind = KIND_ALIASES[kindText];
  if (!kind) {
    throw usageError(`unknown workload kind "${kindText}" in --target ${text}; use deployment/NAME, statefulset/NAME, replicaset/NAME or pod/NAME`);
  }
  if (!name || name.length > 253 || !NAME_RE.test(name)) {
    throw usageError(`invalid workload name "${name}" in --target ${text}; expected a Kubernetes object name like deployment/web`);
  }
  return { kind, name };
}

export function formatTarget(ref: TargetRef): string {
  return `${ref.kind}/${ref.name}`;
}

function resourcePath(ref: TargetRef, namespace: string): { path: string; resource: string } {
  const ns = encodeURIComponent(namespace);
  const n = encodeURIComponent(ref.name);
  switch (ref.kind) {
    case 'pod':
      return { path: `/api/v1/namespaces/${ns}/pods/${n}`, resource: 'pods' };
    default:
      return { path: `/apis/apps/v1/namespaces/${ns}/${ref.kind}s/${n}`, resource: `${ref.kind}s.apps` };
  }
}

/** Chooses the container by name, or the first one. Throws listing the available containers. */
export function pickContainer(podSpec: V1PodSpec, display: string, containerName?: string): V1Container {
  const containers = podSpec.containers ?? [];
  if (!containers.length) throw new KinjectError(`${display} has no containers`);
  if (!containerName) return containers[0]!;
  const c = containers.find((x) => x.name === containerName);
  if (!c) {
    const init = (podSpec.initContainers ?? []).some((x) => x.name === containerName) ? ` ("${containerName}" is an init container)` : '';
    throw new KinjectError(
      `container "${containerName}" not found in ${display}${init}; available containers: ${containers.map((x) => x.name).join(', ')}; check --container`,
    );
  }
  return c;
}

/** Fetches the workload and returns its pod spec and the chosen container. */
export async function resolveTarget(client: KubeClient, namespace: string, ref: TargetRef, containerName?: string): Promise<ResolvedTarget> {
  const display = formatTarget(ref);
  const { path, resource } = resourcePath(ref, namespace);
  let obj: { spec?: V1PodSpec & { template?: { spec?: V1PodSpec } } };
  try {
    obj = await client.get(path);
  } catch (err) {
    if (isStatus(err, 404) && !/namespaces? "/.test((err as Error).message)) {
      throw new KinjectError(`${display} not found in namespace "${namespace}"; check --target and -n/--namespace`, { cause: err });
    }
    throw apiError(err, { verb: 'get', resource, namespace, name: ref.name });
  }
  const podSpec = ref.kind === 'pod' ? obj.spec : obj.spec?.template?.spec;
  if (!podSpec) throw new KinjectError(`${display} in namespace "${namespace}" has no pod template`);
  return { ref, display, podSpec, container: pickContainer(podSpec, display, containerName) };
}

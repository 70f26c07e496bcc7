// teleport -f FILE: the --target workload's env, kept current. The kubelet gives a container its
// env once, at its start, so the proxy pod's env (read over the tunnel at the session's start)
// does not change when a ConfigMap or Secret does; this re-reads the ConfigMaps and Secrets that
// the container's env and envFrom name, every 2 s, and rebuilds the variables that come from them
// (in the kubelet's order: envFrom sources, then env entries, the later winning). Other variables
// (literal values, the downward API) keep the values the pod has.
import type { V1Container } from '@kubernetes/client-node';
import type { KubeClient } from '../kube/client.js';
import type { Env } from '../kube/env.js';

type Fetch = (kind: 'configmaps' | 'secrets', name: string) => Promise<Record<string, string> | undefined>;

/** The variables of `container` that come from ConfigMaps and Secrets, as they are now; undefined = not from there. */
export async function referencedEnv(container: Pick<V1Container, 'env' | 'envFrom'>, fetch: Fetch): Promise<Map<string, string | undefined>> {
  const out = new Map<string, string | undefined>();
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef
      ? { kind: 'configmaps' as const, name: from.configMapRef.name }
      : from.secretRef
        ? { kind: 'secrets' as const, name: from.secretRef.name }
        : undefined;
    if (!ref?.name) continue;
    const data = await fetch(ref.kind, ref.name);
    for (const [k, v] of Object.entries(data ?? {})) out.set(`${from.prefix ?? ''}${k}`, v);
  }
  for (const e of container.env ?? []) {
    const cm = e.valueFrom?.configMapKeyRef;
    const sec = e.valueFrom?.secretKeyRef;
    if (cm?.name) out.set(e.name, (await fetch('configmaps', cm.name))?.[cm.key]);
    else if (sec?.name) out.set(e.name, (await fetch('secrets', sec.name))?.[sec.key]);
    else out.delete(e.name); // a literal or downward-API entry later in the list wins: the pod's value
  }
  return out;
}

/** The pod's env with the referenced variables as they are now (removed keys removed). */
export function currentEnv(podEnv: Env, atStart: Map<string, string | undefined>, now: Map<string, string | undefined>): Env {
  const env: Env = { ...podEnv };
  for (const k of atStart.keys()) if (!now.has(k)) delete env[k];
  for (const [k, v] of now) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return Object.fromEntries(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A Fetch reading ConfigMaps and Secrets of `namespace` (Secrets' data decoded). A missing one is undefined. */
export function apiFetch(client: KubeClient, namespace: string): Fetch {
  return async (kind, name) => {
    try {
      const obj = await client.get<{ data?: Record<string, string>; binaryData?: Record<string, string> }>(
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/${kind}/${encodeURIComponent(name)}`,
      );
      if (kind === 'configmaps') return obj.data ?? {};
      return Object.fromEntries(Object.entries(obj.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    } catch (err) {
      if ((err as { status?: number }).status === 404) return undefined;
      throw err;
    }
  };
}

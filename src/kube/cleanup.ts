// `kinject cleanup`: deletes every kinject session in a namespace (or all namespaces): the Jobs
// labelled app.kubernetes.io/managed-by=kinject (Background propagation: the garbage collector
// removes their pods and Secrets), their Secrets by name (works with the minimal Role, which
// cannot list Secrets), and, where permissions allow, labelled Secrets and pods whose Job is
// gone. Returns what was removed. Note: this also ends sessions that are still in use.

import type { V1Job, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { KubeAccess } from './config.js';
import { KubeApiError } from './client.js';
import { KinjectError, apiError, isStatus } from './errors.js';
import { LABEL_SESSION, MANAGED_SELECTOR, sessionName } from './proxy-job.js';

export interface CleanupOptions {
  access: KubeAccess;
  /** default: access.namespace */
  namespace?: string;
  /** every namespace (needs cluster-wide list permission) */
  allNamespaces?: boolean;
  /** only this session id */
  session?: string;
  timeoutMs?: number;
}

export interface RemovedObject {
  kind: 'Job' | 'Secret' | 'Pod';
  namespace: string;
  name: string;
  session?: string;
}

interface Meta {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] };
}

async function list<T extends Meta>(access: KubeAccess, path: string, selector: string, timeoutMs: number): Promise<T[]> {
  const res = await access.client.get<{ items?: T[] }>(path, { query: { labelSelector: selector }, timeoutMs });
  return res?.items ?? [];
}

/** Deletes every kinject Job/Secret/Pod in scope; returns what was removed (already-gone objects are not listed). */
export async function cleanup(opts: CleanupOptions): Promise<RemovedObject[]> {
  const { access } = opts;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const namespace = opts.namespace ?? access.namespace;
  const nsPath = opts.allNamespaces ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  const selector = opts.session ? `${MANAGED_SELECTOR},${LABEL_SESSION}=${opts.session}` : MANAGED_SELECTOR;
  const scope = opts.allNamespaces ? undefined : namespace;

  let jobs: V1Job[];
  try {
    jobs = await list<V1Job>(access, `/apis/batch/v1${nsPath}/jobs`, selector, timeoutMs);
  } catch (err) {
    if (opts.allNamespaces && isStatus(err, 403)) {
      throw new KinjectError(`forbidden: cannot list jobs in all namespaces (${(err as Error).message.split('\n')[0]}); run cleanup per namespace with -n, or use an account with cluster-wide list permission`, { cause: err });
    }
    throw apiError(err, { verb: 'list', resource: 'jobs.batch', namespace: scope });
  }
  let pods: V1Pod[] = [];
  try {
    pods = await list<V1Pod>(access, `/api/v1${nsPath}/pods`, selector, timeoutMs);
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 403)) throw apiError(err, { verb: 'list', resource: 'pods', namespace: scope });
  }
  let secrets: V1Secret[] = [];
  try {
    secrets = await list<V1Secret>(access, `/api/v1${nsPath}/secrets`, selector, timeoutMs);
  } catch (err) {
    // the minimal Role has no list on secrets: they go by name below, or by garbage collection
    if (!(err instanceof KubeApiError && err.status === 403)) throw apiError(err, { verb: 'list', resource: 'secrets', namespace: scope });
  }

  const removed: RemovedObject[] = [];
  const del = async (kind: RemovedObject['kind'], ns: string, name: string, session: string | undefined): Promise<void> => {
    const path = kind === 'Job'
      ? `/apis/batch/v1/namespaces/${encodeURIComponent(ns)}/jobs/${encodeURIComponent(name)}`
      : `/api/v1/namespaces/${encodeURIComponent(ns)}/${kind === 'Pod' ? 'pods' : 'secrets'}/${encodeURIComponent(name)}`;
    try {
      await access.client.delete(path, { query: { propagationPolicy: 'Background' }, timeoutMs });
      removed.push({ kind, namespace: ns, name, ...(session ? { session } : {}) });
    } catch (err) {
      if (isStatus(err, 404)) return;
      // a stray pod with the minimal Role (no delete on pods): the GC or activeDeadline ends it
      if (kind === 'Pod' && isStatus(err, 403)) return;
      throw apiError(err, { verb: 'delete', resource: kind === 'Job' ? 'jobs.batch' : kind === 'Pod' ? 'pods' : 'secrets', namespace: ns, name });
    }
  };

  const jobKeys = new Set<string>();
  const secretKeys = new Set<string>();
  for (const job of jobs) {
    const ns = job.metadata?.namespace ?? namespace;
    const name = job.metadata?.name;
    if (!name) continue;
    const session = job.metadata?.labels?.[LABEL_SESSION];
    jobKeys.add(`${ns}/${name}`);
    // the Secret first: once the Job is gone the garbage collector may delete it before we do
    if (session) {
      secretKeys.add(`${ns}/${sessionName(session)}`);
      await del('Secret', ns, sessionName(session), session);
    }
    await del('Job', ns, name, session);
  }
  for (const s of secrets) {
    const ns = s.metadata?.namespace ?? namespace;
    const name = s.metadata?.name;
    if (!name || secretKeys.has(`${ns}/${name}`)) continue;
    secretKeys.add(`${ns}/${name}`);
    await del('Secret', ns, name, s.metadata?.labels?.[LABEL_SESSION]);
  }
  for (const p of pods) {
    const ns = p.metadata?.namespace ?? namespace;
    const name = p.metadata?.name;
    if (!name) continue;
    const owner = p.metadata?.ownerReferences?.find((o) => o.kind === 'Job');
    if (owner && jobKeys.has(`${ns}/${owner.name}`)) continue; // goes with its Job
    const session = p.metadata?.labels?.[LABEL_SESSION];
    // a pod whose Job is gone: remove it and its Secret
    await del('Pod', ns, name, session);
    if (session && !secretKeys.has(`${ns}/${sessionName(session)}`)) {
      secretKeys.add(`${ns}/${sessionName(session)}`);
      await del('Secret', ns, sessionName(session), session);
    }
  }
  return removed;
}

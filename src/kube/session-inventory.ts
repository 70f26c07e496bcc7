// The kinject sessions in a namespace (or all namespaces) as the cluster shows them: their Jobs,
// pods, Secrets and Leases (labelled app.kubernetes.io/managed-by=kinject), grouped by session id,
// each with its liveness (session-liveness.ts). Used by `kinject cleanup` (removes only the ones
// that are not live), `kinject session list` and `kinject session close`.
// Lists that the account may not read (the minimal Role cannot list Secrets; leases may be
// missing from an older Role) are skipped: a session then counts as live by its Job alone.

import type { V1Job, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { KubeAccess } from './config.js';
import { KinjectError, apiError, isStatus } from './errors.js';
import { ANNOTATION_USER, LABEL_SESSION, MANAGED_SELECTOR } from './proxy-job.js';
import { leaseFacts, leasePath, type V1LeaseLike } from './session-lease.js';
import { sessionLiveness, type JobFacts, type Liveness } from './session-liveness.js';

export interface InventoryOptions {
  access: KubeAccess;
  /** default: access.namespace */
  namespace?: string;
  /** every namespace (needs cluster-wide list permission) */
  allNamespaces?: boolean;
  /** only this session id */
  session?: string;
  timeoutMs?: number;
  /** the clock the liveness rule uses (tests move it past the grace) */
  now?: Date;
}

export interface SessionEntry {
  namespace: string;
  id: string;
  job?: V1Job;
  pods: V1Pod[];
  secrets: V1Secret[];
  lease?: V1LeaseLike;
  liveness: Liveness;
}

export interface Inventory {
  sessions: SessionEntry[];
  /** false when leases could not be listed (no permission) */
  leasesVisible: boolean;
  /** false when Secrets could not be listed (the minimal Role): they go by name */
  secretsVisible: boolean;
}

interface Meta {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
}

async function list<T extends Meta>(access: KubeAccess, path: string, selector: string, timeoutMs: number): Promise<T[]> {
  const res = await access.client.get<{ items?: T[] }>(path, { query: { labelSelector: selector }, timeoutMs });
  return res?.items ?? [];
}

export function jobFacts(job: V1Job): JobFacts {
  const finished = (job.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  const created = job.metadata?.creationTimestamp;
  const user = job.metadata?.annotations?.[ANNOTATION_USER];
  return {
    active: job.status?.active ?? 0,
    finished,
    ...(created ? { createdAt: new Date(created) } : {}),
    ...(user ? { user } : {}),
  };
}

export async function listSessions(opts: InventoryOptions): Promise<Inventory> {
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
      throw new KinjectError(
        `forbidden: cannot list jobs in all namespaces (${(err as Error).message.split('\n')[0]}); run cleanup per namespace with -n, or use an account with cluster-wide list permission`,
        { cause: err },
      );
    }
    throw apiError(err, { verb: 'list', resource: 'jobs.batch', namespace: scope });
  }
  const optional = async <T extends Meta>(path: string, resource: string): Promise<T[] | undefined> => {
    try {
      return await list<T>(access, path, selector, timeoutMs);
    } catch (err) {
      if (isStatus(err, 403) || (isStatus(err, 404) && resource === 'leases')) return undefined;
      throw apiError(err, { verb: 'list', resource, namespace: scope });
    }
  };
  const pods = (await optional<V1Pod>(`/api/v1${nsPath}/pods`, 'pods')) ?? [];
  const secrets = await optional<V1Secret>(`/api/v1${nsPath}/secrets`, 'secrets');
  const leases = await optional<V1LeaseLike>(leasePath(opts.allNamespaces ? undefined : namespace), 'leases');

  const byKey = new Map<string, SessionEntry>();
  const entry = (o: Meta): SessionEntry | undefined => {
    const id = o.metadata?.labels?.[LABEL_SESSION];
    if (!id) return undefined;
    const ns = o.metadata?.namespace ?? namespace;
    const key = `${ns}/${id}`;
    let e = byKey.get(key);
    if (!e) {
      e = { namespace: ns, id, pods: [], secrets: [], liveness: { live: false, why: '' } };
      byKey.set(key, e);
    }
    return e;
  };
  for (const j of jobs) {
    const e = entry(j);
    if (e) e.job = j;
  }
  for (const p of pods) entry(p)?.pods.push(p);
  for (const s of secrets ?? []) entry(s)?.secrets.push(s);
  for (const l of leases ?? []) {
    const e = entry(l);
    if (e) e.lease = l;
  }
  const now = opts.now ?? new Date();
  const leasesVisible = leases !== undefined;
  for (const e of byKey.values()) {
    e.liveness = sessionLiveness(
      {
        ...(e.job ? { job: jobFacts(e.job) } : {}),
        ...(e.lease ? { lease: leaseFacts(e.lease) } : {}),
        leasesVisible,
      },
      now,
    );
  }
  const sessions = [...byKey.values()].sort((a, b) => `${a.namespace}/${a.id}`.localeCompare(`${b.namespace}/${b.id}`));
  return { sessions, leasesVisible, secretsVisible: secrets !== undefined };
}

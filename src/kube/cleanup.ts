// `kinject cleanup`: deletes the kinject sessions in a namespace (or all namespaces) that are not
// live (session-liveness.ts: their runner stopped renewing their Lease longer ago than its grace,
// or, without a Lease, their Job has no active pod and is not being started): their Jobs
// (Background propagation: the garbage collector removes their pods, Secrets and Leases), their
// Secrets by name (works with the minimal Role, which cannot list Secrets), and, where
// permissions allow, labelled Secrets, pods and Leases whose Job is gone. Live sessions are
// kept and returned; ending them is an explicit act (session-close.ts).

import type { KubeAccess } from './config.js';
import { apiError, isStatus } from './errors.js';
import { sessionName } from './proxy-job.js';
import { leasePath } from './session-lease.js';
import { listSessions, type InventoryOptions, type SessionEntry } from './session-inventory.js';

/** What to clean up: the same choice of namespace(s), session and clock as the inventory's. */
export type CleanupOptions = InventoryOptions;

export interface RemovedObject {
  kind: 'Job' | 'Secret' | 'Pod' | 'Lease';
  namespace: string;
  name: string;
  session?: string;
}

/** Deletes every kinject Job/Secret/Pod of sessions that are not live; returns what was removed. */
export async function cleanup(opts: CleanupOptions): Promise<RemovedObject[]> {
  return (await cleanupSessions(opts)).removed;
}

export interface CleanupResult {
  /** what was removed (already-gone objects are not listed) */
  removed: RemovedObject[];
  /** live sessions left alone */
  kept: SessionEntry[];
  /** false when leases could not be listed: sessions were judged by their Jobs alone */
  leasesVisible: boolean;
}

/** Deletes what sessions that are not live left in the cluster; lists the live ones it kept. */
export async function cleanupSessions(opts: CleanupOptions): Promise<CleanupResult> {
  const { access } = opts;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const inventory = await listSessions(opts);

  const removed: RemovedObject[] = [];
  const del = async (kind: RemovedObject['kind'], ns: string, name: string, session: string): Promise<void> => {
    const path =
      kind === 'Job'
        ? `/apis/batch/v1/namespaces/${encodeURIComponent(ns)}/jobs/${encodeURIComponent(name)}`
        : kind === 'Lease'
          ? leasePath(ns, name)
          : `/api/v1/namespaces/${encodeURIComponent(ns)}/${kind === 'Pod' ? 'pods' : 'secrets'}/${encodeURIComponent(name)}`;
    try {
      await access.client.delete(path, { query: { propagationPolicy: 'Background' }, timeoutMs });
      removed.push({ kind, namespace: ns, name, session });
    } catch (err) {
      if (isStatus(err, 404)) return;
      // a stray pod or Lease without permission to delete it: the GC or activeDeadline ends it
      if ((kind === 'Pod' || kind === 'Lease') && isStatus(err, 403)) return;
      const resource = kind === 'Job' ? 'jobs.batch' : kind === 'Pod' ? 'pods' : kind === 'Lease' ? 'leases.coordination.k8s.io' : 'secrets';
      throw apiError(err, { verb: 'delete', resource, namespace: ns, name });
    }
  };

  const kept: SessionEntry[] = [];
  for (const s of inventory.sessions) {
    if (s.liveness.live) {
      kept.push(s);
      continue;
    }
    const ns = s.namespace;
    const name = sessionName(s.id);
    // the Secret first: once the Job is gone the garbage collector may delete it before we do
    const secretNames = new Set(s.secrets.map((x) => x.metadata?.name).filter((n): n is string => !!n));
    if (s.job || s.pods.length) secretNames.add(name);
    for (const secret of secretNames) await del('Secret', ns, secret, s.id);
    const jobName = s.job?.metadata?.name;
    if (jobName) {
      await del('Job', ns, jobName, s.id);
      continue; // its pods and Lease go with it
    }
    for (const p of s.pods) {
      if (p.metadata?.name) await del('Pod', ns, p.metadata.name, s.id);
    }
    if (s.lease?.metadata?.name) await del('Lease', ns, s.lease.metadata.name, s.id);
  }
  return { removed, kept, leasesVisible: inventory.leasesVisible };
}

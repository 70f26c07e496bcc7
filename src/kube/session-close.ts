// Ending sessions on purpose, live ones included (`kinject session close ID`, `kinject cleanup
// --include-live`): each session's Lease is marked kinject.dev/closed-by=<who> first, so its
// runner (which reads it at its next renewal, every grace/6 s) can say who ended it, stop its
// command and clean up itself; after waiting for that (at most one renewal period + 10 s), what is
// still there is deleted (Job, Secret, pod), as a runner that is gone cannot do it. Sessions are
// closed in parallel.

import type { KubeAccess } from './config.js';
import { isStatus } from './errors.js';
import { sessionName } from './proxy-job.js';
import { deleteProxyPod } from './proxy-pod.js';
import { markLeaseClosed } from './session-lease.js';
import { DEFAULT_GRACE_SECONDS } from './session-liveness.js';
import type { SessionEntry } from './session-inventory.js';
import { sleep } from '../util/sleep.js';

export interface ClosedSession {
  namespace: string;
  id: string;
  /** its runner ended it itself after seeing the mark (false: kinject deleted its objects) */
  byRunner: boolean;
}

async function jobGone(access: KubeAccess, namespace: string, id: string): Promise<boolean> {
  try {
    await access.client.get(`/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs/${sessionName(id)}`, { timeoutMs: 5000 });
    return false;
  } catch (err) {
    return isStatus(err, 404);
  }
}

type Closable = Pick<SessionEntry, 'namespace' | 'id'> & { liveness?: { live: boolean } };

/** Marks, waits for a live session's runner (when it has a Lease), then deletes what is left. */
export async function closeSession(access: KubeAccess, s: Closable, by: string): Promise<ClosedSession> {
  const lease = await markLeaseClosed(access, s.namespace, s.id, by).catch(() => undefined);
  let byRunner = false;
  if (lease && s.liveness?.live !== false) {
    const grace = lease.spec?.leaseDurationSeconds ?? DEFAULT_GRACE_SECONDS;
    const until = Date.now() + (grace * 1000) / 6 + 10_000;
    while (Date.now() < until) {
      if (await jobGone(access, s.namespace, s.id)) {
        byRunner = true;
        break;
      }
      await sleep(500);
    }
  }
  if (!byRunner) await deleteProxyPod(access, s.namespace, s.id);
  return { namespace: s.namespace, id: s.id, byRunner };
}

export function closeSessions(access: KubeAccess, sessions: Closable[], by: string): Promise<ClosedSession[]> {
  return Promise.all(sessions.map((s) => closeSession(access, s, by)));
}

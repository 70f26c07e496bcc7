// Is a kinject session in the cluster still in use? The one rule every cluster-side cleanup
// follows (kinject cleanup; later intercepts' Service changes and teleport pods): a session is
// LIVE while its kinject runner lives, and only objects of sessions that are not live may be
// removed without an explicit act (`kinject session close`, `kinject cleanup --include-live`).
// Pure functions, no I/O: the facts come from the session's Lease and Job (session-lease.ts).
//
//  - With a Lease: live while now - renewTime <= leaseDurationSeconds (the grace the runner
//    stated; it renews every grace/6 s). A renewTime in the future (clock skew) counts as fresh.
//    A Lease marked closed (kinject.dev/closed-by) is not live: it is being ended.
//  - Without a Lease (a kinject older than the Lease, an account without leases permission, a
//    runner killed in the milliseconds between creating the Job and its Lease, or leases that
//    cannot be listed): live while the Job has an active (pending or running) pod, or while the
//    Job is younger than the default grace (it is being started). Such a pod ends by itself
//    within about a minute of its runner's end (the pod server's idle exit), so nothing stays.
//  - A finished Job (Complete/Failed) without a fresh Lease is not live; no Job and no fresh
//    Lease is not live (a stray Secret or pod).

export const DEFAULT_GRACE_SECONDS = 30;

export interface LeaseFacts {
  /** "user@host pid N" */
  holder?: string;
  renewTime?: Date;
  durationSeconds?: number;
  /** who asked to end the session (the lease's kinject.dev/closed-by annotation) */
  closedBy?: string;
}

export interface JobFacts {
  createdAt?: Date;
  /** pods pending or running (status.active) */
  active: number;
  /** Complete or Failed */
  finished: boolean;
  /** kinject.dev/user annotation ("user@host") */
  user?: string;
}

export interface SessionFacts {
  job?: JobFacts;
  lease?: LeaseFacts;
  /** false when leases could not be listed: a missing lease then says nothing */
  leasesVisible?: boolean;
}

export interface Liveness {
  live: boolean;
  /** why, in a few words (for listings) */
  why: string;
  /** "user@host" of the runner, when known */
  user?: string;
  pid?: number;
  /** whole seconds since the last renewal (with a Lease) */
  renewedAgo?: number;
}

/** Splits a holderIdentity "user@host pid N" (anything else: all of it is the user). */
export function parseHolder(holder: string | undefined): { user?: string; pid?: number } {
  if (!holder) return {};
  const m = /^(.*) pid (\d+)$/.exec(holder);
  return m ? { user: m[1], pid: Number(m[2]) } : { user: holder };
}

export function sessionLiveness(facts: SessionFacts, now: Date, defaultGraceSeconds = DEFAULT_GRACE_SECONDS): Liveness {
  const { job, lease } = facts;
  if (lease) {
    const { user, pid } = parseHolder(lease.holder);
    const runner = user ?? job?.user;
    const who = { ...(runner ? { user: runner } : {}), ...(pid !== undefined ? { pid } : {}) };
    if (lease.closedBy) return { live: false, why: `being closed by ${lease.closedBy}`, ...who };
    const grace = lease.durationSeconds && lease.durationSeconds > 0 ? lease.durationSeconds : defaultGraceSeconds;
    if (!lease.renewTime || Number.isNaN(lease.renewTime.getTime())) return { live: false, why: 'its Lease was never renewed', ...who };
    const ageMs = now.getTime() - lease.renewTime.getTime();
    const renewedAgo = Math.max(0, Math.round(ageMs / 1000));
    if (ageMs <= grace * 1000) return { live: true, why: `renewed ${renewedAgo} s ago`, renewedAgo, ...who };
    return { live: false, why: `not renewed for ${renewedAgo} s (grace ${grace} s)`, renewedAgo, ...who };
  }
  const user = job?.user ? { user: job.user } : {};
  if (!job) return { live: false, why: 'no Job and no Lease', ...user };
  if (job.finished) return { live: false, why: 'its Job has finished', ...user };
  const noLease = facts.leasesVisible === false ? 'Leases not readable' : 'no Lease';
  if (job.active > 0) return { live: true, why: `${noLease}, its pod is active`, ...user };
  const ageMs = job.createdAt ? now.getTime() - job.createdAt.getTime() : Infinity;
  if (ageMs <= defaultGraceSeconds * 1000) return { live: true, why: `${noLease}, being started`, ...user };
  return { live: false, why: `${noLease} and no active pod`, ...user };
}

/** "NS/kinject-ID of USER@HOST, pid N, renewed 2 s ago" */
export function describeSession(namespace: string, name: string, l: Liveness): string {
  const who = l.user ? ` of ${l.user}${l.pid !== undefined ? `, pid ${l.pid}` : ''}` : '';
  return `${namespace}/${name}${who}, ${l.why}`;
}

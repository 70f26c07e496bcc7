// `kinject cleanup`, local half: finds the volume mounts a kinject left behind when it could not
// clean up (SIGKILL, crash, power loss of the tunnel) and removes them.
// A mount is kinject's when it is a FUSE sshfs mount of the current user (`user_id=` in
// mountinfo) whose source is `kinject@127.0.0.1:/` (what mount.ts runs) or whose mount point is
// under ${XDG_RUNTIME_DIR:-/tmp}/kinject-<uid>/. It is left over unless its mount record names a
// kinject process that is still running, or (no record) its sshfs is still the child of a running
// Node process (that session's mount is in use; `force` takes it anyway).

import { readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { readMountInfo, type MountInfoEntry } from './mountinfo.js';
import { unmountFuse } from './mount.js';
import type { Logger } from '../log.js';
import { MOUNT_FSTYPE, MOUNT_SOURCE_PREFIX, currentUid, listMountRecords, processAlive, readMountRecord, removeMountRecord, runtimeBase } from './state.js';
import { sleep } from '../util/sleep.js';

export interface LeftoverMount {
  mountPoint: string;
  source: string;
  /** The kinject process recorded for it, when there is a record. */
  ownerPid?: number;
  sshfsPid?: number;
  /** The recorded kinject process is still running. */
  live: boolean;
}

export interface CleanupOptions {
  env?: NodeJS.ProcessEnv;
  uid?: number;
  /** Also unmount mounts whose kinject is still running. */
  force?: boolean;
  log?: Partial<Logger>;
  /** mountinfo text source (tests). */
  mountInfo?: () => MountInfoEntry[];
}

export interface CleanupResult {
  /** Mount points unmounted (`fusermount3 -u`, or lazily with -uz). */
  removed: string[];
  /** Mount points left alone because their kinject is still running. */
  skipped: string[];
  /** Mount points that could not be unmounted. */
  failed: string[];
}

function isKinjectMount(e: MountInfoEntry, uid: number, base: string): boolean {
  if (e.fsType !== MOUNT_FSTYPE) return false;
  if (e.userId !== undefined && e.userId !== uid) return false;
  return e.source.startsWith(`${MOUNT_SOURCE_PREFIX}127.0.0.1:`) || e.mountPoint.startsWith(`${base}/`);
}

export function findKinjectMounts(options: CleanupOptions = {}): LeftoverMount[] {
  const env = options.env ?? process.env;
  const uid = options.uid ?? currentUid();
  const base = runtimeBase(env, uid);
  const entries = (options.mountInfo ?? readMountInfo)();
  const seen = new Set<string>();
  const out: LeftoverMount[] = [];
  for (const e of entries) {
    if (!isKinjectMount(e, uid, base) || seen.has(e.mountPoint)) continue;
    seen.add(e.mountPoint);
    const rec = readMountRecord(e.mountPoint, env);
    let live = rec !== undefined && rec.pid !== process.pid && processAlive(rec.pid);
    if (!rec) {
      // No record here (made with another XDG_RUNTIME_DIR, say): live while the sshfs serving it
      // is still the child of a running Node process (kinject), not an orphan.
      const server = sshfsServing(e.mountPoint);
      live = server !== undefined && server.parentIsNode;
    }
    out.push({ mountPoint: e.mountPoint, source: e.source, ownerPid: rec?.pid, sshfsPid: rec?.sshfsPid, live });
  }
  return out;
}

function isSshfsFor(pid: number, mountPoint: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => a.endsWith('sshfs')) && argv.includes(mountPoint);
  } catch {
    return false;
  }
}

/** The sshfs process whose command line names this mount point, and whether its parent is Node. */
function sshfsServing(mountPoint: string): { pid: number; parentIsNode: boolean } | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return undefined;
  }
  for (const p of pids) {
    const pid = Number(p);
    if (!isSshfsFor(pid, mountPoint)) continue;
    let ppid = 0;
    try {
      ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* gone */
    }
    let parentIsNode = false;
    if (ppid > 1 && ppid !== process.pid) {
      try {
        const argv0 = readFileSync(`/proc/${ppid}/cmdline`, 'utf8').split('\0')[0] ?? '';
        parentIsNode = /(^|\/)(node|nodejs|kinject)$/.test(argv0);
      } catch {
        /* gone */
      }
    }
    return { pid, parentIsNode };
  }
  return undefined;
}

export async function removeLeftoverMounts(options: CleanupOptions = {}): Promise<CleanupResult> {
  const env = options.env ?? process.env;
  const base = runtimeBase(env, options.uid ?? currentUid());
  const result: CleanupResult = { removed: [], skipped: [], failed: [] };
  // Deepest first, in case one mount sits inside another.
  const found = findKinjectMounts(options).sort((a, b) => b.mountPoint.length - a.mountPoint.length);
  for (const m of found) {
    if (m.live && !options.force) {
      result.skipped.push(m.mountPoint);
      options.log?.debug?.(`volumes: ${m.mountPoint} belongs to running kinject ${m.ownerPid}; left alone`);
      continue;
    }
    const r = await unmountFuse(m.mountPoint, options.log);
    if (r === 'failed') {
      result.failed.push(m.mountPoint);
      continue;
    }
    result.removed.push(m.mountPoint);
    // sshfs exits by itself once its mount is gone; a stuck one is stopped (only if it is really
    // the sshfs of this mount point: the pid could have been reused).
    if (m.sshfsPid && isSshfsFor(m.sshfsPid, m.mountPoint)) {
      for (let i = 0; i < 20 && processAlive(m.sshfsPid); i++) await sleep(50);
      if (processAlive(m.sshfsPid) && isSshfsFor(m.sshfsPid, m.mountPoint)) {
        try {
          process.kill(m.sshfsPid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
    }
    removeMountRecord(m.mountPoint, env);
    if (dirname(m.mountPoint) === base) {
      try {
        rmdirSync(m.mountPoint);
      } catch {
        /* not empty: leave it */
      }
    }
  }
  // Records whose mount is gone and whose kinject is dead: drop them (and their empty directory).
  const mounted = new Set(found.map((m) => m.mountPoint));
  for (const rec of listMountRecords(env)) {
    if (mounted.has(rec.mountDir) || processAlive(rec.pid)) continue;
    removeMountRecord(rec.mountDir, env);
    if (dirname(rec.mountDir) === base) {
      try {
        rmdirSync(rec.mountDir);
      } catch {
        /* not empty or gone */
      }
    }
  }
  return result;
}

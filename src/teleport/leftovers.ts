// What a teleport session whose process died (SIGKILL, reboot) left on this machine: its block in
// the hosts file, its env file (-f), its hosts-format file and log. removeDeadTeleports() removes
// them; the next teleport, `kinject session close --all`, `kinject teleport --clean` and
// `kinject cleanup` call it. A block is dead when the pid written in its begin line is not a
// running kinject (a block without a pid counts as dead unless a live session record has its id).
// A background start's log (teleport-<pid>.log in the runtime dir) is dead when no process has it
// open: the session writes to it until its end, and under sudo the root keeper's log is named by
// no record (the session's record is the user's).
import { readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { listLocalSessions } from '../session/registry.js';
import { processAlive, runtimeBase } from '../volumes/state.js';
import { blocks, editHostsFile, hostsBackupPath, hostsFilePath, withoutBlocks } from './hosts-file.js';
import { errorMessage } from '../util/error-message.js';

/** Is `pid` a running kinject process? */
export function kinjectAlive(pid: number): boolean {
  if (!processAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kinject');
  } catch {
    return true; // cannot tell (another user's process): keep it
  }
}

/** The files a teleport record names in its details. */
export function teleportFiles(details: Record<string, unknown> | undefined): string[] {
  return ['envFile', 'hostsFormatFile', 'logFile'].map((k) => details?.[k]).filter((f): f is string => typeof f === 'string' && f.length > 0);
}

/** Removes dead teleports' hosts blocks and files; returns one line per thing removed, and warnings. */
export function removeDeadTeleports(env: NodeJS.ProcessEnv = process.env): { removed: string[]; warnings: string[] } {
  const removed: string[] = [];
  const warnings: string[] = [];
  const sessions = listLocalSessions(env);
  const liveIds = new Set(sessions.filter((s) => s.alive).map((s) => s.record.id));
  for (const s of sessions) {
    if (s.alive || s.record.kind !== 'teleport') continue;
    for (const f of teleportFiles(s.record.details)) {
      rmSync(f, { force: true });
      removed.push(`removed file ${f} of dead teleport session ${s.record.id}`);
    }
  }
  for (const f of unheldLogs(runtimeBase(env))) {
    rmSync(f, { force: true });
    removed.push(`removed file ${f}, the log of a teleport session that has ended`);
  }
  const hosts = hostsFilePath(env);
  const dead = (id: string, pid: number) => (pid ? !kinjectAlive(pid) : !liveIds.has(id));
  let text: string;
  try {
    text = readFileSync(hosts, 'utf8');
  } catch {
    return { removed, warnings };
  }
  const deadBlocks = blocks(text).filter((b) => dead(b.id, b.pid));
  if (deadBlocks.length === 0) return { removed, warnings };
  try {
    editHostsFile(hosts, (t) => withoutBlocks(t, dead), hostsBackupPath(hosts, env));
    for (const b of deadBlocks) removed.push(`removed the ${hosts} block of dead teleport session ${b.id}`);
  } catch (err) {
    warnings.push(
      `cannot remove the ${hosts} block${deadBlocks.length > 1 ? 's' : ''} of dead teleport session${deadBlocks.length > 1 ? 's' : ''} ${deadBlocks.map((b) => b.id).join(', ')}: ${errorMessage(err)}; run \`sudo kinject cleanup\``,
    );
  }
  return { removed, warnings };
}

/** The background starts' logs in `dir` that no process has open (none when /proc cannot be read). */
export function unheldLogs(dir: string): string[] {
  let logs: string[];
  try {
    const real = realpathSync(dir); // /proc's links name the resolved path
    logs = readdirSync(real)
      .filter((f) => /^teleport-\d+\.log$/.test(f))
      .map((f) => join(real, f));
  } catch {
    return [];
  }
  if (logs.length === 0) return [];
  const open = openFiles();
  return open ? logs.filter((f) => !open.has(f)) : [];
}

/** Every path a process this user may look at has open (root: all), or undefined without /proc. */
function openFiles(): Set<string> | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  const open = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or another user's
    }
    for (const fd of fds) {
      try {
        open.add(readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        // closed meanwhile
      }
    }
  }
  return open;
}

// The lock every kinject writer of a hosts file holds around its read-modify-write, so two
// teleports starting at the same moment do not lose each other's block. It is a lock file created
// with O_EXCL holding the writer's pid: KINJECT_HOSTS_LOCK, else ".<name>.kinject-lock" beside the
// hosts file (/etc/.hosts.kinject-lock). A lock whose pid is not running (a writer SIGKILLed while
// holding it) is taken over. The section it guards lasts milliseconds, so waiting is a short
// synchronous sleep loop, bounded (5 s), ending in a one-line error naming the lock file. Where
// the lock file cannot be created at all (a read-only directory around a bind-mounted file), the
// write goes on unlocked. proper-lockfile (mkdir + mtime) would fit, but it is not among kinject's
// dependencies and could not be added here; this small lock does the same job for one file.
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { KinjectError } from '../errors.js';
import { processAlive } from '../volumes/state.js';

const WAIT_MS = 5000;
const STEP_MS = 10;

/** Where the lock of hosts file `real` (its real path) lives. */
export function hostsLockPath(real: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.KINJECT_HOSTS_LOCK || join(dirname(real), `.${basename(real)}.kinject-lock`);
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs fn holding the lock at `lock`; see the header. */
export function withHostsLock<T>(lock: string, fn: () => T, waitMs = WAIT_MS): T {
  const deadline = Date.now() + waitMs;
  let held = false;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      held = true;
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM') break; // no place for a lock: unlocked
      if (code !== 'EEXIST') throw err;
    }
    takeOverIfDead(lock);
    if (Date.now() > deadline) {
      throw new KinjectError(
        `the hosts file's lock ${lock} has been held for ${waitMs / 1000} s by pid ${holderOf(lock) ?? '?'}; if no kinject runs, remove it`,
      );
    }
    sleep(STEP_MS);
  }
  try {
    return fn();
  } finally {
    if (held) rmSync(lock, { force: true });
  }
}

function holderOf(lock: string): number | undefined {
  try {
    const pid = Number(readFileSync(lock, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the lock when its holder is not running: moved aside first, so only one taker removes it. */
function takeOverIfDead(lock: string): void {
  const pid = holderOf(lock);
  if (pid === undefined || processAlive(pid)) return; // empty: its writer is between create and write
  const aside = `${lock}.dead-${process.pid}`;
  try {
    renameSync(lock, aside);
  } catch {
    return; // someone else took it over
  }
  rmSync(aside, { force: true });
}

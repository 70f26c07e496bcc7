// The hosts file (/etc/hosts) as teleport edits it: kinject's lines sit in one block per session,
//   # kinject teleport <id> begin pid <pid> (kinject removes this block when the session ends)
//   127.1.0.1 hello hello.ns hello.ns.svc hello.ns.svc.cluster.local
//   # kinject teleport <id> end
// and every change touches only that block, so lines anyone else writes meanwhile stay. Writes:
// a symlink is followed (the link stays, its target is replaced); a file that is a mount point (a
// bind mount, as containers and the tests have) cannot be renamed over, so it is rewritten in
// place (one write, then truncate); any other file gets a new file in its directory, with the
// old one's owner and mode, renamed over it (atomic: a reader sees the old or the new file).
// The first time kinject changes a hosts file it copies it once to a backup (hostsBackupPath).
// Every read-modify-write holds the hosts lock (hosts-lock.ts), so concurrent writers lose nothing.
import {
  accessSync,
  chmodSync,
  constants,
  chownSync,
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { KinjectError } from '../errors.js';
import { findMount } from '../volumes/mountinfo.js';
import { hostsLockPath, withHostsLock } from './hosts-lock.js';

export const DEFAULT_HOSTS_FILE = '/etc/hosts';

/** The hosts file teleport edits: KINJECT_HOSTS_FILE, else /etc/hosts. */
export function hostsFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.KINJECT_HOSTS_FILE || DEFAULT_HOSTS_FILE;
}

/** The one-time backup: KINJECT_HOSTS_BACKUP, else the hosts file's path + ".kinject-backup". */
export function hostsBackupPath(hostsFile: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.KINJECT_HOSTS_BACKUP || `${hostsFile}.kinject-backup`;
}

const BEGIN = /^# kinject teleport ([a-z0-9-]+) begin(?: pid (\d+))?/;
const END = /^# kinject teleport ([a-z0-9-]+) end\b/;

export function beginLine(id: string, pid: number): string {
  return `# kinject teleport ${id} begin pid ${pid} (kinject removes this block when the session ends)`;
}
export function endLine(id: string): string {
  return `# kinject teleport ${id} end`;
}

/** The blocks in `text`: session id and the pid of the process that wrote it (0: none given). */
export function blocks(text: string): { id: string; pid: number }[] {
  const out: { id: string; pid: number }[] = [];
  for (const line of text.split('\n')) {
    const m = BEGIN.exec(line);
    if (m) out.push({ id: m[1], pid: Number(m[2] ?? 0) });
  }
  return out;
}

/** `text` without the blocks of the ids `drop` accepts (a block without its end line ends at the file's end). */
export function withoutBlocks(text: string, drop: (id: string, pid: number) => boolean): string {
  const out: string[] = [];
  let inside: string | undefined;
  const lines = text.split('\n');
  for (const line of lines) {
    if (inside === undefined) {
      const m = BEGIN.exec(line);
      if (m && drop(m[1], Number(m[2] ?? 0))) inside = m[1];
      else out.push(line);
    } else {
      const m = END.exec(line);
      if (m && m[1] === inside) inside = undefined;
    }
  }
  return out.join('\n');
}

/** `text` with the block of `id` holding `lines` (replaced where it was, else appended). */
export function withBlock(text: string, id: string, pid: number, lines: string[]): string {
  const block = [beginLine(id, pid), ...lines, endLine(id)];
  const all = text.split('\n');
  const start = all.findIndex((l) => BEGIN.exec(l)?.[1] === id);
  if (start >= 0) {
    let end = all.findIndex((l, i) => i > start && END.exec(l)?.[1] === id);
    if (end < 0) end = all.length - 1;
    all.splice(start, end - start + 1, ...block);
    return all.join('\n');
  }
  const base = text === '' || text.endsWith('\n') ? text : `${text}\n`;
  return `${base}${block.join('\n')}\n`;
}

/** Is `path` a mount point (a bind-mounted file)? From /proc/self/mountinfo. */
export function isMountPoint(path: string): boolean {
  try {
    return findMount(path) !== undefined;
  } catch {
    return false;
  }
}

/**
 * Applies `change` to the hosts file and writes the result if it differs (see the header for how).
 * Returns whether it wrote. The first write ever makes the backup (when it does not exist yet).
 */
export function editHostsFile(path: string, change: (text: string) => string, backup?: string): boolean {
  const real = realpathSync(path);
  return withHostsLock(hostsLockPath(real), () => editLocked(path, real, change, backup));
}

function editLocked(path: string, real: string, change: (text: string) => string, backup?: string): boolean {
  const text = readFileSync(real, 'utf8');
  const next = change(text);
  if (next === text) return false;
  if (backup && !existsSync(backup)) copyFileSync(real, backup);
  const st = statSync(real);
  if (isMountPoint(real) || isMountPoint(path)) {
    writeInPlace(real, next);
    return true;
  }
  const tmp = join(dirname(real), `.${basename(real)}.kinject-${process.pid}.tmp`);
  try {
    writeFileSync(tmp, next, { mode: st.mode & 0o7777, flag: 'wx' });
    if (process.getuid?.() === 0) chownSync(tmp, st.uid, st.gid);
    chmodSync(tmp, st.mode & 0o7777);
    renameSync(tmp, real);
  } catch (err) {
    rmSync(tmp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EBUSY' && code !== 'EXDEV') throw err;
    writeInPlace(real, next); // a mount point /proc did not show
  }
  return true;
}

/** Rewrites the file's bytes in place (its inode, owner and mode stay): one write, then truncate. */
function writeInPlace(file: string, text: string): void {
  const buf = Buffer.from(text);
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, buf, 0, buf.length, 0);
    ftruncateSync(fd, buf.length);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** One line when teleport cannot write the hosts file (missing, or not writable by this user). */
export function checkHostsWritable(file: string): void {
  try {
    accessSync(realpathSync(file), constants.R_OK | constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KinjectError(
      code === 'ENOENT'
        ? `${file} does not exist; create it, or use --no-hosts (names in a hosts-format file only)`
        : `${file} is not writable by you (${code}): run \`sudo kinject teleport ...\`, or use --no-hosts (names in a hosts-format file only)`,
    );
  }
}

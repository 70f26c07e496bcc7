// Where kinject keeps its per-user volume state on the local machine:
//   ${XDG_RUNTIME_DIR:-/tmp}/kinject-<uid>/               private (0700), owned by the user
//   ${XDG_RUNTIME_DIR:-/tmp}/kinject-<uid>/<session>/     default mount root of a session
//   ${XDG_RUNTIME_DIR:-/tmp}/kinject-<uid>/.mounts/<key>.json   one record per live mount
// The records say which kinject process owns a mount, so `kinject cleanup` can tell a live
// session's mount from one left behind by a kinject that was SIGKILLed.

import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The source sshfs gives the mount in /proc/self/mountinfo (`kinject@127.0.0.1:/`). */
export const MOUNT_SOURCE_PREFIX = 'kinject@';
export const MOUNT_FSTYPE = 'fuse.sshfs';

export function currentUid(): number {
  return process.getuid?.() ?? 0;
}

/** ${XDG_RUNTIME_DIR:-/tmp}/kinject-<uid>; an XDG_RUNTIME_DIR that belongs to another user (the invoker's, kept by `sudo -E`) counts as unset. */
export function runtimeBase(env: NodeJS.ProcessEnv = process.env, uid = currentUid()): string {
  const xdg = env.XDG_RUNTIME_DIR;
  const parent = xdg?.startsWith('/') && ownerOf(xdg, uid) === uid ? xdg : '/tmp';
  return join(parent, `kinject-${uid}`);
}

/** The owner of `path`, or `fallback` when it does not exist (yet). */
function ownerOf(path: string, fallback: number): number {
  try {
    return statSync(path).uid;
  } catch {
    return fallback;
  }
}

/** Creates (if needed) and checks a private directory owned by the user; refuses anything else. */
export function ensurePrivateDir(dir: string, uid = currentUid()): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (st.uid !== uid) throw new Error(`${dir} belongs to uid ${st.uid}, not to you (uid ${uid}): remove it or set XDG_RUNTIME_DIR`);
  if ((st.mode & 0o077) !== 0) throw new Error(`${dir} is accessible by other users (mode ${(st.mode & 0o777).toString(8)}): chmod 700 it`);
  return dir;
}

/** The default local mount root of a session: `${XDG_RUNTIME_DIR:-/tmp}/kinject-<uid>/<session>`. */
export function defaultMountDir(session: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!/^[A-Za-z0-9._-]+$/.test(session) || session.startsWith('.')) throw new Error(`bad session name ${JSON.stringify(session)}`);
  return join(runtimeBase(env), session);
}

export interface MountRecord {
  /** The kinject process that made the mount. */
  pid: number;
  /** The sshfs process serving it. */
  sshfsPid?: number;
  mountDir: string;
  createdAt: string;
}

const recordsDir = (env: NodeJS.ProcessEnv) => join(runtimeBase(env), '.mounts');
const recordKey = (mountDir: string) => createHash('sha256').update(mountDir).digest('hex').slice(0, 20);

/** The record file of the mount at mountDir. */
export function mountRecordPath(mountDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(recordsDir(env), `${recordKey(mountDir)}.json`);
}

export function writeMountRecord(record: MountRecord, env: NodeJS.ProcessEnv = process.env): string {
  ensurePrivateDir(runtimeBase(env));
  const dir = ensurePrivateDir(recordsDir(env));
  const file = join(dir, `${recordKey(record.mountDir)}.json`);
  writeFileSync(file, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  return file;
}

export function readMountRecord(mountDir: string, env: NodeJS.ProcessEnv = process.env): MountRecord | undefined {
  try {
    const rec = JSON.parse(readFileSync(join(recordsDir(env), `${recordKey(mountDir)}.json`), 'utf8')) as MountRecord;
    return rec && rec.mountDir === mountDir && Number.isInteger(rec.pid) ? rec : undefined;
  } catch {
    return undefined;
  }
}

export function removeMountRecord(mountDir: string, env: NodeJS.ProcessEnv = process.env): void {
  rmSync(join(recordsDir(env), `${recordKey(mountDir)}.json`), { force: true });
}

/** All records (including ones whose mount is already gone). */
export function listMountRecords(env: NodeJS.ProcessEnv = process.env): MountRecord[] {
  let names: string[];
  try {
    names = readdirSync(recordsDir(env));
  } catch {
    return [];
  }
  const out: MountRecord[] = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    try {
      const rec = JSON.parse(readFileSync(join(recordsDir(env), name), 'utf8')) as MountRecord;
      if (rec && typeof rec.mountDir === 'string') out.push(rec);
    } catch {
      /* ignore a torn record */
    }
  }
  return out;
}

export function processAlive(pid: number | undefined): boolean {
  if (!pid || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Where sessions find the inspection server: ${XDG_RUNTIME_DIR:-/tmp}/kinject-<uid>/inspect.json
// (0600 in the 0700 runtime directory) holds its pid, port and the per-user secret sessions send
// with their events. inspect.lock (created exclusively) makes sure one server runs per user.
import { openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { writePrivateFileAtomically } from '../util/write-private.js';
import { join } from 'node:path';
import { ensurePrivateDir, processAlive, runtimeBase } from '../volumes/state.js';

export interface ServerFile {
  pid: number;
  port: number;
  secret: string;
  url: string;
}

export function serverFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(runtimeBase(env), 'inspect.json');
}

/** the running server's file, if its process lives */
export function readServerFile(env: NodeJS.ProcessEnv = process.env): ServerFile | undefined {
  try {
    const file = JSON.parse(readFileSync(serverFilePath(env), 'utf8')) as ServerFile;
    return processAlive(file.pid) ? file : undefined;
  } catch {
    return undefined;
  }
}

export function writeServerFile(file: ServerFile, env: NodeJS.ProcessEnv = process.env): void {
  const path = serverFilePath(env);
  ensurePrivateDir(runtimeBase(env));
  writePrivateFileAtomically(path, `${JSON.stringify(file)}\n`);
}

/** Takes the one-server lock; false when another live server holds it. */
export function takeServerLock(env: NodeJS.ProcessEnv = process.env): boolean {
  const lock = join(ensurePrivateDir(runtimeBase(env)), 'inspect.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder = 0;
      try {
        holder = Number(readFileSync(lock, 'utf8'));
      } catch {}
      if (processAlive(holder)) return false;
      rmSync(lock, { force: true });
    }
  }
  return false;
}

/** Removes the file and the lock, if they are this process's. */
export function releaseServer(env: NodeJS.ProcessEnv = process.env): void {
  const base = runtimeBase(env);
  try {
    if (Number(readFileSync(join(base, 'inspect.lock'), 'utf8')) !== process.pid) return;
  } catch {
    return;
  }
  if (readServerFile(env)?.pid === process.pid) rmSync(serverFilePath(env), { force: true });
  rmSync(join(base, 'inspect.lock'), { force: true });
}

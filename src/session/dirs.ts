// Private per-run directories under ${XDG_RUNTIME_DIR:-/tmp}/kinject-<uid>/, named
// .<kind>-<pid>-<tag> (0700): the session's SSH keys (.keys-, volumes/keys.ts) and the shim's
// warning marks (.warn-, child/warn-dir.ts). Each run removes its own at exit; `kinject cleanup` removes
// those of kinject processes that are gone (SIGKILL).
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir, processAlive, runtimeBase } from '../volumes/state.js';

const NAME = /^\.(keys|warn)-(\d+)-[a-z0-9-]+$/i;

/** Makes .<kind>-<this pid>-<tag> (0700) under the runtime base; returns its path. */
export function makeSessionDir(kind: 'keys' | 'warn', tag: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!/^[a-z0-9-]+$/i.test(tag)) throw new Error(`bad session id ${JSON.stringify(tag)}`);
  const base = ensurePrivateDir(runtimeBase(env));
  const dir = join(base, `.${kind}-${process.pid}-${tag}`);
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

/** Removes the session directories of kinject processes that are no longer running; returns them. */
export function removeStaleSessionDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const base = runtimeBase(env);
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = NAME.exec(name);
    if (!m || processAlive(Number(m[2]))) continue;
    rmSync(join(base, name), { recursive: true, force: true });
    removed.push(join(base, name));
  }
  return removed;
}

// The directory where the shim marks the warnings it has shown (KINJECT_WARN_DIR, native/exec.c):
// "PATH is a Go binary: its network calls bypass kinject" comes once per binary for the whole
// process tree of a run, not once per process (a script that runs a Go tool 100 times warns once).
// One empty file per binary warned about; removed with the directory when the run ends.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { makeSessionDir } from '../session/dirs.js';

export interface WarnDir {
  path: string;
  /** idempotent, never throws */
  remove(): void;
}

/** A fresh marks directory, or undefined when none can be made (the shim then warns per process). */
export function makeWarnDir(env: NodeJS.ProcessEnv = process.env): WarnDir | undefined {
  try {
    const path = makeSessionDir('warn', randomBytes(4).toString('hex'), env);
    return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
  } catch {
    return undefined;
  }
}

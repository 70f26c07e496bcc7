// A PATH that has every program of the current PATH but one: a directory of symlinks to them,
// made in `dir`. Tests use it to run kinject without a tool it would use (e.g. setpriv).
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

export function pathWithout(name, dir) {
  mkdirSync(dir, { recursive: true });
  for (const from of process.env.PATH.split(':').filter(Boolean)) {
    let names = [];
    try {
      names = readdirSync(from);
    } catch {
      continue;
    }
    for (const n of names) {
      if (n === name || existsSync(join(dir, n))) continue;
      try {
        symlinkSync(join(from, n), join(dir, n));
      } catch {
        /* a dangling or duplicate name */
      }
    }
  }
  return dir;
}

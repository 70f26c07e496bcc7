// The sh syntax: `export KEY='value'` lines for a POSIX shell (`. FILE`, or `set -a; . FILE`) —
// checked with bash and dash. Inside '...' every byte is literal, newlines too; a ' is written
// '\'' (close, escaped quote, reopen). Every value fits; keys must be shell variable names.
import type { Env } from '../kube/env.js';
import { writeEntries, type Entry, type EnvFileText } from './lines.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function entry(key: string, value: string): Entry {
  if (!NAME.test(key)) return { notWritten: 'not a shell variable name' };
  return { text: `export ${key}='${value.replace(/'/g, `'\\''`)}'` };
}

export function toSh(env: Env): EnvFileText {
  return writeEntries(env, entry);
}

// The compose syntax: docker compose's `env_file:` (compose-go's dotenv parser, checked in the
// tests against that parser built from its Go module). '...' is literal except that \' is a quote
// (so a value with ' or ending in \ cannot be single-quoted); "..." decodes \\ \" \$ \n \r \t
// (and \a \b \f \v \0NNN) and then expands $NAME and ${NAME} ($$ is a $). Every value fits one:
// '...' when it has no ' and does not end in \, else "..." with \ " $ LF CR escaped. Keys are
// letters, digits and _ . - [ ] (compose refuses the whole file on any other key character).
import type { Env } from '../kube/env.js';
import { writeEntries, type Entry, type EnvFileText } from './lines.js';

const KEY = /^[A-Za-z0-9_.[\]-]+$/;

/** The quoted form of `value` that compose reads back unchanged. */
export function quoteCompose(value: string): string {
  if (!value.includes("'") && !value.endsWith('\\')) return `'${value}'`;
  const escaped = value.replace(/[\\"$\n\r]/g, (c) => ({ '\\': '\\\\', '"': '\\"', $: '\\$', '\n': '\\n', '\r': '\\r' })[c]!);
  return `"${escaped}"`;
}

function entry(key: string, value: string): Entry {
  if (!KEY.test(key)) return { notWritten: 'compose keys are letters, digits, _ . - [ and ] only' };
  return { text: `${key}=${quoteCompose(value)}` };
}

export function toCompose(env: Env): EnvFileText {
  return writeEntries(env, entry);
}

// The dotenv syntax: written so that the npm `dotenv` package (v16, v17, v18, and v18's fast
// parser) reads every value back byte for byte. Its parser (lib/main.js) turns CR LF and CR into
// LF first, then takes a value in '...', `...` or "..." literally up to the first matching quote
// that ends the line (\Q does not end it; the match may run over lines); failing that, the rest
// of the line up to a #, with one pair of matching outer quotes removed. In "..." it then turns
// only the two-character sequences \n and \r into LF and CR. So per value, the first that fits:
//   1. '...'  no ', no \, no CR (python-dotenv reads it the same too)
//   2. "..."  no ", no \; LF and CR written \n \r (python-dotenv reads it the same too)
//   3. '...', "..." (no \n or \r sequence) or `...` holding no such quote, no CR (but in "..."),
//      and not ending in \
//   4. '...', `...` or "..." holding that quote, on one line (LF and CR only in "...", as \n
//      \r), no #, no quote followed by spaces and U+2028/9, and not ending in \ unless some
//      inner quote has no \ before it: the quoted match fails at an inner quote and the
//      fallback keeps it
//   5. unquoted: one line, no #, no space at either end, not starting with a quote (C:\dir\)
// A value none fits (e.g. all three quote kinds and a #) becomes a comment. Keys must match
// dotenv's [\w.-]+. python-dotenv also expands ${NAME} in every value and decodes \\ and \' (and
// more in "..."), so it reads the same value only when the value has no \, no ${, and no " along
// with a ' or a CR (README: Env files).
import type { Env } from '../kube/env.js';
import { writeEntries, type Entry, type EnvFileText } from './lines.js';

const KEY = /^[\w.-]+$/;

function escapeNewlines(v: string): string {
  return v.replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** Form 4 above: `value` quoted with `q` although it holds `q`, read back by dotenv's fallback. */
function quoteHolding(value: string, q: string): string | undefined {
  if (!value.includes(q) || value.includes('#')) return undefined;
  if (q === '"' ? /\\[nr]/.test(value) : /[\n\r]/.test(value)) return undefined;
  const body = q === '"' ? escapeNewlines(value) : value;
  if (new RegExp(`${q}\\s*[\u2028\u2029]`).test(body)) return undefined;
  if (body.endsWith('\\') && !new RegExp(`(^|[^\\\\])${q}`).test(body)) return undefined;
  return q + body + q;
}

/** The quoted form of `value` that npm dotenv reads back unchanged, or undefined when none does. */
export function quoteDotenv(value: string): string | undefined {
  const has = (s: string) => value.includes(s);
  if (!has("'") && !has('\\') && !has('\r')) return `'${value}'`;
  if (!has('"') && !has('\\')) return `"${escapeNewlines(value)}"`;
  if (!value.endsWith('\\')) {
    if (!has("'") && !has('\r')) return `'${value}'`;
    if (!has('"') && !/\\[nr]/.test(value)) return `"${escapeNewlines(value)}"`;
    if (!has('`') && !has('\r')) return `\`${value}\``;
  }
  for (const q of ["'", '`', '"']) {
    const quoted = quoteHolding(value, q);
    if (quoted !== undefined) return quoted;
  }
  if (/^[^'"`#\s][^#\n\r]*$/.test(value) && value.trim() === value) return value;
  return undefined;
}

function entry(key: string, value: string): Entry {
  if (!KEY.test(key)) return { notWritten: 'dotenv keys are letters, digits, _ . and - only' };
  const quoted = quoteDotenv(value);
  if (quoted === undefined) return { notWritten: 'no dotenv quoting carries its value exactly' };
  return { text: `${key}=${quoted}` };
}

export function toDotenv(env: Env): EnvFileText {
  return writeEntries(env, entry);
}

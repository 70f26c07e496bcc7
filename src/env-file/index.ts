// Env files: the workload's env written in one of the syntaxes of --env-syntax (--env-file) and
// `kinject env --format`, like Telepresence 2's --env-syntax. One file per syntax; each says
// what it can and cannot carry. A variable a syntax cannot carry exactly is a comment in the
// file and named in one warning line (skippedWarning), never written changed.
import type { Env } from '../kube/env.js';
import { KinjectError } from '../errors.js';
import type { EnvFileText } from './lines.js';
import { ENV_SYNTAXES, type EnvSyntax } from './syntaxes.js';
import { toDotenv } from './dotenv.js';
import { toCompose } from './compose.js';
import { toSh } from './sh.js';
import { toJson } from './json.js';

export type { EnvFileText } from './lines.js';
export { toDotenv, quoteDotenv } from './dotenv.js';
export { toCompose, quoteCompose } from './compose.js';
export { toSh } from './sh.js';
export { toJson } from './json.js';

export { ENV_SYNTAXES, type EnvSyntax } from './syntaxes.js';

const WRITERS: Record<EnvSyntax, (env: Env) => EnvFileText> = { dotenv: toDotenv, compose: toCompose, sh: toSh, json: toJson };

export function formatEnvFile(env: Env, syntax: EnvSyntax): EnvFileText {
  const writer = WRITERS[syntax];
  if (!writer) throw new KinjectError(`unknown env syntax "${String(syntax)}"; use ${ENV_SYNTAXES.join(', ')}`);
  return writer(env);
}

/**
 * One warning line naming the variables `where` (e.g. "--env-file x.env") could not carry, or
 * undefined; `carriesAll` names what does carry them (--env-json, --format json).
 */
export function skippedWarning(text: EnvFileText, syntax: EnvSyntax, where: string, carriesAll = '--env-json'): string | undefined {
  const n = text.skipped.length;
  if (!n) return undefined;
  const [count, them, are] = n === 1 ? ['1 variable', 'it', 'it is written as a comment'] : [`${n} variables`, 'them', 'they are written as comments'];
  return `warning: ${where}: ${count} not written (the ${syntax} syntax cannot carry ${them} exactly; ${are}, ${carriesAll} carries everything): ${text.skipped.join(', ')}`;
}

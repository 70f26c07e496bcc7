// The workload's environment: fetchPodEnv() asks the proxy pod for its process env with
// kinject's ENV command (protocol/commands.ts); workloadEnv() drops what
// the proxy image and the runtime add rather than the workload; toDotenv/toJson/toSh write it out
// (parseDotenv reads the dotenv form back; values with newlines and quotes round-trip).

import type { Duplex } from 'node:stream';
import type { V1Container } from '@kubernetes/client-node';
import { REPLY, StreamReader, clientRequest } from '../../protocol/socks5/index.js';
import { CMD_ENV, ENV_HOST, EnvPayloadError, decodeEnvJson, parseEnvPayload } from '../../protocol/commands.js';
import { KinjectError } from '../errors.js';
import { RENAMED_ENV, RENAMED_ENV_PREFIX } from './proxy-job.js';

export type Env = Record<string, string>;

/**
 * Reads the proxy container's process env over `stream` (an upstream stream already past the
 * SOCKS greeting and auth, e.g. a channel of the pod tunnel). Consumes the stream: it is ended after.
 */
export async function fetchPodEnv(stream: Duplex, options: { timeoutMs?: number } = {}): Promise<Env> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  try {
    const reply = await clientRequest(stream, CMD_ENV, { type: 'domain', host: ENV_HOST, port: 0 }, { timeoutMs });
    if (reply.reply !== REPLY.SUCCEEDED) {
      const why = reply.reply === REPLY.COMMAND_NOT_SUPPORTED ? 'it does not support the env command (update the proxy pod bundle)' : `reply code ${reply.reply}`;
      throw new KinjectError(`cannot read the environment from the proxy pod: ${why}`);
    }
    const reader = new StreamReader(stream);
    let payload: Buffer;
    try {
      payload = await reader.read((buf) => parseEnvPayload(buf), { timeoutMs });
    } finally {
      reader.release();
    }
    return decodeEnvJson(payload);
  } catch (err) {
    if (err instanceof KinjectError) throw err;
    if (err instanceof EnvPayloadError) throw new KinjectError(`the proxy pod sent ${err.message}`);
    throw new KinjectError(`cannot read the environment from the proxy pod: ${(err as Error).message}`, { cause: err });
  } finally {
    stream.end();
    stream.destroy();
  }
}

/** Variables the proxy image or the container runtime sets, not the workload. */
export const NOT_WORKLOAD_ENV = ['PATH', 'HOME', 'HOSTNAME', 'NODE_VERSION', 'YARN_VERSION', 'TERM'] as const;

/**
 * The workload's view of the env: drops KINJECT_* and NOT_WORKLOAD_ENV unless `container` (the
 * workload's original container spec) names them in `env`; KINJECT_ENV_<NAME> entries (renamed in
 * the proxy container, see proxy-job.ts) get their names back. Keys come out sorted.
 */
export function workloadEnv(podEnv: Env, container?: Pick<V1Container, 'env'>): Env {
  const explicit = new Set((container?.env ?? []).map((e) => e.name));
  const out: Env = {};
  // names renamed in the proxy container win over what the proxy image sets under the real name
  for (const name of RENAMED_ENV) {
    const v = podEnv[RENAMED_ENV_PREFIX + name];
    if (v !== undefined) out[name] = v;
  }
  for (const [key, value] of Object.entries(podEnv)) {
    if (key in out) continue;
    if (key.startsWith('KINJECT_')) continue;
    if ((NOT_WORKLOAD_ENV as readonly string[]).includes(key) && !explicit.has(key)) continue;
    out[key] = value;
  }
  return sortEnv(out);
}

function sortEnv(env: Env): Env {
  const out: Env = {};
  for (const k of Object.keys(env).sort()) out[k] = env[k]!;
  return out;
}

const DOTENV_KEY = /^[^\s=#"']+$/;
const SH_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function dotenvEscape(v: string): string {
  return v.replace(/[\\"\n\r\t]/g, (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!);
}

/**
 * KEY="value" lines; backslash, double quote, newline, CR and tab are escaped (\\ \" \n \r \t),
 * which python-dotenv, docker compose and parseDotenv() read back. Keys that cannot appear in a
 * dotenv file become a comment.
 */
export function toDotenv(env: Env): string {
  return Object.keys(env).sort().map((k) =>
    DOTENV_KEY.test(k) ? `${k}="${dotenvEscape(env[k]!)}"` : `# skipped ${JSON.stringify(k)}: not a valid dotenv key`,
  ).join('\n') + (Object.keys(env).length ? '\n' : '');
}

/** Reads what toDotenv writes (plus unquoted and single-quoted values, comments, `export `). */
export function parseDotenv(text: string): Env {
  const env: Env = {};
  let i = 0;
  const n = text.length;
  while (i < n) {
    // skip blank space and comment lines
    while (i < n && /\s/.test(text[i]!)) i++;
    if (i >= n) break;
    if (text[i] === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    const eq = text.indexOf('=', i);
    const nl = text.indexOf('\n', i);
    if (eq < 0 || (nl >= 0 && nl < eq)) {
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    let key = text.slice(i, eq).trim();
    if (key.startsWith('export ')) key = key.slice(7).trim();
    i = eq + 1;
    let value = '';
    if (text[i] === '"') {
      i++;
      while (i < n && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < n) {
          const c = text[i + 1]!;
          value += ({ n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"' } as Record<string, string>)[c] ?? '\\' + c;
          i += 2;
        } else {
          value += text[i++];
        }
      }
      i++;
      while (i < n && text[i] !== '\n') i++;
    } else if (text[i] === "'") {
      const end = text.indexOf("'", i + 1);
      value = text.slice(i + 1, end < 0 ? n : end);
      i = end < 0 ? n : end + 1;
      while (i < n && text[i] !== '\n') i++;
    } else {
      const end = nl < 0 ? n : nl;
      value = text.slice(i, end).replace(/\s+#.*$/, '').trim();
      i = end;
    }
    if (key) env[key] = value;
  }
  return env;
}

/** Pretty JSON object, keys sorted. */
export function toJson(env: Env): string {
  return JSON.stringify(sortEnv(env), null, 2) + '\n';
}

/** POSIX sh: `export KEY='value'` lines (a ' inside becomes '\''); newlines stay literal inside the quotes. */
export function toSh(env: Env): string {
  return Object.keys(env).sort().map((k) =>
    SH_NAME.test(k)
      ? `export ${k}='${env[k]!.replace(/'/g, `'\\''`)}'`
      : `# skipped ${JSON.stringify(k)}: not a valid shell variable name`,
  ).join('\n') + (Object.keys(env).length ? '\n' : '');
}

export type EnvFormat = 'dotenv' | 'json' | 'sh';

export function formatEnv(env: Env, format: EnvFormat): string {
  switch (format) {
    case 'dotenv': return toDotenv(env);
    case 'json': return toJson(env);
    case 'sh': return toSh(env);
    default: throw new KinjectError(`unknown env format "${String(format)}"; use dotenv, json or sh`);
  }
}

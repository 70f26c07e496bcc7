// The workload's environment: fetchPodEnv() asks the proxy pod for its process env with
// kinject's ENV command (protocol/commands.ts); workloadEnv() drops what the proxy image and the
// runtime add rather than the workload. src/env-file/ writes it out.

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
      const why =
        reply.reply === REPLY.COMMAND_NOT_SUPPORTED ? 'it does not support the env command (update the proxy pod bundle)' : `reply code ${reply.reply}`;
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

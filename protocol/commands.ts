// kinject's own SOCKS5 request commands (docs/design.md "SOCKS5 as kinject speaks it"), each with
// the ATYP 3 host it is sent with (port 0) and its payload codec. Written once, spoken by the
// runner (src/kube/env.ts, src/tunnel/pod-tunnel.ts) and the pod server (proxy-pod/client.ts).
//   ENV 0xF2        reply 0, then the pod server's process env: a 4-byte big-endian length and
//                   that many bytes of JSON (an object of strings); then the server closes
//   HEARTBEAT 0xF3  reply 0, then every byte the client sends is echoed (proxy-pod/heartbeat.ts)
//   MUX 0xF4        reply 0, then the stream carries mux frames (protocol/mux/)
import type { Parsed } from './socks5/parsed.js';

export const CMD_ENV = 0xf2;
export const CMD_HEARTBEAT = 0xf3;
export const CMD_MUX = 0xf4;

/** The request's destination host for each command (ATYP 3, port 0). */
export const ENV_HOST = 'env';
export const HEARTBEAT_HOST = 'heartbeat';
export const MUX_HOST = 'mux';

/** The largest ENV payload a client accepts. */
export const MAX_ENV_BYTES = 16 * 1024 * 1024;

/** Name of one of kinject's commands, or undefined for any other byte. */
export function kinjectCommandName(cmd: number): string | undefined {
  switch (cmd) {
    case CMD_ENV:
      return 'ENV';
    case CMD_HEARTBEAT:
      return 'HEARTBEAT';
    case CMD_MUX:
      return 'MUX';
    default:
      return undefined;
  }
}

/** A bad ENV payload; the message reads after "the proxy pod sent ". */
export class EnvPayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvPayloadError';
  }
}

/** ENV's payload for `env` (the pod server's process.env; entries that are not strings are left out). */
export function encodeEnvPayload(env: NodeJS.ProcessEnv): Buffer {
  const strings: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (typeof value === 'string') strings[key] = value;
  }
  const json = Buffer.from(JSON.stringify(strings), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length, 0);
  return Buffer.concat([length, json]);
}

/** Cuts one ENV payload (length + JSON bytes) off `buf`, for StreamReader.read; null = not all there yet. */
export function parseEnvPayload(buf: Buffer, maxBytes = MAX_ENV_BYTES): Parsed<Buffer> {
  if (buf.length < 4) return null;
  const len = buf.readUInt32BE(0);
  if (len > maxBytes) throw new EnvPayloadError(`an environment of ${len} bytes (limit ${maxBytes})`);
  if (buf.length < 4 + len) return null;
  return { value: Buffer.from(buf.subarray(4, 4 + len)), consumed: 4 + len };
}

/** The JSON bytes of an ENV payload as an object of strings (other values are left out). */
export function decodeEnvJson(json: Buffer): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.toString('utf8'));
  } catch (err) {
    throw new EnvPayloadError(`an environment that is not valid JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new EnvPayloadError('an environment that is not a JSON object');
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof v === 'string') env[k] = v;
  }
  return env;
}

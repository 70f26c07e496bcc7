// Mapping between Node errors and SOCKS5 reply codes (docs/design.md "Pod server reply codes"),
// plus human-readable texts for reply codes and for errors in log lines.

import { REPLY } from './constants.js';

const MESSAGES: Record<number, string> = {
  [REPLY.SUCCEEDED]: 'succeeded',
  [REPLY.GENERAL_FAILURE]: 'general SOCKS server failure',
  [REPLY.NOT_ALLOWED]: 'connection not allowed by ruleset',
  [REPLY.NETWORK_UNREACHABLE]: 'network unreachable',
  [REPLY.HOST_UNREACHABLE]: 'host unreachable',
  [REPLY.CONNECTION_REFUSED]: 'connection refused',
  [REPLY.TTL_EXPIRED]: 'TTL expired',
  [REPLY.COMMAND_NOT_SUPPORTED]: 'command not supported',
  [REPLY.ADDRESS_TYPE_NOT_SUPPORTED]: 'address type not supported',
};

/** Text for a reply code, e.g. 5 -> "connection refused". */
export function replyMessage(code: number): string {
  return MESSAGES[code] ?? `unknown reply code ${code}`;
}

/** The error code of a Node error; for an AggregateError (happy eyeballs) the most telling inner one. */
export function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; errors?: unknown } | null;
  if (!e || typeof e !== 'object') return undefined;
  if (typeof e.code === 'string') return e.code;
  if (Array.isArray(e.errors)) {
    const codes = e.errors.map(errorCode).filter((c): c is string => typeof c === 'string');
    // prefer a code that maps to something more specific than "general failure"
    return codes.find((c) => CODE_TO_REPLY[c] !== undefined && c !== 'ETIMEDOUT') ?? codes[0];
  }
  return undefined;
}

const CODE_TO_REPLY: Record<string, number> = {
  ENOTFOUND: REPLY.HOST_UNREACHABLE,
  EAI_NONAME: REPLY.HOST_UNREACHABLE,
  EAI_NODATA: REPLY.HOST_UNREACHABLE,
  ENODATA: REPLY.HOST_UNREACHABLE,
  EHOSTUNREACH: REPLY.HOST_UNREACHABLE,
  EHOSTDOWN: REPLY.HOST_UNREACHABLE,
  ECONNREFUSED: REPLY.CONNECTION_REFUSED,
  ENETUNREACH: REPLY.NETWORK_UNREACHABLE,
  ENETDOWN: REPLY.NETWORK_UNREACHABLE,
  ETIMEDOUT: REPLY.TTL_EXPIRED,
  ESOCKS5_TIMEOUT: REPLY.TTL_EXPIRED,
};

/** SOCKS reply code for a failed connect / lookup; anything unrecognised is 1 (general failure). */
export function replyCodeForError(err: unknown): number {
  const code = errorCode(err);
  return (code !== undefined && CODE_TO_REPLY[code]) || REPLY.GENERAL_FAILURE;
}

const DESCRIPTIONS: Record<string, string> = {
  ENOTFOUND: 'host not found',
  EAI_NONAME: 'host not found',
  EAI_NODATA: 'host has no address',
  ENODATA: 'host has no address',
  EAI_AGAIN: 'temporary name resolution failure',
  EAI_FAIL: 'name resolution failed',
  EHOSTUNREACH: 'host unreachable',
  EHOSTDOWN: 'host is down',
  ECONNREFUSED: 'connection refused',
  ENETUNREACH: 'network unreachable',
  ENETDOWN: 'network is down',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset',
  EADDRNOTAVAIL: 'address not available',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
};

/** Short text for a log line, e.g. "host not found (ENOTFOUND)". */
export function describeError(err: unknown): string {
  const code = errorCode(err);
  if (code && DESCRIPTIONS[code]) return `${DESCRIPTIONS[code]} (${code})`;
  const message = err instanceof Error ? err.message : String(err);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

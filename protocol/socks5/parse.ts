// Incremental parsers for every SOCKS5 / RFC 1929 message (pure, no I/O). Each takes the bytes
// buffered so far and returns { value, consumed } or null ("need more bytes"); malformed input
// throws a Socks5Error with code ESOCKS5_PROTOCOL (and a replyCode when a server should answer).

import { decodeAddress, type Destination } from './address.js';
import { AUTH_VERSION, REPLY, SOCKS_VERSION } from './constants.js';
import { protocolError } from './errors.js';
import type { Parsed } from './parsed.js';

export interface Greeting {
  methods: number[];
}
export interface MethodChoice {
  method: number;
}
export interface AuthRequest {
  username: string;
  password: string;
}
export interface AuthReply {
  status: number;
}
export interface Request {
  command: number;
  destination: Destination;
}
export interface Reply {
  reply: number;
  bound: Destination;
}

function checkVersion(got: number, want: number, what: string): void {
  if (got !== want) {
    throw protocolError(`${what}: unsupported version 0x${got.toString(16).padStart(2, '0')} (expected 0x0${want})`);
  }
}

/** VER NMETHODS METHODS... (client -> server). */
export function parseGreeting(buf: Buffer): Parsed<Greeting> {
  if (buf.length < 1) return null;
  checkVersion(buf[0]!, SOCKS_VERSION, 'greeting');
  if (buf.length < 2) return null;
  const n = buf[1]!;
  if (buf.length < 2 + n) return null;
  return { value: { methods: [...buf.subarray(2, 2 + n)] }, consumed: 2 + n };
}

/** VER METHOD (server -> client). */
export function parseMethodChoice(buf: Buffer): Parsed<MethodChoice> {
  if (buf.length < 1) return null;
  checkVersion(buf[0]!, SOCKS_VERSION, 'method choice');
  if (buf.length < 2) return null;
  return { value: { method: buf[1]! }, consumed: 2 };
}

/** VER ULEN UNAME PLEN PASSWD (RFC 1929, client -> server). */
export function parseAuthRequest(buf: Buffer): Parsed<AuthRequest> {
  if (buf.length < 1) return null;
  checkVersion(buf[0]!, AUTH_VERSION, 'auth request');
  if (buf.length < 2) return null;
  const ulen = buf[1]!;
  if (buf.length < 2 + ulen + 1) return null;
  const plen = buf[2 + ulen]!;
  const end = 3 + ulen + plen;
  if (buf.length < end) return null;
  return {
    value: {
      username: buf.subarray(2, 2 + ulen).toString('utf8'),
      password: buf.subarray(3 + ulen, end).toString('utf8'),
    },
    consumed: end,
  };
}

/** VER STATUS (RFC 1929, server -> client). Version 0x05 is accepted too (some servers send it). */
export function parseAuthReply(buf: Buffer): Parsed<AuthReply> {
  if (buf.length < 1) return null;
  if (buf[0] !== AUTH_VERSION && buf[0] !== SOCKS_VERSION) checkVersion(buf[0]!, AUTH_VERSION, 'auth reply');
  if (buf.length < 2) return null;
  return { value: { status: buf[1]! }, consumed: 2 };
}

/**
 * VER CMD RSV ATYP DST.ADDR DST.PORT (client -> server). Any command byte is returned (the server
 * decides whether it supports it); an unknown ATYP throws with replyCode 8. RSV is ignored.
 */
export function parseRequest(buf: Buffer): Parsed<Request> {
  if (buf.length < 1) return null;
  checkVersion(buf[0]!, SOCKS_VERSION, 'request');
  if (buf.length < 4) return null;
  const addr = decodeAddress(buf, 3);
  if (!addr) return null;
  return { value: { command: buf[1]!, destination: addr.value }, consumed: 3 + addr.consumed };
}

/** VER REP RSV ATYP BND.ADDR BND.PORT (server -> client). */
export function parseReply(buf: Buffer): Parsed<Reply> {
  if (buf.length < 1) return null;
  checkVersion(buf[0]!, SOCKS_VERSION, 'reply');
  if (buf.length < 4) return null;
  let addr: ReturnType<typeof decodeAddress>;
  try {
    addr = decodeAddress(buf, 3);
  } catch (err) {
    // In a reply the ATYP problem is the server's, not an instruction for us to answer 8.
    throw protocolError(`reply: ${(err as Error).message}`);
  }
  if (!addr) return null;
  return { value: { reply: buf[1]!, bound: addr.value }, consumed: 3 + addr.consumed };
}

/** True when a reply code means success. */
export function isSuccess(reply: Reply): boolean {
  return reply.reply === REPLY.SUCCEEDED;
}

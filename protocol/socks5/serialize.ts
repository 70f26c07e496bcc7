// Serializers for every SOCKS5 / RFC 1929 message (pure, no I/O). Values that cannot be
// encoded throw a Socks5Error with code ESOCKS5_INVALID.

import { encodeAddress, UNSPECIFIED_DESTINATION, type Destination } from './address.js';
import { AUTH_VERSION, SOCKS_VERSION } from './constants.js';
import { invalidError } from './errors.js';

function checkByte(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) throw invalidError(`${what} must be a byte: ${value}`);
}

/** VER NMETHODS METHODS... */
export function serializeGreeting(methods: readonly number[]): Buffer {
  if (methods.length < 1 || methods.length > 255) throw invalidError('a greeting offers 1..255 methods');
  for (const m of methods) checkByte(m, 'method');
  return Buffer.from([SOCKS_VERSION, methods.length, ...methods]);
}

/** VER METHOD */
export function serializeMethodChoice(method: number): Buffer {
  checkByte(method, 'method');
  return Buffer.from([SOCKS_VERSION, method]);
}

/** VER ULEN UNAME PLEN PASSWD (RFC 1929). Both fields must be 1..255 bytes (UTF-8). */
export function serializeAuthRequest(username: string, password: string): Buffer {
  const u = Buffer.from(username, 'utf8');
  const p = Buffer.from(password, 'utf8');
  if (u.length < 1 || u.length > 255) throw invalidError('username must be 1..255 bytes');
  if (p.length < 1 || p.length > 255) throw invalidError('password must be 1..255 bytes');
  return Buffer.concat([Buffer.from([AUTH_VERSION, u.length]), u, Buffer.from([p.length]), p]);
}

/** VER STATUS (RFC 1929): 0 success, anything else failure. */
export function serializeAuthReply(status: number): Buffer {
  checkByte(status, 'status');
  return Buffer.from([AUTH_VERSION, status]);
}

/** VER CMD RSV ATYP DST.ADDR DST.PORT */
export function serializeRequest(command: number, destination: Destination): Buffer {
  checkByte(command, 'command');
  return Buffer.concat([Buffer.from([SOCKS_VERSION, command, 0x00]), encodeAddress(destination)]);
}

/** VER REP RSV ATYP BND.ADDR BND.PORT; `bound` defaults to 0.0.0.0:0. */
export function serializeReply(reply: number, bound: Destination = UNSPECIFIED_DESTINATION): Buffer {
  checkByte(reply, 'reply');
  return Buffer.concat([Buffer.from([SOCKS_VERSION, reply, 0x00]), encodeAddress(bound)]);
}

// SOCKS5 destinations: the { type, host, port } shape, and the ATYP+ADDR+PORT wire encoding
// shared by requests and replies (pure, no I/O).

import { isIPv4, isIPv6 } from 'node:net';
import { ATYP } from './constants.js';
import { invalidError, protocolError } from './errors.js';
import { bytesToIpv4, bytesToIpv6, ipv4ToBytes, ipv6ToBytes } from './ip.js';
import type { Parsed } from './parsed.js';

export type DestinationType = 'ipv4' | 'ipv6' | 'domain';

export interface Destination {
  type: DestinationType;
  host: string;
  port: number;
}

/** Builds a destination from a host string, detecting IP literals (a `[v6]` form is accepted). */
export function toDestination(host: string, port: number): Destination {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIPv4(bare)) return { type: 'ipv4', host: bare, port };
  if (isIPv6(bare)) return { type: 'ipv6', host: bare, port };
  return { type: 'domain', host, port };
}

/** `host:port`, with brackets around IPv6 literals. */
export function formatDestination(dest: Destination): string {
  return dest.type === 'ipv6' ? `[${dest.host}]:${dest.port}` : `${dest.host}:${dest.port}`;
}

/** The all-zero IPv4 address, used as BND.ADDR in failure replies. */
export const UNSPECIFIED_DESTINATION: Readonly<Destination> = Object.freeze({ type: 'ipv4', host: '0.0.0.0', port: 0 });

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw invalidError(`invalid port: ${port}`);
}

/** ATYP + ADDR + PORT. */
export function encodeAddress(dest: Destination): Buffer {
  checkPort(dest.port);
  let head: Buffer;
  switch (dest.type) {
    case 'ipv4':
      head = Buffer.concat([Buffer.from([ATYP.IPV4]), ipv4ToBytes(dest.host)]);
      break;
    case 'ipv6':
      head = Buffer.concat([Buffer.from([ATYP.IPV6]), ipv6ToBytes(dest.host)]);
      break;
    case 'domain': {
      const name = Buffer.from(dest.host, 'utf8');
      if (name.length < 1 || name.length > 255) throw invalidError(`domain name must be 1..255 bytes: ${JSON.stringify(dest.host)}`);
      head = Buffer.concat([Buffer.from([ATYP.DOMAIN, name.length]), name]);
      break;
    }
    default:
      throw invalidError(`unknown destination type: ${String((dest as Destination).type)}`);
  }
  const port = Buffer.alloc(2);
  port.writeUInt16BE(dest.port, 0);
  return Buffer.concat([head, port]);
}

/**
 * Decodes ATYP + ADDR + PORT starting at `offset`. Returns null when more bytes are needed;
 * `consumed` counts from `offset`. Throws a protocol error (replyCode 8) for an unknown ATYP
 * and for an empty domain name.
 */
export function decodeAddress(buf: Buffer, offset = 0): Parsed<Destination> {
  if (buf.length < offset + 1) return null;
  const atyp = buf[offset]!;
  let addrLen: number;
  let addrStart = offset + 1;
  switch (atyp) {
    case ATYP.IPV4:
      addrLen = 4;
      break;
    case ATYP.IPV6:
      addrLen = 16;
      break;
    case ATYP.DOMAIN:
      if (buf.length < offset + 2) return null;
      addrLen = buf[offset + 1]!;
      addrStart = offset + 2;
      if (addrLen === 0) throw protocolError('empty domain name', 0x08);
      break;
    default:
      throw protocolError(`unknown address type 0x${atyp.toString(16).padStart(2, '0')}`, 0x08);
  }
  const end = addrStart + addrLen + 2;
  if (buf.length < end) return null;
  const addr = buf.subarray(addrStart, addrStart + addrLen);
  const port = buf.readUInt16BE(addrStart + addrLen);
  let value: Destination;
  if (atyp === ATYP.IPV4) value = { type: 'ipv4', host: bytesToIpv4(addr), port };
  else if (atyp === ATYP.IPV6) value = { type: 'ipv6', host: bytesToIpv6(addr), port };
  else value = { type: 'domain', host: addr.toString('utf8'), port };
  return { value, consumed: end - offset };
}

// IP address text <-> bytes for the SOCKS5 address fields (pure, no I/O).
// IPv6 text output follows RFC 5952 (lower case, longest zero run compressed).

import { isIPv4, isIPv6 } from 'node:net';
import { invalidError } from './errors.js';

export function ipv4ToBytes(text: string): Buffer {
  if (!isIPv4(text)) throw invalidError(`not an IPv4 address: ${text}`);
  return Buffer.from(text.split('.').map((part) => Number(part)));
}

export function bytesToIpv4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/** Accepts any form net.isIPv6 accepts (compressed, embedded IPv4); zone ids are refused. */
export function ipv6ToBytes(text: string): Buffer {
  if (!isIPv6(text) || text.includes('%')) throw invalidError(`not an IPv6 address: ${text}`);
  let groupsText = text;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = ipv4ToBytes(last);
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    groupsText = text.slice(0, lastColon + 1) + '0'; // placeholder group, dropped below
  }
  const halves = groupsText.split('::');
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  let head = parse(halves[0]!);
  let rest = halves.length > 1 ? parse(halves[1]!) : [];
  if (tail.length) {
    // drop the placeholder that stood for the dotted quad
    if (halves.length > 1) rest = rest.slice(0, -1);
    else head = head.slice(0, -1);
  }
  const fill = 8 - head.length - rest.length - tail.length;
  const groups = [...head, ...new Array<number>(halves.length > 1 ? fill : 0).fill(0), ...rest, ...tail];
  if (groups.length !== 8) throw invalidError(`not an IPv6 address: ${text}`);
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => {
    out.writeUInt16BE(g, i * 2);
  });
  return out;
}

export function bytesToIpv6(bytes: Uint8Array): string {
  // IPv4-mapped addresses keep their dotted tail (RFC 5952 section 5), as Node prints them.
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${bytesToIpv4(bytes.subarray(12))}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // longest run of zero groups (length >= 2), first one wins on ties
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestLen < 2) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

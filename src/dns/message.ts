// A minimal DNS message codec (RFC 1035): enough to read one question from a query and write an
// answer with A, AAAA or PTR records, or an error code. Compression pointers are followed when
// reading names; written names are never compressed.
export const TYPE = { A: 1, PTR: 12, AAAA: 28 } as const;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export interface Question {
  name: string; // without the trailing dot
  type: number;
  class: number;
}

export interface Query {
  id: number;
  flags: number;
  question: Question;
  /** the question section exactly as it was sent, echoed back in the answer */
  questionBytes: Buffer;
}

export interface Answer {
  type: number;
  ttl: number;
  data: Buffer; // RDATA
}

export function parseQuery(msg: Buffer): Query {
  if (msg.length < 12) throw new Error('DNS message shorter than its header');
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000) throw new Error('DNS message is a response, not a query');
  if (msg.readUInt16BE(4) !== 1) throw new Error('DNS query must hold exactly one question');
  const { name, end } = readName(msg, 12);
  if (end + 4 > msg.length) throw new Error('DNS question is truncated');
  const question = { name, type: msg.readUInt16BE(end), class: msg.readUInt16BE(end + 2) };
  return { id, flags, question, questionBytes: msg.subarray(12, end + 4) };
}

function readName(msg: Buffer, start: number): { name: string; end: number } {
  const labels: string[] = [];
  let at = start;
  let end = -1;
  for (let jumps = 0; jumps < 32; ) {
    if (at >= msg.length) throw new Error('DNS name runs past the message');
    const len = msg[at];
    if (len === 0) {
      if (end < 0) end = at + 1;
      return { name: labels.join('.'), end };
    }
    if ((len & 0xc0) === 0xc0) {
      if (end < 0) end = at + 2;
      at = msg.readUInt16BE(at) & 0x3fff;
      jumps++;
      continue;
    }
    labels.push(msg.toString('latin1', at + 1, at + 1 + len));
    at += 1 + len;
  }
  throw new Error('DNS name has too many compression pointers');
}

export function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter(Boolean);
  const chunks: Buffer[] = [];
  for (const label of parts) {
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length > 63) throw new Error(`DNS label too long in ${name}`);
    chunks.push(Buffer.from([bytes.length]), bytes);
  }
  chunks.push(Buffer.from([0]));
  return Buffer.concat(chunks);
}

/** A response to `query` with the given code and answers (all for the question's name). */
export function buildResponse(query: Query, rcode: number, answers: Answer[] = []): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.id, 0);
  const rd = query.flags & 0x0100;
  header.writeUInt16BE(0x8000 | 0x0080 | rd | (query.flags & 0x7800) | rcode, 2); // QR, RA, RD, opcode
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  const records = answers.map((a) => {
    const fixed = Buffer.alloc(12);
    fixed.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    fixed.writeUInt16BE(a.type, 2);
    fixed.writeUInt16BE(1, 4); // IN
    fixed.writeUInt32BE(a.ttl, 6);
    fixed.writeUInt16BE(a.data.length, 10);
    return Buffer.concat([fixed, a.data]);
  });
  return Buffer.concat([header, query.questionBytes, ...records]);
}

/** The IPv4 or IPv6 address of an in-addr.arpa / ip6.arpa name, or undefined. */
export function addressOfPtrName(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith('.in-addr.arpa')) {
    const parts = lower.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
    return parts.reverse().join('.');
  }
  if (lower.endsWith('.ip6.arpa')) {
    const nibbles = lower.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || nibbles.some((n) => !/^[0-9a-f]$/.test(n))) return undefined;
    const hex = nibbles.reverse().join('');
    return hex.match(/.{4}/g)!.join(':');
  }
  return undefined;
}

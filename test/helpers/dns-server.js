// A tiny UDP DNS server for tests: answers A and AAAA questions from a fixed table,
// NXDOMAIN for names it does not know, NOERROR with no answer for other types.
// Used on the host's loopback as the shim's KINJECT_DNS, and inside the test namespace
// as its resolver (so no query ever leaves the run's own addresses).
//
//   const dns = await startDnsServer({ host: '127.0.0.1', port: 0, table: { 'web.kjtest': ['10.208.1.10'] } })
//   dns.port; dns.queries (array of {name, type}); await dns.close()
import dgram from 'node:dgram';
import net from 'node:net';

function readName(buf, off) {
  const labels = [];
  let guard = 0;
  while (off < buf.length && guard++ < 128) {
    const len = buf[off];
    if (len === 0) return { name: labels.join('.'), end: off + 1 };
    if ((len & 0xc0) !== 0) return null; // no compression in questions
    labels.push(buf.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  return null;
}

function ipBytes(ip) {
  if (net.isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  // IPv6: expand "::"
  const [head, tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const tl = tail !== undefined ? (tail ? tail.split(':') : []) : [];
  const groups = tail !== undefined ? [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl] : h;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => {
    out.writeUInt16BE(parseInt(g, 16), i * 2);
  });
  return out;
}

export function answerQuery(msg, table) {
  if (msg.length < 12) return null;
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  const qd = msg.readUInt16BE(4);
  if (flags & 0x8000 || qd !== 1) return null;
  const q = readName(msg, 12);
  if (!q || q.end + 4 > msg.length) return null;
  const qtype = msg.readUInt16BE(q.end);
  const question = msg.subarray(12, q.end + 4);
  const key = q.name.toLowerCase().replace(/\.$/, '');
  const known = Object.hasOwn(table, key);
  const addrs = known ? table[key].filter((a) => (qtype === 1 ? net.isIPv4(a) : qtype === 28 ? net.isIPv6(a) : false)) : [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  // QR, opcode 0, AA, RD copied, RA; rcode 3 when unknown
  header.writeUInt16BE(0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | (known ? 0 : 3), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(addrs.length, 6);
  const answers = addrs.map((a) => {
    const data = ipBytes(a);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(qtype, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(5, 6);
    rr.writeUInt16BE(data.length, 10);
    return Buffer.concat([rr, data]);
  });
  return { reply: Buffer.concat([header, question, ...answers]), name: key, type: qtype };
}

export async function startDnsServer({ host = '127.0.0.1', port = 0, table = {} } = {}) {
  const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  const queries = [];
  sock.on('message', (msg, rinfo) => {
    const a = answerQuery(msg, table);
    if (!a) return;
    if (queries.length < 10000) queries.push({ name: a.name, type: a.type });
    sock.send(a.reply, rinfo.port, rinfo.address);
  });
  await new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, host, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  return {
    host,
    port: sock.address().port,
    queries,
    close: () => new Promise((resolve) => sock.close(() => resolve())),
  };
}

// The runner's DNS server on loopback (UDP). The shim sends the DNS datagrams of programs that do
// their own DNS (Node's dns.resolve*, c-ares, ...) here; answers come from the same resolver as
// the front's RESOLVE, so every runtime sees the cluster's names alike. While the inspection page
// listens, each lookup is made on behalf of the process that sent the datagram (found from its
// UDP port, inspect/peer-process.ts, on the same CPU budget as the front's look-ups: at once
// within it, batched past it, never holding up the answer), so the page names who asked.
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import { addressOfPtrName, buildResponse, encodeName, parseQuery, RCODE, TYPE, type Answer, type Query } from './message.js';
import type { NameResolver } from '../front/resolver.js';
import { inspectListening, lookupOwner } from '../inspect/events.js';
import { PeerProcessBatch } from '../inspect/peer-process.js';
import type { Logger } from '../log.js';
import { errorMessage } from '../util/error-message.js';

const TTL_SECONDS = 5;

export interface DnsServer {
  address: { host: string; port: number };
  close(): Promise<void>;
}

export async function startDnsServer(resolver: NameResolver, log: Partial<Logger> = {}): Promise<DnsServer> {
  const socket: Socket = createSocket({ type: 'udp4' });
  const owners = new PeerProcessBatch(process.pid, undefined, 'udp');
  socket.on('message', (msg, rinfo) => {
    const asking = () => answer(resolver, msg);
    const replying = inspectListening() && rinfo.address === '127.0.0.1' ? lookupOwner.run(owners.ownerOf(rinfo.port), asking) : asking();
    replying.then(
      (reply) => reply && socket.send(reply, rinfo.port, rinfo.address),
      (err) => log.debug?.(`dns: ${errorMessage(err)}`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.unref();
  const { port } = socket.address();
  return {
    address: { host: '127.0.0.1', port },
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** The reply to one datagram, or undefined when it is not a DNS query worth answering. */
export async function answer(resolver: NameResolver, msg: Buffer): Promise<Buffer | undefined> {
  let query: Query;
  try {
    query = parseQuery(msg);
  } catch {
    return undefined;
  }
  const { name, type } = query.question;
  try {
    if (type === TYPE.A || type === TYPE.AAAA) {
      const address = await resolver.resolve(name);
      if (address === undefined) return buildResponse(query, RCODE.NXDOMAIN);
      const wantV4 = type === TYPE.A;
      if (wantV4 ? !isIPv4(address) : !isIPv6(address)) return buildResponse(query, RCODE.NOERROR);
      return buildResponse(query, RCODE.NOERROR, [{ type, ttl: TTL_SECONDS, data: addressBytes(address) }]);
    }
    if (type === TYPE.PTR) {
      const address = addressOfPtrName(name);
      if (address === undefined) return buildResponse(query, RCODE.NXDOMAIN);
      const host = await resolver.reverse(address);
      if (host === undefined) return buildResponse(query, RCODE.NXDOMAIN);
      const record: Answer = { type, ttl: TTL_SECONDS, data: encodeName(host) };
      return buildResponse(query, RCODE.NOERROR, [record]);
    }
    return buildResponse(query, RCODE.NOTIMP);
  } catch {
    return buildResponse(query, RCODE.SERVFAIL);
  }
}

function addressBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  const full = expandIPv6(address);
  return Buffer.from(full.replace(/:/g, ''), 'hex');
}

function expandIPv6(address: string): string {
  const [head, tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.map((g) => g.padStart(4, '0')).join(':');
}

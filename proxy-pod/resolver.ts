// Name resolution for the pod server. The default resolver is the pod's own libc: dns.lookup
// (getaddrinfo: /etc/hosts, resolv.conf search domains) for names and dns.lookupService
// (getnameinfo with NI_NAMEREQD: /etc/hosts, then PTR over DNS) for addresses. Tests inject
// their own so no query leaves loopback.

import { promises as dns } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export interface Resolver {
  /** All addresses of a name; rejects with code ENOTFOUND (or another dns code) on failure. */
  lookup(hostname: string): Promise<ResolvedAddress[]>;
  /** The name of an address; rejects with code ENOTFOUND when it has none. */
  reverse(address: string): Promise<string>;
}

function notFound(what: string, syscall: string): Error {
  return Object.assign(new Error(`${syscall} ENOTFOUND ${what}`), { code: 'ENOTFOUND', syscall, hostname: what });
}

export const systemResolver: Resolver = {
  async lookup(hostname) {
    const list = await dns.lookup(hostname, { all: true });
    return list.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
  },
  async reverse(address) {
    const { hostname } = await dns.lookupService(address, 0);
    // NI_NAMEREQD makes getnameinfo fail rather than echo the number, but be sure.
    if (!hostname || isIP(hostname)) throw notFound(address, 'getnameinfo');
    return hostname;
  },
};

/** The address a RESOLVE answers with: the first IPv4 address, else the first IPv6 one. */
export async function resolveOne(resolver: Resolver, hostname: string): Promise<ResolvedAddress> {
  const list = await resolver.lookup(hostname);
  const chosen = list.find((a) => a.family === 4) ?? list[0];
  if (!chosen) throw notFound(hostname, 'getaddrinfo');
  return chosen;
}

/** Adapts a Resolver to net.connect's `lookup` option (used only for injected resolvers). */
export function toLookupFunction(resolver: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    resolver.lookup(hostname).then(
      (list) => {
        const family = options.family === 4 || options.family === 6 ? options.family : 0;
        const usable = family ? list.filter((a) => a.family === family) : list;
        if (!usable.length) {
          callback(notFound(hostname, 'getaddrinfo') as NodeJS.ErrnoException, '', 0);
        } else if (options.all) {
          (callback as unknown as (e: null, l: ResolvedAddress[]) => void)(null, usable);
        } else {
          callback(null, usable[0]!.address, usable[0]!.family);
        }
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

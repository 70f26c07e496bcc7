// Name resolution for the launched process tree, shared by the front (RESOLVE from the shim) and
// the DNS server: RESOLVE / RESOLVE_PTR through the upstream when it supports them, stand-in
// addresses otherwise. `undefined` means "no such name"; other failures throw.
import { isIP } from 'node:net';
import { CMD, REPLY, clientRequest, replyMessage, type Destination } from '../socks5/index.js';
import { FakeAddresses, isFakeAddress } from './fake-addresses.js';
import type { Upstream } from './upstream.js';

const REQUEST_TIMEOUT_MS = 15_000;

export interface NameResolver {
  resolve(name: string): Promise<string | undefined>;
  reverse(address: string): Promise<string | undefined>;
  /** the name behind a stand-in address, if it is one */
  nameOfFakeAddress(address: string): string | undefined;
}

export function createResolver(upstream: Upstream): NameResolver {
  const fake = new FakeAddresses();

  const ask = async (command: number, destination: Destination) => {
    const stream = await upstream.open();
    try {
      return await clientRequest(stream, command, destination, { timeoutMs: REQUEST_TIMEOUT_MS });
    } finally {
      stream.destroy();
    }
  };

  return {
    async resolve(name) {
      const bare = name.replace(/\.$/, '');
      if (isIP(bare)) return bare;
      if (!upstream.resolveSupported) return fake.addressFor(bare);
      const reply = await ask(CMD.RESOLVE, { type: 'domain', host: bare, port: 0 });
      if (reply.reply === REPLY.SUCCEEDED && reply.bound.type !== 'domain') return reply.bound.host;
      if (reply.reply === REPLY.HOST_UNREACHABLE) return undefined;
      throw new Error(`RESOLVE ${bare}: ${replyMessage(reply.reply)}`);
    },
    async reverse(address) {
      if (isFakeAddress(address)) return fake.nameOf(address);
      if (!upstream.resolveSupported) return undefined;
      const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      const reply = await ask(CMD.RESOLVE_PTR, { type, host: address, port: 0 });
      if (reply.reply === REPLY.SUCCEEDED && reply.bound.type === 'domain') return reply.bound.host;
      if (reply.reply === REPLY.HOST_UNREACHABLE) return undefined;
      throw new Error(`RESOLVE_PTR ${address}: ${replyMessage(reply.reply)}`);
    },
    nameOfFakeAddress(address) {
      return isFakeAddress(address) ? fake.nameOf(address) : undefined;
    },
  };
}

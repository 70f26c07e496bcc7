// Name resolution for the launched process tree, shared by the front (RESOLVE from the shim) and
// the DNS server: RESOLVE / RESOLVE_PTR through the upstream when it supports them, stand-in
// addresses otherwise. `undefined` means "no such name"; other failures throw. Answers from the
// upstream are reused for NAME_TTL_MS (NameCache), so a burst of connections to one service name
// costs one lookup in the cluster; answerTtlMs tells the front how much longer an answer is good
// (the shim keeps it that long: native/name_cache.c).
import { isIP } from 'node:net';
import { CMD, REPLY, clientRequest, replyMessage, type Destination } from '../../protocol/socks5/index.js';
import { FakeAddresses, isFakeAddress } from './fake-addresses.js';
import { NameCache } from './name-cache.js';
import type { Upstream } from './upstream.js';
import { inspectListening, lookupOwner, publishInspect } from '../inspect/events.js';

const REQUEST_TIMEOUT_MS = 15_000;
/** how long a name's answer is reused: short, so a Service or pod that changes is seen soon */
export const NAME_TTL_MS = 5_000;
const MAX_CACHED_NAMES = 1024;

export interface NameResolver {
  resolve(name: string): Promise<string | undefined>;
  reverse(address: string): Promise<string | undefined>;
  /** how much longer the answer resolve(name) gave may be reused, in ms (0: ask again) */
  answerTtlMs(name: string): number;
  /** the name behind a stand-in address, if it is one */
  nameOfFakeAddress(address: string): string | undefined;
}

export function createResolver(upstream: Upstream, ttlMs = NAME_TTL_MS): NameResolver {
  const fake = new FakeAddresses();
  const forward = new NameCache<string | undefined>({ ttlMs, maxEntries: MAX_CACHED_NAMES });
  const backward = new NameCache<string | undefined>({ ttlMs, maxEntries: MAX_CACHED_NAMES });

  const ask = async (command: number, destination: Destination) => {
    const stream = await upstream.open();
    try {
      return await clientRequest(stream, command, destination, { timeoutMs: REQUEST_TIMEOUT_MS });
    } finally {
      stream.destroy();
    }
  };

  const resolver: NameResolver = {
    async resolve(name) {
      const bare = name.replace(/\.$/, '');
      if (isIP(bare)) return bare;
      if (!upstream.resolveSupported) return fake.addressFor(bare);
      return forward.get(bare.toLowerCase(), async () => {
        const reply = await ask(CMD.RESOLVE, { type: 'domain', host: bare, port: 0 });
        if (reply.reply === REPLY.SUCCEEDED && reply.bound.type !== 'domain') return reply.bound.host;
        if (reply.reply === REPLY.HOST_UNREACHABLE) return undefined;
        throw new Error(`RESOLVE ${bare}: ${replyMessage(reply.reply)}`);
      });
    },
    async reverse(address) {
      if (isFakeAddress(address)) return fake.nameOf(address);
      if (!upstream.resolveSupported) return undefined;
      const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      return backward.get(address, async () => {
        const reply = await ask(CMD.RESOLVE_PTR, { type, host: address, port: 0 });
        if (reply.reply === REPLY.SUCCEEDED && reply.bound.type === 'domain') return reply.bound.host;
        if (reply.reply === REPLY.HOST_UNREACHABLE) return undefined;
        throw new Error(`RESOLVE_PTR ${address}: ${replyMessage(reply.reply)}`);
      });
    },
    answerTtlMs(name) {
      const bare = name.replace(/\.$/, '');
      return isIP(bare) || !upstream.resolveSupported ? 0 : forward.ttlLeft(bare.toLowerCase());
    },
    nameOfFakeAddress(address) {
      return isFakeAddress(address) ? fake.nameOf(address) : undefined;
    },
  };
  return withLookupEvents(resolver);
}

/** Publishes each forward lookup to the inspection feed (src/inspect/events.ts) when someone listens. */
function withLookupEvents(resolver: NameResolver): NameResolver {
  const resolve = resolver.resolve;
  return {
    ...resolver,
    async resolve(name) {
      if (!inspectListening() || isIP(name.replace(/\.$/, ''))) return resolve(name);
      const started = Date.now();
      const time = new Date(started).toISOString();
      // the process that asked is found meanwhile (src/inspect/peer-process.ts): the event waits for it, the answer does not
      const owner = lookupOwner.getStore() ?? Promise.resolve(undefined);
      const publish = (event: { durationMs: number; answer?: string; error?: string }) =>
        void owner.then((o) => publishInspect({ type: 'dns', time, name, ...event, ...(o ? { pid: o.pid, process: o.command } : {}) }));
      try {
        const answer = await resolve(name);
        publish({ durationMs: Date.now() - started, ...(answer === undefined ? { error: 'no such name' } : { answer }) });
        return answer;
      } catch (err) {
        publish({ durationMs: Date.now() - started, error: err instanceof Error ? err.message : String(err) });
        throw err;
      }
    },
  };
}

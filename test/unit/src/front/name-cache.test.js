// NameCache (dist/src/front/name-cache.js) with a fake clock, and the resolver asking the
// upstream once per name within the TTL. Pure logic; no network.
import t from 'tap';
import { PassThrough } from 'node:stream';
import { NameCache } from '../../../../dist/src/front/name-cache.js';
import { createResolver } from '../../../../dist/src/front/resolver.js';
import { serializeReply, REPLY } from '../../../../dist/protocol/socks5/index.js';

t.test('answers are reused until the TTL, then asked again', async (t) => {
  let now = 1000;
  const cache = new NameCache({ ttlMs: 5000, maxEntries: 10, now: () => now });
  let asked = 0;
  const lookup = async () => `10.0.0.${++asked}`;
  t.equal(await cache.get('redis', lookup), '10.0.0.1');
  now += 4999;
  t.equal(await cache.get('redis', lookup), '10.0.0.1');
  now += 1;
  t.equal(await cache.get('redis', lookup), '10.0.0.2');
  t.equal(asked, 2);
});

t.test('ttlLeft: the life left of an entry, 0 once gone', async (t) => {
  let now = 1000;
  const cache = new NameCache({ ttlMs: 5000, maxEntries: 10, now: () => now });
  t.equal(cache.ttlLeft('redis'), 0, 'nothing cached');
  await cache.get('redis', async () => '10.0.0.1');
  now += 1200;
  t.equal(cache.ttlLeft('redis'), 3800);
  now += 3800;
  t.equal(cache.ttlLeft('redis'), 0);
});

t.test('"no such name" is cached, failures are not', async (t) => {
  const cache = new NameCache({ ttlMs: 5000, maxEntries: 10 });
  let asked = 0;
  t.equal(
    await cache.get('nope', async () => {
      asked++;
      return undefined;
    }),
    undefined,
  );
  t.equal(
    await cache.get('nope', async () => {
      asked++;
      return 'x';
    }),
    undefined,
  );
  t.equal(asked, 1);
  await t.rejects(
    cache.get('flaky', async () => {
      throw new Error('tunnel down');
    }),
    /tunnel down/,
  );
  t.equal(await cache.get('flaky', async () => '10.1.1.1'), '10.1.1.1');
});

t.test('concurrent questions share one lookup', async (t) => {
  const cache = new NameCache({ ttlMs: 5000, maxEntries: 10 });
  let asked = 0;
  let release;
  const gate = new Promise((r) => {
    release = r;
  });
  const lookup = async () => {
    asked++;
    await gate;
    return '10.0.0.9';
  };
  const all = Promise.all([cache.get('web', lookup), cache.get('web', lookup), cache.get('web', lookup)]);
  release();
  t.same(await all, ['10.0.0.9', '10.0.0.9', '10.0.0.9']);
  t.equal(asked, 1);
});

t.test('the oldest entries go when full; ttl 0 caches nothing', async (t) => {
  const cache = new NameCache({ ttlMs: 5000, maxEntries: 2 });
  for (const name of ['a', 'b', 'c']) await cache.get(name, async () => name);
  t.equal(cache.size, 2);
  let asked = 0;
  t.equal(
    await cache.get('a', async () => {
      asked++;
      return 'a2';
    }),
    'a2',
  );
  t.equal(asked, 1);
  const none = new NameCache({ ttlMs: 0, maxEntries: 2 });
  await none.get('a', async () => 'a');
  t.equal(none.size, 0);
});

/** An upstream whose every stream answers one RESOLVE with 10.9.0.N (N = streams opened). */
function countingUpstream() {
  const upstream = {
    opened: 0,
    resolveSupported: true,
    description: 'fake',
    async open() {
      const n = ++upstream.opened;
      const toClient = new PassThrough();
      const fromClient = new PassThrough();
      fromClient.once('data', () => toClient.write(serializeReply(REPLY.SUCCEEDED, { type: 'ipv4', host: `10.9.0.${n}`, port: 0 })));
      const duplex = new (await import('node:stream')).Duplex({
        read() {},
        write(chunk, _enc, cb) {
          fromClient.write(chunk);
          cb();
        },
      });
      toClient.on('data', (d) => duplex.push(d));
      return duplex;
    },
    async close() {},
  };
  return upstream;
}

t.test('the resolver asks the upstream once per name within the TTL, case-insensitively', async (t) => {
  const upstream = countingUpstream();
  const resolver = createResolver(upstream);
  t.equal(await resolver.resolve('redis'), '10.9.0.1');
  t.equal(await resolver.resolve('REDIS.'), '10.9.0.1');
  t.equal(await resolver.resolve('hello'), '10.9.0.2');
  t.equal(upstream.opened, 2);
  const left = resolver.answerTtlMs('Redis.');
  t.ok(left > 4000 && left <= 5000, `the answer's life left is told (${left} ms)`);
  t.equal(resolver.answerTtlMs('10.1.2.3'), 0, 'an address is not an answer to keep');
  t.equal(resolver.answerTtlMs('never-asked'), 0);
  const uncached = createResolver(countingUpstream(), 0);
  await uncached.resolve('redis');
  t.equal(await uncached.resolve('redis'), '10.9.0.2');
});

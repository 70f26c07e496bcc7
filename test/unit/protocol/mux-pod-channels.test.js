// Pod-initiated mux channels (docs/design.md "The mux": the pod opens even ids, e.g. an
// intercepted request on its way to the local process): the server's open() reaches the client's
// onChannel, both sides' ids never collide while each opens many at once, half-close and flow
// control work the same way in this direction, and a client without onChannel refuses them.
import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import { MuxSession } from '../../../dist/protocol/mux/index.js';
import { waitUntil } from '../../../test/helpers/wait.js';

/** A server (pod) and a client (runner) session over one loopback connection. */
async function pair(t, { clientOnChannel, serverOnChannel = (ch) => ch.pipe(ch) } = {}) {
  const srv = net.createServer({ allowHalfOpen: true });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const accepted = once(srv, 'connection');
  const sock = net.connect({ port: srv.address().port, host: '127.0.0.1', allowHalfOpen: true });
  await once(sock, 'connect');
  const [peer] = await accepted;
  const s = new MuxSession(peer, { role: 'server', onChannel: serverOnChannel });
  const c = new MuxSession(sock, { role: 'client', pingMs: 0, onChannel: clientOnChannel });
  t.teardown(() => {
    c.destroy();
    s.destroy();
    srv.close();
  });
  return { c, s };
}

async function readAll(stream) {
  const chunks = [];
  for await (const x of stream) chunks.push(x);
  return Buffer.concat(chunks);
}

t.test('the pod opens channels: even ids, reaching the runner, echoed back with a half-close', async (t) => {
  const seen = [];
  const { s } = await pair(t, {
    clientOnChannel: (ch) => {
      seen.push(ch.id);
      ch.pipe(ch);
    },
  });
  const answers = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const ch = s.open();
      ch.end(`request ${i}`);
      return (await readAll(ch)).toString();
    }),
  );
  t.same(
    answers,
    Array.from({ length: 20 }, (_, i) => `request ${i}`),
  );
  t.equal(seen.length, 20);
  t.ok(
    seen.every((id) => id % 2 === 0 && id > 0),
    'every pod-opened id is even',
  );
  await waitUntil(() => s.channelCount === 0, 10_000, 'the pod forgets finished channels');
});

t.test('both sides open at once: ids never collide, every channel gets its own bytes', async (t) => {
  const { c, s } = await pair(t, { clientOnChannel: (ch) => ch.pipe(ch) });
  const run = async (session, tag, i) => {
    const ch = session.open();
    ch.end(`${tag}-${i}-${'x'.repeat(i * 997)}`);
    return (await readAll(ch)).toString() === `${tag}-${i}-${'x'.repeat(i * 997)}`;
  };
  const results = await Promise.all([...Array.from({ length: 30 }, (_, i) => run(c, 'runner', i)), ...Array.from({ length: 30 }, (_, i) => run(s, 'pod', i))]);
  t.ok(results.every(Boolean), 'all 60 channels echoed their own bytes');
});

t.test('flow control in the pod-to-runner direction: a big body arrives whole', async (t) => {
  const size = 9 * 1024 * 1024; // more than two windows
  const { s } = await pair(t, { clientOnChannel: (ch) => ch.pipe(ch) });
  const ch = s.open();
  const body = Buffer.alloc(size, 7);
  const got = readAll(ch);
  ch.end(body);
  t.equal((await got).length, size);
});

t.test('a runner without onChannel refuses pod-opened channels (RESET), the session lives on', async (t) => {
  const { c, s } = await pair(t);
  const ch = s.open();
  ch.on('data', () => {});
  ch.write('hello');
  await once(ch, 'close');
  t.ok(c.alive && s.alive, 'the session survives');
  t.equal(s.channelCount, 0, 'the refused channel is forgotten');
});

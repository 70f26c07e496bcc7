// The mux (src/mux/) on its own, over a real loopback TCP connection: the frame codec with frames
// split at every byte, channels carrying data both ways, many at once, half-close in each
// direction, resets, per-channel flow control (a channel whose reader stops does not stall the
// others, and its writer buffers at most a window), the session dying, and pings.
import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import { FRAME, FrameDecoder, encodeFrame, encodeWindow, INITIAL_WINDOW, MuxSession } from '../../../dist/protocol/mux/index.js';
import { waitUntil } from '../../../test/helpers/wait.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A client and a server session over one loopback connection; server channels go to onChannel. */
async function pair(t, { onChannel = (ch) => ch.pipe(ch), client = {}, server = {} } = {}) {
  const srv = net.createServer({ allowHalfOpen: true });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const accepted = once(srv, 'connection');
  const sock = net.connect({ port: srv.address().port, host: '127.0.0.1', allowHalfOpen: true });
  await once(sock, 'connect');
  const [peer] = await accepted;
  const s = new MuxSession(peer, { role: 'server', onChannel, ...server });
  const c = new MuxSession(sock, { role: 'client', pingMs: 0, ...client });
  t.teardown(() => {
    c.destroy();
    s.destroy();
    srv.close();
  });
  return { c, s, sock, peer };
}

/** A client session whose peer reads everything and answers nothing (speaks no mux). */
async function muteClient(t, options) {
  const srv = net.createServer((sock) => sock.resume());
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.teardown(() => srv.close());
  const sock = net.connect(srv.address().port, '127.0.0.1');
  await once(sock, 'connect');
  return new MuxSession(sock, { role: 'client', ...options });
}

async function readAll(stream) {
  const chunks = [];
  for await (const x of stream) chunks.push(x);
  return Buffer.concat(chunks);
}

t.test('frames: decoded the same whatever the chunking; DATA passed on in pieces, never copied', async (t) => {
  const big = Buffer.alloc(70_000);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  const frames = [
    encodeFrame(FRAME.OPEN, 1),
    encodeFrame(FRAME.DATA, 1, Buffer.from('hello')),
    encodeFrame(FRAME.DATA, 3, big),
    encodeWindow(3, 131_072),
    encodeFrame(FRAME.PING, 0, Buffer.from('12345678')),
    encodeFrame(FRAME.END, 1),
  ];
  const all = Buffer.concat(frames);
  for (const step of [1, 2, 9, 10, 4096, all.length]) {
    const d = new FrameDecoder();
    const got = [];
    for (let i = 0; i < all.length; i += step) d.push(all.subarray(i, i + step), (f) => got.push(f));
    // consecutive DATA pieces of one channel are one frame
    const merged = [];
    for (const f of got) {
      const last = merged.at(-1);
      if (f.type === FRAME.DATA && last?.type === FRAME.DATA && last.channel === f.channel && last.payload.length < (f.channel === 1 ? 5 : 70_000)) {
        last.payload = Buffer.concat([last.payload, f.payload]);
      } else merged.push({ ...f });
    }
    t.same(
      merged.map((f) => [f.type, f.channel, f.payload.length]),
      [
        [1, 1, 0],
        [2, 1, 5],
        [2, 3, 70_000],
        [3, 3, 4],
        [6, 0, 8],
        [4, 1, 0],
      ],
      `chunks of ${step}`,
    );
    t.equal(merged[1].payload.toString(), 'hello');
    t.ok(merged[2].payload.equals(big), `chunks of ${step}: DATA bytes intact`);
    t.equal(merged[3].payload.readUInt32BE(0), 131_072, `chunks of ${step}: a split WINDOW joined whole`);
    t.equal(merged[4].payload.toString(), '12345678');
    const data = got.filter((f) => f.type === FRAME.DATA && f.channel === 3);
    if (step === 4096) t.ok(data.length > 1, 'a DATA frame across chunks arrives in pieces');
    t.ok(
      data.every((f) => f.payload.buffer === all.buffer),
      `chunks of ${step}: every DATA piece is a view of the input, not a copy`,
    );
  }
  const d = new FrameDecoder();
  const huge = Buffer.alloc(9);
  huge[0] = FRAME.DATA;
  huge.writeUInt32BE(1, 1);
  huge.writeUInt32BE(64 * 1024 * 1024, 5);
  t.throws(() => d.push(huge, () => {}), { code: 'EMUXPROTO' }, 'an oversized frame is a protocol error');
});

t.test('channels echo, 100 at once, each with its own bytes', async (t) => {
  const { c, s } = await pair(t);
  const results = await Promise.all(
    Array.from({ length: 100 }, async (_, i) => {
      const ch = c.open();
      const body = Buffer.alloc(1000 + i * 997, i);
      ch.end(body);
      const back = await readAll(ch);
      return back.equals(body);
    }),
  );
  t.ok(results.every(Boolean), 'every channel got its own bytes back');
  await waitUntil(
    () => c.channelCount === 0 && s.channelCount === 0,
    10_000,
    () => `finished channels forgotten (client keeps ${c.channelCount}, server ${s.channelCount})`,
  );
});

t.test('half-close both ways: the server answers after our end, then ends', async (t) => {
  const { c } = await pair(t, {
    onChannel: (ch) => {
      let n = 0;
      ch.on('data', (d) => {
        n += d.length;
      });
      ch.on('end', () => ch.end(`got ${n}`));
    },
  });
  const ch = c.open();
  ch.end(Buffer.alloc(3 * INITIAL_WINDOW, 1)); // more than a window: credit must come back
  t.equal((await readAll(ch)).toString(), `got ${3 * INITIAL_WINDOW}`);
});

t.test('the server ends first; we can still send', async (t) => {
  const { c } = await pair(t, {
    onChannel: (ch) => {
      ch.write('hello');
      ch.end();
      let n = 0;
      ch.on('data', (d) => {
        n += d.length;
      });
      ch.on('end', () => {
        ch.destroy();
        t.equal(n, 5000, 'server read what we sent after its end');
      });
    },
  });
  const ch = c.open();
  ch.on('data', () => {});
  await once(ch, 'end');
  ch.end(Buffer.alloc(5000));
  await once(ch, 'close');
});

t.test('reset: destroy() on one side closes the other without an end', async (t) => {
  let serverCh;
  const got = new Promise((resolve) => {
    pair(t, {
      onChannel: (ch) => {
        serverCh = ch;
        ch.on('data', () => {});
        resolve();
      },
    }).then((p) => {
      const ch = p.c.open();
      ch.write('x');
      t.context.client = ch;
    });
  });
  await got;
  await sleep(20);
  const closed = once(serverCh, 'close');
  t.context.client.destroy();
  await closed;
  t.notOk(serverCh.readableEnded, 'no end on the reset side');
});

t.test('flow control: a stalled reader holds back its writer only', async (t) => {
  let stalled;
  const { c, s } = await pair(t, {
    onChannel: (ch) => {
      if (!stalled) {
        stalled = ch;
        ch.pause();
        return;
      }
      ch.pipe(ch);
    },
  });
  const slow = c.open();
  const big = Buffer.alloc(64 * 1024);
  // far more than a window; what is really sent stays within one, the rest waits in the writer
  for (let i = 0; i < 200; i++) slow.write(big);
  await sleep(200);
  t.ok(stalled.readableLength <= INITIAL_WINDOW, `the stalled side buffers at most a window (${stalled.readableLength})`);
  t.ok(slow.writableLength > 0, 'the writer keeps the rest');
  const fast = c.open();
  fast.end('still flowing');
  t.equal((await readAll(fast)).toString(), 'still flowing', 'another channel is not held up');
  // the reader resumes: everything arrives
  let n = 0;
  stalled.on('data', (d) => {
    n += d.length;
  });
  stalled.resume();
  slow.end();
  await once(stalled, 'end');
  t.equal(n, 200 * big.length, 'all bytes arrive once the reader resumes');
  t.ok(s.alive && c.alive);
});

t.test('the shared stream closes: every channel is closed, open() then throws', async (t) => {
  const { c, sock } = await pair(t, { onChannel: (ch) => ch.on('data', () => {}) });
  const chans = [c.open(), c.open(), c.open()];
  const closes = chans.map((ch) => once(ch, 'close'));
  const why = once(c, 'close');
  sock.destroy();
  await Promise.all(closes);
  const [reason] = await why;
  t.match(reason.message, /tunnel stream (closed|ended)/);
  t.throws(() => c.open(), /tunnel stream/);
});

t.test('pings: answered and counted on both sides; an unanswering peer ends the session', async (t) => {
  let pings = 0;
  const { c, s } = await pair(t, {
    client: { pingMs: 50 },
    server: {
      onPing: () => {
        pings++;
      },
    },
  });
  await waitUntil(
    () => c.pongs >= 4 && pings >= 4 && s.pongs >= 4,
    10_000,
    () => `4 pings answered both ways (pongs ${c.pongs}/${s.pongs}, pings seen ${pings})`,
  );
  t.ok(c.alive && s.alive, 'the answered session lives on');

  // a peer that never answers
  const dead = await muteClient(t, { pingMs: 50 });
  const t0 = Date.now();
  const [reason] = await once(dead, 'close');
  t.match(reason.message, /no answer through the tunnel/);
  t.ok(Date.now() - t0 >= 140, `after about 3 intervals (${Date.now() - t0} ms)`);
});

t.test('a process that did not run for a while (stopped, asleep) does not count the silence meanwhile against its peer', async (t) => {
  const { c, s } = await pair(t, { client: { pingMs: 100, deadMs: 300 } });
  await waitUntil(() => c.pongs >= 2, 10_000, 'pings answered');
  const busyUntil = Date.now() + 1500; // this process does not run: nothing is read, no timer fires
  while (Date.now() < busyUntil);
  const pongs = c.pongs;
  await waitUntil(
    () => c.pongs >= pongs + 2,
    10_000,
    () => `pings answered again (alive ${c.alive}: ${c.reason?.message})`,
  );
  t.ok(c.alive, 'the session lives on');
  t.ok(Date.now() - s.lastHeardAt < 1000, 'the server heard the client lately (lastHeardAt)');

  const dead = await muteClient(t, { pingMs: 100, deadMs: 300 });
  const until = Date.now() + 1500;
  while (Date.now() < until);
  const [reason] = await once(dead, 'close');
  t.match(reason.message, /no answer through the tunnel/, 'a peer that does not answer after that still ends the session');
});

t.test('protocol: data for an unknown channel gets a reset; OPEN from the wrong side is refused', async (t) => {
  const { c, sock, s } = await pair(t);
  sock.write(encodeFrame(FRAME.DATA, 99, Buffer.from('stray')));
  sock.write(encodeFrame(FRAME.OPEN, 4)); // even ids belong to the server
  // a channel opened after them echoes: the server has read the stray frames by then
  const after = c.open();
  after.end('after');
  t.equal((await readAll(after)).toString(), 'after');
  await waitUntil(() => s.channelCount === 0, 10_000, 'the echo channel forgotten');
  t.equal(s.channelCount, 0, 'no channel kept for the refused OPEN');
  t.ok(c.alive && s.alive, 'the session survives');
});

t.test('shutdown: the server is told and answers; an unanswering peer times out', async (t) => {
  let told = 0;
  const { c } = await pair(t, {
    server: {
      onShutdown: () => {
        told++;
      },
    },
  });
  t.equal(await c.shutdown(2000), true, 'answered');
  t.equal(told, 1, 'the server heard it once');
  t.notOk(c.alive, 'the client session is closed after it');
  t.equal(await c.shutdown(100), false, 'a closed session has no one to tell');

  const mute = await muteClient(t, { pingMs: 0 });
  const t0 = Date.now();
  t.equal(await mute.shutdown(150), false, 'no answer');
  t.ok(Date.now() - t0 >= 140, 'waited the time given');
  t.notOk(mute.alive);
});

t.test('stress: 300 channels, random sizes, pauses and close orders; every byte arrives, nothing is kept', async (t) => {
  // a seeded generator, so a failure can be replayed
  let seed = 0x5eed;
  const rand = (n) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  let serverClosed = 0;
  const { c, s } = await pair(t, {
    onChannel: (ch) => {
      ch.on('close', () => {
        serverClosed++;
      });
      // the server: echo, sometimes pausing a while (flow control), ending when the client ended
      const pauseMs = rand(4) === 0 ? 20 + rand(60) : 0;
      if (pauseMs) {
        ch.pause();
        setTimeout(() => ch.pipe(ch), pauseMs);
      } else {
        ch.pipe(ch);
      }
    },
  });
  const deadline = Date.now() + 30_000;
  const runs = Array.from({ length: 300 }, async (_, i) => {
    const size = [0, 1, 100, 70_000, 300_000, 5_000_000][rand(6)];
    const body = Buffer.alloc(size);
    for (let k = 0; k < size; k += 4096) body[k] = (i + k) & 0xff;
    const ch = c.open();
    const got = readAll(ch);
    // write in random pieces, then end
    let off = 0;
    while (off < size && Date.now() < deadline) {
      const n = Math.min(size - off, 1 + rand(200_000));
      if (!ch.write(body.subarray(off, off + n))) await once(ch, 'drain');
      off += n;
    }
    ch.end();
    return (await got).equals(body);
  });
  const ok = await Promise.all(runs);
  t.equal(ok.filter(Boolean).length, 300, 'all 300 echoed exactly');
  await waitUntil(
    () => c.channelCount === 0 && s.channelCount === 0 && serverClosed === 300,
    10_000,
    () => `finished channels forgotten (client keeps ${c.channelCount}, server ${s.channelCount}, closed ${serverClosed})`,
  );

  // resets in the middle of transfers: the other side sees a close, the session lives on
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      const ch = c.open();
      ch.on('data', () => {});
      ch.write(Buffer.alloc(200_000));
      await sleep(rand(20));
      ch.destroy();
      await once(ch, 'close');
    }),
  );
  await waitUntil(
    () => serverClosed === 350,
    10_000,
    () => `the server sees all 50 resets (${serverClosed - 300} so far)`,
  );
  await waitUntil(
    () => c.channelCount === 0 && s.channelCount === 0,
    10_000,
    () => `reset channels forgotten (client keeps ${c.channelCount}, server ${s.channelCount})`,
  );
  t.ok(c.alive && s.alive, 'the session is fine');
  const last = c.open();
  last.end('after all that');
  t.equal((await readAll(last)).toString(), 'after all that');
});

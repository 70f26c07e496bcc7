// The tunnel to the pod (one authenticated mux session, channels per request), with the real pod
// server (dist/proxy-pod.cjs) running locally and plain loopback TCP in place of the
// port-forward (the port-forward itself is covered by the e2e tests against the local cluster).
// Checks that every request rides on one stream, many at once, half-close through the tunnel,
// reconnecting after the stream drops, a wrong token, the pod going away, and close().
import t from 'tap';
import net from 'node:net';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { PodTunnel } from '../../../../dist/src/tunnel/pod-tunnel.js';
import { clientRequest, CMD } from '../../../../dist/protocol/socks5/index.js';
import { waitUntil } from '../../../../test/helpers/wait.js';
import { repoRoot } from '../../../../test/helpers/repo.js';

const root = repoRoot;
const dir = mkdtempSync(join(tmpdir(), 'kinject-pool-'));
const TOKEN = 'a'.repeat(64);
writeFileSync(join(dir, 'token'), TOKEN);

async function startPodServer(t) {
  const child = spawn(
    process.execPath,
    [join(root, 'dist/proxy-pod.cjs'), '--listen', '127.0.0.1:0', '--token-file', join(dir, 'token'), '--exit-when-idle', '30'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pod server did not start: ${err}`)), 5000);
    child.stderr.on('data', (d) => {
      err += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  const exited = once(child, 'exit');
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, port, exited };
}

async function startHttp(t) {
  const server = http.createServer((req, res) => res.end(`hello from local ${req.url}`));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  return server.address().port;
}

function makePool(port, extra = {}) {
  const counts = { connects: 0 };
  const sockets = [];
  const pool = new PodTunnel({
    kc: new KubeConfig(),
    namespace: 'ns',
    pod: 'kinject-test',
    port,
    token: TOKEN,
    connect: async () => {
      counts.connects++;
      const s = net.connect(port, '127.0.0.1');
      sockets.push(s);
      await once(s, 'connect');
      return s;
    },
    podGone: async () => undefined,
    ...extra,
  });
  return { pool, counts, sockets };
}

async function get(stream, port, path) {
  const reply = await clientRequest(stream, CMD.CONNECT, { type: 'ipv4', host: '127.0.0.1', port }, { timeoutMs: 5000 });
  if (reply.reply !== 0) throw new Error(`reply ${reply.reply}`);
  stream.write(`GET ${path} HTTP/1.0\r\nHost: x\r\n\r\n`);
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks).toString();
}

t.test('one stream carries every request, many at once', async (t) => {
  const { port } = await startPodServer(t);
  const httpPort = await startHttp(t);
  const { pool, counts } = makePool(port);
  t.teardown(() => pool.close());
  await pool.ready(5000);
  t.equal(pool.resolveSupported, true);
  t.equal(pool.description, 'pod ns/kinject-test');
  t.match(await get(await pool.open(), httpPort, '/one'), /hello from local \/one/);
  const many = await Promise.all(Array.from({ length: 50 }, (_, i) => pool.open().then((x) => get(x, httpPort, `/p${i}`))));
  t.same(
    many.map((body) => /\/p\d+$/.exec(body)?.[0]),
    many.map((_, i) => `/p${i}`),
    '50 channels at once, each got its own answer',
  );
  const names = await Promise.all(
    ['localhost', 'localhost'].map(async (host) => {
      const s = await pool.open();
      const r = await clientRequest(s, CMD.RESOLVE, { type: 'domain', host, port: 0 }, { timeoutMs: 5000 });
      s.destroy();
      return r.bound.host;
    }),
  );
  t.match(names, ['127.0.0.1', '127.0.0.1'], 'RESOLVE through channels');
  t.equal(counts.connects, 1, 'a single connection to the pod server for all of it');
  t.equal(pool.sessionsOpened, 1);
  await waitUntil(
    () => pool.openChannels === 0,
    10_000,
    () => `finished channels are forgotten (${pool.openChannels} open)`,
  );
});

t.test('half-close travels through the tunnel: the server answers after our end', async (t) => {
  const { port } = await startPodServer(t);
  // answers only once the request is complete (EOF), like a protocol that waits for FIN
  const srv = net.createServer({ allowHalfOpen: true }, (c) => {
    const got = [];
    c.on('data', (d) => got.push(d));
    c.on('end', () => c.end(`got ${Buffer.concat(got).length} bytes`));
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.teardown(() => srv.close());
  const { pool } = makePool(port);
  t.teardown(() => pool.close());
  const s = await pool.open();
  const reply = await clientRequest(s, CMD.CONNECT, { type: 'ipv4', host: '127.0.0.1', port: srv.address().port }, { timeoutMs: 5000 });
  t.equal(reply.reply, 0);
  s.end(Buffer.alloc(300_000, 1));
  const chunks = [];
  for await (const c of s) chunks.push(c);
  t.equal(Buffer.concat(chunks).toString(), 'got 300000 bytes');
});

t.test('the stream drops: open channels are reset, a new session is opened', async (t) => {
  const { port } = await startPodServer(t);
  const echo = net.createServer((c) => c.pipe(c));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  t.teardown(() => echo.close());
  const warnings = [];
  const states = [];
  const { pool, sockets } = makePool(port, { log: { warn: (m) => warnings.push(m) }, onState: (state, reason) => states.push([state, reason]) });
  t.teardown(() => pool.close());
  const s = await pool.open();
  t.equal((await clientRequest(s, CMD.CONNECT, { type: 'ipv4', host: '127.0.0.1', port: echo.address().port }, { timeoutMs: 5000 })).reply, 0);
  const closed = once(s, 'close');
  await new Promise((r) => setTimeout(r, 1100)); // older than a "short" session
  sockets[0].destroy();
  await closed;
  t.notOk(s.readableEnded, 'the channel was reset, not ended');
  const again = await pool.open();
  t.equal((await clientRequest(again, CMD.CONNECT, { type: 'ipv4', host: '127.0.0.1', port: echo.address().port }, { timeoutMs: 5000 })).reply, 0);
  again.write('ping');
  const [data] = await once(again, 'data');
  t.equal(data.toString(), 'ping');
  again.destroy();
  t.equal(sockets.length, 2, 'reconnected once');
  t.match(
    warnings,
    [
      /^the tunnel to the proxy pod ns\/kinject-test was lost \(the tunnel stream (closed|ended)\); open connections were reset, reconnecting$/,
      /^the tunnel to the proxy pod ns\/kinject-test is back$/,
    ],
    'one line when lost, one when back',
  );
  t.match(
    states,
    [
      ['up', undefined],
      ['lost', /^the tunnel stream (closed|ended)$/],
      ['up', undefined],
    ],
    'onState: up, lost with why, up again (every session up is reported: a replacement pod starts "not lost")',
  );
});

t.test('a session lost over direct: no lost/back lines when the reconnect switched transport (its own line says it), both when it stayed direct', async (t) => {
  for (const switches of [true, false]) {
    const { port } = await startPodServer(t); // close() below makes it exit
    const warnings = [];
    let kind = 'direct';
    const sockets = [];
    const pool = new PodTunnel({
      kc: new KubeConfig(),
      namespace: 'ns',
      pod: 'kinject-test',
      port,
      token: TOKEN,
      log: { warn: (m) => warnings.push(m) },
      transportKind: () => kind,
      // like Transport.connect(): after the first connection, direct fails and it switches
      connect: async () => {
        if (sockets.length > 0 && switches) kind = 'port-forward';
        const s = net.connect(port, '127.0.0.1');
        sockets.push(s);
        await once(s, 'connect');
        return s;
      },
      podGone: async () => undefined,
    });
    (await pool.open()).destroy();
    await new Promise((r) => setTimeout(r, 1100)); // older than a "short" session
    sockets[0].destroy();
    await waitUntil(() => sockets.length === 2, 5000, 'a second connection');
    (await pool.open()).destroy();
    await pool.close();
    if (switches) t.same(warnings, [], 'switched: the switch line is the only line');
    else t.match(warnings, [/was lost/, /is back$/], 'still direct: lost and back, as over port-forward');
  }
});

t.test('wrong token: open() fails with a clear error', async (t) => {
  const { port } = await startPodServer(t);
  const { pool } = makePool(port, { token: 'wrong' });
  t.teardown(() => pool.close());
  await t.rejects(pool.open(), { name: 'KinjectError', message: 'the proxy pod ns/kinject-test rejected the session token' });
});

t.test('pod gone: open() rejects saying so', async (t) => {
  const { child, port, exited } = await startPodServer(t);
  let gone;
  const { pool } = makePool(port, { podGone: async () => gone });
  t.teardown(() => pool.close());
  await pool.ready(5000);
  gone = 'exited';
  child.kill('SIGKILL');
  await exited;
  // the session dies with the server; reconnects fail; the pod check says it is gone
  let err;
  for (let i = 0; i < 40 && !err; i++) {
    try {
      const s = await pool.open();
      s.destroy();
      await new Promise((r) => setTimeout(r, 50));
    } catch (e) {
      err = e;
    }
  }
  t.equal(err?.message, 'the proxy pod ns/kinject-test is gone (exited); restart kinject');
  await t.rejects(pool.open(), /is gone/);
});

t.test('a lost session: the pod is checked every second until it is found gone, not only at each (backed-off) failure', async (t) => {
  const { child, port, exited } = await startPodServer(t);
  const checks = [];
  let gone;
  let goneAt;
  const { pool } = makePool(port, {
    podGone: async () => {
      checks.push(Date.now());
      return gone;
    },
    onGone: () => (goneAt = Date.now()),
  });
  t.teardown(() => pool.close());
  await pool.ready(5000);
  await new Promise((r) => setTimeout(r, 1100)); // older than a "short" session
  child.kill('SIGKILL');
  await exited;
  // the server is dead; the cluster says so only later (the kubelet's status of an OOM-killed pod)
  const lostAt = Date.now();
  await new Promise((r) => setTimeout(r, 4500));
  gone = 'OOM-killed, over its 128Mi memory limit';
  const saysGoneAt = Date.now();
  await waitUntil(() => goneAt !== undefined, 6000, 'the pod found gone');
  const during = checks.filter((c) => c >= lostAt && c <= saysGoneAt);
  const gaps = during.slice(1).map((c, i) => c - during[i]);
  // the backoff alone (100 ms doubling) checks at ~0, 1.5, 3.1 s: gaps of 1.6 s and more
  t.ok(during.length >= 4, `checked at least 4 times in 4.5 s (${during.length})`);
  t.ok(Math.max(...gaps) < 1500, `no more than ~1 s between checks (${gaps.join(', ')} ms)`);
  t.ok(goneAt - saysGoneAt < 1500, `found gone ${goneAt - saysGoneAt} ms after the cluster said so`);
  const n = checks.length;
  await new Promise((r) => setTimeout(r, 1200));
  t.equal(checks.length, n, 'no more checks once it is gone');
});

t.test('unreachable pod server: retried with backoff, open() times out with the cause', async (t) => {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = probe.address().port;
  probe.close();
  const { pool, counts } = makePool(port, { openTimeoutMs: 800 });
  t.teardown(() => pool.close());
  await t.rejects(pool.open(), /no connection to the proxy pod ns\/kinject-test within 1 s: connect ECONNREFUSED/);
  t.ok(counts.connects >= 2 && counts.connects < 20, `retried with backoff (${counts.connects} attempts)`);
});

t.test('close() tells the pod server to exit (SHUTDOWN); it does, at once', async (t) => {
  const { child, port, exited } = await startPodServer(t);
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  const { pool } = makePool(port);
  await pool.ready(5000);
  const t0 = Date.now();
  await pool.close();
  t.equal(pool.podExited, true, 'the server answered');
  const [code] = await exited;
  t.equal(code, 0, 'exit status 0');
  t.ok(Date.now() - t0 < 2000, `exited within ${Date.now() - t0} ms (its idle time is 30 s)`);
  t.match(err, /the runner ended the session, exiting/);
});

t.test('close() ends everything and rejects waiters', async (t) => {
  const { port } = await startPodServer(t);
  const { pool } = makePool(port);
  await pool.ready(5000);
  const s = await pool.open();
  const closed = once(s, 'close');
  await pool.close();
  await closed;
  t.equal(pool.openChannels, 0);
  await t.rejects(pool.open(), /tunnel to the proxy pod is closed/);
  await pool.close();
});

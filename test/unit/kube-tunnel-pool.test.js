// The pre-authenticated tunnel pool, with the real pod server (dist/proxy-pod.cjs) running
// locally and plain loopback TCP in place of the port-forward (the port-forward itself is covered
// by the e2e tests against the local cluster). Checks pre-opened + authenticated streams,
// concurrency beyond the pool size, refresh of idle streams, a wrong token, the pod going away,
// and close().
import t from 'tap';
import net from 'node:net';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { PodTunnelPool } from '../../dist/src/tunnel/pool.js';
import { clientRequest, CMD } from '../../dist/src/socks5/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'kinject-pool-'));
const TOKEN = 'a'.repeat(64);
writeFileSync(join(dir, 'token'), TOKEN);

async function startPodServer(t) {
  const child = spawn(process.execPath, [join(root, 'dist/proxy-pod.cjs'), '--listen', '127.0.0.1:0', '--token-file', join(dir, 'token'), '--exit-when-idle', '30'], { stdio: ['ignore', 'ignore', 'pipe'] });
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
  const pool = new PodTunnelPool({
    kc: new KubeConfig(),
    namespace: 'ns',
    pod: 'kinject-test',
    port,
    token: TOKEN,
    connect: async () => {
      counts.connects++;
      const s = net.connect(port, '127.0.0.1');
      s.seq = counts.connects;
      await once(s, 'connect');
      return s;
    },
    podGone: async () => undefined,
    ...extra,
  });
  return { pool, counts };
}

async function get(stream, port, path) {
  const reply = await clientRequest(stream, CMD.CONNECT, { type: 'ipv4', host: '127.0.0.1', port }, { timeoutMs: 5000 });
  if (reply.reply !== 0) throw new Error(`reply ${reply.reply}`);
  stream.write(`GET ${path} HTTP/1.0\r\nHost: x\r\n\r\n`);
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks).toString();
}

t.test('pre-opened, authenticated streams; more than the pool size at once', async (t) => {
  const { port } = await startPodServer(t);
  const httpPort = await startHttp(t);
  const { pool, counts } = makePool(port, { size: 3 });
  t.teardown(() => pool.close());
  await pool.ready(5000);
  t.equal(pool.resolveSupported, true);
  t.equal(pool.description, 'pod ns/kinject-test');
  // let the background fill finish
  for (let i = 0; i < 50 && pool.idleCount < 3; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(pool.idleCount, 3, 'pool filled to its size');
  const before = counts.connects;
  const s = await pool.open();
  t.ok(s.seq <= before, 'open() took a pre-opened stream');
  t.match(await get(s, httpPort, '/one'), /hello from local \/one/);
  const many = await Promise.all(Array.from({ length: 10 }, (_, i) => pool.open().then((x) => get(x, httpPort, `/p${i}`))));
  many.forEach((body, i) => t.match(body, new RegExp(`/p${i}$`)));
});

t.test('idle streams are replaced periodically', async (t) => {
  const { port } = await startPodServer(t);
  const { pool, counts } = makePool(port, { size: 2, refreshMs: 1000 });
  t.teardown(() => pool.close());
  await pool.ready(5000);
  const start = counts.connects;
  await new Promise((r) => setTimeout(r, 2200));
  t.ok(counts.connects >= start + 2, `replaced (${counts.connects - start} new connections)`);
  t.equal(pool.idleCount, 2);
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
  const { pool } = makePool(port, { size: 2, podGone: async () => gone });
  t.teardown(() => pool.close());
  await pool.ready(5000);
  gone = 'exited';
  child.kill('SIGKILL');
  await exited;
  // idle streams die with the server; refills fail; the pod check says it is gone
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

t.test('unreachable pod server: retried with backoff, open() times out with the cause', async (t) => {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = probe.address().port;
  probe.close();
  const { pool, counts } = makePool(port, { openTimeoutMs: 800, size: 1 });
  t.teardown(() => pool.close());
  await t.rejects(pool.open(), /no connection to the proxy pod ns\/kinject-test within 1 s: connect ECONNREFUSED/);
  t.ok(counts.connects >= 2 && counts.connects < 20, `retried with backoff (${counts.connects} attempts)`);
});

t.test('close() ends everything and rejects waiters', async (t) => {
  const { port } = await startPodServer(t);
  const { pool } = makePool(port, { size: 2 });
  await pool.ready(5000);
  await pool.close();
  t.equal(pool.idleCount, 0);
  await t.rejects(pool.open(), /tunnel to the proxy pod is closed/);
  await pool.close();
});

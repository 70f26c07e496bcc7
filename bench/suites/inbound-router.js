// The inbound router's own cost on loopback (no cluster): sequential HTTP/1.1 keep-alive requests
// without the header (passed through to the "cluster" server) and with it (to the "local"
// server), each beside the same request sent straight to that server; also h2c. Prints JSON and
// writes bench/results/inbound-router.json. Numbers only: nothing fails on a figure.
// Run: npm run -s build && node bench/suites/inbound-router.js [--quick]
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentile, round } from '../lib/stats.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { createInboundRouter } = await import(join(root, 'dist/proxy-pod/inbound/router.js'));
const COUNT = process.argv.includes('--quick') ? 500 : 5000;

async function listen(server) {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server.address().port;
}

const body = Buffer.alloc(512, 'x');
const h1 = () =>
  http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(body));
  });
const h2 = () => {
  const s = http2.createServer();
  s.on('stream', (st) => {
    st.respond({ ':status': 200 });
    st.end(body);
  });
  return s;
};

async function timeH1(port, headers) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const one = () =>
    new Promise((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      http
        .get({ host: '127.0.0.1', port, path: '/', headers, agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
        })
        .on('error', reject);
    });
  for (let i = 0; i < 100; i++) await one(); // warm-up
  const ms = [];
  for (let i = 0; i < COUNT; i++) ms.push(await one());
  agent.destroy();
  return ms;
}

async function timeH2(port, headers) {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const one = () =>
    new Promise((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const req = session.request({ ':path': '/', ...headers });
      req.resume();
      req.on('end', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
      req.on('error', reject);
      req.end();
    });
  for (let i = 0; i < 100; i++) await one();
  const ms = [];
  for (let i = 0; i < COUNT; i++) ms.push(await one());
  session.close();
  return ms;
}

async function routerIn(clusterPort, localPort) {
  const r = createInboundRouter({
    rules: { headers: [{ name: 'x-dev', value: 'alice' }] },
    openLocal: () =>
      new Promise((resolve, reject) => {
        const s = net.connect(localPort, '127.0.0.1');
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      }),
    localLabel: 'bench',
    passThrough: { host: '127.0.0.1', port: clusterPort },
    onWarning: () => {},
  });
  return { r, port: await listen(r.server) };
}

const stats = (ms) => ({ p50_ms: round(percentile(ms, 50), 3), p99_ms: round(percentile(ms, 99), 3) });
const out = { count: COUNT, node: process.version };
for (const [name, make, time] of [
  ['http1', h1, timeH1],
  ['h2c', h2, timeH2],
]) {
  const cluster = make();
  const local = make();
  const clusterPort = await listen(cluster);
  const localPort = await listen(local);
  const { r, port } = await routerIn(clusterPort, localPort);
  out[name] = {
    direct: stats(await time(clusterPort, {})),
    pass_through: stats(await time(port, {})),
    intercepted: stats(await time(port, { 'x-dev': 'alice' })),
  };
  out[name].pass_through_added_p50_ms = round(out[name].pass_through.p50_ms - out[name].direct.p50_ms, 3);
  r.destroy();
  cluster.close();
  local.close();
  cluster.closeAllConnections?.();
  local.closeAllConnections?.();
}
writeFileSync(join(root, 'bench/results/inbound-router.json'), `${JSON.stringify(out, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
process.exit(0);

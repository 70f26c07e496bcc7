// The inbound router (proxy-pod/inbound/): a WebSocket (the ws package) routed by its upgrade
// request, a WebSocket to a local process that is down (502, one warning), a global intercept
// relaying raw non-HTTP bytes both ways, half-close included, and the local side switched off
// (the runner gone: everything to the cluster side, personal and global).
import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import WebSocket, { WebSocketServer } from 'ws';
import { createInboundRouter } from '../../../../dist/proxy-pod/inbound/router.js';
import { closedPort, listen, openTcp, router } from '../../../helpers/inbound-sides.js';

async function wsSide(t, side) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  wss.on('connection', (ws, req) => ws.on('message', (m) => ws.send(`${side}:${m}:${req.headers['x-dev'] ?? '-'}`)));
  t.teardown(() => {
    for (const c of wss.clients) c.terminate();
    wss.close();
  });
  return wss.address().port;
}

function talk(port, headers) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`, { headers, handshakeTimeout: 10_000 });
    ws.on('open', () => ws.send('ping'));
    ws.on('message', (m) => {
      ws.close();
      resolve(m.toString());
    });
    ws.on('unexpected-response', (_req, res) => {
      let b = '';
      res.on('data', (c) => {
        b += c;
      });
      res.on('end', () => resolve(`${res.statusCode} ${b}`));
    });
    ws.on('error', reject);
  });
}

t.test('WebSocket: routed by its upgrade request, messages both ways', { timeout: 30_000 }, async (t) => {
  const r = await router(t, { clusterPort: await wsSide(t, 'cluster'), localPort: await wsSide(t, 'local') });
  t.equal(await talk(r.port, { 'x-dev': 'alice' }), 'local:ping:alice');
  t.equal(await talk(r.port, {}), 'cluster:ping:-');
  t.match(r.records, [{ protocol: 'upgrade', status: 101, path: '/chat', decision: { to: 'local' } }]);
});

t.test('WebSocket to a local process that is down: 502, one warning', { timeout: 30_000 }, async (t) => {
  const r = await router(t, { clusterPort: await wsSide(t, 'cluster'), localPort: await closedPort() });
  t.match(await talk(r.port, { 'x-dev': 'alice' }), /^502 kinject: the local process .* is not reachable/);
  t.match(await talk(r.port, { 'x-dev': 'alice' }), /^502 /);
  t.equal(r.warnings.length, 1);
  t.equal(await talk(r.port, {}), 'cluster:ping:-');
});

t.test('global intercept: raw bytes of any protocol relayed to the local side, half-close kept', { timeout: 30_000 }, async (t) => {
  // a line-based non-HTTP server that answers after the client's half-close
  const local = net.createServer({ allowHalfOpen: true }, (s) => {
    const chunks = [];
    s.on('data', (c) => chunks.push(c));
    s.on('end', () => s.end(Buffer.concat([Buffer.from('echo:'), ...chunks])));
  });
  const localPort = await listen(t, local);
  const warnings = [];
  const records = [];
  const r = createInboundRouter({
    rules: { headers: [] },
    openLocal: openTcp(localPort),
    localLabel: 'test',
    passThrough: { host: '127.0.0.1', port: 1 },
    onWarning: (l) => warnings.push(l),
    onRecord: (x) => records.push(x),
  });
  t.teardown(() => r.destroy());
  const port = await listen(t, r.server);
  const payload = Buffer.from([0, 1, 2, 255, 0x50, 0x52, 0x49, 10, 13]);
  const sock = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  sock.end(payload);
  const got = [];
  for await (const c of sock) got.push(c);
  t.same(Buffer.concat(got), Buffer.concat([Buffer.from('echo:'), payload]));
  await new Promise((res) => setTimeout(res, 50));
  t.match(records, [{ protocol: 'tcp', decision: { to: 'local', why: 'global intercept' } }]);
  t.equal(warnings.length, 0);
});

t.test('local side switched off (runner gone): matching requests and global connections go to the cluster side', { timeout: 30_000 }, async (t) => {
  const { http1Side } = await import('../../../helpers/inbound-sides.js');
  const http = (await import('node:http')).default;
  const clusterPort = await listen(t, http1Side('cluster'));
  const localPort = await listen(t, http1Side('local'));
  const r = await router(t, { clusterPort, localPort });
  const side = (port) =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, headers: { 'x-dev': 'alice' }, agent: false }, (res) => {
          let b = '';
          res.on('data', (c) => {
            b += c;
          });
          res.on('end', () => resolve(JSON.parse(b).side));
        })
        .on('error', reject);
    });
  t.equal(await side(r.port), 'local');
  r.router.setLocalEnabled(false);
  t.equal(await side(r.port), 'cluster', 'personal: production while the runner is away');
  r.router.setLocalEnabled(true);
  t.equal(await side(r.port), 'local', 'and back');
  t.equal(r.warnings.length, 0, 'no warning: nothing failed');
  // global intercept with the local side off: the connection reaches the pass-through target
  const g = createInboundRouter({
    rules: { headers: [] },
    openLocal: openTcp(await closedPort()),
    localLabel: 'x',
    passThrough: { host: '127.0.0.1', port: clusterPort },
    onWarning: () => {},
    localEnabled: false,
  });
  t.teardown(() => g.destroy());
  t.equal(await side(await listen(t, g.server)), 'cluster', 'global: raw relay to the cluster side');
});

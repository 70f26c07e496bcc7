// The front (the local SOCKS5 server the shim talks to) with independent peers on both sides:
// the `socks` npm client in the shim's place, and the `socksv5` npm server (plain SOCKS5, no
// RESOLVE) as the upstream. Loopback only.
import t from 'tap';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { SocksClient } from 'socks';
import socksv5 from 'socksv5';
import { startFront } from '../../../../dist/src/front/server.js';
import { createResolver } from '../../../../dist/src/front/resolver.js';
import { connectSocksUpstream, parseProxyUrl } from '../../../../dist/src/front/socks-upstream.js';

const quietLog = { info() {}, warn() {}, debug() {} };

async function listen(server) {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server.address().port;
}

async function plainSocksServer(t) {
  // socksv5 resolves names itself; it maps "web.test" to the local HTTP server, everything else fails
  const server = socksv5.createServer((info, accept, deny) => {
    if (info.dstAddr === 'web.test') info.dstAddr = '127.0.0.1';
    accept();
  });
  server.useAuth(socksv5.auth.None());
  const port = await listen(server);
  t.teardown(() => server.close());
  return port;
}

async function httpServer(t) {
  const server = createServer((req, res) => res.end('hello through the front'));
  const port = await listen(server);
  t.teardown(() => server.close());
  return port;
}

async function fetchThrough(frontPort, token, host, port) {
  const { socket } = await SocksClient.createConnection({
    proxy: { host: '127.0.0.1', port: frontPort, type: 5, userId: 'kinject', password: token },
    command: 'connect',
    destination: { host, port },
    timeout: 5000,
  });
  socket.write(`GET / HTTP/1.0\r\nHost: ${host}\r\n\r\n`);
  let body = '';
  for await (const chunk of socket) body += chunk;
  return body;
}

t.test('front over a plain SOCKS5 upstream: stand-in addresses, CONNECT by name', async (t) => {
  const socksPort = await plainSocksServer(t);
  const httpPort = await httpServer(t);
  const upstream = await connectSocksUpstream(parseProxyUrl(`socks5://127.0.0.1:${socksPort}`));
  t.equal(upstream.resolveSupported, false, 'socksv5 has no RESOLVE');
  const resolver = createResolver(upstream);
  const front = await startFront({ upstream, resolver, token: 's3cret', log: quietLog });
  t.teardown(() => front.close());

  const address = await resolver.resolve('web.test');
  t.match(address, /^127\.77\.\d+\.\d+$/, 'a stand-in address');
  t.equal(await resolver.resolve('web.test'), address, 'stable per name');
  t.equal(await resolver.reverse(address), 'web.test');

  const body = await fetchThrough(front.address.port, 's3cret', address, httpPort);
  t.match(body, /hello through the front/, 'CONNECT to the stand-in address reaches the name');
});

t.test('front refuses a wrong token and clients without auth', async (t) => {
  // the target is reachable with the right token, so only the front's own refusal can fail them
  const socksPort = await plainSocksServer(t);
  const httpPort = await httpServer(t);
  const upstream = await connectSocksUpstream(parseProxyUrl(`127.0.0.1:${socksPort}`));
  const front = await startFront({ upstream, resolver: createResolver(upstream), token: 'right', log: quietLog });
  t.teardown(() => front.close());
  t.match(await fetchThrough(front.address.port, 'right', '127.0.0.1', httpPort), /hello through the front/, 'the right token reaches the target');
  await t.rejects(
    fetchThrough(front.address.port, 'wrong', '127.0.0.1', httpPort),
    { message: /Socks5 Authentication failed/ },
    'wrong token: authentication refused',
  );
  await t.rejects(
    SocksClient.createConnection({
      proxy: { host: '127.0.0.1', port: front.address.port, type: 5 },
      command: 'connect',
      destination: { host: '127.0.0.1', port: httpPort },
      timeout: 5000,
    }),
    { message: /no accepted authentication type/ },
    'no auth offered: no acceptable method',
  );
});

t.test('an unreachable --proxy is one clear error', async (t) => {
  const server = createServer();
  const port = await listen(server);
  server.close();
  await t.rejects(connectSocksUpstream(parseProxyUrl(`socks5://127.0.0.1:${port}`)), {
    message: new RegExp(`cannot use the SOCKS5 proxy socks5://127.0.0.1:${port}: .*ECONNREFUSED.*check --proxy`),
  });
});

t.test('proxy URLs', async (t) => {
  t.match(parseProxyUrl('socks5://u:p%40ss@example.internal:1080'), {
    host: 'example.internal',
    port: 1080,
    credentials: { username: 'u', password: 'p@ss' },
    text: 'socks5://example.internal:1080',
  });
  t.match(parseProxyUrl('[::1]:9050'), { host: '::1', port: 9050 });
  t.throws(() => parseProxyUrl('http://x:1'), /only socks5/);
  t.throws(() => parseProxyUrl('socks5://x'), /needs a host and a port/);
});

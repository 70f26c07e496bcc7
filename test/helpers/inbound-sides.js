// Test helpers for the inbound router (proxy-pod/inbound/): two real servers standing for the two
// sides ("cluster" = the decoy Service's pods, "local" = the developer's process) that answer
// with their name, and a router between a client and them on loopback. No HTTP is mocked.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { once } from 'node:events';
import { createInboundRouter } from '../../dist/proxy-pod/inbound/router.js';

export async function listen(t, server) {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(
    () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections?.();
        setTimeout(r, 500).unref();
      }),
  );
  return server.address().port;
}

/** an HTTP/1.1 server answering JSON {side, method, url, headers, bodyBytes, trailers}; /stream streams with a trailer */
export function http1Side(side) {
  return http.createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (c) => {
      bodyBytes += c.length;
    });
    req.on('end', () => {
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-sum' });
        let i = 0;
        const tick = () => {
          if (i++ < 5) {
            res.write(`${side}-chunk-${i}\n`);
            setTimeout(tick, 20);
            return;
          }
          res.addTrailers({ 'x-sum': `${side}-done` });
          res.end();
        };
        tick();
        return;
      }
      res.setHeader('x-side', side);
      res.setHeader('X-Mixed-Case', 'kept');
      res.end(JSON.stringify({ side, method: req.method, url: req.url, headers: req.rawHeaders, bodyBytes, trailers: req.trailers }));
    });
  });
}

/** an h2c server answering {side, path} as JSON on every stream */
export function http2Side(side) {
  const s = http2.createServer();
  s.on('stream', (stream, headers) => {
    stream.on('data', () => {});
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/json', 'x-side': side });
      stream.end(JSON.stringify({ side, path: headers[':path'] }));
    });
  });
  return s;
}

export function openTcp(port) {
  return () =>
    new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
}

/** a port nothing listens on */
export async function closedPort() {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** a router in front of clusterPort / localPort; warnings and records collected */
export async function router(t, { clusterPort, localPort, headers = [{ name: 'x-dev', value: 'alice' }], pathPrefix }) {
  const warnings = [];
  const records = [];
  const r = createInboundRouter({
    rules: { headers, pathPrefix },
    openLocal: openTcp(localPort),
    localLabel: `127.0.0.1:${localPort}`,
    passThrough: { host: '127.0.0.1', port: clusterPort },
    onWarning: (line) => warnings.push(line),
    onRecord: (rec) => records.push(rec),
  });
  let connections = 0;
  r.server.on('connection', () => {
    connections++;
  });
  const port = await listen(t, r.server);
  t.teardown(() => r.destroy());
  return { port, warnings, records, connections: () => connections, router: r };
}

// The services of a test world, run inside its network namespace by netns-world.js:
//   ip netns exec NS node netns-services.js '<json config>'
// Starts an HTTP server (answers "hello from kjtest"), a TCP echo server, the
// independent SOCKS5 server (npm socksv5, CONNECT only, RFC 1929 user "kinject") and
// the namespace's own DNS resolver on 127.0.0.1:53, a TCP port that accepts and never answers, then prints one line
// "READY <json>" on stdout. Exits when its stdin closes (the test process died) or on
// SIGTERM, so nothing outlives the run.
import http from 'node:http';
import net from 'node:net';
import { createRequire } from 'node:module';
import { startDnsServer } from './dns-server.js';

const require = createRequire(import.meta.url);
const socks = require('socksv5');
const cfg = JSON.parse(process.argv[2]);
const closers = [];

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

const web = http.createServer((req, res) => {
  const body = req.url === '/peer' ? `${req.socket.remoteAddress}\n` : cfg.web.body;
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
const webServers = [];
for (const ip of cfg.web.ips) {
  const s = ip === cfg.web.ips[0] ? web : http.createServer(web.listeners('request')[0]);
  await listen(s, cfg.web.port, ip);
  webServers.push(s);
  closers.push(() => s.close());
}

const echo = net.createServer((sock) => {
  sock.on('error', () => {});
  sock.pipe(sock);
});
await listen(echo, cfg.echo.port, cfg.echo.ip);
closers.push(() => echo.close());

// accepts and never answers: a SOCKS server that hangs (for connect timeouts)
const held = new Set();
const silent = net.createServer((sock) => {
  held.add(sock);
  sock.on('error', () => {});
  sock.on('close', () => held.delete(sock));
  sock.setTimeout(120000, () => sock.destroy());
});
await listen(silent, cfg.silent.port, cfg.silent.host);
closers.push(() => {
  for (const s of held) s.destroy();
  silent.close();
});

const sv = socks.createServer((info, accept) => accept());
sv.useAuth(socks.auth.UserPassword((user, password, cb) => cb(user === 'kinject' && password === cfg.socksv5.token)));
await listen(sv, cfg.socksv5.port, cfg.socksv5.host);
closers.push(() => sv.close());

const dns = await startDnsServer({ host: '127.0.0.1', port: 53, table: cfg.dns.table });
closers.push(() => dns.close());

function stop() {
  for (const c of closers) {
    try {
      c();
    } catch {}
  }
  process.exit(0);
}
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.stdout.write(`READY ${JSON.stringify({ pid: process.pid })}\n`);

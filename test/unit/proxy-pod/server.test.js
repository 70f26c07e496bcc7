// The proxy pod server (dist/proxy-pod/server.js, in process) against independent clients: the
// `socks` npm client, curl --socks5-hostname, and raw bytes written here by hand. Loopback only;
// names other than localhost go through an injected resolver so no DNS query leaves the host.
import t from 'tap';
import net from 'node:net';
import http from 'node:http';
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import { SocksClient } from 'socks';
import { startProxyServer } from '../../../dist/proxy-pod/server.js';
import { waitUntil } from '../../../test/helpers/wait.js';

const LOOP = '127.0.0.1';
const TOKEN = `tok-${crypto.randomBytes(12).toString('hex')}`;

// ---------- helpers ----------
function listen(server, host = LOOP) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve(server.address().port));
  });
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms);
    }),
  ]);
}

/** Connects, writes `bytes`, returns everything received until the server closes (bounded). */
function rawSession(port, bytes, ms = 5000) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const chunks = [];
      const s = net.connect(port, LOOP, () => s.write(bytes));
      s.on('data', (d) => chunks.push(d));
      s.on('error', (e) => (e.code === 'ECONNRESET' ? resolve(Buffer.concat(chunks)) : reject(e)));
      s.on('close', () => resolve(Buffer.concat(chunks)));
    }),
    ms,
    'raw session',
  );
}

const b = (...parts) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
const str = (s) => Buffer.from(s, 'utf8');
/** Greeting offering user/pass only + RFC 1929 request, byte by byte. */
const authBytes = (user = 'kinject', pass = TOKEN) => b([0x05, 0x01, 0x02], [0x01, Buffer.byteLength(user)], str(user), [Buffer.byteLength(pass)], str(pass));
const OK_PREFIX = Buffer.from([0x05, 0x02, 0x01, 0x00]); // method choice 2, auth status 0
const domainReq = (cmd, name, port) => b([0x05, cmd, 0x00, 0x03, Buffer.byteLength(name)], str(name), [port >> 8, port & 0xff]);
const ipv4Req = (cmd, ip, port) => b([0x05, cmd, 0x00, 0x01], ip.split('.').map(Number), [port >> 8, port & 0xff]);
const ipv6Req = (cmd, bytes16, port) => b([0x05, cmd, 0x00, 0x04], bytes16, [port >> 8, port & 0xff]);
const V6_LOOPBACK = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

/** Splits "method choice + auth reply + SOCKS reply" raw output. */
function afterAuth(t, out) {
  t.same(out.subarray(0, 4), OK_PREFIX, 'method 0x02 chosen and auth accepted');
  return out.subarray(4);
}

function socksConnect(port, host, destPort, auth = { userId: 'kinject', password: TOKEN }) {
  return SocksClient.createConnection({
    proxy: { host: LOOP, port, type: 5, ...auth },
    command: 'connect',
    destination: { host, port: destPort },
    timeout: 5000,
  });
}

/** The same through a socket we opened with allowHalfOpen (the socks client's own is not). */
async function socksConnectHalfOpen(port, host, destPort) {
  const existing = net.connect({ port, host: LOOP, allowHalfOpen: true });
  await new Promise((resolve, reject) => {
    existing.once('connect', resolve);
    existing.once('error', reject);
  });
  return SocksClient.createConnection({
    proxy: { host: LOOP, port, type: 5, userId: 'kinject', password: TOKEN },
    command: 'connect',
    destination: { host, port: destPort },
    timeout: 5000,
    existing_socket: existing,
  });
}

function readAll(socket, ms = 5000) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const chunks = [];
      socket.on('data', (d) => chunks.push(d));
      socket.on('end', () => resolve(Buffer.concat(chunks)));
      socket.on('error', reject);
    }),
    ms,
    'readAll',
  );
}

/** Connects, writes `bytes`, resolves with the first `n` bytes received (bounded), then closes. */
function firstBytes(port, bytes, n, ms = 5000) {
  const s = net.connect(port, LOOP, () => s.write(bytes));
  return withTimeout(
    new Promise((resolve, reject) => {
      let got = Buffer.alloc(0);
      s.on('data', (d) => {
        got = Buffer.concat([got, d]);
        if (got.length >= n) resolve(got.subarray(0, n));
      });
      s.on('error', reject);
      s.on('close', () => reject(new Error(`closed after ${got.length} of ${n} bytes`)));
    }),
    ms,
    'first bytes',
  ).finally(() => s.destroy());
}

// ---------- fixtures ----------
// echo server on IPv4 and IPv6 loopback
const echo4 = net.createServer({ allowHalfOpen: true }, (c) => c.pipe(c));
const echo4Port = await listen(echo4);
const echo6 = net.createServer({ allowHalfOpen: true }, (c) => c.pipe(c));
const echo6Port = await listen(echo6, '::1');
// "count then answer": reads until the client's end, then answers and ends (half-close)
const counter = net.createServer({ allowHalfOpen: true }, (c) => {
  let n = 0;
  c.on('data', (d) => {
    n += d.length;
  });
  c.on('end', () => setTimeout(() => c.end(`got ${n} bytes`), 50));
});
const counterPort = await listen(counter);
// an HTTP server for curl
const web = http.createServer((req, res) => res.end(`hello from ${req.url}`));
const webPort = await listen(web);
// a port with nothing listening
const closedPort = await (async () => {
  const s = net.createServer();
  const p = await listen(s);
  await new Promise((r) => s.close(r));
  return p;
})();

const notFound = (what) => Object.assign(new Error(`ENOTFOUND ${what}`), { code: 'ENOTFOUND' });
const fakeNames = {
  'echo.test': [{ address: LOOP, family: 4 }],
  'echo6.test': [{ address: '::1', family: 6 }],
  'db.prod.svc': [
    { address: 'fd00::5', family: 6 },
    { address: '10.1.2.3', family: 4 },
  ],
  'v6only.test': [{ address: 'fd00::6', family: 6 }],
};
const fakeResolver = {
  async lookup(name) {
    if (name === 'slow.test') return new Promise(() => {}); // never answers
    if (name === 'delay.test') return new Promise((r) => setTimeout(() => r([{ address: LOOP, family: 4 }]), 200));
    if (fakeNames[name]) return fakeNames[name];
    throw notFound(name);
  },
  async reverse(addr) {
    const names = { '10.1.2.3': 'db.prod.svc', '::1': 'six.test' };
    if (names[addr]) return names[addr];
    throw notFound(addr);
  },
};

const sysLog = [];
const fakeLog = [];
const sys = await startProxyServer({ host: LOOP, port: 0, token: TOKEN, log: (l) => sysLog.push(l) });
const fake = await startProxyServer({ host: LOOP, port: 0, token: TOKEN, log: (l) => fakeLog.push(l), resolver: fakeResolver, connectTimeoutMs: 300 });
t.teardown(async () => {
  await sys.close();
  await fake.close();
  for (const s of [echo4, echo6, counter, web]) s.close();
});

// ---------- tests ----------
t.test('socks client: CONNECT by IPv4 with username/password', async (t) => {
  const { socket } = await socksConnect(sys.address.port, LOOP, echo4Port);
  socket.end('ping over ipv4');
  t.equal((await readAll(socket)).toString(), 'ping over ipv4');
});

t.test('socks client: CONNECT by domain (system resolver, /etc/hosts localhost)', async (t) => {
  const { socket } = await socksConnect(sys.address.port, 'localhost', echo4Port);
  socket.end('ping by name');
  t.equal((await readAll(socket)).toString(), 'ping by name');
});

t.test('socks client: CONNECT to IPv6 loopback, and by a name that resolves to it', async (t) => {
  const { socket } = await socksConnect(sys.address.port, '::1', echo6Port);
  socket.end('ping over ipv6');
  t.equal((await readAll(socket)).toString(), 'ping over ipv6');
  const viaName = await socksConnect(fake.address.port, 'echo6.test', echo6Port);
  viaName.socket.end('v6 by name');
  t.equal((await readAll(viaName.socket)).toString(), 'v6 by name');
});

t.test('socks client: wrong password and wrong username are refused', async (t) => {
  await t.rejects(socksConnect(sys.address.port, LOOP, echo4Port, { userId: 'kinject', password: 'nope' }));
  await t.rejects(socksConnect(sys.address.port, LOOP, echo4Port, { userId: 'root', password: TOKEN }));
  t.match(sysLog.join('\n'), /authentication failed/);
  t.notMatch(sysLog.join('\n'), new RegExp(TOKEN), 'the token never appears in the log');
});

t.test('curl --socks5-hostname with -U, and a socks5h:// URL with credentials', async (t) => {
  const run = (args) =>
    withTimeout(
      new Promise((resolve) => {
        execFile('curl', ['-sS', '--max-time', '10', ...args], (err, stdout, stderr) => resolve({ err, stdout, stderr }));
      }),
      15000,
      'curl',
    );
  const a = await run(['--socks5-hostname', `${LOOP}:${sys.address.port}`, '-U', `kinject:${TOKEN}`, `http://localhost:${webPort}/one`]);
  t.equal(a.err, null, a.stderr);
  t.equal(a.stdout, 'hello from /one');
  const c = await run(['-x', `socks5h://kinject:${TOKEN}@${LOOP}:${sys.address.port}`, `http://${LOOP}:${webPort}/two`]);
  t.equal(c.stdout, 'hello from /two');
  const bad = await run(['-x', `socks5h://kinject:wrong@${LOOP}:${sys.address.port}`, `http://${LOOP}:${webPort}/three`]);
  t.not(bad.err, null, 'curl fails with a wrong token');
  t.equal(bad.stdout, '');
});

t.test('raw: a client offering only "no auth" gets 0xFF and is closed', async (t) => {
  const out = await rawSession(sys.address.port, Buffer.from([0x05, 0x01, 0x00]));
  t.same(out, Buffer.from([0x05, 0xff]));
  const out2 = await rawSession(sys.address.port, Buffer.from([0x05, 0x02, 0x00, 0x01]));
  t.same(out2, Buffer.from([0x05, 0xff]), 'no auth + GSSAPI is not enough either');
});

t.test('raw: wrong token -> auth failure status, then close (no request is served)', async (t) => {
  const out = await rawSession(sys.address.port, b(authBytes('kinject', `${TOKEN}x`), ipv4Req(0x01, LOOP, echo4Port), 'data'));
  t.equal(out.length, 4);
  t.same(out.subarray(0, 2), [0x05, 0x02]);
  t.equal(out[2], 0x01);
  t.not(out[3], 0x00, 'auth status is a failure');
});

t.test('raw: pipelined handshake, optimistic data, half-close', async (t) => {
  const out = await withTimeout(
    new Promise((resolve, reject) => {
      const chunks = [];
      const s = net.connect({ port: sys.address.port, host: LOOP, allowHalfOpen: true }, () => {
        s.end(b(authBytes(), ipv4Req(0x01, LOOP, counterPort), 'abcdef')); // everything, then FIN
      });
      s.on('data', (d) => chunks.push(d));
      s.on('end', () => resolve(Buffer.concat(chunks)));
      s.on('error', reject);
    }),
    5000,
    'pipelined',
  );
  const rest = afterAuth(t, out);
  t.same(rest.subarray(0, 4), [0x05, 0x00, 0x00, 0x01], 'CONNECT succeeded, BND is IPv4');
  t.same(rest.subarray(4, 8), [127, 0, 0, 1]);
  t.equal(rest.subarray(10).toString(), 'got 6 bytes', 'payload arrived; the answer came after our end');
});

t.test('an end that arrives while the server is still connecting is passed on', async (t) => {
  const out = await withTimeout(
    new Promise((resolve, reject) => {
      const chunks = [];
      const s = net.connect({ port: fake.address.port, host: LOOP, allowHalfOpen: true }, () => {
        s.end(b(authBytes(), domainReq(0x01, 'delay.test', counterPort))); // request and FIN, no payload
      });
      s.on('data', (d) => chunks.push(d));
      s.on('end', () => resolve(Buffer.concat(chunks)));
      s.on('error', reject);
    }),
    5000,
    'end during connect',
  );
  const rest = afterAuth(t, out);
  t.equal(rest[1], 0, 'CONNECT succeeded');
  t.equal(rest.subarray(10).toString(), 'got 0 bytes', 'the target saw our end');
});

t.test('half-close: the client ends, the response still arrives', async (t) => {
  const { socket } = await socksConnect(sys.address.port, LOOP, counterPort);
  socket.write('x'.repeat(1000));
  socket.end();
  t.equal((await readAll(socket)).toString(), 'got 1000 bytes');
  t.equal(socket.writableEnded, true);
});

t.test('half-close the other way: the server ends first, the client keeps sending', async (t) => {
  const seen = [];
  const early = net.createServer({ allowHalfOpen: true }, (c) => {
    c.end('bye first');
    c.on('data', (d) => seen.push(d));
    c.on('end', () => {
      seen.push(Buffer.from('|end'));
    });
  });
  const port = await listen(early);
  t.teardown(() => early.close());
  const { socket } = await socksConnectHalfOpen(sys.address.port, LOOP, port);
  t.equal(socket.allowHalfOpen, true);
  const got = await readAll(socket);
  t.equal(got.toString(), 'bye first');
  socket.end('still talking');
  await waitUntil(() => Buffer.concat(seen).toString() === 'still talking|end', 10_000, 'data after half-close');
  t.pass("data sent after the peer's end still arrived, then our end");
});

t.test('64 MiB round trip through an echo server is intact (backpressure)', async (t) => {
  const { socket } = await socksConnect(sys.address.port, LOOP, echo4Port);
  const total = 64 * 1024 * 1024;
  const chunk = 256 * 1024;
  const sent = crypto.createHash('sha256');
  const received = crypto.createHash('sha256');
  let receivedBytes = 0;
  let maxBuffered = 0;
  const done = withTimeout(
    new Promise((resolve, reject) => {
      socket.on('data', (d) => {
        received.update(d);
        receivedBytes += d.length;
      });
      socket.on('end', resolve);
      socket.on('error', reject);
    }),
    120000,
    '64 MiB echo',
  );
  const seed = crypto.randomBytes(chunk);
  for (let off = 0, i = 0; off < total; off += chunk, i++) {
    const piece = Buffer.from(seed);
    piece.writeUInt32BE(i, 0); // make every chunk different
    sent.update(piece);
    if (!socket.write(piece)) {
      maxBuffered = Math.max(maxBuffered, socket.writableLength);
      await withTimeout(new Promise((r) => socket.once('drain', r)), 30000, 'drain');
    }
  }
  socket.end();
  await done;
  t.equal(receivedBytes, total, 'all bytes came back');
  t.equal(received.digest('hex'), sent.digest('hex'), 'same bytes, same order');
  t.ok(maxBuffered < 8 * chunk, `sender was held back by backpressure (max buffered ${maxBuffered})`);
});

t.test('raw RESOLVE: system resolver (localhost) and injected names', async (t) => {
  const out = afterAuth(t, await rawSession(sys.address.port, b(authBytes(), domainReq(0xf0, 'localhost', 0))));
  t.same(out, [0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1, 0, 0], 'localhost -> 127.0.0.1 (ATYP 1)');

  const db = afterAuth(t, await rawSession(fake.address.port, b(authBytes(), domainReq(0xf0, 'db.prod.svc', 0))));
  t.same(db, [0x05, 0x00, 0x00, 0x01, 10, 1, 2, 3, 0, 0], 'the IPv4 address is preferred');

  const v6 = afterAuth(t, await rawSession(fake.address.port, b(authBytes(), domainReq(0xf0, 'v6only.test', 0))));
  t.same(v6.subarray(0, 4), [0x05, 0x00, 0x00, 0x04], 'IPv6-only name -> ATYP 4');
  t.same(v6.subarray(4, 20), [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6]);
  t.equal(v6.length, 22);
});

t.test('raw RESOLVE of an unknown name -> reply 4 and one log line', async (t) => {
  const before = fakeLog.length;
  const out = afterAuth(t, await rawSession(fake.address.port, b(authBytes(), domainReq(0xf0, 'nope.test', 0))));
  t.same(out, [0x05, 0x04, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
  t.same(fakeLog.slice(before), ['kinject-proxy: RESOLVE nope.test failed: host not found (ENOTFOUND)']);
});

t.test('raw RESOLVE_PTR: /etc/hosts via the system resolver, injected names, failures', async (t) => {
  const lo = afterAuth(t, await rawSession(sys.address.port, b(authBytes(), ipv4Req(0xf1, LOOP, 0))));
  t.same(lo.subarray(0, 5), [0x05, 0x00, 0x00, 0x03, 'localhost'.length]);
  t.equal(lo.subarray(5, 5 + 9).toString(), 'localhost');
  t.same(lo.subarray(14), [0, 0]);

  const db = afterAuth(t, await rawSession(fake.address.port, b(authBytes(), ipv4Req(0xf1, '10.1.2.3', 0))));
  t.equal(db.subarray(5, 5 + db[4]).toString(), 'db.prod.svc');
  const six = afterAuth(t, await rawSession(fake.address.port, b(authBytes(), ipv6Req(0xf1, V6_LOOPBACK, 0))));
  t.same(six.subarray(0, 4), [0x05, 0x00, 0x00, 0x03]);
  t.equal(six.subarray(5, 5 + six[4]).toString(), 'six.test');

  const none = afterAuth(t, await rawSession(fake.address.port, b(authBytes(), ipv4Req(0xf1, '10.9.9.9', 0))));
  t.equal(none[1], 4, 'no name -> reply 4');
  const byName = afterAuth(t, await rawSession(fake.address.port, b(authBytes(), domainReq(0xf1, 'x.test', 0))));
  t.equal(byName[1], 8, 'RESOLVE_PTR of a name -> reply 8');
});

t.test('CONNECT failures: refused 5, unknown name 4, timeout 6, with log lines', async (t) => {
  const refused = afterAuth(t, await rawSession(sys.address.port, b(authBytes(), ipv4Req(0x01, LOOP, closedPort))));
  t.equal(refused[1], 5, 'refused port by IP');
  t.equal(refused.length, 10);
  const refusedByName = afterAuth(t, await rawSession(sys.address.port, b(authBytes(), domainReq(0x01, 'localhost', closedPort))));
  t.equal(refusedByName[1], 5, 'refused port by name');
  t.match(sysLog.join('\n'), new RegExp(`CONNECT 127\\.0\\.0\\.1:${closedPort} failed: connection refused \\(ECONNREFUSED\\)`));

  const before = fakeLog.length;
  const unknown = afterAuth(t, await rawSession(fake.address.port, b(authBytes(), domainReq(0x01, 'nope.test', 6379))));
  t.equal(unknown[1], 4, 'unknown name');
  t.same(fakeLog.slice(before), ['kinject-proxy: CONNECT nope.test:6379 failed: host not found (ENOTFOUND)']);

  const slow = afterAuth(t, await rawSession(fake.address.port, b(authBytes(), domainReq(0x01, 'slow.test', 80))));
  t.equal(slow[1], 6, 'connect timeout -> TTL expired');
  t.match(fakeLog.at(-1), /CONNECT slow\.test:80 failed: .*ETIMEDOUT/);

  // the socks client sees the same code
  await t.rejects(socksConnect(sys.address.port, LOOP, closedPort), /Connection refused|5/i);
});

t.test('raw ENV (0xF2): reply 0, 4-byte length, JSON of the process environment, then close', async (t) => {
  process.env.KINJECT_TEST_ENV_VALUE = 'line1\nline2 "quoted" ünïcode';
  t.teardown(() => {
    delete process.env.KINJECT_TEST_ENV_VALUE;
  });
  const out = afterAuth(t, await rawSession(sys.address.port, b(authBytes(), domainReq(0xf2, 'env', 0))));
  t.same(out.subarray(0, 10), [0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
  const len = out.readUInt32BE(10);
  t.equal(out.length, 14 + len, 'exactly the announced length follows');
  const env = JSON.parse(out.subarray(14).toString('utf8'));
  t.equal(env.KINJECT_TEST_ENV_VALUE, 'line1\nline2 "quoted" ünïcode');
  t.equal(env.PATH, process.env.PATH);
});

t.test('unsupported commands and address types', async (t) => {
  const bind = afterAuth(t, await rawSession(sys.address.port, b(authBytes(), ipv4Req(0x02, LOOP, 80))));
  t.equal(bind[1], 7, 'BIND -> 7');
  const udp = afterAuth(t, await rawSession(sys.address.port, b(authBytes(), ipv4Req(0x03, LOOP, 80))));
  t.equal(udp[1], 7, 'UDP ASSOCIATE -> 7');
  const atyp = afterAuth(t, await rawSession(sys.address.port, b(authBytes(), [0x05, 0x01, 0x00, 0x02, 1, 2, 3, 4, 0, 80])));
  t.equal(atyp[1], 8, 'ATYP 2 -> 8');
  const v4 = await rawSession(sys.address.port, Buffer.from([0x04, 0x01, 0x00, 0x50, 127, 0, 0, 1, 0]));
  t.equal(v4.length, 0, 'a SOCKS4 client is just closed');
});

t.test('open connections are counted and released', async (t) => {
  const { socket } = await socksConnect(sys.address.port, LOOP, echo4Port);
  t.ok(sys.connections() >= 1);
  socket.end();
  await readAll(socket);
  await waitUntil(() => sys.connections() === 0, 10_000, 'connections back to 0');
  t.equal(sys.connections(), 0);
});

t.test('without a token: loopback only, and no-auth is accepted there', async (t) => {
  await t.rejects(startProxyServer({ host: '0.0.0.0', port: 0 }), /open proxy/);
  await t.rejects(startProxyServer({ host: '::', port: 0, token: '' }), /open proxy/);
  const open = await startProxyServer({ host: LOOP, port: 0, log: () => {} });
  t.teardown(() => open.close());
  const out = await rawSession(open.address.port, b([0x05, 0x01, 0x00], domainReq(0xf0, 'localhost', 0)));
  t.same(out, [0x05, 0x00, 0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1, 0, 0]);
  // with a token, an offer of both methods gets user/pass
  const both = await firstBytes(sys.address.port, Buffer.from([0x05, 0x02, 0x00, 0x02]), 2);
  t.same(both, Buffer.from([0x05, 0x02]), 'user/pass chosen when both are offered');
});

t.test('exit when idle (in process, injected exit)', async (t) => {
  let exited = 0;
  const lines = [];
  const srv = await startProxyServer({
    host: LOOP,
    port: 0,
    token: TOKEN,
    exitWhenIdleSeconds: 0.4,
    log: (l) => lines.push(l),
    onIdleExit: () => {
      exited++;
    },
  });
  t.teardown(() => srv.close());
  const s = net.connect(srv.address.port, LOOP);
  await new Promise((r) => s.once('connect', r));
  await new Promise((r) => setTimeout(r, 700));
  t.equal(exited, 0, 'an open client connection keeps it alive');
  s.destroy();
  await waitUntil(() => exited === 1, 10_000, 'idle exit');
  t.same(lines, ['kinject-proxy: no client connection for 0.4 s, exiting']);
});

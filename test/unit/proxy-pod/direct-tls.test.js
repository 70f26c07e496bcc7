// The direct transport's listener (proxy-pod/server.ts `direct`, protocol/direct-tls.ts) with real
// TLS on loopback and per-session certificates from src/direct/session-certs.ts: the session's
// client certificate reaches the SOCKS server behind it; no certificate, another session's
// certificate, a plain TCP client, and a server that is not the pinned one are all refused.
import t from 'tap';
import net from 'node:net';
import tls from 'node:tls';
import { startProxyServer } from '../../../dist/proxy-pod/server.js';
import { connectDirect } from '../../../dist/protocol/direct-tls.js';
import { generateSessionCerts } from '../../../dist/src/direct/session-certs.js';

const TOKEN = 'direct-test-token';
const GREETING = Buffer.from([5, 1, 2]); // SOCKS5, one method: username/password

/** Everything the peer sends within ms after `bytes`, and how it ended (bounded). */
function exchange(socket, bytes, ms = 3000) {
  return new Promise((resolve) => {
    const chunks = [];
    let error;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ data: Buffer.concat(chunks), error });
    };
    const timer = setTimeout(done, ms);
    socket.on('data', (d) => {
      chunks.push(d);
      if (Buffer.concat(chunks).length >= 2) done();
    });
    socket.on('error', (e) => {
      error = e;
    });
    socket.on('close', done);
    socket.write(bytes);
  });
}

const a = await generateSessionCerts('aaaaa');
const b = await generateSessionCerts('bbbbb');
const logs = [];
const server = await startProxyServer({
  host: '127.0.0.1',
  port: 0,
  token: TOKEN,
  log: (l) => logs.push(l),
  direct: { host: '127.0.0.1', port: 0, cert: a.server.cert, key: a.server.key, peerCert: a.client.cert },
});
t.teardown(() => server.close());
const port = server.directAddress.port;
const base = { host: '127.0.0.1', port, timeoutMs: 5000 };

t.test('certificates are fresh per session and self-signed', async (t) => {
  t.not(a.server.fingerprint256, b.server.fingerprint256);
  t.not(a.server.fingerprint256, a.client.fingerprint256);
  const x = new (await import('node:crypto')).X509Certificate(a.server.cert);
  t.equal(x.issuer, x.subject, 'self-issued');
  t.ok(x.verify(x.publicKey), 'self-signed');
  t.match(x.subject, /kinject-proxy-aaaaa/);
});

t.test("the session's client certificate reaches the SOCKS server", async (t) => {
  const s = await connectDirect({ ...base, cert: a.client.cert, key: a.client.key, peerCert: a.server.cert });
  const r = await exchange(s, GREETING);
  t.same([...r.data], [5, 2], 'SOCKS5 asks for username/password');
});

t.test('no client certificate is refused', async (t) => {
  const s = tls.connect({ host: '127.0.0.1', port, ca: [a.server.cert], checkServerIdentity: () => undefined });
  const r = await exchange(s, GREETING);
  t.equal(r.data.length, 0, 'no SOCKS answer');
  t.ok(r.error, `refused (${r.error?.message})`);
});

t.test("another session's client certificate is refused", async (t) => {
  const s = tls.connect({ host: '127.0.0.1', port, cert: b.client.cert, key: b.client.key, ca: [a.server.cert], checkServerIdentity: () => undefined });
  const r = await exchange(s, GREETING);
  t.equal(r.data.length, 0, 'no SOCKS answer');
  t.ok(s.destroyed, 'closed by the server');
});

t.test('a plain TCP client gets no SOCKS answer', async (t) => {
  const s = net.connect(port, '127.0.0.1');
  const r = await exchange(s, GREETING);
  t.not(r.data.subarray(0, 2).toString('hex'), '0502');
});

t.test('the runner refuses a server that is not the pinned one', async (t) => {
  await t.rejects(connectDirect({ ...base, cert: a.client.cert, key: a.client.key, peerCert: b.server.cert }));
});

t.test('the runner refuses a connect that does not finish in time', async (t) => {
  const silent = net.createServer(() => {});
  await new Promise((r) => silent.listen(0, '127.0.0.1', r));
  t.teardown(() => silent.close());
  await t.rejects(
    connectDirect({ host: '127.0.0.1', port: silent.address().port, timeoutMs: 300, cert: a.client.cert, key: a.client.key, peerCert: a.server.cert }),
    /within 300 ms/,
  );
});

t.test('a direct listener needs a token', async (t) => {
  await t.rejects(
    startProxyServer({
      host: '127.0.0.1',
      port: 0,
      log: () => {},
      direct: { host: '127.0.0.1', port: 0, cert: a.server.cert, key: a.server.key, peerCert: a.client.cert },
    }),
    /without a token/,
  );
});

// serverHandshake (dist/protocol/socks5/server.js), the handshake both the front and the proxy pod
// use, driven by an independent client (the `socks` npm package) and by raw bytes. Loopback only;
// every wait is bounded.
import t from 'tap';
import net from 'node:net';
import { createRequire } from 'node:module';
import { CMD, REPLY, credentialsMatch, serializeReply, serverHandshake } from '../../../../dist/protocol/socks5/index.js';
import { splitUsername } from '../../../../dist/protocol/socks5/server.js';

const require = createRequire(import.meta.url);
const { SocksClient } = require('socks');

const TOKEN = 'a'.repeat(64);

/** A server that runs serverHandshake on each connection and reports outcomes to `seen`. */
async function handshakeServer(t, options, seen) {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    serverHandshake(socket, options).then(
      (outcome) => {
        seen.push(outcome);
        if (outcome.accepted) {
          outcome.reader.release();
          socket.end(serializeReply(REPLY.SUCCEEDED, { type: 'ipv4', host: '10.0.0.1', port: 4242 }));
        } else {
          socket.end(outcome.reply);
        }
      },
      (err) => {
        seen.push(err);
        socket.destroy();
      },
    );
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  return server.address().port;
}

function connectVia(port, auth) {
  return SocksClient.createConnection({
    proxy: { host: '127.0.0.1', port, type: 5, ...auth },
    command: 'connect',
    destination: { host: 'redis.example', port: 6379 },
    timeout: 3000,
  });
}

t.test('the right token is accepted and the request comes through', async (t) => {
  const seen = [];
  const port = await handshakeServer(t, { token: TOKEN, handshakeTimeoutMs: 2000 }, seen);
  const { socket, remoteHost } = await connectVia(port, { userId: 'kinject', password: TOKEN });
  socket.destroy();
  t.equal(remoteHost.port, 4242);
  t.equal(seen[0].accepted, true);
  t.equal(seen[0].request.command, CMD.CONNECT);
  t.same(seen[0].request.destination, { type: 'domain', host: 'redis.example', port: 6379 });
});

t.test('a wrong token or user is refused with an RFC 1929 failure', async (t) => {
  const seen = [];
  const port = await handshakeServer(t, { token: TOKEN, handshakeTimeoutMs: 2000 }, seen);
  await t.rejects(connectVia(port, { userId: 'kinject', password: 'b'.repeat(64) }));
  await t.rejects(connectVia(port, { userId: 'someone', password: TOKEN }));
  t.equal(seen.length, 2);
  for (const outcome of seen) {
    t.equal(outcome.accepted, false);
    t.match(outcome.why, /authentication failed/);
    t.same([...outcome.reply], [0x01, 0x01]);
  }
});

t.test('a client without username/password gets NO ACCEPTABLE METHODS', async (t) => {
  const seen = [];
  const port = await handshakeServer(t, { token: TOKEN, handshakeTimeoutMs: 2000 }, seen);
  await t.rejects(connectVia(port, {}));
  t.equal(seen[0].accepted, false);
  t.match(seen[0].why, /no acceptable auth method \(offered 0x00\)/);
  t.same([...seen[0].reply], [0x05, 0xff]);
});

t.test('without a token, method 0x00 is used', async (t) => {
  const seen = [];
  const port = await handshakeServer(t, { token: undefined, handshakeTimeoutMs: 2000 }, seen);
  const { socket } = await connectVia(port, {});
  socket.destroy();
  t.equal(seen[0].accepted, true);
});

t.test('a silent client times out; a silent request times out only when asked to', async (t) => {
  const seen = [];
  const port = await handshakeServer(t, { token: undefined, handshakeTimeoutMs: 200, requestTimeoutMs: 300 }, seen);
  const quiet = net.connect(port, '127.0.0.1');
  quiet.on('error', () => {});
  const afterGreeting = net.connect(port, '127.0.0.1', () => afterGreeting.write(Buffer.from([0x05, 0x01, 0x00])));
  afterGreeting.on('error', () => {});
  for (let i = 0; i < 40 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  quiet.destroy();
  afterGreeting.destroy();
  t.equal(seen.length, 2);
  for (const err of seen) t.equal(err.code, 'ESOCKS5_TIMEOUT');
});

t.test('credentialsMatch compares user and token', async (t) => {
  t.ok(credentialsMatch('kinject', TOKEN, TOKEN));
  t.notOk(credentialsMatch('kinject', TOKEN.slice(1), TOKEN));
  t.notOk(credentialsMatch('Kinject', TOKEN, TOKEN));
  t.notOk(credentialsMatch('kinject', '', TOKEN));
});

t.test('"kinject/<pid>" authenticates like "kinject" and hands the pid on; pipelined bytes are read in order', async (t) => {
  const seen = [];
  const port = await handshakeServer(t, { token: TOKEN, handshakeTimeoutMs: 2000, requestTimeoutMs: 2000 }, seen);
  const user = Buffer.from('kinject/4242');
  const auth = Buffer.concat([Buffer.from([1, user.length]), user, Buffer.from([TOKEN.length]), Buffer.from(TOKEN)]);
  const request = Buffer.from([5, CMD.CONNECT, 0, 1, 10, 0, 0, 9, 0x18, 0xeb]);
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(Buffer.concat([Buffer.from([5, 1, 2]), auth, request])); // all three at once
  const got = [];
  socket.on('data', (d) => got.push(d));
  await new Promise((resolve) => socket.once('close', resolve));
  t.equal(seen[0].accepted, true, 'accepted');
  t.equal(seen[0].clientPid, 4242, 'the pid named in the username');
  t.same(seen[0].request.destination, { type: 'ipv4', host: '10.0.0.9', port: 6379 });
  t.same([...Buffer.concat(got).subarray(0, 4)], [5, 2, 1, 0], 'method choice, then auth success');
});

t.test('splitUsername: only digits after the last slash are a pid', async (t) => {
  t.same(splitUsername('kinject/123'), { name: 'kinject', pid: 123 });
  t.same(splitUsername('kinject'), { name: 'kinject' });
  t.same(splitUsername('kinject/'), { name: 'kinject/' });
  t.same(splitUsername('kinject/0'), { name: 'kinject/0' }, 'no pid 0');
  t.same(splitUsername('kinject/12x'), { name: 'kinject/12x' });
  t.notOk(credentialsMatch(splitUsername('other/123').name, TOKEN, TOKEN), 'another user with a pid is still another user');
});

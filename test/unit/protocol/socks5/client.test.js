// The client helpers of dist/protocol/socks5 (StreamReader, clientHandshake, clientRequest) against an
// independent SOCKS5 server (the `socksv5` npm package) and small raw-byte fake servers.
// Loopback only; every wait is bounded.
import t from 'tap';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { createRequire } from 'node:module';
import {
  CMD,
  REPLY,
  StreamReader,
  clientHandshake,
  clientRequest,
  parseGreeting,
  parseRequest,
  serializeMethodChoice,
  serializeReply,
} from '../../../../dist/protocol/socks5/index.js';

const require = createRequire(import.meta.url);
const socksv5 = require('socksv5');

const LOOP = '127.0.0.1';

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOP, () => resolve(server.address().port));
  });
}

function connectTo(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, LOOP, () => resolve(s));
    s.once('error', reject);
  });
}

/** Reads until `n` bytes arrived (bounded by time). */
function readBytes(stream, n, ms = 3000) {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => {
      stream.off('data', onData);
      reject(new Error(`timeout: ${got.length}/${n} bytes`));
    }, ms);
    const onData = (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= n) {
        clearTimeout(timer);
        stream.off('data', onData);
        stream.pause();
        resolve(got);
      }
    };
    stream.on('data', onData);
  });
}

// An echo server as the final destination.
const echo = net.createServer((c) => c.pipe(c));
const echoPort = await listen(echo);
// A port with nothing listening.
const closedPort = await (async () => {
  const s = net.createServer();
  const p = await listen(s);
  await new Promise((r) => s.close(r));
  return p;
})();

async function startSocksv5(auth) {
  const srv = socksv5.createServer((info, accept) => accept());
  srv.useAuth(auth);
  const port = await new Promise((resolve) => srv.listen(0, LOOP, () => resolve(srv.address().port)));
  return { port, close: () => new Promise((r) => srv.close(r)) };
}

const open = await startSocksv5(socksv5.auth.None());
const locked = await startSocksv5(socksv5.auth.UserPassword((user, pass, cb) => cb(user === 'kinject' && pass === 'sesame')));
t.teardown(async () => {
  echo.close();
  await open.close();
  await locked.close();
});

t.test('no-auth handshake + CONNECT by IPv4 to an echo server', async (t) => {
  const s = await connectTo(open.port);
  t.teardown(() => s.destroy());
  await clientHandshake(s, undefined, { timeoutMs: 3000 });
  const reply = await clientRequest(s, CMD.CONNECT, { type: 'ipv4', host: LOOP, port: echoPort }, { timeoutMs: 3000 });
  t.equal(reply.reply, REPLY.SUCCEEDED);
  t.equal(reply.bound.type, 'ipv4');
  s.write('ping');
  t.equal((await readBytes(s, 4)).toString(), 'ping');
});

t.test('CONNECT by domain name', async (t) => {
  const s = await connectTo(open.port);
  t.teardown(() => s.destroy());
  await clientHandshake(s);
  const reply = await clientRequest(s, CMD.CONNECT, { type: 'domain', host: 'localhost', port: echoPort }, { timeoutMs: 3000 });
  t.equal(reply.reply, 0);
  s.write('by name');
  t.equal((await readBytes(s, 7)).toString(), 'by name');
});

t.test('username/password, sequential and pipelined', async (t) => {
  for (const pipeline of [false, true]) {
    const s = await connectTo(locked.port);
    await clientHandshake(s, { username: 'kinject', password: 'sesame' }, { pipeline, timeoutMs: 3000 });
    const reply = await clientRequest(s, CMD.CONNECT, { type: 'ipv4', host: LOOP, port: echoPort }, { timeoutMs: 3000 });
    t.equal(reply.reply, 0, `pipeline=${pipeline}`);
    s.write('x');
    t.equal((await readBytes(s, 1)).toString(), 'x');
    s.destroy();
  }
});

t.test('wrong password rejects with ESOCKS5_AUTH', async (t) => {
  const s = await connectTo(locked.port);
  t.teardown(() => s.destroy());
  await t.rejects(clientHandshake(s, { username: 'kinject', password: 'wrong' }, { timeoutMs: 3000 }), { code: 'ESOCKS5_AUTH' });
});

t.test('no credentials for a server that wants them rejects with ESOCKS5_NO_METHOD', async (t) => {
  const s = await connectTo(locked.port);
  t.teardown(() => s.destroy());
  await t.rejects(clientHandshake(s, undefined, { timeoutMs: 3000 }), { code: 'ESOCKS5_NO_METHOD' });
});

t.test('refused destination: the (short) failure reply is returned as code 5', async (t) => {
  const s = await connectTo(open.port);
  t.teardown(() => s.destroy());
  await clientHandshake(s);
  const reply = await clientRequest(s, CMD.CONNECT, { type: 'ipv4', host: LOOP, port: closedPort }, { timeoutMs: 3000 });
  t.equal(reply.reply, REPLY.CONNECTION_REFUSED);
});

/** A raw fake server driven by a script of (parser, response) steps. */
async function fakeServer(onConn) {
  const conns = new Set();
  const srv = net.createServer((c) => {
    conns.add(c);
    c.on('error', () => {});
    onConn(c);
  });
  const port = await listen(srv);
  return {
    port,
    close: () =>
      new Promise((r) => {
        for (const c of conns) c.destroy();
        srv.close(r);
      }),
  };
}

t.test('bytes that follow the reply in the same segment stay readable', async (t) => {
  const fake = await fakeServer(async (c) => {
    const r = new StreamReader(c);
    await r.read(parseGreeting);
    c.write(serializeMethodChoice(0));
    const req = await r.read(parseRequest);
    c.write(Buffer.concat([serializeReply(0, { type: 'ipv4', host: '10.0.0.1', port: 4242 }), Buffer.from('hello')]));
    c.end(`:${req.destination.host}`);
  });
  t.teardown(fake.close);
  const s = await connectTo(fake.port);
  await clientHandshake(s);
  const reply = await clientRequest(s, CMD.CONNECT, { type: 'domain', host: 'svc.ns', port: 80 });
  t.same(reply, { reply: 0, bound: { type: 'ipv4', host: '10.0.0.1', port: 4242 } });
  t.equal((await readBytes(s, 12)).toString(), 'hello:svc.ns');
  s.destroy();
});

t.test('a server that picks an unoffered method is refused', async (t) => {
  const fake = await fakeServer((c) => {
    c.on('error', () => {});
    c.write(serializeMethodChoice(0x00));
  });
  t.teardown(fake.close);
  const s = await connectTo(fake.port);
  t.teardown(() => s.destroy());
  await t.rejects(clientHandshake(s, { username: 'kinject', password: 'x' }, { timeoutMs: 3000 }), { code: 'ESOCKS5_NO_METHOD' });
});

t.test('StreamReader: pipelined messages, partial input, leftovers, errors', async (t) => {
  const p = new PassThrough();
  const r = new StreamReader(p);
  // two messages and some payload in one chunk, then the rest of a third in pieces
  p.write(Buffer.from([5, 1, 2, 5, 0x02]));
  t.same(await r.read(parseGreeting), { methods: [2] });
  const pending = r.read(parseGreeting);
  setTimeout(() => p.write(Buffer.from([2, 0])), 10);
  t.same(await pending, { methods: [2, 0] });
  p.write(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, 0, 80, 0x41, 0x42]));
  t.same(await r.read(parseRequest), { command: 1, destination: { type: 'ipv4', host: '127.0.0.1', port: 80 } });
  r.release();
  t.equal(p.read(2).toString(), 'AB', 'leftover went back into the stream');
  await t.rejects(r.read(parseGreeting), /after release/);

  const q = new PassThrough();
  const r2 = new StreamReader(q);
  await t.rejects(r2.read(parseGreeting, { timeoutMs: 50 }), { code: 'ESOCKS5_TIMEOUT' });
  q.write(Buffer.from([4, 1, 0]));
  await t.rejects(r2.read(parseGreeting), { code: 'ESOCKS5_PROTOCOL' });

  const e = new PassThrough();
  const r3 = new StreamReader(e);
  const waiting = r3.read(parseGreeting);
  e.end(Buffer.from([5]));
  await t.rejects(waiting, { code: 'ESOCKS5_CLOSED' });
  await t.rejects(r3.read(parseGreeting), { code: 'ESOCKS5_CLOSED' });
});

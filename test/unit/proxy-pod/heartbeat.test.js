// The heartbeat between the runner's tunnel pool and the pod server, with short intervals: while
// the pool sends heartbeats, a quiet connection and an "orphaned" one (open, silent: a
// port-forward whose far end vanished) do not stop the server going on; once the pool is gone,
// the orphan no longer keeps the server alive. A quiet SSH session with keepalives (sshfs'
// ServerAlive) counts as activity. The pool's heartbeats are the mux session's pings: it reopens
// the session when the tunnel drops or the pings go unanswered.
import t from 'tap';
import net from 'node:net';
import ssh2 from 'ssh2';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startProxyServer } from '../../../dist/proxy-pod/server.js';
import { startSftpServer, generateSessionKeys } from '../../../dist/proxy-pod/sftp/index.js';
import { CMD_HEARTBEAT, CMD_MUX } from '../../../dist/protocol/commands.js';
import { PodTunnel } from '../../../dist/src/tunnel/pod-tunnel.js';
import { clientHandshake, clientRequest, serverHandshake, serializeReply, CMD } from '../../../dist/protocol/socks5/index.js';
import { waitUntil } from '../../../test/helpers/wait.js';

const TOKEN = 'h'.repeat(64);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startServer(t, extra = {}) {
  const lines = [];
  let exitedAt = null;
  const server = await startProxyServer({
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    exitWhenIdleSeconds: 0.4,
    heartbeatGraceSeconds: 1,
    log: (l) => lines.push(l),
    onIdleExit: () => {
      exitedAt = Date.now();
    },
    ...extra,
  });
  t.teardown(() => server.close());
  return { server, lines, port: server.address.port, exited: () => exitedAt };
}

/** A pool over plain TCP; cut() drops its connections and refuses new ones (the runner vanished). */
function makePool(t, port, extra = {}) {
  const sockets = [];
  const debug = [];
  let vanished = false;
  const pool = new PodTunnel({
    kc: new KubeConfig(),
    namespace: 'ns',
    pod: 'kinject-hb',
    port,
    token: TOKEN,
    heartbeatMs: 100,
    connect: async () => {
      if (vanished) throw new Error('the runner is gone');
      const s = net.connect(port, '127.0.0.1');
      sockets.push(s);
      await once(s, 'connect');
      return s;
    },
    podGone: async () => undefined,
    log: { debug: (m) => debug.push(m) },
    ...extra,
  });
  t.teardown(() => pool.close());
  const cut = () => {
    vanished = true;
    for (const s of sockets) s.destroy();
  };
  return { pool, sockets, debug, cut };
}

/** An authenticated connection that then says nothing: what an orphaned port-forward looks like. */
async function orphan(t, port) {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => {});
  t.teardown(() => s.destroy());
  await once(s, 'connect');
  await clientHandshake(s, { username: 'kinject', password: TOKEN }, { timeoutMs: 3000 });
  return s;
}

async function echoServer(t) {
  const srv = net.createServer((s) => s.pipe(s));
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.teardown(() => srv.close());
  return srv.address().port;
}

t.test('heartbeats keep the server up around quiet and orphaned connections; without them the orphan does not', async (t) => {
  const { lines, port, exited } = await startServer(t);
  const echoPort = await echoServer(t);
  const stray = await orphan(t, port);
  const { pool, cut } = makePool(t, port);
  await pool.ready(3000);
  // a user connection through the tunnel that stays quiet for longer than the grace time
  const quiet = await pool.open();
  t.equal((await clientRequest(quiet, CMD.CONNECT, { type: 'ipv4', host: '127.0.0.1', port: echoPort }, { timeoutMs: 3000 })).reply, 0);
  // 25 heartbeats 100 ms apart: at least 2.5 s, well past the 1 s grace, however late timers run
  await waitUntil(() => pool.heartbeatsAnswered >= 25, 20_000, '25 heartbeats answered');
  t.equal(exited(), null, 'still up after 25 heartbeats (grace 1 s): the pool sends heartbeats');
  quiet.write('still here');
  const [back] = await once(quiet, 'data');
  t.equal(String(back), 'still here', 'the quiet connection still works');
  quiet.destroy();

  // the runner vanishes (no close(), whose SHUTDOWN would end the server at once): its tunnel
  // drops and nothing reconnects; the orphaned connection stays open in the "pod"
  cut();
  await waitUntil(() => exited() !== null, 20_000, 'the server exits after the pool is gone');
  t.match(
    lines.join('\n'),
    /no heartbeat, new connection or client data for 1 s \(1 connection\(s\) still open\), exiting/,
    'exited for want of heartbeats, with the orphan still open',
  );
  if (!stray.closed) await once(stray, 'close');
  t.pass('the orphan is closed by the exit');
});

t.test('without any heartbeat the old rule holds: an open connection keeps the server up', async (t) => {
  const { lines, port, exited } = await startServer(t);
  const s = await orphan(t, port);
  await sleep(1800);
  t.equal(exited(), null, 'up with a quiet connection (no heartbeat ever seen)');
  s.destroy();
  await waitUntil(() => exited() !== null, 20_000, 'exit once the connection is gone');
  t.match(lines.join('\n'), /no client connection for 0\.4 s, exiting/);
});

t.test('an SSH session with keepalives (sshfs ServerAlive) counts as activity after heartbeats stopped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kinject-hb-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'f.txt'), 'x');
  const keys = generateSessionKeys('hb');
  const sftpServer = await startSftpServer({
    host: '127.0.0.1',
    port: 0,
    hostKey: keys.hostPrivateKey,
    authorizedKey: keys.clientPublicKey,
    exports: [{ path: dir, readOnly: true }],
  });
  t.teardown(() => sftpServer.close());
  const { port, exited, lines } = await startServer(t, { activitySources: [sftpServer] });
  // one heartbeat stream puts the server into heartbeat mode, then it goes away
  const hb = await orphan(t, port);
  t.equal((await clientRequest(hb, CMD_HEARTBEAT, { type: 'domain', host: 'heartbeat', port: 0 }, { timeoutMs: 3000 })).reply, 0);
  hb.write('.');
  await once(hb, 'data');
  hb.destroy();
  // sshfs through the tunnel: a CONNECT to the SFTP port, then an idle session with keepalives
  const tunnel = await orphan(t, port);
  t.equal((await clientRequest(tunnel, CMD.CONNECT, { type: 'ipv4', host: '127.0.0.1', port: sftpServer.address.port }, { timeoutMs: 3000 })).reply, 0);
  const conn = new ssh2.Client();
  t.teardown(() => conn.end());
  await new Promise((resolve, reject) => {
    conn.on('ready', resolve).on('error', reject);
    conn.connect({ sock: tunnel, username: 'kinject', privateKey: keys.clientPrivateKey, keepaliveInterval: 200, keepaliveCountMax: 1000 });
  });
  await sleep(2500);
  t.equal(exited(), null, `up 2.5 s after the last heartbeat (grace 1 s): keepalives flow (${lines.join(' | ')})`);
  conn.end();
  tunnel.destroy();
  await waitUntil(() => exited() !== null, 20_000, 'exit once the session is gone');
  t.match(lines.join('\n'), /exiting/, 'exits once the session is gone');
});

/** A SOCKS server that authenticates, then answers the request with `reply` and says nothing more. */
async function fakePodServer(t, reply) {
  const requests = [];
  const srv = net.createServer(async (s) => {
    s.on('error', () => {});
    try {
      const out = await serverHandshake(s, { token: TOKEN, handshakeTimeoutMs: 3000 });
      if (!out.accepted) return s.end(out.reply);
      requests.push(out.request.command);
      s.write(serializeReply(reply));
      if (reply !== 0) s.end();
    } catch {
      s.destroy();
    }
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.teardown(() => srv.close());
  return { port: srv.address().port, requests };
}

t.test('pool: the session is reopened when the tunnel drops, and pings are answered again', async (t) => {
  const { port } = await startServer(t, { exitWhenIdleSeconds: 30 });
  const { pool, sockets } = makePool(t, port);
  await pool.ready(3000);
  await waitUntil(() => pool.heartbeatsAnswered > 0, 20_000, 'a heartbeat answered');
  const before = pool.heartbeatsAnswered;
  for (const s of sockets) s.destroy(); // the port-forward breaks
  await waitUntil(
    () => pool.sessionsOpened === 2 && pool.heartbeatsAnswered > before + 3,
    20_000,
    () => `heartbeats answered again over a second session (${before} -> ${pool.heartbeatsAnswered}, sessions ${pool.sessionsOpened})`,
  );
  t.equal(pool.sessionsOpened, 2, 'reopened once, and pings answered again');
});

t.test('pool: no answer to pings -> the session is dropped after 3 intervals and reopened', async (t) => {
  const { port, requests } = await fakePodServer(t, 0);
  const { pool, debug } = makePool(t, port);
  await pool.ready(3000);
  await waitUntil(() => requests.filter((c) => c === CMD_MUX).length >= 2, 20_000, 'a second MUX session');
  t.match(debug.join('\n'), /no answer through the tunnel for \d+ s/);
});

t.test('pool: a pod server that refuses MUX (reply 7): open() fails saying so', async (t) => {
  const { port, requests } = await fakePodServer(t, 7);
  const { pool } = makePool(t, port);
  await t.rejects(pool.open(), { name: 'KinjectError', message: /refused the MUX request \(command not supported\): it is not this kinject's pod server/ });
  t.same(requests, [CMD_MUX], 'asked once');
});

t.test('pool: heartbeatMs 0 sends none; close() stops them', async (t) => {
  const quiet = await startServer(t, { exitWhenIdleSeconds: 30 });
  const { pool } = makePool(t, quiet.port, { heartbeatMs: 0 });
  await pool.ready(3000);
  await sleep(400);
  t.equal(pool.heartbeatsAnswered, 0);
  const live = await startServer(t, { exitWhenIdleSeconds: 30 });
  const other = makePool(t, live.port);
  await other.pool.ready(3000);
  await waitUntil(() => other.pool.heartbeatsAnswered > 0, 20_000, 'a heartbeat answered before close()');
  await other.pool.close();
  const n = other.pool.heartbeatsAnswered;
  await sleep(400);
  t.equal(other.pool.heartbeatsAnswered, n, 'no more after close()');
});

// The process behind a loopback connection (the inspection page's pid and process columns), with
// real processes: a child opens connections to a server here; its pid is found for every one, and
// past the scan budget many connections are looked up with one scan of /proc, not one each.
import t from 'tap';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { PeerProcessBatch, peerProcess } from '../../../../dist/src/inspect/peer-process.js';

t.test('the owner of every connection; past the CPU budget, one scan for many', async (t) => {
  const accepted = [];
  const server = net.createServer((s) => accepted.push(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const n = 20;
  const program = `const net = require('node:net'); for (let i = 0; i < ${n}; i++) net.connect(${server.address().port}, '127.0.0.1'); setTimeout(() => {}, 20000);`;
  const child = spawn(process.execPath, ['-e', program], { stdio: 'ignore' });
  t.teardown(() => {
    child.kill('SIGKILL');
    for (const s of accepted) s.destroy();
    server.close();
  });
  const until = Date.now() + 10_000;
  while (accepted.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  t.equal(accepted.length, n, 'all connections accepted');
  const within = new PeerProcessBatch();
  const first = await within.ownerOf(accepted[0].remotePort);
  t.equal(first?.pid, child.pid, 'within the budget: found at once');
  t.match(first.command, /node -e/, 'with its command line');
  const spent = new PeerProcessBatch(process.pid, 0); // no budget: every look-up waits for the next window
  const owners = await Promise.all(accepted.map((s) => spent.ownerOf(s.remotePort, s.localPort)));
  t.ok(
    owners.every((o) => o?.pid === child.pid),
    `every connection's owner is the child (${child.pid}): ${[...new Set(owners.map((o) => o?.pid))].join(', ')}`,
  );
  t.equal(spent.scans, 1, 'one scan for all of them');
  t.equal(peerProcess(accepted[0].remotePort, process.pid, 'tcp', accepted[0].localPort)?.pid, child.pid, 'the single look-up agrees');
  t.equal(await within.ownerOf(1), undefined, 'a port nobody here uses: no owner');
});

t.test('two programs on one local port (different destinations): each connection finds its own', async (t) => {
  // Linux lets connections whose destinations differ share an ephemeral port (here forced with
  // SO_REUSEADDR): the peer port alone would name one program for both
  const servers = [net.createServer(), net.createServer()];
  const accepted = [[], []];
  for (const [i, s] of servers.entries()) s.on('connection', (c) => accepted[i].push(c)).listen(0, '127.0.0.1');
  await Promise.all(servers.map((s) => once(s, 'listening')));
  const program = `import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1]))); s.connect(('127.0.0.1', int(sys.argv[2]))); print(s.getsockname()[1], flush=True); time.sleep(20)`;
  const children = [];
  t.teardown(() => {
    for (const c of children) c.kill('SIGKILL');
    for (const c of accepted.flat()) c.destroy();
    for (const s of servers) s.close();
  });
  let port = 0;
  for (const server of servers) {
    const child = spawn('python3', ['-c', program, String(port), String(server.address().port)], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(child);
    const [line] = await Promise.race([once(child.stdout, 'data'), new Promise((_, reject) => setTimeout(() => reject(new Error('no port in 10 s')), 10_000))]);
    port = Number(String(line).trim());
  }
  const until = Date.now() + 10_000;
  while (accepted.flat().length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  t.same(
    accepted.map((list) => list[0]?.remotePort),
    [port, port],
    'both connections come from one port',
  );
  const batch = new PeerProcessBatch(process.pid, 0);
  const owners = await Promise.all(accepted.map((list) => batch.ownerOf(port, list[0].localPort)));
  t.same(
    owners.map((o) => o?.pid),
    children.map((c) => c.pid),
    'each server port names its own client',
  );
  t.same(
    accepted.map((list) => peerProcess(port, process.pid, 'tcp', list[0].localPort)?.pid),
    children.map((c) => c.pid),
    'the single look-up too',
  );
});

t.test('udp: the owner of a datagram socket, on the budget too', async (t) => {
  // a child binds a UDP socket on loopback and prints its port
  const program = `const s = require('node:dgram').createSocket('udp4'); s.bind(0, '127.0.0.1', () => console.log(s.address().port)); setTimeout(() => {}, 20000);`;
  const child = spawn(process.execPath, ['-e', program], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => child.kill('SIGKILL'));
  const [line] = await Promise.race([once(child.stdout, 'data'), new Promise((_, reject) => setTimeout(() => reject(new Error('no port in 10 s')), 10_000))]);
  const port = Number(String(line).trim());
  const within = new PeerProcessBatch(process.pid, undefined, 'udp');
  t.equal((await within.ownerOf(port))?.pid, child.pid, 'within the budget: found at once');
  const spent = new PeerProcessBatch(process.pid, 0, 'udp');
  const owners = await Promise.all([spent.ownerOf(port), spent.ownerOf(port)]);
  t.same(
    owners.map((o) => o?.pid),
    [child.pid, child.pid],
    'past it: found by the next window',
  );
  t.equal(spent.scans, 1, 'one scan for both');
});

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
  const owners = await Promise.all(accepted.map((s) => spent.ownerOf(s.remotePort)));
  t.ok(
    owners.every((o) => o?.pid === child.pid),
    `every connection's owner is the child (${child.pid}): ${[...new Set(owners.map((o) => o?.pid))].join(', ')}`,
  );
  t.equal(spent.scans, 1, 'one scan for all of them');
  t.equal(peerProcess(accepted[0].remotePort)?.pid, child.pid, 'the single look-up agrees');
  t.equal(await within.ownerOf(1), undefined, 'a port nobody here uses: no owner');
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

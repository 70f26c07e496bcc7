// The shim with kinject's own front (KINJECT_FRONT=1), the real front (dist/src/front) over the
// world's pod server: RESOLVE answers kept in the shim for as long as the front's reply says and
// asked again after; the process id in the SOCKS username reaching the inspection feed; and the
// same program without KINJECT_FRONT (plain RFC 1928, step by step) asking every time.
import t from 'tap';
import { createWorld } from '../helpers/netns-world.js';
import { startFront } from '../../dist/src/front/server.js';
import { createResolver } from '../../dist/src/front/resolver.js';
import { connectSocksUpstream, parseProxyUrl } from '../../dist/src/front/socks-upstream.js';
import { onInspect } from '../../dist/src/inspect/events.js';

const world = await createWorld(t, { pod6: false, socksv5: false });
const { web } = world.services;
const TTL_MS = 1500;
const quietLog = { info() {}, warn() {}, debug() {} };

const upstream = await connectSocksUpstream(parseProxyUrl(`socks5://kinject:${world.token}@${world.pod.host}:${world.pod.port}`));
const resolver = createResolver(upstream, TTL_MS);
const asked = [];
const counting = {
  ...resolver,
  resolve(name) {
    asked.push(name);
    return resolver.resolve(name);
  },
};
const frontToken = 'front-token-for-this-test';
const front = await startFront({ upstream, resolver: counting, token: frontToken, log: quietLog });
t.teardown(() => front.close());
const events = [];
t.teardown(onInspect((e) => events.push(e)));
const via = `${front.address.host}:${front.address.port}`;

// 5 lookups, a pause, 1 more, then a connection by name: prints its pid and what it got
const program = `
import os, socket, sys, time
print(os.getpid(), flush=True)
name = sys.argv[1]
for i in range(5):
    print(socket.getaddrinfo(name, 80, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
time.sleep(float(sys.argv[2]))
print(socket.getaddrinfo(name, 80, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
s = socket.create_connection((name, 80))
s.sendall(b"GET / HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n")
body = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    body += chunk
print(body.split(b"\\r\\n\\r\\n", 1)[1].decode())
`;
const runProgram = async (pauseS, shim) => {
  const r = await world.exec(world.python3, ['-c', program, web.name, String(pauseS)], { shim: { via, token: frontToken, dns: false, ...shim } });
  const lines = r.stdout.trim().split('\n');
  return { ...r, pid: Number(lines[0]), answers: lines.slice(1, 7), body: lines.slice(7).join('\n') };
};

t.test('KINJECT_FRONT=1: answers kept as long as the front says, the pid in the feed', async (t) => {
  asked.length = 0;
  events.length = 0;
  const r = await runProgram(0, { front: true });
  t.equal(r.code, 0, r.stderr);
  t.same(r.answers, Array(6).fill(web.ip), 'every lookup answered');
  t.equal(r.body.trim(), web.body.trim(), 'the connection by name works');
  t.equal(asked.length, 1, `seven lookups (the connection's included) within ${TTL_MS} ms: the front was asked once (${asked.length})`);
  const opened = events.filter((e) => e.type === 'connection' && e.phase === 'open');
  t.equal(opened.length, 1, 'one connection event');
  t.equal(opened[0]?.pid, r.pid, 'the pid is the one the shim named');
  t.match(opened[0]?.process, /python/, 'and its command');
  const dns = events.filter((e) => e.type === 'dns');
  t.equal(dns[0]?.pid, r.pid, 'the lookup event names the asker');

  asked.length = 0;
  const late = await runProgram((TTL_MS + 500) / 1000, { front: true });
  t.equal(late.code, 0, late.stderr);
  t.equal(late.answers[5], web.ip);
  t.equal(asked.length, 2, "past the answer's life the name is asked again");
});

t.test('without KINJECT_FRONT: plain SOCKS5 step by step, every lookup asked', async (t) => {
  asked.length = 0;
  const r = await runProgram(0, {});
  t.equal(r.code, 0, r.stderr);
  t.same(r.answers, Array(6).fill(web.ip));
  t.equal(r.body.trim(), web.body.trim());
  t.equal(asked.length, 7, "no reuse without the front's word: six lookups and the connection's own");
});

t.test('a wrong token is refused in both modes', async (t) => {
  for (const front of [true, false]) {
    const r = await world.exec(world.python3, ['-c', 'import socket,sys; socket.create_connection((sys.argv[1], 80))', web.ip], {
      shim: { via, token: 'wrong', dns: false, front },
    });
    t.not(r.code, 0, `front=${front}: refused`);
    t.match(r.stderr, /Connection refused|Permission denied/, `front=${front}: ${r.stderr.trim().split('\n').pop()}`);
  }
});

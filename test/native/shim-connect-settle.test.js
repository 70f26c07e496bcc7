// Non-blocking connects through kinject's front (KINJECT_FRONT=1, native/connect_settle.c): the
// shim sends the request and returns EINPROGRESS at once, and reads the reply when the program
// asks how the connect went or reads. Here the front's upstream takes DELAY_MS for every
// connection (a far cluster): a program's concurrent connects wait for it together, not one after
// another; a refused connect is still refused as a connect (Node's 'error' with no 'connect',
// SO_ERROR, connect again); the SOCKS reply never reaches the program, even one that writes and
// reads without asking first, and a program that writes first (as wrk does) never wakes up
// readable with nothing to read; getpeername names the destination.
import t from 'tap';
import { createWorld } from '../helpers/netns-world.js';
import { startFront } from '../../dist/src/front/server.js';
import { createResolver } from '../../dist/src/front/resolver.js';
import { connectSocksUpstream, parseProxyUrl } from '../../dist/src/front/socks-upstream.js';

const world = await createWorld(t, { pod6: false, socksv5: false });
const { web, echo, closed } = world.services;
const DELAY_MS = 300;
const N = 10;
const quietLog = { info() {}, warn() {}, debug() {} };

const upstream = await connectSocksUpstream(parseProxyUrl(`socks5://kinject:${world.token}@${world.pod.host}:${world.pod.port}`));
// every stream to the pod server handed out DELAY_MS late: a tunnel round trip to a far cluster
const slow = Object.create(upstream);
slow.open = () => new Promise((resolve, reject) => setTimeout(() => upstream.open().then(resolve, reject), DELAY_MS));
const token = 'front-token-for-this-test';
const front = await startFront({ upstream: slow, resolver: createResolver(upstream, 5000), token, log: quietLog });
t.teardown(() => front.close());
const shim = (pipelined) => ({ via: `${front.address.host}:${front.address.port}`, token, dns: false, front: pipelined });

const concurrent = `
const net = require('node:net');
const [host, port, n] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const t0 = Date.now();
let done = 0;
const bodies = [];
for (let i = 0; i < n; i++) {
  const s = net.connect(port, host, () => s.write('GET / HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n'));
  let body = '';
  s.on('data', (d) => (body += d));
  s.on('error', (e) => console.log('error', e.code));
  s.on('close', () => {
    bodies.push(body.split('\\r\\n\\r\\n')[1]);
    if (++done === n) console.log(JSON.stringify({ ms: Date.now() - t0, bodies }));
  });
}`;

t.test(`${N} concurrent connects from Node wait for the far side together`, async (t) => {
  const results = {};
  for (const front of [true, false]) {
    const r = await world.exec(process.execPath, ['-e', concurrent, web.ip, '80', String(N)], { shim: shim(front) });
    t.equal(r.code, 0, r.stderr);
    results[front] = JSON.parse(r.stdout.trim().split('\n').pop());
    t.same(results[front].bodies, Array(N).fill(web.body), `front=${front}: every connection got its response`);
  }
  // one after another they take N × DELAY_MS at least (the plain RFC 1928 path still waits in connect())
  t.ok(results.false.ms >= N * DELAY_MS, `without the front, one after another: ${results.false.ms} ms`);
  t.ok(results.true.ms < (N * DELAY_MS) / 2, `with it, together: ${results.true.ms} ms (one after another: ≥ ${N * DELAY_MS} ms)`);
});

t.test("a refused connect is refused as a connect: Node's 'error' ECONNREFUSED, never 'connect'", async (t) => {
  const program = `require('node:net').connect(Number(process.argv[2]), process.argv[1]).on('connect', () => console.log('connected')).on('error', (e) => console.log(e.code));`;
  const r = await world.exec(process.execPath, ['-e', program, closed.ip, String(closed.port)], { shim: shim(true) });
  t.equal(r.stdout.trim(), 'ECONNREFUSED', r.stderr);
});

// Python with a non-blocking socket: every way a program learns how its connect went
const nonblocking = `
import errno, select, socket, sys
def start(host, port):
    s = socket.socket()
    s.setblocking(False)
    print("connect", errno.errorcode.get(s.connect_ex((host, port)), 0))
    return s
web, echo, closed = sys.argv[1], sys.argv[2], sys.argv[3]
s = start(web, 80)
select.select([], [s], [], 10)
print("SO_ERROR", s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
print("again", errno.errorcode.get(s.connect_ex((web, 80)), 0))
print("peer", s.getpeername())
s = start(closed, 81)
select.select([], [s], [], 10)
print("SO_ERROR", errno.errorcode.get(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR), 0))
s = start(closed, 81)
print("again", errno.errorcode.get(s.connect_ex((closed, 81)), 0))
def read(s):
    # the reply itself makes the socket readable once: then there may be nothing yet (EAGAIN)
    for _ in range(50):
        select.select([s], [], [], 10)
        try:
            return s.recv(100)
        except BlockingIOError:
            pass
# no question asked: a write right away, then a read once readable
s = start(echo, 7)
s.send(b"ping")
print("echo", read(s))
# as wrk does: writable -> write -> readable -> a read that must find data (EAGAIN would be an error)
s = start(web, 80)
select.select([], [s], [], 10)
s.send(b"GET / HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n")
select.select([s], [], [], 10)
print("strict", s.recv(5))
s = start(closed, 81)
try:
    read(s)
    print("read", "no error")
except OSError as e:
    print("read", errno.errorcode.get(e.errno))
`;

t.test('Python, non-blocking: SO_ERROR, connect again, getpeername, read without asking', async (t) => {
  const r = await world.exec(world.python3, ['-c', nonblocking, web.ip, echo.ip, closed.ip], { shim: shim(true) });
  t.equal(r.code, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), [
    'connect EINPROGRESS',
    'SO_ERROR 0',
    'again EISCONN',
    `peer ('${web.ip}', 80)`,
    'connect EINPROGRESS',
    'SO_ERROR ECONNREFUSED',
    'connect EINPROGRESS',
    'again ECONNREFUSED',
    'connect EINPROGRESS',
    "echo b'ping'",
    'connect EINPROGRESS',
    "strict b'HTTP/'",
    'connect EINPROGRESS',
    'read ECONNREFUSED',
  ]);
});

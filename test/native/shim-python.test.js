// Python through the shim: urllib, asyncio, an explicit non-blocking connect (EINPROGRESS,
// writable at once, SO_ERROR 0, flags kept), an AF_INET6 dual-stack socket to a v4-mapped
// address (as Java does), getaddrinfo hints, gethostbyname, reverse lookups, fast errors.
import t from 'tap';
import { createWorld } from '../helpers/netns-world.js';

const world = await createWorld(t);
const probe = world.program('py-probe.py');
const { web, echo, closed } = world.services;
const py = async (args, o = {}) => {
  const r = await world.exec(world.python3, [probe, ...args], o);
  try {
    return { ...JSON.parse(r.stdout.trim().split('\n').pop()), stderr: r.stderr };
  } catch {
    return { ok: false, error: 'no output', stdout: r.stdout, stderr: r.stderr, exit: r.code };
  }
};

t.test('urllib by name and by IP', async (t) => {
  for (const url of [web.url, web.urlByIp]) {
    const r = await py(['urllib', url], { shim: true });
    t.equal(r.ok, true, `${url}: ${r.error} ${r.stderr}`);
    t.equal(r.body, web.body);
  }
  const without = await py(['urllib', web.url]);
  t.match(
    without,
    { ok: false, kind: 'gaierror', error: /name resolution|Name or service not known/ },
    `without the shim the name does not resolve ${without.stderr}`,
  );
});

t.test('asyncio open_connection: echo, peername is the service', async (t) => {
  const r = await py(['asyncio', echo.name, String(echo.port)], { shim: true });
  t.equal(r.ok, true, `${r.error} ${r.stderr}`);
  t.equal(r.data, 'hello asyncio');
  t.same(r.peer, [echo.ip, echo.port]);
});

t.test('non-blocking connect: EINPROGRESS, writable, SO_ERROR 0, still non-blocking', async (t) => {
  const r = await py(['nonblock', echo.name, String(echo.port)], { shim: true });
  t.equal(r.ok, true, r.error);
  t.equal(r.connect_ex, 115, 'EINPROGRESS');
  t.equal(r.writable, true);
  t.equal(r.so_error, 0);
  t.equal(r.nonblocking_after, true, 'the fd flags are restored');
  t.same(r.peer, [echo.ip, echo.port]);
  t.equal(r.data, 'nonblocking!');
  const refused = await py(['nonblock', closed.name, String(closed.port)], { shim: true });
  t.ok(refused.connect_ex === 111 || refused.so_error === 111, `ECONNREFUSED: ${JSON.stringify(refused)}`);
});

t.test('AF_INET6 dual-stack socket to a v4-mapped address', async (t) => {
  const r = await py(['blocking', echo.name, String(echo.port)], { shim: true });
  t.equal(r.ok, true, `${r.error} ${r.stderr}`);
  t.same(r.peer, [`::ffff:${echo.ip}`, echo.port], 'getpeername in the family of the fd');
  t.equal(r.data, 'mapped');
});

t.test('getaddrinfo hints and gethostbyname', async (t) => {
  const any = await py(['getaddrinfo', web.name], { shim: true });
  t.same(any.addresses, [web.ip]);
  t.same(any.ports, [80], 'service name resolved');
  t.equal(any.canonname, web.name, 'AI_CANONNAME');
  const v6 = await py(['getaddrinfo', web.name, '6'], { shim: true });
  t.equal(v6.ok, false, 'AF_INET6 without AI_V4MAPPED: no address');
  const mapped = await py(['getaddrinfo', web.name, '6', 'v4mapped'], { shim: true });
  t.same(mapped.addresses, [`::ffff:${web.ip}`], 'AI_V4MAPPED');
  const only6 = await py(['getaddrinfo', 'web6.kjtest', '0'], { shim: true });
  t.same(only6.addresses, [web.ip6], 'an IPv6-only name');
  const g = await py(['gethostbyname', echo.name], { shim: true });
  t.equal(g.address, echo.ip);
  const unknown = await py(['getaddrinfo', world.unknownName], { shim: true });
  t.equal(unknown.errno, -2, `EAI_NONAME: ${unknown.error}`);
  t.ok(unknown.ms < 5000);
  const unknownG = await py(['gethostbyname', world.unknownName], { shim: true });
  t.equal(unknownG.ok, false);
});

t.test('reverse: getnameinfo and gethostbyaddr', async (t) => {
  const n = await py(['getnameinfo', web.ip, '80'], { shim: true });
  t.same([n.host, n.service], [web.name, 'http'], n.error);
  const a = await py(['gethostbyaddr', web.ip], { shim: true });
  t.equal(a.name, web.name, a.error);
  const local = await py(['getnameinfo', '127.0.0.1', '80'], { shim: true });
  t.equal(local.ok, true, 'loopback stays with libc');
});

t.test('refused and proxy down', async (t) => {
  const r = await py(['urllib', `http://${closed.name}:${closed.port}/`], { shim: true });
  t.equal(r.errno, 111, r.error);
  t.ok(r.ms < 5000);
  const down = await py(['urllib', web.urlByIp], { shim: { via: 'dead' } });
  t.equal(down.errno, 111, down.error);
  t.match(down.stderr, 'is not reachable (is kinject still running?)');
});

t.test('as the unprivileged user', async (t) => {
  const r = await py(['urllib', web.url], { shim: true, user: true });
  t.equal(r.ok, true, `${r.error} ${r.stderr}`);
  t.equal(r.body, web.body);
});

t.test('UDP DNS redirect: sendto/recvfrom, sendmsg/recvmsg, connected UDP show the nameserver', async (t) => {
  const before = world.dns.queries.length;
  const r = await py(['udp', world.nameserver, web.name], { shim: true });
  t.equal(r.ok, true, `${r.error} ${r.stderr}`);
  t.same(r.recvfrom_src, [world.nameserver, 53]);
  t.equal(r.recvfrom_ip, web.ip);
  t.same(r.recvmsg_src, [world.nameserver, 53]);
  t.equal(r.recvmsg_ip, web.ip);
  t.same(r.connected_peer, [world.nameserver, 53]);
  t.equal(r.connected_ip, web.ip);
  t.equal(world.dns.queries.length - before, 3, 'three queries reached KINJECT_DNS');
  const without = await py(['udp', world.nameserver, web.name]);
  t.equal(without.ok, false, 'without the shim nobody answers at the nameserver');
  const noDns = await py(['udp', world.nameserver, web.name], { shim: { dns: false } });
  t.equal(noDns.ok, false, 'without KINJECT_DNS: not redirected');
});

t.test("dup keeps the proxied peer; a reused fd number gets libc's answer", async (t) => {
  const r = await py(['dup', echo.name, String(echo.port)], { shim: true });
  t.equal(r.ok, true, `${r.error} ${r.stderr}`);
  t.same(r.peer, [echo.ip, echo.port]);
  t.same(r.dup_peer, [echo.ip, echo.port]);
  t.same(r.dup_peer_after_close, [echo.ip, echo.port]);
  t.equal(r.data, 'dup');
  t.equal(r.reused_fd, true);
  t.same(r.reused_peer, r.local_server, 'a local socket on the same fd number: its real peer');
});

t.test("the machine's hostname resolves locally", async (t) => {
  const withShim = await py(['hostname'], { shim: { verbose: true } });
  const without = await py(['hostname']);
  t.equal(withShim.ok, without.ok, `${withShim.error} ${without.error}`);
  t.same(withShim.addresses, without.addresses);
  t.notMatch(withShim.stderr, /RESOLVE/, 'not asked of the cluster');
});

t.test('an IPV6_V6ONLY socket to an IPv6 service (the proxy is IPv4)', async (t) => {
  const r = await py(['v6only', web.ip6, '80'], { shim: true });
  t.equal(r.ok, true, `${r.error} ${r.stderr}`);
  t.equal(r.body, web.body);
  t.same(r.peer, [web.ip6, 80]);
});

t.test('TCP Fast Open (sendto with MSG_FASTOPEN) goes through the proxy', async (t) => {
  const r = await py(['fastopen', echo.ip, String(echo.port)], { shim: true });
  t.equal(r.ok, true, `${r.error} ${r.stderr}`);
  t.equal(r.data, 'fast open');
  t.same(r.peer, [echo.ip, echo.port]);
  const without = await py(['fastopen', echo.ip, String(echo.port)]);
  t.equal(without.ok, false);
});

t.test('the cluster side has no route: ENETUNREACH', async (t) => {
  const r = await py(['urllib', `http://${world.unroutable}/`], { shim: true });
  t.equal(r.errno, 101, r.error);
});

t.test('a proxy that never answers: ETIMEDOUT after KINJECT_CONNECT_TIMEOUT_MS', async (t) => {
  const r = await py(['urllib', web.urlByIp], { shim: { via: 'silent', timeoutMs: 700 } });
  t.equal(r.errno, 110, r.error);
  t.ok(r.ms >= 600 && r.ms < 4000, `took ${r.ms} ms`);
});

t.test('a second connect() on a proxied socket: EISCONN', async (t) => {
  const r = await py(['reconnect', echo.ip, String(echo.port)], { shim: true });
  t.equal(r.ok, true, r.error);
  t.equal(r.second_connect, 106, 'EISCONN');
});

t.test('an MPTCP socket goes through the proxy like TCP', async (t) => {
  const r = await py(['mptcp', echo.ip, String(echo.port)], { shim: true });
  if (r.unsupported) return t.skip(`MPTCP not available: ${r.unsupported}`);
  t.equal(r.ok, true, `${r.error} ${r.stderr}`);
  t.equal(r.data, 'mptcp');
  t.same(r.peer, [echo.ip, echo.port]);
});

// Java through the shim: java.net.http.HttpClient (NIO, non-blocking connects on AF_INET6
// dual-stack sockets to v4-mapped addresses), java.net.Socket and InetAddress lookups.
import t from 'tap';
import { createWorld } from '../helpers/netns-world.js';

const world = await createWorld(t);
const { web, echo, closed } = world.services;
const probe = world.program('Probe.java');
const java = async (args, o = {}) => {
  const r = await world.exec(world.java, ['-Xshare:auto', '-XX:TieredStopAtLevel=1', probe, ...args], { timeoutMs: 120000, ...o });
  try {
    return { ...JSON.parse(r.stdout.trim().split('\n').pop()), stderr: r.stderr };
  } catch {
    return { ok: false, error: 'no output', stdout: r.stdout, stderr: r.stderr, exit: r.code };
  }
};

t.test('HttpClient by name and by IP', async (t) => {
  for (const url of [web.url, web.urlByIp]) {
    const r = await java(['http', url], { shim: true });
    t.equal(r.ok, true, `${url}: ${r.error} ${r.stderr}`);
    t.equal(r.body, web.body);
  }
});

t.test('Socket echo and the remote address Java sees', async (t) => {
  const r = await java(['socket', echo.name, String(echo.port)], { shim: true });
  t.equal(r.ok, true, `${r.error} ${r.stderr}`);
  t.equal(r.data, 'java echo');
  t.equal(r.remote, echo.ip);
});

t.test('lookup, unknown name, refused port', async (t) => {
  const l = await java(['lookup', web.name], { shim: true });
  t.same(l.addresses, [web.ip]);
  const u = await java(['lookup', world.unknownName], { shim: true });
  t.equal(u.ok, false);
  t.match(u.error, /UnknownHostException/);
  const r = await java(['http', `http://${closed.name}:${closed.port}/`], { shim: true });
  t.equal(r.ok, false);
  t.match(r.error, /ConnectException/);
  t.ok(r.ms < 10000, `took ${r.ms} ms`);
});

t.test('without the shim: no access', async (t) => {
  // the services' range has a blackhole route on the host: connect() fails with EINVAL
  const r = await java(['http', web.urlByIp], { timeoutMs: 60000 });
  t.match(r, { ok: false, error: /SocketException: Invalid argument/ }, `the host does not route the service IP (blackhole) ${r.stderr}`);
  const n = await java(['lookup', web.name]);
  t.match(n, { ok: false, error: /UnknownHostException: web\.kjtest/ }, `the host cannot resolve the name ${n.stderr}`);
});

t.test('as the unprivileged user', async (t) => {
  const r = await java(['http', web.url], { shim: true, user: true });
  t.equal(r.ok, true, `${r.error} ${r.stderr}`);
  t.equal(r.body, web.body);
});

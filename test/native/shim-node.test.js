// Node through the shim: http, fetch, net (with getpeername), dns.lookup (getaddrinfo in
// libuv's thread pool), dns.resolve4 (c-ares over UDP, redirected to KINJECT_DNS), reverse
// lookups (getnameinfo -> RESOLVE_PTR), refused and unknown fast, child processes with a
// minimal env stay captured; without the shim nothing is reachable.
import t from 'tap';
import { createWorld } from '../helpers/netns-world.js';

const world = await createWorld(t);
const probe = world.program('node-probe.mjs');
const { web, echo, closed } = world.services;
const run = async (args, o = {}) => {
  const r = await world.exec(process.execPath, [probe, ...args], o);
  try {
    return { ...JSON.parse(r.stdout.trim().split('\n').pop()), stderr: r.stderr };
  } catch {
    return { ok: false, code: 'NO_OUTPUT', stdout: r.stdout, stderr: r.stderr, exit: r.code };
  }
};

t.test('http.get and fetch by name and by IP', async (t) => {
  for (const op of ['http', 'fetch']) {
    for (const url of [web.url, web.urlByIp]) {
      const r = await run([op, url], { shim: true });
      t.equal(r.ok, true, `${op} ${url}: ${r.message ?? ''} ${r.stderr}`);
      t.equal(r.body, web.body);
    }
  }
  const r6 = await run(['http', web.urlByIp6], { shim: true });
  t.equal(r6.body, web.body, 'IPv6 literal');
});

t.test('net: echo through the proxy, remoteAddress is what the program asked for', async (t) => {
  const r = await run(['echo', echo.name, String(echo.port), 'hello echo'], { shim: true });
  t.equal(r.ok, true, r.message);
  t.equal(r.data, 'hello echo');
  t.equal(r.remoteAddress, echo.ip, 'getpeername gives the service, not the proxy');
  t.equal(r.remotePort, echo.port);
  const h = await run(['http', web.url], { shim: true });
  t.equal(h.remoteAddress, web.ip);
});

t.test('dns.lookup through RESOLVE; unknown names fail fast', async (t) => {
  const r = await run(['lookup', web.name], { shim: true });
  t.same(r.addresses, [web.ip]);
  const v4 = await run(['lookup', echo.name, '4'], { shim: true });
  t.same(v4.addresses, [echo.ip]);
  const v6 = await run(['lookup', echo.name, '6'], { shim: true });
  t.equal(v6.ok, false, 'no IPv6 address for an IPv4-only name');
  const local = await run(['lookup', 'localhost', '4'], { shim: true });
  t.same(local.addresses, ['127.0.0.1'], 'localhost stays local');
  const bad = await run(['lookup', world.unknownName], { shim: true });
  t.equal(bad.ok, false);
  t.equal(bad.code, 'ENOTFOUND');
  t.ok(bad.ms < 5000, `took ${bad.ms} ms`);
});

t.test('dns.resolve4 (c-ares, UDP) is redirected to KINJECT_DNS', async (t) => {
  const before = world.dns.queries.length;
  const r = await run(['resolve4', web.name], { shim: true });
  t.equal(r.ok, true, `${r.message} ${r.stderr}`);
  t.same(r.addresses, [web.ip]);
  t.ok(
    world.dns.queries.slice(before).some((q) => q.name === web.name),
    'the test DNS server saw the query',
  );
  const bad = await run(['resolve4', world.unknownName], { shim: true });
  t.equal(bad.code, 'ENOTFOUND');
  const without = await run(['resolve4', web.name]);
  t.equal(without.ok, false, 'without the shim the nameserver of resolv.conf does not answer');
});

t.test('reverse lookup (getnameinfo) through RESOLVE_PTR', async (t) => {
  const r = await run(['reverse', web.ip, '80'], { shim: true });
  t.equal(r.ok, true, r.message);
  t.equal(r.hostname, web.name);
  t.equal(r.service, 'http');
});

t.test('refused port: ECONNREFUSED fast', async (t) => {
  for (const host of [closed.name, closed.ip]) {
    const r = await run(['echo', host, String(closed.port)], { shim: true });
    t.equal(r.code, 'ECONNREFUSED', `${host}: ${r.message}`);
    t.ok(r.ms < 5000, `took ${r.ms} ms`);
  }
});

t.test('a child process started with a minimal env stays captured', async (t) => {
  const r = await run(['child', JSON.stringify(['http', web.url])], { shim: true });
  t.equal(r.ok, true, `${r.message} ${r.stderr}`);
  t.equal(r.body, web.body);
  const e = await run(['child', JSON.stringify(['env', 'KINJECT_SOCKS'])], { shim: true });
  t.equal(e.value, world.shimEnv().KINJECT_SOCKS);
});

t.test('without the shim: no access', async (t) => {
  const byName = await run(['http', web.url]);
  t.match(byName, { ok: false, code: /^(ENOTFOUND|EAI_AGAIN)$/ }, `the host cannot resolve the name ${byName.stderr}`);
  // the services' range has a blackhole route on the host: connect() fails with EINVAL
  const byIp = await run(['echo', web.ip, '80'], { timeoutMs: 30000 });
  t.match(byIp, { ok: false, code: 'EINVAL' }, `the host does not route the service IP (blackhole) ${byIp.stderr}`);
});

t.test('proxy down: ECONNREFUSED and the message', async (t) => {
  const r = await run(['echo', echo.ip, String(echo.port)], { shim: { via: 'dead' } });
  t.equal(r.code, 'ECONNREFUSED');
  t.match(r.stderr, `kinject: the kinject proxy at ${world.deadSocks} is not reachable (is kinject still running?)`);
});

t.test('concurrent lookups and requests from several threads', async (t) => {
  const r = await run(['parallel', '40', web.url, `http://${web.name}:80/`], { shim: true });
  t.equal(r.ok, true, `${r.message} ${r.stderr}`);
  t.equal(r.bodies.length, 40);
  t.ok(
    r.bodies.every((b) => b === web.body),
    'every body',
  );
  t.ok(
    r.addresses.every((a) => a === web.ip),
    'every address',
  );
});

t.test('the independent socksv5 server by IP', async (t) => {
  const r = await run(['http', web.urlByIp], { shim: { via: 'socksv5' } });
  t.equal(r.body, web.body, `${r.message} ${r.stderr}`);
  const e = await run(['echo', echo.ip, String(echo.port), 'via socksv5'], { shim: { via: 'socksv5' } });
  t.equal(e.data, 'via socksv5');
  t.equal(e.remoteAddress, echo.ip);
});

t.test('as the unprivileged user', async (t) => {
  const r = await run(['fetch', web.url], { shim: true, user: true });
  t.equal(r.body, web.body, `${r.message} ${r.stderr}`);
  const d = await run(['resolve4', web.name], { shim: true, user: true });
  t.same(d.addresses, [web.ip], 'dns.resolve4 too');
});

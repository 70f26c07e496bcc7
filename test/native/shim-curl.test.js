// curl through the shim: the services of a private network namespace by name and by IP
// (IPv4 and IPv6), fast failures for a refused port and an unknown name, no access
// without the shim, an unprivileged user, a proxy that is down, and the independent
// SOCKS5 server (socksv5, no RESOLVE) by IP.
import t from 'tap';
import { createWorld } from '../helpers/netns-world.js';

const world = await createWorld(t);
const { web, closed } = world.services;
const curl = (args, o = {}) => world.exec('curl', ['-sS', '-m', '10', ...args], o);

t.test('by name and by IP through the pod server', async (t) => {
  for (const url of [web.url, web.urlByIp, `http://${web.name}:80/`]) {
    const r = await curl([url], { shim: true });
    t.equal(r.code, 0, `${url}: ${r.stderr}`);
    t.equal(r.stdout, web.body, url);
  }
  const r6 = await curl(['-g', web.urlByIp6], { shim: true });
  t.equal(r6.code, 0, `IPv6 literal: ${r6.stderr}`);
  t.equal(r6.stdout, web.body);
});

t.test('quiet: nothing on stderr without KINJECT_VERBOSE; verbose lines only on stderr', async (t) => {
  const quiet = await curl([web.url], { shim: true });
  t.equal(quiet.stderr, '');
  const verbose = await curl([web.url], { shim: { verbose: true } });
  t.equal(verbose.stdout, web.body, "stdout is the program's alone");
  const lines = verbose.stderr.trim().split('\n');
  t.ok(lines.length >= 2);
  t.ok(
    lines.every((l) => /^kinject\[shim \d+\]: /.test(l)),
    'each line starts kinject[shim PID]: ',
  );
});

t.test('the server sees the connection coming from the namespace side (the proxy)', async (t) => {
  const r = await curl([`${web.url}peer`], { shim: true });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout.trim(), /^(::ffff:)?10\.208\.\d+\.10$|^(::ffff:)?10\.207\.\d+\.2$/);
});

t.test('without the shim the same commands cannot reach the services', async (t) => {
  const byName = await curl([web.url]);
  t.equal(byName.code, 6, 'name does not resolve on the host');
  const byIp = await curl([web.urlByIp]);
  t.not(byIp.code, 0, 'IP unreachable from the host');
  t.equal(byIp.stdout, '');
});

t.test('refused port: fast connection refused', async (t) => {
  const r = await curl([`http://${closed.name}:${closed.port}/`], { shim: { verbose: true } });
  t.equal(r.code, 7, r.stderr);
  t.match(r.stderr, /Connection refused/);
  t.ok(r.ms < 5000, `took ${r.ms} ms`);
  const byIp = await curl([`http://${closed.ip}:${closed.port}/`], { shim: true });
  t.equal(byIp.code, 7);
});

t.test('unknown name: fast not found', async (t) => {
  const r = await curl([`http://${world.unknownName}/`], { shim: true });
  t.equal(r.code, 6, r.stderr);
  t.match(r.stderr, /Could not resolve host/);
  t.ok(r.ms < 5000, `took ${r.ms} ms`);
});

t.test('as an unprivileged user', async (t) => {
  const r = await curl([web.url], { shim: true, user: true });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, web.body);
  const id = await world.exec('id', ['-u'], { shim: true, user: true });
  t.equal(id.stdout.trim(), String(world.user.uid));
});

t.test('proxy down: ECONNREFUSED and the one-line message, once', async (t) => {
  const r = await curl([web.urlByIp, web.urlByIp], { shim: { via: 'dead' } });
  t.equal(r.code, 7, r.stderr);
  const line = `kinject: the kinject proxy at ${world.deadSocks} is not reachable (is kinject still running?)`;
  t.equal(r.stderr.split('\n').filter((l) => l === line).length, 1, r.stderr);
  t.ok(r.ms < 5000, `took ${r.ms} ms`);
  const byName = await curl([web.url], { shim: { via: 'dead' } });
  t.equal(byName.code, 6, 'a name cannot be resolved either');
  t.match(byName.stderr, line);
});

t.test('wrong token: the pod server refuses, nothing is reached', async (t) => {
  const r = await curl([web.urlByIp], { shim: { token: 'not-the-token' } });
  t.not(r.code, 0);
  t.equal(r.stdout, '');
});

t.test('the independent socksv5 server by IP', async (t) => {
  const r = await curl([web.urlByIp], { shim: { via: 'socksv5' } });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, web.body);
  const refused = await curl([`http://${closed.ip}:${closed.port}/`], { shim: { via: 'socksv5' } });
  t.equal(refused.code, 7);
});

t.test('the fake range 127.77.0.0/16 is proxied; other loopback stays local', async (t) => {
  const fake = await curl(['http://127.77.0.1:80/'], { shim: { verbose: true } });
  t.match(fake.stderr, /connect 127\.77\.0\.1:80 via proxy/, 'sent to the proxy');
  t.equal(fake.code, 7, 'nothing there: refused by the cluster side');
  const local = await curl(['http://127.0.0.1:9/'], { shim: { verbose: true } });
  t.notMatch(local.stderr, /via proxy/, 'plain loopback is not proxied');
  t.equal(local.code, 7);
});

t.test('KINJECT_LOCAL_NAMES resolve with the local libc', async (t) => {
  for (const localNames of [web.name, '.kjtest', `other.example, ${web.name}`]) {
    const r = await curl([web.url], { shim: { localNames } });
    t.equal(r.code, 6, `${localNames}: the host cannot resolve it`);
  }
  const other = await curl([web.url], { shim: { localNames: 'echo.kjtest,.example' } });
  t.equal(other.stdout, web.body, 'names not listed still go to the cluster');
});

t.test('an IPv6 proxy address ([v6]:port) for IPv4 and IPv6 sockets', async (t) => {
  for (const url of [web.url, web.urlByIp]) {
    const r = await curl([url], { shim: { via: 'pod6' } });
    t.equal(r.stdout, web.body, `${url}: ${r.stderr}`);
  }
  const r6 = await curl(['-g', web.urlByIp6], { shim: { via: 'pod6' } });
  t.equal(r6.stdout, web.body, r6.stderr);
});

t.test('a proxy that never answers: KINJECT_CONNECT_TIMEOUT_MS bounds the wait', async (t) => {
  const r = await curl([web.urlByIp], { shim: { via: 'silent', timeoutMs: 700 } });
  t.equal(r.code, 28, `curl: timed out (ETIMEDOUT): ${r.stderr}`);
  t.ok(r.ms < 4000, `took ${r.ms} ms`);
});

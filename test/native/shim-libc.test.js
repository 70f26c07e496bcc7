// The resolver functions called directly from C (test/helpers/programs/resolver-probe.c):
// gethostbyname, gethostbyname2, gethostbyname_r (ERANGE on a tiny buffer), gethostbyname2_r,
// getaddrinfo with hints (socktype + service, AI_PASSIVE with a NULL node, AI_NUMERICHOST),
// freeaddrinfo of the shim's lists and of libc's, gethostbyaddr.
import t from 'tap';
import path from 'node:path';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createWorld } from '../helpers/netns-world.js';

const world = await createWorld(t, { pod6: false, socksv5: false });
const { web } = world.services;
const bin = path.join(world.tmpdir, 'resolver-probe');
execFileSync('gcc', ['-O1', '-Wall', '-o', bin, world.program('resolver-probe.c')]);
fs.chmodSync(bin, 0o755);
const lines = (out) =>
  Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
  );

t.test('a cluster name through every function', async (t) => {
  const r = await world.exec(bin, [web.name], { shim: true });
  t.equal(r.code, 0, r.stderr);
  const o = lines(r.stdout);
  t.equal(o.gethostbyname, `${web.name} ${web.ip} len=4`);
  t.equal(o['gethostbyname2/4'], `${web.name} ${web.ip} len=4`);
  t.equal(o['gethostbyname2/6'], 'error h_errno=4', 'no IPv6 address: NO_DATA');
  t.equal(o['gethostbyname_r/small'], 'ERANGE');
  t.equal(o.gethostbyname_r, `${web.name} ${web.ip} len=4`);
  t.equal(o.gethostbyname2_r, `${web.name} ${web.ip} len=4`);
  t.equal(o.getaddrinfo, `${web.ip}/0/tcp ${web.ip}/0/udp ${web.ip}/0/raw`);
  t.equal(o['getaddrinfo/udp'], `${web.ip}/53/udp`);
  t.equal(o['getaddrinfo/passive'], '0.0.0.0/8080/tcp', 'NULL node: libc');
  t.match(o['getaddrinfo/numerichost'], /^error/, 'AI_NUMERICHOST with a name: libc says no');
  t.equal(o.gethostbyaddr, `${web.name} ${web.ip} len=4`);
});

t.test('unknown name and localhost', async (t) => {
  const u = lines((await world.exec(bin, [world.unknownName], { shim: true })).stdout);
  t.equal(u.gethostbyname, 'error h_errno=1', 'HOST_NOT_FOUND');
  t.equal(u.getaddrinfo, 'error -2', 'EAI_NONAME');
  const l = lines((await world.exec(bin, ['localhost'], { shim: true })).stdout);
  const plain = lines((await world.exec(bin, ['localhost'])).stdout);
  t.same(l, plain, 'localhost: exactly what libc says without the shim');
});

t.test('proxy down: TRY_AGAIN / EAI_AGAIN', async (t) => {
  const r = await world.exec(bin, [web.name], { shim: { via: 'dead' } });
  const o = lines(r.stdout);
  t.equal(o.gethostbyname, 'error h_errno=2', 'TRY_AGAIN');
  t.equal(o.getaddrinfo, 'error -3', 'EAI_AGAIN');
  t.equal(r.stderr.split('\n').filter((l) => l.includes('is not reachable')).length, 1, 'the message once');
});

t.test("glibc's own DNS client (res_query family) gets KINJECT_DNS for the nameservers", async (t) => {
  const rbin = path.join(world.tmpdir, 'res-probe');
  execFileSync('gcc', ['-O1', '-Wall', '-o', rbin, world.program('res-probe.c')]);
  fs.chmodSync(rbin, 0o755);
  const before = world.dns.queries.length;
  const r = await world.exec(rbin, [web.name], { shim: true });
  const o = lines(r.stdout);
  for (const f of ['res_query', 'res_search', 'res_nquery', 'res_querydomain', 'res_send']) t.equal(o[f], web.ip, `${f} ${r.stderr}`);
  t.ok(world.dns.queries.length - before >= 5, 'the queries reached KINJECT_DNS');
  const unknown = lines((await world.exec(rbin, [world.unknownName], { shim: true })).stdout);
  t.equal(unknown.res_query, 'error');
  const without = lines((await world.exec(rbin, [web.name])).stdout);
  t.equal(without.res_query, 'error', 'without the shim: no answer');
  const noDns = lines((await world.exec(rbin, [web.name], { shim: { dns: false } })).stdout);
  t.equal(noDns.res_query, 'error', 'without KINJECT_DNS: libc as is');
});

// Programs whose allocator starts by reading files (jemalloc reads /etc/malloc.conf with readlink,
// tcmalloc its environment) run through the shim without hanging (issue 11): redis-cli (Debian's,
// linked with jemalloc) against a real redis-server in the test namespace, with and without a path
// map; a program linked with tcmalloc or with jemalloc; jemalloc LD_PRELOADed before and after the
// shim; a program whose own constructor calls readlink, open, getaddrinfo and connect before main;
// a signal handler that longjmps out of a blocking connect (the hook guard must not stay taken).
// Every run has a hard timeout: a hang is a failure that says so.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createWorld } from '../helpers/netns-world.js';

const JEMALLOC = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2'].find((p) => fs.existsSync(p));
const TCMALLOC = ['/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4', '/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4'].find((p) => fs.existsSync(p));
const missing = ['redis-cli', 'redis-server'].filter((c) => !['/usr/bin', '/usr/local/bin'].some((d) => fs.existsSync(path.join(d, c))));
if (!JEMALLOC) missing.push('libjemalloc2');
if (!TCMALLOC) missing.push('libtcmalloc-minimal4');
if (missing.length) throw new Error(`missing ${missing.join(', ')} (bash scripts/setup-host.sh installs them)`);

const HARD_MS = 20000; // a program that has not answered by then hangs
const world = await createWorld(t, { pod6: false, socksv5: false });
const { web, echo } = world.services;

// a real redis-server in the namespace, on the web service's address (web.kjtest)
const redisDir = path.join(world.tmpdir, 'redis');
fs.mkdirSync(redisDir);
const redis = world.nsSpawn('redis-server', [
  '--bind',
  web.ip,
  '--port',
  '6379',
  '--save',
  '',
  '--appendonly',
  'no',
  '--protected-mode',
  'no',
  '--dir',
  redisDir,
  '--daemonize',
  'no',
]);
await new Promise((resolve, reject) => {
  let out = '';
  const timer = setTimeout(() => reject(new Error(`redis-server did not start within 15 s: ${out}`)), 15000);
  redis.stdout.on('data', (d) => {
    out += d;
    if (/Ready to accept connections/.test(out)) {
      clearTimeout(timer);
      resolve();
    }
  });
  redis.on('exit', (c) => {
    clearTimeout(timer);
    reject(new Error(`redis-server exited (${c}): ${out}`));
  });
});
t.teardown(() => {
  try {
    redis.kill('SIGKILL');
  } catch {}
});

// a volume at /etc/kjprobe (it does not exist here): a file and a symlink in it
const IN = '/etc/kjprobe';
t.notOk(fs.existsSync(IN), `${IN} does not exist on this machine`);
const vol = path.join(world.tmpdir, 'vol');
fs.mkdirSync(vol, { mode: 0o755 });
fs.writeFileSync(path.join(vol, 'file'), 'from the volume\n', { mode: 0o644 });
fs.symlinkSync('link-text', path.join(vol, 'link'));
const pathMap = `${IN}=${vol}`;

const finished = (t, r, what) => t.notOk(r.timedOut, `${what} finished within ${HARD_MS} ms (a hang is a failure): ${r.stderr}`);
const lines = (out) =>
  Object.fromEntries(
    out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
  );

t.test('redis-cli (linked with jemalloc) answers through the shim, by name and by IP', async (t) => {
  const needed = execFileSync('readelf', ['-d', '/usr/bin/redis-cli'], { encoding: 'utf8' });
  t.match(needed, /libjemalloc/, "Debian's redis-cli is linked with jemalloc");
  for (const host of [web.name, web.ip]) {
    const set = await world.exec('redis-cli', ['-h', host, '-p', '6379', 'SET', 'kj', `via ${host}`], { shim: true, timeoutMs: HARD_MS });
    finished(t, set, `redis-cli -h ${host} SET`);
    t.equal(set.stdout.trim(), 'OK', `SET via ${host}: ${set.stderr}`);
    const get = await world.exec('redis-cli', ['-h', host, '-p', '6379', 'GET', 'kj'], { shim: true, timeoutMs: HARD_MS });
    finished(t, get, `redis-cli -h ${host} GET`);
    t.equal(get.stdout.trim(), `via ${host}`, `GET via ${host}: ${get.stderr}`);
  }
  const without = await world.exec('redis-cli', ['-h', web.ip, '-p', '6379', 'PING'], { timeoutMs: HARD_MS });
  t.notMatch(without.stdout, /PONG/, 'without the shim redis is out of reach');
});

t.test('redis-cli with a path map active (readlink is hooked during jemalloc start-up)', async (t) => {
  const r = await world.exec('redis-cli', ['-h', web.name, '-p', '6379', 'PING'], {
    shim: { verbose: true },
    env: { KINJECT_PATH_MAP: pathMap },
    timeoutMs: HARD_MS,
  });
  finished(t, r, 'redis-cli PING with a path map');
  t.equal(r.stdout.trim(), 'PONG', r.stderr);
  t.match(r.stderr, `path map: ${IN} -> ${vol}`, 'the map is active in redis-cli');
  const script = await world.exec('sh', ['-c', `redis-cli -h ${web.name} -p 6379 -x SET fromvol < ${IN}/file && redis-cli -h ${web.ip} -p 6379 GET fromvol`], {
    shim: true,
    env: { KINJECT_PATH_MAP: pathMap },
    timeoutMs: HARD_MS,
  });
  finished(t, script, 'sh + redis-cli with a path map');
  t.equal(script.stdout, 'OK\nfrom the volume\n\n', `a value read from the volume by the shell: ${script.stderr}`);
});

// alloc-probe built three ways: plain, linked with jemalloc, linked with tcmalloc
const src = world.program('alloc-probe.c');
const build = (name, extra) => {
  const out = path.join(world.tmpdir, name);
  execFileSync('gcc', ['-O1', '-Wall', '-o', out, src, ...extra]);
  fs.chmodSync(out, 0o755);
  return out;
};
const probes = { plain: build('alloc-probe', []), jemalloc: build('alloc-probe-je', [JEMALLOC]), tcmalloc: build('alloc-probe-tc', [TCMALLOC]) };
const probeEnv = { PROBE_LINK: `${IN}/link`, PROBE_FILE: `${IN}/file`, PROBE_HOST: echo.name, PROBE_PORT: String(echo.port), KINJECT_PATH_MAP: pathMap };
const wantProbe = {
  'ctor readlink': 'link-text',
  'ctor open': 'from the volume',
  'ctor getaddrinfo': echo.ip,
  'ctor echo': 'ping',
  'main readlink': 'link-text',
  'main open': 'from the volume',
  'main getaddrinfo': echo.ip,
  'main echo': 'ping',
};

t.test("a program's own constructor: readlink, open, getaddrinfo and connect before main go through the shim", async (t) => {
  for (const [kind, bin] of Object.entries(probes)) {
    const needed = execFileSync('readelf', ['-d', bin], { encoding: 'utf8' });
    if (kind !== 'plain') t.match(needed, kind === 'jemalloc' ? /libjemalloc/ : /libtcmalloc/, `${kind}: linked with it`);
    const r = await world.exec(bin, [], { shim: true, env: probeEnv, timeoutMs: HARD_MS });
    finished(t, r, `alloc-probe (${kind})`);
    t.equal(r.code, 0, `${kind}: ${r.stderr}`);
    t.same(lines(r.stdout), wantProbe, `${kind}: every step, before and in main`);
  }
  const without = await world.exec(probes.plain, [], { env: probeEnv, timeoutMs: HARD_MS });
  t.match(without.stdout, /ctor readlink: error 2\n/, 'without the shim the volume path does not exist');
});

t.test('jemalloc LD_PRELOADed before and after the shim', async (t) => {
  for (const order of ['before', 'after']) {
    const preload = order === 'before' ? `${JEMALLOC} ${world.lib}` : `${world.lib} ${JEMALLOC}`;
    const env = { ...probeEnv, LD_PRELOAD: preload };
    const r = await world.exec(probes.plain, [], { shim: true, env, timeoutMs: HARD_MS });
    finished(t, r, `alloc-probe, jemalloc preloaded ${order} the shim`);
    t.same(lines(r.stdout), wantProbe, `jemalloc ${order} the shim: ${r.stderr}`);
    const curl = await world.exec('curl', ['-sS', '-m', '10', web.url], {
      shim: true,
      env: { LD_PRELOAD: preload, KINJECT_PATH_MAP: pathMap },
      timeoutMs: HARD_MS,
    });
    finished(t, curl, `curl, jemalloc preloaded ${order} the shim`);
    t.equal(curl.stdout, web.body, `curl, jemalloc ${order} the shim: ${curl.stderr}`);
  }
  const tc = await world.exec('redis-cli', ['-h', web.name, '-p', '6379', 'PING'], {
    shim: true,
    env: { LD_PRELOAD: `${world.lib} ${TCMALLOC}`, KINJECT_PATH_MAP: pathMap },
    timeoutMs: HARD_MS,
  });
  finished(t, tc, 'redis-cli with tcmalloc preloaded too');
  t.equal(tc.stdout.trim(), 'PONG', tc.stderr);
});

t.test('a signal handler that longjmps out of a blocking connect does not switch the shim off', async (t) => {
  const bin = path.join(world.tmpdir, 'longjmp-probe');
  execFileSync('gcc', ['-O1', '-Wall', '-o', bin, world.program('longjmp-probe.c')]);
  fs.chmodSync(bin, 0o755);
  // a proxy that accepts and never answers: the shim's connect blocks until the alarm (2 s)
  const r = await world.exec(bin, [web.ip, '80'], { shim: { via: 'silent' }, timeoutMs: HARD_MS });
  finished(t, r, 'longjmp-probe');
  t.equal(r.stdout, 'attempt 1: interrupted\nattempt 2: interrupted\n', `the second connect still goes to the proxy: ${r.stderr}`);
  const without = await world.exec(bin, [web.ip, '80'], { timeoutMs: HARD_MS });
  t.match(without.stdout, /^attempt 1: error \d+\n/, 'without the shim the address is blackholed here: an error at once');
});

// netns-world.js - a private little "cluster" for tests that run real programs through the shim.
//
// Needs root and iproute2 (ip netns), util-linux (unshare, setpriv). Network rule: packets go only
// to loopback and to the namespace this run created; the services' addresses have a blackhole
// route on the host, so a packet that slips past the shim fails here instead of leaving the machine.
//
//   import { createWorld, shimPath, repoRoot } from '../helpers/netns-world.js'
//   const world = await createWorld(t, opts)   // teardown registered with t.teardown (also world.teardown())
//   shimPath()  the built shim in build/Release (waits for / runs scripts/build-native.sh); repoRoot: the checkout
//
// opts (all optional):
//   pod: true          start kinject's pod server (dist/proxy-pod.js, built if missing) in the namespace
//   pod6: true         start a second pod server on the link's IPv6 address
//   socksv5: true      start the independent SOCKS5 server (npm socksv5, CONNECT only) in the namespace
//   hostDns: true      start the UDP DNS server on the host's loopback (for KINJECT_DNS)
//   extraNames: {name: [ip, ...]}   more entries for the namespace's hosts file / DNS tables
//
// world (a plain object):
//   ns                  namespace name, "kjt-<pid>" (or "kjt-<pid>-<n>" for the n-th world of a process)
//   index               the number K picked for this run's address ranges
//   hostIp, nsIp        the veth link: 10.207.K.1 (host side), 10.207.K.2 (namespace side)
//   servicesNet         "10.208.K.0/24" (+ servicesNet6 "fd6b:6a74:0:K::/64"): blackholed on the host
//   services.web        { name: 'web.kjtest', ip, ip6, port: 80, body: 'hello from kjtest', url, urlByIp, urlByIp6 }
//                       GET /peer answers the client address the server saw
//   services.echo       { name: 'echo.kjtest', ip, port: 7 }   TCP echo
//   services.closed     { name: 'closed.kjtest', ip, port: 81 } nothing listens: connection refused
//   unknownName         'nope.kjtest': every resolver of the world answers "no such name"
//   names               { name: [ip...] } the table the namespace's hosts file and DNS servers use:
//                       web/echo/closed.kjtest, web6.kjtest (IPv6 only: services.web.ip6) and opts.extraNames
//   token               the RFC 1929 password of both SOCKS servers (user "kinject")
//   pod                 { host, port, address: 'HOST:PORT', tokenFile, pid } or null
//   socksv5             { host, port, address } or null
//   deadSocks           'HOST:PORT' in the namespace where nothing listens (proxy down)
//   silentSocks         'HOST:PORT' in the namespace that accepts and never answers (proxy hangs)
//   unroutable          an address of the services' range that nothing in the namespace routes (network unreachable)
//   hostIp6, nsIp6      IPv6 addresses of the link (fd6b:6a74:1:K::1 / ::2)
//   pod6                { host, port, address: '[nsIp6]:1080' } a second pod server on the link's IPv6 address
//                       (opts.pod6, default true), or null
//   dns                 { host: '127.0.0.1', port, address, queries: [{name, type}] } or null
//   nameserver          '127.0.53.53': the only nameserver of the resolv.conf that world.exec programs see
//   resolvConf          path of that resolv.conf
//   lib                 absolute path of this run's copy of the built shim (in tmpdir: immune to rebuilds
//                       of build/ while the tests run; readable by the unprivileged user)
//   tmpdir              a fresh directory readable (and writable) by the unprivileged user, removed at teardown
//   user                { name: 'nobody', uid: 65534, gid: 65534 }
//   python3, java, go   paths of those tools (python3 is /usr/bin/python3 when present, usable by nobody)
//   shimEnv(o)          the env that turns the shim on: { LD_PRELOAD, KINJECT_LIB, KINJECT_SOCKS, KINJECT_TOKEN,
//                       KINJECT_DNS, ...}. o: { via: 'pod' (default) | 'pod6' | 'socksv5' | 'dead' | 'silent' |
//                       'HOST:PORT', dns: bool (default true when hostDns), verbose: bool, localNames: string,
//                       token: string (default world.token), timeoutMs: KINJECT_CONNECT_TIMEOUT_MS,
//                       front: true sets KINJECT_FRONT=1 (the server is kinject's own front) }
//   baseEnv(o)          a clean base env { PATH, HOME, LANG } (o.user: HOME is tmpdir)
//   exec(cmd, args, o)  Promise<{ code, signal, stdout, stderr, ms, timedOut }>; runs cmd in a private mount
//                       namespace whose /etc/resolv.conf is world.resolvConf, with env = baseEnv + o.env
//                       (+ shimEnv(o.shim) when o.shim is true or an object). o: { env, shim, user: true|'nobody',
//                       timeoutMs (default 60000), input (string for stdin), cwd }. Never throws on exit codes.
//                       Past timeoutMs the program is killed (timedOut: true) and stderr ends with a line
//                       saying so, which the test's assertion messages then show.
//   spawn(cmd, args, o) the same, returning the ChildProcess (killed at teardown)
//   nsExec(cmd, args, o) Promise<{code, stdout, stderr}>: run a command inside the namespace
//   nsSpawn(cmd, args, o) the same, returning the ChildProcess (a server of the namespace; killed at teardown)
//   program(name)       copies test/helpers/programs/NAME into tmpdir (readable by the unprivileged user,
//                       wherever the checkout lives) and returns its path
//   stopPod(), startPod() stop / restart the pod server
import { spawn as cpSpawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startDnsServer } from './dns-server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
import { repoRoot } from './repo.js';
import { isAlive } from './process-tree.js';
export { repoRoot };
const STATE_FILE = 'kinject-world.json';
let worldCount = 0;

function ip(args, { ignore = false } = {}) {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if (ignore) return null;
    throw new Error(`ip ${args.join(' ')}: ${err.stderr || err.message}`);
  }
}

/** Finds the shim: build/Release/libkinject.so (or kinject.so), waiting a little for a build that another
 * process is running (node-gyp rebuild removes build/ first) and building it when there is none. */
export function shimPath() {
  const candidates = ['libkinject.so', 'kinject.so'].map((f) => path.join(repoRoot, 'build', 'Release', f));
  const find = () => candidates.find((p) => fs.existsSync(p) && fs.statSync(p).size > 0);
  let found = find();
  for (let i = 0; !found && i < 240 && fs.existsSync(path.join(repoRoot, 'build')); i++) {
    execFileSync('sleep', ['0.25']);
    found = find();
  }
  if (!found) {
    execFileSync('bash', [path.join(repoRoot, 'scripts', 'build-native.sh')], { stdio: 'ignore' });
    found = find();
  }
  if (!found) throw new Error('the shim is not built (bash scripts/build-native.sh)');
  return found;
}

function podScript() {
  const p = path.join(repoRoot, 'dist', 'proxy-pod.js');
  if (!fs.existsSync(p)) execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'bundle-proxy-pod.js')], { cwd: repoRoot, stdio: 'ignore' });
  if (!fs.existsSync(p)) throw new Error('dist/proxy-pod.js is missing (npm run build:pod)');
  return p;
}

function which(name, prefer = []) {
  for (const p of prefer) if (fs.existsSync(p)) return p;
  for (const dir of (process.env.PATH || '/usr/bin:/bin').split(':')) {
    const p = path.join(dir, name);
    if (dir && fs.existsSync(p)) return p;
  }
  return null;
}

function removeWorldState(ns, state) {
  const pids = (ip(['netns', 'pids', ns], { ignore: true }) || '').split(/\s+/).filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  ip(['netns', 'del', ns], { ignore: true });
  if (state) {
    ip(['route', 'del', 'blackhole', `10.208.${state.index}.0/24`], { ignore: true });
    ip(['-6', 'route', 'del', 'blackhole', `fd6b:6a74:0:${state.index}::/64`], { ignore: true });
    if (state.hostIf) ip(['link', 'del', state.hostIf], { ignore: true });
  }
  fs.rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
}

/** Removes what crashed earlier runs left behind (their pid is gone). */
function cleanStale() {
  let dirs = [];
  try {
    dirs = fs.readdirSync('/etc/netns');
  } catch {
    return;
  }
  for (const ns of dirs) {
    const m = /^kjt-(\d+)(?:-\d+)?$/.exec(ns);
    if (!m || isAlive(Number(m[1]))) continue;
    let state = null;
    try {
      state = JSON.parse(fs.readFileSync(`/etc/netns/${ns}/${STATE_FILE}`, 'utf8'));
    } catch {}
    removeWorldState(ns, state);
  }
}

/** Picks K with a free 10.208.K.0/24: adding the blackhole route is the atomic claim. */
function claimIndex() {
  const start = (process.pid % 200) + 20;
  for (let i = 0; i < 200; i++) {
    const k = ((start - 20 + i) % 200) + 20;
    if (ip(['route', 'show', `10.207.${k}.0/30`], { ignore: true })?.trim()) continue;
    if (ip(['route', 'add', 'blackhole', `10.208.${k}.0/24`], { ignore: true }) !== null) return k;
  }
  throw new Error('no free address range for a test world');
}

function waitForLine(child, stream, re, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => done(new Error(`${what} did not start within ${timeoutMs} ms: ${buf.slice(-500)}`)), timeoutMs);
    const onData = (d) => {
      buf += d;
      const m = re.exec(buf);
      if (m) done(null, m);
    };
    const onExit = (code) => done(new Error(`${what} exited (${code}) before it was ready: ${buf.slice(-500)}`));
    function done(err, m) {
      clearTimeout(timer);
      child[stream].off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(m);
    }
    child[stream].setEncoding('utf8');
    child[stream].on('data', onData);
    child.on('exit', onExit);
  });
}

export async function createWorld(t, opts = {}) {
  const o = { pod: true, pod6: true, socksv5: true, hostDns: true, extraNames: {}, ...opts };
  if (process.getuid() !== 0) throw new Error('createWorld needs root (network namespaces)');
  cleanStale();
  worldCount++;
  const ns = worldCount === 1 ? `kjt-${process.pid}` : `kjt-${process.pid}-${worldCount}`;
  const hostIf = `kjh${process.pid}${worldCount > 1 ? 'x' + worldCount : ''}`.slice(0, 15);
  const nsIf = `kjn${process.pid}${worldCount > 1 ? 'x' + worldCount : ''}`.slice(0, 15);
  const cleanups = [];
  let tornDown = false;
  const teardown = async () => {
    if (tornDown) return;
    tornDown = true;
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {}
    }
  };
  t.teardown(teardown);

  const k = claimIndex();
  const state = { index: k, hostIf, pid: process.pid };
  cleanups.push(() => removeWorldState(ns, state));
  removeWorldState(ns, null); // a leftover of an earlier process with the same pid
  ip(['-6', 'route', 'add', 'blackhole', `fd6b:6a74:0:${k}::/64`], { ignore: true });

  const hostIp = `10.207.${k}.1`;
  const nsIp = `10.207.${k}.2`;
  const hostIp6 = `fd6b:6a74:1:${k}::1`;
  const nsIp6 = `fd6b:6a74:1:${k}::2`;
  const svc = (n) => `10.208.${k}.${n}`;
  const svc6 = (n) => `fd6b:6a74:0:${k}::${n}`;
  const token = crypto.randomBytes(16).toString('hex');
  const services = {
    web: { name: 'web.kjtest', ip: svc(10), ip6: svc6(10), port: 80, body: 'hello from kjtest' },
    echo: { name: 'echo.kjtest', ip: svc(11), port: 7 },
    closed: { name: 'closed.kjtest', ip: svc(12), port: 81 },
  };
  services.web.url = `http://${services.web.name}/`;
  services.web.urlByIp = `http://${services.web.ip}/`;
  services.web.urlByIp6 = `http://[${services.web.ip6}]/`;
  const names = {
    'web.kjtest': [services.web.ip],
    'web6.kjtest': [services.web.ip6],
    'echo.kjtest': [services.echo.ip],
    'closed.kjtest': [services.closed.ip],
    ...o.extraNames,
  };

  // the namespace, its link and addresses
  fs.mkdirSync(`/etc/netns/${ns}`, { recursive: true });
  fs.writeFileSync(`/etc/netns/${ns}/${STATE_FILE}`, JSON.stringify(state));
  const hosts = ['127.0.0.1 localhost', '::1 localhost', ...Object.entries(names).flatMap(([n, ips]) => ips.map((a) => `${a} ${n}`))].join('\n') + '\n';
  fs.writeFileSync(`/etc/netns/${ns}/hosts`, hosts);
  fs.writeFileSync(`/etc/netns/${ns}/resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
  ip(['netns', 'add', ns]);
  ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf, 'netns', ns]);
  ip(['addr', 'add', `${hostIp}/30`, 'dev', hostIf]);
  ip(['link', 'set', hostIf, 'up']);
  ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  ip(['-n', ns, 'addr', 'add', `${nsIp}/30`, 'dev', nsIf]);
  ip(['-n', ns, 'link', 'set', nsIf, 'up']);
  ip(['addr', 'add', `${hostIp6}/64`, 'dev', hostIf, 'nodad']);
  ip(['-n', ns, 'addr', 'add', `${nsIp6}/64`, 'dev', nsIf, 'nodad']);
  for (const a of [svc(10), svc(11), svc(12)]) ip(['-n', ns, 'addr', 'add', `${a}/32`, 'dev', 'lo']);
  ip(['-n', ns, 'addr', 'add', `${svc6(10)}/128`, 'dev', 'lo', 'nodad'], { ignore: true });

  const children = new Set();
  const track = (child) => {
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  };
  cleanups.push(async () => {
    for (const c of children) {
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {}
      try {
        c.kill('SIGKILL');
      } catch {}
    }
  });

  const tmpdir = fs.mkdtempSync(path.join(os.tmpdir(), 'kjt-'));
  fs.chmodSync(tmpdir, 0o1777);
  cleanups.push(() => fs.rmSync(tmpdir, { recursive: true, force: true }));
  fs.copyFileSync(shimPath(), path.join(tmpdir, 'libkinject.so'));
  fs.chmodSync(path.join(tmpdir, 'libkinject.so'), 0o755);
  const resolvConf = path.join(tmpdir, 'resolv.conf');
  const nameserver = '127.0.53.53';
  fs.writeFileSync(resolvConf, `nameserver ${nameserver}\noptions timeout:1 attempts:1\n`);
  fs.chmodSync(resolvConf, 0o644);

  const nsSpawn = (cmd, args, extra = {}) => track(cpSpawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...extra }));

  // services in the namespace
  const servicesCfg = {
    web: { ips: [services.web.ip, services.web.ip6], port: 80, body: services.web.body },
    echo: { ip: services.echo.ip, port: 7 },
    socksv5: { host: nsIp, port: 1081, token },
    silent: { host: nsIp, port: 1083 },
    dns: { table: names },
  };
  const servicesChild = nsSpawn(process.execPath, [path.join(here, 'netns-services.js'), JSON.stringify(servicesCfg)], {
    env: { PATH: process.env.PATH, NODE_PATH: path.join(repoRoot, 'node_modules') },
    cwd: repoRoot,
  });
  servicesChild.stderr.setEncoding('utf8');
  let servicesErr = '';
  servicesChild.stderr.on('data', (d) => {
    if (servicesErr.length < 10000) servicesErr += d;
  });
  cleanups.push(() => {
    try {
      servicesChild.kill('SIGTERM');
    } catch {}
  });
  try {
    await waitForLine(servicesChild, 'stdout', /READY (.*)\n/, 15000, 'the namespace services');
  } catch (err) {
    throw new Error(`${err.message}\n${servicesErr}`);
  }

  const world = {
    ns,
    index: k,
    hostIp,
    nsIp,
    servicesNet: `10.208.${k}.0/24`,
    servicesNet6: `fd6b:6a74:0:${k}::/64`,
    services,
    names,
    unknownName: 'nope.kjtest',
    token,
    pod: null,
    socksv5: o.socksv5 ? { host: nsIp, port: 1081, address: `${nsIp}:1081` } : null,
    deadSocks: `${nsIp}:1079`,
    silentSocks: `${nsIp}:1083`,
    unroutable: svc(99),
    hostIp6,
    nsIp6,
    pod6: null,
    dns: null,
    nameserver,
    resolvConf,
    lib: path.join(tmpdir, 'libkinject.so'),
    tmpdir,
    user: { name: 'nobody', uid: 65534, gid: 65534 },
    python3: which('python3', ['/usr/bin/python3']),
    java: which('java', ['/usr/bin/java']),
    go: which('go', ['/usr/local/go/bin/go']),
  };

  // kinject's pod server
  const tokenFile = path.join(tmpdir, 'pod-token');
  fs.writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
  let podChild = null;
  world.startPod = async () => {
    if (podChild) return world.pod;
    const child = nsSpawn(process.execPath, [podScript(), '--listen', `${nsIp}:1080`, '--token-file', tokenFile], { env: { PATH: process.env.PATH } });
    podChild = child;
    child.on('exit', () => {
      if (podChild === child) podChild = null;
    });
    await waitForLine(child, 'stderr', /listening on (\S+)/, 15000, 'the pod server');
    world.pod = { host: nsIp, port: 1080, address: `${nsIp}:1080`, tokenFile, pid: child.pid };
    return world.pod;
  };
  world.stopPod = async () => {
    const child = podChild;
    if (!child) return;
    podChild = null;
    await new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
      setTimeout(() => {
        try {
          child.kill('SIGKILL');
        } catch {}
        resolve();
      }, 3000).unref();
    });
  };
  cleanups.push(() => world.stopPod());
  if (o.pod) await world.startPod();
  if (o.pod6) {
    const child = nsSpawn(process.execPath, [podScript(), '--listen', `[${nsIp6}]:1080`, '--token-file', tokenFile], { env: { PATH: process.env.PATH } });
    cleanups.push(() => {
      try {
        child.kill('SIGTERM');
      } catch {}
    });
    await waitForLine(child, 'stderr', /listening on (\S+)/, 15000, 'the IPv6 pod server');
    world.pod6 = { host: nsIp6, port: 1080, address: `[${nsIp6}]:1080` };
  }

  if (o.hostDns) {
    const d = await startDnsServer({ host: '127.0.0.1', port: 0, table: names });
    cleanups.push(() => d.close());
    world.dns = { host: d.host, port: d.port, address: `${d.host}:${d.port}`, queries: d.queries };
  }

  world.shimEnv = (s = {}) => {
    const via = s.via ?? 'pod';
    const named = { pod: `${nsIp}:1080`, pod6: `[${nsIp6}]:1080`, socksv5: `${nsIp}:1081`, dead: world.deadSocks, silent: world.silentSocks };
    const socks = named[via] ?? via;
    const env = {
      LD_PRELOAD: world.lib,
      KINJECT_LIB: world.lib,
      KINJECT_SOCKS: socks,
      KINJECT_TOKEN: s.token ?? token,
    };
    if ((s.dns ?? true) && world.dns) env.KINJECT_DNS = world.dns.address;
    if (s.verbose) env.KINJECT_VERBOSE = '1';
    if (s.localNames) env.KINJECT_LOCAL_NAMES = s.localNames;
    if (s.timeoutMs) env.KINJECT_CONNECT_TIMEOUT_MS = String(s.timeoutMs);
    if (s.front) env.KINJECT_FRONT = '1';
    return env;
  };
  world.baseEnv = (b = {}) => ({
    PATH: [...new Set([...(process.env.PATH || '/usr/bin:/bin').split(':'), '/usr/local/go/bin'])].filter((p) => !(b.user && p.startsWith('/root'))).join(':'),
    HOME: b.user ? tmpdir : process.env.HOME || '/root',
    LANG: 'C.UTF-8',
  });

  const buildArgv = (cmd, args, e = {}) => {
    const env = { ...world.baseEnv(e), ...(e.shim ? world.shimEnv(e.shim === true ? {} : e.shim) : {}), ...(e.env || {}) };
    const pairs = Object.entries(env)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([n, v]) => `${n}=${v}`);
    const user = e.user ? ['setpriv', `--reuid=${world.user.uid}`, `--regid=${world.user.gid}`, '--clear-groups'] : [];
    const script = 'mount --bind "$1" /etc/resolv.conf || exit 125; shift; exec "$@"';
    return ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'kj-sandbox', resolvConf, ...user, 'env', '-i', ...pairs, cmd, ...args];
  };
  const cleanHostEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

  world.spawn = (cmd, args = [], e = {}) => {
    const child = cpSpawn('unshare', buildArgv(cmd, args, e), {
      env: cleanHostEnv,
      cwd: e.cwd || tmpdir,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return track(child);
  };

  world.exec = (cmd, args = [], e = {}) =>
    new Promise((resolve) => {
      const started = Date.now();
      const child = world.spawn(cmd, args, e);
      let stdout = '',
        stderr = '',
        timedOut = false;
      child.stdout.setEncoding('utf8');
      child.stderr.setEncoding('utf8');
      child.stdout.on('data', (d) => {
        if (stdout.length < 1e6) stdout += d;
      });
      child.stderr.on('data', (d) => {
        if (stderr.length < 1e6) stderr += d;
      });
      child.stdin.on('error', () => {});
      child.stdin.end(e.input ?? '');
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {}
      }, e.timeoutMs ?? 60000);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (timedOut) stderr += `\n[test] ${cmd} ${args.join(' ')}: still running after ${e.timeoutMs ?? 60000} ms, killed (hard timeout)\n`;
        resolve({ code, signal, stdout, stderr, ms: Date.now() - started, timedOut });
      });
    });

  world.nsExec = (cmd, args = [], e = {}) =>
    new Promise((resolve) => {
      const child = nsSpawn(cmd, args, { env: { PATH: process.env.PATH, ...(e.env || {}) } });
      let stdout = '',
        stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), e.timeoutMs ?? 30000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });

  world.nsSpawn = (cmd, args = [], e = {}) => nsSpawn(cmd, args, { env: { PATH: process.env.PATH, ...(e.env || {}) } });

  world.program = (name) => {
    const dst = path.join(tmpdir, 'programs', name);
    if (!fs.existsSync(dst)) {
      fs.mkdirSync(path.dirname(dst), { recursive: true, mode: 0o755 });
      fs.copyFileSync(path.join(here, 'programs', name), dst);
      fs.chmodSync(dst, 0o644);
    }
    return dst;
  };

  world.teardown = teardown;
  return world;
}

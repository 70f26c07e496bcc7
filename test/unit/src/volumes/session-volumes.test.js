// The runner's volume pieces without a cluster: planVolumes() (flags and preflight), the session
// key files, the SFTP forwarder (through kinject's real SOCKS5 proxy server), and
// mountSessionVolumes() end to end on loopback: an SFTP server and a proxy server in a child
// process stand in for the pod, sshfs mounts through the forwarder, the cleanup stack unmounts
// before "the tunnel" goes. The mount tests need sshfs, fuse3 and /dev/fuse (like volumes-mount).
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateSessionKeys } from '../../../../dist/proxy-pod/sftp/index.js';
import { planVolumes, mountSessionVolumes, warnIfVolumesSkipped } from '../../../../dist/src/volumes/session-volumes.js';
import { startSftpForwarder } from '../../../../dist/src/tunnel/sftp-forward.js';
import { writeSessionKeys, knownHostsEntry } from '../../../../dist/src/volumes/keys.js';
import { removeStaleSessionDirs } from '../../../../dist/src/session/dirs.js';
import { CleanupStack } from '../../../../dist/src/child/cleanup-stack.js';
import { clientHandshake } from '../../../../dist/protocol/socks5/index.js';
import { startProxyServer } from '../../../../dist/proxy-pod/server.js';
import { preflightVolumes } from '../../../../dist/src/volumes/preflight.js';
import { findMount, readMountInfo } from '../../../../dist/src/volumes/mountinfo.js';

const work = mkdtempSync(join(tmpdir(), 'kinject-runvol-'));
chmodSync(work, 0o755);
const runtime = join(work, 'runtime');
mkdirSync(runtime, { mode: 0o700 });
const env = { ...process.env, XDG_RUNTIME_DIR: runtime };
const base = join(runtime, `kinject-${process.getuid()}`);
const run = (cmd, args) =>
  new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000, encoding: 'utf8' }, (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
  });
const logger = () => {
  const lines = { info: [], warn: [], debug: [] };
  return { lines, info: (m) => lines.info.push(m), warn: (m) => lines.warn.push(m), debug: (m) => lines.debug.push(m) };
};
const okPreflight = () => ({ ok: true, missing: [] });
const noSshfs = () => ({
  ok: false,
  missing: ['sshfs'],
  warning: 'volumes are not mounted: sshfs is missing (install: sudo apt-get install sshfs); running without them',
});

// ---- a stand-in pod: SFTP server + kinject's SOCKS5 proxy server, in a child process ----
const pod = join(work, 'pod');
mkdirSync(join(pod, 'data'), { recursive: true });
mkdirSync(join(pod, 'etc/web'), { recursive: true });
writeFileSync(join(pod, 'data/seed.txt'), 'seeded\n');
writeFileSync(join(pod, 'etc/web/app.conf'), 'listen 8080\n');
const keys = generateSessionKeys('unit');
const TOKEN = 'unit-token';
const podScript = join(work, 'pod.mjs');
writeFileSync(
  podScript,
  `
  import { startSftpServer } from ${JSON.stringify(pathToFileURL(join(process.cwd(), 'dist/proxy-pod/sftp/index.js')).href)};
  import { startProxyServer } from ${JSON.stringify(pathToFileURL(join(process.cwd(), 'dist/proxy-pod/server.js')).href)};
  const o = JSON.parse(process.env.POD_OPTIONS);
  const sftp = await startSftpServer({ ...o.sftp, host: '127.0.0.1', port: 0, log: () => {} });
  const proxy = await startProxyServer({ host: '127.0.0.1', port: 0, token: o.token, log: () => {} });
  process.stdout.write(JSON.stringify({ sftpPort: sftp.address.port, proxyPort: proxy.address.port }) + '\\n');
`,
);
const exportsList = [
  { path: join(pod, 'data'), readOnly: false },
  { path: join(pod, 'etc/web'), readOnly: true },
];
const podProc = spawn(process.execPath, [podScript], {
  env: {
    ...process.env,
    POD_OPTIONS: JSON.stringify({ token: TOKEN, sftp: { hostKey: keys.hostPrivateKey, authorizedKey: keys.clientPublicKey, exports: exportsList } }),
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
t.teardown(() => podProc.kill());
process.on('exit', () => podProc.kill());
const ports = await new Promise((resolve, reject) => {
  let out = '';
  const timer = setTimeout(() => reject(new Error('the stand-in pod did not start')), 15_000);
  podProc.stdout.on('data', (d) => {
    out += d;
    if (out.includes('\n')) {
      clearTimeout(timer);
      resolve(JSON.parse(out));
    }
  });
});
let opened = 0;
const upstream = {
  async open() {
    opened++;
    const s = connect(ports.proxyPort, '127.0.0.1');
    await once(s, 'connect');
    await clientHandshake(s, { username: 'kinject', password: TOKEN });
    return s;
  },
};

t.test('planVolumes: flags and preflight', async (t) => {
  t.same(planVolumes({}, okPreflight), { request: false }, 'no --target: nothing to mount');
  t.same(planVolumes({ mount: false }, okPreflight), { request: false }, '--no-mount without --target is harmless');
  t.same(planVolumes({ target: 'web', mount: false }, okPreflight), { request: false }, '--no-mount');
  t.same(planVolumes({ target: 'web' }, okPreflight), { request: true, mountDir: undefined });
  t.same(planVolumes({ target: 'web', mount: true }, okPreflight), { request: true, mountDir: undefined });
  t.throws(() => planVolumes({ mount: '/tmp/x' }, okPreflight), { message: /--mount needs --target/, exitCode: 2 });
  t.equal(planVolumes({ target: 'web', mount: 'rel/dir' }, okPreflight).mountDir, join(process.cwd(), 'rel/dir'), 'relative --mount is made absolute');
  for (const bad of ['/tmp/a,b', '/tmp/a b', '/tmp/a:b', '/tmp/a=b']) {
    t.throws(() => planVolumes({ target: 'web', mount: bad }, okPreflight), { message: /cannot contain a comma, whitespace/, exitCode: 2 }, bad);
  }
  const skipped = planVolumes({ target: 'web' }, noSshfs);
  t.same(skipped, { request: false, warning: noSshfs().warning }, 'preflight failure: no SFTP server, a warning');
  t.throws(
    () => planVolumes({ target: 'web', mount: '/tmp/x' }, noSshfs),
    { message: '--mount /tmp/x: cannot mount volumes: sshfs is missing (install: sudo apt-get install sshfs)', exitCode: 1 },
    'explicit --mount: the same is an error',
  );
  let called = false;
  planVolumes({ target: 'web', mount: false }, () => {
    called = true;
    return okPreflight();
  });
  t.notOk(called, '--no-mount does not look for sshfs');
});

t.test('the preflight warning is shown only for a workload with volumes', async (t) => {
  const plan = { request: false, warning: 'volumes are not mounted: x' };
  const withVolumes = {
    podSpec: { containers: [{ name: 'web', volumeMounts: [{ name: 'c', mountPath: '/etc/web' }] }], volumes: [{ name: 'c', configMap: {} }] },
    container: { name: 'web' },
  };
  const without = { podSpec: { automountServiceAccountToken: false, containers: [{ name: 'web' }] }, container: { name: 'web' } };
  const a = logger();
  warnIfVolumesSkipped(plan, withVolumes, a);
  t.same(a.lines.warn, ['volumes are not mounted: x']);
  const b = logger();
  warnIfVolumesSkipped(plan, without, b);
  warnIfVolumesSkipped(plan, undefined, b);
  warnIfVolumesSkipped({ request: true }, withVolumes, b);
  t.same(b.lines.warn, []);
});

t.test('session key files: private, removed, stale ones cleaned up', async (t) => {
  const keys = generateSessionKeys('t');
  const files = writeSessionKeys('abc123', keys, env);
  t.equal(files.dir, join(base, `.keys-${process.pid}-abc123`));
  t.equal(statSync(base).mode & 0o777, 0o700);
  t.equal(statSync(files.dir).mode & 0o777, 0o700);
  t.equal(statSync(files.clientKeyPath).mode & 0o777, 0o600);
  t.equal(readFileSync(files.clientKeyPath, 'utf8'), keys.clientPrivateKey.endsWith('\n') ? keys.clientPrivateKey : `${keys.clientPrivateKey}\n`);
  const [type, blob] = keys.hostPublicKey.split(' ');
  t.equal(readFileSync(files.knownHostsPath, 'utf8'), `kinject-sftp ${type} ${blob}\n`);
  t.throws(() => knownHostsEntry('garbage'), /not an OpenSSH public key/);
  t.same(removeStaleSessionDirs(env), [], 'a running kinject keeps its keys');
  files.remove();
  files.remove();
  t.notOk(existsSync(files.dir));
  // a kinject that is gone: a pid that exited
  const dead = spawn('true');
  await once(dead, 'exit');
  mkdirSync(join(base, `.keys-${dead.pid}-zzz`), { mode: 0o700 });
  mkdirSync(join(base, `.warn-${dead.pid}-yyy`), { mode: 0o700 });
  mkdirSync(join(base, `.warn-${process.pid}-live`), { mode: 0o700 });
  t.same(
    removeStaleSessionDirs(env).sort(),
    [join(base, `.keys-${dead.pid}-zzz`), join(base, `.warn-${dead.pid}-yyy`)],
    'keys and warning marks of a kinject that is gone',
  );
  t.ok(existsSync(join(base, `.warn-${process.pid}-live`)), 'a running one keeps its marks');
  rmSync(join(base, `.warn-${process.pid}-live`), { recursive: true });
  t.same(
    readdirSync(base).filter((n) => n.startsWith('.keys-')),
    [],
  );
});

t.test('forwarder: each connection is a CONNECT through the upstream, same port throughout', async (t) => {
  const echo = createServer((s) => s.pipe(s));
  await new Promise((r) => echo.listen(0, '127.0.0.1', r));
  t.teardown(() => echo.close());
  const fwd = await startSftpForwarder({ upstream, targetPort: echo.address().port });
  const talk = async (msg) => {
    const s = connect(fwd.port, '127.0.0.1');
    await once(s, 'connect');
    s.write(msg);
    let got = '';
    for await (const d of s) {
      got += d;
      if (got.length >= msg.length) break;
    }
    s.destroy();
    return got;
  };
  const before = opened;
  t.equal(await talk('hello'), 'hello');
  t.equal(await talk('again'), 'again', 'a second connection on the same port');
  t.equal(opened - before, 2, 'one upstream stream per connection');
  const held = connect(fwd.port, '127.0.0.1');
  await once(held, 'connect');
  held.write('x');
  await once(held, 'data');
  t.equal(fwd.connections(), 1);
  const closed = once(held, 'close');
  await fwd.close();
  await closed;
  t.pass('close() drops relayed connections');
  await fwd.close();
  const after = connect(fwd.port, '127.0.0.1');
  const [err] = await once(after, 'error');
  t.equal(err.code, 'ECONNREFUSED', 'no longer listening');
});

t.test('forwarder: a refused CONNECT in the pod closes the local connection', async (t) => {
  const closedPort = await new Promise((r) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => r(p));
    });
  });
  const debug = [];
  const fwd = await startSftpForwarder({ upstream, targetPort: closedPort, log: { debug: (m) => debug.push(m) } });
  t.teardown(() => fwd.close());
  const s = connect(fwd.port, '127.0.0.1');
  s.on('error', () => {});
  await once(s, 'close');
  t.match(debug.join('\n'), /CONNECT 127\.0\.0\.1:\d+ in the pod: .*refused/i);
});

const pre = preflightVolumes();
const fuseReason = pre.ok ? undefined : `${pre.warning} (set KINJECT_TEST_SKIP_FUSE=1 to skip)`;
const skipFuse = !pre.ok && process.env.KINJECT_TEST_SKIP_FUSE === '1';
const fuseTest = (name, fn) =>
  t.test(name, { skip: skipFuse && pre.warning }, async (t) => {
    if (fuseReason && !skipFuse) return t.fail(fuseReason);
    return fn(t);
  });
const sftp = { port: ports.sftpPort, clientPrivateKey: keys.clientPrivateKey, hostPublicKey: keys.hostPublicKey, exports: exportsList };
const kinjectMounts = () => readMountInfo().filter((m) => m.fsType === 'fuse.sshfs' && m.mountPoint.startsWith(runtime));

fuseTest('mountSessionVolumes: mounted through the forwarder, env for the child, unmounted before the tunnel goes', async (t) => {
  const cleanup = new CleanupStack();
  let mountedWhenTunnelClosed;
  let root;
  cleanup.add('tunnel', () => {
    mountedWhenTunnelClosed = findMount(root) !== undefined;
  });
  const log = logger();
  const v = await mountSessionVolumes({ sftp, upstream, sessionId: 'unit1', plan: { request: true }, cleanup, log, env });
  root = v.root;
  t.equal(v.root, join(base, 'unit1'), 'the default place: ${XDG_RUNTIME_DIR}/kinject-<uid>/<session>');
  t.ok(findMount(v.root), 'mounted');
  t.same(v.env, {
    KINJECT_ROOT: v.root,
    KINJECT_MOUNTS: `${join(pod, 'data')}:${join(pod, 'etc/web')}`,
    KINJECT_PATH_MAP: `${join(pod, 'etc/web')}=${v.root}${join(pod, 'etc/web')}:${join(pod, 'data')}=${v.root}${join(pod, 'data')}`,
  });
  t.match(log.lines.info.join('\n'), `volumes mounted at ${v.root}: ${join(pod, 'data')}, ${join(pod, 'etc/web')} (read-only)`);
  const cat = await run('cat', [`${v.root}${pod}/etc/web/app.conf`, `${v.root}${pod}/data/seed.txt`]);
  t.equal(cat.stdout, 'listen 8080\nseeded\n', cat.stderr);
  await writeFile(`${v.root}${pod}/data/local.txt`, 'from local\n');
  t.equal(readFileSync(join(pod, 'data/local.txt'), 'utf8'), 'from local\n', 'a write lands in the pod');
  await t.rejects(writeFile(`${v.root}${pod}/etc/web/new`, 'x'), { code: 'EACCES' }, 'read-only export');
  t.equal(await readFile(`${v.root}${pod}/data/seed.txt`, 'utf8'), 'seeded\n');
  const keyDirs = readdirSync(base).filter((n) => n.startsWith('.keys-'));
  t.equal(keyDirs.length, 1, 'the key directory exists while mounted');

  await cleanup.unwind();
  t.equal(mountedWhenTunnelClosed, false, 'the mount was gone before the tunnel step ran');
  t.notOk(findMount(v.root), 'unmounted');
  t.notOk(existsSync(v.root), 'the mount directory it made is removed');
  t.same(
    readdirSync(base).filter((n) => n.startsWith('.keys-')),
    [],
    'the key directory is removed',
  );
});

fuseTest('mountSessionVolumes: --mount DIR is used and kept', async (t) => {
  const dir = join(work, 'explicit');
  mkdirSync(dir);
  const cleanup = new CleanupStack();
  const v = await mountSessionVolumes({ sftp, upstream, sessionId: 'unit2', plan: { request: true, mountDir: dir }, cleanup, log: logger(), env });
  t.equal(v.root, dir);
  t.equal((await run('cat', [`${dir}${pod}/data/seed.txt`])).stdout, 'seeded\n');
  await cleanup.unwind();
  t.notOk(findMount(dir));
  t.ok(existsSync(dir), 'a directory the user gave is not removed');
});

fuseTest('mountSessionVolumes: a failed mount is a warning, or an error with --mount; nothing left', async (t) => {
  const wrongHost = { ...sftp, hostPublicKey: generateSessionKeys('other').hostPublicKey };
  const cleanup = new CleanupStack();
  const log = logger();
  const v = await mountSessionVolumes({ sftp: wrongHost, upstream, sessionId: 'unit3', plan: { request: true }, cleanup, log, env });
  t.equal(v, undefined, 'run without volumes');
  t.same(log.lines.warn, ['volumes are not mounted: Host key verification failed: the SFTP server is not the one of this session; running without them']);
  await cleanup.unwind();

  const dir = join(work, 'explicit-fail');
  const cleanup2 = new CleanupStack();
  await t.rejects(
    mountSessionVolumes({ sftp: wrongHost, upstream, sessionId: 'unit4', plan: { request: true, mountDir: dir }, cleanup: cleanup2, log: logger(), env }),
    { message: `--mount ${dir}: mounting the volumes failed: Host key verification failed: the SFTP server is not the one of this session` },
  );
  await cleanup2.unwind();
  t.same(kinjectMounts(), [], 'no mount left');
  t.notOk(existsSync(dir), 'the directory it made is removed');
  t.same(
    readdirSync(base).filter((n) => n.startsWith('.keys-') || n.startsWith('unit')),
    [],
    'no key or mount directory left',
  );
});

fuseTest('mountSessionVolumes: an abort during the mount stops sshfs and leaves nothing', async (t) => {
  const cleanup = new CleanupStack();
  const ac = new AbortController();
  const log = logger();
  let spawned = false;
  // abort right as sshfs is started (mountVolumes logs its command line just before)
  log.debug = (m) => {
    if (/^volumes: \S*sshfs /.test(m)) {
      spawned = true;
      ac.abort(new Error('SIGINT received'));
    }
  };
  const p = mountSessionVolumes({ sftp, upstream, sessionId: 'unit5', plan: { request: true }, cleanup, log, env, signal: ac.signal });
  const start = Date.now();
  await t.rejects(p, { message: 'SIGINT received' }, 'rejects with the abort reason');
  t.ok(spawned, 'the abort came while sshfs was starting');
  t.ok(Date.now() - start < 5000, 'promptly');
  await cleanup.unwind();
  t.same(kinjectMounts(), [], 'no mount left');
  const ps = await run('pgrep', ['-f', 'unit5']);
  t.equal(ps.stdout.trim(), '', 'no sshfs left');

  const none = await mountSessionVolumes({
    sftp: { ...sftp, exports: [] },
    upstream,
    sessionId: 'unit6',
    plan: { request: true },
    cleanup,
    log: logger(),
    env,
  });
  t.equal(none, undefined, 'no exports: nothing to mount');
});

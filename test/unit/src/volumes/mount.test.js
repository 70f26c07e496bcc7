// The whole volume path on loopback: kinject's SFTP server over a pod-shaped temp tree, mounted
// with the real sshfs by mountVolumes(), used by cat / node / python, unmounted; leftovers of a
// SIGKILLed kinject gone by themselves (setpriv --pdeathsig) or, without setpriv, removed by
// removeLeftoverMounts(); the same mount made by an unprivileged user.
// Needs sshfs + fuse3 (scripts/setup-host.sh installs them) and /dev/fuse.
import t from 'tap';
import { spawn, execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  mkdtempSync,
  mkdirSync,
  writeFileSync,
  symlinkSync,
  readFileSync,
  readdirSync,
  rmSync,
  existsSync,
  chmodSync,
  chownSync,
  createReadStream,
  statSync,
  mkdirSync as mkdir,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateSessionKeys, knownHostsLine } from '../../../../dist/proxy-pod/sftp/index.js';
import { mountVolumes } from '../../../../dist/src/volumes/mount.js';
import { readMountInfo, findMount } from '../../../../dist/src/volumes/mountinfo.js';
import { removeLeftoverMounts, findKinjectMounts } from '../../../../dist/src/volumes/leftovers.js';
import { waitUntil } from '../../../../test/helpers/wait.js';
import { requireFuse } from '../../../helpers/require-fuse.js';
import { isAlive } from '../../../helpers/process-tree.js';
import { pathWithout } from '../../../helpers/path-without.js'; // sshfs without setpriv outlives a SIGKILLed kinject

requireFuse();

const run = (cmd, args, opts = {}) =>
  new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30000, encoding: 'utf8', ...opts }, (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
  });
const fuseMounts = () => readMountInfo().filter((m) => m.fsType.startsWith('fuse'));

const work = mkdtempSync(join(tmpdir(), 'kinject-vol-'));
chmodSync(work, 0o755);
const pod = join(work, 'pod');
mkdirSync(join(pod, 'data'), { recursive: true });
writeFileSync(join(pod, 'data/hello.txt'), 'hello from the pod\n');
const ts = join(pod, 'etc/web/..2026_11_22_02_30_00.123456789');
mkdirSync(ts, { recursive: true });
writeFileSync(join(ts, 'app.conf'), 'listen 8080\n');
symlinkSync('..2026_11_22_02_30_00.123456789', join(pod, 'etc/web/..data'));
symlinkSync('..data/app.conf', join(pod, 'etc/web/app.conf'));
mkdirSync(join(pod, 'etc/secret'), { recursive: true });
writeFileSync(join(pod, 'etc/secret/password'), 'hunter2\n');
symlinkSync(join(pod, 'etc/secret/password'), join(pod, 'data/abs-escape'));
symlinkSync('../etc/secret/password', join(pod, 'data/rel-escape'));
symlinkSync(join(pod, 'etc/web/app.conf'), join(pod, 'data/abs-inside'));

const keys = generateSessionKeys('test');
const keyPath = join(work, 'id_ed25519');
writeFileSync(keyPath, keys.clientPrivateKey, { mode: 0o600 });
const knownHosts = join(work, 'known_hosts');
writeFileSync(knownHosts, knownHostsLine(keys.hostPublicKey));
const runtime = join(work, 'runtime');
mkdir(runtime, { mode: 0o700 });
const env = { ...process.env, XDG_RUNTIME_DIR: runtime };
const exportsList = [
  { path: join(pod, 'data'), readOnly: false },
  { path: join(pod, 'etc/web'), readOnly: true },
];
// The server runs in its own process: this one makes blocking fs calls on the mount (a server
// in the same event loop could not answer them).
const serverScript = join(work, 'server.mjs');
writeFileSync(
  serverScript,
  `
  import { startSftpServer } from ${JSON.stringify(pathToFileURL(join(process.cwd(), 'dist/proxy-pod/sftp/index.js')).href)};
  const o = JSON.parse(process.env.SFTP_OPTIONS);
  const s = await startSftpServer({ ...o, host: '127.0.0.1', port: Number(process.env.SFTP_PORT || 0), log: (l) => process.stderr.write(l + '\\n') });
  process.stdout.write(s.address.port + '\\n');
`,
);
async function startServerProc(wantPort = 0) {
  const proc = spawn(process.execPath, [serverScript], {
    env: {
      ...process.env,
      SFTP_PORT: String(wantPort),
      SFTP_OPTIONS: JSON.stringify({ hostKey: keys.hostPrivateKey, authorizedKey: keys.clientPublicKey, exports: exportsList }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr.on('data', (d) => {
    err += d;
  });
  const gotPort = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`SFTP server did not start: ${err}`)), 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /^(\d+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`SFTP server exited ${code}: ${err}`));
    });
  });
  return { proc, port: gotPort };
}
const first = await startServerProc();
const port = first.port;
let serverProc = first.proc;
const server = {
  close: async () => {
    serverProc.kill('SIGTERM');
  },
};
const logLines = [];
const log = { debug: (m) => logLines.push(m), warn: (m) => logLines.push(`WARN ${m}`) };

t.teardown(async () => {
  // Never leave a mount behind, whatever failed.
  for (const m of fuseMounts()) if (m.mountPoint.startsWith(work)) await run('fusermount3', ['-uz', m.mountPoint]);
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

t.test('mount, use with cat / node / python, write, read-only, hidden, escapes, unmount', async (t) => {
  const mountDir = join(runtime, 'kinject-test', 'session-a');
  const m = await mountVolumes({
    sshPort: port,
    clientKeyPath: keyPath,
    knownHostsPath: knownHosts,
    mountDir,
    exports: exportsList.map((e) => e.path),
    log,
    env,
  });
  t.teardown(() => m.unmount());
  t.equal(m.root, mountDir);
  t.same(m.mounts, [join(mountDir, pod, 'data'), join(mountDir, pod, 'etc/web')]);
  const mi = findMount(mountDir);
  t.ok(mi, 'in /proc/self/mountinfo');
  t.equal(mi.fsType, 'fuse.sshfs');
  t.equal(mi.source, 'kinject@127.0.0.1:/');
  const L = (p) => join(mountDir, pod, p);

  const cat = await run('cat', [L('etc/web/app.conf')]);
  t.equal(cat.stdout, 'listen 8080\n', 'cat reads through the configMap symlink farm');
  const node = await run(process.execPath, ['-e', 'process.stdout.write(require("fs").readFileSync(process.argv[1], "utf8"))', L('data/hello.txt')]);
  t.equal(node.stdout, 'hello from the pod\n', 'node reads');
  const py = await run('python3', ['-c', 'import sys; sys.stdout.write(open(sys.argv[1]).read())', L('etc/web/app.conf')]);
  t.equal(py.stdout, 'listen 8080\n', `python reads${py.stderr ? `: ${py.stderr}` : ''}`);
  t.equal(readFileSync(L('data/abs-inside'), 'utf8'), 'listen 8080\n', 'an absolute link inside the exports works (transform_symlinks)');

  writeFileSync(L('data/from-local.txt'), 'written locally\n');
  t.equal(readFileSync(join(pod, 'data/from-local.txt'), 'utf8'), 'written locally\n', 'a local write lands in the pod');
  const append = await run('sh', ['-c', `echo one >> "$1" && echo two >> "$1"`, 'sh', L('data/appended.txt')]);
  t.equal(append.code, 0, `shell append works ${append.stderr}`);
  t.equal(readFileSync(join(pod, 'data/appended.txt'), 'utf8'), 'one\ntwo\n');
  writeFileSync(join(pod, 'data/from-pod.txt'), 'v1');
  t.equal(readFileSync(L('data/from-pod.txt'), 'utf8'), 'v1', 'a pod write is visible locally');

  for (const [what, fn] of [
    ['overwrite', () => writeFileSync(L('etc/web/app.conf'), 'x')],
    ['create', () => writeFileSync(L('etc/web/new.conf'), 'x')],
    ['mkdir', () => mkdirSync(L('etc/web/d'))],
    ['remove', () => rmSync(L('etc/web/app.conf'))],
  ]) {
    let code;
    try {
      fn();
    } catch (err) {
      code = err.code;
    }
    t.ok(code === 'EACCES' || code === 'EROFS', `read-only export refuses ${what} (${code})`);
  }
  t.equal(readFileSync(join(ts, 'app.conf'), 'utf8'), 'listen 8080\n', 'the read-only file is unchanged');

  t.same(readdirSync(join(mountDir, pod, 'etc')), ['web'], 'the non-exported sibling is not listed');
  t.notOk(existsSync(L('etc/secret/password')), 'and cannot be opened');
  t.same(readdirSync(mountDir), [pod.split('/')[1]], 'the root lists only the way to the exports');
  for (const name of ['abs-escape', 'rel-escape']) {
    let code;
    try {
      readFileSync(L(`data/${name}`));
    } catch (err) {
      code = err.code;
    }
    t.equal(code, 'EACCES', `a symlink escaping the exports is refused (${name})`);
  }

  await m.unmount();
  t.notOk(findMount(mountDir), 'unmounted');
  t.notOk(
    fuseMounts().some((x) => x.mountPoint.startsWith(work)),
    'no FUSE mount left',
  );
  t.notOk(existsSync(mountDir), 'the mount directory it created is gone');
  await m.unmount();
  t.pass('a second unmount is a no-op');
  t.ok(m.pid, 'the sshfs pid is known');
  await waitUntil(() => !isAlive(m.pid), 20_000, 'sshfs exits after the unmount');
});

t.test('a 100 MiB file reads through the mount intact', async (t) => {
  const mountDir = join(work, 'mnt-big');
  const data = randomBytes(100 * 1024 * 1024);
  writeFileSync(join(pod, 'data/big.bin'), data);
  const want = createHash('sha256').update(data).digest('hex');
  const m = await mountVolumes({ sshPort: port, clientKeyPath: keyPath, knownHostsPath: knownHosts, mountDir, exports: [], log, env });
  t.teardown(() => m.unmount());
  const start = process.hrtime.bigint();
  const hash = createHash('sha256');
  let bytes = 0;
  await new Promise((resolve, reject) => {
    createReadStream(join(mountDir, pod, 'data/big.bin'), { highWaterMark: 1024 * 1024 })
      .on('data', (c) => {
        hash.update(c);
        bytes += c.length;
      })
      .on('end', resolve)
      .on('error', reject);
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  t.equal(bytes, data.length);
  t.equal(hash.digest('hex'), want, 'sha256 matches');
  t.comment(`100 MiB through sshfs + the ssh2 SFTP server on loopback: ${seconds.toFixed(2)} s, ${(100 / seconds).toFixed(0)} MiB/s`);
  await m.unmount();
  t.notOk(findMount(mountDir));
});

t.test('reconnect: the server (the tunnel) goes away and comes back; the mount carries on', async (t) => {
  const mountDir = join(work, 'mnt-reconnect');
  const m = await mountVolumes({ sshPort: port, clientKeyPath: keyPath, knownHostsPath: knownHosts, mountDir, exports: [], log, env });
  t.teardown(() => m.unmount());
  const L = (p) => join(mountDir, pod, p);
  t.equal((await run('cat', [L('data/hello.txt')])).stdout, 'hello from the pod\n');
  const old = serverProc;
  await new Promise((r) => {
    old.once('exit', r);
    old.kill('SIGKILL');
  });
  const down = await run('cat', [L('data/hello.txt')], { timeout: 20000 });
  t.not(down.code, 0, `while it is down a read fails rather than hangs (${down.stderr.trim()})`);
  const again = await startServerProc(port);
  serverProc = again.proc;
  let back;
  await waitUntil(
    async () => {
      back = await run('cat', [L('data/hello.txt')]);
      return back.code === 0;
    },
    30_000,
    () => `a read after the server is back (${back?.stderr.trim()})`,
    250,
  );
  t.equal(back.stdout, 'hello from the pod\n', 'reads work again after sshfs reconnects');
  t.ok(findMount(mountDir), 'still the same mount');
  await m.unmount();
  t.notOk(findMount(mountDir));
});

t.test('wrong client key or wrong host key: the mount fails with a reason and leaves nothing', async (t) => {
  const other = generateSessionKeys('other');
  const otherKey = join(work, 'other_key');
  writeFileSync(otherKey, other.clientPrivateKey, { mode: 0o600 });
  const mountDir = join(work, 'mnt-bad');
  await t.rejects(
    mountVolumes({ sshPort: port, clientKeyPath: otherKey, knownHostsPath: knownHosts, mountDir, exports: [], env, readyTimeoutMs: 15000 }),
    /^mounting the volumes failed: .*Permission denied \(publickey\)/,
    'wrong client key refused',
  );
  t.notOk(findMount(mountDir));
  t.notOk(existsSync(mountDir), 'no directory left');
  await t.rejects(
    mountVolumes({ sshPort: port, clientKeyPath: keyPath, hostPublicKey: other.hostPublicKey, mountDir, exports: [], env, readyTimeoutMs: 15000 }),
    /^mounting the volumes failed: Host key verification failed/,
    'a server with another host key is refused',
  );
  t.notOk(findMount(mountDir));
});

t.test("the default mount place must be the user's own private directory", async (t) => {
  const rt = join(work, 'runtime-foreign');
  const base = join(rt, `kinject-${process.getuid()}`);
  mkdirSync(base, { recursive: true, mode: 0o777 });
  chmodSync(base, 0o777);
  await t.rejects(
    mountVolumes({
      sshPort: port,
      clientKeyPath: keyPath,
      knownHostsPath: knownHosts,
      mountDir: join(base, 's1'),
      exports: [],
      env: { ...env, XDG_RUNTIME_DIR: rt },
    }),
    /accessible by other users/,
  );
  if (process.getuid() === 0) {
    chmodSync(base, 0o700);
    chownSync(base, 65534, 65534);
    await t.rejects(
      mountVolumes({
        sshPort: port,
        clientKeyPath: keyPath,
        knownHostsPath: knownHosts,
        mountDir: join(base, 's1'),
        exports: [],
        env: { ...env, XDG_RUNTIME_DIR: rt },
      }),
      /belongs to uid 65534, not to you/,
    );
  }
  t.notOk(findMount(join(base, 's1')));
});

// A separate process plays kinject: it mounts, says READY, and stays until killed.
function startMounter(t, mountDir, extraEnv = {}, spawnOpts = {}) {
  const script = join(work, `mounter-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(
    script,
    `
    import { mountVolumes } from ${JSON.stringify(pathToFileURL(join(process.cwd(), 'dist/src/volumes/mount.js')).href)};
    const a = JSON.parse(process.argv[2]);
    const m = await mountVolumes(a);
    process.stdout.write('READY ' + JSON.stringify({ root: m.root, pid: m.pid }) + '\\n');
    if (a.thenUnmount) {
      const fs = await import('node:fs');
      const out = { read: fs.readFileSync(a.readPath, 'utf8') };
      fs.writeFileSync(a.writePath, 'from an unprivileged user\\n');
      out.owner = fs.statSync(a.readPath).uid;
      await m.unmount();
      process.stdout.write('DONE ' + JSON.stringify(out) + '\\n');
      process.exit(0);
    }
    setInterval(() => {}, 1000);
  `,
  );
  chmodSync(script, 0o644);
  const args = JSON.parse(JSON.stringify({ sshPort: port, clientKeyPath: keyPath, knownHostsPath: knownHosts, mountDir, exports: [], ...extraEnv.args }));
  const child = spawn(spawnOpts.command ?? process.execPath, [...(spawnOpts.prefix ?? []), script, JSON.stringify(args)], {
    env: { ...env, ...extraEnv.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    try {
      child.kill('SIGKILL');
    } catch {}
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  const lines = new Promise((resolve) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (/READY .*\n/.test(out) && (!args.thenUnmount || /DONE .*\n/.test(out))) resolve(out);
    });
    child.on('exit', () => resolve(out));
    setTimeout(() => resolve(out), 30000).unref();
  });
  return { child, lines, stderr: () => err };
}

t.test('a SIGKILLed kinject: sshfs (under setpriv --pdeathsig) ends and the mount goes, nobody acting', async (t) => {
  const dir = join(runtime, `kinject-${process.getuid()}`, 'killed-session');
  const m = startMounter(t, dir);
  t.match(await m.lines, /READY/, `mounter ready ${m.stderr()}`);
  const sshfsPid = JSON.parse(/READY (.*)\n/.exec(await m.lines)[1]).pid;
  m.child.kill('SIGKILL');
  await waitUntil(() => !findMount(dir), 10_000, 'the mount is gone');
  await waitUntil(() => !isAlive(sshfsPid), 10_000, 'its sshfs is gone');
  t.pass('no mount, no sshfs');
});

t.test('leftovers: a SIGKILLed kinject without setpriv leaves its mount; cleanup removes it, but not a live one', async (t) => {
  const base = join(runtime, `kinject-${process.getuid()}`);
  const liveDir = join(base, 'live-session');
  const deadDir = join(base, 'dead-session');
  const noSetpriv = { env: { PATH: pathWithout('setpriv', join(work, 'bin-no-setpriv')) } };
  const live = startMounter(t, liveDir, noSetpriv);
  const dead = startMounter(t, deadDir, noSetpriv);
  t.match(await live.lines, /READY/, `live mounter ready ${live.stderr()}`);
  t.match(await dead.lines, /READY/, `dead mounter ready ${dead.stderr()}`);
  const deadSshfs = JSON.parse(/READY (.*)\n/.exec(await dead.lines)[1]).pid;
  dead.child.kill('SIGKILL');
  await new Promise((r) => (dead.child.exitCode !== null || dead.child.signalCode ? r() : dead.child.once('exit', r)));
  t.ok(findMount(deadDir), 'the killed kinject left its mount behind');
  // Only this test's mounts: never touch a real session's.
  const mountInfo = () => readMountInfo().filter((m) => m.mountPoint.startsWith(work));
  await waitUntil(() => findKinjectMounts({ env, mountInfo }).some((f) => f.mountPoint === deadDir && !f.live), 20_000, 'the killed session is seen as dead');
  const found = findKinjectMounts({ env, mountInfo });
  t.same(
    found
      .filter((f) => f.mountPoint.startsWith(base))
      .map((f) => [f.mountPoint, f.live])
      .sort(),
    [
      [deadDir, false],
      [liveDir, true],
    ],
  );

  const res = await removeLeftoverMounts({ env, log, mountInfo });
  t.same(
    res.removed.filter((p) => p.startsWith(work)),
    [deadDir],
    'the dead one is removed',
  );
  t.ok(res.skipped.includes(liveDir), 'the live one is left alone');
  t.same(res.failed, []);
  t.notOk(findMount(deadDir), 'no longer mounted');
  t.notOk(existsSync(deadDir), 'its directory is removed');
  await waitUntil(() => !isAlive(deadSshfs), 20_000, 'its sshfs is gone');
  t.ok(findMount(liveDir), 'the live session still has its mount');

  // Without its record (as if made under another XDG_RUNTIME_DIR) the live mount is still
  // recognised as live: its sshfs is the child of a running Node process.
  const otherEnv = { ...env, XDG_RUNTIME_DIR: join(work, 'runtime-elsewhere') };
  t.same(
    findKinjectMounts({ env: otherEnv, mountInfo }).map((f) => [f.mountPoint, f.live]),
    [[liveDir, true]],
    'live without a record',
  );
  t.same((await removeLeftoverMounts({ env: otherEnv, log, mountInfo })).skipped, [liveDir]);

  live.child.kill('SIGKILL');
  await new Promise((r) => (live.child.exitCode !== null || live.child.signalCode ? r() : live.child.once('exit', r)));
  await waitUntil(
    () => findKinjectMounts({ env: otherEnv, mountInfo }).some((f) => f.mountPoint === liveDir && !f.live),
    20_000,
    'the killed live session is seen as dead',
  );
  t.same(
    findKinjectMounts({ env: otherEnv, mountInfo }).map((f) => [f.mountPoint, f.live]),
    [[liveDir, false]],
    'an orphaned sshfs without a record is a leftover',
  );
  const res2 = await removeLeftoverMounts({ env, log, mountInfo });
  t.ok(res2.removed.includes(liveDir), 'once its kinject is gone it is removed too');
  t.notOk(
    fuseMounts().some((x) => x.mountPoint.startsWith(work)),
    'no FUSE mount of ours left',
  );
});

t.test('an unprivileged user can mount (via the setuid fusermount3), read, write, unmount', async (t) => {
  if (process.getuid() !== 0) {
    t.skip(`running as uid ${process.getuid()}, not root: cannot switch users; the mounts above were unprivileged ones`);
    return;
  }
  const uid = 65534;
  const asUser = ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  // fusermount3 opens /dev/fuse as the calling user. Where it is mode 600 (some VMs and
  // containers), first check that preflight says so, then grant this one user access with an ACL
  // for the duration of the test (the saved ACL is restored after).
  if ((statSync('/dev/fuse').mode & 0o006) !== 0o006) {
    const r = await run(asUser[0], [
      ...asUser.slice(1),
      process.execPath,
      '--input-type=module',
      '-e',
      `import { preflightVolumes } from ${JSON.stringify(pathToFileURL(join(process.cwd(), 'dist/src/volumes/preflight.js')).href)}; process.stdout.write(JSON.stringify(preflightVolumes()));`,
    ]);
    const res = JSON.parse(r.stdout || '{}');
    t.equal(res.ok, false, `preflight as uid ${uid} reports no access to /dev/fuse`);
    t.match(res.warning, /access to \/dev\/fuse.*chmod 666/);
    const saved = await run('getfacl', ['--absolute-names', '/dev/fuse']);
    if (saved.code !== 0) {
      t.skip(`not tried: /dev/fuse is mode ${(statSync('/dev/fuse').mode & 0o777).toString(8)} and getfacl is missing (scripts/setup-host.sh installs acl)`);
      return;
    }
    const savedPath = join(work, 'dev-fuse.acl');
    writeFileSync(savedPath, saved.stdout);
    t.teardown(async () => {
      const back = await run('setfacl', [`--restore=${savedPath}`]);
      if (back.code !== 0) throw new Error(`could not restore the ACL of /dev/fuse: ${back.stderr}`);
    });
    const grant = await run('setfacl', ['-m', `u:${uid}:rw`, '/dev/fuse']);
    t.equal(grant.code, 0, `granted uid ${uid} access to /dev/fuse for this test ${grant.stderr}`);
  }
  const home = join(work, 'nobody');
  mkdirSync(home, { mode: 0o700 });
  chownSync(home, uid, uid);
  const key = join(home, 'id');
  writeFileSync(key, keys.clientPrivateKey, { mode: 0o600 });
  chownSync(key, uid, uid);
  const mountDir = join(home, 'mnt');
  const m = startMounter(
    t,
    mountDir,
    {
      env: { XDG_RUNTIME_DIR: home, HOME: home },
      args: { clientKeyPath: key, thenUnmount: true, readPath: join(mountDir, pod, 'etc/web/app.conf'), writePath: join(mountDir, pod, 'data/by-nobody.txt') },
    },
    { command: asUser[0], prefix: [...asUser.slice(1), process.execPath] },
  );
  const out = await m.lines;
  t.match(out, /READY/, `mounted as uid ${uid} ${m.stderr()}`);
  const done = /DONE (.*)\n/.exec(out);
  t.ok(done, `used and unmounted ${m.stderr()}`);
  if (done) {
    const r = JSON.parse(done[1]);
    t.equal(r.read, 'listen 8080\n');
    t.equal(r.owner, uid, "idmap=user: the pod user's files show as the local user's");
  }
  t.equal(readFileSync(join(pod, 'data/by-nobody.txt'), 'utf8'), 'from an unprivileged user\n');
  t.notOk(findMount(mountDir), 'unmounted');
});

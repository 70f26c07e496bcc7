// `kinject run --target deployment/web` mounts web's volumes locally (sshfs through the tunnel):
// the configMap at /etc/web (read-only) and the emptyDir /data seeded by the init container are
// read through $KINJECT_ROOT/... and through their in-cluster paths with cat, node and python; a
// file written locally into /data is read back with `kubectl exec` in the proxy pod and one the
// pod writes is read locally; writes to the configMap are refused; --mount DIR and --no-mount;
// without sshfs on PATH one warning and the run still works; no FUSE mount is left after a normal
// exit, after SIGINT (during setup and during the child), nor within seconds of a SIGKILL with
// nobody acting (sshfs runs under setpriv --pdeathsig); without setpriv, SIGKILL leaves it for
// `kinject cleanup` (whose local part is done even when the cluster cannot be reached). It runs against its own copy
// of the sample `web` workload in a namespace of its own, so its `kinject cleanup` runs touch no
// one else's sessions.
import t from 'tap';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applySample, ensureCluster, kinjectLeftovers, kubectlOk, ownNamespace } from '../helpers/cluster.js';
import { kinject, mountRootOf, sessionOf, spawnKinject, until } from '../helpers/kinject-cli.js';
import { graceEnv, pastGrace } from '../helpers/session-grace.js';
import { readMountInfo } from '../../dist/src/volumes/mountinfo.js';
import { requireFuse } from '../helpers/require-fuse.js';
import { runtimeBase } from '../../dist/src/volumes/state.js';
import { pathWithout } from '../helpers/path-without.js'; // sshfs without setpriv outlives a SIGKILLed kinject

const SA = '/var/run/secrets/kubernetes.io/serviceaccount';
requireFuse();
const { kubeconfig } = await ensureCluster();
const NS = await ownNamespace(t, kubeconfig, 'vol'); // not 'volumes': tests grep kinject's stderr for that word
await applySample(kubeconfig, '40-web.yaml', NS);
const base = runtimeBase(); // ${XDG_RUNTIME_DIR:-/tmp}/kinject-<uid>
const work = mkdtempSync(join(tmpdir(), 'kinject-e2e-vol-'));
const config = JSON.parse(await kubectlOk(kubeconfig, ['-n', NS, 'get', 'configmap', 'web-config', '-o', 'json'])).data;

const sshfsMounts = () => readMountInfo().filter((m) => m.fsType === 'fuse.sshfs');
const mountedAt = (root) => sshfsMounts().some((m) => m.mountPoint === root);
/** processes whose command line names this path (sshfs serving a mount) */
const processesNaming = (path) =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(path);
      } catch {
        return false;
      }
    });
const killQuietly = (pid) => {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
};
async function nothingLeft(t, stderr, root) {
  t.ok(root, 'the mount root was announced');
  t.notOk(mountedAt(root), `no FUSE mount at ${root}`);
  t.notOk(existsSync(root), 'the mount directory kinject made is removed');
  t.ok(await until(() => processesNaming(root).length === 0, { timeoutMs: 5000 }), 'no sshfs left for it');
  t.same(await kinjectLeftovers(kubeconfig, NS, sessionOf(stderr)), [], 'no Job, pod or Secret left');
}

// Reads every file three ways (cat, node, python) at both paths, and tries two writes to the
// read-only configMap; prints one JSON object.
const probe = join(work, 'probe.cjs');
writeFileSync(
  probe,
  `
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const root = process.env.KINJECT_ROOT;
const run = (cmd, args) => { try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }); } catch (e) { return 'ERROR ' + e.stderr; } };
const read = (p) => { try { return fs.readFileSync(p, 'utf8'); } catch (e) { return 'ERROR ' + e.code; } };
const py = 'import sys; sys.stdout.write(open(sys.argv[1]).read())';
const out = { root, mounts: process.env.KINJECT_MOUNTS, map: process.env.KINJECT_PATH_MAP, files: {}, writes: {} };
for (const p of ['/etc/web/APP_MODE', '/etc/web/settings.json', '/data/seed.txt', '${SA}/namespace']) {
  out.files[p] = {
    'cat in-cluster path': run('cat', [p]), 'cat $KINJECT_ROOT': run('cat', [root + p]),
    'node in-cluster path': read(p), 'node $KINJECT_ROOT': read(root + p),
    'python in-cluster path': run('python3', ['-c', py, p]), 'python $KINJECT_ROOT': run('python3', ['-c', py, root + p]),
  };
}
out.ls = run('ls', ['/etc/web']);
for (const p of ['/etc/web/APP_MODE', '/etc/web/new-file', root + '/etc/web/APP_MODE']) {
  try { fs.writeFileSync(p, 'changed'); out.writes[p] = 'written'; } catch (e) { out.writes[p] = e.code; }
}
try { fs.mkdirSync('/etc/web/newdir'); out.writes.mkdir = 'made'; } catch (e) { out.writes.mkdir = e.code; }
process.stdout.write(JSON.stringify(out));
`,
);

t.test('configMap and seeded emptyDir through $KINJECT_ROOT and the in-cluster paths: cat, node, python', async (t) => {
  const r = await kinject(['run', '-n', NS, '--target', 'deployment/web', '--', 'node', probe], { kubeconfig });
  t.equal(r.code, 0, r.stderr);
  const root = mountRootOf(r.stderr);
  const session = sessionOf(r.stderr);
  t.equal(root, join(base, session), 'the default mount root is per session');
  const out = JSON.parse(r.stdout);
  t.equal(out.root, root, 'KINJECT_ROOT');
  t.same(out.mounts.split(':').sort(), ['/data', '/etc/web', SA], 'KINJECT_MOUNTS: the in-cluster paths');
  t.same(out.map.split(':'), [`${SA}=${root}${SA}`, `/etc/web=${root}/etc/web`, `/data=${root}/data`], 'KINJECT_PATH_MAP, deepest first');
  t.match(r.stderr, `volumes mounted at ${root}: /data, /etc/web (read-only), ${SA} (read-only)`);
  const expected = {
    '/etc/web/APP_MODE': config.APP_MODE,
    '/etc/web/settings.json': config['settings.json'],
    [`${SA}/namespace`]: NS,
  };
  for (const [path, reads] of Object.entries(out.files)) {
    for (const [how, text] of Object.entries(reads)) {
      if (path === '/data/seed.txt') t.match(text, /^seeded by init container at \d{4}-\d\d-\d\dT[\d:]+Z\n$/, `${path}: ${how}`);
      else t.equal(text, expected[path], `${path}: ${how}`);
    }
  }
  t.same(out.ls.split('\n').filter(Boolean).sort(), Object.keys(config).sort(), 'ls /etc/web lists the configMap keys');
  for (const [what, code] of Object.entries(out.writes)) {
    t.ok(['EROFS', 'EACCES'].includes(code), `read-only configMap refuses ${what}: ${code}`);
  }
  await nothingLeft(t, r.stderr, root);
});

t.test('a file written locally into /data is in the proxy pod, and one the pod writes is read locally; SIGINT during the child unmounts', async (t) => {
  const token = `from-local-${process.pid}-${Date.now()}`;
  const script = [
    'echo "root=$KINJECT_ROOT pod=$POD_NAME"',
    `echo ${token} > /data/from-local.txt || exit 1`,
    'echo written',
    'i=0; while [ ! -f /data/from-pod.txt ]; do i=$((i+1)); [ $i -gt 300 ] && exit 2; sleep 0.1; done',
    'echo "local sees: $(cat /data/from-pod.txt)"',
    'trap "exit 5" INT',
    'while :; do sleep 0.1; done',
  ].join('\n');
  const child = spawnKinject(['run', '-n', NS, '--target', 'web', '--', 'sh', '-c', script], { kubeconfig });
  t.teardown(() => child.kill('SIGTERM')); // (a failed assertion: kinject still cleans up)
  t.ok(await until(() => child.out.includes('written'), { timeoutMs: 120_000 }), `the child wrote the file\n${child.err}`);
  const [, root, pod] = /root=(\S+) pod=(\S+)/.exec(child.out) ?? [];
  t.match(pod, /^kinject-[a-z0-9]+-/, 'POD_NAME is the proxy pod (downward API)');
  // (the proxy image has node, not necessarily cat)
  const inPod = await kubectlOk(kubeconfig, [
    '-n',
    NS,
    'exec',
    pod,
    '-c',
    'web',
    '--',
    'node',
    '-e',
    "process.stdout.write(require('fs').readFileSync('/data/from-local.txt', 'utf8'))",
  ]);
  t.equal(inPod.trim(), token, 'kubectl exec in the proxy pod reads what the local process wrote');
  await kubectlOk(kubeconfig, [
    '-n',
    NS,
    'exec',
    pod,
    '-c',
    'web',
    '--',
    'node',
    '-e',
    "require('fs').writeFileSync('/data/from-pod.txt', 'written-in-the-pod\\n')",
  ]);
  t.ok(await until(() => child.out.includes('local sees:'), { timeoutMs: 15_000 }), "the local process sees the pod's file");
  t.match(child.out, /local sees: written-in-the-pod/);
  t.ok(mountedAt(root), 'mounted while the child runs');
  child.kill('SIGINT');
  const end = await child.exited;
  t.equal(end.code, 5, "SIGINT went to the child; its exit status is kinject's");
  await nothingLeft(t, child.err, root);
});

t.test('SIGINT during setup (while mounting) leaves nothing', async (t) => {
  const child = spawnKinject(['run', '-n', NS, '--target', 'web', '--', 'sh', '-c', 'echo started; exec sleep 30'], { kubeconfig });
  t.teardown(() => child.kill('SIGTERM')); // (a failed assertion: kinject still cleans up)
  t.ok(await until(() => /tunnel up/.test(child.err), { timeoutMs: 120_000, intervalMs: 5 }), 'the tunnel is up');
  child.kill('SIGINT');
  const end = await child.exited;
  t.equal(end.code, 130, `kinject exits 128 + SIGINT\n${child.err}`);
  t.match(child.err, /SIGINT received: cleaning up/, 'the signal came during setup');
  t.notMatch(child.out, /started/, 'the command never ran');
  const session = sessionOf(child.err);
  const root = join(base, session);
  t.notOk(mountedAt(root), 'no FUSE mount');
  t.ok(await until(() => !existsSync(root) && processesNaming(root).length === 0, { timeoutMs: 5000 }), 'no mount directory, no sshfs');
  t.same(await kinjectLeftovers(kubeconfig, NS, session), [], 'no Job, pod or Secret left');
});

t.test('--mount DIR mounts there and keeps DIR; --no-mount mounts nothing', async (t) => {
  const dir = join(work, 'volumes');
  mkdirSync(dir);
  const r = await kinject(
    ['run', '-n', NS, '--target', 'web', '--mount', dir, '--', 'sh', '-c', 'cat "$KINJECT_ROOT/etc/web/APP_MODE"; echo; cat /etc/web/APP_MODE'],
    { kubeconfig },
  );
  t.equal(r.code, 0, r.stderr);
  t.equal(mountRootOf(r.stderr), dir);
  t.equal(r.stdout, `${config.APP_MODE}\n${config.APP_MODE}`);
  t.notOk(mountedAt(dir), 'unmounted after the run');
  t.ok(existsSync(dir), 'a --mount directory the user made stays');

  const none = await kinject(
    [
      'run',
      '-n',
      NS,
      '--target',
      'web',
      '--no-mount',
      '--',
      'node',
      '-e',
      'console.log(JSON.stringify([process.env.KINJECT_ROOT, process.env.KINJECT_MOUNTS, process.env.KINJECT_PATH_MAP, process.env.API_KEY]))',
    ],
    { kubeconfig },
  );
  t.equal(none.code, 0, none.stderr);
  t.same(JSON.parse(none.stdout), [null, null, null, 'kinject-demo-api-key-7f3a9c'], 'no volume variables; the env is there');
  t.notMatch(none.stderr, /volumes/, 'not a word about volumes');

  const usage = await kinject(['run', '-n', NS, '--mount', dir, '--', 'true'], { kubeconfig });
  t.equal(usage.code, 2);
  t.match(usage.stderr, /^kinject: --mount needs --target/m);
});

t.test('without sshfs on PATH: one warning, and the run still works', async (t) => {
  const bin = join(work, 'bin');
  mkdirSync(bin);
  // what bin/kinject and the command need, and nothing else (no sshfs, no fusermount3)
  symlinkSync(process.execPath, join(bin, 'node'));
  for (const tool of ['sh', 'dirname', 'readlink', 'cat']) {
    const real = process.env.PATH.split(':')
      .map((d) => join(d, tool))
      .find((p) => existsSync(p));
    symlinkSync(real, join(bin, tool));
  }
  t.notOk(existsSync(join(bin, 'sshfs')), 'no sshfs on this PATH');
  const env = { PATH: bin };
  const r = await kinject(
    ['run', '-n', NS, '--target', 'web', '--', 'node', '-e', 'console.log(JSON.stringify([process.env.API_KEY, process.env.KINJECT_ROOT ?? null]))'],
    { kubeconfig, env },
  );
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout), ['kinject-demo-api-key-7f3a9c', null], 'the workload env, no KINJECT_ROOT');
  const warnings = r.stderr.split('\n').filter((l) => /volumes/.test(l));
  t.equal(warnings.length, 1, `exactly one line about volumes:\n${r.stderr}`);
  t.match(
    warnings[0],
    /^kinject: volumes are not mounted: sshfs.* missing \(install: sudo apt-get install sshfs.*\); running without them$/,
    'says what is missing and how to install it',
  );
  // other people's sessions may mount at the same time: look for this session's mounts only
  const session = sessionOf(r.stderr);
  t.same(
    sshfsMounts().filter((m) => m.mountPoint.includes(session)),
    [],
    'nothing was mounted',
  );
  t.same(await kinjectLeftovers(kubeconfig, NS, session), []);

  const explicit = await kinject(['run', '-n', NS, '--target', 'web', '--mount', join(work, 'nope'), '--', 'true'], { kubeconfig, env });
  t.equal(explicit.code, 1, 'with an explicit --mount it is an error');
  t.match(explicit.stderr, /^kinject: --mount \S+: cannot mount volumes: sshfs.* missing \(install: /m);
  t.notMatch(explicit.stderr, /creating proxy pod/, 'before any pod is made');
});

t.test('SIGKILL: the mount and sshfs go by themselves, nobody acting; kinject cleanup removes the session', async (t) => {
  const child = spawnKinject(['run', '-n', NS, '--target', 'web', '--', 'sh', '-c', 'echo "root=$KINJECT_ROOT pid=$$"; exec sleep 120'], {
    kubeconfig,
    env: graceEnv,
  });
  t.ok(await until(() => /pid=\d+/.test(child.out), { timeoutMs: 120_000 }), `child started\n${child.err}`);
  const [, root, sleepPid] = /root=(\S+) pid=(\d+)/.exec(child.out);
  t.teardown(() => killQuietly(Number(sleepPid)));
  const session = sessionOf(child.err);
  t.ok(mountedAt(root), 'mounted while the child runs');
  t.not(processesNaming(root).length, 0, 'its sshfs runs');
  child.kill('SIGKILL');
  await child.exited;
  // the orphaned `sleep` still holds the pipes: let go of them so this test file can end
  for (const stream of [child.stdin, child.stdout, child.stderr]) stream.destroy();
  // sshfs runs under setpriv --pdeathsig TERM: it ends with kinject and unmounts (auto_unmount)
  t.ok(await until(() => !mountedAt(root), { timeoutMs: 10_000 }), 'no FUSE mount within 10 s, without kinject cleanup');
  t.ok(await until(() => processesNaming(root).length === 0, { timeoutMs: 10_000 }), 'no sshfs (nor its ssh) left');
  await pastGrace(); // until then the session counts as live in the cluster
  const r = await kinject(['cleanup', '-n', NS], { kubeconfig });
  t.equal(r.code, 0, r.stderr);
  t.notMatch(r.stdout, /removed mount/, 'no mount left for cleanup');
  t.match(r.stdout, new RegExp(`^removed Job ${NS}/kinject-${session}$`, 'm'), "the Job (were the pod server's idle exit not first)");
  t.notOk(existsSync(root), 'the mount directory is removed');
  t.same(
    readdirSync(base).filter((n) => n.startsWith('.keys-') && n.endsWith(`-${session}`)),
    [],
    'the session key directory is removed',
  );
  t.ok(
    await until(async () => (await kinjectLeftovers(kubeconfig, NS, session)).length === 0, { timeoutMs: 30_000, intervalMs: 500 }),
    'no Job, pod or Secret left',
  );
});

t.test('kinject cleanup removes a leftover mount even when the cluster cannot be reached', async (t) => {
  const env = { ...graceEnv, PATH: pathWithout('setpriv', join(work, 'bin-no-setpriv')) };
  const child = spawnKinject(['run', '-n', NS, '--target', 'web', '--', 'sh', '-c', 'echo "root=$KINJECT_ROOT pid=$$"; exec sleep 120'], { kubeconfig, env });
  t.ok(await until(() => /pid=\d+/.test(child.out), { timeoutMs: 120_000 }), `child started\n${child.err}`);
  const [, root, sleepPid] = /root=(\S+) pid=(\d+)/.exec(child.out);
  t.teardown(() => killQuietly(Number(sleepPid)));
  const session = sessionOf(child.err);
  child.kill('SIGKILL');
  await child.exited;
  for (const stream of [child.stdin, child.stdout, child.stderr]) stream.destroy();
  t.ok(mountedAt(root), 'right after SIGKILL the mount is still there (no setpriv: sshfs outlives kinject)');
  const unreachable = join(work, 'unreachable.kubeconfig');
  writeFileSync(
    unreachable,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]',
      'users: [{name: u, user: {token: x}}]',
      'contexts: [{name: x, context: {cluster: c, user: u, namespace: default}}]',
      'current-context: x',
      '',
    ].join('\n'),
  );
  const r = await kinject(['cleanup', '--kubeconfig', unreachable], {});
  t.equal(r.code, 1, 'the cluster part fails');
  t.match(r.stderr, /^kinject: cannot reach the Kubernetes API server at https:\/\/127\.0\.0\.1:1/m);
  t.match(r.stdout, new RegExp(`^removed mount ${root}$`, 'm'), 'the local part was done');
  t.notOk(mountedAt(root), 'no FUSE mount left');
  t.ok(await until(() => processesNaming(root).length === 0, { timeoutMs: 5000 }), 'its sshfs is gone');
  await pastGrace();
  const done = await kinject(['cleanup', '-n', NS], { kubeconfig });
  t.match(done.stdout, new RegExp(`^removed Job ${NS}/kinject-${session}$`, 'm'), 'with the cluster back, its objects go too');
});

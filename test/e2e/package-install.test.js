// The package a user gets: `npm pack`, then `npm install -g ./kinject-*.tgz` into a temporary
// prefix as the unprivileged user nobody, offline (the package needs nothing from a registry),
// with a PATH that has no C compiler and not the checkout, then `kinject version`, `kinject run`,
// `kubectl kinject run`, kubectl's completion of the plugin and `kinject cleanup` against the local
// cluster (kinject-demo's http://hello; cleanup keeps others' live sessions). Also: with no
// usable prebuilt (KINJECT_BUILD_FROM_SOURCE=1) and no compiler, the install fails with one line.
// Everything lives in one temporary directory, removed at the end.
import t from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ensureCluster, kubectl, repoRoot } from '../helpers/cluster.js';
import { sessionOf } from '../helpers/kinject-cli.js';

const { kubeconfig } = await ensureCluster();
const version = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version;
const user = 'nobody';
const COMPILERS = /^(gcc|cc|c\+\+|g\+\+|cpp|c89|c99|make|gmake|clang|tcc|ld|as)([-.].*)?$|-(gcc|g\+\+|cpp|ld|as)(-[0-9.]+)?$|^(x86_64|aarch64)-linux-gnu-/;

const tmp = fs.mkdtempSync('/tmp/kinject-pkg-');
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
fs.chmodSync(tmp, 0o755);
const home = path.join(tmp, 'home');
const nocc = path.join(tmp, 'bin'); // this machine's commands minus every compiler
for (const d of [home, nocc, path.join(tmp, 'tmp')]) fs.mkdirSync(d);
for (const dir of ['/usr/local/bin', '/usr/bin', '/bin']) {
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const link = path.join(nocc, name);
    if (!COMPILERS.test(name) && !fs.existsSync(link)) fs.symlinkSync(path.join(dir, name), link);
  }
}
// a kubeconfig nobody can read: certificates inlined
fs.writeFileSync(
  path.join(tmp, 'kubeconfig'),
  execFileSync('kubectl', ['config', 'view', '--raw', '--flatten', '--kubeconfig', kubeconfig], { timeout: 30_000 }),
  { mode: 0o600 },
);

function run(cmd, args, { timeoutMs = 120_000, cwd = repoRoot, env } = {}) {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, env }, (err, stdout, stderr) => {
      const timedOut = err?.killed && err.signal === 'SIGKILL';
      resolve({
        code: err ? (typeof err.code === 'number' ? err.code : null) : 0,
        stdout,
        stderr: stderr + (timedOut ? `\n[killed after ${timeoutMs} ms]` : ''),
      });
    });
  });
}

/** cmd as nobody, with a clean env: HOME, TMPDIR and npm's cache in tmp, PATH = prefix bins + nocc */
function asUser(cmd, args, { prefix = path.join(tmp, 'prefix'), env = {}, timeoutMs } = {}) {
  const vars = {
    HOME: home,
    TMPDIR: path.join(tmp, 'tmp'),
    PATH: `${path.join(prefix, 'bin')}:${nocc}`,
    LANG: 'C.UTF-8',
    KUBECONFIG: path.join(tmp, 'kubeconfig'),
    npm_config_cache: path.join(home, '.npm'),
    npm_config_update_notifier: 'false',
    ...env,
  };
  const pairs = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
  return run('runuser', ['-u', user, '--', 'env', '-i', ...pairs, cmd, ...args], { cwd: home, timeoutMs });
}

const packed = await run('npm', ['pack', '--json', '--pack-destination', tmp], { timeoutMs: 300_000 });
t.equal(packed.code, 0, `npm pack: ${packed.stderr}`);
const [info] = JSON.parse(packed.stdout);
const tarball = path.join(tmp, info.filename);
execFileSync('chown', ['-R', `${user}:`, tmp]);

t.test('the tarball holds what an install needs and nothing else', async (t) => {
  const files = info.files.map((f) => f.path);
  for (const f of [
    'bin/kinject',
    'bin/kubectl-kinject',
    'bin/kubectl_complete-kinject',
    'dist/kinject.mjs',
    'dist/proxy-pod.cjs',
    'prebuilds/linux-x64/libkinject.so',
    'prebuilds/linux-arm64/libkinject.so',
    'scripts/install-shim.js',
    'schema/kinject.schema.json',
    'binding.gyp',
    'native/connect.c',
    'rbac/kinject-role.yaml',
    'README.md',
  ]) {
    t.ok(files.includes(f), `has ${f}`);
  }
  const unwanted = files.filter((f) => /^(test|cluster|bench|src|proxy-pod|docs|build|node_modules|dist\/src)\//.test(f));
  t.same(unwanted, [], 'no tests, cluster scripts, bench, sources or build tree');
  t.same(
    Object.keys(JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).dependencies ?? {}),
    [],
    'no dependencies to fetch: the CLI is one bundle',
  );
});

t.test('installed by nobody, offline, with no compiler on PATH, it runs against the cluster', async (t) => {
  for (const cc of ['gcc', 'cc', 'make', 'c99']) {
    t.not((await asUser('sh', ['-c', `command -v ${cc}`])).code, 0, `no ${cc} on the PATH`);
  }
  const inst = await asUser(
    'npm',
    ['install', '-g', '--offline', '--allow-scripts=kinject', '--no-audit', '--no-fund', '--prefix', path.join(tmp, 'prefix'), tarball],
    { timeoutMs: 300_000 },
  );
  t.equal(inst.code, 0, `npm install -g: ${inst.stderr}`);
  const installed = path.join(tmp, 'prefix', 'lib', 'node_modules', 'kinject');
  t.notOk(fs.existsSync(path.join(installed, 'build')), 'nothing was compiled: the prebuilt shim is used');

  const v = await asUser('kinject', ['version'], { timeoutMs: 60_000 });
  t.equal(v.code, 0, v.stderr);
  t.match(v.stdout, new RegExp(`^kinject ${version}\\n`));
  t.match(v.stdout, `\nshim ${version} (prebuilt for linux-${process.arch}: ${path.join(installed, 'prebuilds', `linux-${process.arch}`, 'libkinject.so')})\n`);
  t.match(v.stdout, /\nproxy image kinject\.local\/node:\d+ \(context kinject: the local dev cluster\)\n$/);

  const tab = await asUser('kubectl', ['__complete', 'kinject', 'run', '--env-precedence', ''], { timeoutMs: 60_000 });
  t.equal(tab.code, 0, tab.stderr);
  t.equal(tab.stdout, 'cluster\nlocal\n:4\n', 'kubectl completes the plugin through kubectl_complete-kinject');

  for (const cmd of ['kinject', 'kubectl']) {
    const args = [...(cmd === 'kubectl' ? ['kinject'] : []), 'run', '-n', 'kinject-demo', '--', 'curl', '-s', '--max-time', '30', 'http://hello'];
    const r = await asUser(cmd, args, { timeoutMs: 240_000 });
    t.equal(r.code, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
    t.match(r.stdout, /^hello from hello-/, `${cmd} ${args.join(' ')}: the child reached http://hello`);
    const id = sessionOf(r.stderr);
    t.ok(id, 'a session was created');
    const job = await kubectl(kubeconfig, ['-n', 'kinject-demo', 'get', 'job', `kinject-${id}`, '--ignore-not-found', '-o', 'name']);
    t.equal(job.stdout.trim(), '', `the session's Job kinject-${id} is gone after the run`);
  }
  // the installed cleanup works too; it keeps other people's live sessions in the shared namespace
  const cleanup = await asUser('kinject', ['cleanup', '-n', 'kinject-demo'], { timeoutMs: 120_000 });
  t.equal(cleanup.code, 0, `kinject cleanup -n kinject-demo: ${cleanup.stderr}`);
});

t.test('no usable prebuilt and no compiler: the install fails with one line saying what to install', async (t) => {
  const prefix = path.join(tmp, 'prefix-src');
  const inst = await asUser('npm', ['install', '-g', '--offline', '--allow-scripts=kinject', '--no-audit', '--no-fund', '--prefix', prefix, tarball], {
    prefix,
    env: { KINJECT_BUILD_FROM_SOURCE: '1' },
    timeoutMs: 300_000,
  });
  t.not(inst.code, 0, 'npm install fails');
  const lines = inst.stderr.split('\n').filter((l) => /kinject: /.test(l));
  t.equal(lines.length, 1, `one line from kinject's install script: ${inst.stderr}`);
  t.match(
    lines[0],
    /kinject: KINJECT_BUILD_FROM_SOURCE is set, and building the shim from source failed \(.*\): install a C compiler, make and python3 .*full log: /,
  );
});

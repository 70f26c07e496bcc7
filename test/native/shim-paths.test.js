// KINJECT_PATH_MAP (issue 5, part 3): a workload's volumes at their in-cluster paths.
// A temp dir plays the local sshfs mount (a configMap-like symlink farm, a secret, a writable
// data dir); KINJECT_PATH_MAP maps invented in-cluster paths onto it. Real programs (coreutils,
// sh, node, python3, java) read, list, stat and write through the in-cluster paths with the shim,
// and fail with ENOENT without it. No network: KINJECT_SOCKS only turns the shim on.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import koffi from 'koffi';
import { shimPath } from '../helpers/netns-world.js';

const pid = process.pid;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kj-paths-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

// this run's copy of the shim: immune to rebuilds of build/ while the tests run
const lib = path.join(tmp, 'libkinject.so');
fs.copyFileSync(shimPath(), lib);

// the "local mount" under a mount root, mirroring in-cluster paths
const root = path.join(tmp, 'mnt');
const IN = {
  web: `/etc/kjtest-${pid}`,
  secret: `/var/run/kjtest-${pid}/secret`,
  data: `/kjtest-data-${pid}`,
  app: `/kjtest-app-${pid}/lib`, // its parent dir exists only under the mount root
};
const LOCAL = Object.fromEntries(Object.entries(IN).map(([k, v]) => [k, path.join(root, v)]));

// configMap layout: KEY -> ..data/KEY, ..data -> ..2026_11_22_03_00_00.123
function symlinkFarm(dir, files) {
  const ts = '..2026_11_22_03_00_00.123';
  fs.mkdirSync(path.join(dir, ts), { recursive: true });
  for (const [k, v] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, ts, k), v);
    fs.symlinkSync(`..data/${k}`, path.join(dir, k));
  }
  fs.symlinkSync(ts, path.join(dir, '..data'));
}
symlinkFarm(LOCAL.web, { APP_MODE: 'production\n', 'config.json': '{"replicas":3}\n' });
symlinkFarm(LOCAL.secret, { token: 'secret-token-value', namespace: 'kjtest' });
fs.mkdirSync(LOCAL.data, { recursive: true });
const big = crypto.randomBytes(5 * 1024 * 1024);
fs.writeFileSync(path.join(LOCAL.data, 'big.bin'), big);
const bigSha = crypto.createHash('sha256').update(big).digest('hex');
fs.mkdirSync(LOCAL.app, { recursive: true });
fs.writeFileSync(path.join(LOCAL.app, 'greet.js'), "module.exports = (n) => 'hello ' + n\n");
fs.writeFileSync(path.join(LOCAL.app, 'main.js'), "console.log(require('./greet.js')('main'), __filename)\n");
fs.mkdirSync(path.join(LOCAL.data, 'bin'));
fs.writeFileSync(path.join(LOCAL.data, 'bin', 'hello.sh'), '#!/bin/sh\necho "hello from a volume script"\n', { mode: 0o755 });
// a local dir one character longer than a mapped one: a prefix match without the "/" boundary
// would read this file instead of failing
fs.mkdirSync(`${LOCAL.web}x`, { recursive: true });
fs.writeFileSync(`${LOCAL.web}x/APP_MODE`, 'WRONG: /etc/kjtest-PIDx was mapped\n');

const PATH_MAP = Object.keys(IN)
  .map((k) => `${IN[k]}=${LOCAL[k]}`)
  .join(':');
for (const p of Object.values(IN)) t.notOk(fs.existsSync(p), `${p} does not exist on this machine`);

const baseEnv = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: tmp, LANG: 'C.UTF-8' };
const shimEnv = { LD_PRELOAD: lib, KINJECT_LIB: lib, KINJECT_SOCKS: '127.0.0.1:9', KINJECT_PATH_MAP: PATH_MAP };
const python3 = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => fs.existsSync(p));
const java = ['/usr/bin/java'].find((p) => fs.existsSync(p));

function hasGcc() {
  return (process.env.PATH || '/usr/bin:/bin').split(':').some((d) => d && fs.existsSync(path.join(d, 'gcc')));
}

/** Runs cmd; o.shim (default true) adds the shim env; o.env overrides (undefined deletes). Never throws. */
function run(cmd, args, o = {}) {
  const env = { ...baseEnv, ...(o.shim === false ? {} : shimEnv), ...(o.env || {}) };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const timeoutMs = o.timeoutMs || 60000;
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, cwd: o.cwd || tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + err.message, timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n[test] ${cmd} ${args.join(' ')}: still running after ${timeoutMs} ms, killed (hard timeout)\n`;
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

t.test('the mapping rules (kinject_map_path_for_test)', async (t) => {
  const shim = koffi.load(lib);
  const fn = shim.func('int kinject_map_path_for_test(const char *spec, const char *path, int dir, _Out_ uint8_t *out, size_t n)');
  const map = (spec, p, dir = 0) => {
    const out = Buffer.alloc(4096);
    const r = fn(spec, p, dir, out, out.length);
    return r === 1 ? out.subarray(0, out.indexOf(0)).toString() : r;
  };
  const spec = '/etc/web=/m/etc/web:/etc/web/sub=/other/sub:/data=/m/data/:/var/run/secrets/kubernetes.io/serviceaccount=/m/sa';
  const cases = [
    ['/etc/web', '/m/etc/web'],
    ['/etc/web/key', '/m/etc/web/key'],
    ['/etc/web/', '/m/etc/web/'],
    ['//etc///web//key', '/m/etc/web/key'],
    ['/etc/./web/./key', '/m/etc/web/key'],
    ['/etc/web/a/../key', '/m/etc/web/key'],
    ['/etc/web/sub/x', '/other/sub/x'], // longest prefix wins
    ['/etc/web/subx', '/m/etc/web/subx'],
    ['/data/x', '/m/data/x'], // trailing slash of the local side normalised
    ['/var/run/secrets/kubernetes.io/serviceaccount/token', '/m/sa/token'],
    ['/etc/webx', 0],
    ['/etc/webx/key', 0],
    ['/etc/we', 0],
    ['/etc', 0],
    ['/', 0],
    ['etc/web/key', 0], // relative
    ['web/key', 0],
    ['', 0],
    ['/etc/web/../hostname', '/etc/hostname'], // climbs out through a mapped dir: normalised, not mapped
    ['/usr/lib/../bin/ls', 0], // never touches the map: left alone
  ];
  for (const [p, want] of cases) t.equal(map(spec, p), want, `${JSON.stringify(p)} -> ${want}`);
  t.equal(map(spec, '/etc/web/' + 'a'.repeat(4086)), -1, 'too long after mapping');
  t.equal(map(spec, '/m/etc/web/..data/key', 1), '/etc/web/..data/key', 'reverse (realpath, getcwd)');
  t.equal(map(spec, '/other/sub', 1), '/etc/web/sub');
  t.equal(map(spec, '/m/etc/webx', 1), 0);
  t.equal(map('/=/m:rel=/x:/a=rel:noequals:/b=/', '/a/x'), 0, 'bad pairs are ignored');
  t.equal(map('/=/m:/ok=/local/ok', '/ok/f'), '/local/ok/f', 'good pairs beside bad ones still work');
  t.equal(map('', '/etc/web'), 0);
  // dirs above a prefix: mapped only when they do not exist here and the local side mirrors them
  const anc = `/kjtest-none-${pid}`;
  const aspec = `${anc}/x/y=/elsewhere/z:${anc}/a/b=/m${anc}/a/b:/etc/web=/m/etc/web`;
  t.equal(map(aspec, `${anc}/a`), `/m${anc}/a`, 'a missing parent dir maps under the mount root');
  t.equal(map(aspec, `${anc}/`), `/m${anc}`, 'a parent of several pairs: through the one that mirrors it');
  t.equal(map(aspec, `${anc}/a/b/c`), `/m${anc}/a/b/c`);
  t.equal(map(aspec, `${anc}/x`), 0, 'a pair whose local side does not mirror it: no parent dirs');
  t.equal(map(`${anc}/x/y=/elsewhere/y`, `${anc}/x`), '/elsewhere', 'LOCAL ending with the rest is enough');
  t.equal(map(aspec, '/etc'), 0, 'a parent dir that exists here stays local');
  t.equal(map(aspec, `${anc}/ab`), 0);
});

t.test('coreutils and sh: cat, head, ls, stat, test', async (t) => {
  const web = IN.web;
  let r = await run('cat', [`${web}/APP_MODE`]);
  t.equal(r.stdout, 'production\n', `cat: ${r.stderr}`);
  r = await run('head', ['-c', '5', `${IN.secret}/token`]);
  t.equal(r.stdout, 'secre', `head: ${r.stderr}`);
  r = await run('ls', [web]);
  t.equal(r.stdout, 'APP_MODE\nconfig.json\n', `ls: ${r.stderr}`);
  r = await run('ls', ['-a', `${web}/`]);
  t.equal(r.stdout.split('\n').filter(Boolean).join(' '), '. .. ..2026_11_22_03_00_00.123 ..data APP_MODE config.json', `ls -a: ${r.stderr}`);
  r = await run('ls', ['-l', `${IN.secret}/token`]);
  t.match(r.stdout, /^l.* -> \.\.data\/token\n$/, `ls -l shows the configMap symlink: ${r.stderr}`);
  t.equal(r.code, 0);
  r = await run('stat', ['-L', '-c', '%s %F', `${web}/APP_MODE`]);
  t.equal(r.stdout, '11 regular file\n', `stat: ${r.stderr}`);
  r = await run('sh', ['-c', `test -f ${IN.secret}/token && echo yes; [ -d ${web} ] && echo dir; /usr/bin/test -r ${web}/config.json && echo readable`]);
  t.equal(r.stdout, 'yes\ndir\nreadable\n', `test: ${r.stderr}`);
  r = await run('cat', [`//etc//kjtest-${pid}/./..data/APP_MODE`]);
  t.equal(r.stdout, 'production\n', 'duplicate slashes, "." and the ..data link');
  r = await run('sh', ['-c', `cd ${web} && pwd && /bin/pwd && cat APP_MODE && cat ./..data/../config.json`]);
  t.equal(r.stdout, `${web}\n${web}\nproduction\n{"replicas":3}\n`, `cd into a mapped dir, relative paths, getcwd answers the in-cluster path: ${r.stderr}`);
  r = await run('sh', [
    '-c',
    `echo hi > ${IN.data}/from-sh && mkdir -p ${IN.data}/d1/d2 && mv ${IN.data}/from-sh ${IN.data}/d1/d2/moved && cat ${IN.data}/d1/d2/moved && rm -r ${IN.data}/d1 && ls ${IN.data}`,
  ]);
  t.equal(r.stdout, 'hi\nbig.bin\nbin\n', `write, mkdir -p, mv, rm -r: ${r.stderr}`);
  t.notOk(fs.existsSync(path.join(LOCAL.data, 'd1')), 'rm -r removed the local dir');
});

t.test('C: syscall() with path numbers, *at calls, errno, realpath/getcwd', { skip: !hasGcc() && 'no gcc' }, async (t) => {
  const src = path.join(tmp, 'paths.c');
  fs.writeFileSync(
    src,
    `
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
  const char *web = argv[1], *data = argv[2];
  char p[4096], q[4096];
  struct stat st;
  struct statx sx;
  snprintf(p, sizeof p, "%s/APP_MODE", web);
  printf("newfstatat=%ld\\n", syscall(SYS_newfstatat, AT_FDCWD, p, &st, 0));
  memset(&sx, 0, sizeof sx);
  long sr = syscall(SYS_statx, AT_FDCWD, p, AT_STATX_SYNC_AS_STAT, STATX_SIZE, &sx);
  printf("statx=%ld size=%lld\\n", sr, (long long)sx.stx_size);
  long fd = syscall(SYS_openat, AT_FDCWD, p, O_RDONLY);
  char b[64] = {0};
  printf("openat=%s read=%s", fd >= 0 ? "ok" : "fail", read((int)fd >= 0 ? (int)fd : 0, b, sizeof b - 1) > 0 ? b : "-\\n");
  snprintf(q, sizeof q, "%s/nope", web);
  errno = 0;
  long r = syscall(SYS_newfstatat, AT_FDCWD, q, &st, 0);
  printf("missing=%ld %s\\n", r, strerror(errno));
  errno = 1234;
  stat(p, &st);
  printf("errno kept=%d\\n", errno);
  printf("getpid=%d\\n", syscall(SYS_getpid) == getpid());
  long child = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (child == 0) _exit(7);
  int ws = 0;
  waitpid((pid_t)child, &ws, 0);
  printf("clone child=%d\\n", WEXITSTATUS(ws));
  int dfd = open(web, O_RDONLY | O_DIRECTORY);
  int rel = openat(dfd, "APP_MODE", O_RDONLY);
  printf("openat(dirfd, relative)=%s\\n", rel >= 0 ? "ok" : "fail");
  snprintf(q, sizeof q, "%s/sub/../renamed", data);
  snprintf(p, sizeof p, "%s/c-file", data);
  int w = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  printf("create=%d rename=%d\\n", w >= 0 && write(w, "c", 1) == 1, rename(p, q));
  char *rp = realpath(q, NULL);
  printf("realpath=%s\\n", rp ? rp : strerror(errno));
  printf("unlink=%d\\n", unlink(q));
  if (chdir(web) == 0) { char cwd[4096]; printf("getcwd=%s\\n", getcwd(cwd, sizeof cwd)); char *c = getcwd(NULL, 0); printf("getcwd(NULL)=%s\\n", c); }
  return 0;
}
`,
  );
  const bin = path.join(tmp, 'paths-c');
  const cc = await run('gcc', ['-O1', '-o', bin, src], { shim: false });
  t.equal(cc.code, 0, cc.stderr);
  const r = await run(bin, [IN.web, IN.data]);
  t.equal(
    r.stdout,
    [
      'newfstatat=0',
      'statx=0 size=11',
      'openat=ok read=production',
      'missing=-1 No such file or directory',
      'errno kept=1234',
      'getpid=1',
      'clone child=7',
      'openat(dirfd, relative)=ok',
      'create=1 rename=0',
      `realpath=${IN.data}/renamed`,
      'unlink=0',
      `getcwd=${IN.web}`,
      `getcwd(NULL)=${IN.web}`,
      '',
    ].join('\n'),
    r.stderr,
  );
  const without = await run(bin, [IN.web, IN.data], { shim: false });
  t.match(without.stdout, /^newfstatat=-1\n/, 'without the shim the raw syscall fails');
});

t.test('exec of binaries in a volume: the static-binary check reads the mapped file', { skip: !hasGcc() && 'no gcc' }, async (t) => {
  const src = path.join(tmp, 'hello.c');
  fs.writeFileSync(src, '#include <stdio.h>\nint main(void){puts("static hello");return 0;}\n');
  const bin = path.join(LOCAL.data, 'bin', 'static-hello');
  const cc = await run('gcc', ['-static', '-O1', '-o', bin, src], { shim: false });
  t.equal(cc.code, 0, cc.stderr);
  const r = await run('sh', ['-c', `${IN.data}/bin/static-hello`]);
  t.equal(r.stdout, 'static hello\n');
  t.equal(
    r.stderr,
    `kinject: warning: ${IN.data}/bin/static-hello is a static binary: its network calls bypass kinject (run it with --method netns to capture them)\n`,
  );
  const py = await run(python3 || 'python3', ['-c', `import subprocess; subprocess.run(["${IN.data}/bin/hello.sh"])`]);
  t.equal(py.stdout, 'hello from a volume script\n', `python subprocess of a script in a volume: ${py.stderr}`);
  fs.rmSync(bin);
  // a volume whose local mount lies below its own in-cluster path (an emptyDir at /tmp with the
  // mount root under /tmp): each path is mapped exactly once, also for the check
  const vin = path.join(tmp, 'tmpvol');
  const vlocal = path.join(vin, 'kinject-root', 'tmpvol');
  fs.mkdirSync(vlocal, { recursive: true });
  const cc2 = await run('gcc', ['-static', '-O1', '-o', path.join(vlocal, 'static-hello'), src], { shim: false });
  t.equal(cc2.code, 0, cc2.stderr);
  const nested = await run('sh', ['-c', `${vin}/static-hello; cat ${vin}/note`], { env: { KINJECT_PATH_MAP: `${vin}=${vlocal}` } });
  fs.writeFileSync(path.join(vlocal, 'note'), 'note\n');
  const nested2 = await run('sh', ['-c', `${vin}/static-hello; cat ${vin}/note`], { env: { KINJECT_PATH_MAP: `${vin}=${vlocal}` } });
  t.equal(nested.stdout, 'static hello\n');
  t.equal(nested2.stdout, 'static hello\nnote\n');
  t.equal(
    nested2.stderr,
    `kinject: warning: ${vin}/static-hello is a static binary: its network calls bypass kinject (run it with --method netns to capture them)\n`,
  );
});

t.test("dlopen of a library in a volume; a bare name still uses the caller's RUNPATH", { skip: !hasGcc() && 'no gcc' }, async (t) => {
  const libSrc = path.join(tmp, 'kjx.c');
  fs.writeFileSync(libSrc, 'int kjx_answer(void) { return 42; }\n');
  fs.mkdirSync(path.join(LOCAL.data, 'lib'), { recursive: true });
  const rp = path.join(tmp, 'rp');
  fs.mkdirSync(rp, { recursive: true });
  let b = await run('gcc', ['-shared', '-fPIC', '-o', path.join(LOCAL.data, 'lib', 'libkjx.so'), libSrc], { shim: false });
  t.equal(b.code, 0, b.stderr);
  fs.copyFileSync(path.join(LOCAL.data, 'lib', 'libkjx.so'), path.join(rp, 'libkjrp.so'));
  const mainSrc = path.join(tmp, 'dl.c');
  fs.writeFileSync(
    mainSrc,
    `#include <dlfcn.h>
#include <stdio.h>
int main(int c, char **v) {
  for (int i = 1; i < c; i++) {
    void *h = dlopen(v[i], RTLD_NOW);
    int (*f)(void) = h ? (int (*)(void))dlsym(h, "kjx_answer") : 0;
    printf("%s\\n", f && f() == 42 ? "42" : "fail");
  }
  return 0;
}
`,
  );
  const bin = path.join(tmp, 'dl-test');
  b = await run('gcc', ['-o', bin, mainSrc, `-Wl,-rpath,${rp}`, '-ldl'], { shim: false });
  t.equal(b.code, 0, b.stderr);
  const r = await run(bin, [`${IN.data}/lib/libkjx.so`, 'libkjrp.so']);
  t.equal(r.stdout, '42\n42\n', `mapped absolute path; bare name found through the program's RUNPATH: ${r.stderr}`);
  const without = await run(bin, [`${IN.data}/lib/libkjx.so`, 'libkjrp.so'], { shim: false });
  t.equal(without.stdout, 'fail\n42\n');
  if (!python3) {
    t.skip('python ctypes not tried: no python3 (scripts/setup-host.sh installs it)');
  } else {
    const py = await run(python3, ['-c', `import ctypes; print(ctypes.CDLL("${IN.data}/lib/libkjx.so").kjx_answer())`]);
    t.equal(py.stdout, '42\n', `python ctypes: ${py.stderr}`);
  }
  fs.rmSync(path.join(LOCAL.data, 'lib'), { recursive: true });
});

t.test('paths outside the map stay local; /etc/kjtest-PIDx is not mapped', async (t) => {
  let r = await run('cat', ['/etc/hostname']);
  t.equal(r.stdout, fs.readFileSync('/etc/hostname', 'utf8'));
  r = await run('cat', [`${IN.web}x/APP_MODE`]);
  t.not(r.code, 0);
  t.notMatch(r.stdout, 'WRONG');
  t.match(r.stderr, 'No such file or directory');
  r = await run('cat', [`${LOCAL.web}/APP_MODE`]);
  t.equal(r.stdout, 'production\n', 'the local mount path itself still works');
});

t.test('without the shim, without KINJECT_PATH_MAP or without KINJECT_SOCKS nothing is mapped', async (t) => {
  const variants = [
    ['no shim', { shim: false }],
    ['shim, KINJECT_PATH_MAP unset', { env: { KINJECT_PATH_MAP: undefined } }],
    ['shim, KINJECT_PATH_MAP empty', { env: { KINJECT_PATH_MAP: '' } }],
    ['shim, KINJECT_SOCKS unset', { env: { KINJECT_SOCKS: undefined } }],
  ];
  for (const [what, o] of variants) {
    let r = await run('cat', [`${IN.web}/APP_MODE`], o);
    t.not(r.code, 0, `${what}: cat fails`);
    t.match(r.stderr, 'No such file or directory', what);
    r = await run('sh', ['-c', `test -e ${IN.secret}/token && echo yes || echo no`], o);
    t.equal(r.stdout, 'no\n', `${what}: test -e`);
    r = await run(process.execPath, ['-e', `try { require('fs').readFileSync('${IN.web}/APP_MODE') } catch (e) { console.log(e.code) }`], o);
    t.equal(r.stdout, 'ENOENT\n', `${what}: node`);
  }
});

t.test('node: readFileSync, readFile, statSync, existsSync, readdirSync, writeFileSync, createReadStream', async (t) => {
  const code = `
const fs = require('fs'); const crypto = require('crypto')
const out = {}
out.readFileSync = fs.readFileSync('${IN.web}/APP_MODE', 'utf8')
out.json = JSON.parse(fs.readFileSync('${IN.web}/config.json')).replicas
const st = fs.statSync('${IN.web}/APP_MODE'); out.stat = [st.size, st.isFile()]
out.lstatIsLink = fs.lstatSync('${IN.web}/APP_MODE').isSymbolicLink()
out.exists = [fs.existsSync('${IN.secret}/token'), fs.existsSync('${IN.secret}/nope'), fs.existsSync('${IN.web}x/APP_MODE')]
out.readdir = fs.readdirSync('${IN.web}')
out.readdirTypes = fs.readdirSync('${IN.secret}', { withFileTypes: true }).map((d) => d.name + ':' + d.isSymbolicLink()).sort()
fs.writeFileSync('${IN.data}/from-node.txt', 'written by node')
fs.appendFileSync('${IN.data}/from-node.txt', '!')
out.readBack = fs.readFileSync('${IN.data}/from-node.txt', 'utf8')
out.realpath = fs.realpathSync('${IN.web}/APP_MODE')
out.realpathNative = fs.realpathSync.native('${IN.web}/APP_MODE')
fs.mkdirSync('${IN.data}/nd'); fs.renameSync('${IN.data}/nd', '${IN.data}/nd2'); fs.rmdirSync('${IN.data}/nd2')
const td = fs.mkdtempSync('${IN.data}/tmp-'); out.tmpdir = [require('path').dirname(td), fs.statSync(td).isDirectory()]; fs.rmdirSync(td)
process.chdir('${IN.web}'); out.cwd = process.cwd(); out.relative = fs.readFileSync('APP_MODE', 'utf8')
;(async () => {
  out.readFile = await new Promise((res, rej) => fs.readFile('${IN.secret}/token', 'utf8', (e, d) => e ? rej(e) : res(d)))
  out.statAsync = await new Promise((res, rej) => fs.stat('${IN.secret}/namespace', (e, s) => e ? rej(e) : res(s.size)))
  out.promises = (await fs.promises.readdir('${IN.data}')).sort()
  out.access = await fs.promises.access('${IN.web}/APP_MODE', fs.constants.R_OK).then(() => 'ok')
  const h = crypto.createHash('sha256'); let n = 0
  await new Promise((res, rej) => fs.createReadStream('${IN.data}/big.bin').on('data', (c) => { n += c.length; h.update(c) }).on('end', res).on('error', rej))
  out.stream = [n, h.digest('hex')]
  out.child = require('child_process').execFileSync('cat', ['${IN.web}/APP_MODE']).toString()
  out.childNode = require('child_process').execFileSync(process.execPath, ['-p', "require('fs').readFileSync('${IN.secret}/namespace', 'utf8')"]).toString()
  out.script = require('child_process').execFileSync('${IN.data}/bin/hello.sh').toString()
  out.require = require('${IN.app}/greet.js')('require')
  out.main = require('child_process').execFileSync(process.execPath, ['${IN.app}/main.js']).toString()
  out.parents = [fs.readdirSync('${path.dirname(IN.app)}'), fs.statSync('${path.dirname(IN.secret)}').isDirectory(), fs.existsSync('/etc/hostname')]
  out.secretReal = fs.realpathSync('${IN.secret}/token')
  console.log(JSON.stringify(out))
})().catch((e) => { console.error(e); process.exit(1) })`;
  const r = await run(process.execPath, ['-e', code]);
  t.equal(r.code, 0, r.stderr);
  let out = {};
  try {
    out = JSON.parse(r.stdout);
  } catch {
    t.fail(`not JSON: ${r.stdout} ${r.stderr}`);
  }
  t.equal(out.readFileSync, 'production\n', 'readFileSync');
  t.equal(out.json, 3);
  t.same(out.stat, [11, true], 'statSync (libuv: statx through syscall())');
  t.equal(out.lstatIsLink, true, 'lstatSync sees the configMap symlink');
  t.same(out.exists, [true, false, false], 'existsSync');
  t.same(out.readdir, ['..2026_11_22_03_00_00.123', '..data', 'APP_MODE', 'config.json'], 'readdirSync (scandir)');
  t.same(out.readdirTypes, ['..2026_11_22_03_00_00.123:false', '..data:true', 'namespace:true', 'token:true']);
  t.equal(out.readBack, 'written by node!', 'writeFileSync + appendFileSync');
  t.equal(fs.readFileSync(path.join(LOCAL.data, 'from-node.txt'), 'utf8'), 'written by node!', 'the write landed in the local mount');
  t.equal(out.realpath, `${IN.web}/..2026_11_22_03_00_00.123/APP_MODE`, 'realpathSync (JS walk: lstat + readlink)');
  t.equal(out.realpathNative, `${IN.web}/..2026_11_22_03_00_00.123/APP_MODE`, 'realpathSync.native answers the in-cluster path');
  t.same(out.tmpdir, [IN.data, true], 'mkdtempSync in a mapped dir keeps the in-cluster name');
  t.equal(out.cwd, IN.web, 'process.chdir + process.cwd');
  t.equal(out.relative, 'production\n', 'relative read after chdir');
  t.equal(out.readFile, 'secret-token-value', 'readFile (threadpool)');
  t.equal(out.statAsync, 6, 'fs.stat async');
  t.same(out.promises, ['big.bin', 'bin', 'from-node.txt'], 'fs.promises.readdir');
  t.equal(out.access, 'ok');
  t.same(out.stream, [big.length, bigSha], 'createReadStream of 5 MiB');
  t.equal(out.child, 'production\n', 'child_process cat keeps the mapping');
  t.equal(out.childNode, 'kjtest\n', 'a node child keeps the mapping');
  t.equal(out.script, 'hello from a volume script\n', 'exec of a script in a mapped dir');
  t.equal(out.require, 'hello require', 'require() of a module in a volume (realpath walks the missing parent dir)');
  t.equal(out.main, `hello main ${IN.app}/main.js\n`, 'node running a main script in a volume');
  t.same(out.parents, [['lib'], true, true], 'missing parent dirs show the mount root, existing ones stay local');
  // /var/run is a symlink to /run on most systems: the JS realpath walk leaves /var/run
  const varRun = fs.realpathSync('/var/run');
  t.equal(out.secretReal, `${varRun}/kjtest-${pid}/secret/..2026_11_22_03_00_00.123/token`, 'realpath through the /var/run link');
  fs.rmSync(path.join(LOCAL.data, 'from-node.txt'));
});

t.test('node with UV_USE_IO_URING=1: the shim turns io_uring off so async fs stays mapped', async (t) => {
  const code = `const fs = require('fs')
fs.readFile('${IN.web}/APP_MODE', 'utf8', (e, d) => fs.stat('${IN.secret}/token', (e2, s) =>
  console.log(JSON.stringify([e && e.code, d, e2 && e2.code, s && s.size, process.env.UV_USE_IO_URING]))))`;
  const r = await run(process.execPath, ['-e', code], { env: { UV_USE_IO_URING: '1' } });
  t.equal(r.stdout.trim(), JSON.stringify([null, 'production\n', null, 18, '0']), r.stderr);
  const unmapped = await run(process.execPath, ['-p', 'process.env.UV_USE_IO_URING'], { env: { UV_USE_IO_URING: '1', KINJECT_PATH_MAP: undefined } });
  t.equal(unmapped.stdout, '1\n', 'without a map the variable is left alone');
});

t.test('node: 400 concurrent reads and stats on 16 threadpool threads', async (t) => {
  const code = `const fs = require('fs')
const jobs = []
for (let i = 0; i < 200; i++) {
  jobs.push(fs.promises.readFile(i % 2 ? '${IN.web}/APP_MODE' : '${IN.secret}/namespace', 'utf8'))
  jobs.push(fs.promises.stat('${IN.web}/config.json').then((s) => s.size))
}
Promise.all(jobs).then((r) => console.log(JSON.stringify([...new Set(r.map(String))].sort())))`;
  const r = await run(process.execPath, ['-e', code], { env: { UV_THREADPOOL_SIZE: '16' } });
  t.equal(r.stdout.trim(), JSON.stringify(['15', 'kjtest', 'production\n']), r.stderr);
});

t.test('python3: open, os.stat, os.listdir, os.path.exists, write, subprocess', { skip: !python3 && 'no python3' }, async (t) => {
  const code = `
import os, json, subprocess
out = {}
with open('${IN.web}/APP_MODE') as f: out['read'] = f.read()
out['stat'] = os.stat('${IN.web}/APP_MODE').st_size
out['listdir'] = sorted(os.listdir('${IN.secret}'))
out['scandir'] = sorted(e.name for e in os.scandir('${IN.web}'))
out['exists'] = [os.path.exists('${IN.secret}/token'), os.path.isdir('${IN.web}'), os.path.exists('${IN.web}x/APP_MODE')]
with open('${IN.data}/from-python.txt', 'w') as f: f.write('written by python')
with open('${IN.data}/from-python.txt') as f: out['readBack'] = f.read()
out['walk'] = sorted(os.path.relpath(os.path.join(d, n), '${IN.data}') for d, _, ns in os.walk('${IN.data}') for n in ns)
os.remove('${IN.data}/from-python.txt')
out['realpath'] = os.path.realpath('${IN.web}/APP_MODE')
os.chdir('${IN.secret}')
out['cwd'] = os.getcwd()
out['relative'] = open('token').read()
out['child'] = subprocess.run(['sh', '-c', 'cat ${IN.web}/config.json'], capture_output=True, text=True).stdout
print(json.dumps(out))`;
  const r = await run(python3, ['-c', code]);
  t.equal(r.code, 0, r.stderr);
  let out = {};
  try {
    out = JSON.parse(r.stdout);
  } catch {
    t.fail(`not JSON: ${r.stdout} ${r.stderr}`);
  }
  t.equal(out.read, 'production\n', 'open().read()');
  t.equal(out.stat, 11, 'os.stat');
  t.same(out.listdir, ['..2026_11_22_03_00_00.123', '..data', 'namespace', 'token'], 'os.listdir');
  t.same(out.scandir, ['..2026_11_22_03_00_00.123', '..data', 'APP_MODE', 'config.json'], 'os.scandir');
  t.same(out.exists, [true, true, false], 'os.path.exists / isdir');
  t.equal(out.readBack, 'written by python', 'write');
  t.same(out.walk, ['big.bin', 'bin/hello.sh', 'from-python.txt'], 'os.walk');
  t.equal(out.realpath, `${IN.web}/..2026_11_22_03_00_00.123/APP_MODE`, 'os.path.realpath');
  t.equal(out.cwd, IN.secret, 'os.chdir + os.getcwd');
  t.equal(out.relative, 'secret-token-value');
  t.equal(out.child, '{"replicas":3}\n', 'subprocess keeps the mapping');
  const without = await run(python3, ['-c', `open('${IN.web}/APP_MODE')`], { shim: false });
  t.match(without.stderr, 'FileNotFoundError', 'without the shim: FileNotFoundError');
});

t.test('java: Files.readString, Files.exists, Files.list, write', { skip: !java && 'no java' }, async (t) => {
  const src = path.join(tmp, 'PathsTest.java');
  fs.writeFileSync(
    src,
    `
import java.nio.file.*;
import java.util.stream.*;
public class PathsTest {
  public static void main(String[] a) throws Exception {
    System.out.println("read=" + Files.readString(Path.of("${IN.web}/APP_MODE")).trim());
    System.out.println("exists=" + Files.exists(Path.of("${IN.secret}/token")) + "," + Files.exists(Path.of("${IN.secret}/nope")) + "," + new java.io.File("${IN.web}/config.json").exists());
    try (Stream<Path> s = Files.list(Path.of("${IN.web}"))) {
      System.out.println("list=" + s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.joining(",")));
    }
    System.out.println("size=" + Files.size(Path.of("${IN.web}/APP_MODE")));
    Files.writeString(Path.of("${IN.data}/from-java.txt"), "written by java");
    System.out.println("readBack=" + Files.readString(Path.of("${IN.data}/from-java.txt")));
    Files.delete(Path.of("${IN.data}/from-java.txt"));
    System.out.println("real=" + Path.of("${IN.web}/APP_MODE").toRealPath());
  }
}
`,
  );
  const r = await run(java, [src], { timeoutMs: 120000 });
  t.equal(r.code, 0, r.stderr);
  t.equal(
    r.stdout,
    [
      'read=production',
      'exists=true,false,true',
      'list=..2026_11_22_03_00_00.123,..data,APP_MODE,config.json',
      'size=11',
      'readBack=written by java',
      `real=${IN.web}/..2026_11_22_03_00_00.123/APP_MODE`,
      '',
    ].join('\n'),
  );
  t.notOk(fs.existsSync(path.join(LOCAL.data, 'from-java.txt')), 'Files.delete removed the local file');
  // a jar in a volume, run from a cwd in a volume
  const cls = path.join(tmp, 'cls');
  fs.mkdirSync(cls);
  fs.writeFileSync(
    path.join(tmp, 'Hello.java'),
    'public class Hello { public static void main(String[] a) { System.out.println("jar " + System.getProperty("user.dir")); } }\n',
  );
  const javac = path.join(path.dirname(fs.realpathSync(java)), 'javac');
  const jar = path.join(path.dirname(fs.realpathSync(java)), 'jar');
  if (!fs.existsSync(javac) || !fs.existsSync(jar)) {
    t.skip(`java -jar from a volume not tried: no ${fs.existsSync(javac) ? jar : javac} (scripts/setup-host.sh installs openjdk-17-jdk-headless)`);
  } else {
    let b = await run(javac, ['-d', cls, path.join(tmp, 'Hello.java')], { shim: false, timeoutMs: 120000 });
    t.equal(b.code, 0, b.stderr);
    b = await run(jar, ['cfe', path.join(LOCAL.data, 'app.jar'), 'Hello', '-C', cls, 'Hello.class'], { shim: false, timeoutMs: 120000 });
    t.equal(b.code, 0, b.stderr);
    const j = await run(java, ['-jar', `${IN.data}/app.jar`], { cwd: LOCAL.app, timeoutMs: 120000 });
    t.equal(j.stdout, `jar ${IN.app}\n`, `java -jar from a volume; user.dir is the in-cluster cwd: ${j.stderr}`);
    fs.rmSync(path.join(LOCAL.data, 'app.jar'));
  }
  const without = await run(java, [src], { shim: false, timeoutMs: 120000 });
  t.not(without.code, 0);
  t.match(without.stderr, 'NoSuchFileException', 'without the shim: NoSuchFileException');
});

// Child processes stay captured (sh -c, env -u, env -i, python subprocess with an empty env,
// node child_process), binaries that bypass the shim are named once on stderr and still run
// (static C, Go, setuid; once per run with KINJECT_WARN_DIR), a process started beside a captured one without the shim has no
// access, and without KINJECT_SOCKS the shim changes nothing.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createWorld } from '../helpers/netns-world.js';

const world = await createWorld(t);
const { web } = world.services;
const curlCmd = `curl -sS -m 10 ${web.url}`;

t.test('sh -c, bash -c and env keep the shim in children', async (t) => {
  const cases = [
    ['sh', ['-c', curlCmd]],
    ['sh', ['-c', `sh -c '${curlCmd}'`]],
    ['bash', ['-c', `${curlCmd}; echo`]],
    ['env', ['-u', 'UNRELATED', 'curl', '-sS', '-m', '10', web.url]],
    ['env', ['-u', 'LD_PRELOAD', 'curl', '-sS', '-m', '10', web.url]],
    ['env', ['-i', 'PATH=/usr/bin:/bin', 'curl', '-sS', '-m', '10', web.url]],
    ['env', ['-u', 'KINJECT_TOKEN', 'curl', '-sS', '-m', '10', web.url]],
  ];
  for (const [cmd, args] of cases) {
    const r = await world.exec(cmd, args, { shim: true, env: { UNRELATED: 'x' } });
    t.equal(r.stdout.trim(), web.body, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  }
});

t.test('python subprocess with an empty env and posix_spawn stay captured', async (t) => {
  const code = [
    'import subprocess, os',
    `print(subprocess.run(["/usr/bin/curl", "-sS", "-m", "10", "${web.url}"], env={}, capture_output=True, text=True).stdout)`,
    `pid = os.posix_spawn("/usr/bin/curl", ["curl", "-sS", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", "${web.url}"], {})`,
    'os.waitpid(pid, 0)',
  ].join('\n');
  const r = await world.exec(world.python3, ['-c', code], { shim: true });
  t.match(r.stdout, web.body, r.stderr);
  t.match(r.stdout, /200/, 'posix_spawn child with an empty env');
});

t.test('the environment a child gets back', async (t) => {
  const r = await world.exec('env', ['-i', '/usr/bin/env'], { shim: true });
  const env = Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const want = world.shimEnv();
  t.equal(env.LD_PRELOAD, world.lib);
  for (const k of ['KINJECT_SOCKS', 'KINJECT_TOKEN', 'KINJECT_DNS', 'KINJECT_LIB']) t.equal(env[k], want[k], k);
  const kept = await world.exec('sh', ['-c', 'env'], { shim: true, env: { LD_PRELOAD: `/nonexistent-other.so ${world.lib}` } });
  t.match(kept.stdout, `LD_PRELOAD=/nonexistent-other.so ${world.lib}\n`, 'an LD_PRELOAD naming the shim is left alone');
  const other = await world.exec('env', ['-i', 'LD_PRELOAD=libfoo-not-there.so', '/usr/bin/env'], { shim: true });
  t.match(other.stdout, `LD_PRELOAD=${world.lib} libfoo-not-there.so`, 'the shim is put in front of another preload');
});

t.test('a static C binary: warning, then it runs', async (t) => {
  const dir = world.tmpdir;
  fs.writeFileSync(path.join(dir, 'hello.c'), '#include <stdio.h>\nint main(void){puts("static hello");return 0;}\n');
  execFileSync('gcc', ['-static', '-O1', '-o', path.join(dir, 'static-hello'), path.join(dir, 'hello.c')]);
  fs.chmodSync(path.join(dir, 'static-hello'), 0o755);
  const bin = path.join(dir, 'static-hello');
  const r = await world.exec('sh', ['-c', bin], { shim: true });
  t.equal(r.stdout, 'static hello\n');
  t.equal(r.stderr, `kinject: warning: ${bin} is a static binary: its network calls bypass kinject (run it with --method netns to capture them)\n`);
  const viaPath = await world.exec('sh', ['-c', 'static-hello'], { shim: true, env: { PATH: `${dir}:/usr/bin:/bin` } });
  t.match(viaPath.stderr, `kinject: warning: ${bin} is a static binary`, 'found through PATH (execvp)');
  const once = await world.exec(world.python3, ['-c', `import subprocess\nfor i in range(3): subprocess.run(["${bin}"])`], { shim: true });
  t.equal(once.stdout, 'static hello\n'.repeat(3));
  t.ok(once.stderr.split('\n').filter((l) => l.includes('is a static binary')).length >= 1);
  execFileSync('gcc', ['-static-pie', '-O1', '-o', path.join(dir, 'static-pie-hello'), path.join(dir, 'hello.c')]);
  fs.chmodSync(path.join(dir, 'static-pie-hello'), 0o755);
  const pie = await world.exec(path.join(dir, 'static-pie-hello'), [], { shim: true });
  t.equal(pie.stdout, 'static hello\n');
  const pieSh = await world.exec('sh', ['-c', path.join(dir, 'static-pie-hello')], { shim: true });
  t.match(pieSh.stderr, 'static-pie-hello is a static binary', 'static-pie too');
  const loader = fs.realpathSync('/lib64/ld-linux-x86-64.so.2');
  const viaLoader = await world.exec('sh', ['-c', `${loader} /usr/bin/true && echo ran`], { shim: true });
  t.equal(viaLoader.stdout, 'ran\n');
  t.equal(viaLoader.stderr, '', 'the dynamic loader run directly is not called static');
  const dynamic = await world.exec('sh', ['-c', 'true'], { shim: true });
  t.equal(dynamic.stderr, '', 'no warning for an ordinary dynamic binary');
  const off = await world.exec('sh', ['-c', bin]);
  t.equal(off.stderr, '', 'no warning at all without the shim');
});

t.test('KINJECT_WARN_DIR: one warning per binary for the whole tree, whichever path names it', async (t) => {
  const dir = world.tmpdir;
  fs.writeFileSync(path.join(dir, 'w.c'), '#include <stdio.h>\nint main(void){puts("w");return 0;}\n');
  const bin = path.join(dir, 'static-w');
  execFileSync('gcc', ['-static', '-O1', '-o', bin, path.join(dir, 'w.c')]);
  fs.symlinkSync(bin, path.join(dir, 'static-w-link'));
  const marks = fs.mkdtempSync(path.join(dir, 'marks-'));
  const script = `${bin}; ${bin}; sh -c ${bin}; ${path.join(dir, 'static-w-link')}`;
  const r = await world.exec('sh', ['-c', script], { shim: true, env: { KINJECT_WARN_DIR: marks } });
  t.equal(r.stdout, 'w\n'.repeat(4));
  t.equal(
    r.stderr,
    `kinject: warning: ${bin} is a static binary: its network calls bypass kinject (run it with --method netns to capture them)\n`,
    'once, from four processes and two names',
  );
  t.equal(fs.readdirSync(marks).length, 1, 'one mark');
  const again = await world.exec('sh', ['-c', bin], { shim: true, env: { KINJECT_WARN_DIR: marks } });
  t.equal(again.stderr, '', 'a mark left by an earlier process counts');
  const perProcess = await world.exec('sh', ['-c', script], { shim: true });
  // without it each process decides alone (a vfork child shares its parent's memory, so dash's
  // children count as one; the nested sh is a process of its own)
  const count = perProcess.stderr.split('\n').filter((l) => l.includes('is a static binary')).length;
  t.ok(count > 1, `without it: once per process (${count} warnings)`);
  const broken = await world.exec('sh', ['-c', bin], { shim: true, env: { KINJECT_WARN_DIR: path.join(dir, 'no-such-dir') } });
  t.match(broken.stderr, /is a static binary/, 'an unusable directory: the warning still comes');
  t.equal(broken.stdout, 'w\n');
});

t.test('a Go binary: warning, then it runs', { skip: world.go ? false : 'go is not installed' }, async (t) => {
  const dir = path.join(world.tmpdir, 'gohello');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'go.mod'), 'module example.com/gohello\n\ngo 1.19\n');
  fs.writeFileSync(path.join(dir, 'main.go'), 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("go hello") }\n');
  const bin = path.join(world.tmpdir, 'go-hello');
  execFileSync(world.go, ['build', '-o', bin, '.'], {
    cwd: dir,
    stdio: 'pipe',
    timeout: 300000,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME || '/root',
      GOFLAGS: '-mod=mod',
      GOPROXY: 'off',
      GOTOOLCHAIN: 'local',
      GOPATH: path.join(world.tmpdir, 'gopath'),
      GOCACHE: process.env.GOCACHE || path.join(process.env.HOME || '/root', '.cache', 'go-build'),
    },
  });
  fs.chmodSync(bin, 0o755);
  const r = await world.exec('sh', ['-c', bin], { shim: true });
  t.equal(r.stdout, 'go hello\n');
  t.equal(r.stderr, `kinject: warning: ${bin} is a Go binary: its network calls bypass kinject (run it with --method netns to capture them)\n`);
});

t.test('a setuid binary: warning, then it runs', async (t) => {
  const bin = path.join(world.tmpdir, 'suid-true');
  fs.copyFileSync('/usr/bin/true', bin);
  fs.chmodSync(bin, 0o4755);
  const r = await world.exec('sh', ['-c', `${bin} && echo ran`], { shim: true });
  t.equal(r.stdout, 'ran\n');
  t.equal(r.stderr, `kinject: warning: ${bin} is setuid: the loader drops LD_PRELOAD, so its network calls bypass kinject\n`);
});

t.test('a process started beside a captured one, without the shim, has no access', async (t) => {
  const captured = world.spawn('sh', ['-c', `sleep 1; ${curlCmd}`], { shim: true });
  let out = '';
  captured.stdout.on('data', (d) => {
    out += d;
  });
  captured.stdin.end();
  const beside = await world.exec('curl', ['-sS', '-m', '5', web.urlByIp]);
  t.not(beside.code, 0, 'no shim, no access');
  const besideName = await world.exec('curl', ['-sS', '-m', '5', web.url]);
  t.equal(besideName.code, 6);
  const finished = await new Promise((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-captured.pid, 'SIGKILL');
      } catch {}
      resolve(false);
    }, 30000);
    captured.on('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  t.ok(finished, 'the captured one finished within 30 s (hard timeout)');
  t.equal(out, web.body, 'the captured one got through');
});

t.test('preloaded without KINJECT_SOCKS the shim changes nothing', async (t) => {
  const env = { LD_PRELOAD: world.lib, KINJECT_LIB: world.lib, KINJECT_TOKEN: 'x' };
  const r = await world.exec('env', ['-i', '/usr/bin/env'], { env });
  t.notMatch(r.stdout, /LD_PRELOAD|KINJECT/, 'nothing put back into a child env');
  const c = await world.exec('curl', ['-sS', '-m', '5', web.urlByIp], { env });
  t.not(c.code, 0, 'no access');
  t.equal(c.stdout, '');
  const s = await world.exec('sh', ['-c', `${world.tmpdir}/suid-true; echo ok`], { env });
  t.equal(s.stderr, '', 'no warnings');
});

t.test('every exec function and posix_spawn[p] put the shim back into an empty env', async (t) => {
  const src = path.join(world.tmpdir, 'execs.c');
  fs.writeFileSync(
    src,
    `
#define _GNU_SOURCE
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
int main(int argc, char **argv) {
  char *empty[] = { "ONLY=1", NULL };
  char *args[] = { "env", NULL };
  const char *f = argv[1];
  if (!strcmp(f, "execve")) execve("/usr/bin/env", args, empty);
  if (!strcmp(f, "execle")) execle("/usr/bin/env", "env", (char *)NULL, empty);
  if (!strcmp(f, "execvpe")) execvpe("env", args, empty);
  environ = empty; /* the functions without an env argument use environ */
  if (!strcmp(f, "execv")) execv("/usr/bin/env", args);
  if (!strcmp(f, "execvp")) execvp("env", args);
  if (!strcmp(f, "execl")) execl("/usr/bin/env", "env", (char *)NULL);
  if (!strcmp(f, "execlp")) execlp("env", "env", (char *)NULL);
  if (!strcmp(f, "posix_spawn") || !strcmp(f, "posix_spawnp")) {
    pid_t pid;
    int r = !strcmp(f, "posix_spawn") ? posix_spawn(&pid, "/usr/bin/env", NULL, NULL, args, empty)
                                      : posix_spawnp(&pid, "env", NULL, NULL, args, empty);
    if (r != 0) return 2;
    int st;
    waitpid(pid, &st, 0);
    return 0;
  }
  return 3;
}
`,
  );
  const bin = path.join(world.tmpdir, 'execs');
  execFileSync('gcc', ['-O1', '-o', bin, src]);
  fs.chmodSync(bin, 0o755);
  const want = world.shimEnv();
  for (const f of ['execve', 'execle', 'execvpe', 'execv', 'execvp', 'execl', 'execlp', 'posix_spawn', 'posix_spawnp']) {
    const r = await world.exec(bin, [f], { shim: true, env: { PATH: '/usr/bin:/bin' } });
    const env = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    t.equal(env.ONLY, '1', `${f}: the program's env (${r.stderr.trim()})`);
    t.equal(env.LD_PRELOAD, world.lib, `${f}: LD_PRELOAD`);
    t.equal(env.KINJECT_SOCKS, want.KINJECT_SOCKS, `${f}: KINJECT_SOCKS`);
    t.equal(env.KINJECT_TOKEN, want.KINJECT_TOKEN, `${f}: KINJECT_TOKEN`);
  }
});

// `kinject run --method netns` as the unprivileged user nobody against the real cluster: a Go
// program built here (net/http, net.Dial, GODEBUG=netdns=go), a gcc -static program, busybox-static
// wget, curl and python each reach `hello` in kinject-demo by its short name and `echo` by its full
// name (both only read); the command's uid/gid are nobody's; a server the command starts on its own
// loopback is reached from inside, the host's loopback is not (and is, at 10.0.2.2, with
// --host-loopback); exit codes and a forwarded SIGTERM; nothing left (process, slirp4netns,
// namespace, resolv.conf file) after an exit and after a SIGKILL of kinject; with user namespaces
// refused (a nested namespace whose limit is used up) one line, exit != 0, and inject-tcp still works.
// Every program run has a hard timeout (execFile's, SIGKILL).
import t from 'tap';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { ensureCluster, repoRoot } from '../helpers/cluster.js';
import { kinjectBin } from '../helpers/kinject-cli.js';
import { until } from '../helpers/wait.js';

t.setTimeout(20 * 60_000); // the Go build alone takes minutes on a cold cache
const { kubeconfig } = await ensureCluster();
const DEMO = 'kinject-demo';
const FULL_ECHO = `echo.${DEMO}.svc.cluster.local`;

const tmp = mkdtempSync('/tmp/kinject-netns-test-');
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
chmodSync(tmp, 0o755);
const userTmp = join(tmp, 'tmp');
execFileSync('mkdir', [userTmp]);
writeFileSync(join(tmp, 'kubeconfig'), execFileSync('kubectl', ['config', 'view', '--raw', '--flatten', '--kubeconfig', kubeconfig], { timeout: 30_000 }), {
  mode: 0o600,
});

const programs = join(repoRoot, 'test/helpers/programs');
execFileSync('gcc', ['-static', '-O2', '-o', join(tmp, 'static-probe'), join(programs, 'netns-static-probe.c')], { timeout: 120_000, stdio: 'pipe' });
execFileSync('go', ['build', '-o', join(tmp, 'go-probe'), join(programs, 'netns-probe.go')], {
  timeout: 15 * 60_000,
  stdio: 'pipe',
  cwd: tmp,
  env: { ...process.env, CGO_ENABLED: '0', GO111MODULE: 'off' },
});
execFileSync('chown', ['-R', 'nobody:', tmp]);

const userEnv = [`HOME=${tmp}`, `TMPDIR=${userTmp}`, 'PATH=/usr/local/bin:/usr/bin:/bin', 'LANG=C.UTF-8', `KUBECONFIG=${join(tmp, 'kubeconfig')}`];
/** argv that runs kinject as nobody; setpriv and env exec, so the pid is kinject's own */
const asNobody = (args, env = []) => ['setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'env', '-i', ...userEnv, ...env, kinjectBin, ...args]];

function run([cmd, args], timeoutMs = 240_000) {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: tmp, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const timedOut = err?.killed && err.signal === 'SIGKILL';
      resolve({
        code: err ? (typeof err.code === 'number' ? err.code : null) : 0,
        stdout,
        stderr: stderr + (timedOut ? `\n[killed after ${timeoutMs} ms]` : ''),
      });
    });
  });
}

/** what of a netns run is still there: its processes, slirp4netns for it, its namespaces, its files */
function leftovers({ pid, net, mnt }, kinjectPid) {
  const left = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(entry) === pid) left.push(`process ${pid}`);
      const ns = [readlinkSync(`/proc/${entry}/ns/net`), readlinkSync(`/proc/${entry}/ns/mnt`)];
      if (ns.includes(net) || ns.includes(mnt)) left.push(`process ${entry} in the namespace`);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmdline.some((a) => a.endsWith('slirp4netns')) && cmdline.includes(String(pid))) left.push(`slirp4netns ${entry}`);
    } catch {}
  }
  for (const f of readdirSync(userTmp)) if (f.startsWith('kinject-netns-')) left.push(`${userTmp}/${f}`);
  // kinject's own session dirs (the shim's warning marks, .warn-<kinject's pid>-*) for nobody
  const sessionDirs = `/tmp/kinject-${execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim()}`;
  for (const f of existsSync(sessionDirs) ? readdirSync(sessionDirs) : [])
    if (kinjectPid && f.startsWith(`.warn-${kinjectPid}-`)) left.push(`${sessionDirs}/${f}`);
  return left;
}
const IDS = 'echo "pid=$$ net=$(readlink /proc/self/ns/net) mnt=$(readlink /proc/self/ns/mnt)"';
const idsOf = (out) => {
  const m = /pid=(\d+) net=(\S+) mnt=(\S+)/.exec(out);
  return m && { pid: Number(m[1]), net: m[2], mnt: m[3] };
};

// a server on the host's loopback: the namespace must not reach it unless asked
const hostServer = createServer((_req, res) => res.end('host-loopback\n'));
await new Promise((r) => hostServer.listen(0, '127.0.0.1', r));
t.teardown(() => hostServer.close());
const hostPort = hostServer.address().port;

t.test('every kind of program reaches hello by its short name and echo by its full name, as nobody', async (t) => {
  const script = [
    IDS,
    'id -u; id -g',
    `GODEBUG=netdns=go ./go-probe hello ${FULL_ECHO}; echo "go-exit=$?"`,
    './static-probe hello 80; echo "static-http-exit=$?"',
    `./static-probe ${FULL_ECHO} 7; echo "static-echo-exit=$?"`,
    'busybox wget -q -O - http://hello/ | sed "s/^/wget: /"',
    `printf 'wget-ping\\n' | busybox nc ${FULL_ECHO} 7 | sed "s/^/nc: /"`,
    'curl -sS -m 30 http://hello/ | sed "s/^/curl: /"',
    `/usr/bin/python3 -c 'import urllib.request, socket; print("python-http:", urllib.request.urlopen("http://hello/", timeout=30).read().decode().strip()); s = socket.create_connection(("${FULL_ECHO}", 7), timeout=30); s.sendall(b"python-ping\\n"); print("python-echo:", s.recv(100).decode().strip())'`,
    // a server inside the namespace, on its own loopback
    '/usr/bin/python3 -m http.server 18080 --bind 127.0.0.1 --directory /tmp >/dev/null 2>&1 & srv=$!',
    'for i in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18080/ && break; sleep 0.1; done',
    'curl -sS -m 10 -o /dev/null -w "inside-server=%{http_code}\\n" http://127.0.0.1:18080/; kill $srv',
    `curl -s -m 10 http://127.0.0.1:${hostPort}/ || echo "host-127=refused"`,
    `curl -s -m 10 http://10.0.2.2:${hostPort}/ || echo "host-10.0.2.2=refused"`,
  ].join('\n');
  const r = await run(asNobody(['run', '-n', DEMO, '--method', 'netns', '--', 'sh', '-c', script]));
  t.equal(r.code, 0, r.stderr);
  const out = r.stdout;
  const nobody = execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim();
  t.match(out, new RegExp(`^${nobody}\\n${execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim()}$`, 'm'), 'same uid and gid inside');
  t.match(out, /^go-http: hello from /m, 'Go net/http with the pure-Go resolver: hello');
  t.match(out, /^go-echo: go-ping$/m, 'Go net.Dial: echo by its full name');
  t.match(out, /^go-exit=0$/m);
  t.match(out, /^hello from .*\nstatic-http-exit=0$/m, 'gcc -static: hello');
  t.match(out, /^static-ping\nstatic-echo-exit=0$/m, 'gcc -static: echo');
  t.match(out, /^wget: hello from /m, 'busybox-static wget: hello');
  t.match(out, /^nc: wget-ping$/m, 'busybox-static nc: echo');
  t.match(out, /^curl: hello from /m, 'curl: hello');
  t.match(out, /^python-http: hello from /m, 'python: hello');
  t.match(out, /^python-echo: python-ping$/m, 'python: echo');
  t.match(out, /^inside-server=200$/m, "a server on the namespace's loopback, reached from inside");
  t.match(out, /^host-127=refused$/m, "127.0.0.1 is the namespace's own loopback, not the host's");
  t.match(out, /^host-10\.0\.2\.2=refused$/m, "the host's loopback is not reached without --host-loopback");
  t.notMatch(out, /host-loopback/, 'the host server never answered');
  const ids = idsOf(out);
  t.ok(ids, 'the namespace ids printed');
  t.same(leftovers(ids), [], 'nothing left after the exit');
});

t.test("--host-loopback: 10.0.2.2 is the host's loopback; the exit code is the command's; the cluster through the shim", async (t) => {
  const script = `curl -sS -m 20 -o /dev/null http://hello/; curl -sS -m 20 http://10.0.2.2:${hostPort}/; exit 7`;
  const r = await run(asNobody(['run', '-n', DEMO, '--method', 'netns', '--host-loopback', '--verbose', '--', 'sh', '-c', script]));
  t.equal(r.code, 7, r.stderr);
  t.equal(r.stdout, 'host-loopback\n');
  t.match(r.stderr, /^kinject: slirp4netns: kinject\[shim \d+\]: connect [\d.]+:80 via proxy: ok$/m, "slirp4netns's connection to hello went through the shim");
});

t.test('a signal the command dies of is the exit status (128 + n); SIGTERM to kinject reaches the command', async (t) => {
  const self = await run(asNobody(['run', '-n', DEMO, '--method', 'netns', '--', 'sh', '-c', 'kill -USR1 $$']));
  t.equal(self.code, 128 + 10, self.stderr);
  const [cmd, args] = asNobody(['run', '-n', DEMO, '--method', 'netns', '--', 'sh', '-c', `${IDS}; exec sleep 300`]);
  const child = spawn(cmd, args, { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  t.ok(await until(() => idsOf(out), { timeoutMs: 200_000 }), `the command started\n${err}`);
  child.kill('SIGTERM');
  const end = await exited;
  clearTimeout(killer);
  t.same(end, { code: 128 + 15, signal: null }, err);
  t.same(leftovers(idsOf(out), child.pid), [], 'nothing left');
});

t.test('SIGKILL of kinject: the command, slirp4netns and the namespace go with it', async (t) => {
  const [cmd, args] = asNobody(['run', '-n', DEMO, '--method', 'netns', '--', 'sh', '-c', `${IDS}; exec sleep 300`]);
  const child = spawn(cmd, args, { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((r) => child.on('exit', r));
  t.ok(await until(() => idsOf(out), { timeoutMs: 200_000 }), `the command started\n${err}`);
  const ids = idsOf(out);
  t.not(leftovers(ids).length, 0, 'while it runs, its processes are there');
  child.kill('SIGKILL');
  await exited;
  clearTimeout(killer);
  t.ok(await until(() => leftovers(ids, child.pid).length === 0, { timeoutMs: 20_000 }), `nothing left: ${leftovers(ids, child.pid).join(', ')}`);
});

t.test('user namespaces refused: one line and exit != 0 for netns; inject-tcp still works', async (t) => {
  // a user namespace whose limit (1) the nested one mapping nobody back uses up: kinject inside
  // runs as nobody and cannot create another, as on a machine with them disabled
  const restricted = (args) => [
    'setpriv',
    [
      '--reuid=nobody',
      '--regid=nogroup',
      '--clear-groups',
      'unshare',
      '--user',
      '--map-root-user',
      'sh',
      '-c',
      'echo 1 > /proc/sys/user/max_user_namespaces && exec unshare --user --map-user=65534 --map-group=65534 -- "$@"',
      'sh',
      'env',
      '-i',
      ...userEnv,
      kinjectBin,
      ...args,
    ],
  ];
  const r = await run(restricted(['run', '-n', DEMO, '--method', 'netns', '--', 'true']), 60_000);
  t.not(r.code, 0);
  t.match(
    r.stderr,
    /^kinject: --method netns needs unprivileged user namespaces, which this machine refuses \(.*\): enable them with .*, or use --method inject-tcp\n$/,
  );
  const tcp = await run(restricted(['run', '-n', DEMO, '--', 'curl', '-sS', '-m', '30', 'http://hello/']));
  t.equal(tcp.code, 0, tcp.stderr);
  t.match(tcp.stdout, /^hello from /);
});

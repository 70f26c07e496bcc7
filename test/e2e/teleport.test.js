// kinject teleport against the real local cluster, in a private mount namespace whose /etc/hosts
// is a temporary file (test/helpers/hosts-namespace.js: the real /etc/hosts cannot be reached).
// Two sessions run side by side: A teleports kinject-demo (short names hello, echo), B this file's
// own namespace plus default with --target and -f, both started at the same moment (both blocks
// must be in the hosts file: its writers hold a lock). Programs nobody here wrote, not under the
// shim (curl, getent, python's socket, a Go program built here, busybox-static wget), reach hello
// and echo by name; a Service created during B is reachable within 5 s; B's -f file follows a
// `kubectl patch configmap`; SIGKILL of B then `kinject cleanup` restores the file and removes
// the pod; a line added by hand survives A's close, after which the file is byte-identical to
// before plus that line; bad inputs get one line and leave nothing.
import { existsSync, readFileSync, appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ensureCluster, kinjectLeftovers, kubectlOk, ownNamespace, repoRoot } from '../helpers/cluster.js';
import { kinjectBin } from '../helpers/kinject-cli.js';
import { hostsNamespace } from '../helpers/hosts-namespace.js';
import { graceEnv } from '../helpers/session-grace.js';
import { waitFor } from '../helpers/wait.js';

t.setTimeout(900_000);
const DEMO = 'kinject-demo';
const { kubeconfig } = await ensureCluster();
const NS = await ownNamespace(t, kubeconfig, 'teleport');
const ns = await hostsNamespace(t);
const before = readFileSync(ns.hostsFile, 'utf8');
const kenv = { KUBECONFIG: kubeconfig, ...graceEnv };
const kinject = (args, o = {}) => ns.run(kinjectBin, args, { timeoutMs: 180_000, ...o, env: { ...kenv, ...o.env } });
const helloBody = /hello from hello-/;

await kubectlOk(kubeconfig, ['-n', NS, 'create', 'configmap', 'app-config', '--from-literal=GREETING=one']);
await kubectlOk(kubeconfig, ['apply', '-f', '-'], {
  input: JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'app', namespace: NS },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'app' } },
      template: {
        metadata: { labels: { app: 'app' } },
        spec: {
          containers: [{ name: 'app', image: 'kinject.local/toolbox:1', imagePullPolicy: 'Never', envFrom: [{ configMapRef: { name: 'app-config' } }] }],
        },
      },
    },
  }),
});

t.teardown(() => kinject(['session', 'close', '--all'], { timeoutMs: 60_000 }));

const envFile = join(ns.dir, 'app.env');
const [a, b] = await Promise.all([
  kinject(['teleport', '-n', DEMO]),
  kinject(['teleport', '-n', NS, '-n', 'default', '--target', 'deployment/app', '-f', envFile]),
]);
const sessions = JSON.parse((await kinject(['session', 'list', '--json'])).stdout);
const idOf = (nsName) => sessions.find((s) => s.kind === 'teleport' && s.namespaces[0] === nsName)?.id;

t.test('two teleports start in the background side by side and print their tables', async (t) => {
  t.equal(a.code, 0, a.stderr);
  t.equal(b.code, 0, b.stderr);
  t.match(a.stdout, /^127\.\d+\.0\.\d+ +80 +hello hello\.kinject-demo hello\.kinject-demo\.svc hello\.kinject-demo\.svc\.cluster\.local$/m);
  t.match(b.stdout, / kubernetes\.default kubernetes\.default\.svc /, 'the second namespace: no short names');
  t.equal(sessions.filter((s) => s.kind === 'teleport' && s.alive).length, 2, 'both live in session list --json');
  const hosts = readFileSync(ns.hostsFile, 'utf8');
  for (const s of sessions) t.match(hosts, new RegExp(`^# kinject teleport ${s.id} begin `, 'm'), `started at the same moment: ${s.id}'s block is there`);
  const blocks = sessions.map((s) => s.details?.block);
  t.not(blocks[0], blocks[1], 'each its own address block');
  const text = (await kinject(['session', 'list'])).stdout;
  t.match(text, new RegExp(`${idOf(DEMO)} +teleport +live`));
});

t.test('programs not under the shim reach hello and echo by name', async (t) => {
  const curl = await ns.run('curl', ['-sS', '-m', '10', 'http://hello/', 'http://hello.kinject-demo.svc.cluster.local/']);
  t.equal(curl.code, 0, curl.stderr);
  t.equal(curl.stdout.split('\n').filter((l) => helloBody.test(l)).length, 2, curl.stdout);
  const getent = await ns.run('getent', ['hosts', 'echo.kinject-demo']);
  t.match(getent.stdout, /^127\.\d+\.\d+\.\d+\s+echo/, 'getent hosts: the loopback address');
  const py = `import socket, urllib.request
s = socket.create_connection(('echo', 7), timeout=10)
s.sendall(b'ping\\n'); print(s.recv(100).decode().strip())
print(urllib.request.urlopen('http://hello.kinject-demo/', timeout=10).read().decode().strip())`;
  const python = await ns.run('python3', ['-c', py]);
  t.equal(python.code, 0, python.stderr);
  t.match(python.stdout, /^ping\nhello from hello-/);
  // busybox 1.35's wget segfaults with -T: the run's own timeout bounds it
  const wget = await ns.run('busybox', ['wget', '-q', '-O', '-', 'http://hello.kinject-demo.svc/']);
  t.equal(wget.code, 0, wget.stderr);
  t.match(wget.stdout, helloBody, 'busybox-static wget');
  // net only (no net/http): a small build; the build cache lives in the checkout (node_modules/.cache)
  writeFileSync(
    join(ns.dir, 'main.go'),
    `package main
import ("fmt"; "io"; "net"; "os"; "time")
func main() {
  c, err := net.DialTimeout("tcp", "hello:80", 10*time.Second)
  if err != nil { fmt.Println(err); os.Exit(1) }
  c.SetDeadline(time.Now().Add(10 * time.Second))
  fmt.Fprint(c, "GET / HTTP/1.0\\r\\nHost: hello\\r\\n\\r\\n")
  b, _ := io.ReadAll(c); fmt.Println(string(b))
  e, err := net.DialTimeout("tcp", "echo.kinject-demo.svc.cluster.local:7", 10*time.Second)
  if err != nil { fmt.Println(err); os.Exit(1) }
  e.Write([]byte("go\\n")); buf := make([]byte, 10); n, _ := e.Read(buf); fmt.Print(string(buf[:n]))
}
`,
  );
  const goEnv = {
    CGO_ENABLED: '0',
    GOCACHE: join(repoRoot, 'node_modules', '.cache', 'go-build'),
    GOPATH: join(ns.dir, 'gopath'),
    GOTOOLCHAIN: 'local',
    GO111MODULE: 'off',
  };
  const build = await ns.run('go', ['build', '-o', join(ns.dir, 'gohello'), join(ns.dir, 'main.go')], { env: goEnv, timeoutMs: 300_000 });
  t.equal(build.code, 0, build.stderr);
  const go = await ns.run(join(ns.dir, 'gohello'), []);
  t.equal(go.code, 0, go.stdout + go.stderr);
  t.match(go.stdout, /hello from hello-.*\ngo\n$/s, 'a pure-Go program (it reads /etc/hosts itself)');
});

t.test('a Service created during the session is reachable by name within 5 s', async (t) => {
  // an ExternalName Service to hello: its connections go through the tunnel to that name
  await kubectlOk(kubeconfig, ['-n', NS, 'create', 'service', 'externalname', 'late', `--external-name=hello.${DEMO}.svc.cluster.local`, '--tcp=80:80']);
  const start = Date.now();
  const r = await waitFor(
    async () => {
      const c = await ns.run('curl', ['-sS', '-m', '3', `http://late.${NS}/`]);
      return c.code === 0 && helloBody.test(c.stdout) && c;
    },
    { timeoutMs: 5000, intervalMs: 200, what: `late.${NS} to answer` },
  );
  t.ok(r, `reachable after ${Date.now() - start} ms`);
  t.match(readFileSync(ns.hostsFile, 'utf8'), new RegExp(`^127\\.\\S+ late late\\.${NS} `, 'm'), 'short name: the first namespace');
});

t.test('-f: the env file follows a kubectl patch of the ConfigMap', async (t) => {
  t.match(readFileSync(envFile, 'utf8'), /^GREETING='one'$/m);
  await kubectlOk(kubeconfig, ['-n', NS, 'patch', 'configmap', 'app-config', '-p', '{"data":{"GREETING":"two"}}']);
  await waitFor(() => /^GREETING='two'$/m.test(readFileSync(envFile, 'utf8')), { timeoutMs: 15_000, what: 'GREETING=two in the env file' });
  t.pass('updated');
});

t.test('bad inputs: one line, exit != 0, nothing left', async (t) => {
  const cases = [
    [['teleport', '-n', 'no-such-ns-kt'], /namespace "no-such-ns-kt" not found/],
    [['teleport', '-n', DEMO], new RegExp(`namespace ${DEMO} is already teleported by session ${idOf(DEMO)}`)],
    [['session', 'close', 'zzzz0000'], /no session zzzz0000 on this machine/],
    [['teleport', '-f', 'x.env'], /-f\/--env-file writes the env of --target/],
    [['teleport', '-n', DEMO, '--foreground'], /\/etc\/hosts is not writable by you/, { uid: true }],
  ];
  for (const [args, re, o] of cases) {
    const r = o?.uid
      ? // a clean env: nothing of tap's (its preload would write into the checkout as nobody)
        await ns.run('env', [
          '-i',
          `PATH=${process.env.PATH}`,
          `KUBECONFIG=${kubeconfig}`,
          'setpriv',
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          kinjectBin,
          ...args,
        ])
      : await kinject(args);
    t.not(r.code, 0, args.join(' '));
    t.match(r.stderr, re, args.join(' '));
    t.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
  const left = JSON.parse((await kinject(['session', 'list', '--json'])).stdout);
  t.equal(left.length, 2, 'only the two sessions');
});

t.test('SIGKILL of a session: the next kinject cleanup restores the hosts file and removes the pod', async (t) => {
  const s = sessions.find((x) => x.id === idOf(NS));
  process.kill(s.pid, 'SIGKILL');
  await waitFor(
    async () => {
      const r = await kinject(['cleanup', '-n', NS]);
      return /removed Job/.test(r.stdout) || (await kinjectLeftovers(kubeconfig, NS, s.id)).length === 0;
    },
    { timeoutMs: 60_000, intervalMs: 2000, what: 'cleanup to remove the dead session' },
  );
  t.notMatch(readFileSync(ns.hostsFile, 'utf8'), new RegExp(`teleport ${s.id}`), 'its block is gone');
  t.notOk(existsSync(envFile), 'its env file is gone');
  await waitFor(async () => (await kinjectLeftovers(kubeconfig, NS, s.id)).length === 0, { timeoutMs: 30_000, what: 'no Job, pod or Secret' });
  t.pass('no Job, pod or Secret');
  t.match(readFileSync(ns.hostsFile, 'utf8'), new RegExp(`teleport ${idOf(DEMO)} begin`), 'the live session keeps its block');
});

t.test('close: a line added by hand survives; the file is as before plus that line', async (t) => {
  const id = idOf(DEMO);
  appendFileSync(ns.hostsFile, '10.9.9.9 handmade.example\n');
  const r = await kinject(['session', 'close', id]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`closed teleport session ${id}`));
  t.equal(readFileSync(ns.hostsFile, 'utf8'), `${before}10.9.9.9 handmade.example\n`);
  const c = await ns.run('curl', ['-sS', '-m', '3', 'http://hello/']);
  t.not(c.code, 0, 'hello no longer resolves');
  t.same(JSON.parse((await kinject(['session', 'list', '--json'])).stdout), [], 'no session left');
  t.same(await kinjectLeftovers(kubeconfig, DEMO, id), [], 'its proxy pod is gone');
});

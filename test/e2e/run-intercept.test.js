// kinject run --intercept against the real cluster, in this file's own namespace: one workload
// (deployment api: HTTP/1.1 + WebSocket on the named port http, h2c on 8081; Service api) and a
// toolbox pod "client" running the in-cluster clients (test/e2e/intercept/). The local processes
// are test/e2e/intercept/server.cjs as kinject's child. Checks: bad input refused with one line
// and the Service untouched; a personal intercept routes per request (HTTP/1.1 keep-alive
// alternating, h2c streams, WebSocket by its upgrade), its preview URL and records; two sessions
// with different headers at once, a global one refused naming the holder; load loops without the
// header (new connections and keep-alive) across start and end count 0 failures; a global
// intercept; SIGKILL of kinject: the pod restores the Service itself (exactly as before, within 60
// s) with 0 failures for everyone else; a `kubectl apply` revert ends the intercept, reported with
// the writer, and is not overwritten.
import t from 'tap';
import { join } from 'node:path';
import { ensureCluster, kinjectLeftovers, kubectl, kubectlOk, ownNamespace, repoRoot, waitFor } from '../helpers/cluster.js';
import { kinject, sessionOf, spawnKinject } from '../helpers/kinject-cli.js';

const dir = join(repoRoot, 'test', 'e2e', 'intercept');
const serverScript = join(dir, 'server.cjs');
const { kubeconfig } = await ensureCluster();
const ns = await ownNamespace(t, kubeconfig, 'intercept');

await kubectlOk(kubeconfig, ['-n', ns, 'apply', '-f', join(repoRoot, 'rbac', 'kinject-restorer.yaml')]);
await kubectlOk(kubeconfig, [
  '-n',
  ns,
  'create',
  'configmap',
  'intercept-scripts',
  `--from-file=server.cjs=${serverScript}`,
  `--from-file=clients.cjs=${join(dir, 'clients.cjs')}`,
]);
await kubectlOk(kubeconfig, ['-n', ns, 'apply', '-f', join(dir, 'workload.yaml'), '-f', join(dir, 'service.yaml')]);
await kubectlOk(kubeconfig, ['-n', ns, 'rollout', 'status', 'deployment/api', '--timeout=180s'], { timeoutMs: 200_000 });
await kubectlOk(kubeconfig, ['-n', ns, 'wait', 'pod/client', '--for=condition=Ready', '--timeout=120s'], { timeoutMs: 130_000 });

/** one in-cluster client run (clients.cjs), its JSON answer */
async function client(args, timeoutMs = 40_000) {
  const out = await kubectlOk(kubeconfig, ['-n', ns, 'exec', 'client', '--', 'node', '/scripts/clients.cjs', ...args], { timeoutMs });
  return JSON.parse(out.trim().split('\n').at(-1));
}

/** load loops without the header (a new connection per request, and keep-alive), until stop() */
function loadLoops(t, name) {
  const stopFile = `/tmp/stop-${name}`;
  const runs = ['new', 'keepalive'].map((mode) => client(['load', 'http://api/', '240000', mode, stopFile], 300_000));
  const stop = async () => {
    await kubectl(kubeconfig, ['-n', ns, 'exec', 'client', '--', 'touch', stopFile]);
    return Promise.all(runs);
  };
  t.teardown(() => stop().catch(() => {})); // a failed test does not leave them running
  return { stop };
}

/** what must be exactly as before: selector, labels, annotations, ports */
async function serviceState() {
  const s = JSON.parse(await kubectlOk(kubeconfig, ['-n', ns, 'get', 'service', 'api', '-o', 'json']));
  return { selector: s.spec.selector, labels: s.metadata.labels, annotations: s.metadata.annotations, ports: s.spec.ports, type: s.spec.type };
}
const before = await serviceState();

const runArgs = (extra, name, p1, p2) => [
  'run',
  '-n',
  ns,
  '--no-mount',
  '--output',
  'json',
  '--target',
  'deployment/api',
  ...extra,
  '--',
  'node',
  serverScript,
  name,
  String(p1),
  String(p2),
];

/** a kinject run with an intercept, once it says it is intercepting */
async function startIntercept(t, extra, name, p1, p2, env) {
  const child = spawnKinject(runArgs(extra, name, p1, p2), { kubeconfig, env });
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await child.exited;
    }
  });
  await waitFor(() => /intercepting Service api/.test(child.err) || child.exitCode !== null, { timeoutMs: 150_000, what: `kinject ${name} intercepting` });
  if (child.exitCode !== null) throw new Error(`kinject ${name} exited ${child.exitCode}:\n${child.err}`);
  await waitFor(() => child.out.includes('listening on'), { timeoutMs: 30_000, what: `the local process of ${name} listening` });
  return child;
}

async function end(child) {
  child.kill('SIGTERM');
  return child.exited;
}

const lines = (stderr) => stderr.split('\n').filter(Boolean);

t.test('bad input: one line naming the problem, exit != 0, the cluster unchanged', async (t) => {
  await kubectlOk(kubeconfig, ['-n', ns, 'apply', '-f', '-'], {
    input: `
apiVersion: v1
kind: Service
metadata: {name: nosel}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: example.com}
---
apiVersion: v1
kind: Service
metadata: {name: headless}
spec: {clusterIP: None, selector: {app: api}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: tls}
spec: {selector: {app: api}, ports: [{name: https, port: 443, targetPort: 8080}]}
`,
  });
  t.teardown(() => kubectl(kubeconfig, ['-n', ns, 'delete', 'service', 'nosel', 'ext', 'headless', 'tls']));
  const cases = [
    [['--intercept', '99', '--service', 'api'], /Service api has no port 99: its ports are 80 \(http\), 81 \(h2\)/],
    [['--intercept', 'http', '--header', 'no-equals'], /--header "no-equals": expected NAME=VALUE/],
    [['--header', 'x-dev=a'], /--header filters an intercept: add --intercept/],
    [['--intercept', '80', '--service', 'nosel'], /Service nosel has no selector/],
    [['--intercept', '80', '--service', 'ext'], /Service ext is an ExternalName Service/],
    [['--intercept', '80', '--service', 'headless'], /Service headless is headless/],
    [['--intercept', '443', '--service', 'tls', '--header', 'x-dev=a'], /Service tls port 443 is not plain HTTP .*intercept it globally/],
    [['--intercept', '80'], /several Services select the pods of deployment\/api \(api, headless, tls\): pick one with --service NAME/],
  ];
  for (const [extra, want] of cases) {
    const r = await kinject(['run', '-n', ns, '--no-mount', '--target', 'deployment/api', ...extra, '--', 'true'], { kubeconfig, timeoutMs: 60_000 });
    t.not(r.code, 0, `${extra.join(' ')}: exit != 0`);
    t.match(r.stderr, want, `${extra.join(' ')}: the message`);
    t.equal(lines(r.stderr).length, 1, `${extra.join(' ')}: one line (${r.stderr.trim()})`);
  }
  t.same(await serviceState(), before, 'Service api unchanged');
  t.same(await kinjectLeftovers(kubeconfig, ns), [], 'no proxy pod was made');
});

t.test('personal intercepts: per request on every protocol, two sessions at once, hitless start and end', async (t) => {
  const load = loadLoops(t, 'personal');
  await new Promise((r) => setTimeout(r, 2000));
  const alice = await startIntercept(t, ['--intercept', 'http:19301', '--intercept', 'h2:19302', '--header', 'x-dev=alice'], 'local-alice', 19301, 19302);
  t.match(alice.err, /try it in the cluster: curl -H 'x-dev: alice' http:\/\/api\.[a-z0-9-]+:80\//, 'a ready curl line');
  t.match(
    JSON.parse((await kubectlOk(kubeconfig, ['-n', ns, 'get', 'service', 'api', '-o', 'json'])).trim()).spec.selector,
    { 'kinject.dev/router-for': 'api' },
    'the Service selects the routers',
  );

  t.match((await client(['get', 'http://api/', 'x-dev=alice'])).body, /^local-alice /, 'with the header: the local process');
  t.match((await client(['get', 'http://api/'])).body, /^pod /, 'without: the workload');
  const alt = await client(['alternate', 'http://api/', 'x-dev=alice', '6']);
  t.equal(alt.sockets, 1, 'one keep-alive connection');
  t.same(
    alt.bodies.map((b) => b.split(' ')[0]),
    ['local-alice', 'pod', 'local-alice', 'pod', 'local-alice', 'pod'],
    'routed request by request on one connection',
  );
  const h2 = await client(['h2', 'http://api:81', 'x-dev=alice']);
  t.same(
    h2.bodies.map((b) => b.split(' ')[0]),
    ['local-alice', 'pod'],
    'h2c: stream by stream on one session',
  );
  t.match(await client(['ws', 'http://api/', 'x-dev=alice']), { status: 101, echo: /^local-alice .* hello$/ }, 'WebSocket with the header: local');
  t.match(await client(['ws', 'http://api/']), { status: 101, echo: /^pod .* hello$/ }, 'WebSocket without: the workload');

  const preview = /preview \(with the header added\): (http:\/\/127\.0\.0\.1:\d+\/)/.exec(alice.err)?.[1];
  t.ok(preview, 'a preview URL is printed');
  const viaPreview = await (await fetch(`${preview}through-preview`, { signal: AbortSignal.timeout(20_000) })).text();
  t.match(viaPreview, /^local-alice .* GET \/through-preview/, 'the preview URL reaches the local process (header added)');

  const records = alice.err.split('\n').filter((l) => l.includes('"event":"intercept-request"'));
  t.ok(records.length >= 5, `intercepted requests are reported as records (${records.length})`);

  // a second developer with another header, at the same time
  const bob = await startIntercept(t, ['--intercept', 'http:19311', '--intercept', 'h2:19312', '--header', 'x-dev=bob'], 'local-bob', 19311, 19312);
  await waitFor(async () => /^local-bob /.test((await client(['get', 'http://api/', 'x-dev=bob'])).body), {
    timeoutMs: 20_000,
    what: 'bob gets his local process',
  });
  const seen = new Set();
  for (let i = 0; i < 8; i++) {
    seen.add(`alice:${(await client(['get', 'http://api/', 'x-dev=alice'])).body.split(' ')[0]}`);
    seen.add(`bob:${(await client(['get', 'http://api/', 'x-dev=bob'])).body.split(' ')[0]}`);
    seen.add(`none:${(await client(['get', 'http://api/'])).body.split(' ')[0]}`);
  }
  t.same([...seen].sort(), ['alice:local-alice', 'bob:local-bob', 'none:pod'], 'each header reaches its own developer, whichever router takes the connection');

  const global = await kinject(runArgs(['--intercept', 'http'], 'local-global', 19321, 19322), { kubeconfig, timeoutMs: 120_000 });
  t.not(global.code, 0, 'a global intercept on an intercepted Service is refused');
  t.match(global.stderr, /Service api already has personal intercepts \(.*session [a-z0-9]+, x-dev=alice.*x-dev=bob/, 'naming the holders');

  t.equal((await end(bob)).code, 0, 'bob ends');
  t.match((await client(['get', 'http://api/', 'x-dev=alice'])).body, /^local-alice /, 'alice still intercepts after bob left');
  t.equal((await end(alice)).code, 0, 'alice ends');
  t.same(await serviceState(), before, 'the Service is exactly as before (selector, labels, annotations, ports)');
  const [fresh, keep] = await load.stop();
  t.equal(fresh.failed, 0, `new connections across start, two sessions and end: 0 failed (${fresh.ok} ok; ${fresh.errors.join('; ')})`);
  t.equal(keep.failed, 0, `keep-alive connection across start, two sessions and end: 0 failed (${keep.ok} ok; ${keep.errors.join('; ')})`);
  t.same(Object.keys({ ...fresh.bodies, ...keep.bodies }), ['pod'], 'requests without the header only ever reached the workload');
  await waitFor(async () => (await kinjectLeftovers(kubeconfig, ns)).length === 0, { timeoutMs: 60_000, what: 'sessions gone' });
});

t.test('a global intercept takes every connection, and gives it back', async (t) => {
  const g = await startIntercept(t, ['--intercept', '80:19331'], 'local-global', 19331, 19332);
  t.match((await client(['get', 'http://api/'])).body, /^local-global /, 'without any header: the local process');
  t.match(await client(['ws', 'http://api/']), { echo: /^local-global / }, 'a WebSocket too (bytes relayed)');
  t.equal((await end(g)).code, 0);
  t.same(await serviceState(), before, 'the Service is exactly as before');
  t.match((await client(['get', 'http://api/'])).body, /^pod /, 'the workload again');
});

t.test('SIGKILL of kinject: the pod restores the Service by itself, 0 failures for everyone else', async (t) => {
  const load = loadLoops(t, 'sigkill');
  await new Promise((r) => setTimeout(r, 2000));
  const k = await startIntercept(t, ['--intercept', 'http:19341', '--header', 'x-dev=carol'], 'local-carol', 19341, 19342, {
    KINJECT_SESSION_GRACE_SECONDS: '15',
  });
  const session = sessionOf(k.err) ?? /kinject-([a-z0-9]{8})/.exec(k.err)?.[1];
  t.match((await client(['get', 'http://api/', 'x-dev=carol'])).body, /^local-carol /, 'intercepting');
  const killedAt = Date.now();
  k.kill('SIGKILL');
  await k.exited;
  await waitFor(async () => /^pod /.test((await client(['get', 'http://api/', 'x-dev=carol'])).body), {
    timeoutMs: 20_000,
    what: 'the header reaches the workload again',
  });
  t.pass(`requests with the header reach the workload ${Math.round((Date.now() - killedAt) / 1000)} s after the SIGKILL`);
  await waitFor(async () => JSON.stringify(await serviceState()) === JSON.stringify(before), { timeoutMs: 60_000, what: 'the Service restored by the pod' });
  t.pass(`the Service is exactly as before ${Math.round((Date.now() - killedAt) / 1000)} s after the SIGKILL`);
  await waitFor(async () => (await kinjectLeftovers(kubeconfig, ns, session)).length === 0, { timeoutMs: 90_000, what: 'the session gone' });
  const decoys = await kubectlOk(kubeconfig, ['-n', ns, 'get', 'services', '-l', `kinject.dev/session=${session}`, '-o', 'name']);
  t.equal(decoys.trim(), '', 'no decoy Service left');
  const [fresh, keep] = await load.stop();
  t.equal(fresh.failed, 0, `new connections across start and SIGKILL: 0 failed (${fresh.ok} ok; ${fresh.errors.join('; ')})`);
  t.equal(keep.failed, 0, `keep-alive across start and SIGKILL: 0 failed (${keep.ok} ok; ${keep.errors.join('; ')})`);
});

t.test('a kubectl apply revert during an intercept: reported with the writer, intercept ended, not overwritten', async (t) => {
  const k = await startIntercept(t, ['--intercept', 'http:19351', '--header', 'x-dev=dave'], 'local-dave', 19351, 19352);
  t.match((await client(['get', 'http://api/', 'x-dev=dave'])).body, /^local-dave /, 'intercepting');
  await kubectlOk(kubeconfig, ['-n', ns, 'apply', '-f', join(dir, 'service.yaml')]);
  await waitFor(() => /Service api was changed by kubectl[^ ]* .*the intercept ended and their change is kept/.test(k.err), {
    timeoutMs: 30_000,
    what: 'the change reported',
  });
  t.pass('the change is reported with its field manager');
  await waitFor(async () => JSON.stringify(await serviceState()) === JSON.stringify(before), {
    timeoutMs: 30_000,
    what: 'their selector kept, kinject annotations gone',
  });
  t.match((await client(['get', 'http://api/', 'x-dev=dave'])).body, /^pod /, 'the header reaches the workload: the intercept ended');
  t.equal((await end(k)).code, 0, 'kinject ends normally');
  t.same(await serviceState(), before, 'the applied Service is kept');
});

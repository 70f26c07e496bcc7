// kinject run --intercept against the real cluster, in this file's own namespace: one workload
// (deployment api: HTTP/1.1 + WebSocket on the named port http, h2c on 8081, gRPC on the named port
// grpc; Service api) and a toolbox pod "client" running the in-cluster clients
// (test/helpers/intercept/). The local processes are test/helpers/intercept/server.cjs as kinject's
// child. Checks: bad input refused with one line and the Service untouched; a NetworkPolicy that
// would block the routers refused the same way; a personal intercept routes per request (HTTP/1.1
// keep-alive alternating, h2c streams, gRPC calls by metadata, WebSocket by its upgrade), its
// preview URL and records; two sessions with different headers at once (h2c streams and gRPC calls
// with the colleague's header forwarded between the routers), a global one refused naming the
// holder; load loops without the header (new connections and keep-alive) across start and end
// count 0 failures.
import t from 'tap';
import { join } from 'node:path';
import { kinjectLeftovers, kubectl, kubectlOk, repoRoot, waitFor } from '../helpers/cluster.js';
import { kinject } from '../helpers/kinject-cli.js';
import { interceptWorld } from '../helpers/intercept/world.js';
import { roleKubeconfig } from '../helpers/rbac-kubeconfig.js';

// several sessions start and end here, each tens of seconds on a loaded 2-core machine
t.setTimeout(600_000);

const { kubeconfig, ns, client, grpcCall, routerIps, loadLoops, serviceState, before, runArgs, startIntercept, end, lines } = await interceptWorld(
  t,
  'intercept',
);

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
    [['--intercept', '99', '--service', 'api'], /Service api has no port 99: its ports are 80 \(http\), 81 \(h2\), 82 \(grpc\)/],
    [['--intercept', 'http', '--header', 'no-equals'], /--header "no-equals": expected NAME=VALUE/],
    [['--header', 'x-dev=a'], /--header filters an intercept: add --intercept/],
    [['--intercept', '80', '--service', 'nosel'], /Service nosel has no selector/],
    [['--intercept', '80', '--service', 'ext'], /Service ext is an ExternalName Service/],
    [['--intercept', '80', '--service', 'headless'], /Service headless is headless/],
    [['--intercept', '443', '--service', 'tls', '--header', 'x-dev=a'], /Service tls port 443 is not plain HTTP .*intercept it globally/],
    [['--intercept', '80'], /several Services select the pods of deployment\/api \(api, headless, tls\): pick one with --service NAME/],
  ];
  // at the same time: each is a separate kinject that only reads the cluster
  const results = await Promise.all(
    cases.map(([extra]) => kinject(['run', '-n', ns, '--no-mount', '--target', 'deployment/api', ...extra, '--', 'true'], { kubeconfig, timeoutMs: 90_000 })),
  );
  for (const [i, [extra, want]] of cases.entries()) {
    const r = results[i];
    t.not(r.code, 0, `${extra.join(' ')}: exit != 0`);
    t.match(r.stderr, want, `${extra.join(' ')}: the message`);
    t.equal(lines(r.stderr).length, 1, `${extra.join(' ')}: one line (${r.stderr.trim()})`);
  }
  t.same(await serviceState(), before, 'Service api unchanged');
  t.same(await kinjectLeftovers(kubeconfig, ns), [], 'no proxy pod was made');
});

/** kinject's objects in the namespace: Jobs, pods, Secrets, decoy Services, Leases */
async function everythingOfKinject() {
  const out = await kubectlOk(kubeconfig, ['-n', ns, 'get', 'jobs,pods,secrets,services,leases', '-l', 'app.kubernetes.io/managed-by=kinject', '-o', 'name']);
  return out.split('\n').filter(Boolean);
}

const personalRun = (cfg, header) =>
  kinject(
    [
      'run',
      '--kubeconfig',
      cfg,
      '-n',
      ns,
      '--no-mount',
      '--target',
      'deployment/api',
      '--intercept',
      'http',
      '--service',
      'api',
      '--header',
      header,
      '--',
      'true',
    ],
    {
      timeoutMs: 150_000,
    },
  );

t.test('NetworkPolicies that would block the routers: one line naming the policy, the Service unchanged', async (t) => {
  // this cluster enforces no NetworkPolicy: the objects are read, nothing is blocked for real
  await kubectlOk(kubeconfig, ['-n', ns, 'apply', '-f', '-'], {
    input: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-api}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{ports: [{port: http}]}]
`,
  });
  t.teardown(() => kubectl(kubeconfig, ['-n', ns, 'delete', 'networkpolicy', 'default-deny', 'allow-api', 'kinject-routers', '--ignore-not-found']));
  const r = await kinject(
    ['run', '-n', ns, '--no-mount', '--target', 'deployment/api', '--intercept', 'http', '--service', 'api', '--header', 'x-dev=np', '--', 'true'],
    {
      kubeconfig,
      timeoutMs: 90_000,
    },
  );
  t.not(r.code, 0, 'exit != 0');
  t.equal(lines(r.stderr).length, 1, `one line (${r.stderr.trim()})`);
  t.match(
    r.stderr,
    /NetworkPolicy allow-api lets clients reach the pods of deployment\/api on port 8080 \(http\) but default-deny would block them from kinject's router pods \(label kinject\.dev\/router-for=api\): allow the same ingress to pods labelled kinject\.dev\/router-for=api on port 8080 \(http\)/,
    'names the policy and what to allow',
  );
  t.same(await serviceState(), before, 'Service api unchanged');
  t.same(await everythingOfKinject(), [], 'nothing of kinject in the namespace');

  // the policy README suggests: the same intercept passes the check (and runs with exactly the Role)
  await kubectlOk(kubeconfig, ['-n', ns, 'apply', '-f', '-'], {
    input: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: kinject-routers}
spec:
  podSelector: {matchLabels: {kinject.dev/router-for: api}}
  ingress: [{ports: [{port: http}]}]
`,
  });
  const cfg = await roleKubeconfig(kubeconfig, ns);
  const ok = await personalRun(cfg, 'x-dev=np');
  t.equal(ok.code, 0, `with the routers admitted, an intercept with exactly rbac/kinject-role.yaml runs (${ok.stderr.trim().split('\n').at(-1)})`);
  t.same(await serviceState(), before, 'and the Service is as before after it');
  await waitFor(async () => (await kinjectLeftovers(kubeconfig, ns)).length === 0, { timeoutMs: 60_000, what: 'its session gone' });
});

t.test('missing RBAC for intercepts: one line naming the permission and the fix, the Service unchanged', async (t) => {
  const cfg = await roleKubeconfig(kubeconfig, ns);
  t.teardown(() => kubectl(kubeconfig, ['-n', ns, 'apply', '-f', join(repoRoot, 'rbac', 'kinject-role.yaml')]));
  const full = JSON.parse(await kubectlOk(kubeconfig, ['-n', ns, 'get', 'role', 'kinject', '-o', 'json']));
  const cases = [
    [
      (r) => (r.resources.includes('services') ? { ...r, verbs: r.verbs.filter((v) => v !== 'patch') } : r),
      /--intercept needs permission to patch services in namespace \S+ \(to switch the Service to the router\): apply rbac\/kinject-role\.yaml there/,
    ],
    [
      (r) => (r.resources.includes('networkpolicies') ? undefined : r),
      /--intercept needs permission to list networkpolicies in namespace \S+ \(to check they let the router work\): apply rbac\/kinject-role\.yaml there/,
    ],
    [
      (r) => (r.resources.includes('serviceaccounts/token') ? undefined : r),
      /--intercept needs permission to create serviceaccounts\/token in namespace \S+ .*apply rbac\/kinject-role\.yaml there/,
    ],
  ];
  for (const [cut, want] of cases) {
    const role = { ...full, metadata: { name: 'kinject', namespace: ns }, rules: full.rules.map(cut).filter(Boolean) };
    await kubectlOk(kubeconfig, ['-n', ns, 'replace', '-f', '-'], { input: JSON.stringify(role) });
    // RBAC changes reach the authorizer's cache within a moment
    await new Promise((r) => setTimeout(r, 1500));
    const r = await personalRun(cfg, 'x-dev=rbac');
    t.not(r.code, 0, 'exit != 0');
    t.equal(lines(r.stderr).length, 1, `one line (${r.stderr.trim()})`);
    t.match(r.stderr, want, 'names the permission and the fix');
    t.same(await serviceState(), before, 'Service api unchanged');
    t.same(await everythingOfKinject(), [], 'nothing of kinject in the namespace');
  }
});

t.test('personal intercepts: per request on every protocol, two sessions at once, hitless start and end', async (t) => {
  const load = loadLoops(t, 'personal');
  await new Promise((r) => setTimeout(r, 2000));
  const alice = await startIntercept(
    t,
    ['--intercept', 'http:19301', '--intercept', 'h2:19302', '--intercept', 'grpc:19303', '--header', 'x-dev=alice'],
    'local-alice',
    19301,
    19302,
    undefined,
    19303,
  );
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
  t.match(await grpcCall('api:82', 'x-dev=alice'), { reply: /^local-alice .* hello$/ }, 'gRPC with the metadata: the local process');
  t.match(await grpcCall('api:82'), { reply: /^pod api-.* hello$/ }, 'gRPC without: the workload');
  t.match(await grpcCall('api:82', 'x-dev=bob'), { reply: /^pod api-.* hello$/ }, 'gRPC with another value: the workload');
  t.match(await client(['ws', 'http://api/', 'x-dev=alice']), { status: 101, echo: /^local-alice .* hello$/ }, 'WebSocket with the header: local');
  t.match(await client(['ws', 'http://api/']), { status: 101, echo: /^pod .* hello$/ }, 'WebSocket without: the workload');

  const preview = /preview \(with the header added\): (http:\/\/127\.0\.0\.1:\d+\/)/.exec(alice.err)?.[1];
  t.ok(preview, 'a preview URL is printed');
  const viaPreview = await (await fetch(`${preview}through-preview`, { signal: AbortSignal.timeout(20_000) })).text();
  t.match(viaPreview, /^local-alice .* GET \/through-preview/, 'the preview URL reaches the local process (header added)');

  const records = alice.err.split('\n').filter((l) => l.includes('"event":"intercept-request"'));
  t.ok(records.length >= 5, `intercepted requests are reported as records (${records.length})`);

  // a second developer with another header, at the same time
  const bob = await startIntercept(
    t,
    ['--intercept', 'http:19311', '--intercept', 'h2:19312', '--intercept', 'grpc:19313', '--header', 'x-dev=bob'],
    'local-bob',
    19311,
    19312,
    undefined,
    19313,
  );
  await waitFor(async () => /^local-bob /.test((await client(['get', 'http://api/', 'x-dev=bob'])).body), {
    timeoutMs: 20_000,
    what: 'bob gets his local process',
  });
  const seen = new Set();
  for (let i = 0; i < 3; i++) {
    seen.add(`alice:${(await client(['get', 'http://api/', 'x-dev=alice'])).body.split(' ')[0]}`);
    seen.add(`bob:${(await client(['get', 'http://api/', 'x-dev=bob'])).body.split(' ')[0]}`);
    seen.add(`none:${(await client(['get', 'http://api/'])).body.split(' ')[0]}`);
  }
  t.same([...seen].sort(), ['alice:local-alice', 'bob:local-bob', 'none:pod'], 'each header reaches its own developer, whichever router takes the connection');
  // h2c and gRPC straight to each router pod: the other developer's streams must be forwarded
  await waitFor(async () => (await routerIps()).length === 2, { timeoutMs: 30_000, what: 'two router pods with addresses' });
  for (const ip of await routerIps()) {
    const { bodies } = await client(['streams', `http://${ip}:8081`, 'x-dev=alice', 'x-dev=bob', 'none', 'x-dev=bob', 'x-dev=alice']);
    t.same(
      bodies.map((b) => b.split(' ')[0]),
      ['local-alice', 'local-bob', 'pod', 'local-bob', 'local-alice'],
      `h2c streams on one connection to router ${ip}: each header to its developer, none to the workload`,
    );
    t.match(await grpcCall(`${ip}:8082`, 'x-dev=bob'), { reply: /^local-bob / }, `gRPC with bob's metadata via router ${ip}: bob's process`);
    t.match(await grpcCall(`${ip}:8082`, 'x-dev=alice'), { reply: /^local-alice / }, `gRPC with alice's metadata via router ${ip}: alice's process`);
  }

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

// kinject run --intercept against the real cluster, in this file's own namespace: one workload
// (deployment api: HTTP/1.1 + WebSocket on the named port http, h2c on 8081; Service api) and a
// toolbox pod "client" running the in-cluster clients (test/helpers/intercept/). The local processes
// are test/helpers/intercept/server.cjs as kinject's child. Checks: bad input refused with one line
// and the Service untouched; a personal intercept routes per request (HTTP/1.1 keep-alive
// alternating, h2c streams, WebSocket by its upgrade), its preview URL and records; two sessions
// with different headers at once, a global one refused naming the holder; load loops without the
// header (new connections and keep-alive) across start and end count 0 failures; a global
// intercept; SIGKILL of kinject: the pod restores the Service itself (exactly as before, within 60
// s) with 0 failures for everyone else; a `kubectl apply` revert ends the intercept, reported with
// the writer, and is not overwritten.
import t from 'tap';
import { join } from 'node:path';
import { kinjectLeftovers, kubectl, kubectlOk, waitFor } from '../helpers/cluster.js';
import { kinject, sessionOf } from '../helpers/kinject-cli.js';
import { interceptWorld } from '../helpers/intercept/world.js';

// several sessions start and end here, each tens of seconds on a loaded 2-core machine
t.setTimeout(600_000);

const { dir, kubeconfig, ns, client, loadLoops, serviceState, before, runArgs, startIntercept, end, lines } = await interceptWorld(t, 'intercept');

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
  for (let i = 0; i < 3; i++) {
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

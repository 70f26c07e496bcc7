// kinject teleport while the namespace changes under it, against the real local cluster, in a
// private mount namespace whose /etc/hosts is a temporary file (test/helpers/hosts-namespace.js).
// The sample hello (Deployment + Services) runs in this file's own namespace, plus a Service
// "gone" over the same pods: deleting "gone" takes it out of the hosts block and closes its
// listener within 5 s; a `kubectl rollout restart` of hello keeps hello's address and it answers
// from the new pods; a service account that may not list Services in a namespace gets one line,
// exit != 0, and nothing is left (no session, no pod, the hosts file as before). UDP ports show
// as not relayed in the table and --json, and a UDP-only Service gets no address.
import net from 'node:net';
import { readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import t from 'tap';
import { applySample, ensureCluster, kinjectLeftovers, kubectlOk, ownNamespace } from '../helpers/cluster.js';
import { kinjectBin } from '../helpers/kinject-cli.js';
import { hostsNamespace } from '../helpers/hosts-namespace.js';
import { roleKubeconfig } from '../helpers/rbac-kubeconfig.js';
import { graceEnv } from '../helpers/session-grace.js';
import { waitFor } from '../helpers/wait.js';

t.setTimeout(600_000);
const { kubeconfig } = await ensureCluster();
const NS = await ownNamespace(t, kubeconfig, 'teleport-life');
const ns = await hostsNamespace(t);
const before = readFileSync(ns.hostsFile, 'utf8');
const kenv = { KUBECONFIG: kubeconfig, ...graceEnv };
const kinject = (args, o = {}) => ns.run(kinjectBin, args, { timeoutMs: 180_000, ...o, env: { ...kenv, ...o.env } });
const helloBody = /^hello from (hello-\S+)$/m;

await applySample(kubeconfig, '20-hello.yaml', NS);
await kubectlOk(kubeconfig, ['-n', NS, 'create', 'service', 'clusterip', 'gone', '--tcp=8080:80']);
await kubectlOk(kubeconfig, ['-n', NS, 'set', 'selector', 'service', 'gone', 'app=hello']);
// UDP is not relayed: a UDP-only Service and a mixed one, as the table shows them
await kubectlOk(kubeconfig, ['apply', '-f', '-'], {
  input: JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'dnsish', namespace: NS },
        spec: { selector: { app: 'hello' }, ports: [{ port: 53, protocol: 'UDP' }] },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'mixed', namespace: NS },
        spec: {
          selector: { app: 'hello' },
          ports: [
            { name: 'h', port: 8081, targetPort: 80, protocol: 'TCP' },
            { name: 'd', port: 5353, protocol: 'UDP' },
          ],
        },
      },
    ],
  }),
});

t.teardown(() => kinject(['session', 'close', '--all'], { timeoutMs: 60_000 }));

/** The address the hosts file gives `name`, or undefined. */
const addressOf = (name) => {
  const line = readFileSync(ns.hostsFile, 'utf8')
    .split('\n')
    .find((l) => l.split(/\s+/).slice(1).includes(name));
  return line?.split(/\s+/)[0];
};
/** Resolves 'open', 'refused' or the error code of a TCP connect to address:port (loopback: the same network namespace). */
const probe = (host, port) =>
  new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 3000 });
    s.on('connect', () => {
      s.destroy();
      resolve('open');
    });
    s.on('timeout', () => {
      s.destroy();
      resolve('timeout');
    });
    s.on('error', (e) => resolve(e.code === 'ECONNREFUSED' ? 'refused' : e.code));
  });

const start = await kinject(['teleport', '-n', NS]);
t.equal(start.code, 0, start.stderr);

t.test('UDP ports are marked as not relayed; a UDP-only Service has no address and no hosts line', async (t) => {
  t.match(start.stdout, new RegExp(`^- +53/udp:not-relayed +dnsish dnsish\\.${NS} `, 'm'), start.stdout);
  t.match(start.stdout, /^127\.\S+ +8081,5353\/udp:not-relayed +mixed /m);
  t.notOk(addressOf(`dnsish.${NS}`), 'dnsish: no hosts line');
  const curl = await ns.run('curl', ['-sS', '-m', '10', `http://mixed.${NS}:8081/`]);
  t.match(curl.stdout, helloBody, "mixed's TCP port relays");
  const list = JSON.parse((await kinject(['session', 'list', '--json'])).stdout);
  const rows = list[0].details.table;
  t.same(
    rows.find((r) => r.names[0] === 'dnsish'),
    { address: '-', ports: [], names: rows.find((r) => r.names[0] === 'dnsish').names, notRelayed: ['53/UDP'] },
    '--json says so',
  );
});

t.test('a Service deleted during the session leaves the hosts block and its listener closes within 5 s', async (t) => {
  const address = addressOf(`gone.${NS}`);
  t.ok(address, 'gone has an address');
  t.equal(await probe(address, 8080), 'open', 'its listener is open');
  const curl = await ns.run('curl', ['-sS', '-m', '10', `http://gone.${NS}:8080/`]);
  t.match(curl.stdout, helloBody, 'and relays to the pods');
  await kubectlOk(kubeconfig, ['-n', NS, 'delete', 'service', 'gone']);
  const since = Date.now();
  await waitFor(async () => !addressOf(`gone.${NS}`) && (await probe(address, 8080)) === 'refused', {
    timeoutMs: 5000,
    intervalMs: 100,
    what: 'gone out of the hosts file and its listener closed',
  });
  t.pass(`gone out and its listener closed after ${Date.now() - since} ms`);
  t.ok(addressOf(`hello.${NS}`), 'hello stays');
});

t.test('a Service whose pods restart keeps its address and stays reachable', async (t) => {
  const address = addressOf(`hello.${NS}`);
  t.ok(address, 'hello has an address');
  const pods = async () => (await kubectlOk(kubeconfig, ['-n', NS, 'get', 'pods', '-l', 'app=hello', '-o', 'name'])).split('\n').filter(Boolean);
  const old = new Set((await pods()).map((p) => p.replace('pod/', '')));
  await kubectlOk(kubeconfig, ['-n', NS, 'rollout', 'restart', 'deployment/hello']);
  await kubectlOk(kubeconfig, ['-n', NS, 'rollout', 'status', 'deployment/hello', '--timeout=180s'], { timeoutMs: 200_000 });
  t.equal(addressOf(`hello.${NS}`), address, 'the same address after the rollout');
  t.equal(addressOf('hello'), address, 'the short name too');
  // the old pods may still be terminating: wait until a new one answers
  const answer = await waitFor(
    async () => {
      const c = await ns.run('curl', ['-sS', '-m', '5', 'http://hello/']);
      const m = helloBody.exec(c.stdout);
      return m && !old.has(m[1]) && m[1];
    },
    { timeoutMs: 30_000, intervalMs: 500, what: 'hello to answer from a new pod' },
  );
  t.ok(answer, `answered by the new pod ${answer}`);
  t.equal(await probe(address, 80), 'open', 'the listener is the same address and port');
});

t.test('no permission to list Services: one line, exit != 0, nothing left', async (t) => {
  // the service account's Role is bound in NS only: it may not list kinject-demo's Services
  const sa = await roleKubeconfig(kubeconfig, NS);
  t.teardown(() => rmSync(dirname(sa), { recursive: true, force: true }));
  const hostsBefore = readFileSync(ns.hostsFile, 'utf8');
  const listBefore = JSON.parse((await kinject(['session', 'list', '--json'])).stdout);
  const podsBefore = await kinjectLeftovers(kubeconfig, NS);
  for (const fg of [[], ['--foreground']]) {
    const r = await kinject(['teleport', '-n', 'kinject-demo', ...fg], { env: { KUBECONFIG: sa } });
    t.not(r.code, 0, `exit ${r.code}`);
    t.match(r.stderr, /services.*kinject-demo|kinject-demo.*services/i, r.stderr);
    t.match(r.stderr, /forbidden|permission|not allowed|cannot list/i, 'says it is a permission');
    t.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    t.equal(r.stdout, '', 'no table');
  }
  t.equal(readFileSync(ns.hostsFile, 'utf8'), hostsBefore, 'the hosts file is as before');
  t.same(JSON.parse((await kinject(['session', 'list', '--json'])).stdout), listBefore, 'no new session');
  // the account can create nothing in kinject-demo (the sample namespace others use too): NS is where it could have
  t.same(await kinjectLeftovers(kubeconfig, NS), podsBefore, 'no new Job, pod or Secret');
});

t.test('close: the hosts file is as before', async (t) => {
  const r = await kinject(['session', 'close', '--all']);
  t.equal(r.code, 0, r.stderr);
  t.equal(readFileSync(ns.hostsFile, 'utf8'), before);
  t.same(await kinjectLeftovers(kubeconfig, NS), [], 'no proxy pod left');
});

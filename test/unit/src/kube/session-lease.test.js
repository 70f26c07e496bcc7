// The runner's side of the session Lease (kube/session-lease.ts) against a small in-memory
// stand-in for the API server's lease endpoints (optimistic concurrency by resourceVersion, like
// the real one): the Lease is created and renewed; a closed-by mark or its deletion resolves
// `closed` with who ended the session; without permission to create it, one warning and no
// closure; stop() deletes it.
import t from 'tap';
import http from 'node:http';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKubeAccess } from '../../../../dist/src/kube/config.js';
import { keepSessionLease, markLeaseClosed } from '../../../../dist/src/kube/session-lease.js';

function fakeApi({ forbidCreate = false } = {}) {
  const leases = new Map();
  let rv = 1;
  const requests = [];
  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    requests.push(`${req.method} ${req.url.split('?')[0]}`);
    const send = (code, obj) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    const m = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/?]+))?/.exec(req.url);
    if (!m) return send(404, { kind: 'Status', code: 404, reason: 'NotFound', message: 'no route' });
    const name = m[2];
    if (req.method === 'POST') {
      if (forbidCreate) return send(403, { kind: 'Status', code: 403, reason: 'Forbidden', message: 'leases is forbidden' });
      const o = JSON.parse(body);
      o.metadata.resourceVersion = String(rv++);
      leases.set(o.metadata.name, o);
      return send(201, o);
    }
    const cur = leases.get(name);
    if (!cur) return send(404, { kind: 'Status', code: 404, reason: 'NotFound', message: `leases "${name}" not found` });
    if (req.method === 'GET') return send(200, cur);
    if (req.method === 'DELETE') {
      leases.delete(name);
      return send(200, { kind: 'Status', status: 'Success' });
    }
    if (req.method === 'PUT') {
      const o = JSON.parse(body);
      if (o.metadata.resourceVersion !== cur.metadata.resourceVersion)
        return send(409, { kind: 'Status', code: 409, reason: 'Conflict', message: 'the object has been modified' });
      o.metadata.resourceVersion = String(rv++);
      leases.set(name, o);
      return send(200, o);
    }
    return send(405, {});
  });
  return { server, leases, requests };
}

async function setup(t, options) {
  const api = fakeApi(options);
  api.server.listen(0, '127.0.0.1');
  await once(api.server, 'listening');
  t.teardown(() => api.server.close());
  const dir = mkdtempSync(join(tmpdir(), 'kinject-lease-'));
  const file = join(dir, 'kubeconfig');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: c, cluster: {server: "http://127.0.0.1:${api.server.address().port}", insecure-skip-tls-verify: true}}]`,
      'users: [{name: u, user: {token: x}}]',
      'contexts: [{name: x, context: {cluster: c, user: u, namespace: team}}]',
      'current-context: x',
      '',
    ].join('\n'),
  );
  const access = loadKubeAccess({ kubeconfig: file, env: {} });
  t.teardown(() => access.client.close());
  return { api, access };
}

const keeper = (access, warnings = []) =>
  keepSessionLease({
    access,
    namespace: 'team',
    id: 'ab12cd34',
    holder: 'ann@box pid 42',
    graceSeconds: 3,
    job: { name: 'kinject-ab12cd34', uid: 'u-1' },
    warn: (m) => warnings.push(m),
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const within = (p, ms) => Promise.race([p, sleep(ms).then(() => 'timeout')]);

t.test('created, renewed, and a closed-by mark ends it', async (t) => {
  const { api, access } = await setup(t);
  const lease = await keeper(access);
  t.teardown(() => lease.stop());
  const first = api.leases.get('kinject-ab12cd34');
  t.equal(first.spec.holderIdentity, 'ann@box pid 42');
  t.equal(first.spec.leaseDurationSeconds, 3);
  const created = first.spec.renewTime;
  for (let i = 0; i < 40 && api.leases.get('kinject-ab12cd34').spec.renewTime === created; i++) await sleep(100);
  t.not(api.leases.get('kinject-ab12cd34').spec.renewTime, created, 'renewed (every grace/6 s)');
  t.equal(await within(lease.closed, 700), 'timeout', 'not closed while nobody asks');
  await markLeaseClosed(access, 'team', 'ab12cd34', 'bob@ci pid 7 (kinject session close)');
  t.equal(await within(lease.closed, 5000), 'session team/kinject-ab12cd34 was closed by bob@ci pid 7 (kinject session close)');
  await lease.stop();
  t.notOk(api.leases.has('kinject-ab12cd34'), 'stop() deletes it');
});

t.test('its deletion ends it too', async (t) => {
  const { api, access } = await setup(t);
  const lease = await keeper(access);
  t.teardown(() => lease.stop());
  api.leases.delete('kinject-ab12cd34');
  t.match(await within(lease.closed, 5000), /^session team\/kinject-ab12cd34 was closed by someone else: its Lease and Job were deleted$/);
});

t.test('no permission to create it: one warning, never closed', async (t) => {
  const { api, access } = await setup(t, { forbidCreate: true });
  const warnings = [];
  const lease = await keeper(access, warnings);
  t.equal(warnings.length, 1);
  t.match(warnings[0], /^warning: cannot create the session's Lease team\/kinject-ab12cd34 \(forbidden\): .*rbac\/kinject-role\.yaml$/);
  await sleep(1200);
  t.same(api.requests, ['POST /apis/coordination.k8s.io/v1/namespaces/team/leases'], 'no renewals');
  t.equal(await within(lease.closed, 100), 'timeout');
  await lease.stop();
});

t.test('stop() ends the renewals', async (t) => {
  const { api, access } = await setup(t);
  const lease = await keeper(access);
  await lease.stop();
  const n = api.requests.length;
  await sleep(1200);
  t.equal(api.requests.length, n, 'nothing after stop()');
});

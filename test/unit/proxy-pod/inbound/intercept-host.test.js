// The pod's side of an intercept (proxy-pod/inbound/intercept-host.ts) with a fake API server (a
// Service object the patches are applied to): without the runner's mux session everything goes
// to the decoy; the grace without the runner restores the Service and reports the end; a change by
// someone else is reported with its writer from managedFields and only kinject's parts are removed;
// a runner whose session stays open but brings nothing (asleep, off the network) is away until
// heard again, and away for the grace ends the intercept.
import t from 'tap';
import http from 'node:http';
import { once } from 'node:events';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { InterceptHost } from '../../../../dist/proxy-pod/inbound/intercept-host.js';
import { joinPatch } from '../../../../dist/protocol/intercept/service-patch.js';
import { waitUntil } from '../../../helpers/wait.js';

function applyOps(doc, ops) {
  const out = structuredClone(doc);
  for (const op of ops) {
    const keys = op.path
      .split('/')
      .slice(1)
      .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop();
    let o = out;
    for (const k of keys) o = o[k];
    if (op.op === 'test' && JSON.stringify(o[last]) !== JSON.stringify(op.value)) throw Object.assign(new Error('test failed'), { status: 422 });
    if (op.op === 'add' || op.op === 'replace') o[last] = op.value;
    if (op.op === 'remove') delete o[last];
  }
  return out;
}

async function world(t, hostOptions = {}, graceSeconds = 1) {
  const decoy = http.createServer((_q, r) => r.end('decoy\n'));
  decoy.listen(0, '127.0.0.1');
  await once(decoy, 'listening');
  const original = { metadata: { name: 'api', annotations: { keep: 'me' }, managedFields: [] }, spec: { selector: { app: 'api' } } };
  const me = { session: 's1', user: 'alice@x', headers: [{ name: 'x-dev', value: 'alice' }] };
  const api = {
    svc: applyOps(original, joinPatch(original, me, 'api')),
    patches: 0,
    async getService() {
      return structuredClone(this.svc);
    },
    async patchService(_ns, _n, ops) {
      this.patches++;
      this.svc = applyOps(this.svc, ops);
      return this.svc;
    },
  };
  const ended = [];
  const host = new InterceptHost({ log: () => {}, api, drainMs: 10, healthPort: 0, onEnded: (why) => ended.push(why), ...hostOptions });
  const listen = 20000 + Math.floor(Math.random() * 20000);
  await host.start({
    session: 's1',
    user: 'alice@x',
    namespace: 'ns',
    service: 'api',
    decoyHost: '127.0.0.1',
    ports: [{ servicePort: 80, listen, localPort: 1, decoyPort: decoy.address().port }],
    headers: me.headers,
    apiToken: 'x',
    apiCa: 'x',
    graceSeconds,
  });
  t.teardown(() => {
    decoy.close();
    host.close();
  });
  const get = (headers) =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: listen, headers, agent: false }, (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve(`${res.statusCode} ${b.trim()}`));
        })
        .on('error', reject);
    });
  return { api, host, original, get, ended };
}

t.test('the runner gone for the grace: the Service is restored exactly, the end reported', async (t) => {
  const { api, host, original, get, ended } = await world(t);
  const session = new EventEmitter();
  session.alive = true;
  host.attach(session);
  session.alive = false;
  session.emit('close');
  t.equal(await get({ 'x-dev': 'alice' }), '200 decoy', 'without the runner, a matching request goes to the workload');
  await waitUntil(() => ended.length === 1, 10_000, 'the grace ends the intercept');
  t.match(ended[0], /the runner was gone for 1 s/);
  const { managedFields, ...metadata } = api.svc.metadata;
  t.same({ ...api.svc, metadata }, { ...original, metadata: { name: 'api', annotations: { keep: 'me' } } }, 'restored exactly');
});

t.test('a foreign change: reported with the writer, only kinject parts removed', async (t) => {
  const { api, host } = await world(t);
  const events = [];
  host.subscribe((e) => events.push(e));
  api.svc.spec.selector = { 'kinject.dev/router-for': 'api', app: 'api' };
  api.svc.metadata.managedFields = [{ manager: 'kubectl-client-side-apply', operation: 'Update', time: '2026-01-01T00:00:00Z' }];
  await waitUntil(() => events.some((e) => e.type === 'intercept-ended'), 15_000, 'the guard notices');
  t.match(
    events.find((e) => e.type === 'service-changed'),
    { by: 'kubectl-client-side-apply (Update)', what: /spec\.selector is now/ },
  );
  t.same(api.svc.spec.selector, { app: 'api' }, 'their selector kept, our key removed');
  t.same(api.svc.metadata.annotations, { keep: 'me' }, 'our annotations removed');
});

t.test('a runner that goes quiet (asleep, off the network) is away until heard again; quiet for the grace ends the intercept', async (t) => {
  const { api, get, ended, host } = await world(t, { runnerQuietMs: 300 }, 3);
  // a session that stays open; its channels to the local process fail (no local process here: 502)
  const session = Object.assign(new EventEmitter(), {
    alive: true,
    lastHeardAt: Date.now(),
    open() {
      const ch = new PassThrough();
      setImmediate(() => ch.destroy(new Error('nobody listens')));
      return ch;
    },
  });
  host.attach(session);
  const beat = () => setInterval(() => (session.lastHeardAt = Date.now()), 50);
  let beating = beat();
  t.teardown(() => clearInterval(beating));
  t.match(await get({ 'x-dev': 'alice' }), /^502 /, 'heard from: a matching request goes to the runner');
  clearInterval(beating);
  await waitUntil(async () => (await get({ 'x-dev': 'alice' })) === '200 decoy', 5000, 'quiet: the workload');
  t.ok(Date.now() - session.lastHeardAt >= 300, `away only after the quiet limit (${Date.now() - session.lastHeardAt} ms)`);
  session.lastHeardAt = Date.now();
  beating = beat();
  await waitUntil(async () => /^502 /.test(await get({ 'x-dev': 'alice' })), 5000, 'heard again: the runner');
  await new Promise((r) => setTimeout(r, 3500));
  t.equal(ended.length, 0, 'a silence shorter than the grace does not end the intercept');
  clearInterval(beating);
  await waitUntil(() => ended.length === 1, 10_000, 'quiet for the grace ends it');
  t.match(ended[0], /the runner was gone for 3 s/);
  t.same(api.svc.spec.selector, { app: 'api' }, 'the Service restored');
});

// Finding cluster access like kubectl: --kubeconfig, KUBECONFIG lists (first definition wins),
// ~/.kube/config, in-cluster files; --context / -n; one-line errors. The API check runs against
// loopback only (a closed port and a local HTTP server answering /version).
import t from 'tap';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { loadKubeAccess, checkApiServer, connectKube } from '../../../../dist/src/kube/config.js';

const dir = mkdtempSync(join(tmpdir(), 'kinject-kubecfg-'));

function kubeconfig(name, { contexts, current, server = 'https://127.0.0.1:6443' }) {
  const file = join(dir, name);
  const clusters = [...new Set(contexts.map((c) => c.cluster))];
  const text = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    ...clusters.flatMap((c) => {
      const url = typeof server === 'function' ? server(c) : server;
      // client-node wants plain http spelled out as insecure
      return [`- name: ${c}`, '  cluster:', `    server: ${url}`, ...(url.startsWith('http:') ? ['    insecure-skip-tls-verify: true'] : [])];
    }),
    'users:',
    ...contexts
      .map((c) => c.user)
      .filter((u, i, a) => u && a.indexOf(u) === i)
      .flatMap((u) => [`- name: ${u}`, '  user:', `    token: tok-${u}`]),
    'contexts:',
    ...contexts.flatMap((c) => [
      `- name: ${c.name}`,
      '  context:',
      `    cluster: ${c.cluster}`,
      ...(c.user ? [`    user: ${c.user}`] : []),
      ...(c.namespace ? [`    namespace: ${c.namespace}`] : []),
    ]),
    ...(current ? [`current-context: ${current}`] : []),
  ].join('\n');
  writeFileSync(file, text + '\n');
  return file;
}

const a = kubeconfig('a.yaml', {
  contexts: [
    { name: 'dev', cluster: 'c-dev', user: 'u1', namespace: 'team' },
    { name: 'shared', cluster: 'c-a', user: 'u1' },
  ],
  current: 'dev',
  server: (c) => `https://${c}.example:6443`,
});
const b = kubeconfig('b.yaml', {
  contexts: [
    { name: 'prod', cluster: 'c-prod', user: 'u2' },
    { name: 'shared', cluster: 'c-b', user: 'u2' },
  ],
  current: 'prod',
  server: (c) => `https://${c}.example:6443`,
});
const empty = join(dir, 'empty.yaml');
writeFileSync(empty, '');

t.test('--kubeconfig, context namespace, -n', async (t) => {
  const acc = loadKubeAccess({ kubeconfig: a, env: {} });
  t.equal(acc.context, 'dev');
  t.equal(acc.namespace, 'team');
  t.equal(acc.server, 'https://c-dev.example:6443');
  t.same(acc.sources, [a]);
  t.equal(loadKubeAccess({ kubeconfig: a, namespace: 'other', env: {} }).namespace, 'other');
  t.equal(loadKubeAccess({ kubeconfig: a, context: 'shared', env: {} }).namespace, 'default');
});

t.test('KUBECONFIG list: missing files skipped, first wins', async (t) => {
  const acc = loadKubeAccess({ env: { KUBECONFIG: [join(dir, 'missing.yaml'), b, a, empty].join(':') } });
  t.equal(acc.context, 'prod', 'current-context from the first file that sets it');
  t.same(acc.sources, [b, a, empty]);
  const shared = loadKubeAccess({ env: { KUBECONFIG: `${b}:${a}` }, context: 'shared' });
  t.equal(shared.cluster, 'c-b', 'first definition of a name wins');
  t.equal(loadKubeAccess({ env: { KUBECONFIG: `${b}:${a}` }, context: 'dev' }).namespace, 'team');
});

t.test('~/.kube/config and in-cluster', async (t) => {
  const home = join(dir, 'home');
  mkdirSync(join(home, '.kube'), { recursive: true });
  writeFileSync(
    join(home, '.kube', 'config'),
    `apiVersion: v1\nclusters:\n- name: h\n  cluster:\n    server: https://home.example\ncontexts:\n- name: home\n  context:\n    cluster: h\ncurrent-context: home\n`,
  );
  t.equal(loadKubeAccess({ env: {}, homeDir: home }).context, 'home');

  const root = join(dir, 'root');
  const sa = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
  mkdirSync(sa, { recursive: true });
  writeFileSync(join(sa, 'token'), 'x');
  writeFileSync(join(sa, 'ca.crt'), '');
  writeFileSync(join(sa, 'namespace'), 'apps\n');
  const saved = { h: process.env.KUBERNETES_SERVICE_HOST, p: process.env.KUBERNETES_SERVICE_PORT };
  process.env.KUBERNETES_SERVICE_HOST = '10.0.0.1';
  process.env.KUBERNETES_SERVICE_PORT = '443';
  t.teardown(() => {
    if (saved.h === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
    else process.env.KUBERNETES_SERVICE_HOST = saved.h;
    if (saved.p === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
    else process.env.KUBERNETES_SERVICE_PORT = saved.p;
  });
  const acc = loadKubeAccess({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, homeDir: join(dir, 'nohome'), inClusterRoot: root });
  t.same(acc.sources, ['in-cluster']);
  t.equal(acc.namespace, 'apps');
  t.equal(acc.server, 'https://10.0.0.1:443');
});

t.test('one-line errors', async (t) => {
  const oneLine = (fn, re) => {
    let err;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    t.equal(err?.name, 'KinjectError');
    t.match(err?.message, re);
    t.notMatch(err?.message ?? '', /\n/);
  };
  oneLine(
    () => loadKubeAccess({ kubeconfig: a, context: 'nope', env: {} }),
    /^context "nope" not found in .*a\.yaml; available contexts: dev, shared; check --context$/,
  );
  oneLine(() => loadKubeAccess({ kubeconfig: join(dir, 'missing.yaml'), env: {} }), /kubeconfig .*missing\.yaml does not exist; check --kubeconfig/);
  oneLine(() => loadKubeAccess({ env: {}, homeDir: join(dir, 'nohome') }), /^no Kubernetes configuration found .*pass --kubeconfig, set KUBECONFIG/);
  oneLine(() => loadKubeAccess({ env: { KUBECONFIG: join(dir, 'missing.yaml') } }), /^no Kubernetes configuration found/);
  const nocur = kubeconfig('nocur.yaml', { contexts: [{ name: 'x', cluster: 'cx' }] });
  oneLine(() => loadKubeAccess({ kubeconfig: nocur, env: {} }), /has no current context; pass --context \(available: x\)/);
  const badref = join(dir, 'badref.yaml');
  writeFileSync(badref, 'apiVersion: v1\nclusters: []\ncontexts:\n- name: x\n  context:\n    cluster: ghost\ncurrent-context: x\n');
  oneLine(() => loadKubeAccess({ kubeconfig: badref, env: {} }), /refers to cluster "ghost", which is not defined/);
  const garbage = join(dir, 'garbage.yaml');
  writeFileSync(garbage, 'clusters: [::');
  oneLine(() => loadKubeAccess({ kubeconfig: garbage, env: {} }), /invalid kubeconfig .*garbage\.yaml/);
});

t.test('API server check (loopback)', async (t) => {
  // a port with nothing listening
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = probe.address().port;
  probe.close();
  await once(probe, 'close');
  const dead = kubeconfig('dead.yaml', { contexts: [{ name: 'd', cluster: 'cd', user: 'u' }], current: 'd', server: `http://127.0.0.1:${port}` });
  await t.rejects(checkApiServer(loadKubeAccess({ kubeconfig: dead, env: {} }), 2000), {
    name: 'KinjectError',
    message: new RegExp(`^cannot reach the Kubernetes API server at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED: .*; check --context/--kubeconfig$`),
  });

  let seenAuth;
  const server = http.createServer((req, res) => {
    seenAuth = req.headers.authorization;
    if (req.url === '/version') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ gitVersion: 'v1.34.4' }));
    } else if (req.url.startsWith('/api/v1/namespaces/team')) {
      res.statusCode = 404;
      res.end(
        JSON.stringify({
          kind: 'Status',
          reason: 'NotFound',
          message: 'namespaces "team" not found',
          details: { name: 'team', kind: 'namespaces' },
          code: 404,
        }),
      );
    } else if (req.url.startsWith('/api/v1/namespaces/')) {
      res.end(JSON.stringify({ kind: 'Namespace' }));
    } else {
      res.statusCode = 500;
      res.end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const live = kubeconfig('live.yaml', {
    contexts: [{ name: 'l', cluster: 'cl', user: 'ul', namespace: 'team' }],
    current: 'l',
    server: `http://127.0.0.1:${server.address().port}`,
  });
  const acc = loadKubeAccess({ kubeconfig: live, env: {} });
  t.equal(await checkApiServer(acc), 'v1.34.4');
  t.equal(seenAuth, 'Bearer tok-ul', 'credentials from the kubeconfig');
  await t.rejects(connectKube({ kubeconfig: live, env: {} }), { message: 'namespace "team" not found; check -n/--namespace (or the context\'s namespace)' });
  const ok = await connectKube({ kubeconfig: live, env: {}, namespace: 'fine' });
  t.equal(ok.namespace, 'fine');
  ok.client.close();
  acc.client.close();

  // a server that accepts but never answers: the short time limit applies
  const silent = net.createServer(() => {});
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.teardown(() => silent.close());
  const hang = kubeconfig('hang.yaml', { contexts: [{ name: 'h', cluster: 'ch' }], current: 'h', server: `http://127.0.0.1:${silent.address().port}` });
  const started = Date.now();
  await t.rejects(checkApiServer(loadKubeAccess({ kubeconfig: hang, env: {} }), 300), /cannot reach the Kubernetes API server at .*: timed out/);
  t.ok(Date.now() - started < 2000);
});

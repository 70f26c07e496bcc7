// Bad inputs against the real local cluster give one-line errors and leave nothing behind:
// unknown context, unknown namespace, unknown workload, unknown container, an unpullable image
// (a registry on a closed loopback port) within a short --timeout, a never-pull image, an
// unreachable API server, and a failing init container.
import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCluster, ensureNamespace, kinjectLeftovers, kubectlOk, waitFor } from '../helpers/cluster.js';
import { connectKube, loadKubeAccess, startProxyPod } from '../../dist/src/kube/index.js';

const NS = 'kinject-e2e-kube';

function oneLine(t, err, re) {
  t.equal(err?.name, 'KinjectError', 'a KinjectError');
  t.match(err?.message, re);
  t.notMatch(err?.message ?? '', /\n/, 'one line');
}

async function failure(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  return undefined;
}

t.test('bad inputs', async (t) => {
  const { kubeconfig } = await ensureCluster();
  await ensureNamespace(kubeconfig, NS);

  oneLine(t, await failure(connectKube({ kubeconfig, context: 'nope' })), /^context "nope" not found in .*; available contexts: kinject; check --context$/);
  oneLine(t, await failure(connectKube({ kubeconfig, namespace: 'no-such-ns' })), /^namespace "no-such-ns" not found; check -n\/--namespace/);

  // an API server address with nothing listening (loopback)
  const dir = mkdtempSync(join(tmpdir(), 'kinject-e2e-'));
  const dead = join(dir, 'dead.kubeconfig');
  writeFileSync(dead, readFileSync(kubeconfig, 'utf8').replace(/server: .*/, 'server: https://127.0.0.1:1'));
  oneLine(
    t,
    await failure(connectKube({ kubeconfig: dead, timeoutMs: 2000 })),
    /^cannot reach the Kubernetes API server at https:\/\/127\.0\.0\.1:1: ECONNREFUSED.*; check --context\/--kubeconfig$/,
  );

  const access = await connectKube({ kubeconfig, namespace: 'kinject-demo' });
  t.teardown(() => access.client.close());
  // kinject-demo is shared with other tests: "nothing created" = no creation was even started
  const created = [];
  const progress = (m) => created.push(m);
  oneLine(
    t,
    await failure(startProxyPod({ access, target: 'deployment/nope' }, progress)),
    /^deployment\/nope not found in namespace "kinject-demo"; check --target/,
  );
  oneLine(t, await failure(startProxyPod({ access, target: 'sts/nope' }, progress)), /^statefulset\/nope not found/);
  oneLine(
    t,
    await failure(startProxyPod({ access, target: 'deployment/web', container: 'nope' }, progress)),
    /^container "nope" not found in deployment\/web; available containers: web; check --container$/,
  );
  oneLine(t, await failure(startProxyPod({ access, target: 'deployment/web', container: 'seed' }, progress)), /"seed" is an init container/);
  oneLine(t, await failure(startProxyPod({ access, target: 'cronjob/x' }, progress)), /unknown workload kind "cronjob"/);
  t.same(created, [], 'nothing created for bad targets');

  // creation in a namespace that does not exist (namespace check skipped, as with a namespace-scoped Role)
  const ghost = { ...loadKubeAccess({ kubeconfig, namespace: 'no-such-ns' }) };
  oneLine(t, await failure(startProxyPod({ access: ghost })), /^namespace "no-such-ns" not found/);
  ghost.client.close();
});

t.test('image that cannot be pulled: fails at the timeout with the reason, leaves nothing', async (t) => {
  const { kubeconfig } = await ensureCluster();
  const access = await connectKube({ kubeconfig, namespace: NS });
  t.teardown(() => access.client.close());
  const lines = [];
  const t0 = Date.now();
  const err = await failure(startProxyPod({ access, image: '127.0.0.1:1/kinject/nope:1', timeoutSeconds: 12 }, (m) => lines.push(m)));
  const took = Date.now() - t0;
  oneLine(
    t,
    err,
    /^proxy pod kinject-\S+ in kinject-e2e-kube did not start within 12 s: .*(ErrImagePull|ImagePullBackOff).*127\.0\.0\.1:1\/kinject\/nope:1.*; raise --timeout or fix the cause$/,
  );
  t.ok(took >= 11_000 && took < 25_000, `failed at the timeout (${took} ms)`);
  t.ok(
    lines.some((l) => /^waiting: .*(ErrImagePull|ImagePullBackOff)/.test(l)),
    'the stall was reported as progress',
  );
  t.comment(lines.join('\n'));
  t.same(await kinjectLeftovers(kubeconfig, NS).then((l) => l.filter((x) => !x.startsWith('pod/'))), [], 'no Job or Secret left');
});

t.test('image never pulled: fails at once', async (t) => {
  const { kubeconfig } = await ensureCluster();
  const access = await connectKube({ kubeconfig, namespace: NS });
  t.teardown(() => access.client.close());
  const t0 = Date.now();
  const err = await failure(startProxyPod({ access, image: 'kinject.local/not-there:1', imagePullPolicy: 'Never', timeoutSeconds: 60 }));
  oneLine(t, err, /cannot start: container "proxy": ErrImageNeverPull for image "kinject\.local\/not-there:1"/);
  t.same(await kinjectLeftovers(kubeconfig, NS).then((l) => l.filter((x) => x.startsWith('job'))), [], 'the Job was deleted');
  t.ok(Date.now() - t0 < 30_000, 'did not wait for the timeout');
});

t.test('failing init container in the template: fails with its exit', async (t) => {
  const { kubeconfig } = await ensureCluster();
  await kubectlOk(kubeconfig, ['-n', NS, 'apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'broken-init' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'broken-init' } },
        template: {
          metadata: { labels: { app: 'broken-init' } },
          spec: {
            initContainers: [{ name: 'prep', image: 'kinject.local/toolbox:1', imagePullPolicy: 'Never', command: ['/bin/sh', '-c', 'echo no >&2; exit 3'] }],
            containers: [{ name: 'app', image: 'kinject.local/toolbox:1', imagePullPolicy: 'Never', command: ['sleep', '1000'] }],
          },
        },
      },
    }),
  });
  const access = await connectKube({ kubeconfig, namespace: NS });
  t.teardown(() => access.client.close());
  const err = await failure(startProxyPod({ access, target: 'deployment/broken-init', timeoutSeconds: 60 }));
  oneLine(t, err, /cannot start: (init container "prep" exited with code 3|the proxy pod failed)/);
});

async function applyDeployment(kubeconfig, name, podSpec) {
  await kubectlOk(kubeconfig, ['-n', NS, 'apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name },
      spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: podSpec } },
    }),
  });
}

t.test('stalls the cluster explains: unschedulable, missing ConfigMap key', async (t) => {
  const { kubeconfig } = await ensureCluster();
  const app = { name: 'app', image: 'kinject.local/toolbox:1', imagePullPolicy: 'Never', command: ['sleep', '1000'] };
  await applyDeployment(kubeconfig, 'unschedulable', { nodeSelector: { 'kinject.dev/no-such-node': 'x' }, containers: [app] });
  await applyDeployment(kubeconfig, 'missing-key', {
    containers: [{ ...app, env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'no-such-config', key: 'k' } } }] }],
  });
  const access = await connectKube({ kubeconfig, namespace: NS });
  t.teardown(() => access.client.close());

  let lines = [];
  let err = await failure(startProxyPod({ access, target: 'deployment/unschedulable', timeoutSeconds: 6 }, (m) => lines.push(m)));
  oneLine(t, err, /did not start within 6 s: Unschedulable: 0\/1 nodes are available: .*node affinity\/selector.*; raise --timeout or fix the cause$/);
  t.ok(
    lines.some((l) => l.startsWith('waiting: Unschedulable')),
    'reported while waiting',
  );

  lines = [];
  err = await failure(startProxyPod({ access, target: 'deployment/missing-key', timeoutSeconds: 6 }, (m) => lines.push(m)));
  oneLine(t, err, /did not start within 6 s: container "app": CreateContainerConfigError: configmap "no-such-config" not found/);
  await waitFor(async () => (await kinjectLeftovers(kubeconfig, NS)).filter((x) => !x.startsWith('pod/')).length === 0, {
    timeoutMs: 30_000,
    what: 'no Job/Secret left',
  });
  t.pass('nothing left');
});

t.test('interrupting the start deletes what was created', async (t) => {
  const { kubeconfig } = await ensureCluster();
  const access = await connectKube({ kubeconfig, namespace: NS });
  t.teardown(() => access.client.close());
  const ac = new AbortController();
  let id;
  const err = await failure(
    startProxyPod({ access, signal: ac.signal, image: '127.0.0.1:1/kinject/nope:1', timeoutSeconds: 60 }, (m) => {
      const m2 = /^creating proxy pod kinject-(\S+)/.exec(m);
      if (m2) id = m2[1];
      if (/starting container|waiting/.test(m)) ac.abort();
    }),
  );
  oneLine(t, err, /^interrupted while starting the proxy pod$/);
  t.ok(id, 'a session was being created');
  await waitFor(async () => (await kinjectLeftovers(kubeconfig, NS, id)).length === 0, { timeoutMs: 60_000, what: 'interrupted session gone' });
  t.pass('nothing left');
});

t.test('quota forbids the pod: fails at once with the quota message', async (t) => {
  const { kubeconfig } = await ensureCluster();
  const ns = 'kinject-e2e-quota';
  await ensureNamespace(kubeconfig, ns);
  await kubectlOk(kubeconfig, ['-n', ns, 'apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'no-pods' }, spec: { hard: { pods: '0' } } }),
  });
  const access = await connectKube({ kubeconfig, namespace: ns });
  t.teardown(() => access.client.close());
  const t0 = Date.now();
  const err = await failure(startProxyPod({ access, timeoutSeconds: 60 }));
  oneLine(
    t,
    err,
    /cannot start: ResourceQuota "no-pods" has no room for the proxy pod \(requested: pods=1, used: pods=0, limited: pods=0\); .*ask for a larger quota/,
  );
  t.ok(Date.now() - t0 < 30_000, `failed without waiting for the timeout (${Date.now() - t0} ms)`);
  await waitFor(async () => (await kinjectLeftovers(kubeconfig, ns)).length === 0, { timeoutMs: 30_000, what: 'nothing left' });
  t.pass('nothing left');
});

t.test('the targetless pod passes the "restricted" Pod Security Standard', async (t) => {
  const { kubeconfig } = await ensureCluster();
  const ns = 'kinject-e2e-restricted';
  await ensureNamespace(kubeconfig, ns);
  await kubectlOk(kubeconfig, ['label', '--overwrite', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted']);
  const access = await connectKube({ kubeconfig, namespace: ns });
  t.teardown(() => access.client.close());
  const session = await startProxyPod({ access, timeoutSeconds: 60 });
  t.teardown(() => session.close());
  t.match(session.podName, /^kinject-/, 'started under enforce=restricted');
  await session.close();
});

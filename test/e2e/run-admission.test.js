// Namespaces that demand things of every pod: a ResourceQuota on requests AND limits, a
// LimitRange, and the Pod Security level "restricted" (enforced). A targetless run and --target
// of a compliant workload work there; --target of a workload whose init container is not
// compliant gets one line naming the field; a quota with no room gets one line naming the quota.
// Each case runs in namespaces this file makes and deletes; nothing of a session is left.
import t from 'tap';
import { ensureCluster, kinjectLeftovers, kubectlOk, ownNamespace } from '../helpers/cluster.js';
import { kinject, sessionOf } from '../helpers/kinject-cli.js';

const { kubeconfig } = await ensureCluster();

/** A namespace with the PSA label, a LimitRange and a ResourceQuota demanding requests and limits. */
async function strictNamespace(t, what, quotaHard) {
  const ns = await ownNamespace(t, kubeconfig, what);
  await kubectlOk(kubeconfig, ['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/enforce-version=latest']);
  await kubectlOk(kubeconfig, ['apply', '-n', ns, '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        // (min only: a max would also default every container's limits to it, and then the
        // quota would no longer demand that the pod sets them)
        { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'bounds' }, spec: { limits: [{ type: 'Container', min: { cpu: '5m', memory: '16Mi' } }] } },
        { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'tight' }, spec: { hard: quotaHard } },
      ],
    }),
  });
  return ns;
}

const restricted = {
  runAsNonRoot: true,
  runAsUser: 1000,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};
const small = { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '50m', memory: '32Mi' } };
/** A Deployment (0 replicas: kinject copies its template) whose init container is `init`. */
function deployment(name, init) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          initContainers: [
            {
              name: 'seed',
              image: 'kinject.local/toolbox:1',
              imagePullPolicy: 'Never',
              command: ['sh', '-c', 'echo seeded > /data/seed.txt'],
              volumeMounts: [{ name: 'data', mountPath: '/data' }],
              ...init,
            },
          ],
          containers: [
            {
              name: 'app',
              image: 'kinject.local/toolbox:1',
              imagePullPolicy: 'Never',
              command: ['sleep', 'infinity'],
              env: [{ name: 'APP_MODE', value: name }],
              resources: small,
              securityContext: restricted,
              volumeMounts: [{ name: 'data', mountPath: '/data' }],
            },
          ],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      },
    },
  };
}

// a TCP connection from the local process to the API server's Service, through the proxy pod
const connect = [
  'node',
  '-e',
  "require('net').connect(443, 'kubernetes.default.svc').on('connect', () => { console.log('connected', process.env.APP_MODE ?? 'targetless'); process.exit(0); }).on('error', (e) => { console.log(e.message); process.exit(3); })",
];
const quota = { 'requests.cpu': '1', 'requests.memory': '512Mi', 'limits.cpu': '2', 'limits.memory': '512Mi', pods: '5' };

t.test('quota + LimitRange + restricted: targetless and --target of a compliant workload work; a non-compliant one gets one line', async (t) => {
  const ns = await strictNamespace(t, 'strict', quota);
  await kubectlOk(kubeconfig, ['apply', '-n', ns, '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        deployment('good', { resources: small, securityContext: restricted }),
        deployment('bad', { resources: small }), // no securityContext: not "restricted"
      ],
    }),
  });

  const r = await kinject(['run', '-n', ns, '--', ...connect], { kubeconfig });
  t.equal(r.code, 0, `targetless run admitted\n${r.stderr}`);
  t.equal(r.stdout.trim(), 'connected targetless');
  t.same(await kinjectLeftovers(kubeconfig, ns, sessionOf(r.stderr)), []);

  const good = await kinject(['run', '-n', ns, '--target', 'deployment/good', '--no-mount', '--', ...connect], { kubeconfig });
  t.equal(good.code, 0, `--target of a compliant workload admitted\n${good.stderr}`);
  t.equal(good.stdout.trim(), 'connected good', "with the workload's env");
  t.same(await kinjectLeftovers(kubeconfig, ns, sessionOf(good.stderr)), []);

  const bad = await kinject(['run', '-n', ns, '--target', 'deployment/bad', '--no-mount', '--', ...connect], { kubeconfig });
  t.equal(bad.code, 1, 'refused');
  const lines = bad.stderr.split('\n').filter((l) => l.startsWith('kinject: ') && !/^kinject: (creating|waiting|pod ready)/.test(l));
  t.equal(lines.length, 1, `one error line:\n${bad.stderr}`);
  t.match(
    lines[0],
    /Pod Security level "restricted:latest" refuses the proxy pod: .*container "seed" must set securityContext\.allowPrivilegeEscalation=false.*set them there/,
    'names the level, the container and the field',
  );
  t.equal(bad.stdout, '', 'the command never ran');
  t.same(await kinjectLeftovers(kubeconfig, ns, sessionOf(bad.stderr)), [], 'nothing left');
});

t.test('a quota without room for the proxy pod: one line naming the quota', async (t) => {
  const ns = await strictNamespace(t, 'quota', { ...quota, 'limits.memory': '64Mi' });
  const r = await kinject(['run', '-n', ns, '--', ...connect], { kubeconfig });
  t.equal(r.code, 1);
  t.match(
    r.stderr,
    /^kinject: proxy pod \S+ in \S+ cannot start: ResourceQuota "tight" has no room for the proxy pod \(requested: limits\.memory=128Mi, used: limits\.memory=0, limited: limits\.memory=64Mi\); it needs .*$/m,
  );
  t.equal(r.stdout, '');
  t.same(await kinjectLeftovers(kubeconfig, ns, sessionOf(r.stderr)), [], 'nothing left');
});

// --target deployment/web on the real local cluster: the proxy pod is a copy of web's pod template
// (env literal / ConfigMap / Secret / downward API, the configMap volume, the emptyDir seeded by
// the init container), the workload itself is untouched, and the workload env read from the
// proxy pod matches `kubectl exec deploy/web -- env` apart from per-pod values.
import t from 'tap';
import { ensureCluster, kinjectLeftovers, kubectl, kubectlOk, waitFor } from '../helpers/cluster.js';
import { connectKube, startProxyPod, fetchPodEnv, workloadEnv } from '../../dist/src/kube/index.js';
import { toDotenv } from '../../dist/src/env-file/index.js';
import dotenv from 'dotenv';
import { PodTunnel } from '../../dist/src/tunnel/index.js';

const NS = 'kinject-demo';
// values that differ per pod by nature (the proxy pod is its own pod)
const PER_POD = ['HOSTNAME', 'POD_NAME', 'POD_IP', 'PATH', 'HOME', 'TERM'];

function parseEnvLines(text) {
  // `env` output; a multi-line value continues on lines that do not start with NAME=
  const env = {};
  let last;
  for (const line of text.replace(/\n$/, '').split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_.-]*)=(.*)$/.exec(line);
    if (m) {
      env[m[1]] = m[2];
      last = m[1];
    } else if (last !== undefined) {
      env[last] += '\n' + line;
    }
  }
  return env;
}

function withoutPerPod(env) {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !PER_POD.includes(k)));
}

t.test('target deployment/web', async (t) => {
  const { kubeconfig } = await ensureCluster();
  await waitFor(async () => /\b1\b/.test(await kubectlOk(kubeconfig, ['-n', NS, 'get', 'deploy/web', '-o', 'jsonpath={.status.readyReplicas}'])), {
    timeoutMs: 120_000,
    what: 'deployment web ready',
  });
  const before = await kubectlOk(kubeconfig, [
    '-n',
    NS,
    'get',
    'deploy/web',
    '-o',
    'jsonpath={.metadata.generation}/{.spec.template.spec.containers[0].image}',
  ]);

  const access = await connectKube({ kubeconfig, namespace: NS });
  t.teardown(() => access.client.close());
  const lines = [];
  const session = await startProxyPod({ access, target: 'deployment/web', timeoutSeconds: 90 }, (m) => lines.push(m));
  t.teardown(() => session.close());
  t.match(lines[0], /^creating proxy pod kinject-\S+ in kinject-demo from deployment\/web$/);
  t.equal(session.target.container.name, 'web');

  const pod = JSON.parse(await kubectlOk(kubeconfig, ['-n', NS, 'get', 'pod', session.podName, '-o', 'json']));
  t.same(
    pod.spec.containers.map((c) => c.name),
    ['web'],
  );
  t.same(
    pod.spec.initContainers.map((c) => c.name),
    ['seed'],
  );
  t.notOk(pod.metadata.labels.app, 'no workload labels: the web Service does not select the proxy pod');
  const eps = await kubectlOk(kubeconfig, [
    '-n',
    NS,
    'get',
    'endpointslices',
    '-l',
    'kubernetes.io/service-name=web',
    '-o',
    'jsonpath={.items[*].endpoints[*].targetRef.name}',
  ]);
  t.notMatch(eps, session.podName, 'not an endpoint of the web Service');

  // files: the configMap volume and the emptyDir seeded by the init container
  const files = await kubectlOk(kubeconfig, [
    '-n',
    NS,
    'exec',
    session.podName,
    '-c',
    'web',
    '--',
    'node',
    '-e',
    "const fs=require('fs');console.log(JSON.stringify({mode:fs.readFileSync('/etc/web/APP_MODE','utf8'),seed:fs.readFileSync('/data/seed.txt','utf8'),kinject:fs.readdirSync('/kinject').filter(f=>!f.startsWith('.')).sort()}))",
  ]);
  const f = JSON.parse(files);
  t.equal(f.mode, 'demo');
  t.match(f.seed, /^seeded by init container at /);
  t.same(f.kinject, ['proxy-pod.js', 'token']);

  // the env the workload sees vs the env of the proxy pod's process
  const webEnv = parseEnvLines(await kubectlOk(kubeconfig, ['-n', NS, 'exec', 'deploy/web', '-c', 'web', '--', 'env']));
  const proxyProcEnv = JSON.parse(
    await kubectlOk(kubeconfig, ['-n', NS, 'exec', session.podName, '-c', 'web', '--', 'node', '-e', 'console.log(JSON.stringify(process.env))']),
  );
  const expected = withoutPerPod(webEnv);
  t.same(withoutPerPod(workloadEnv(proxyProcEnv, session.target.container)), expected, 'proxy pod env = workload env (kubectl exec)');
  t.equal(expected.MULTI_LINE, 'line one\nline two with spaces\nline three = with equals\n', 'multi-line value from the ConfigMap');
  t.equal(expected.API_KEY, 'kinject-demo-api-key-7f3a9c', 'envFrom Secret');
  t.equal(expected.POD_NAMESPACE, 'kinject-demo', 'downward API');
  t.equal(workloadEnv(proxyProcEnv, session.target.container).POD_NAME, session.podName, "per-pod downward values are the proxy pod's");

  // the same through the tunnel with SOCKS command 0xF2
  const pool = new PodTunnel({ kc: access.kc, namespace: NS, pod: session.podName, port: session.port, token: session.token });
  t.teardown(() => pool.close());
  await pool.ready(30_000);
  // the pod server kinject ships has the env command: losing it fails here
  const tunnelEnv = await fetchPodEnv(await pool.open());
  const wl = workloadEnv(tunnelEnv, session.target.container);
  t.same(withoutPerPod(wl), expected, 'fetchPodEnv over the tunnel = kubectl exec env');
  t.same(dotenv.parse(toDotenv(wl).text), wl, 'npm dotenv reads the real env back');

  await pool.close();
  await session.close();
  const after = await kubectlOk(kubeconfig, ['-n', NS, 'get', 'deploy/web', '-o', 'jsonpath={.metadata.generation}/{.spec.template.spec.containers[0].image}']);
  t.equal(after, before, 'the workload was not modified');
  await waitFor(async () => (await kinjectLeftovers(kubeconfig, NS, session.id)).length === 0, { timeoutMs: 60_000, what: 'session objects gone' });
  t.pass('nothing left');
  const r = await kubectl(kubeconfig, ['-n', NS, 'get', 'secret', session.secretName]);
  t.not(r.code, 0, 'Secret deleted');
});

t.test('target pod/NAME and replicaset', async (t) => {
  const { kubeconfig } = await ensureCluster();
  const access = await connectKube({ kubeconfig, namespace: NS });
  t.teardown(() => access.client.close());
  const podName = (await kubectlOk(kubeconfig, ['-n', NS, 'get', 'pods', '-l', 'app=hello', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
  const session = await startProxyPod({ access, target: `pod/${podName}`, timeoutSeconds: 90 });
  t.teardown(() => session.close());
  t.equal(session.target.display, `pod/${podName}`);
  const pod = JSON.parse(await kubectlOk(kubeconfig, ['-n', NS, 'get', 'pod', session.podName, '-o', 'json']));
  t.equal(pod.spec.containers[0].name, 'hello');
  t.equal(pod.status.phase, 'Running');
  await session.close();
  await waitFor(async () => (await kinjectLeftovers(kubeconfig, NS, session.id)).length === 0, { timeoutMs: 60_000, what: 'session objects gone' });
  t.pass('pod/NAME session cleaned up');

  const rsName = (await kubectlOk(kubeconfig, ['-n', NS, 'get', 'rs', '-l', 'app=hello', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
  const rs = await startProxyPod({ access, target: `rs/${rsName}`, timeoutSeconds: 90 });
  t.teardown(() => rs.close());
  t.equal(rs.target.display, `replicaset/${rsName}`);
  t.equal(rs.target.container.name, 'hello');
  await rs.close();
  await waitFor(async () => (await kinjectLeftovers(kubeconfig, NS, rs.id)).length === 0, { timeoutMs: 60_000, what: 'session objects gone' });
  t.pass('replicaset session cleaned up');
});

// kinject with exactly rbac/kinject-role.yaml: a service account bound to that Role (and nothing
// else) runs a targetless session through the tunnel, a --target session, close() and cleanup;
// outside its namespace it gets a one-line "forbidden" error pointing at the Role file.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCluster, ensureNamespace, kinjectLeftovers, kubectlOk, repoRoot, waitFor } from '../helpers/cluster.js';
import { connectKube, startProxyPod, cleanup, loadKubeAccess } from '../../dist/src/kube/index.js';
import { PodTunnel } from '../../dist/src/tunnel/index.js';
import { clientRequest, CMD } from '../../dist/protocol/socks5/index.js';

const NS = 'kinject-e2e-rbac';

async function saKubeconfig(adminKubeconfig) {
  await kubectlOk(adminKubeconfig, ['-n', NS, 'apply', '-f', join(repoRoot, 'rbac/kinject-role.yaml')]);
  const token = (await kubectlOk(adminKubeconfig, ['-n', NS, 'create', 'token', 'kinject', '--duration=1h'])).trim();
  const admin = loadKubeAccess({ kubeconfig: adminKubeconfig });
  const cluster = admin.kc.getCurrentCluster();
  admin.client.close();
  const file = join(mkdtempSync(join(tmpdir(), 'kinject-rbac-')), 'sa.kubeconfig');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: ${cluster.name}`,
      '  cluster:',
      `    server: ${cluster.server}`,
      `    certificate-authority: ${cluster.caFile}`,
      'users:',
      '- name: kinject-sa',
      '  user:',
      `    token: ${token}`,
      'contexts:',
      '- name: kinject-sa',
      '  context:',
      `    cluster: ${cluster.name}`,
      '    user: kinject-sa',
      `    namespace: ${NS}`,
      'current-context: kinject-sa',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return file;
}

t.test('a service account bound to exactly the kinject Role', async (t) => {
  const { kubeconfig: admin } = await ensureCluster();
  await ensureNamespace(admin, NS);
  await kubectlOk(admin, ['-n', NS, 'apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'app' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'app' } },
        template: {
          metadata: { labels: { app: 'app' } },
          spec: {
            containers: [
              {
                name: 'app',
                image: 'kinject.local/toolbox:1',
                imagePullPolicy: 'Never',
                env: [{ name: 'FROM_TEMPLATE', value: 'yes' }],
                command: ['sleep', '3600'],
              },
            ],
          },
        },
      },
    }),
  });
  const sa = await saKubeconfig(admin);
  const can = await kubectlOk(admin, ['auth', 'can-i', '--list', '-n', NS, `--as=system:serviceaccount:${NS}:kinject`]);
  t.comment(can);

  const access = await connectKube({ kubeconfig: sa });
  t.teardown(() => access.client.close());
  t.equal(access.namespace, NS, 'namespace from the context; namespace check skipped without get on namespaces');
  await cleanup({ access }); // leftovers of an earlier failed run

  // targetless, through the tunnel
  const session = await startProxyPod({ access, timeoutSeconds: 90 });
  t.teardown(() => session.close());
  t.equal(session.image, 'kinject.local/node:20', 'local image detected from the cluster name');
  const pool = new PodTunnel({ kc: access.kc, namespace: NS, pod: session.podName, port: session.port, token: session.token });
  t.teardown(() => pool.close());
  await pool.ready(30_000);
  const s = await pool.open();
  const reply = await clientRequest(s, CMD.CONNECT, { type: 'domain', host: 'hello.kinject-demo', port: 80 }, { timeoutMs: 10_000 });
  t.equal(reply.reply, 0, 'CONNECT through a port-forward opened with the Role');
  s.write('GET / HTTP/1.0\r\n\r\n');
  const chunks = [];
  for await (const c of s) chunks.push(c);
  t.match(Buffer.concat(chunks).toString(), /hello from hello-/);
  await pool.close();
  await session.close();
  await waitFor(async () => (await kinjectLeftovers(admin, NS, session.id)).length === 0, { timeoutMs: 60_000, what: 'session gone' });
  t.pass('close() with the Role leaves nothing');

  // --target with the Role
  const targeted = await startProxyPod({ access, target: 'deploy/app', timeoutSeconds: 90 });
  t.teardown(() => targeted.close());
  const env = await kubectlOk(admin, ['-n', NS, 'get', 'pod', targeted.podName, '-o', 'jsonpath={.spec.containers[0].env}']);
  t.match(env, /FROM_TEMPLATE/);

  // cleanup with the Role (no list on secrets: deleted by name); the session is live (its Lease
  // is renewed) until the clock is past its grace
  t.same(await cleanup({ access }), [], 'a live session is kept');
  const removed = await cleanup({ access, now: new Date(Date.now() + 120_000) });
  t.same(removed.map((r) => `${r.kind}/${r.name}`).sort(), [`Job/${targeted.jobName}`, `Secret/${targeted.secretName}`]);
  await targeted.close();
  await waitFor(async () => (await kinjectLeftovers(admin, NS)).length === 0, { timeoutMs: 60_000, what: 'cleanup done' });
  t.pass('cleanup with the Role leaves nothing');

  // outside the Role's namespace: forbidden, one line, naming the Role file
  const elsewhere = loadKubeAccess({ kubeconfig: sa, namespace: 'kinject-demo' });
  t.teardown(() => elsewhere.client.close());
  let err;
  try {
    await startProxyPod({ access: elsewhere, timeoutSeconds: 10 });
  } catch (e) {
    err = e;
  }
  t.match(err?.message, /^forbidden: cannot create jobs\.batch in namespace "kinject-demo" \(.*\); grant the permissions in rbac\/kinject-role\.yaml$/);
  err = undefined;
  try {
    await startProxyPod({ access: elsewhere, target: 'deployment/web', timeoutSeconds: 10 });
  } catch (e) {
    err = e;
  }
  t.match(err?.message, /^forbidden: cannot get deployments\.apps in namespace "kinject-demo" .*rbac\/kinject-role\.yaml$/);
});

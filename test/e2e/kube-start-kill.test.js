// A client SIGKILLed the moment its Job exists (before its Lease and Secret, or between them) on
// the real local cluster: nothing of the session may be left a minute later, with nobody acting
// (the chaos suite's kills once left a suspended Job for good from exactly this window). The
// parent watches the namespace every 20 ms and kills the client as soon as the Job appears.
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ensureCluster, kinjectLeftovers, kubectlOk, ownNamespace } from '../helpers/cluster.js';
import { connectKube } from '../../dist/src/kube/index.js';

const CHILD = `
import { connectKube, startProxyPod } from ${JSON.stringify(new URL('../../dist/src/kube/index.js', import.meta.url).href)};
const access = await connectKube({ kubeconfig: process.argv[1], namespace: process.argv[2] });
await startProxyPod({ access, timeoutSeconds: 90 });
setInterval(() => {}, 1000);
`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

t.test('SIGKILL right after the Job is created: everything is gone within 60 s by itself', { timeout: 180_000 }, async (t) => {
  const { kubeconfig } = await ensureCluster();
  const ns = await ownNamespace(t, kubeconfig, 'startkill');
  const access = await connectKube({ kubeconfig, namespace: ns });
  t.teardown(() => access.client.close());

  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, kubeconfig, ns], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => child.exitCode === null && child.kill('SIGKILL'));
  let job;
  const deadline = Date.now() + 60_000;
  while (!job && Date.now() < deadline && child.exitCode === null) {
    const list = await access.client.get(`/apis/batch/v1/namespaces/${ns}/jobs`);
    job = list.items?.find((j) => j.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'kinject');
    if (!job) await sleep(20);
  }
  child.kill('SIGKILL');
  await once(child, 'exit').catch(() => {});
  t.ok(job, 'the client created its Job and was killed');
  if (!job) return;
  const id = job.metadata.labels['kinject.dev/session'];
  const killedAt = Date.now();
  const secrets = await kubectlOk(kubeconfig, ['-n', ns, 'get', 'secrets', '-l', `kinject.dev/session=${id}`, '-o', 'name']);
  t.comment(`at the kill: Secret ${secrets.trim() ? 'already made' : 'not made yet'}; Job deadline ${job.spec.activeDeadlineSeconds} s`);
  t.ok(job.spec.activeDeadlineSeconds <= 60, `the Job is created with a deadline a kill cannot outlive (${job.spec.activeDeadlineSeconds} s)`);
  t.notOk(job.spec.suspend, 'not suspended (a suspended Job has no running deadline)');

  let left = await kinjectLeftovers(kubeconfig, ns, id);
  while (left.length && Date.now() - killedAt < 75_000) {
    await sleep(2000);
    left = await kinjectLeftovers(kubeconfig, ns, id);
  }
  const goneMs = Date.now() - killedAt;
  t.same(left, [], `nothing left (${(goneMs / 1000).toFixed(1)} s after the kill)`);
  t.ok(goneMs <= 62_000, `gone within 60 s of the kill (${(goneMs / 1000).toFixed(1)} s)`);
  const leases = await kubectlOk(kubeconfig, ['-n', ns, 'get', 'leases', '-o', 'name']);
  t.equal(leases.trim(), '', 'no Lease left');
});

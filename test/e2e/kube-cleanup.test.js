// kinject cleanup on the real local cluster: a session whose kinject process was killed (SIGKILL,
// no close()), a suspended Job as an older kinject left it (killed between create and unsuspend), and a stray labelled
// Secret are all removed once the grace has passed (the clock is moved forward), and the list
// of what was removed is returned. Own namespace, so no other session is touched.
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ensureCluster, ensureNamespace, kinjectLeftovers, waitFor } from '../helpers/cluster.js';
import { connectKube, cleanup, buildProxyJob, newSessionId, newToken } from '../../dist/src/kube/index.js';

const NS = 'kinject-e2e-cleanup';

const CHILD = `
import { connectKube, startProxyPod } from ${JSON.stringify(new URL('../../dist/src/kube/index.js', import.meta.url).href)};
const access = await connectKube({ kubeconfig: process.argv[1], namespace: process.argv[2] });
const s = await startProxyPod({ access, timeoutSeconds: 90 });
process.stdout.write(JSON.stringify({ id: s.id, pod: s.podName }) + '\\n');
setInterval(() => {}, 1000);
`;

t.test('cleanup after a vanished client', async (t) => {
  const { kubeconfig } = await ensureCluster();
  await ensureNamespace(kubeconfig, NS);
  const access = await connectKube({ kubeconfig, namespace: NS });
  t.teardown(() => access.client.close());
  // start clean
  await cleanup({ access });

  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, kubeconfig, NS], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.exitCode === null && child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const info = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not start a session: ${err}`)), 100_000);
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(JSON.parse(out));
      }
    });
    child.on('exit', (code) => reject(new Error(`child exited ${code}: ${err}`)));
  });
  child.kill('SIGKILL');
  await once(child, 'exit');
  t.ok((await kinjectLeftovers(kubeconfig, NS, info.id)).length >= 3, 'the session outlives its killed client');

  // a suspended Job as kinject before 2026-12-03 left it (killed between create and unsuspend;
  // kinject now makes a Job whose short deadline ends it: kube-start-kill.test.js) and a stray labelled Secret
  const orphanId = newSessionId();
  await access.client.post(
    `/apis/batch/v1/namespaces/${NS}/jobs`,
    suspended(
      buildProxyJob({
        id: orphanId,
        namespace: NS,
        image: 'kinject.local/node:20',
        token: newToken(),
        script: 'x',
        version: 'test',
        user: 'e2e@test',
        startedAt: new Date(),
      }),
    ),
  );
  const strayId = newSessionId();
  await access.client.post(`/api/v1/namespaces/${NS}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `kinject-${strayId}`, labels: { 'app.kubernetes.io/managed-by': 'kinject', 'kinject.dev/session': strayId } },
    data: { token: Buffer.from('x').toString('base64') },
  });

  // within the grace the killed session (its Lease) and the new Job (being started) count as live;
  // the stray Secret (no Job, no Lease) does not
  const first = await cleanup({ access });
  t.same(
    first.map((r) => `${r.kind}/${r.name}`),
    [`Secret/kinject-${strayId}`],
    'removed at once: only the stray Secret',
  );
  // past the grace (30 s): the killed session's Lease is stale, the Job without a Lease has no pod
  const removed = await cleanup({ access, now: new Date(Date.now() + 120_000) });
  const names = removed.map((r) => `${r.kind}/${r.name}`).sort();
  t.same(
    names,
    [`Job/kinject-${info.id}`, `Job/kinject-${orphanId}`, `Secret/kinject-${info.id}`].sort(),
    'removed past the grace: both Jobs and the session Secret',
  );
  t.ok(removed.every((r) => r.namespace === NS));
  await waitFor(async () => (await kinjectLeftovers(kubeconfig, NS)).length === 0, { timeoutMs: 60_000, what: 'everything gone' });
  t.pass('nothing left after cleanup');
  t.same(await cleanup({ access }), [], 'a second cleanup finds nothing');
});

function suspended(job) {
  return { ...job, spec: { ...job.spec, suspend: true } };
}

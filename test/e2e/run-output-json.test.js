// `kinject run --output json` against the local cluster, in a namespace of its own: every stderr
// line kinject writes is a JSON object, and the milestones come in order: pod-created, pod-ready,
// tunnel-up, child-exit (with the child's status), cleanup-done; the exit status is the child's.
import t from 'tap';
import { ensureCluster, ensureNamespace, kubectl } from '../helpers/cluster.js';
import { kinject } from '../helpers/kinject-cli.js';

const { kubeconfig } = await ensureCluster();
const ns = `kinject-json-${process.pid}`;
await ensureNamespace(kubeconfig, ns);
t.teardown(() => kubectl(kubeconfig, ['delete', 'namespace', ns, '--wait=false']));

t.test('progress as JSON lines', async (t) => {
  const r = await kinject(['run', '-n', ns, '--output', 'json', '--', 'sh', '-c', 'echo out; exit 3'], { kubeconfig, timeoutMs: 240_000 });
  t.equal(r.code, 3, r.stderr);
  t.equal(r.stdout, 'out\n', "stdout is the child's");
  const lines = r.stderr.trimEnd().split('\n');
  const events = lines.map((l) => {
    try {
      return JSON.parse(l);
    } catch {
      t.fail(`not JSON: ${l}`);
      return {};
    }
  });
  for (const e of events) t.match(e, { time: /^\d{4}-\d\d-\d\dT/, event: String, message: String });
  const milestones = events.map((e) => e.event).filter((e) => e !== 'progress');
  t.same(milestones, ['pod-created', 'pod-ready', 'tunnel-up', 'child-exit', 'cleanup-done'], r.stderr);
  const by = Object.fromEntries(events.map((e) => [e.event, e]));
  t.equal(by['pod-created'].namespace, ns);
  t.match(by['pod-created'].pod, /^kinject-[a-z0-9]+$/);
  t.match(by['pod-ready'].pod, new RegExp(`^${by['pod-created'].pod}-`));
  t.equal(by['child-exit'].code, 3);
  const left = await kubectl(kubeconfig, ['-n', ns, 'get', 'job', by['pod-created'].pod, '--ignore-not-found', '-o', 'name']);
  t.equal(left.stdout.trim(), '', 'the Job is gone when cleanup-done is reported');
});

// `kinject run` with a service account bound to exactly rbac/kinject-role.yaml (in the sample
// namespace): targetless and --target runs work; another namespace is refused with one line
// naming the permission and pointing at the Role file.
import t from 'tap';
import { ensureCluster, kinjectLeftovers } from '../helpers/cluster.js';
import { roleKubeconfig } from '../helpers/rbac-kubeconfig.js';
import { kinject, sessionOf } from '../helpers/kinject-cli.js';

const NS = 'kinject-demo';
const { kubeconfig } = await ensureCluster();
const sa = await roleKubeconfig(kubeconfig, NS);

t.test('targetless and --target work with exactly the kinject Role', async (t) => {
  const plain = await kinject(['run', '--kubeconfig', sa, '--', 'curl', '-sS', '-m', '10', 'http://hello/']);
  t.equal(plain.code, 0, plain.stderr);
  t.match(plain.stdout, /^hello from hello-/);
  const target = await kinject(['run', '--kubeconfig', sa, '--target', 'deployment/web', '--', 'sh', '-c', 'echo $API_KEY']);
  t.equal(target.code, 0, target.stderr);
  t.equal(target.stdout.trim(), 'kinject-demo-api-key-7f3a9c');
  // only these two sessions: others may be running in the shared namespace
  const left = await Promise.all([plain, target].map((r) => kinjectLeftovers(kubeconfig, NS, sessionOf(r.stderr))));
  t.same(left.flat(), [], 'both sessions removed their pod, Job and Secret');
});

t.test('outside its namespace: one line naming the permission and the Role file', async (t) => {
  const r = await kinject(['run', '--kubeconfig', sa, '-n', 'default', '--', 'true']);
  t.not(r.code, 0);
  // after the progress line ("creating proxy pod ..."), exactly one error line
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => !/^kinject: creating proxy pod /.test(l));
  t.equal(lines.length, 1, r.stderr);
  t.match(lines[0], /^kinject: .*forbidden.*rbac\/kinject-role\.yaml/);
});

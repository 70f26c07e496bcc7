// `kinject run` with a service account bound to exactly rbac/kinject-role.yaml (in the sample
// namespace): targetless and --target runs work; another namespace is refused with one line
// naming the permission and pointing at the Role file.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCluster, kinjectLeftovers, kubectlOk, repoRoot } from '../helpers/cluster.js';
import { kinject, sessionOf } from '../helpers/kinject-cli.js';

const NS = 'kinject-demo';
const { kubeconfig } = await ensureCluster();

async function limitedKubeconfig() {
  await kubectlOk(kubeconfig, ['-n', NS, 'apply', '-f', join(repoRoot, 'rbac', 'kinject-role.yaml')]);
  const token = (await kubectlOk(kubeconfig, ['-n', NS, 'create', 'token', 'kinject', '--duration=1h'])).trim();
  const server = (await kubectlOk(kubeconfig, ['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}'])).trim();
  // the same cluster name as the admin config: kinject recognises the local cluster (and its
  // kinject.local/node image) by it
  const clusterName = (await kubectlOk(kubeconfig, ['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].name}'])).trim();
  const ca = (await kubectlOk(kubeconfig, ['config', 'view', '--minify', '--raw', '-o', 'jsonpath={.clusters[0].cluster.certificate-authority-data}'])).trim();
  const caLine = ca ? `certificate-authority-data: ${ca}` : `certificate-authority: ${(await kubectlOk(kubeconfig, ['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.certificate-authority}'])).trim()}`;
  const file = join(mkdtempSync(join(tmpdir(), 'kinject-sa-')), 'kubeconfig');
  writeFileSync(file, [
    'apiVersion: v1', 'kind: Config',
    `clusters: [{name: ${clusterName}, cluster: {server: "${server}", ${caLine}}}]`,
    `users: [{name: kinject, user: {token: "${token}"}}]`,
    `contexts: [{name: kinject-sa, context: {cluster: ${clusterName}, user: kinject, namespace: ${NS}}}]`,
    'current-context: kinject-sa', '',
  ].join('\n'), { mode: 0o600 });
  return file;
}

const sa = await limitedKubeconfig();

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
  const lines = r.stderr.trim().split('\n').filter((l) => !/^kinject: creating proxy pod /.test(l));
  t.equal(lines.length, 1, r.stderr);
  t.match(lines[0], /^kinject: .*forbidden.*rbac\/kinject-role\.yaml/);
});

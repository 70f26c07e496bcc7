// A kubeconfig for the service account "kinject" bound to exactly rbac/kinject-role.yaml in one
// namespace (applied there first), with a 1 h token, written to a fresh temporary directory.
// The cluster keeps the admin config's name, so kinject still picks the local cluster's image.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectlOk, repoRoot } from './cluster.js';

export async function roleKubeconfig(adminKubeconfig, namespace) {
  await kubectlOk(adminKubeconfig, ['-n', namespace, 'apply', '-f', join(repoRoot, 'rbac', 'kinject-role.yaml')]);
  const token = (await kubectlOk(adminKubeconfig, ['-n', namespace, 'create', 'token', 'kinject', '--duration=1h'])).trim();
  const view = (path, raw = false) =>
    kubectlOk(adminKubeconfig, ['config', 'view', '--minify', ...(raw ? ['--raw'] : []), '-o', `jsonpath={${path}}`]).then((s) => s.trim());
  const server = await view('.clusters[0].cluster.server');
  const clusterName = await view('.clusters[0].name');
  const caData = await view('.clusters[0].cluster.certificate-authority-data', true);
  const caLine = caData ? `certificate-authority-data: ${caData}` : `certificate-authority: ${await view('.clusters[0].cluster.certificate-authority')}`;
  const file = join(mkdtempSync(join(tmpdir(), 'kinject-role-')), 'kubeconfig');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: ${clusterName}, cluster: {server: "${server}", ${caLine}}}]`,
      `users: [{name: kinject, user: {token: "${token}"}}]`,
      `contexts: [{name: kinject-role, context: {cluster: ${clusterName}, user: kinject, namespace: ${namespace}}}]`,
      'current-context: kinject-role',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return file;
}

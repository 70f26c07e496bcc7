// The proxy pod evicted through the Eviction API (POST pods/<name>/eviction, policy/v1: what a
// drain or the kubelet's node-pressure eviction does to the one pod; the shared node is never
// cordoned or drained) under a running `kinject run --target` with a request loop (0.5 s): failed
// requests, the time from the eviction to the first good request after the failures, the lines
// (one lost, one back) and leftovers after the run.
import { kubectl } from '../lib.js';
import { lossTry, summarize } from './pod-loss.js';

/** evicts pod `name` in ns (kubectl has no evict command: the subresource through --raw) */
export async function evictPod(kc, ns, name) {
  const body = JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: ns } });
  await kubectl(kc, ['create', '--raw', `/api/v1/namespaces/${ns}/pods/${name}/eviction`, '-f', '-'], { input: body });
}

export default async function podEvicted({ kc, ns, full, note }) {
  const rounds = full ? 5 : 1;
  const rows = [];
  for (let i = 0; i < rounds; i++) {
    const row = await lossTry(kc, ns, async ({ id }) => {
      const pod = (await kubectl(kc, ['-n', ns, 'get', 'pods', '-l', `kinject.dev/session=${id}`, '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
      const at = Date.now();
      await evictPod(kc, ns, pod);
      return at;
    });
    const lost = (row.lines ?? []).filter((l) => / is gone /.test(l)).length;
    const back = (row.lines ?? []).filter((l) => /the session is back/.test(l)).length;
    if (!row.error && (lost !== 1 || back !== 1)) row.error = `expected one line lost and one back, got ${lost} and ${back}: ${row.lines.join(' | ')}`;
    if (row.error || row.left.length || row.recoveryMs === undefined) note(`eviction: ${row.error ?? ''} left ${row.left.join(', ')}`);
    rows.push(row);
  }
  return summarize(rows);
}

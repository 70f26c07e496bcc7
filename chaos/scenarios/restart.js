// The API server or the kubelet restarted (cluster/restart-component.sh: down 3 s, then the same
// command line) under a running session with a request loop: failed requests, and the time from
// the component's return (healthy again) to the first good request after the failures.
import { join } from 'node:path';
import { lossTry, summarize } from './pod-loss.js';
import { repoRoot, run } from '../lib.js';

export function restartScenario(component) {
  return async ({ kc, ns, full, note }) => {
    const rows = [];
    for (let i = 0; i < (full ? 2 : 1); i++) {
      const row = await lossTry(
        kc,
        ns,
        async () => {
          const r = await run('bash', [join(repoRoot, 'cluster', 'restart-component.sh'), component, '3'], { timeoutMs: 180_000 });
          const back = Number(/back (\d+)/.exec(r.stdout)?.[1]);
          if (!back) throw new Error(`restart of ${component} failed: ${r.stderr.trim().split('\n').pop()}`);
          return back;
        },
        { waitBack: /./ },
      );
      if (row.error || row.left.length) note(`${component} restart: ${row.error ?? ''} left ${row.left.join(', ')}`);
      rows.push(row);
    }
    const s = summarize(rows);
    s.recoveryMeans = `ms from ${component} healthy again to the first good request after the failed ones`;
    return s;
  };
}

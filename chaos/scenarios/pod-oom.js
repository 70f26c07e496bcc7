// The proxy pod's server OOM-killed by the kernel (a memory hog exec'd into its container raises
// the server's OOM score and goes over the container's 128Mi limit: test/helpers/oom-kill.js; the
// pod ends Failed, its container OOMKilled) under a running `kinject run --target` with a request
// loop (0.5 s): failed requests, the time from the kill (the hog's exec ends with the container)
// to the first good request after the failures, the lines (one lost naming the OOM kill, one
// back, no tunnel line on top) and leftovers after the run.
import { kubectl } from '../lib.js';
import { oomKillProxyPod } from '../../test/helpers/oom-kill.js';
import { lossTry, summarize } from './pod-loss.js';

export default async function podOom({ kc, ns, full, note }) {
  const rounds = full ? 5 : 1;
  const rows = [];
  for (let i = 0; i < rounds; i++) {
    let hog;
    const row = await lossTry(kc, ns, async ({ id }) => {
      const pod = (await kubectl(kc, ['-n', ns, 'get', 'pods', '-l', `kinject.dev/session=${id}`, '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
      hog = await oomKillProxyPod(kc, ns, pod);
      return Date.now(); // the exec ends when the container dies: the server is dead by now
    });
    const lines = row.lines ?? [];
    const lost = lines.filter((l) => / is gone /.test(l)).length;
    const oom = lines.filter((l) => / is gone \(OOM-killed, /.test(l)).length;
    const back = lines.filter((l) => /the session is back/.test(l)).length;
    if (!row.error && (lost !== 1 || back !== 1)) row.error = `expected one line lost and one back, got ${lost} and ${back}: ${lines.join(' | ')}`;
    if (!row.error && lines.some((l) => / was lost /.test(l))) row.error = `a tunnel line on top of the lost one: ${lines.join(' | ')}`;
    if (!row.error && oom !== 1) row.error = `the lost line does not name the OOM kill: ${lines.join(' | ')} (the hog: ${hog?.stdout.trim() ?? '-'})`;
    if (row.error || row.left.length || row.recoveryMs === undefined) note(`OOM kill: ${row.error ?? ''} left ${row.left.join(', ')}`);
    rows.push(row);
  }
  return summarize(rows);
}

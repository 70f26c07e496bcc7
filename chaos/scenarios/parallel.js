// Many sessions at once (full: 20, quick: 3), targetless and --target mixed, each making a number
// of requests (full: 100, quick: 10): failed requests, leftovers, peak RSS of each kinject.
import { clusterLeftovers, failLines, machineLeftovers, mark, okLines, peakRssKb, requestLoop, sessionOf, sleep, startKinject } from '../lib.js';

export default async function parallel({ kc, ns, full, note }) {
  const sessions = full ? 20 : 3;
  const requests = full ? 100 : 10;
  const runs = [];
  for (let i = 0; i < sessions; i++) {
    const m = mark();
    const child = startKinject(kc, ['-n', ns, ...(i % 2 ? ['--target', 'deployment/hello', '--no-mount'] : []), '--timeout', '300'], requestLoop(requests, 200, m));
    runs.push({ child, m, peak: 0 });
  }
  const sampler = setInterval(() => {
    for (const r of runs) {
      const kb = peakRssKb(r.child.pid);
      if (Number.isFinite(kb)) r.peak = Math.max(r.peak, kb); // a process that is gone reads as nothing
    }
  }, 500);
  const ends = await Promise.all(runs.map((r) => Promise.race([r.child.exited, sleep(600_000).then(() => ({ hung: true }))])));
  clearInterval(sampler);
  let failedRequests = 0;
  let failures = 0;
  for (const [i, r] of runs.entries()) {
    if (ends[i].hung) r.child.kill('SIGKILL');
    const fails = failLines(r.child.out).length;
    const oks = okLines(r.child.out).length;
    failedRequests += fails + (requests - fails - oks);
    if (ends[i].code !== 0 || fails || oks !== requests) {
      failures++;
      note(`parallel session ${i}: exit ${ends[i].code}, ${oks}/${requests} ok: ${r.child.err.trim().split('\n').pop()}`);
    }
  }
  const left = [...(await clusterLeftovers(kc, ns)), ...runs.flatMap((r) => machineLeftovers(r.m, sessionOf(r.child.err), r.child.pid))];
  const peaks = runs.map((r) => (r.peak > 0 ? Math.round(r.peak / 1024) : null));
  const measured = peaks.filter((p) => p !== null);
  return {
    tries: sessions,
    failures,
    failedRequests,
    requests: sessions * requests,
    leftovers: left.length,
    recovery: [],
    peakRssMiB: { min: measured.length ? Math.min(...measured) : null, max: measured.length ? Math.max(...measured) : null, each: peaks },
  };
}

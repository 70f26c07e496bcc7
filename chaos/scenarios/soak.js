// One session, a request per second for 10 minutes (quick: 20 s): failed requests, kinject's RSS
// at the start and the end.
import { clusterLeftovers, failLines, machineLeftovers, mark, okLines, requestLoop, sessionOf, sleep, startKinject, until } from '../lib.js';
import { readFileSync } from 'node:fs';

const rssKb = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  } catch {
    return undefined;
  }
};

export default async function soak({ kc, ns, full }) {
  const seconds = full ? 600 : 20;
  const m = mark();
  const child = startKinject(kc, ['-n', ns], requestLoop(seconds, 1000, m));
  await until(() => /^OK /m.test(child.out), 150_000);
  const rssStart = rssKb(child.pid);
  let rssEnd = rssStart;
  const sampler = setInterval(() => (rssEnd = rssKb(child.pid) ?? rssEnd), 1000);
  const end = await Promise.race([child.exited, sleep((seconds + 180) * 1000).then(() => ({ hung: true }))]);
  clearInterval(sampler);
  if (end.hung) child.kill('SIGKILL');
  const fails = failLines(child.out).length;
  const oks = okLines(child.out).length;
  const left = [...(await clusterLeftovers(kc, ns)), ...machineLeftovers(m, sessionOf(child.err), child.pid)];
  return {
    tries: 1,
    failures: end.code === 0 && fails === 0 ? 0 : 1,
    requests: oks + fails,
    failedRequests: fails,
    leftovers: left.length,
    recovery: [],
    rssMiB: { start: Math.round(rssStart / 1024), end: Math.round(rssEnd / 1024) },
    seconds,
  };
}

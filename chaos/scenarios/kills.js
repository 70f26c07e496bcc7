// Randomized kills: SIGINT, SIGTERM, SIGHUP or SIGKILL at a random moment of a `kinject run`
// (pod being made, waited for, tunnel coming up, volumes mounting, the child running, cleanup),
// targetless and --target mixed. After a catchable signal: leftovers counted as soon as kinject
// exited; after SIGKILL: the time until nothing is left with nobody acting (goal: <= 60 s).
import { clusterLeftovers, killMarked, machineLeftovers, mark, requestLoop, sessionOf, sleep, startKinject, until } from '../lib.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGKILL'];

export default async function kills({ kc, ns, full, note }) {
  const tries = full ? 100 : 4;
  const rows = [];
  for (let i = 0; i < tries; i++) {
    const signal = full ? SIGNALS[Math.floor(Math.random() * 4)] : SIGNALS[i % 4];
    const target = full ? Math.random() < 0.5 : i % 2 === 1;
    const delayMs = Math.floor(Math.random() * (target ? 9000 : 7000));
    const m = mark();
    const child = startKinject(kc, ['-n', ns, ...(target ? ['--target', 'deployment/hello'] : [])], requestLoop(40, 500, m));
    await Promise.race([sleep(delayMs), child.exited]);
    const stage = /tunnel up/.test(child.err) ? 'child running' : /pod ready/.test(child.err) ? 'tunnel coming up' : /creating proxy pod/.test(child.err) ? 'making the pod' : 'before the pod';
    child.kill(signal);
    const end = await Promise.race([child.exited, sleep(60_000).then(() => ({ hung: true }))]);
    if (end.hung) child.kill('SIGKILL');
    const id = sessionOf(child.err);
    const t0 = Date.now();
    let left = [];
    let cleanMs;
    if (signal !== 'SIGKILL') {
      left = [...(await clusterLeftovers(kc, ns)), ...machineLeftovers(m, id)];
    } else {
      // machine first (at once), then the cluster side expiring by itself
      const machine = machineLeftovers(m, id);
      await sleep(1000);
      const machineAfter = machineLeftovers(m, id);
      const gone = await until(async () => (await clusterLeftovers(kc, ns)).length === 0, 90_000, 2000);
      cleanMs = Date.now() - t0;
      left = [...(gone && cleanMs <= 60_000 ? [] : await clusterLeftovers(kc, ns)), ...machineAfter];
      if (!gone) left.push('cluster objects still there after 90 s');
      if (machine.length) note(`SIGKILL try ${i}: at once on the machine: ${machine.join('; ')}`);
    }
    killMarked(m);
    if (end.hung) left.push('kinject did not exit within 60 s of the signal');
    rows.push({ signal, target, delayMs, stage, exit: end.code ?? end.signal, left, cleanMs });
    if (left.length) note(`kill try ${i} (${signal} while ${stage}${target ? ', --target' : ''}): left ${left.join(', ')}`);
    // a leftover must not spill into the next try's count
    if (left.length) await until(async () => (await clusterLeftovers(kc, ns)).length === 0, 90_000, 2000);
  }
  return {
    tries,
    failures: rows.filter((r) => r.left.length).length,
    leftovers: rows.reduce((n, r) => n + r.left.length, 0),
    recovery: rows.filter((r) => r.cleanMs !== undefined).map((r) => r.cleanMs),
    recoveryMeans: 'SIGKILL: ms until no cluster object is left (nobody acting)',
    rows,
  };
}

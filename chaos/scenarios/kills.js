// Randomized kills: SIGINT, SIGTERM, SIGHUP or SIGKILL at a random moment of a `kinject run`
// (pod being made, waited for, tunnel coming up, volumes mounting, the child running, cleanup),
// targetless and --target mixed (--target deployment/web, whose volumes are mounted with sshfs,
// or deployment/hello). After a catchable signal: leftovers counted as soon as kinject exited;
// after SIGKILL: the machine must be clean within 15 s (the run's guardian) and the cluster within
// 60 s, with nobody acting. Leftovers on the machine: lib.js machineLeftovers (processes, mounts,
// the mount dir, the session and mount records, the keys and warning-marks dirs).
import { clusterLeftovers, killMarked, machineLeftovers, mark, requestLoop, sessionOf, sleep, startKinject, until } from '../lib.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGKILL'];

// SIGKILLs aimed at a set-up stage (quick runs always try these; full runs pick one for half the
// tries): kinject is killed when the progress line that opens the stage appears (+0-1.5 s in full)
const STAGE_KILLS = [
  { at: /pod ready/, target: 'deployment/web', stage: 'tunnel coming up' },
  { at: /tunnel up/, target: 'deployment/web', stage: 'volumes mounting' },
  { at: /creating proxy pod/, target: undefined, stage: 'making the pod' },
];

export default async function kills({ kc, ns, full, note }) {
  const plan = [];
  if (full) {
    for (let i = 0; i < 100; i++) {
      const signal = SIGNALS[Math.floor(Math.random() * 4)];
      const aimed = Math.random() < 0.5 ? STAGE_KILLS[Math.floor(Math.random() * STAGE_KILLS.length)] : undefined;
      const target = aimed ? aimed.target : Math.random() < 0.5 ? (Math.random() < 0.5 ? 'deployment/hello' : 'deployment/web') : undefined;
      plan.push({ signal, target, aimed, extraMs: Math.floor(Math.random() * 1500) });
    }
  } else {
    for (let i = 0; i < 4; i++) plan.push({ signal: SIGNALS[i], target: i % 2 === 1 ? 'deployment/web' : undefined });
    // 0.5 s after "tunnel up": sshfs is starting, the keys and mount dir exist (a SIGKILL there left both before the guardian ran from the start)
    for (const [aimed, extraMs] of [
      [STAGE_KILLS[0], 0],
      [STAGE_KILLS[1], 500],
    ])
      plan.push({ signal: 'SIGKILL', target: aimed.target, aimed, extraMs });
  }
  const tries = plan.length;
  const rows = [];
  for (let i = 0; i < tries; i++) {
    const { signal, target, aimed, extraMs } = plan[i];
    const m = mark();
    const started = Date.now();
    const child = startKinject(kc, ['-n', ns, ...(target ? ['--target', target] : [])], requestLoop(40, 500, m));
    if (aimed) {
      await Promise.race([until(() => aimed.at.test(child.err), 150_000, 20), child.exited]);
      await sleep(extraMs);
    } else {
      await Promise.race([sleep(Math.floor(Math.random() * (target ? 12_000 : 7000))), child.exited]);
    }
    const delayMs = Date.now() - started;
    const stage = stageOf(child.err, target);
    child.kill(signal);
    const end = await Promise.race([child.exited, sleep(60_000).then(() => ({ hung: true }))]);
    if (end.hung) child.kill('SIGKILL');
    const id = sessionOf(child.err);
    const t0 = Date.now();
    let left = [];
    let cleanMs;
    let machineMs;
    let machine;
    if (signal !== 'SIGKILL') {
      left = [...(await clusterLeftovers(kc, ns)), ...machineLeftovers(m, id, child.pid)];
    } else {
      // machine first (the guardian: within 15 s), then the cluster side expiring by itself
      machine = machineLeftovers(m, id, child.pid);
      await until(() => machineLeftovers(m, id, child.pid).length === 0, 15_000, 250);
      machineMs = Date.now() - t0;
      const machineAfter = machineLeftovers(m, id, child.pid);
      const gone = await until(async () => (await clusterLeftovers(kc, ns)).length === 0, 90_000, 2000);
      cleanMs = Date.now() - t0;
      left = [...(gone && cleanMs <= 60_000 ? [] : await clusterLeftovers(kc, ns)), ...machineAfter];
      if (!gone) left.push('cluster objects still there after 90 s');
      if (machine.length) note(`SIGKILL try ${i}: at once on the machine: ${machine.join('; ')}`);
    }
    killMarked(m);
    if (end.hung) left.push('kinject did not exit within 60 s of the signal');
    rows.push({ signal, target: target ?? null, aimed: aimed?.stage ?? null, delayMs, stage, exit: end.code ?? end.signal, left, machineAtOnce: machine?.length ?? null, machineMs, cleanMs });
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

/** where the run was when the signal came, from its progress lines */
function stageOf(err, target) {
  if (/volumes mounted|tunnel up/.test(err) && (target !== 'deployment/web' || /volumes mounted/.test(err))) return 'child running';
  if (/tunnel up/.test(err)) return 'volumes mounting';
  if (/pod ready/.test(err)) return 'tunnel coming up';
  if (/creating proxy pod/.test(err)) return 'making the pod';
  return 'before the pod';
}

#!/usr/bin/env node
// `npm run chaos` — the chaos suite against the real local cluster (cluster/up.sh). Runs each
// scenario (chaos/scenarios/) in a namespace of its own, then writes chaos/results/latest.json
// and chaos/results/<date>[-quick].md: per scenario tries, failures, leftovers, recovery p50/max
// and the notes (what went wrong, what each bad input said).
//   node chaos/run.js            full suite (100 kills, 20 × 100 parallel, 10 min soak, API
//                                server and kubelet restarts: these restart shared components)
//   node chaos/run.js --quick    short version (npm test runs it, test/chaos/quick.test.js): a
//                                few tries of each, no component restarts, ~3-4 min
//   --only a,b                   only these scenarios; --no-restart skips the restarts
//   --out DIR                    write the results there instead of chaos/results/ (the test does)
// Every loop is bounded in count and time.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chaosNamespace, deleteNamespace, kubeconfig, repoRoot, stats } from './lib.js';
import kills from './scenarios/kills.js';
import podLoss from './scenarios/pod-loss.js';
import podEvicted from './scenarios/pod-evicted.js';
import podOom from './scenarios/pod-oom.js';
import tunnelCut from './scenarios/tunnel-cut.js';
import { restartScenario } from './scenarios/restart.js';
import parallel from './scenarios/parallel.js';
import soak from './scenarios/soak.js';
import badInputs from './scenarios/bad-inputs.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const onlyArg = argv.find((a) => a.startsWith('--only='))?.slice(7) ?? (argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined);
const only = onlyArg ? new Set(onlyArg.split(',')) : undefined;
const outArg = argv.find((a) => a.startsWith('--out='))?.slice(6) ?? (argv.includes('--out') ? argv[argv.indexOf('--out') + 1] : undefined);
const restarts = !quick && !argv.includes('--no-restart');

const SCENARIOS = [
  ['bad-inputs', badInputs],
  ['kills', kills],
  ['pod-deleted', podLoss],
  ['pod-evicted', podEvicted],
  ['pod-oom', podOom],
  ['tunnel-cut', tunnelCut],
  ...(restarts ? [['apiserver-restart', restartScenario('kube-apiserver')], ['kubelet-restart', restartScenario('kubelet')]] : []),
  ['parallel', parallel],
  ['soak', soak],
];

const kc = kubeconfig();
process.env.KUBECONFIG = kc;
const started = new Date();
const results = [];
const ns = await chaosNamespace(kc);
console.error(`chaos: ${quick ? 'quick' : 'full'} run in namespace ${ns}`);
try {
  for (const [name, fn] of SCENARIOS) {
    if (only && !only.has(name)) continue;
    const notes = [];
    const t0 = Date.now();
    console.error(`chaos: ${name}...`);
    let r;
    try {
      r = await fn({ kc, ns, full: !quick, note: (n) => notes.push(n) });
    } catch (err) {
      r = { tries: 0, failures: 1, leftovers: 0, recovery: [], error: err.message };
    }
    const s = stats(r.recovery ?? []);
    const row = { scenario: name, ...r, recoveryP50Ms: s.p50, recoveryMaxMs: s.max, seconds: Math.round((Date.now() - t0) / 1000), notes };
    results.push(row);
    console.error(`chaos: ${name}: ${r.tries} tries, ${r.failures} failures, ${r.leftovers} leftovers, recovery p50 ${s.p50 ?? '-'} ms max ${s.max ?? '-'} ms`);
  }
} finally {
  await deleteNamespace(kc, ns);
}

const out = outArg ?? join(repoRoot, 'chaos', 'results');
mkdirSync(out, { recursive: true });
const load = (await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ');
const cpus = (await import('node:os')).cpus().length;
const doc = { started: started.toISOString(), mode: quick ? 'quick' : 'full', only: onlyArg ?? null, machine: { cpus, loadAvgAtEnd: load, shared: true }, results };
writeFileSync(join(out, 'latest.json'), `${JSON.stringify(doc, null, 2)}\n`);
writeFileSync(join(out, `${started.toISOString().slice(0, 10)}${quick ? '-quick' : ''}${onlyArg ? `-${onlyArg.replace(/,/g, '+')}` : ''}.md`), markdown(doc));
const bad = results.filter((r) => r.failures || r.leftovers);
console.error(`chaos: results in ${join(out, 'latest.json')}; ${bad.length ? `problems in ${bad.map((r) => r.scenario).join(', ')}` : 'no failures, nothing left'}`);
// exit explicitly: a handle a scenario left open (a socket, a timer) must not keep the run (and
// npm test) waiting after the results are written
process.exit(bad.length ? 1 : 0);

function markdown(d) {
  const ms = (v) => (v === null || v === undefined ? '-' : `${(v / 1000).toFixed(1)} s`);
  const lines = [
    `# kinject chaos suite, ${d.mode} run${d.only ? ` of ${d.only} only` : ''}, ${d.started}`,
    '',
    `Machine: ${d.machine.cpus} cores, shared with other work (load average at the end: ${d.machine.loadAvgAtEnd}); times are not a benchmark.`,
    'Re-run: `npm run chaos` (full) or `npm run chaos -- --quick`.',
    '',
    '| scenario | tries | failures | failed requests | leftovers | recovery p50 | recovery max | what recovery means |',
    '|---|---|---|---|---|---|---|---|',
    ...d.results.map(
      (r) =>
        `| ${r.scenario} | ${r.tries} | ${r.failures} | ${r.failedRequests ?? '-'}${r.requests ? ` of ${r.requests}` : ''} | ${r.leftovers} | ${ms(r.recoveryP50Ms)} | ${ms(r.recoveryMaxMs)} | ${r.recoveryMeans ?? ''} |`,
    ),
    '',
  ];
  for (const r of d.results) {
    if (r.peakRssMiB) lines.push(`- ${r.scenario}: peak RSS per kinject ${r.peakRssMiB.min}-${r.peakRssMiB.max} MiB`);
    if (r.rssMiB) lines.push(`- ${r.scenario}: ${r.seconds} s, RSS ${r.rssMiB.start} MiB at the start, ${r.rssMiB.end} MiB at the end`);
    if (r.error) lines.push(`- ${r.scenario}: error: ${r.error}`);
    for (const n of r.notes) lines.push(`- ${r.scenario}: ${n}`);
  }
  const bad = d.results.find((r) => r.scenario === 'bad-inputs');
  if (bad?.rows) {
    lines.push('', '## Bad inputs tried', '', '| input | exit | one line | left | message |', '|---|---|---|---|---|');
    for (const r of bad.rows)
      lines.push(
        `| ${r.name} (\`${r.args.replace(/\|/g, '\\|')}\`) | ${r.exit} | ${r.oneLine ? 'yes' : 'no'} | ${r.left.length ? r.left.join(', ').replace(/\|/g, '\\|') : 0} | ${r.message.replace(/\|/g, '\\|')} |`,
      );
  }
  const k = d.results.find((r) => r.scenario === 'kills');
  if (k?.rows) {
    lines.push(
      '',
      '## Kills',
      '',
      '"aimed": killed when the progress line opening that stage appeared. SIGKILL: "on the machine at once" counts what the run left right after the kill (sshfs, the command, dirs, records), "machine clean" when the guardian had removed it, "cluster clean" when the Job, pod, Secret and Lease had expired (nobody acting).',
      '',
      '| signal | target | aimed at | at | stage | exit | left | on the machine at once | machine clean after | cluster clean after |',
      '|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const r of k.rows)
      lines.push(
        `| ${r.signal} | ${r.target ?? 'no'} | ${r.aimed ?? '-'} | ${(r.delayMs / 1000).toFixed(1)} s | ${r.stage} | ${r.exit} | ${r.left.join(', ') || 0} | ${r.machineAtOnce ?? '-'} | ${ms(r.machineMs)} | ${ms(r.cleanMs)} |`,
      );
  }
  return `${lines.join('\n')}\n`;
}

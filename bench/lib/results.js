// Writes benchmark results: bench/results/latest.json (numbers only, fixed keys) and a dated
// markdown table beside it, both with the machine, the versions and the date.
import { execFileSync } from 'node:child_process';
import { cpus, totalmem, release } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const resultsDir = join(root, 'bench', 'results');

function tryRun(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10000 }).trim();
  } catch {
    return 'unknown';
  }
}

export function machineInfo(kubeconfig) {
  const server = kubeconfig ? tryRun('kubectl', ['--kubeconfig', kubeconfig, 'version', '-o', 'json']) : 'unknown';
  let kubernetes = 'unknown';
  try {
    kubernetes = JSON.parse(server).serverVersion.gitVersion;
  } catch {}
  return {
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    kinject: JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version,
    kinject_commit: tryRun('git', ['-C', root, 'rev-parse', '--short', 'HEAD']),
    kubernetes,
    kubectl: tryRun('kubectl', ['version', '--client', '-o', 'json']).match(/"gitVersion":\s*"([^"]+)"/)?.[1] ?? 'unknown',
  };
}

/** rows: [{ label, value, unit, baseline?, target?, note? }]; notes: { step: text } (failures, nulls) */
export function writeResults({ metrics, rows, notes = {}, machine, mode }) {
  mkdirSync(resultsDir, { recursive: true });
  const date = new Date().toISOString();
  const json = { date, mode, machine, ...metrics, notes };
  writeFileSync(join(resultsDir, 'latest.json'), JSON.stringify(json, null, 2) + '\n');
  const lines = [
    `# kinject benchmarks — ${date.slice(0, 10)} (${mode})`,
    '',
    `Run ${date.slice(0, 16).replace('T', ' ')} UTC, ${metrics.duration_s} s; 1-minute load average ${metrics.load_average_1m_start} at the start, ${metrics.load_average_1m_end} at the end.`,
    `Machine: ${machine.cpu}, ${machine.memory_gib} GiB, Linux ${machine.kernel}; Node ${machine.node};`,
    `kinject ${machine.kinject} (${machine.kinject_commit}); Kubernetes ${machine.kubernetes} (local cluster); kubectl ${machine.kubectl}.`,
    'Raw numbers: [latest.json](latest.json) (of the newest run).',
    '',
    '| measure | kinject | baseline | target | note |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.label} | ${fmt(r.value)} ${r.unit} | ${r.baseline ?? ''} | ${r.target ?? ''} | ${r.note ?? ''} |`),
    '',
  ];
  const entries = Object.entries(notes);
  if (entries.length) lines.push('Notes:', '', ...entries.map(([k, v]) => `* ${k}: ${v.replace(/\s+/g, ' ')}`), '');
  const file = join(resultsDir, `${date.slice(0, 10)}${mode === 'quick' ? '-quick' : ''}.md`);
  writeFileSync(file, lines.join('\n'));
  return file;
}

const fmt = (v) => (v === null || v === undefined ? 'n/a' : String(v));

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

/** rows: [{ key, label, value, unit, baselineKey?, note? }] */
export function writeResults({ metrics, rows, machine, mode }) {
  mkdirSync(resultsDir, { recursive: true });
  const date = new Date().toISOString();
  const json = { date, mode, machine, ...metrics };
  writeFileSync(join(resultsDir, 'latest.json'), JSON.stringify(json, null, 2) + '\n');
  const lines = [
    `# kinject benchmarks — ${date.slice(0, 10)} (${mode})`,
    '',
    `Machine: ${machine.cpu}, ${machine.memory_gib} GiB, Linux ${machine.kernel}; Node ${machine.node};`,
    `kinject ${machine.kinject} (${machine.kinject_commit}); Kubernetes ${machine.kubernetes} (local cluster); kubectl ${machine.kubectl}.`,
    '',
    '| measure | value | baseline | note |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.label} | ${fmt(r.value)} ${r.unit} | ${r.baseline ?? ''} | ${r.note ?? ''} |`),
    '',
  ];
  const file = join(resultsDir, `${date.slice(0, 10)}${mode === 'quick' ? '-quick' : ''}.md`);
  writeFileSync(file, lines.join('\n'));
  return file;
}

const fmt = (v) => (v === null || v === undefined ? 'n/a' : String(v));

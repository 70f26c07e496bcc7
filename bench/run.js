// `npm run bench [-- --quick]`: measures what kinject costs a program, each figure beside its
// baseline from the same run, on the local cluster (started if needed), and writes
// bench/results/latest.json plus a dated markdown table. Numbers only: no figure fails anything.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shimOverhead } from './suites/shim-overhead.js';
import { clusterBenchmarks } from './suites/cluster.js';
import { machineInfo, writeResults } from './lib/results.js';
import { round } from './lib/stats.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const kinject = join(root, 'bin', 'kinject');
const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

const sh = (script) => execFileSync('bash', [join(root, script)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' }).trim();
log('building kinject and starting the local cluster if needed');
execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
sh('cluster/up.sh');
const kubeconfig = sh('cluster/kubeconfig.sh');

log('shim overhead (no cluster traffic)');
const shim = await shimOverhead({ root, kinject, quick });
const cluster = await clusterBenchmarks({ root, kinject, kubeconfig, quick, log });

const metrics = {
  connect_p50_ms: round(cluster.connect_p50_ms),
  connect_p99_ms: round(cluster.connect_p99_ms),
  pf_connect_p50_ms: round(cluster.pf_connect_p50_ms),
  pf_connect_p99_ms: round(cluster.pf_connect_p99_ms),
  floor_connect_p50_ms: round(cluster.floor_connect_p50_ms),
  throughput_mibs: round(cluster.throughput_mibs, 1),
  pf_throughput_mibs: round(cluster.pf_throughput_mibs, 1),
  seq1000_s: round(cluster.seq1000_s),
  pf_seq1000_s: round(cluster.pf_seq1000_s),
  concurrent50_s: round(cluster.concurrent50_s),
  pf_concurrent50_s: round(cluster.pf_concurrent50_s),
  concurrent50_failures: cluster.concurrent50_failures,
  pf_concurrent50_failures: cluster.pf_concurrent50_failures,
  start_targetless_s: round(cluster.start_targetless_s),
  start_target_s: round(cluster.start_target_s),
  shim_overhead_node_start_ratio: round(shim.node_start_kinject_ms / shim.node_start_plain_ms, 3),
  shim_overhead_loopback_ratio: round(shim.loopback_kinject_s / shim.loopback_plain_s, 3),
  node_start_plain_ms: round(shim.node_start_plain_ms),
  node_start_kinject_ms: round(shim.node_start_kinject_ms),
  loopback_connects: shim.count,
  peak_rss_mb: round(cluster.peak_rss_mb, 1),
};
const c = cluster.counts;
const rows = [
  { label: `new connection + small request/response, p50 (${c.connects} samples)`, value: metrics.connect_p50_ms, unit: 'ms', baseline: `port-forward ${metrics.pf_connect_p50_ms} ms; in-cluster floor ${metrics.floor_connect_p50_ms} ms` },
  { label: 'same, p99', value: metrics.connect_p99_ms, unit: 'ms', baseline: `port-forward ${metrics.pf_connect_p99_ms} ms` },
  { label: `bulk throughput (${c.mib} MiB each way through the echo service)`, value: metrics.throughput_mibs, unit: 'MiB/s', baseline: `port-forward ${metrics.pf_throughput_mibs} MiB/s` },
  { label: '1,000 sequential HTTP requests, no keep-alive', value: metrics.seq1000_s, unit: 's', baseline: `port-forward ${metrics.pf_seq1000_s} s` },
  { label: `${c.conc} HTTP requests, 50 concurrent connections`, value: metrics.concurrent50_s, unit: 's', baseline: `port-forward ${metrics.pf_concurrent50_s} s`, note: `failures: kinject ${metrics.concurrent50_failures}, port-forward ${metrics.pf_concurrent50_failures}` },
  { label: '`kinject run -- true`, targetless, image present (median)', value: metrics.start_targetless_s, unit: 's', baseline: '' },
  { label: '`kinject run --target deployment/web -- true` (median)', value: metrics.start_target_s, unit: 's', baseline: '' },
  { label: '`node -e 0` start-up with the shim / without', value: metrics.shim_overhead_node_start_ratio, unit: '×', baseline: `${metrics.node_start_plain_ms} ms plain`, },
  { label: `${shim.count} loopback connects with the shim / without`, value: metrics.shim_overhead_loopback_ratio, unit: '×', baseline: '' },
  { label: "kinject's peak RSS (during the HTTP and start-time runs)", value: metrics.peak_rss_mb, unit: 'MB', baseline: '' },
];
const file = writeResults({ metrics, rows, machine: machineInfo(kubeconfig), mode: quick ? 'quick' : 'full' });
log(`wrote bench/results/latest.json and ${file.slice(root.length + 1)}`);
console.log(JSON.stringify(metrics, null, 2));

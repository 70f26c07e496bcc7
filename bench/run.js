// `npm run bench [-- --quick]`: measures what kinject costs a program, each figure beside its
// baseline from the same run, on the local cluster (started if needed), and writes
// bench/results/latest.json plus a dated markdown table. Numbers only: no figure fails anything.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shimOverhead } from './suites/shim-overhead.js';
import { clusterBenchmarks } from './suites/cluster.js';
import { netnsBenchmarks } from './suites/netns.js';
import { interceptBenchmarks } from './suites/intercept.js';
import { machineInfo, writeResults } from './lib/results.js';
import { round } from './lib/stats.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const kinject = join(root, 'bin', 'kinject');
const started = Date.now();
const log = (msg) => process.stderr.write(`bench [${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s]: ${msg}\n`);

const sh = (script) => execFileSync('bash', [join(root, script)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' }).trim();
// Builds only what is missing (a fresh checkout after `npm ci`); a checkout that is already built is
// measured as it is, with a warning when src/ is newer than dist/.
// bin/kinject runs the bundle dist/kinject.mjs, or else the compiled modules in dist/src
const cliFile = ['dist/kinject.mjs', 'dist/src/cli.js'].map((f) => join(root, f)).find((f) => existsSync(f));
const built = cliFile && ['dist/proxy-pod.cjs', 'build/Release/libkinject.so'].every((f) => existsSync(join(root, f)));
if (!built) {
  log('building kinject (npm run build)');
  execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
} else if (newestMtime(join(root, 'src')) > statSync(cliFile).mtimeMs) {
  log('warning: src/ is newer than dist/: measuring the last build (run npm run build to refresh it)');
}
const buildStamp = () =>
  ['dist/kinject.mjs', 'dist/src/cli.js', 'dist/proxy-pod.cjs', 'build/Release/libkinject.so']
    .map((f) => (existsSync(join(root, f)) ? statSync(join(root, f)).mtimeMs : 0))
    .join(',');
const stampBefore = buildStamp();
log('starting the local cluster if needed');
sh('cluster/up.sh');
const kubeconfig = sh('cluster/kubeconfig.sh');
const loadBefore = loadavg()[0];

log('shim overhead (no cluster traffic) ...');
let shim = {};
const shimStart = Date.now();
try {
  shim = await shimOverhead({ root, kinject, quick });
} catch (err) {
  shim.error = err.message;
  log(`shim overhead FAILED: ${err.message}`);
}
log(`shim overhead: ${((Date.now() - shimStart) / 1000).toFixed(1)} s`);
const cluster = await clusterBenchmarks({ root, kinject, kubeconfig, quick, log });
log('--method netns beside inject-tcp ...');
const netns = await netnsBenchmarks({ root, kinject, kubeconfig, quick, log });
log('intercepts through the cluster (a client pod, --intercept --header) ...');
const intercept = await interceptBenchmarks({ root, kinject, kubeconfig, quick, log });
/** intercept.js's figure for a path and mode, e.g. ic('pass_through', 'new', 'p99_ms') */
const ic = (path, mode, stat = 'p50_ms') => intercept[`${path}_${mode}`]?.[stat] ?? null;

const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? round(a / b, 3) : null);
const metrics = {
  connect_p50_ms: round(cluster.connect_p50_ms),
  connect_p99_ms: round(cluster.connect_p99_ms),
  pf_connect_p50_ms: round(cluster.pf_connect_p50_ms),
  pf_connect_p99_ms: round(cluster.pf_connect_p99_ms),
  floor_connect_p50_ms: round(cluster.floor_connect_p50_ms),
  floor_connect_p99_ms: round(cluster.floor_connect_p99_ms),
  connect_p50_vs_pf_ratio: ratio(cluster.connect_p50_ms, cluster.pf_connect_p50_ms),
  throughput_mibs: round(cluster.throughput_mibs, 1),
  pf_throughput_mibs: round(cluster.pf_throughput_mibs, 1),
  throughput_vs_pf_ratio: ratio(cluster.throughput_mibs, cluster.pf_throughput_mibs),
  throughput_cpu_s_per_gib: round(cluster.throughput_cpu_s_per_gib),
  pf_throughput_cpu_s_per_gib: round(cluster.pf_throughput_cpu_s_per_gib),
  throughput_machine_cpu_s_per_gib: round(cluster.throughput_machine_cpu_s_per_gib),
  pf_throughput_machine_cpu_s_per_gib: round(cluster.pf_throughput_machine_cpu_s_per_gib),
  seq1000_s: round(cluster.seq1000_s),
  pf_seq1000_s: round(cluster.pf_seq1000_s),
  seq1000_failures: cluster.seq1000_failures,
  pf_seq1000_failures: cluster.pf_seq1000_failures,
  concurrent50_s: round(cluster.concurrent50_s),
  pf_concurrent50_s: round(cluster.pf_concurrent50_s),
  concurrent50_failures: cluster.concurrent50_failures,
  pf_concurrent50_failures: cluster.pf_concurrent50_failures,
  direct_connect_p50_ms: round(cluster.direct_connect_p50_ms),
  direct_connect_p99_ms: round(cluster.direct_connect_p99_ms),
  direct_throughput_mibs: round(cluster.direct_throughput_mibs, 1),
  direct_throughput_cpu_s_per_gib: round(cluster.direct_throughput_cpu_s_per_gib),
  direct_throughput_machine_cpu_s_per_gib: round(cluster.direct_throughput_machine_cpu_s_per_gib),
  direct_seq1000_s: round(cluster.direct_seq1000_s),
  direct_concurrent50_s: round(cluster.direct_concurrent50_s),
  direct_concurrent50_failures: cluster.direct_concurrent50_failures,
  concurrent50_vs_pf_ratio: ratio(cluster.concurrent50_s, cluster.pf_concurrent50_s),
  wrk_rps: round(cluster.wrk_rps, 0),
  direct_wrk_rps: round(cluster.direct_wrk_rps, 0),
  pf_wrk_rps: round(cluster.pf_wrk_rps, 0),
  wrk_failures: cluster.wrk_failures ?? null,
  direct_wrk_failures: cluster.direct_wrk_failures ?? null,
  pf_wrk_failures: cluster.pf_wrk_failures ?? null,
  ab_rps: round(cluster.ab_rps, 0),
  direct_ab_rps: round(cluster.direct_ab_rps, 0),
  pf_ab_rps: round(cluster.pf_ab_rps, 0),
  ab_failures: cluster.ab_failures ?? null,
  direct_ab_failures: cluster.direct_ab_failures ?? null,
  pf_ab_failures: cluster.pf_ab_failures ?? null,
  start_targetless_s: round(cluster.start_targetless_s),
  start_target_s: round(cluster.start_target_s),
  start_targetless_phases_s: roundAll(cluster.start_targetless_phases_s),
  start_target_phases_s: roundAll(cluster.start_target_phases_s),
  shim_overhead_node_start_ratio: ratio(shim.node_start_kinject_ms, shim.node_start_plain_ms),
  shim_overhead_loopback_ratio: ratio(shim.loopback_kinject_s, shim.loopback_plain_s),
  shim_overhead_node_start_cpu_ratio: round(shim.node_start_cpu_ratio, 3),
  shim_overhead_loopback_cpu_ratio: round(shim.loopback_cpu_ratio, 3),
  shim_overhead_node_start_median_ratio: round(shim.node_start_median_ratio, 3),
  shim_overhead_loopback_median_ratio: round(shim.loopback_median_ratio, 3),
  node_start_plain_ms: round(shim.node_start_plain_ms),
  node_start_kinject_ms: round(shim.node_start_kinject_ms),
  loopback_plain_s: round(shim.loopback_plain_s, 3),
  loopback_kinject_s: round(shim.loopback_kinject_s, 3),
  loopback_connects: shim.count ?? null,
  volume_read_100mib_mibs: round(cluster.volume_read_100mib_mibs, 1),
  volume_write_100mib_mibs: round(cluster.volume_write_100mib_mibs, 1),
  peak_rss_mb: round(cluster.peak_rss_mb, 1),
  peak_rss_http_mb: round(cluster.peak_rss_http_mb, 1),
  peak_rss_start_mb: round(cluster.peak_rss_start_mb, 1),
  peak_rss_throughput_mb: round(cluster.peak_rss_throughput_mb, 1),
  netns_connect_p50_ms: netns.netns_connect_p50_ms ?? null,
  netns_tcp_connect_p50_ms: netns.tcp_connect_p50_ms ?? null,
  netns_throughput_mibs: netns.netns_throughput_mibs ?? null,
  netns_tcp_throughput_mibs: netns.tcp_throughput_mibs ?? null,
  netns_startup_cost_s: netns.netns_startup_cost_s ?? null,
  ...interceptMetrics(),
  load_average_1m_start: round(loadBefore),
  load_average_1m_end: round(loadavg()[0]),
  duration_s: round((Date.now() - started) / 1000, 1),
};
const notes = {
  ...cluster.notes,
  ...Object.fromEntries(Object.entries(netns.notes).map(([k, v]) => [`netns: ${k}`, v])),
  ...Object.fromEntries(Object.entries(intercept.notes).map(([k, v]) => [`intercept: ${k}`, v])),
  ...(shim.error ? { shim: `failed: ${shim.error}` } : {}),
};
// other work in the same checkout may rebuild kinject while this runs: then the figures mix builds
if (buildStamp() !== stampBefore) notes.build = 'kinject (dist/ or the shim) was rebuilt during this run: the figures mix two builds; run again';
if (notes.build) log(`warning: ${notes.build}`);
const c = cluster.counts;
const tl = metrics.start_targetless_phases_s;
const tg = metrics.start_target_phases_s;
const phases = (p) =>
  p && p.cli !== null
    ? `phases (medians): CLI ${p.cli} + pod ${p.pod} + tunnel ${p.tunnel}${p.volumes ? ` + volumes ${p.volumes}` : ''} + child & cleanup ${p.exit} s`
    : '';
const rows = [
  {
    label: `new connection + small request/response to hello, p50 (${c.connects} samples)`,
    value: metrics.connect_p50_ms,
    unit: 'ms',
    baseline: `port-forward ${metrics.pf_connect_p50_ms} ms; in-cluster floor ${metrics.floor_connect_p50_ms} ms`,
    target: '≤ 1.5 × port-forward and < 10 ms',
  },
  {
    label: 'same, p99',
    value: metrics.connect_p99_ms,
    unit: 'ms',
    baseline: `port-forward ${metrics.pf_connect_p99_ms} ms; floor ${metrics.floor_connect_p99_ms} ms`,
  },
  {
    label: `bulk throughput (${c.mib} MiB each way through the echo service)`,
    value: metrics.throughput_mibs,
    unit: 'MiB/s',
    baseline: `port-forward ${metrics.pf_throughput_mibs} MiB/s`,
    target: '≥ 80 % of port-forward',
    note: `CPU s per GiB: kinject ${metrics.throughput_cpu_s_per_gib}, kubectl ${metrics.pf_throughput_cpu_s_per_gib}; whole machine ${metrics.throughput_machine_cpu_s_per_gib} vs ${metrics.pf_throughput_machine_cpu_s_per_gib}`,
  },
  { label: `${c.seq} sequential HTTP requests, no keep-alive`, value: metrics.seq1000_s, unit: 's', baseline: `port-forward ${metrics.pf_seq1000_s} s` },
  {
    label: 'direct transport (--transport direct): connect p50 / throughput / 50-concurrent',
    value: metrics.direct_connect_p50_ms,
    unit: 'ms',
    baseline: `kinject over port-forward ${metrics.connect_p50_ms} ms / ${metrics.throughput_mibs} MiB/s / ${metrics.concurrent50_s} s`,
    target: 'beats port-forward on all three',
    note: `${metrics.direct_throughput_mibs} MiB/s (CPU ${metrics.direct_throughput_cpu_s_per_gib} s/GiB), ${metrics.direct_concurrent50_s} s at 50 concurrent, ${metrics.direct_seq1000_s} s sequential`,
  },
  {
    label: 'wrk -t2 -c50 (keep-alive) against hello, requests/s',
    value: metrics.wrk_rps,
    unit: 'req/s',
    baseline: `kubectl port-forward ${metrics.pf_wrk_rps} req/s; kinject direct ${metrics.direct_wrk_rps} req/s`,
    note: `failures: ${metrics.wrk_failures} / ${metrics.pf_wrk_failures} / ${metrics.direct_wrk_failures}`,
  },
  {
    label: 'ab -c 50 (HTTP/1.0, a connection per request) against hello, requests/s',
    value: metrics.ab_rps,
    unit: 'req/s',
    baseline: `kubectl port-forward ${metrics.pf_ab_rps} req/s; kinject direct ${metrics.direct_ab_rps} req/s`,
    note: `failures: ${metrics.ab_failures} / ${metrics.pf_ab_failures} / ${metrics.direct_ab_failures}`,
  },
  {
    label: `${c.conc} HTTP requests, 50 concurrent connections`,
    value: metrics.concurrent50_s,
    unit: 's',
    baseline: `port-forward ${metrics.pf_concurrent50_s} s`,
    note: `failures: kinject ${metrics.concurrent50_failures}, port-forward ${metrics.pf_concurrent50_failures}`,
  },
  {
    label: '`kinject run -- true`, targetless, image present (median)',
    value: metrics.start_targetless_s,
    unit: 's',
    baseline: '',
    target: '≤ 3 s',
    note: phases(tl),
  },
  { label: '`kinject run --target deployment/web -- true` (median)', value: metrics.start_target_s, unit: 's', baseline: '', note: phases(tg) },
  {
    label: '`node -e 0` start-up with the shim / without',
    value: metrics.shim_overhead_node_start_ratio,
    unit: '×',
    baseline: `${metrics.node_start_plain_ms} ms plain, ${metrics.node_start_kinject_ms} ms with the shim (lower quartiles of ${quick ? 30 : 100} runs each)`,
    target: '≤ 1.05',
    note: `ratio of medians ${metrics.shim_overhead_node_start_median_ratio}, of CPU times ${metrics.shim_overhead_node_start_cpu_ratio}`,
  },
  {
    label: `${metrics.loopback_connects} loopback connects with the shim / without`,
    value: metrics.shim_overhead_loopback_ratio,
    unit: '×',
    baseline: `${metrics.loopback_plain_s} s plain, ${metrics.loopback_kinject_s} s with the shim (lower quartiles of ${quick ? 3 : 7} runs each)`,
    target: '≤ 1.05',
    note: `ratio of medians ${metrics.shim_overhead_loopback_median_ratio}, of CPU times ${metrics.shim_overhead_loopback_cpu_ratio}`,
  },
  {
    label: `${c.volumeMib} MiB file read through the volume mount (sshfs, --target deployment/web), cold page cache, median of 3`,
    value: metrics.volume_read_100mib_mibs,
    unit: 'MiB/s',
    baseline: `write ${metrics.volume_write_100mib_mibs} MiB/s`,
  },
  {
    label: `--method netns: new connection + small request to hello, p50 (${netns.counts.connects} samples)`,
    value: metrics.netns_connect_p50_ms,
    unit: 'ms',
    baseline: `inject-tcp ${metrics.netns_tcp_connect_p50_ms} ms (same suite); port-forward above`,
  },
  {
    label: `--method netns: bulk throughput (${netns.counts.mib} MiB each way through echo)`,
    value: metrics.netns_throughput_mibs,
    unit: 'MiB/s',
    baseline: `inject-tcp ${metrics.netns_tcp_throughput_mibs} MiB/s (same suite)`,
  },
  {
    label: '--method netns: start-up cost of the namespace (after "tunnel up", netns minus inject-tcp, medians)',
    value: metrics.netns_startup_cost_s,
    unit: 's',
    baseline: '',
  },
  ...['keepalive', 'new'].flatMap((m) => {
    const how = m === 'keepalive' ? 'one keep-alive connection' : 'a new connection per request';
    const k = m === 'keepalive' ? '' : '_newconn';
    return [
      {
        label: `intercepted request (header; client pod → router → tunnel → local process), ${how}, p50 / p99 (${intercept.counts.samples} samples)`,
        value: metrics[`intercept_local${k}_p50_ms`],
        unit: 'ms',
        baseline: `same request to the real pod ${metrics[`intercept_realpod${k}_p50_ms`]} / ${metrics[`intercept_realpod${k}_p99_ms`]} ms`,
        note: `p99 ${metrics[`intercept_local${k}_p99_ms`]} ms`,
      },
      {
        label: `request without the header passed through the router, ${how}: added p50 / p99`,
        value: metrics[`intercept_passthrough_added${k}_p50_ms`],
        unit: 'ms',
        baseline: `direct Service ${metrics[`intercept_service${k}_p50_ms`]} / ${metrics[`intercept_service${k}_p99_ms`]} ms; through the router ${metrics[`intercept_passthrough${k}_p50_ms`]} / ${metrics[`intercept_passthrough${k}_p99_ms`]} ms`,
        target: '< 1 ms p50 added',
        note: `p99 added ${metrics[`intercept_passthrough_added${k}_p99_ms`]} ms; Service before the intercept ${metrics[`intercept_before${k}_p50_ms`]} ms p50`,
      },
    ];
  }),
  {
    label: "kinject's peak RSS (HTTP and start-time runs)",
    value: metrics.peak_rss_mb,
    unit: 'MB',
    baseline: `throughput run ${metrics.peak_rss_throughput_mb} MB`,
    target: '≤ 150 MB',
  },
];
const file = writeResults({ metrics, rows, notes, machine: machineInfo(kubeconfig), mode: quick ? 'quick' : 'full' });
log(`wrote bench/results/latest.json and ${file.slice(root.length + 1)} in ${metrics.duration_s} s`);
console.log(JSON.stringify(metrics, null, 2));

/** the intercept suite's figures as flat keys: intercept_<path>[_newconn]_<p50|p99>_ms (no suffix: keep-alive) */
function interceptMetrics() {
  const paths = {
    local: 'intercepted',
    realpod: 'real_pod',
    passthrough: 'pass_through',
    service: 'service',
    before: 'before',
    passthrough_added: 'pass_through_added',
  };
  const flat = {};
  for (const [mode, suffix] of [
    ['keepalive', ''],
    ['new', '_newconn'],
  ]) {
    for (const [key, path] of Object.entries(paths)) {
      for (const p of ['p50', 'p99']) flat[`intercept_${key}${suffix}_${p}_ms`] = round(ic(path, mode, `${p}_ms`), 3);
    }
  }
  return flat;
}

function roundAll(obj) {
  return obj ? Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, round(v)])) : null;
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
  }
  return newest;
}

// Benchmarks on the local cluster, each beside its baseline in the same run: connection latency
// (kinject, kubectl port-forward, and from inside a pod: the floor), bulk throughput (through the
// echo service), 1,000 sequential HTTP requests, 50 concurrent connections, start time of
// `kinject run -- true` (with its phases, from the times kinject's progress lines arrive), a
// 100 MiB file read through the volume mount, and kinject's peak RSS. kinject's figures are taken
// over both transports (--transport port-forward: the keys without prefix; --transport direct:
// the direct_* keys), right after each other; `wrk` and `ab` against hello through kinject (both
// transports) and kubectl port-forward (suites/load-tools.js).
//
// Every step is bounded in time; a step that fails records null and a note instead of stopping
// the rest (a benchmark reports numbers, it does not test).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { run, lastJson } from '../lib/process.js';
import { startPortForward } from '../lib/port-forward.js';
import { median, percentile } from '../lib/stats.js';
import { machineBusySeconds, processCpuSeconds } from '../lib/cpu.js';
import { loadTools } from './load-tools.js';

/** kinject's transports (--transport): the keys without prefix are port-forward's, as before direct existed */
const PF = ['--transport', 'port-forward'];
const DIRECT = ['--transport', 'direct'];

const NS = 'kinject-demo';

export async function clusterBenchmarks({ root, kinject, kubeconfig, quick, log }) {
  const env = { ...process.env, KUBECONFIG: kubeconfig };
  const client = (name) => join(root, 'bench', 'clients', name);
  const n = { connects: quick ? 100 : 500, mib: quick ? 200 : 400, seq: 1000, conc: quick ? 200 : 1000, starts: quick ? 3 : 7, volumeMib: 100 };
  const out = { counts: n, notes: {}, step_seconds: {} };
  const rss = { http: 0, start: 0, throughput: 0 };

  /** runs one measurement: logs it with its duration; on failure records a note and returns null */
  const step = async (name, fn) => {
    const t0 = Date.now();
    log(`${name} ...`);
    try {
      return await fn();
    } catch (err) {
      out.notes[name] = `failed: ${err.message}`;
      log(`${name} FAILED: ${err.message}`);
      return null;
    } finally {
      out.step_seconds[name] = (Date.now() - t0) / 1000;
      log(`${name}: ${out.step_seconds[name].toFixed(1)} s`);
    }
  };
  const viaKinject = async (args, { extra = [], rssKey, timeoutMs = 240000, cpu } = {}) => {
    const r = await run(kinject, ['run', '-n', NS, ...extra, '--', process.execPath, ...args], { env, timeoutMs });
    if (rssKey) rss[rssKey] = Math.max(rss[rssKey], r.peakRssMb);
    if (cpu) cpu.kinject = r.cpuSeconds;
    return lastJson(r.stdout);
  };
  /** runs fn, adding to cpu the machine's busy CPU seconds meanwhile */
  const busy = async (cpu, fn) => {
    const before = machineBusySeconds();
    try {
      return await fn();
    } finally {
      cpu.machine = machineBusySeconds() - before;
    }
  };
  const direct = async (args, timeoutMs = 240000) => lastJson((await run(process.execPath, args, { timeoutMs })).stdout);

  const kin = await step('connect latency: kinject', () => viaKinject([client('connect-latency.cjs'), 'hello', '80', String(n.connects)], { extra: PF }));
  out.connect_p50_ms = kin && median(kin.samples);
  out.connect_p99_ms = kin && percentile(kin.samples, 99);
  const kd = await step('connect latency: kinject direct', () =>
    viaKinject([client('connect-latency.cjs'), 'hello', '80', String(n.connects)], { extra: DIRECT }),
  );
  out.direct_connect_p50_ms = kd && median(kd.samples);
  out.direct_connect_p99_ms = kd && percentile(kd.samples, 99);

  let hello;
  let echo;
  try {
    hello = await startPortForward(kubeconfig, NS, 'svc/hello', 80);
    echo = await startPortForward(kubeconfig, NS, 'svc/echo', 7);
  } catch (err) {
    out.notes['kubectl port-forward'] = `failed: ${err.message}`;
  }
  try {
    const viaPf = (pf, args, timeoutMs) => (pf ? direct(args(String(pf.port)), timeoutMs) : Promise.reject(new Error('no kubectl port-forward')));
    const pf = await step('connect latency: kubectl port-forward', () =>
      viaPf(hello, (port) => [client('connect-latency.cjs'), '127.0.0.1', port, String(n.connects)]),
    );
    out.pf_connect_p50_ms = pf && median(pf.samples);
    out.pf_connect_p99_ms = pf && percentile(pf.samples, 99);

    // CPU seconds per GiB moved (each way counted once, like MiB/s): kinject's process, kubectl's,
    // and the whole machine's (the cluster's API server, kubelet, containerd and pods share it)
    const kcpu = {};
    const tk = await step(`throughput: kinject, ${n.mib} MiB through the echo service`, () =>
      busy(kcpu, () => viaKinject([client('throughput.cjs'), 'echo', '7', String(n.mib)], { extra: PF, rssKey: 'throughput', cpu: kcpu })),
    );
    out.throughput_mibs = tk?.mibs ?? null;
    const dcpu = {};
    const td = await step(`throughput: kinject direct, ${n.mib} MiB`, () =>
      busy(dcpu, () => viaKinject([client('throughput.cjs'), 'echo', '7', String(n.mib)], { extra: DIRECT, rssKey: 'throughput', cpu: dcpu })),
    );
    out.direct_throughput_mibs = td?.mibs ?? null;
    const pcpu = {};
    const pfCpuBefore = echo ? processCpuSeconds(echo.pid) : null;
    const tp = await step(`throughput: kubectl port-forward, ${n.mib} MiB`, () =>
      busy(pcpu, () => viaPf(echo, (port) => [client('throughput.cjs'), '127.0.0.1', port, String(n.mib)])),
    );
    const pfCpuAfter = echo ? processCpuSeconds(echo.pid) : null;
    out.pf_throughput_mibs = tp?.mibs ?? null;
    const perGib = (seconds) => ((tk || tp) && Number.isFinite(seconds) ? seconds / (n.mib / 1024) : null);
    out.throughput_cpu_s_per_gib = tk ? perGib(kcpu.kinject) : null;
    out.direct_throughput_cpu_s_per_gib = td ? perGib(dcpu.kinject) : null;
    out.direct_throughput_machine_cpu_s_per_gib = td ? perGib(dcpu.machine) : null;
    out.pf_throughput_cpu_s_per_gib = tp && pfCpuBefore !== null && pfCpuAfter !== null ? perGib(pfCpuAfter - pfCpuBefore) : null;
    out.throughput_machine_cpu_s_per_gib = tk ? perGib(kcpu.machine) : null;
    out.pf_throughput_machine_cpu_s_per_gib = tp ? perGib(pcpu.machine) : null;

    const sk = await step(`${n.seq} sequential HTTP requests: kinject`, () =>
      viaKinject([client('http-requests.cjs'), 'hello', '80', String(n.seq), '1'], { extra: PF, rssKey: 'http' }),
    );
    out.seq1000_s = sk?.seconds ?? null;
    out.seq1000_failures = sk?.failures ?? null;
    const sd = await step(`${n.seq} sequential HTTP requests: kinject direct`, () =>
      viaKinject([client('http-requests.cjs'), 'hello', '80', String(n.seq), '1'], { extra: DIRECT, rssKey: 'http' }),
    );
    out.direct_seq1000_s = sd?.seconds ?? null;
    const sp = await step(`${n.seq} sequential HTTP requests: kubectl port-forward`, () =>
      viaPf(hello, (port) => [client('http-requests.cjs'), '127.0.0.1', port, String(n.seq), '1']),
    );
    out.pf_seq1000_s = sp?.seconds ?? null;
    out.pf_seq1000_failures = sp?.failures ?? null;

    const ck = await step(`${n.conc} HTTP requests, 50 concurrent: kinject`, () =>
      viaKinject([client('http-requests.cjs'), 'hello', '80', String(n.conc), '50'], { extra: PF, rssKey: 'http' }),
    );
    out.concurrent50_s = ck?.seconds ?? null;
    out.concurrent50_failures = ck?.failures ?? null;
    const cd = await step(`${n.conc} HTTP requests, 50 concurrent: kinject direct`, () =>
      viaKinject([client('http-requests.cjs'), 'hello', '80', String(n.conc), '50'], { extra: DIRECT, rssKey: 'http' }),
    );
    out.direct_concurrent50_s = cd?.seconds ?? null;
    out.direct_concurrent50_failures = cd?.failures ?? null;
    const cp = await step(`${n.conc} HTTP requests, 50 concurrent: kubectl port-forward`, () =>
      viaPf(hello, (port) => [client('http-requests.cjs'), '127.0.0.1', port, String(n.conc), '50']),
    );
    out.pf_concurrent50_s = cp?.seconds ?? null;
    out.pf_concurrent50_failures = cp?.failures ?? null;

    Object.assign(out, await loadTools({ kinject, env, ns: NS, hello, quick, step }));
  } finally {
    hello?.stop();
    echo?.stop();
  }

  const floor = await step('connect latency: floor (a toolbox pod inside the cluster)', () =>
    floorLatency(kubeconfig, readFileSync(client('connect-latency.cjs'), 'utf8'), n.connects),
  );
  out.floor_connect_p50_ms = floor && median(floor);
  out.floor_connect_p99_ms = floor && percentile(floor, 99);

  // start time, alternating targetless and --target so both see the same conditions
  const starts = { targetless: [], target: [] };
  await step(`start time of kinject run -- true (${n.starts} × targetless, ${n.starts} × --target deployment/web)`, async () => {
    const failures = { targetless: 0, target: 0 };
    for (let i = 0; i < n.starts; i++) {
      for (const [key, extra] of [
        ['targetless', []],
        ['target', ['--target', 'deployment/web']],
      ]) {
        try {
          const r = await run(kinject, ['run', '-n', NS, ...PF, ...extra, '--', 'true'], { env, timeoutMs: 60000 });
          rss.start = Math.max(rss.start, r.peakRssMb);
          starts[key].push({ s: r.ms / 1000, phases: startPhases(r.lines, r.ms) });
        } catch (err) {
          failures[key]++;
          out.notes[`start ${key}`] = `${failures[key]} of ${n.starts} runs failed, last: ${err.message}`;
        }
      }
    }
  });
  for (const key of ['targetless', 'target']) {
    const runs = starts[key];
    out[`start_${key}_s`] = runs.length ? median(runs.map((r) => r.s)) : null;
    out[`start_${key}_runs`] = runs.length;
    const phases = {};
    for (const p of PHASES) {
      const values = runs.map((r) => r.phases[p]).filter((v) => v !== null);
      phases[p] = values.length ? median(values) : null;
    }
    out[`start_${key}_phases_s`] = phases;
  }

  // a 100 MiB file read through the sshfs mount of deployment/web's volumes (null while
  // `kinject run --target` mounts nothing: the client then reports why)
  const vol = await step(`volume: ${n.volumeMib} MiB written, then read 3 × cold through the mount`, () =>
    viaKinject([client('volume-read.cjs'), String(n.volumeMib), '/data', '3'], { extra: [...PF, '--target', 'deployment/web'], timeoutMs: 180000 }),
  );
  out.volume_read_100mib_mibs = vol?.read_mibs ?? null;
  out.volume_write_100mib_mibs = vol?.write_mibs ?? null;
  if (vol?.reason) out.notes.volume = vol.reason;

  out.peak_rss_mb = Math.max(rss.http, rss.start) || null;
  out.peak_rss_http_mb = rss.http || null;
  out.peak_rss_start_mb = rss.start || null;
  out.peak_rss_throughput_mb = rss.throughput || null;
  return out;
}

/**
 * The phases of one `kinject run -- true`, in seconds, from the times its progress lines arrived:
 *   cli      spawn → "creating proxy pod" (node start-up, modules, kubeconfig, --target lookup)
 *   pod      → "pod ready" (Job + Secret + unsuspend, controller, scheduler, kubelet, init
 *            containers, container running; kinject polls every 250 ms)
 *   tunnel   → "tunnel up" (port-forward stream to the pod server, SOCKS5 auth; env with --target)
 *   volumes  → "volumes mounted" (sshfs through the tunnel; --target only, else 0)
 *   exit     → process exit (front + DNS start, the child `true`, then cleanup: unmount, deletes,
 *            and the wait until the pod object is gone)
 */
const PHASES = ['cli', 'pod', 'tunnel', 'volumes', 'exit'];
function startPhases(lines, totalMs) {
  const at = (re) => lines.find((l) => re.test(l.text))?.ms ?? null;
  const created = at(/creating proxy pod/);
  const ready = at(/pod ready/);
  const tunnel = at(/tunnel up/);
  const volumes = at(/volumes mounted/) ?? tunnel;
  const span = (a, b) => (a !== null && b !== null ? (b - a) / 1000 : null);
  return { cli: span(0, created), pod: span(created, ready), tunnel: span(ready, tunnel), volumes: span(tunnel, volumes), exit: span(volumes, totalMs) };
}

/** connect latency from a toolbox pod in the namespace: the floor no client outside can beat */
async function floorLatency(kubeconfig, source, count) {
  const k = (...args) =>
    execFileSync('kubectl', ['--kubeconfig', kubeconfig, '-n', NS, ...args], { encoding: 'utf8', timeout: 180000, stdio: ['ignore', 'pipe', 'pipe'] });
  const pod = `kinject-bench-floor-${process.pid}`;
  k(
    'run',
    pod,
    '--image=kinject.local/toolbox:1',
    '--image-pull-policy=Never',
    '--restart=Never',
    '--labels=app.kubernetes.io/part-of=kinject-bench',
    '--command',
    '--',
    'sleep',
    '600',
  );
  try {
    k('wait', '--for=condition=Ready', `pod/${pod}`, '--timeout=120s');
    const stdout = k('exec', pod, '--', 'node', '-e', source, 'client', 'hello', '80', String(count));
    return JSON.parse(stdout.trim().split('\n').pop()).samples;
  } finally {
    try {
      k('delete', 'pod', pod, '--wait=false', '--grace-period=0', '--force');
    } catch {
      // sleep 600 ends it anyway
    }
  }
}

// Benchmarks on the local cluster, each beside its baseline in the same run: connection latency
// (kinject, kubectl port-forward, and from inside a pod: the floor), bulk throughput (through the
// echo service), 1,000 sequential HTTP requests, 50 concurrent connections, start time of
// `kinject run -- true`, and kinject's peak RSS.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { run, lastJson } from '../lib/process.js';
import { startPortForward } from '../lib/port-forward.js';
import { median, percentile } from '../lib/stats.js';

const NS = 'kinject-demo';

export async function clusterBenchmarks({ root, kinject, kubeconfig, quick, log }) {
  const env = { ...process.env, KUBECONFIG: kubeconfig };
  const client = (name) => join(root, 'bench', 'clients', name);
  const underKinject = (args) => ['run', '-n', NS, '--', process.execPath, ...args];
  const n = { connects: quick ? 100 : 500, mib: quick ? 200 : 400, seq: 1000, conc: quick ? 200 : 500, starts: quick ? 2 : 5 };
  const out = {};
  let peakRssMb = 0;
  const viaKinject = async (args) => {
    const r = await run(kinject, underKinject(args), { env });
    peakRssMb = Math.max(peakRssMb, r.peakRssMb);
    return lastJson(r.stdout);
  };

  log('connect latency: kinject');
  const kin = await viaKinject([client('connect-latency.cjs'), 'hello', '80', String(n.connects)]);
  out.connect_p50_ms = median(kin.samples);
  out.connect_p99_ms = percentile(kin.samples, 99);

  const hello = await startPortForward(kubeconfig, NS, 'svc/hello', 80);
  const echo = await startPortForward(kubeconfig, NS, 'svc/echo', 7);
  try {
    log('connect latency: kubectl port-forward');
    const pf = lastJson((await run(process.execPath, [client('connect-latency.cjs'), '127.0.0.1', String(hello.port), String(n.connects)])).stdout);
    out.pf_connect_p50_ms = median(pf.samples);
    out.pf_connect_p99_ms = percentile(pf.samples, 99);

    log(`throughput: ${n.mib} MiB through the echo service`);
    out.throughput_mibs = (await viaKinject([client('throughput.cjs'), 'echo', '7', String(n.mib)])).mibs;
    out.pf_throughput_mibs = lastJson((await run(process.execPath, [client('throughput.cjs'), '127.0.0.1', String(echo.port), String(n.mib)])).stdout).mibs;

    log('1,000 sequential HTTP requests, and concurrent ones');
    out.seq1000_s = (await viaKinject([client('http-requests.cjs'), 'hello', '80', String(n.seq), '1'])).seconds;
    out.pf_seq1000_s = lastJson((await run(process.execPath, [client('http-requests.cjs'), '127.0.0.1', String(hello.port), String(n.seq), '1'])).stdout).seconds;
    const conc = await viaKinject([client('http-requests.cjs'), 'hello', '80', String(n.conc), '50']);
    out.concurrent50_s = conc.seconds;
    out.concurrent50_failures = conc.failures;
    const pfConc = lastJson((await run(process.execPath, [client('http-requests.cjs'), '127.0.0.1', String(hello.port), String(n.conc), '50'])).stdout);
    out.pf_concurrent50_s = pfConc.seconds;
    out.pf_concurrent50_failures = pfConc.failures;
  } finally {
    hello.stop();
    echo.stop();
  }

  log('connect latency: floor (from a toolbox pod inside the cluster)');
  out.floor_connect_p50_ms = await floorLatency(kubeconfig, readFileSync(client('connect-latency.cjs'), 'utf8'), n.connects);

  log('start time of kinject run -- true');
  const starts = { targetless: [], target: [] };
  for (let i = 0; i < n.starts; i++) {
    for (const [key, extra] of [['targetless', []], ['target', ['--target', 'deployment/web']]]) {
      const r = await run(kinject, ['run', '-n', NS, ...extra, '--', 'true'], { env });
      peakRssMb = Math.max(peakRssMb, r.peakRssMb);
      starts[key].push(r.ms / 1000);
    }
  }
  out.start_targetless_s = median(starts.targetless);
  out.start_target_s = median(starts.target);
  out.peak_rss_mb = peakRssMb;
  out.counts = n;
  return out;
}

async function floorLatency(kubeconfig, source, count) {
  const k = (...args) => execFileSync('kubectl', ['--kubeconfig', kubeconfig, '-n', NS, ...args], { encoding: 'utf8', timeout: 180000 });
  const pod = `kinject-bench-floor-${process.pid}`;
  k('run', pod, '--image=kinject.local/toolbox:1', '--image-pull-policy=Never', '--restart=Never', '--labels=app.kubernetes.io/part-of=kinject-bench', '--command', '--', 'sleep', '600');
  try {
    k('wait', '--for=condition=Ready', `pod/${pod}`, '--timeout=120s');
    const stdout = k('exec', pod, '--', 'node', '-e', source, 'client', 'hello', '80', String(count));
    return median(JSON.parse(stdout.trim().split('\n').pop()).samples);
  } finally {
    k('delete', 'pod', pod, '--wait=false', '--grace-period=0', '--force');
  }
}

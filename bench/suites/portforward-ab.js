// A/B of kinject builds over --transport port-forward on the local cluster, beside kubectl
// port-forward, interleaved round by round (a loaded machine disturbs each round alike): per
// build, the CPU of `kinject run -- true` (start and end alone), MIB through the echo service
// (MiB/s; kinject's CPU-s per GiB with and without that start/end cost) and REQUESTS HTTP
// requests to hello, 50 at a time (seconds); kubectl port-forward's MiB/s, CPU-s per GiB and
// seconds the same round. One JSON line per measurement, with the 1-minute load average.
// usage: node bench/suites/portforward-ab.js ROUNDS MIB REQUESTS TREE... (a TREE is a kinject
// checkout or copy with bin/kinject and a built dist/; default: this one). AB_TRANSPORT=direct
// measures kinject's direct transport instead.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { run, lastJson } from '../lib/process.js';
import { startPortForward } from '../lib/port-forward.js';
import { processCpuSeconds } from '../lib/cpu.js';
import { repoRoot } from '../../test/helpers/repo.js';

const NS = 'kinject-demo';
const [rounds, mib, requests] = [Number(process.argv[2] || 3), Number(process.argv[3] || 200), Number(process.argv[4] || 1000)];
const trees = process.argv.slice(5).length ? process.argv.slice(5) : [repoRoot];
const kubeconfig = execFileSync('bash', [join(repoRoot, 'cluster/kubeconfig.sh')], { encoding: 'utf8' }).trim();
const env = { ...process.env, KUBECONFIG: kubeconfig };
const client = (name) => join(repoRoot, 'bench', 'clients', name);
const load = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
const gib = mib / 1024;
const print = (o) => process.stdout.write(`${JSON.stringify({ load: load(), ...o })}\n`);

const transport = process.env.AB_TRANSPORT || 'port-forward';
const kinject = (tree, args) => run(join(tree, 'bin/kinject'), ['run', '-n', NS, '--transport', transport, '--', ...args], { env, timeoutMs: 240_000 });
const hello = await startPortForward(kubeconfig, NS, 'svc/hello', 80);
const echo = await startPortForward(kubeconfig, NS, 'svc/echo', 7);
try {
  for (let round = 1; round <= rounds; round++) {
    for (const tree of trees) {
      const start = await kinject(tree, ['true']);
      const t = await kinject(tree, [process.execPath, client('throughput.cjs'), 'echo', '7', String(mib)]);
      const c = await kinject(tree, [process.execPath, client('http-requests.cjs'), 'hello', '80', String(requests), '50']);
      const tj = lastJson(t.stdout);
      const cj = lastJson(c.stdout);
      print({
        round,
        tree,
        transport,
        start_cpu_s: start.cpuSeconds,
        mibs: tj.mibs,
        cpu_s_per_gib: t.cpuSeconds / gib,
        transfer_cpu_s_per_gib: (t.cpuSeconds - start.cpuSeconds) / gib,
        conc_s: cj.seconds,
        conc_failures: cj.failures,
        conc_transfer_cpu_s: c.cpuSeconds - start.cpuSeconds,
      });
    }
    const before = processCpuSeconds(echo.pid);
    const tp = lastJson((await run(process.execPath, [client('throughput.cjs'), '127.0.0.1', String(echo.port), String(mib)], { timeoutMs: 240_000 })).stdout);
    const pfCpu = processCpuSeconds(echo.pid) - before;
    const hBefore = processCpuSeconds(hello.pid);
    const cp = lastJson(
      (await run(process.execPath, [client('http-requests.cjs'), '127.0.0.1', String(hello.port), String(requests), '50'], { timeoutMs: 240_000 })).stdout,
    );
    print({
      round,
      tree: 'kubectl port-forward',
      mibs: tp.mibs,
      cpu_s_per_gib: pfCpu / gib,
      conc_s: cp.seconds,
      conc_failures: cp.failures,
      conc_transfer_cpu_s: processCpuSeconds(hello.pid) - hBefore,
    });
  }
} finally {
  hello.stop();
  echo.stop();
}

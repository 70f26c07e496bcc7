// The floor of kinject's port-forward transport: one client-node port-forward websocket (the
// same openPortForward the tunnel uses, dist/src/tunnel/portforward.js) straight to the echo
// pod's port 7, no mux, no pod server, no front, MIB pumped through and read back; beside
// `kubectl port-forward` to the same pod, interleaved ROUNDS times. Prints one JSON line per
// measurement (MiB/s counting the payload once, this process's or kubectl's CPU-s per GiB, and
// the 1-minute load average). If this floor is far below kubectl's figure, the gap is the
// API server's and kubelet's websocket port-forward path, which kinject cannot change from its side.
// With spdy-transport installed (bench/lib/spdy-portforward.js) each round also measures the same
// through a SPDY/3.1 port-forward stream: would the older protocol be a faster transport?
// usage: node bench/suites/ws-portforward-raw.js ROUNDS MIB
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { openPortForward } from '../../dist/src/tunnel/portforward.js';
import { startPortForward } from '../lib/port-forward.js';
import { processCpuSeconds } from '../lib/cpu.js';
import { run, lastJson } from '../lib/process.js';
import { repoRoot } from '../../test/helpers/repo.js';
import { openSpdyPortForward, spdyTransport } from '../lib/spdy-portforward.js';

const NS = 'kinject-demo';
const [rounds, mib] = [Number(process.argv[2] || 3), Number(process.argv[3] || 200)];
const kubeconfig = execFileSync('bash', [join(repoRoot, 'cluster/kubeconfig.sh')], { encoding: 'utf8' }).trim();
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const pod = execFileSync('kubectl', ['--kubeconfig', kubeconfig, '-n', NS, 'get', 'pod', '-l', 'app=echo', '-o', 'jsonpath={.items[0].metadata.name}'], {
  encoding: 'utf8',
}).trim();
const load = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
const print = (o) => process.stdout.write(`${JSON.stringify({ load: load(), ...o })}\n`);
const total = mib * 1024 * 1024;

/** MIB through stream to the echo port and back: MiB/s and this process's CPU-s per GiB */
async function pumped(stream) {
  const chunk = Buffer.alloc(256 * 1024, 0x5a);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let sent = 0;
  let received = 0;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out after 120 s')), 120_000);
    stream.on('error', reject);
    stream.on('data', (d) => {
      received += d.length;
      if (received >= total) {
        clearTimeout(timer);
        resolve();
      }
    });
    const pump = () => {
      while (sent < total) {
        const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
        sent += piece.length;
        if (!stream.write(piece)) return stream.once('drain', pump);
      }
    };
    pump();
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const used = process.cpuUsage(cpu0);
  stream.destroy();
  return { mibs: mib / seconds, cpu_s_per_gib: (used.user + used.system) / 1e6 / (mib / 1024) };
}

const rawWebsocket = async () => pumped(await openPortForward({ kc, namespace: NS, pod, port: 7 }, { timeoutMs: 10_000 }));
const rawSpdy = async () => pumped(await openSpdyPortForward(kc, NS, pod, 7));

const echo = await startPortForward(kubeconfig, NS, `pod/${pod}`, 7);
try {
  for (let round = 1; round <= rounds; round++) {
    print({ round, path: 'client-node websocket, raw', ...(await rawWebsocket()) });
    if (spdyTransport()) print({ round, path: 'spdy-transport SPDY/3.1, raw', ...(await rawSpdy()) });
    const before = processCpuSeconds(echo.pid);
    const r = lastJson(
      (await run(process.execPath, [join(repoRoot, 'bench/clients/throughput.cjs'), '127.0.0.1', String(echo.port), String(mib)], { timeoutMs: 240_000 }))
        .stdout,
    );
    print({ round, path: 'kubectl port-forward', mibs: r.mibs, cpu_s_per_gib: (processCpuSeconds(echo.pid) - before) / (mib / 1024) });
  }
} finally {
  echo.stop();
}

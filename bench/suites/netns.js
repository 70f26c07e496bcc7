// `--method netns` beside inject-tcp, on the local cluster, same run and same clients: connect
// latency to hello (new connection + one small request), bulk throughput through the echo service,
// and the namespace's start-up cost: the time from "tunnel up" to the exit of `kinject run -- true`
// (front, DNS server, then the command and cleanup), netns minus inject-tcp, runs alternating.
// Numbers only; the 2-core machine is shared, so they are rough. Writes bench/results/netns.json.
// Run: npm run -s build && node bench/suites/netns.js [--quick]   (npm run bench:netns)
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lastJson, run } from '../lib/process.js';
import { median, percentile, round } from '../lib/stats.js';

const NS = 'kinject-demo';

export async function netnsBenchmarks({ root, kinject, kubeconfig, quick, log }) {
  const env = { ...process.env, KUBECONFIG: kubeconfig };
  const client = (name) => join(root, 'bench', 'clients', name);
  const n = { connects: quick ? 100 : 300, mib: quick ? 100 : 200, starts: quick ? 3 : 5 };
  const out = { counts: n, notes: {} };
  const via = async (method, args) => {
    const r = await run(kinject, ['run', '-n', NS, '--method', method, '--', process.execPath, ...args], { env, timeoutMs: 300000 });
    return lastJson(r.stdout);
  };
  for (const method of ['inject-tcp', 'netns']) {
    const key = method === 'netns' ? 'netns' : 'tcp';
    try {
      log(`connect latency: ${method} ...`);
      const c = await via(method, [client('connect-latency.cjs'), 'hello', '80', String(n.connects)]);
      out[`${key}_connect_p50_ms`] = round(median(c.samples));
      out[`${key}_connect_p99_ms`] = round(percentile(c.samples, 99));
    } catch (err) {
      out.notes[`${key} connect`] = `failed: ${err.message}`;
    }
    try {
      log(`throughput: ${method}, ${n.mib} MiB ...`);
      const tp = await via(method, [client('throughput.cjs'), 'echo', '7', String(n.mib)]);
      out[`${key}_throughput_mibs`] = round(tp.mibs, 1);
    } catch (err) {
      out.notes[`${key} throughput`] = `failed: ${err.message}`;
    }
  }
  const after = { tcp: [], netns: [] };
  log(`start-up: ${n.starts} × each method, alternating ...`);
  for (let i = 0; i < n.starts; i++) {
    for (const [key, method] of [
      ['tcp', 'inject-tcp'],
      ['netns', 'netns'],
    ]) {
      try {
        const r = await run(kinject, ['run', '-n', NS, '--method', method, '--', 'true'], { env, timeoutMs: 120000 });
        const up = r.lines.find((l) => /tunnel up/.test(l.text))?.ms;
        if (up !== undefined) after[key].push((r.ms - up) / 1000);
      } catch (err) {
        out.notes[`start ${key}`] = `failed: ${err.message}`;
      }
    }
  }
  out.tcp_after_tunnel_s = after.tcp.length ? round(median(after.tcp), 3) : null;
  out.netns_after_tunnel_s = after.netns.length ? round(median(after.netns), 3) : null;
  out.netns_startup_cost_s =
    out.tcp_after_tunnel_s !== null && out.netns_after_tunnel_s !== null ? round(out.netns_after_tunnel_s - out.tcp_after_tunnel_s, 3) : null;
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const started = Date.now();
  const log = (msg) => process.stderr.write(`bench netns [${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s]: ${msg}\n`);
  const kubeconfig = execFileSync('bash', [join(root, 'cluster/kubeconfig.sh')], { encoding: 'utf8' }).trim();
  const loadStart = loadavg()[0];
  const result = await netnsBenchmarks({ root, kinject: join(root, 'bin', 'kinject'), kubeconfig, quick: process.argv.includes('--quick'), log });
  result.load_average_1m = { start: round(loadStart), end: round(loadavg()[0]) };
  result.caveat = 'measured on a 2-core machine shared with other work (the cluster, other test runs): rough figures';
  writeFileSync(join(root, 'bench', 'results', 'netns.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
}

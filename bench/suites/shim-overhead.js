// Shim overhead where the cluster is never touched: `node -e 0` start-up and COUNT loopback
// connects, with the shim and without, timed A/B from inside one `kinject run --proxy` (to a
// local proxy-server that this loopback traffic never reaches). Ratios > 1 mean the shim costs
// that much more. The headline ratio compares the lower quartiles of the wall times: on a shared
// machine the times are bimodal (a run that lands beside other load takes ~1.4× as long, with or
// without the shim), and the fast mode is the program's own cost. The ratio of the medians and of
// the summed CPU times are recorded beside it. kinject's own start-up is measured separately (the start-time figures).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { run, lastJson } from '../lib/process.js';
import { median, percentile } from '../lib/stats.js';

async function startProxyServer(kinject) {
  const server = spawn(kinject, ['proxy-server', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`proxy-server did not start: ${text}`)), 10000);
    server.stderr.on('data', (d) => {
      text += d;
      const m = /listening on [^\s]+:(\d+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  return { port, stop: () => server.kill('SIGTERM') };
}

export async function shimOverhead({ root, kinject, quick }) {
  const proxy = await startProxyServer(kinject);
  try {
    const ab = async (rounds, args) => {
      const r = await run(kinject, [
        'run',
        '--proxy',
        `socks5://127.0.0.1:${proxy.port}`,
        '--',
        process.execPath,
        join(root, 'bench', 'clients', 'shim-ab.cjs'),
        String(rounds),
        ...args,
      ]);
      const { shim_ms, plain_ms, shim_cpu_ms, plain_cpu_ms } = lastJson(r.stdout);
      return {
        shim: percentile(shim_ms, 25),
        plain: percentile(plain_ms, 25),
        medianRatio: median(shim_ms) / median(plain_ms),
        cpuRatio: plain_cpu_ms > 0 ? shim_cpu_ms / plain_cpu_ms : null,
      };
    };
    const start = await ab(quick ? 30 : 100, [process.execPath, '-e', '0']);
    const count = quick ? 2000 : 10000;
    const loop = await ab(quick ? 3 : 7, [process.execPath, join(root, 'bench', 'clients', 'loopback-connects.cjs'), String(count)]);
    return {
      node_start_plain_ms: start.plain,
      node_start_kinject_ms: start.shim,
      node_start_cpu_ratio: start.cpuRatio,
      node_start_median_ratio: start.medianRatio,
      loopback_plain_s: loop.plain / 1000,
      loopback_kinject_s: loop.shim / 1000,
      loopback_cpu_ratio: loop.cpuRatio,
      loopback_median_ratio: loop.medianRatio,
      count,
    };
  } finally {
    proxy.stop();
  }
}

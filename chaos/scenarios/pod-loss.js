// The proxy pod deleted under a running `kinject run --target` with a request loop (0.5 s), once
// gracefully and once with --force --grace-period=0 per round: failed requests, the time from the
// delete to the first good request after the failures, leftovers after the run.
import { clusterLeftovers, failLines, kubectl, machineLeftovers, mark, recoveryMs, requestLoop, sessionOf, startKinject, until } from '../lib.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function lossTry(kc, ns, disrupt, { waitBack = /the session is back/, args = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kinject-chaos-'));
  const stop = join(dir, 'stop');
  const m = mark();
  const child = startKinject(kc, ['-n', ns, '--target', 'deployment/hello', '--no-mount', ...args], requestLoop(600, 500, m), { STOP: stop });
  const row = { failedRequests: 0, recoveryMs: undefined, left: [], error: undefined };
  try {
    if (!(await until(() => /^OK /m.test(child.out), 150_000))) throw new Error(`no request worked before the disruption: ${child.err.slice(-300)}`);
    const id = sessionOf(child.err);
    const at = await disrupt({ child, id });
    await until(() => waitBack.test(child.err), 240_000);
    await until(() => recoveryMs(child.out, at) !== undefined, 120_000);
    writeFileSync(stop, '');
    const end = await Promise.race([child.exited, new Promise((r) => setTimeout(() => r({ hung: true }), 60_000))]);
    if (end.hung) throw new Error('kinject did not end');
    row.failedRequests = failLines(child.out).length;
    row.recoveryMs = recoveryMs(child.out, at);
    row.exit = end.code;
    row.lines = child.err.split('\n').filter((l) => /gone|back|lost/.test(l));
    row.left = [...(await clusterLeftovers(kc, ns)), ...machineLeftovers(m, id, child.pid)];
  } catch (err) {
    row.error = err.message;
    child.kill('SIGKILL');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return row;
}

export default async function podLoss({ kc, ns, full, note }) {
  const rounds = full ? 5 : 1;
  const rows = [];
  for (let i = 0; i < rounds; i++) {
    for (const force of [false, true]) {
      const row = await lossTry(kc, ns, async ({ id }) => {
        const pod = (await kubectl(kc, ['-n', ns, 'get', 'pods', '-l', `kinject.dev/session=${id}`, '-o', 'name'])).trim();
        const at = Date.now();
        await kubectl(kc, ['-n', ns, 'delete', pod, '--wait=false', ...(force ? ['--force', '--grace-period=0'] : [])]);
        return at;
      });
      row.force = force;
      if (row.error || row.left.length || row.recoveryMs === undefined) note(`pod loss (${force ? 'forced' : 'graceful'}): ${row.error ?? ''} left ${row.left.join(', ')}`);
      rows.push(row);
    }
  }
  return summarize(rows);
}

export function summarize(rows) {
  return {
    tries: rows.length,
    failures: rows.filter((r) => r.error || r.recoveryMs === undefined || r.exit !== 0).length,
    failedRequests: rows.reduce((n, r) => n + r.failedRequests, 0),
    leftovers: rows.reduce((n, r) => n + r.left.length, 0),
    recovery: rows.map((r) => r.recoveryMs),
    recoveryMeans: 'ms from the disruption to the first good request after the failed ones',
    rows,
  };
}

// The tunnel's connections to the API server cut with `ss -K` under a running session with a
// request loop: failed requests and recovery time (as in pod-loss.js). The session uses
// --transport port-forward: the direct transport (auto's choice on this cluster) does not go
// through the API server at all.
import { execFileSync } from 'node:child_process';
import { lossTry, summarize } from './pod-loss.js';

function apiPort(kc) {
  const view = execFileSync('kubectl', ['--kubeconfig', kc, 'config', 'view', '--minify'], { encoding: 'utf8' });
  return new URL(/server:\s*(\S+)/.exec(view)[1]).port || '443';
}

export default async function tunnelCut({ kc, ns, full, note }) {
  const port = apiPort(kc);
  const rows = [];
  for (let i = 0; i < (full ? 5 : 1); i++) {
    const row = await lossTry(
      kc,
      ns,
      async ({ child }) => {
        const out = execFileSync('ss', ['-tnpH', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' });
        const ports = out
          .split('\n')
          .filter((l) => l.includes(`pid=${child.pid},`))
          .map((l) => l.trim().split(/\s+/)[2].split(':').pop());
        const at = Date.now();
        for (const p of ports) execFileSync('ss', ['-K', 'dport', '=', port, 'sport', '=', p], { stdio: 'ignore' });
        return at;
      },
      { waitBack: /is back/, args: ['--transport', 'port-forward'] },
    );
    if (row.error || row.left.length) note(`tunnel cut: ${row.error ?? ''} left ${row.left.join(', ')}`);
    rows.push(row);
  }
  return summarize(rows);
}

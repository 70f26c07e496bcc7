// The port-forward dies under a running `kinject run` (its TCP connections to the API server are
// cut with `ss -K`, as a network drop or an API server restart would): kinject says so in one
// line, opens a new one at once, says it is back, and the program's next connection works. Also
// the kill of the connection itself: a connection open through the tunnel at that moment is
// reset, not left hanging.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCluster, kinjectLeftovers } from '../helpers/cluster.js';
import { sessionOf, spawnKinject, until } from '../helpers/kinject-cli.js';

const NS = 'kinject-demo';
const { kubeconfig } = await ensureCluster();
const apiPort =
  new URL(/server:\s*(\S+)/.exec(execFileSync('kubectl', ['--kubeconfig', kubeconfig, 'config', 'view', '--minify'], { encoding: 'utf8' }))[1]).port || '443';

/** local ports of pid's TCP connections to the API server */
function apiConnections(pid) {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established', `( dport = :${apiPort} )`], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => l.trim().split(/\s+/)[2].split(':').pop());
}

t.test('the tunnel is cut: one line when lost, one when back, the next connection works', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kinject-loss-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const go = join(dir, 'go');
  // an echo connection stays open across the cut; after it, a new request to hello
  const script = [
    `node -e "const s=require('net').connect(7,'echo',()=>{s.write('x');console.log('open')});s.on('data',()=>{});s.on('close',()=>console.log('open connection closed'));setTimeout(()=>process.exit(0),60000).unref()" &`,
    'i=0; while [ ! -e "$GO" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done',
    'curl -sS -m 10 http://hello/; echo; wait',
  ].join('\n');
  const child = spawnKinject(['run', '-n', NS, '--transport', 'port-forward', '--', 'sh', '-c', script], { kubeconfig, env: { ...process.env, GO: go } });
  t.ok(await until(() => child.out.includes('open'), { timeoutMs: 120_000 }), 'an echo connection is open through the tunnel');
  const ports = apiConnections(child.pid);
  t.ok(ports.length >= 1, `kinject's connections to the API server: ${ports.join(', ')}`);
  for (const port of ports) execFileSync('ss', ['-K', 'dport', '=', apiPort, 'sport', '=', port], { stdio: 'ignore' });
  t.ok(await until(() => /is back/.test(child.err), { timeoutMs: 30_000 }), 'the tunnel came back');
  t.match(child.err, /kinject: the tunnel to the proxy pod kinject-demo\/kinject-\S+ was lost \(.+\); open connections were reset, reconnecting\n/);
  t.ok(
    await until(() => child.out.includes('open connection closed'), { timeoutMs: 10_000 }),
    'the connection open during the cut was reset, not left hanging',
  );
  writeFileSync(go, '');
  const end = await child.exited;
  t.equal(end.code, 0, child.err);
  t.match(child.out, /hello from hello-/, 'a new connection after the cut works');
  t.equal(child.err.match(/was lost/g).length, 1, 'one line for the loss');
  t.same(await kinjectLeftovers(kubeconfig, NS, sessionOf(child.err)), [], 'nothing left');
});

// --transport (src/tunnel/transport.ts) on the real local cluster, sessions in this file's own
// namespace, requests to the sample `hello` in kinject-demo (read only). This host reaches pod IPs
// over the bridge, so auto picks direct: the progress line says so, kinject's TCP connection goes
// to the pod IP's direct port, and strangers (openssl s_client without the session's certificate,
// a plain SOCKS client) get nothing there. --transport port-forward is used when asked for. The
// local cluster enforces no NetworkPolicy, so an unreachable pod IP is simulated by the documented
// test hooks: KINJECT_TEST_DIRECT_UNREACHABLE=1 (auto falls back to port-forward; --transport
// direct fails with one line and leaves nothing) and KINJECT_TEST_DIRECT_CUT_AFTER_MS (the direct
// path goes away mid-session: one line, and the next request goes over the port-forward).
import t from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { ensureCluster, kinjectLeftovers, ownNamespace } from '../helpers/cluster.js';
import { kinject, sessionOf, spawnKinject, until } from '../helpers/kinject-cli.js';

const { kubeconfig } = await ensureCluster();
const NS = await ownNamespace(t, kubeconfig, 'transport');
const HELLO = 'http://hello.kinject-demo/';

/** established TCP connections of pid to port */
function connectionsTo(pid, port) {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(`pid=${pid},`));
}

function run(cmd, args, input = '', timeoutMs = 15_000) {
  return new Promise((resolve) => {
    const c = execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
    c.stdin.end(input);
  });
}

t.test('auto picks direct here: the line says so, the connection goes to the pod IP, strangers are refused', async (t) => {
  const child = spawnKinject(['run', '-n', NS, '--', 'sh', '-c', `curl -sS -m 10 ${HELLO}; echo; sleep 20`], { kubeconfig });
  t.teardown(() => child.kill('SIGTERM'));
  t.ok(await until(() => child.out.includes('hello from'), { timeoutMs: 120_000 }), `a request went through: ${child.err}`);
  const m = /tunnel up to \S+ via direct \(([\d.]+):(\d+)\)/.exec(child.err);
  t.ok(m, `the progress line names the direct transport: ${child.err}`);
  const [, ip, port] = m;
  t.ok(
    connectionsTo(child.pid, port).some((l) => l.includes(`${ip}:${port}`)),
    'kinject holds a TCP connection to the pod IP',
  );
  const ssl = await run('openssl', ['s_client', '-connect', `${ip}:${port}`, '-quiet'], 'GET / HTTP/1.0\r\n\r\n');
  t.not(ssl.code, 0, 'openssl s_client without a client certificate is refused');
  t.match(ssl.stderr, /alert|error|certificate/i, 'refused in the TLS handshake');
  const socks = await run('curl', ['-sS', '-m', '5', '--socks5-hostname', `${ip}:${port}`, HELLO]);
  t.not(socks.code, 0, 'a plain SOCKS5 client gets nothing there');
  child.kill('SIGTERM');
  await child.exited;
  t.same(await kinjectLeftovers(kubeconfig, NS, sessionOf(child.err)), [], 'nothing left');
});

t.test('--transport port-forward is used when asked for', async (t) => {
  const r = await kinject(['run', '-n', NS, '--transport', 'port-forward', '--', 'curl', '-sS', '-m', '10', HELLO], { kubeconfig });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /tunnel up to \S+ via port-forward\n/);
  t.match(r.stdout, /hello from hello-/);
});

t.test('auto with the pod IP unreachable (test hook): port-forward, and the reason', async (t) => {
  const r = await kinject(['run', '-n', NS, '--', 'curl', '-sS', '-m', '10', HELLO], { kubeconfig, env: { KINJECT_TEST_DIRECT_UNREACHABLE: '1' } });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /tunnel up to \S+ via port-forward \(direct not reachable: .*unreachable \(test hook\)\)/);
  t.match(r.stdout, /hello from hello-/);
});

t.test('--transport direct with the pod IP unreachable (test hook): one line, exit 1, nothing left', async (t) => {
  const r = await kinject(['run', '-n', NS, '--transport', 'direct', '--', 'curl', '-sS', HELLO], {
    kubeconfig,
    env: { KINJECT_TEST_DIRECT_UNREACHABLE: '1' },
  });
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /kinject: --transport direct: cannot reach the proxy pod \S+ at [\d.]+:\d+ .*use --transport auto or port-forward\n/);
  t.notMatch(r.stdout, /hello from/, 'the command did not run');
  t.same(await kinjectLeftovers(kubeconfig, NS, sessionOf(r.stderr)), [], 'nothing left');
});

t.test('the direct path goes away mid-session (test hook): one line, then port-forward', async (t) => {
  const r = await kinject(['run', '-n', NS, '--', 'sh', '-c', `curl -sS -m 10 ${HELLO}; echo; sleep 5; curl -sS -m 20 ${HELLO}`], {
    kubeconfig,
    env: { KINJECT_TEST_DIRECT_CUT_AFTER_MS: '2500' },
  });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /via direct/);
  t.equal((r.stdout.match(/hello from hello-/g) ?? []).length, 2, 'both requests answered');
  t.match(r.stderr, /kinject: the direct connection to the proxy pod \S+ failed \(.*\); switching to port-forward\n/);
  t.equal((r.stderr.match(/switching to port-forward/g) ?? []).length, 1, 'one switch line');
  t.notMatch(r.stderr, /tunnel to the proxy pod \S+ (was lost|is back)/, 'and no lost/back lines beside it');
});

t.test('a bad --transport is a usage error', async (t) => {
  const r = await kinject(['run', '--transport', 'carrier-pigeon', '--', 'true'], { kubeconfig });
  t.equal(r.code, 2, r.stderr);
  t.match(r.stderr, /--transport/);
});

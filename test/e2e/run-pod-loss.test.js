// The proxy pod is lost under a running `kinject run --target` (deleted gracefully, with
// --force --grace-period=0, evicted through the Eviction API: pods/eviction on that pod only, or
// its server OOM-killed by the kernel: a memory hog in its container, test/helpers/oom-kill.js)
// while the command makes a request every 0.5 s: kinject says so in one line (for the OOM kill,
// naming it and the memory limit), makes a new pod (again a copy of the workload), says it is back
// in one line, the later requests work, the child's env is the one it started with, and nothing
// of either pod is left. The failed requests and the recovery time are printed as test comments
// (the chaos suite, chaos/, collects them over many tries).
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applySample, ensureCluster, kinjectLeftovers, kubectlOk, ownNamespace } from '../helpers/cluster.js';
import { sessionOf, spawnKinject, until } from '../helpers/kinject-cli.js';
import { oomKillProxyPod } from '../helpers/oom-kill.js';

const { kubeconfig } = await ensureCluster();
const NS = await ownNamespace(t, kubeconfig, 'podloss');
await applySample(kubeconfig, '20-hello.yaml', NS);

// at most 400 requests (~4 min): OK/FAIL with a timestamp per request, then the env it had
const LOOP = [
  'i=0; while [ $i -lt 400 ] && [ ! -e "$STOP" ]; do',
  '  if curl -sS -m 5 -o /dev/null http://hello/; then echo "OK $(date +%s%3N)"; else echo "FAIL $(date +%s%3N)"; fi',
  '  sleep 0.5; i=$((i+1))',
  'done; echo "POD_NAME=$POD_NAME"',
].join('\n');

const HOW = {
  graceful: 'deleted',
  forced: 'deleted with --force --grace-period=0',
  evicted: 'evicted (policy/v1 Eviction)',
  oom: 'OOM-killed (its server, by the kernel, over the container memory limit)',
};
// the part of the lost line in parentheses, per way of losing the pod
const WHY = { oom: /OOM-killed, over its 128Mi memory limit/ };

for (const [how, what] of Object.entries(HOW)) {
  t.test(`proxy pod ${what}: a new one, one line each way`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'kinject-podloss-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const stop = join(dir, 'stop');
    const child = spawnKinject(['run', '-n', NS, '--target', 'deployment/hello', '--no-mount', '--', 'sh', '-c', LOOP], {
      kubeconfig,
      env: { ...process.env, STOP: stop },
    });
    t.teardown(() => child.kill('SIGKILL'));
    t.ok(await until(() => /^OK /m.test(child.out), { timeoutMs: 150_000 }), `requests work before the loss\n${child.err}`);
    const first = sessionOf(child.err);
    const pod = (await kubectlOk(kubeconfig, ['-n', NS, 'get', 'pods', '-l', `kinject.dev/session=${first}`, '-o', 'name'])).trim();
    t.ok(pod, `the proxy pod ${pod}`);
    let deletedAt = Date.now();
    if (how === 'evicted') {
      const body = JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod.replace('pod/', ''), namespace: NS } });
      await kubectlOk(kubeconfig, ['create', '--raw', `/api/v1/namespaces/${NS}/pods/${pod.replace('pod/', '')}/eviction`, '-f', '-'], { input: body });
    } else if (how === 'oom') {
      const hog = await oomKillProxyPod(kubeconfig, NS, pod.replace('pod/', ''));
      deletedAt = Date.now(); // the exec ends when the container dies: the server is dead by now
      t.comment(`the hog: exit ${hog.code}, ${hog.stdout.trim().replace(/\n/g, ' / ')} ${hog.stderr.trim()}`);
      t.match(hog.stdout, /^scores: server \d+ 1000, hog /m, "the hog raised the server's OOM score");
      t.notMatch(hog.stdout, /nothing was killed/, 'the hog did not outlive the container');
    } else {
      await kubectlOk(kubeconfig, ['-n', NS, 'delete', pod, '--wait=false', ...(how === 'forced' ? ['--force', '--grace-period=0'] : [])]);
    }
    t.ok(await until(() => /the session is back/.test(child.err), { timeoutMs: 180_000 }), `the session came back\n${child.err}`);
    const backAt = Date.now();
    // a few requests after the return, then stop the loop
    const okCount = () => (child.out.match(/^OK /gm) ?? []).length;
    const before = okCount();
    t.ok(await until(() => okCount() >= before + 4, { timeoutMs: 60_000 }), `requests work after the return\n${child.out}`);
    writeFileSync(stop, '');
    const end = await child.exited;
    t.equal(end.code, 0, child.err);
    const lines = child.out.split('\n');
    const fails = lines.filter((l) => l.startsWith('FAIL ')).map((l) => Number(l.slice(5)));
    const lastFail = Math.max(deletedAt, ...fails);
    const firstOkAfter = lines
      .filter((l) => l.startsWith('OK '))
      .map((l) => Number(l.slice(3)))
      .find((ms) => ms > lastFail);
    t.comment(
      `failed requests: ${fails.length}; first good request after the failures ${((firstOkAfter - deletedAt) / 1000).toFixed(1)} s after the ${how === 'oom' ? 'kill' : 'delete'}`,
    );
    t.ok(
      fails.every((ms) => ms < backAt + 6000),
      'no request fails once the session is back (beyond one in flight)',
    );
    const why = WHY[how]?.source ?? '.+';
    t.match(child.err, new RegExp(`^kinject: the proxy pod \\S+ is gone \\(${why}\\); making a new one \\(open connections were reset\\)$`, 'm'));
    t.match(child.err, /^kinject: the session is back: new proxy pod \S+ \(\d+\.\d s after the loss\)$/m);
    t.equal((child.err.match(/is gone/g) ?? []).length, 1, 'one line for the loss');
    t.equal((child.err.match(/is back/g) ?? []).length, 1, 'one line for the return');
    t.notMatch(child.err, /restart kinject|was lost|switching to port-forward/, 'no per-connection "gone" lines, no tunnel or transport line on top');
    t.match(child.out, new RegExp(`^POD_NAME=${pod.replace('pod/', '')}$`, 'm'), "the child's env is the one it started with (the first pod's)");
    const second = /new proxy pod \S+\/kinject-([a-z0-9]+)-/.exec(child.err)?.[1];
    t.ok(second && second !== first, `a new session pod (${second})`);
    t.same(await kinjectLeftovers(kubeconfig, NS, first), [], 'nothing left of the lost pod');
    t.same(await kinjectLeftovers(kubeconfig, NS, second), [], 'nothing left of the new pod');
  });
}

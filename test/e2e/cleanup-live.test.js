// `kinject cleanup` and live sessions (issue 21), on the real cluster, in a namespace of its own,
// as the service account bound to exactly rbac/kinject-role.yaml: two live `kinject run` sessions
// making requests keep working while a third process runs `kinject cleanup`, which says it kept
// them; a SIGKILLed session is removed by the next cleanup once its grace has passed;
// `kinject session close` and `kinject cleanup --include-live --yes` end live sessions, which then
// exit 1 saying who closed them; two CI-style jobs (cleanup, then run) in parallel both succeed.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { userInfo, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCluster, kinjectLeftovers, kubectl, kubectlOk } from '../helpers/cluster.js';
import { kinject, kinjectBin, sessionOf, spawnKinject, until } from '../helpers/kinject-cli.js';
import { roleKubeconfig } from '../helpers/rbac-kubeconfig.js';
import { graceEnv, pastGrace } from '../helpers/session-grace.js';

const NS = 'kinject-e2e-live';
const { kubeconfig: admin } = await ensureCluster();
await kubectl(admin, ['delete', 'namespace', NS, '--wait=true', '--timeout=60s']);
await kubectlOk(admin, ['create', 'namespace', NS]);
t.teardown(() => kubectl(admin, ['delete', 'namespace', NS, '--wait=false']));
const kubeconfig = await roleKubeconfig(admin, NS);
const me = `${userInfo().username}@${hostname()}`;

// a session that asks the cluster's hello service every 0.3 s and prints ok or FAIL each time
const LOOP = 'echo "pid=$$"; while :; do if curl -sS -m 5 -o /dev/null http://hello.kinject-demo/; then echo ok; else echo FAIL; fi; sleep 0.3; done';
const oks = (child) => (child.out.match(/^ok$/gm) ?? []).length;

// live sessions keep the default grace (30 s): a busy machine must not make them look gone
function liveSession(t) {
  const child = spawnKinject(['run', '-n', NS, '--', 'sh', '-c', LOOP], { kubeconfig });
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([child.exited, new Promise((r) => setTimeout(r, 20_000))]);
  });
  return child;
}

async function started(t, child) {
  t.ok((await until(() => oks(child) >= 1 || child.exitCode !== null, { timeoutMs: 150_000 })) && oks(child) >= 1, `session answers\n${child.err}`);
  const id = sessionOf(child.err);
  t.ok(id, 'session id in the progress line');
  return id;
}

t.test('two live sessions keep working while a third process cleans up; cleanup says it kept them', async (t) => {
  const a = liveSession(t);
  const b = liveSession(t);
  const [idA, idB] = [await started(t, a), await started(t, b)];
  const r = await kinject(['cleanup', '-n', NS], { kubeconfig });
  t.equal(r.code, 0, r.stderr);
  for (const [id, child] of [
    [idA, a],
    [idB, b],
  ]) {
    t.match(r.stdout, new RegExp(`^kept live session ${NS}/kinject-${id} of ${me}, pid ${child.pid}, renewed \\d+ s ago$`, 'm'));
  }
  t.notMatch(r.stdout, /^removed (Job|Secret|Pod|Lease) /m, 'nothing removed in the cluster'); // (local mounts of dead kinjects may go)
  t.match(r.stderr, /nothing to clean up in namespace kinject-e2e-live \(kept 2 live sessions\)/);
  const [okA, okB] = [oks(a), oks(b)];
  t.ok(await until(() => oks(a) >= okA + 5 && oks(b) >= okB + 5, { timeoutMs: 60_000 }), 'both keep answering after the cleanup');
  t.notMatch(a.out + b.out, /FAIL/, 'no request failed');
  t.notMatch(a.err + b.err, /tunnel .* was lost/, 'no tunnel was lost');
  const list = await kinject(['session', 'list', '-n', NS], { kubeconfig });
  t.match(list.stdout, new RegExp(`^live +${NS}/kinject-${idA} of ${me}, pid ${a.pid}, renewed \\d+ s ago$`, 'm'), 'session list shows them live');
  a.kill('SIGINT');
  b.kill('SIGINT');
  t.not((await a.exited).code, 1, 'ended by its SIGINT, not closed');
  t.not((await b.exited).code, 1);
});

t.test('a SIGKILLed session is removed by the next cleanup once its grace has passed', async (t) => {
  const child = spawnKinject(['run', '-n', NS, '--', 'sh', '-c', 'echo "pid=$$"; exec sleep 120'], { kubeconfig, env: graceEnv });
  t.ok(await until(() => /pid=\d+/.test(child.out), { timeoutMs: 150_000 }), `child started\n${child.err}`);
  const sleepPid = Number(/pid=(\d+)/.exec(child.out)[1]);
  t.teardown(() => {
    try {
      process.kill(sleepPid, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  const id = sessionOf(child.err);
  child.kill('SIGKILL');
  await child.exited;
  for (const stream of [child.stdin, child.stdout, child.stderr]) stream.destroy();
  process.kill(sleepPid, 'SIGKILL');
  t.not((await kinjectLeftovers(admin, NS, id)).length, 0, 'its objects are still there');
  await pastGrace();
  const r = await kinject(['cleanup', '-n', NS], { kubeconfig });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`^removed Job ${NS}/kinject-${id}$`, 'm'));
  t.notMatch(r.stdout, /kept live session/);
  t.ok(await until(async () => (await kinjectLeftovers(admin, NS, id)).length === 0, { timeoutMs: 30_000, intervalMs: 500 }), 'nothing left');
  t.equal((await kubectlOk(admin, ['-n', NS, 'get', 'leases', '-l', `kinject.dev/session=${id}`, '-o', 'name'])).trim(), '', 'its Lease went with its Job');
});

t.test('ending live sessions on purpose: session close, cleanup --include-live', async (t) => {
  const a = liveSession(t);
  const b = liveSession(t);
  const [idA, idB] = [await started(t, a), await started(t, b)];

  const refused = await kinject(['cleanup', '-n', NS, '--include-live'], { kubeconfig });
  t.equal(refused.code, 2, 'without --yes and without a terminal: refused');
  t.match(refused.stderr, /^kinject: --include-live ends sessions that are in use .*add --yes/m);
  t.equal(refused.stdout, '', 'nothing done');

  const closed = await kinject(['session', 'close', '-n', NS, `kinject-${idA}`], { kubeconfig });
  t.equal(closed.code, 0, closed.stderr);
  t.match(closed.stdout, new RegExp(`^closed live session ${NS}/kinject-${idA} of ${me}, pid ${a.pid}`, 'm'));
  const endA = await a.exited;
  t.equal(endA.code, 1, 'the closed session exits 1');
  t.match(a.err, new RegExp(`^kinject: session ${NS}/kinject-${idA} was closed by ${me} pid \\d+ \\(kinject session close\\); stopping sh$`, 'm'));
  t.ok(oks(b) > 0 && b.exitCode === null, 'the other session still runs');

  const all = await kinject(['cleanup', '-n', NS, '--include-live', '--yes'], { kubeconfig });
  t.equal(all.code, 0, all.stderr);
  t.match(all.stdout, new RegExp(`^closed live session ${NS}/kinject-${idB} of ${me}, pid ${b.pid}`, 'm'));
  const endB = await b.exited;
  t.equal(endB.code, 1);
  t.match(b.err, new RegExp(`^kinject: session ${NS}/kinject-${idB} was closed by ${me} pid \\d+ \\(kinject cleanup --include-live\\); stopping sh$`, 'm'));
  t.ok(await until(async () => (await kinjectLeftovers(admin, NS)).length === 0, { timeoutMs: 30_000, intervalMs: 500 }), 'nothing left of either');

  const none = await kinject(['session', 'close', '-n', NS, 'kinject-zzzz0000'], { kubeconfig });
  t.equal(none.code, 1);
  t.match(none.stderr, /^kinject: no kinject session kinject-zzzz0000 in namespace kinject-e2e-live; `kinject session list -n NS` shows them$/m);
});

t.test('two CI-style jobs in parallel, each cleanup then run: neither fails', async (t) => {
  // job B's cleanup runs while job A's session is up (marker files make sure the two overlap),
  // and A's session keeps making requests until B's cleanup is over and a few times after
  const dir = mkdtempSync(join(tmpdir(), 'kinject-ci-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const curl = 'curl -sS -m 5 -o /dev/null http://hello.kinject-demo/ || exit 20';
  const session = (me, waitFor) =>
    `"${kinjectBin}" run -n ${NS} -- sh -c 'touch ${dir}/${me}-up; i=0; until [ -f ${dir}/${waitFor} ] || [ $i -ge 600 ]; do ${curl}; sleep 0.2; i=$((i+1)); done; for j in 1 2 3 4 5; do ${curl}; sleep 0.3; done' || exit 30`;
  const jobA = `"${kinjectBin}" cleanup -n ${NS} || exit 10; ${session('a', 'b-cleaned')}`;
  const jobB = `i=0; until [ -f ${dir}/a-up ] || [ $i -ge 600 ]; do sleep 0.2; i=$((i+1)); done; "${kinjectBin}" cleanup -n ${NS} || exit 10; touch ${dir}/b-cleaned; ${session('b', 'a-up')}`;
  const [one, two] = await Promise.all([runKinjectShell(jobA), runKinjectShell(jobB)]);
  t.equal(one.code, 0, `job A: ${one.stderr}`);
  t.equal(two.code, 0, `job B: ${two.stderr}`);
  const idA = sessionOf(one.stderr);
  t.match(two.stdout, new RegExp(`^kept live session ${NS}/kinject-${idA} of `, 'm'), "B's cleanup kept A's session");
  t.notMatch(one.stderr + two.stderr, /tunnel .* was lost|was closed by/);
  t.ok(await until(async () => (await kinjectLeftovers(admin, NS)).length === 0, { timeoutMs: 30_000, intervalMs: 500 }), 'nothing left');
});

/** a CI job: a shell script calling kinject (hard timeout 300 s) */
function runKinjectShell(script) {
  return new Promise((resolve) => {
    execFile(
      'sh',
      ['-c', script],
      { timeout: 300_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, KUBECONFIG: kubeconfig } },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

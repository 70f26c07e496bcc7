// When kinject is killed with SIGKILL nothing stays for long: the proxy pod exits 30 s after its
// last client connection closed, its Job completes and ttlSecondsAfterFinished: 0 removes Job,
// pod and Secret (documented: gone within 60 s). `kinject cleanup` removes a session once its
// grace has passed (a short one here, KINJECT_SESSION_GRACE_SECONDS) and lists what it removed.
// The sessions run in this file's own namespace, so its `kinject cleanup` touches no one else's.
import t from 'tap';
import { ensureCluster, kinjectLeftovers, ownNamespace } from '../helpers/cluster.js';
import { kinject, sessionOf, spawnKinject, until } from '../helpers/kinject-cli.js';
import { graceEnv, pastGrace } from '../helpers/session-grace.js';

const { kubeconfig } = await ensureCluster();
const NS = await ownNamespace(t, kubeconfig, 'sigkill');

async function killedSession(t) {
  const child = spawnKinject(['run', '-n', NS, '--', 'sh', '-c', 'echo "ready pid=$$"; exec sleep 60'], { kubeconfig, env: graceEnv });
  t.ok(await until(() => /ready pid=\d+/.test(child.out), { timeoutMs: 120_000 }), `child started\n${child.err}`);
  const session = sessionOf(child.err);
  t.ok(session, 'session id in the progress line');
  child.kill('SIGKILL');
  await child.exited;
  // kinject's child (the shell exec'd into `sleep`) outlives it: end it, which lets go of the pipes
  const sleepPid = Number(/ready pid=(\d+)/.exec(child.out)[1]);
  try {
    process.kill(sleepPid, 'SIGKILL');
  } catch {}
  for (const stream of [child.stdin, child.stdout, child.stderr]) stream.destroy();
  t.not((await kinjectLeftovers(kubeconfig, NS, session)).length, 0, 'right after SIGKILL the session is still there');
  return session;
}

t.test('SIGKILL: the pod removes itself within 60 s', async (t) => {
  const session = await killedSession(t);
  const start = Date.now();
  const gone = await until(async () => (await kinjectLeftovers(kubeconfig, NS, session)).length === 0, { timeoutMs: 90_000, intervalMs: 1000 });
  const seconds = Math.round((Date.now() - start) / 1000);
  t.ok(gone, `Job, pod and Secret gone after ${seconds} s`);
  t.ok(seconds <= 60, `within the documented 60 s (took ${seconds} s)`);
});

t.test('SIGKILL then kinject cleanup: removed once its grace has passed, and listed', async (t) => {
  const session = await killedSession(t);
  await pastGrace(); // until then the session counts as live (its Lease was renewed lately)
  const r = await kinject(['cleanup', '-n', NS], { kubeconfig });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`^removed Job ${NS}/kinject-${session}$`, 'm'));
  t.ok(await until(async () => (await kinjectLeftovers(kubeconfig, NS, session)).length === 0, { timeoutMs: 30_000, intervalMs: 500 }), 'nothing left');
  const again = await kinject(['cleanup', '-n', NS], { kubeconfig });
  t.equal(again.stdout, '', 'a second cleanup has nothing to remove');
  t.match(again.stderr, new RegExp(`nothing to clean up in namespace ${NS}`));
});

// kinject run --intercept against the real cluster while the developer's machine sleeps or loses
// its network (issue 14, point 4; the SIGKILL half: run-intercept-crash.test.js): kinject and every
// process of its run on this machine (its guardian, the command) are stopped with SIGSTOP (nothing
// runs, their sockets stay open, as after a suspend or a cut network) and continued with SIGCONT.
//  - stopped for less than the grace: requests without the header never fail; requests with it
//    go to the workload within seconds (fail-open) and reach the local process again soon after
//    SIGCONT, with no manual step; the Service stays intercepted meanwhile.
//  - stopped for longer than the grace: within 60 s the Service is exactly as before and nothing of
//    the session is left; on SIGCONT kinject says so in a line and intercepts again through a new pod.
//  - a graceful `kubectl delete pod` of the proxy pod (the crash file tests --force): 0 failures
//    without the header, the intercept moves to the new pod.
// Each prints what it measured (how the header's requests fail, how long until they are back).
import t from 'tap';
import { kubectl, kubectlOk, waitFor } from '../helpers/cluster.js';
import { sessionOf } from '../helpers/kinject-cli.js';
import { interceptWorld } from '../helpers/intercept/world.js';
import { processTree, signalAll } from '../helpers/process-tree.js';

// three sessions, two of them re-made, each tens of seconds on a loaded 2-core machine
t.setTimeout(900_000);

const { kubeconfig, ns, client, loadLoops, serviceState, before, startIntercept, end } = await interceptWorld(t, 'intercept-asleep');
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
const same = async () => JSON.stringify(await serviceState()) === JSON.stringify(before);

/** every object of the namespace with the label (a session's, or all of kinject's) */
async function kinjectObjects(selector) {
  const out = await kubectlOk(kubeconfig, ['-n', ns, 'get', 'jobs,pods,secrets,services,leases.coordination.k8s.io', '-l', selector, '-o', 'name']);
  return out.split('\n').filter(Boolean);
}

/** kinject's stderr lines after offset as their messages (--output json writes JSON lines), without the per-request records */
function linesAfter(k, offset) {
  const lines = [];
  for (const l of k.err.slice(offset).split('\n').filter(Boolean)) {
    try {
      const j = JSON.parse(l);
      if (j.event !== 'intercept-request') lines.push(j.message ?? l);
    } catch {
      lines.push(l);
    }
  }
  return lines;
}

/** counts of each outcome of probe samples and how long they took, "3 × 502 kinject: ... (9.8-10.1 s)" */
function tally(samples) {
  const n = new Map();
  for (const [start, end, o] of samples) {
    const e = n.get(o) ?? { count: 0, min: Infinity, max: 0 };
    n.set(o, { count: e.count + 1, min: Math.min(e.min, end - start), max: Math.max(e.max, end - start) });
  }
  return [...n].map(([o, e]) => `${e.count} × ${o} (${(e.min / 1000).toFixed(1)}-${(e.max / 1000).toFixed(1)} s)`).join('; ') || 'none';
}

/** header requests on a new connection every 250 ms from the client pod, until stop() */
function headerProbe(t, name, header) {
  const stopFile = `/tmp/stop-probe-${name}`;
  const run = client(['probe', 'http://api/', header, '240000', stopFile], 300_000);
  const stop = async () => {
    await kubectl(kubeconfig, ['-n', ns, 'exec', 'client', '--', 'touch', stopFile]);
    return run;
  };
  t.teardown(() => stop().catch(() => {}));
  return { stop };
}

t.test('asleep for less than the grace: the header falls back to the workload, comes back on waking, 0 failures without it', async (t) => {
  const load = loadLoops(t, 'asleep-short');
  await pause(2000);
  const k = await startIntercept(t, ['--no-inspect', '--intercept', 'http:19381', '--header', 'x-dev=gina'], 'local-gina', 19381, 19382, {
    KINJECT_SESSION_GRACE_SECONDS: '40',
  });
  t.match((await client(['get', 'http://api/', 'x-dev=gina'])).body, /^local-gina /, 'intercepting');
  const probe = headerProbe(t, 'short', 'x-dev=gina');
  await pause(3000);
  const tree = processTree(k.pid);
  t.comment(`the run's processes: ${tree.map((p) => `${p.comm} ${p.pid}`).join(', ')}`);
  const errAt = k.err.length;
  const stoppedAt = Date.now();
  signalAll(
    tree.map((p) => p.pid),
    'SIGSTOP',
  );
  let during;
  try {
    await pause(20_000); // longer than the runner's own dead-tunnel limit (15 s), shorter than the grace
    during = await serviceState();
  } finally {
    signalAll(
      tree.map((p) => p.pid),
      'SIGCONT',
    );
  }
  const wokeAt = Date.now();
  t.match(during.selector, { 'kinject.dev/router-for': 'api' }, 'the Service is still intercepted after 20 s asleep');
  await waitFor(async () => /^local-gina /.test((await client(['get', 'http://api/', 'x-dev=gina'])).body), {
    timeoutMs: 60_000,
    what: 'the header reaching the local process again after SIGCONT',
  });
  await pause(2000);
  const { samples } = await probe.stop();
  t.ok(samples?.length > 40, `the probe ran (${samples?.length} requests)`);
  const asleep = samples.filter(([start]) => start >= stoppedAt && start < wokeAt);
  // from when on every request with the header went to the workload while kinject slept
  const lastOther = asleep.findLastIndex(([, , o]) => o !== 'pod');
  const fallbackAt = asleep[lastOther + 1]?.[0];
  t.ok(fallbackAt !== undefined, `requests with the header went to the workload while kinject slept (${tally(asleep)})`);
  t.ok(fallbackAt - stoppedAt <= 10_000, `within 10 s of the stop every request with the header goes to the workload (${secs(fallbackAt - stoppedAt)})`);
  t.comment(`before that, requests with the header started after the stop got: ${tally(asleep.slice(0, lastOther + 1))}`);
  const awake = samples.filter(([start]) => start >= wokeAt);
  const backIdx = awake.findIndex((_s, i) => awake.slice(i).every(([, , x]) => x === 'local-gina'));
  t.ok(backIdx >= 0, 'after SIGCONT requests with the header reach the local process again');
  const backAt = awake[backIdx]?.[0];
  t.ok(backAt - wokeAt <= 15_000, `within 15 s of waking (${secs(backAt - wokeAt)}; before that: ${tally(awake.slice(0, backIdx))})`);
  const lines = linesAfter(k, errAt);
  t.comment(`kinject's lines from the stop until now:\n${lines.join('\n')}`);
  t.ok(lines.length <= 3, `at most 3 lines about the sleep (${lines.length})`);
  t.equal((await end(k)).code, 0, 'kinject ends normally');
  t.same(await serviceState(), before, 'the Service is exactly as before');
  const [fresh, keep] = await load.stop();
  t.equal(fresh.failed, 0, `without the header, new connections across the sleep: 0 failed (${fresh.ok} ok; ${fresh.errors.join('; ')})`);
  t.equal(keep.failed, 0, `without the header, keep-alive across the sleep: 0 failed (${keep.ok} ok; ${keep.errors.join('; ')})`);
  t.same(
    Object.keys({ ...fresh.bodies, ...keep.bodies }).filter((b) => b !== 'pod'),
    [],
    'requests without the header never reached the local process',
  );
});

t.test('asleep for longer than the grace: the Service restored and the session gone within 60 s; on waking kinject intercepts again', async (t) => {
  const load = loadLoops(t, 'asleep-long');
  await pause(2000);
  const k = await startIntercept(t, ['--no-inspect', '--intercept', 'http:19391', '--header', 'x-dev=hank'], 'local-hank', 19391, 19392, {
    KINJECT_SESSION_GRACE_SECONDS: '15',
  });
  const session = sessionOf(k.err) ?? /kinject-([a-z0-9]{8})/.exec(k.err)?.[1];
  t.ok(session, `session ${session}`);
  t.match((await client(['get', 'http://api/', 'x-dev=hank'])).body, /^local-hank /, 'intercepting');
  const tree = processTree(k.pid);
  const errAt = k.err.length;
  const stoppedAt = Date.now();
  signalAll(
    tree.map((p) => p.pid),
    'SIGSTOP',
  );
  let left = [];
  try {
    await waitFor(same, { timeoutMs: 60_000, intervalMs: 1000, what: 'the Service restored while kinject sleeps' });
    t.pass(`the Service is exactly as before ${secs(Date.now() - stoppedAt)} after the stop`);
    t.match((await client(['get', 'http://api/', 'x-dev=hank'])).body, /^pod /, 'the header reaches the workload');
    const ok = await waitFor(
      async () => {
        left = await kinjectObjects(`kinject.dev/session=${session}`);
        return left.length === 0;
      },
      { timeoutMs: Math.max(1000, 60_000 - (Date.now() - stoppedAt)), intervalMs: 1000, what: 'the session gone' },
    ).catch(() => false);
    t.ok(ok, `nothing of the session is left ${secs(Date.now() - stoppedAt)} after the stop (${left.join(' ') || 'no jobs, pods, secrets, services, leases'})`);
    await pause(Math.max(0, 62_000 - (Date.now() - stoppedAt))); // asleep for a minute
  } finally {
    signalAll(
      tree.map((p) => p.pid),
      'SIGCONT',
    );
  }
  const wokeAt = Date.now();
  await waitFor(() => /intercepting Service api again|could not move|not intercepting/.test(k.err.slice(errAt)) || k.exitCode !== null, {
    timeoutMs: 180_000,
    what: 'kinject after waking',
  });
  const lines = linesAfter(k, errAt);
  t.comment(`kinject's lines after waking:\n${lines.join('\n')}`);
  t.equal(k.exitCode, null, 'kinject goes on');
  t.match(
    lines.join('\n'),
    /kinject was stopped or asleep for \d+ s, longer than the session's grace \(15 s\), and the cluster ended the session/,
    'one line says the session ended while kinject was away',
  );
  t.match(lines.at(-1), /intercepting Service api again through the new proxy pod/, 'and it intercepts again through a new proxy pod');
  t.notOk(
    lines.slice(1).some((l) => l.includes(`kinject-${session}`)),
    'no line about the old pod after that (its tunnel retrying, its transport switching)',
  );
  t.ok(lines.length <= 3, `three lines: away, back, intercepting again (${lines.length})`);
  t.pass(`intercepting again ${secs(Date.now() - wokeAt)} after waking`);
  await waitFor(async () => /^local-hank /.test((await client(['get', 'http://api/', 'x-dev=hank'])).body), {
    timeoutMs: 30_000,
    what: 'the header reaching the local process again',
  });
  t.pass('requests with the header reach the local process again');
  t.equal((await end(k)).code, 0, 'kinject ends normally');
  t.same(await serviceState(), before, 'the Service is exactly as before');
  const [fresh, keep] = await load.stop();
  t.equal(fresh.failed, 0, `without the header, new connections across it all: 0 failed (${fresh.ok} ok; ${fresh.errors.join('; ')})`);
  t.equal(keep.failed, 0, `without the header, keep-alive across it all: 0 failed (${keep.ok} ok; ${keep.errors.join('; ')})`);
  await waitFor(async () => (await kinjectObjects('app.kubernetes.io/managed-by=kinject')).length === 0, { timeoutMs: 90_000, what: 'both sessions gone' });
  t.pass('nothing of either session is left');
});

t.test('the proxy pod deleted gracefully under an intercept: 0 failures without the header, the intercept moves to the new pod', async (t) => {
  const load = loadLoops(t, 'graceful');
  await pause(2000);
  const k = await startIntercept(t, ['--no-inspect', '--intercept', 'http:19401', '--header', 'x-dev=ivy'], 'local-ivy', 19401, 19402);
  t.match((await client(['get', 'http://api/', 'x-dev=ivy'])).body, /^local-ivy /, 'intercepting');
  const pod = (await kubectlOk(kubeconfig, ['-n', ns, 'get', 'pods', '-l', 'kinject.dev/router-for=api', '-o', 'name'])).trim();
  t.match(pod, /^pod\/kinject-/, `the router pod ${pod}`);
  const errAt = k.err.length;
  const deletedAt = Date.now();
  await kubectlOk(kubeconfig, ['-n', ns, 'delete', pod, '--wait=false']);
  await waitFor(() => /intercepting Service api again through the new proxy pod|could not move/.test(k.err.slice(errAt)), {
    timeoutMs: 180_000,
    what: 'the intercept on the new pod',
  });
  t.match(k.err.slice(errAt), /intercepting Service api again through the new proxy pod/, 'one line says the intercept moved');
  t.pass(`the intercept is back ${secs(Date.now() - deletedAt)} after the delete`);
  await waitFor(async () => /^local-ivy /.test((await client(['get', 'http://api/', 'x-dev=ivy'])).body), {
    timeoutMs: 30_000,
    what: 'the header reaching the local process again',
  });
  t.pass(`requests with the header reach the local process again ${secs(Date.now() - deletedAt)} after the delete`);
  t.comment(`kinject's lines:\n${linesAfter(k, errAt).join('\n')}`);
  t.equal((await end(k)).code, 0, 'kinject ends normally');
  t.same(await serviceState(), before, 'the Service is exactly as before');
  const [fresh, keep] = await load.stop();
  t.equal(fresh.failed, 0, `without the header, new connections across the delete: 0 failed (${fresh.ok} ok; ${fresh.errors.join('; ')})`);
  t.equal(keep.failed, 0, `without the header, keep-alive across the delete: 0 failed (${keep.ok} ok; ${keep.errors.join('; ')})`);
  await waitFor(async () => (await kinjectObjects('app.kubernetes.io/managed-by=kinject')).length === 0, { timeoutMs: 90_000, what: 'both pods gone' });
  t.pass('nothing of either pod is left');
});

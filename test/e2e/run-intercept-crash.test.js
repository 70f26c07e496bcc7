// kinject run --intercept against the real cluster, the crash-safety half (the other half:
// run-intercept.test.js; the shared workload: test/helpers/intercept/world.js): a global intercept
// takes every connection and gives it back; SIGKILL of kinject: the pod restores the Service
// itself (exactly as before, within 60 s) with 0 failures for requests without the header; a
// `kubectl apply` revert during an intercept ends it, reported with the writer, not overwritten;
// the proxy pod force-deleted under an intercept: the Service goes back to the workload at once
// and the intercept moves to the new pod (failures counted); kinject SIGKILLed and the pod's
// restore token revoked: `kinject cleanup` restores the Service.
import t from 'tap';
import { join } from 'node:path';
import { kinjectLeftovers, kubectlOk, waitFor } from '../helpers/cluster.js';
import { kinject, sessionOf } from '../helpers/kinject-cli.js';
import { interceptWorld } from '../helpers/intercept/world.js';

// several sessions start and end here, each tens of seconds on a loaded 2-core machine
t.setTimeout(600_000);

const { dir, kubeconfig, ns, client, loadLoops, serviceState, before, startIntercept, end } = await interceptWorld(t, 'intercept-crash');

t.test('a global intercept takes every connection, and gives it back', async (t) => {
  const g = await startIntercept(t, ['--intercept', '80:19331'], 'local-global', 19331, 19332);
  t.match((await client(['get', 'http://api/'])).body, /^local-global /, 'without any header: the local process');
  t.match(await client(['ws', 'http://api/']), { echo: /^local-global / }, 'a WebSocket too (bytes relayed)');
  t.equal((await end(g)).code, 0);
  t.same(await serviceState(), before, 'the Service is exactly as before');
  t.match((await client(['get', 'http://api/'])).body, /^pod /, 'the workload again');
});

t.test('SIGKILL of kinject: the pod restores the Service by itself, 0 failures for everyone else', async (t) => {
  const load = loadLoops(t, 'sigkill');
  await new Promise((r) => setTimeout(r, 2000));
  const k = await startIntercept(t, ['--intercept', 'http:19341', '--header', 'x-dev=carol'], 'local-carol', 19341, 19342, {
    KINJECT_SESSION_GRACE_SECONDS: '15',
  });
  const session = sessionOf(k.err) ?? /kinject-([a-z0-9]{8})/.exec(k.err)?.[1];
  t.match((await client(['get', 'http://api/', 'x-dev=carol'])).body, /^local-carol /, 'intercepting');
  // kinject's child outlives a SIGKILLed kinject (its own process group): ended here by its pid
  const { execFileSync } = await import('node:child_process');
  const childPids = execFileSync('ps', ['-o', 'pid=', '--ppid', String(k.pid)], { encoding: 'utf8' })
    .split('\n')
    .map(Number)
    .filter(Boolean);
  t.teardown(() => {
    for (const pid of childPids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {}
    }
  });
  const killedAt = Date.now();
  k.kill('SIGKILL');
  await k.exited;
  await waitFor(async () => /^pod /.test((await client(['get', 'http://api/', 'x-dev=carol'])).body), {
    timeoutMs: 20_000,
    what: 'the header reaches the workload again',
  });
  t.pass(`requests with the header reach the workload ${Math.round((Date.now() - killedAt) / 1000)} s after the SIGKILL`);
  await waitFor(async () => JSON.stringify(await serviceState()) === JSON.stringify(before), { timeoutMs: 60_000, what: 'the Service restored by the pod' });
  t.pass(`the Service is exactly as before ${Math.round((Date.now() - killedAt) / 1000)} s after the SIGKILL`);
  await waitFor(async () => (await kinjectLeftovers(kubeconfig, ns, session)).length === 0, { timeoutMs: 90_000, what: 'the session gone' });
  const decoys = await kubectlOk(kubeconfig, ['-n', ns, 'get', 'services', '-l', `kinject.dev/session=${session}`, '-o', 'name']);
  t.equal(decoys.trim(), '', 'no decoy Service left');
  const [fresh, keep] = await load.stop();
  t.equal(fresh.failed, 0, `new connections across start and SIGKILL: 0 failed (${fresh.ok} ok; ${fresh.errors.join('; ')})`);
  t.equal(keep.failed, 0, `keep-alive across start and SIGKILL: 0 failed (${keep.ok} ok; ${keep.errors.join('; ')})`);
});

t.test('a kubectl apply revert during an intercept: reported with the writer, intercept ended, not overwritten', async (t) => {
  const k = await startIntercept(t, ['--intercept', 'http:19351', '--header', 'x-dev=dave'], 'local-dave', 19351, 19352);
  t.match((await client(['get', 'http://api/', 'x-dev=dave'])).body, /^local-dave /, 'intercepting');
  await kubectlOk(kubeconfig, ['-n', ns, 'apply', '-f', join(dir, 'service.yaml')]);
  await waitFor(() => /Service api was changed by kubectl[^ ]* .*the intercept ended and their change is kept/.test(k.err), {
    timeoutMs: 30_000,
    what: 'the change reported',
  });
  t.pass('the change is reported with its field manager');
  await waitFor(async () => JSON.stringify(await serviceState()) === JSON.stringify(before), {
    timeoutMs: 30_000,
    what: 'their selector kept, kinject annotations gone',
  });
  t.match((await client(['get', 'http://api/', 'x-dev=dave'])).body, /^pod /, 'the header reaches the workload: the intercept ended');
  t.equal((await end(k)).code, 0, 'kinject ends normally');
  t.same(await serviceState(), before, 'the applied Service is kept');
});

/** kinject's child outlives a SIGKILLed kinject (its own process group): ended by its pid at teardown */
async function childPidsOf(t, k) {
  const { execFileSync } = await import('node:child_process');
  const pids = execFileSync('ps', ['-o', 'pid=', '--ppid', String(k.pid)], { encoding: 'utf8' })
    .split('\n')
    .map(Number)
    .filter(Boolean);
  t.teardown(() => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {}
    }
  });
}

t.test('the proxy pod force-deleted under an intercept: the Service goes back at once, the intercept moves to the new pod', async (t) => {
  const load = loadLoops(t, 'podloss');
  await new Promise((r) => setTimeout(r, 2000));
  const k = await startIntercept(t, ['--intercept', 'http:19361', '--header', 'x-dev=erin'], 'local-erin', 19361, 19362);
  t.match((await client(['get', 'http://api/', 'x-dev=erin'])).body, /^local-erin /, 'intercepting');
  const pod = (await kubectlOk(kubeconfig, ['-n', ns, 'get', 'pods', '-l', 'kinject.dev/router-for=api', '-o', 'name'])).trim();
  t.match(pod, /^pod\/kinject-/, `the router pod ${pod}`);
  const deletedAt = Date.now();
  await kubectlOk(kubeconfig, ['-n', ns, 'delete', pod, '--wait=false', '--force', '--grace-period=0']);
  await waitFor(() => /intercepting Service api again through the new proxy pod/.test(k.err) || /could not move/.test(k.err), {
    timeoutMs: 180_000,
    what: 'the intercept on the new pod',
  });
  t.match(k.err, /intercepting Service api again through the new proxy pod/, 'one line says the intercept moved');
  t.pass(`the intercept is back ${Math.round((Date.now() - deletedAt) / 1000)} s after the delete`);
  await waitFor(async () => /^local-erin /.test((await client(['get', 'http://api/', 'x-dev=erin'])).body), {
    timeoutMs: 30_000,
    what: 'the header reaches the local process again',
  });
  t.pass('requests with the header reach the local process again');
  t.match((await client(['get', 'http://api/'])).body, /^pod /, 'without the header: the workload');
  t.equal((await end(k)).code, 0, 'kinject ends normally');
  t.same(await serviceState(), before, 'the Service is exactly as before');
  const [fresh, keep] = await load.stop();
  t.comment(
    `without the header across the pod loss: new connections ${fresh.failed} failed / ${fresh.ok} ok (${fresh.errors.join('; ')}); keep-alive ${keep.failed} failed / ${keep.ok} ok (${keep.errors.join('; ')})`,
  );
  t.same(
    Object.keys({ ...fresh.bodies, ...keep.bodies }).filter((b) => b !== 'pod' && b !== 'kinject:'),
    [],
    'requests without the header never reached the local process',
  );
  await waitFor(async () => (await kinjectLeftovers(kubeconfig, ns)).length === 0, { timeoutMs: 90_000, what: 'both pods gone' });
});

t.test('kinject SIGKILLed and the pod unable to restore (token revoked): kinject cleanup restores the Service', async (t) => {
  const k = await startIntercept(t, ['--intercept', 'http:19371', '--header', 'x-dev=frank'], 'local-frank', 19371, 19372, {
    KINJECT_SESSION_GRACE_SECONDS: '10',
  });
  const session = sessionOf(k.err) ?? /kinject-([a-z0-9]{8})/.exec(k.err)?.[1];
  t.ok(session, `session ${session}`);
  t.match((await client(['get', 'http://api/', 'x-dev=frank'])).body, /^local-frank /, 'intercepting');
  await childPidsOf(t, k);
  // the pod's token is bound to this Secret: without it the pod cannot patch the Service
  await kubectlOk(kubeconfig, ['-n', ns, 'delete', 'secret', `kinject-${session}-restore`]);
  k.kill('SIGKILL');
  await k.exited;
  await new Promise((r) => setTimeout(r, 20_000)); // past the grace: the pod tried and failed
  t.not(JSON.stringify(await serviceState()), JSON.stringify(before), 'the pod could not restore the Service');
  let out = '';
  await waitFor(
    async () => {
      const r = await kinject(['cleanup', '-n', ns], { kubeconfig, timeoutMs: 60_000 });
      out += r.stdout;
      return /restored Service/.test(out);
    },
    { timeoutMs: 90_000, intervalMs: 5000, what: 'kinject cleanup restoring the Service' },
  );
  t.match(out, new RegExp(`restored Service ${ns}/api \\(its intercept session ${session} had ended without restoring it\\)`), 'cleanup says so');
  t.same(await serviceState(), before, 'the Service is exactly as before');
  t.match((await client(['get', 'http://api/', 'x-dev=frank'])).body, /^pod /, 'the header reaches the workload');
  await waitFor(async () => (await kinjectLeftovers(kubeconfig, ns, session)).length === 0, { timeoutMs: 90_000, what: 'the session gone' });
});

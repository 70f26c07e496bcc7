// The proxy pod of `kinject run --target deployment/web` (which mounts web's volumes with sshfs) is
// deleted under the running session: once the session is back, a file of the configMap volume is
// read through the local mount again (sshfs' `reconnect` logs in to the new pod with the same
// keys). When it cannot (test hook KINJECT_TEST_NEW_SFTP_KEYS=1: the new pod has other keys, so
// ssh refuses its host key), kinject says so in exactly one line naming the mount and what to do,
// the run still ends cleanly and no mount or cluster object is left.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applySample, ensureCluster, kinjectLeftovers, kubectlOk, ownNamespace } from '../helpers/cluster.js';
import { mountRootOf, sessionOf, spawnKinject, until } from '../helpers/kinject-cli.js';
import { readMountInfo } from '../../dist/src/volumes/mountinfo.js';
import { requireFuse } from '../helpers/require-fuse.js';

requireFuse();
const { kubeconfig } = await ensureCluster();
const NS = await ownNamespace(t, kubeconfig, 'podlossvol');
await applySample(kubeconfig, '40-web.yaml', NS);
const config = JSON.parse(await kubectlOk(kubeconfig, ['-n', NS, 'get', 'configmap', 'web-config', '-o', 'json'])).data;
const mounted = (root) => readMountInfo().some((m) => m.mountPoint === root && m.fsType === 'fuse.sshfs');

/** reads root/etc/web/APP_MODE; undefined while it fails (async: a FUSE call can wait on ssh) */
const readThroughMount = (root) => readFile(join(root, 'etc', 'web', 'APP_MODE'), 'utf8').catch(() => undefined);

// the command waits (at most 5 min) for the test to say stop
const WAIT = 'i=0; while [ $i -lt 600 ] && [ ! -e "$STOP" ]; do sleep 0.5; i=$((i+1)); done';

async function session(t, env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kinject-podlossvol-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const stop = join(dir, 'stop');
  const child = spawnKinject(['run', '-n', NS, '--target', 'deployment/web', '--', 'sh', '-c', WAIT], {
    kubeconfig,
    env: { ...process.env, STOP: stop, ...env },
  });
  t.teardown(() => child.kill('SIGKILL'));
  t.ok(await until(() => mountRootOf(child.err), { timeoutMs: 150_000 }), `the volumes were mounted\n${child.err}`);
  const root = mountRootOf(child.err);
  t.equal(await readThroughMount(root), config.APP_MODE, 'the configMap file reads through the mount before the loss');
  const first = sessionOf(child.err);
  const pod = (await kubectlOk(kubeconfig, ['-n', NS, 'get', 'pods', '-l', `kinject.dev/session=${first}`, '-o', 'name'])).trim();
  await kubectlOk(kubeconfig, ['-n', NS, 'delete', pod, '--wait=false']);
  t.ok(await until(() => /the session is back/.test(child.err), { timeoutMs: 180_000 }), `the session came back\n${child.err}`);
  const second = /new proxy pod \S+\/kinject-([a-z0-9]+)-/.exec(child.err)?.[1];
  const end = async () => {
    writeFileSync(stop, '');
    const e = await child.exited;
    t.equal(e.code, 0, `the run ends cleanly\n${child.err}`);
    t.notOk(mounted(root), 'the mount is gone');
    t.same(await kinjectLeftovers(kubeconfig, NS, first), [], 'nothing left of the lost pod');
    t.same(await kinjectLeftovers(kubeconfig, NS, second), [], 'nothing left of the new pod');
  };
  return { child, root, end };
}

t.test('sshfs reconnects to the new pod: the mount works again, no extra line', async (t) => {
  const { child, root, end } = await session(t);
  const at = Date.now();
  t.ok(
    await until(async () => (await readThroughMount(root)) === config.APP_MODE, { timeoutMs: 60_000, intervalMs: 500 }),
    'the configMap file reads through the mount after the return',
  );
  t.comment(`first good read ${((Date.now() - at) / 1000).toFixed(1)} s after the "back" line was seen`);
  // the check after the return is quiet when the mount answers
  await new Promise((r) => setTimeout(r, 3000));
  t.notMatch(child.err, /did not come back/, 'no volume line');
  t.equal((child.err.match(/is gone/g) ?? []).length, 1, 'one line for the loss');
  t.equal((child.err.match(/is back/g) ?? []).length, 1, 'one line for the return');
  await end();
});

t.test('sshfs cannot log in to the new pod: one line naming the mount and what to do', async (t) => {
  const { child, root, end } = await session(t, { KINJECT_TEST_NEW_SFTP_KEYS: '1' });
  t.ok(await until(() => /did not come back/.test(child.err), { timeoutMs: 90_000 }), `the volume line came\n${child.err}`);
  const lines = child.err.split('\n').filter((l) => /did not come back/.test(l));
  t.equal(lines.length, 1, 'exactly one line');
  t.match(
    lines[0],
    new RegExp(
      `^kinject: the volumes at ${root} did not come back with the new proxy pod \\S+ \\(.+\\): files under it fail; restart kinject to mount them again$`,
    ),
  );
  t.equal(await readThroughMount(root), undefined, 'reads through the mount fail');
  await new Promise((r) => setTimeout(r, 3000));
  t.equal((child.err.match(/did not come back/g) ?? []).length, 1, 'still one line after more failed reads');
  await end();
});

// Pure parts of the volume support: the export list from a pod spec, the child's environment,
// the preflight warning, mountinfo parsing.
import t from 'tap';
import { mkdtempSync, writeFileSync, chmodSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { volumeExports, SERVICE_ACCOUNT_PATH } from '../../../../dist/src/volumes/volume-list.js';
import { volumeEnv } from '../../../../dist/src/volumes/env.js';
import { preflightVolumes } from '../../../../dist/src/volumes/preflight.js';
import { parseMountInfo } from '../../../../dist/src/volumes/mountinfo.js';
import { parseExports } from '../../../../dist/proxy-pod/sftp/config.js';

// The pod template of a web Deployment, after kinject added its own /kinject mount to the copy.
const webPod = {
  containers: [
    {
      name: 'web',
      volumeMounts: [
        { name: 'config', mountPath: '/etc/web' },
        { name: 'tls', mountPath: '/etc/tls/' },
        { name: 'data', mountPath: '/data' },
        { name: 'cache', mountPath: '/var/cache/web' },
        { name: 'shared', mountPath: '/srv/shared', readOnly: true },
        { name: 'podinfo', mountPath: '/etc/podinfo' },
        { name: 'bundle', mountPath: '/etc/bundle' },
        { name: 'nginx', mountPath: '/etc/nginx/nginx.conf', subPath: 'nginx.conf' },
        { name: 'pvc-ro', mountPath: '/archive' },
        { name: 'kinject', mountPath: '/kinject' },
      ],
    },
    { name: 'sidecar', volumeMounts: [{ name: 'data', mountPath: '/sidecar-data' }] },
  ],
  volumes: [
    { name: 'config', configMap: { name: 'web-config' } },
    { name: 'tls', secret: { secretName: 'web-tls' } },
    { name: 'data', persistentVolumeClaim: { claimName: 'web-data' } },
    { name: 'cache', emptyDir: {} },
    { name: 'shared', nfs: { server: 'nfs', path: '/x' } },
    { name: 'podinfo', downwardAPI: { items: [] } },
    { name: 'bundle', projected: { sources: [] } },
    { name: 'nginx', configMap: { name: 'nginx' } },
    { name: 'pvc-ro', persistentVolumeClaim: { claimName: 'archive', readOnly: true } },
    { name: 'kinject', emptyDir: {} },
  ],
};

t.test('volume list of a web-like pod', async (t) => {
  const list = volumeExports(webPod, 'web');
  t.same(
    list.map((e) => [e.path, e.readOnly, e.kind]),
    [
      ['/archive', true, 'persistentVolumeClaim'],
      ['/data', false, 'persistentVolumeClaim'],
      ['/etc/bundle', true, 'projected'],
      ['/etc/nginx/nginx.conf', true, 'configMap'],
      ['/etc/podinfo', true, 'downwardAPI'],
      ['/etc/tls', true, 'secret'],
      ['/etc/web', true, 'configMap'],
      ['/srv/shared', true, 'nfs'],
      ['/var/cache/web', false, 'emptyDir'],
      [SERVICE_ACCOUNT_PATH, true, 'projected'],
    ],
  );
  t.notOk(
    list.some((e) => e.path.startsWith('/kinject')),
    "the proxy's own mount is skipped",
  );
  t.same(
    volumeExports(webPod).map((e) => e.path),
    list.map((e) => e.path),
    'the first container by default',
  );
  t.same(
    volumeExports(webPod, 'sidecar').map((e) => e.path),
    ['/sidecar-data', SERVICE_ACCOUNT_PATH],
  );
  t.throws(() => volumeExports(webPod, 'nope'), /no container named "nope" \(it has: web, sidecar\)/);
});

t.test('service-account token only when automounted; an explicit mount of it is kept as is', async (t) => {
  const off = volumeExports({ ...webPod, automountServiceAccountToken: false }, 'web');
  t.notOk(off.some((e) => e.path === SERVICE_ACCOUNT_PATH));
  const explicit = volumeExports({
    containers: [{ name: 'c', volumeMounts: [{ name: 'tok', mountPath: SERVICE_ACCOUNT_PATH }] }],
    volumes: [{ name: 'tok', projected: { sources: [] } }],
  });
  t.same(
    explicit.map((e) => [e.path, e.volume]),
    [[SERVICE_ACCOUNT_PATH, 'tok']],
  );
  t.same(
    volumeExports({ containers: [{ name: 'bare' }] }).map((e) => e.path),
    [SERVICE_ACCOUNT_PATH],
  );
});

t.test('child env: KINJECT_ROOT, KINJECT_MOUNTS, KINJECT_PATH_MAP', async (t) => {
  const warnings = [];
  const env = volumeEnv('/run/user/1000/kinject-1000/s1', ['/etc/web', '/data/', '/data/sub', '/odd:path', '/etc/web'], (w) => warnings.push(w));
  t.equal(env.KINJECT_ROOT, '/run/user/1000/kinject-1000/s1');
  t.equal(env.KINJECT_MOUNTS, '/etc/web:/data:/data/sub');
  t.equal(
    env.KINJECT_PATH_MAP,
    '/data/sub=/run/user/1000/kinject-1000/s1/data/sub:/etc/web=/run/user/1000/kinject-1000/s1/etc/web:/data=/run/user/1000/kinject-1000/s1/data',
    'deepest first, so the first matching prefix wins',
  );
  t.equal(warnings.length, 1);
  t.match(warnings[0], /odd:path/);
  t.throws(() => volumeEnv('/tmp/a=b', ['/x']), /cannot carry/);
});

t.test('preflight: one warning line naming what is missing and how to install it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kinject-pre-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of ['sshfs', 'fusermount3']) {
    writeFileSync(join(dir, name), '#!/bin/sh\nexit 0\n');
    chmodSync(join(dir, name), 0o755);
  }
  writeFileSync(join(dir, 'fuse'), '');
  const good = preflightVolumes({ env: { PATH: dir }, platform: 'linux', fuseDevice: join(dir, 'fuse') });
  t.ok(good.ok);
  t.equal(good.warning, undefined);
  t.equal(good.sshfs, join(dir, 'sshfs'));

  const noSshfs = preflightVolumes({ env: { PATH: '/nonexistent' }, platform: 'linux', fuseDevice: join(dir, 'fuse') });
  t.notOk(noSshfs.ok);
  t.same(noSshfs.missing, ['sshfs', 'fusermount3']);
  t.match(noSshfs.warning, /^volumes are not mounted: sshfs, fusermount3 are missing \(install: sudo apt-get install sshfs fuse3/);
  t.notMatch(noSshfs.warning, /\n/, 'one line');

  const noDevice = preflightVolumes({ env: { PATH: dir }, platform: 'linux', fuseDevice: join(dir, 'no-fuse') });
  t.same(noDevice.missing, [join(dir, 'no-fuse')]);
  t.match(noDevice.warning, /modprobe fuse/);

  const mac = preflightVolumes({ env: { PATH: '/nonexistent' }, platform: 'darwin' });
  t.notOk(mac.ok);
  t.match(mac.warning, /brew install --cask macfuse/);
});

t.test('preflight with the real PATH minus sshfs (a real process environment)', async (t) => {
  const withoutSshfs = (process.env.PATH ?? '')
    .split(':')
    .filter((d) => d && !existsSync(join(d, 'sshfs')))
    .join(':');
  const r = preflightVolumes({ env: { PATH: withoutSshfs }, platform: 'linux' });
  t.notOk(r.ok);
  t.ok(r.missing.includes('sshfs'));
  t.match(r.warning, /sshfs/);
});

t.test('mountinfo parsing: escapes, fstype, source, user_id', async (t) => {
  const text = [
    '22 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=/x',
    '44 27 0:39 / /tmp/kinject-0/with\\040space rw,nosuid,nodev,relatime - fuse.sshfs kinject@127.0.0.1:/ rw,user_id=1000,group_id=1000',
    '45 27 0:40 / /mnt/x rw shared:5 master:1 - fuse.sshfs me@host:/ rw,user_id=0,group_id=0',
  ].join('\n');
  const m = parseMountInfo(text);
  t.equal(m.length, 3);
  t.same(m[1], { mountPoint: '/tmp/kinject-0/with space', fsType: 'fuse.sshfs', source: 'kinject@127.0.0.1:/', userId: 1000 });
  t.equal(m[2].fsType, 'fuse.sshfs', 'optional fields are skipped');
  t.equal(m[0].userId, undefined);
});

t.test('pod side: the JSON export list is checked', async (t) => {
  t.same(parseExports('[{"path":"/etc/web","readOnly":true},{"path":"/data"}]'), [
    { path: '/etc/web', readOnly: true },
    { path: '/data', readOnly: false },
  ]);
  t.throws(() => parseExports('{'), /not JSON/);
  t.throws(() => parseExports('{}'), /must be a JSON array/);
  t.throws(() => parseExports('[{"path":"etc"}]'), /#0: "path" must be an absolute path/);
  t.throws(() => parseExports('[{"path":"/x","readOnly":"yes"}]'), /"readOnly" must be true or false/);
});

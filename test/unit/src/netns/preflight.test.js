// The machine check of --method netns: a missing tool is one line naming it, its Debian package and
// --method inject-tcp; with everything present (this machine: scripts/setup-host.sh) it passes and
// leaves nothing (its probe namespace ends with the probe). Which volumes can be in place: those
// whose in-cluster path is a directory here.
import t from 'tap';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkNetnsHost } from '../../../../dist/src/netns/preflight.js';
import { volumesInPlace } from '../../../../dist/src/netns/start.js';
import { resolveOnPath } from '../../../../dist/src/child/binary-check.js';

t.test('a missing tool: one line naming it and the fix', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kinject-preflight-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.throws(() => checkNetnsHost(dir), {
    message: /^--method netns needs unshare, which is not on PATH: install it \(Debian\/Ubuntu: apt-get install util-linux\), or use --method inject-tcp$/,
  });
  for (const tool of ['unshare', 'setpriv']) symlinkSync(resolveOnPath(tool), join(dir, tool));
  t.throws(() => checkNetnsHost(dir), {
    message: /^--method netns needs slirp4netns, which is not on PATH: install it \(Debian\/Ubuntu: apt-get install slirp4netns\), or use --method inject-tcp$/,
    exitCode: 1,
  });
});

t.test('this machine has what netns needs', async (t) => {
  const tools = checkNetnsHost();
  t.match(tools, { unshare: /\/unshare$/, setpriv: /\/setpriv$/, slirp4netns: /\/slirp4netns$/ });
});

t.test('volumes in place: only where the in-cluster path is a directory here', async (t) => {
  const volumes = [
    { path: '/tmp', local: '/x/tmp' },
    { path: '/etc/hostname', local: '/x/etc/hostname' },
    { path: '/kinject-no-such-dir', local: '/x/kinject-no-such-dir' },
  ];
  const { inPlace, elsewhere } = volumesInPlace(volumes);
  t.same(
    inPlace.map((v) => v.path),
    ['/tmp'],
  );
  t.same(
    elsewhere.map((v) => v.path),
    ['/etc/hostname', '/kinject-no-such-dir'],
  );
});

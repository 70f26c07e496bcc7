// The prebuilt arm64 shim the package carries (prebuilds/linux-arm64/libkinject.so, cross-compiled
// by scripts/build-prebuilds.js) is real: an aarch64 ELF exporting the hooks and its version, and,
// run under qemu-user (installed by scripts/setup-host.sh), it captures an arm64 program's connect:
// the program reaches the test world's web service, whose addresses are blackholed on this host,
// only through the world's SOCKS server.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createWorld, repoRoot } from '../helpers/netns-world.js';

const prebuilt = path.join(repoRoot, 'prebuilds', 'linux-arm64', 'libkinject.so');
const sysroot = '/usr/aarch64-linux-gnu';
const version = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version;
const sh = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });

t.ok(fs.existsSync(prebuilt), `${prebuilt} exists (npm run build makes it; needs gcc-aarch64-linux-gnu from scripts/setup-host.sh)`);

t.test('an aarch64 ELF exporting the hooks and its version', async (t) => {
  t.match(sh('readelf', ['-h', prebuilt]), /Machine:\s+AArch64/);
  const exported = new Set(
    sh('nm', ['-D', '--defined-only', prebuilt])
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[2])
      .filter(Boolean),
  );
  for (const hook of ['connect', 'getaddrinfo', 'gethostbyname', 'getnameinfo', 'execve', 'open', 'kinject_version']) {
    t.ok(exported.has(hook), `exports ${hook}`);
  }
  t.match(sh('strings', [prebuilt]), new RegExp(`^KINJECT_SHIM_VERSION=${version.replaceAll('.', '\\.')}$`, 'm'));
});

t.test('under qemu-aarch64, an arm64 program with the shim preloaded is captured', async (t) => {
  const world = await createWorld(t, { pod6: false, socksv5: false });
  const { web } = world.services;
  const lib = path.join(world.tmpdir, 'libkinject-arm64.so');
  fs.copyFileSync(prebuilt, lib);
  const bin = path.join(world.tmpdir, 'connect-probe-arm64');
  execFileSync('aarch64-linux-gnu-gcc', ['-O1', '-Wall', '-o', bin, world.program('connect-probe.c')], { timeout: 120_000 });
  t.match(sh('readelf', ['-h', bin]), /Machine:\s+AArch64/, 'the probe is an arm64 program');
  const qemu = ['-L', sysroot, '-E', `LD_PRELOAD=${lib}`];
  const env = { ...world.shimEnv(), LD_PRELOAD: undefined, KINJECT_LIB: lib }; // LD_PRELOAD goes to the guest only (-E)

  const plain = await world.exec('qemu-aarch64', ['-L', sysroot, bin, web.ip, String(web.port)], { timeoutMs: 60_000 });
  t.not(plain.code, 0, 'without the shim the service is unreachable from here (blackholed)');

  const r = await world.exec('qemu-aarch64', [...qemu, bin, web.ip, String(web.port)], { env, timeoutMs: 120_000 });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, web.body, 'the answer came through the SOCKS server');
  t.notMatch(r.stderr, /cannot be preloaded|wrong ELF class/, 'the guest loader took the shim');
});

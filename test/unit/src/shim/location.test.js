// Which shim kinject preloads (built from source wins, else the prebuilt for this platform-arch)
// and the version read from a shim file (the real built one, and files without the marker).
import t from 'tap';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locateShim, prebuiltShimPath } from '../../../../dist/src/shim/location.js';
import { shimVersion } from '../../../../dist/src/shim/version.js';
import { shimLibrary, packageRoot } from '../../../../dist/src/paths.js';
import { version } from '../../../../dist/src/version.js';

t.test('locateShim', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kinject-shimloc-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  t.same(locateShim(root, 'linux', 'arm64'), { path: join(root, 'build', 'Release', 'libkinject.so'), kind: 'missing' });
  mkdirSync(join(root, 'prebuilds', 'linux-arm64'), { recursive: true });
  writeFileSync(prebuiltShimPath(root, 'linux', 'arm64'), 'x');
  t.same(locateShim(root, 'linux', 'arm64'), { path: join(root, 'prebuilds', 'linux-arm64', 'libkinject.so'), kind: 'prebuilt' });
  t.equal(locateShim(root, 'linux', 'riscv64').kind, 'missing', 'no prebuilt for another arch');
  mkdirSync(join(root, 'build', 'Release'), { recursive: true });
  writeFileSync(join(root, 'build', 'Release', 'libkinject.so'), 'x');
  t.same(locateShim(root, 'linux', 'arm64'), { path: join(root, 'build', 'Release', 'libkinject.so'), kind: 'built from source' });
});

t.test('shimVersion', async (t) => {
  t.equal(shimVersion(shimLibrary), version, `the shim in ${packageRoot} carries kinject's version`);
  const dir = mkdtempSync(join(tmpdir(), 'kinject-shimver-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'old.so'), Buffer.from('\x7fELF no marker here'));
  t.equal(shimVersion(join(dir, 'old.so')), undefined, 'no marker');
  t.equal(shimVersion(join(dir, 'missing.so')), undefined, 'no file');
  writeFileSync(join(dir, 'new.so'), Buffer.concat([Buffer.from('\x7fELF\0'), Buffer.from('KINJECT_SHIM_VERSION=1.2.3\0rest')]));
  t.equal(shimVersion(join(dir, 'new.so')), '1.2.3');
});

t.test('prebuiltShimProblem', async (t) => {
  const { prebuiltShimProblem } = await import('../../../../dist/src/shim/compat.js');
  t.equal(prebuiltShimProblem('2.34'), undefined);
  t.equal(prebuiltShimProblem('2.36'), undefined);
  t.equal(prebuiltShimProblem('3.0'), undefined);
  t.match(
    prebuiltShimProblem('2.31'),
    /^the prebuilt shim needs glibc >= 2\.34 and this system has 2\.31: install kinject with its install script allowed .*--allow-scripts=kinject/,
  );
  t.match(prebuiltShimProblem(null), /needs glibc and this system has none \(musl\?\)/);
  t.equal(prebuiltShimProblem(), undefined, 'this machine (glibc >= 2.34) takes it');
});

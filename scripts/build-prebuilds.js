#!/usr/bin/env node
// Builds the prebuilt shims the published package carries, so installing it needs no compiler:
//   prebuilds/linux-x64/libkinject.so and prebuilds/linux-arm64/libkinject.so (glibc).
// The host's architecture is a copy of node-gyp's build (build/Release/libkinject.so, run
// scripts/build-native.sh first); the other one is cross-compiled with Debian's cross gcc
// (gcc-<triple>, installed by scripts/setup-host.sh) with the flags binding.gyp gives, so both
// are built the same way. A missing cross compiler is a warning here (a checkout still works) and
// an error in `npm pack` (scripts/check-package.js).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TARGETS = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };

// binding.gyp is a Python literal; with its # comment lines removed it is JSON
const gyp = JSON.parse(readFileSync(path.join(root, 'binding.gyp'), 'utf8').replace(/^\s*#.*$/gm, ''));
const target = gyp.targets[0];
const version = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version;
const sources = readdirSync(path.join(root, 'native'))
  .filter((f) => f.endsWith('.c'))
  .sort()
  .map((f) => path.join('native', f));

for (const [arch, triple] of Object.entries(TARGETS)) {
  const out = path.join(root, 'prebuilds', `linux-${arch}`, 'libkinject.so');
  mkdirSync(path.dirname(out), { recursive: true });
  if (arch === process.arch && process.platform === 'linux') {
    copyFileSync(path.join(root, 'build', 'Release', 'libkinject.so'), out);
    continue;
  }
  const cc = `${triple}-gcc`;
  const args = ['-shared', ...target.cflags, `-DKINJECT_VERSION="${version}"`, ...sources, '-o', out, ...target.ldflags, ...target.libraries];
  try {
    execFileSync(cc, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (err) {
    if (err.code === 'ENOENT') {
      process.stderr.write(`build-prebuilds: ${cc} not found: no prebuilt shim for linux-${arch} (scripts/setup-host.sh installs gcc-${triple})\n`);
      continue;
    }
    throw err;
  }
}

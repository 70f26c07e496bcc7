#!/usr/bin/env node
// The package's install script (`npm install -g kinject` runs it): needs no compiler when the
// package carries a prebuilt shim for this machine (prebuilds/linux-x64, prebuilds/linux-arm64,
// glibc >= 2.34) that the dynamic loader accepts; otherwise (another architecture, musl, an older
// glibc, or KINJECT_BUILD_FROM_SOURCE=1) it builds the shim from native/ with node-gyp, and when
// that fails too it says so in one line and fails the install. In a checkout (`npm ci`) there
// are no prebuilts yet: it builds from source, as `npm run build` does.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const where = `${process.platform}-${process.arch}`;
const prebuilt = path.join(root, 'prebuilds', where, 'libkinject.so');
const glibc = process.platform === 'linux' ? process.report.getReport().header.glibcVersionRuntime : undefined;

/** Does the loader preload it into a trivial program without complaint? (old glibc: "cannot be preloaded") */
function loads(lib) {
  const r = spawnSync('/bin/sh', ['-c', ':'], { env: { LD_PRELOAD: lib, PATH: '/usr/bin:/bin' }, encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 && !/ld\.so|cannot be preloaded|error/i.test(r.stderr ?? '');
}

function why() {
  if (process.env.KINJECT_BUILD_FROM_SOURCE) return 'KINJECT_BUILD_FROM_SOURCE is set';
  if (!existsSync(prebuilt)) return `no prebuilt shim for ${where}`;
  if (!glibc) return `the prebuilt shim for ${where} needs glibc (this is not a glibc system)`;
  if (!loads(prebuilt)) return `the prebuilt shim for ${where} does not load here (it needs glibc >= 2.34; this is ${glibc})`;
  return undefined;
}

const reason = why();
if (reason === undefined) process.exit(0);

// node-gyp: the one npm runs install scripts with, else npm's own, else one on PATH
const npmDir = path.dirname(path.dirname(process.env.npm_execpath ?? ''));
const gyp = [process.env.npm_config_node_gyp, path.join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')].find((p) => p && existsSync(p));
const args = ['rebuild'];
if (existsSync('/usr/include/node/node.h')) args.push('--nodedir=/usr'); // Debian's node: headers offline
const r = gyp
  ? spawnSync(process.execPath, [gyp, ...args], { cwd: root, encoding: 'utf8', timeout: 600_000 })
  : spawnSync('node-gyp', args, { cwd: root, encoding: 'utf8', timeout: 600_000 });
if (r.status === 0) process.exit(0);

const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`;
const log = path.join(mkdtempSync(path.join(tmpdir(), 'kinject-install-')), 'build.log');
writeFileSync(log, output);
const cause =
  output
    .split('\n')
    .find((l) => /not found|No such file|ENOENT|error:/i.test(l))
    ?.replace(/^gyp ERR! (stack )?/, '')
    .trim()
    .slice(0, 160) ?? `node-gyp exit ${r.status ?? r.signal}`;
process.stderr.write(
  `kinject: ${reason}, and building the shim from source failed (${cause}): install a C compiler, make and python3 (Debian/Ubuntu: apt-get install gcc make python3) and install kinject again; full log: ${log}\n`,
);
process.exit(1);

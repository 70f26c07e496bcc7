// One answer for "will the shim capture this program?": the runner's check (classifyBinary in
// src/child/binary-check.ts, for the first command) and the shim's (native/exec.c, on every
// execve, seen as its warning line) run on one table of real binaries built here: dynamic,
// static, static-pie, Go, a copy of ld.so run directly (a soname, no interpreter), setuid and
// setgid copies, a `#!` script, a non-ELF file; 32-bit from Debian's i686 cross gcc
// (skipped, visibly, when not), plus hand-made 32-bit ELF headers either way.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifyBinary } from '../../dist/src/child/binary-check.js';
import { shimLibrary } from '../../dist/src/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'kinject-kinds-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const at = (name) => join(dir, name);
writeFileSync(at('m.c'), 'int main(void){return 0;}\n');
const gcc = (out, ...flags) => execFileSync('gcc', [...flags, '-o', at(out), at('m.c')], { timeout: 60_000, stdio: 'pipe' });
// 32-bit x86 with Debian's i686 cross gcc (gcc-multilib would conflict with the arm64 cross gcc the prebuilds need)
const gcc32 = (out, ...flags) => execFileSync('i686-linux-gnu-gcc', [...flags, '-o', at(out), at('m.c')], { timeout: 60_000, stdio: 'pipe' });

/** the runner's answer */
function runner(path) {
  const kind = classifyBinary(path);
  return kind === 'static' || kind === 'go' || kind === 'setuid' ? kind : 'none';
}

/** the shim's answer: its warning when sh (under the shim) execs the file */
function shim(path) {
  const r = spawnSync('/bin/sh', ['-c', 'exec "$0" </dev/null >/dev/null', path], {
    env: { PATH: '/usr/bin:/bin', LD_PRELOAD: shimLibrary, KINJECT_LIB: shimLibrary, KINJECT_SOCKS: '127.0.0.1:9' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (r.error) throw r.error;
  const m = /kinject: warning: .* is (?:a (static|Go) binary|(setuid|setgid):)/.exec(r.stderr);
  if (!m) return 'none';
  return m[1] ? m[1].toLowerCase() : 'setuid';
}

/** a minimal 32-bit little-endian ELF header with one program header (PT_INTERP or PT_LOAD) */
function elf32({ interp }) {
  const b = Buffer.alloc(52 + 32);
  b.write('\x7fELF', 0, 'latin1');
  b[4] = 1;
  b[5] = 1;
  b[6] = 1; // ELFCLASS32, little-endian, version 1
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(3, 18); // EM_386
  b.writeUInt32LE(1, 20);
  b.writeUInt32LE(52, 28); // e_phoff
  b.writeUInt16LE(52, 40); // e_ehsize
  b.writeUInt16LE(32, 42); // e_phentsize
  b.writeUInt16LE(1, 44); // e_phnum
  b.writeUInt32LE(interp ? 3 : 1, 52); // PT_INTERP or PT_LOAD
  return b;
}

const table = []; // [name, expected]
gcc('dynamic');
table.push(['dynamic', 'none']);
gcc('static', '-static');
table.push(['static', 'static']);
gcc('static-pie', '-static-pie');
table.push(['static-pie', 'static']);
copyFileSync(at('dynamic'), at('setuid'));
chmodSync(at('setuid'), 0o4755);
table.push(['setuid', 'setuid']);
copyFileSync(at('dynamic'), at('setgid'));
chmodSync(at('setgid'), 0o2755);
table.push(['setgid', 'setuid']);
writeFileSync(at('script'), '#!/bin/sh\nexit 0\n');
chmodSync(at('script'), 0o755);
table.push(['script', 'none']);
writeFileSync(at('data'), 'not a program\n');
chmodSync(at('data'), 0o755);
table.push(['data', 'none']);
writeFileSync(at('elf32-static'), elf32({ interp: false }));
chmodSync(at('elf32-static'), 0o755);
table.push(['elf32-static', 'static']);
writeFileSync(at('elf32-dynamic'), elf32({ interp: true }));
chmodSync(at('elf32-dynamic'), 0o755);
table.push(['elf32-dynamic', 'none']);
const ldso = ['/lib64/ld-linux-x86-64.so.2', '/lib/ld-linux-aarch64.so.1'].find((p) => existsSync(p));
if (ldso) {
  copyFileSync(ldso, at('ld.so'));
  chmodSync(at('ld.so'), 0o755);
  table.push(['ld.so', 'none']);
}

const goDir = mkdtempSync(join(dir, 'go-'));
writeFileSync(join(goDir, 'go.mod'), 'module example.test/hello\n\ngo 1.21\n');
writeFileSync(join(goDir, 'main.go'), 'package main\n\nfunc main() {}\n');
execFileSync('go', ['build', '-o', at('go'), '.'], {
  cwd: goDir,
  timeout: 180_000,
  env: { ...process.env, PATH: `/usr/local/go/bin:${process.env.PATH}`, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local', GOCACHE: join(dir, 'gocache') },
});
table.push(['go', 'go']);

let m32 = true;
try {
  gcc32('elf32-gcc-dynamic');
  gcc32('elf32-gcc-static', '-static');
  table.push(['elf32-gcc-dynamic', 'none'], ['elf32-gcc-static', 'static']);
} catch {
  m32 = false;
}

t.test('the runner and the shim give the same answer on every binary', async (t) => {
  for (const [name, expected] of table) {
    const path = at(name);
    t.equal(runner(path), expected, `${name}: runner`);
    t.equal(shim(path), expected, `${name}: shim`);
  }
});

t.test(
  '32-bit binaries from i686-linux-gnu-gcc',
  {
    skip: m32
      ? false
      : 'i686-linux-gnu-gcc cannot link here (gcc-i686-linux-gnu / libc6-dev-i386-cross missing): only the hand-made 32-bit headers were checked',
  },
  async (t) => {
    t.pass('built and checked above');
  },
);

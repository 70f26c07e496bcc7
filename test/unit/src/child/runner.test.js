// Pure pieces of the runner: exit statuses, the binary check (real ELF files built here), the
// shim environment, stand-in addresses, the cleanup stack.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitCodeOf } from '../../../../dist/src/child/exit-status.js';
import { classifyBinary, resolveOnPath, bypassWarning } from '../../../../dist/src/child/binary-check.js';
import { shimEnvironment } from '../../../../dist/src/child/shim-env.js';
import { FakeAddresses, isFakeAddress } from '../../../../dist/src/front/fake-addresses.js';
import { CleanupStack } from '../../../../dist/src/child/cleanup-stack.js';
import { shimLibrary } from '../../../../dist/src/paths.js';

t.test('exit status: code, or 128 + signal', async (t) => {
  t.equal(exitCodeOf({ code: 3, signal: null }), 3);
  t.equal(exitCodeOf({ code: null, signal: 'SIGTERM' }), 143);
  t.equal(exitCodeOf({ code: null, signal: 'SIGKILL' }), 137);
});

t.test('binary check tells dynamic, static, Go and scripts apart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kinject-elf-'));
  writeFileSync(join(dir, 'm.c'), 'int main(void){return 0;}\n');
  execFileSync('gcc', ['-o', join(dir, 'dyn'), join(dir, 'm.c')]);
  execFileSync('gcc', ['-static', '-o', join(dir, 'stat'), join(dir, 'm.c')]);
  t.equal(classifyBinary(join(dir, 'dyn')), 'dynamic');
  t.equal(classifyBinary(join(dir, 'stat')), 'static');
  t.match(
    bypassWarning(join(dir, 'stat'), 'static'),
    /statically linked binary: its network calls bypass kinject \(run it with --method netns to capture them\)/,
  );
  writeFileSync(join(dir, 'script.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(dir, 'script.sh'), 0o755);
  t.equal(classifyBinary(join(dir, 'script.sh')), 'not-elf');
  t.equal(resolveOnPath('sh', '/nonexistent:/bin'), '/bin/sh');
  t.equal(resolveOnPath('no-such-command-kinject', '/bin:/usr/bin'), undefined);

  const goDir = mkdtempSync(join(tmpdir(), 'kinject-go-'));
  writeFileSync(join(goDir, 'go.mod'), 'module example.test/hello\n\ngo 1.21\n');
  writeFileSync(join(goDir, 'main.go'), 'package main\n\nfunc main() {}\n');
  execFileSync('go', ['build', '-o', 'hello', '.'], {
    cwd: goDir,
    env: { ...process.env, PATH: `/usr/local/go/bin:${process.env.PATH}`, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' },
  });
  t.equal(classifyBinary(join(goDir, 'hello')), 'go');
});

t.test('shim environment: LD_PRELOAD first, KINJECT_* replaced, the rest kept', async (t) => {
  const env = shimEnvironment(
    { PATH: '/bin', LD_PRELOAD: '/x/other.so', KINJECT_STALE: '1' },
    { socks: { host: '127.0.0.1', port: 1 }, token: 'tok', dns: { host: '127.0.0.1', port: 2 }, localNames: ['a', '.b'], verbose: false },
  );
  t.equal(env.LD_PRELOAD, `${shimLibrary}:/x/other.so`);
  t.equal(env.KINJECT_SOCKS, '127.0.0.1:1');
  t.equal(env.KINJECT_DNS, '127.0.0.1:2');
  t.equal(env.KINJECT_LOCAL_NAMES, 'a,.b');
  t.equal(env.KINJECT_STALE, undefined);
  t.equal(env.KINJECT_VERBOSE, undefined);
  t.equal(env.PATH, '/bin');
});

t.test('stand-in addresses', async (t) => {
  const fake = new FakeAddresses();
  const a = fake.addressFor('Redis.NS.');
  t.equal(a, '127.77.0.1');
  t.equal(fake.addressFor('redis.ns'), a, 'case and trailing dot do not matter');
  t.equal(fake.addressFor('other'), '127.77.0.2');
  t.equal(fake.nameOf(a), 'redis.ns');
  t.ok(isFakeAddress(a));
  t.notOk(isFakeAddress('127.0.0.1'));
});

t.test('cleanup stack: newest first, once, failures do not stop the rest', async (t) => {
  const stack = new CleanupStack();
  const order = [];
  stack.add('a', () => order.push('a'));
  stack.add('b', () => {
    throw new Error('boom');
  });
  stack.add('c', async () => order.push('c'));
  const logged = [];
  await Promise.all([stack.unwind((m) => logged.push(m)), stack.unwind()]);
  t.same(order, ['c', 'a']);
  t.match(logged, [/cleanup of b failed: boom/]);
});

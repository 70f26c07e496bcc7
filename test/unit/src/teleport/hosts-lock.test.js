// Concurrent writers of one hosts file (src/teleport/hosts-lock.ts through editHostsFile), on a
// temporary file: four real node processes each add and replace their own block 40 times at
// the same moment; at the end every block is there with its last lines (without the lock, a
// read-modify-write overwrites another's block). A lock left by a dead pid is taken over; a lock
// held by a live process ends in one clear error after the wait.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blocks, editHostsFile } from '../../../../dist/src/teleport/hosts-file.js';
import { withHostsLock } from '../../../../dist/src/teleport/hosts-lock.js';

const dir = mkdtempSync(join(tmpdir(), 'kinject-hosts-lock-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const hostsFileModule = new URL('../../../../dist/src/teleport/hosts-file.js', import.meta.url).href;

const writer = (file, id, at) => `
import { editHostsFile, withBlock } from ${JSON.stringify(hostsFileModule)};
while (Date.now() < ${at}) {}
for (let i = 0; i < 40; i++) editHostsFile(${JSON.stringify(file)}, (t) => withBlock(t, '${id}', process.pid, ['127.9.0.1 ${id}-' + i]));
`;

t.test('four writers at once: every block is there with its last lines', async (t) => {
  const file = join(dir, 'hosts');
  writeFileSync(file, '127.0.0.1 localhost\n');
  const ids = ['w1', 'w2', 'w3', 'w4'];
  const at = Date.now() + 1500; // all start their loops at the same moment
  const runs = ids.map(
    (id) =>
      new Promise((resolve) =>
        execFile(
          process.execPath,
          ['--input-type=module', '-e', writer(file, id, at)],
          { timeout: 60_000, env: { ...process.env, KINJECT_HOSTS_LOCK: join(dir, 'lock') } },
          (err, _o, stderr) => resolve(err ? stderr || err.message : ''),
        ),
      ),
  );
  t.same(await Promise.all(runs), ['', '', '', ''], 'all writers ended well');
  const text = readFileSync(file, 'utf8');
  t.same(
    blocks(text)
      .map((b) => b.id)
      .sort(),
    ids,
    text,
  );
  for (const id of ids) t.match(text, new RegExp(`^127\\.9\\.0\\.1 ${id}-39$`, 'm'));
  t.ok(text.startsWith('127.0.0.1 localhost\n'));
});

t.test('a lock of a dead pid is taken over; a live one ends in one clear error', async (t) => {
  const lock = join(dir, 'lock2');
  writeFileSync(lock, '999999999\n');
  t.equal(
    withHostsLock(lock, () => 'ran'),
    'ran',
  );
  writeFileSync(lock, `${process.ppid}\n`);
  t.throws(() => withHostsLock(lock, () => 'ran', 300), /the hosts file's lock .*lock2 has been held for 0\.3 s by pid \d+; if no kinject runs, remove it/);
  rmSync(lock);
  const file = join(dir, 'hosts2');
  writeFileSync(file, '');
  editHostsFile(file, (x) => `${x}a\n`);
  t.equal(readFileSync(file, 'utf8'), 'a\n');
});

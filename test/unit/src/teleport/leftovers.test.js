// A background teleport's log (teleport-<pid>.log in the runtime dir) is dead when no process has
// it open (src/teleport/leftovers.ts unheldLogs): this process holds one open, another is closed;
// other files are never candidates; a missing directory has none.
import { closeSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { unheldLogs } from '../../../../dist/src/teleport/leftovers.js';

t.test('only the logs nobody has open', async (t) => {
  const dir = t.testdir({ 'teleport-1.log': 'held', 'teleport-2.log': 'not held', 'teleport-abc.hosts': '', 'other.log': '' });
  const fd = openSync(join(dir, 'teleport-1.log'), 'a');
  t.teardown(() => closeSync(fd));
  t.same(unheldLogs(dir), [join(dir, 'teleport-2.log')]);
  // through a symlinked directory: /proc names the resolved path, and the held log is still held
  const link = join(dir, 'self');
  symlinkSync(dir, link);
  t.same(unheldLogs(link), [join(dir, 'teleport-2.log')]);
  writeFileSync(join(dir, 'teleport-3.log'), '');
  t.same(unheldLogs(dir).sort(), [join(dir, 'teleport-2.log'), join(dir, 'teleport-3.log')]);
  t.same(unheldLogs(join(dir, 'missing')), []);
});

// The hosts file as teleport edits it (src/teleport/hosts-file.ts) on temporary files: a block per
// session replaced in place and removed alone (other lines, anyone's, stay byte for byte); a
// rename keeps mode; a symlink stays a link and its target changes; the one-time backup; the
// address blocks (addresses.ts) and the names of a namespace's Services (names.ts).
import t from 'tap';
import { chmodSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blocks, editHostsFile, withBlock, withoutBlocks } from '../../../../dist/src/teleport/hosts-file.js';
import { AddressBook, claimBlock } from '../../../../dist/src/teleport/addresses.js';
import { entriesOf } from '../../../../dist/src/teleport/names.js';
import { formatTable } from '../../../../dist/src/teleport/session.js';

const dir = mkdtempSync(join(tmpdir(), 'kinject-hosts-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const original = '127.0.0.1 localhost\n::1 localhost ip6-localhost\n';

t.test('a block is added, replaced, and removed alone', async (t) => {
  let text = withBlock(original, 'aa11', 42, ['127.1.0.1 hello hello.ns']);
  t.match(text, /^# kinject teleport aa11 begin pid 42 .*\n127\.1\.0\.1 hello hello\.ns\n# kinject teleport aa11 end\n$/m);
  text = withBlock(`${text}10.0.0.9 someone\n`, 'bb22', 43, ['127.2.0.1 x']);
  text = withBlock(text, 'aa11', 42, ['127.1.0.1 hello', '127.1.0.2 echo']);
  t.same(
    blocks(text).map((b) => b.id),
    ['aa11', 'bb22'],
  );
  const without = withoutBlocks(text, (id) => id === 'aa11');
  t.equal(without, `${original}10.0.0.9 someone\n${withBlock('', 'bb22', 43, ['127.2.0.1 x'])}`);
  t.equal(
    withoutBlocks(without, () => true),
    `${original}10.0.0.9 someone\n`,
    'back to the original plus the line someone added',
  );
  t.equal(withBlock('no newline at end', 'cc', 1, []).split('\n')[0], 'no newline at end');
});

t.test('editHostsFile: atomic rename keeping the mode; a symlink stays a link; backup once', async (t) => {
  const file = join(dir, 'hosts');
  writeFileSync(file, original);
  chmodSync(file, 0o640);
  const backup = join(dir, 'backup');
  t.ok(editHostsFile(file, (x) => withBlock(x, 'aa11', 1, ['127.1.0.1 a']), backup));
  t.equal(lstatSync(file).mode & 0o777, 0o640, 'mode kept');
  t.equal(readFileSync(backup, 'utf8'), original, 'backup of the original');
  editHostsFile(file, (x) => withBlock(x, 'aa11', 1, ['127.1.0.1 b']), backup);
  t.equal(readFileSync(backup, 'utf8'), original, 'the backup is made once');
  t.notOk(
    editHostsFile(file, (x) => x),
    'no change: no write',
  );
  const link = join(dir, 'hosts-link');
  symlinkSync(file, link);
  editHostsFile(link, (x) => withoutBlocks(x, () => true));
  t.ok(lstatSync(link).isSymbolicLink(), 'still a symlink');
  t.equal(readlinkSync(link), file);
  t.equal(readFileSync(file, 'utf8'), original, 'its target changed');
});

t.test('address blocks: claimed exclusively, a dead claim taken over; addresses stable per key', async (t) => {
  const blocksDir = join(dir, 'blocks');
  const a = claimBlock(blocksDir, () => true);
  t.equal(a.block, 1);
  writeFileSync(join(blocksDir, 'block-2'), '999999');
  const b = claimBlock(blocksDir, (pid) => pid !== 999999 && pid !== process.pid);
  t.equal(b.block, 2, 'the dead claim of block 2 is taken over');
  // another starter has just created block-4 and not yet written its pid: not taken
  writeFileSync(join(blocksDir, 'block-3'), '0');
  writeFileSync(join(blocksDir, 'block-4'), '');
  const c = claimBlock(blocksDir, (pid) => pid > 0 && pid !== process.pid);
  t.equal(c.block, 3, 'a released block (0) is taken');
  const d = claimBlock(blocksDir, (pid) => pid > 0 && pid !== process.pid);
  t.equal(d.block, 5, 'a block being claimed (empty, just created) is not');
  const book = new AddressBook(3);
  t.equal(book.addressFor('svc/ns/a'), '127.3.0.1');
  t.equal(book.addressFor('svc/ns/b'), '127.3.0.2');
  t.equal(book.addressFor('svc/ns/a'), '127.3.0.1', 'stable');
});

t.test('names: ClusterIP, ExternalName, headless pods by hostname', async (t) => {
  const services = [
    {
      metadata: { name: 'web', namespace: 'ns' },
      spec: {
        clusterIP: '10.0.0.5',
        ports: [
          { port: 80, protocol: 'TCP' },
          { port: 53, protocol: 'UDP' },
        ],
      },
    },
    { metadata: { name: 'ext', namespace: 'ns' }, spec: { type: 'ExternalName', externalName: 'example.org', ports: [{ port: 443 }] } },
    { metadata: { name: 'db', namespace: 'ns' }, spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, targetPort: 'pg' }] } },
    { metadata: { name: 'dns', namespace: 'ns' }, spec: { clusterIP: '10.0.0.10', ports: [{ port: 53, protocol: 'UDP' }] } },
  ];
  const slices = [
    {
      metadata: { labels: { 'kubernetes.io/service-name': 'db' } },
      ports: [{ name: 'pg', port: 15432 }],
      endpoints: [
        { addresses: ['10.1.0.7'], hostname: 'db-0', conditions: { ready: true } },
        { addresses: ['10.1.0.8'], hostname: 'db-1', conditions: { ready: true } },
      ],
    },
  ];
  const e = entriesOf('ns', services, slices, true);
  t.same(
    e.map((x) => [x.key, x.names[0], x.ports]),
    [
      ['svc/ns/web', 'web', [{ port: 80, host: '10.0.0.5', targetPort: 80 }]],
      ['svc/ns/ext', 'ext', [{ port: 443, host: 'example.org', targetPort: 443 }]],
      ['svc/ns/db', 'db', [{ port: 5432, host: '10.1.0.7', targetPort: 15432 }]],
      ['pod/ns/db/db-0', 'db-0.db', [{ port: 5432, host: '10.1.0.7', targetPort: 15432 }]],
      ['pod/ns/db/db-1', 'db-1.db', [{ port: 5432, host: '10.1.0.8', targetPort: 15432 }]],
      ['svc/ns/dns', 'dns', []],
    ],
  );
  t.same(e[0].notRelayed, ['53/UDP'], 'a UDP port is marked as not relayed');
  t.same(e[5].notRelayed, ['53/UDP'], 'a UDP-only Service: an entry without ports');
  t.equal(
    formatTable([
      { address: '127.1.0.1', ports: [80], names: ['web'], notRelayed: ['53/UDP'] },
      { address: '-', ports: [], names: ['dns'], notRelayed: ['53/UDP'] },
    ]),
    'ADDRESS    PORTS                  NAMES\n127.1.0.1  80,53/udp:not-relayed  web\n-          53/udp:not-relayed     dns\n',
    'the table says which ports are not relayed',
  );
  t.same(e[3].names, ['db-0.db', 'db-0.db.ns', 'db-0.db.ns.svc', 'db-0.db.ns.svc.cluster.local']);
  t.same(entriesOf('ns', services, slices, false)[0].names, ['web.ns', 'web.ns.svc', 'web.ns.svc.cluster.local'], 'no short name past the first namespace');
});

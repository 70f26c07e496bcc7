// The pod's SFTP server, spoken to by ssh2's own SFTP client over loopback (no FUSE needed):
// auth, the export-only path space, read-only exports, symlink containment, reads and writes.
import t from 'tap';
import ssh2 from 'ssh2';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSftpServer, generateSessionKeys, knownHostsLine } from '../../../../dist/proxy-pod/sftp/index.js';

const STATUS = ssh2.utils.sftp.STATUS_CODE;

// A pod-shaped tree: /data (read-write), /etc/web (configMap-style symlink farm, read-only),
// /etc/secret (not exported), and links that try to leave the exports.
function podTree() {
  const base = mkdtempSync(join(tmpdir(), 'kinject-sftp-'));
  mkdirSync(join(base, 'data/sub'), { recursive: true });
  writeFileSync(join(base, 'data/hello.txt'), 'hello from the pod\n');
  const ts = join(base, 'etc/web/..2026_11_22_02_30_00.123456789');
  mkdirSync(ts, { recursive: true });
  writeFileSync(join(ts, 'app.conf'), 'listen 8080\n');
  symlinkSync('..2026_11_22_02_30_00.123456789', join(base, 'etc/web/..data'));
  symlinkSync('..data/app.conf', join(base, 'etc/web/app.conf'));
  mkdirSync(join(base, 'etc/secret'), { recursive: true });
  writeFileSync(join(base, 'etc/secret/password'), 'hunter2\n');
  symlinkSync(join(base, 'etc/secret/password'), join(base, 'data/abs-escape'));
  symlinkSync('../etc/secret/password', join(base, 'data/rel-escape'));
  symlinkSync('../etc/web/app.conf', join(base, 'data/to-web'));
  symlinkSync('hello.txt', join(base, 'data/to-hello'));
  return base;
}

async function connect(t, port, { key, username = 'kinject', hostKey }) {
  const conn = new ssh2.Client();
  t.teardown(() => conn.end());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ssh connect timed out')), 10000);
    conn.on('ready', () => {
      conn.sftp((err, sftp) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(sftp);
      });
    });
    conn.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    conn.connect({
      host: '127.0.0.1',
      port,
      username,
      privateKey: key,
      readyTimeout: 8000,
      hostVerifier: (k) => (hostKey ? Buffer.compare(k, hostKey) === 0 : true),
    });
  });
}

const call = (fn, ...args) => new Promise((resolve) => fn(...args, (err, ...res) => resolve({ err, res })));

const base = podTree();
const keys = generateSessionKeys('test');
const server = await startSftpServer({
  host: '127.0.0.1',
  port: 0,
  hostKey: keys.hostPrivateKey,
  authorizedKey: keys.clientPublicKey,
  exports: [
    { path: join(base, 'data'), readOnly: false },
    { path: join(base, 'etc/web'), readOnly: true },
  ],
});
t.teardown(async () => {
  await server.close();
  rmSync(base, { recursive: true, force: true });
});
const hostBlob = ssh2.utils.parseKey(keys.hostPublicKey).getPublicSSH();
const P = (p) => join(base, p);

t.test('key material is OpenSSH ed25519, and a known_hosts line names the alias', async (t) => {
  t.match(keys.hostPrivateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----/);
  t.match(keys.clientPublicKey, /^ssh-ed25519 AAAA/);
  t.match(knownHostsLine(keys.hostPublicKey), /^kinject-sftp ssh-ed25519 AAAA\S+\n$/);
  t.notSame(keys.hostPublicKey, keys.clientPublicKey);
});

t.test('every generated key parses (ssh2 alone makes ~1 bad ed25519 pair in 128)', async (t) => {
  let bad = 0;
  for (let i = 0; i < 600; i++) {
    const k = generateSessionKeys('many');
    for (const text of [k.hostPrivateKey, k.hostPublicKey, k.clientPrivateKey, k.clientPublicKey]) {
      if (ssh2.utils.parseKey(text) instanceof Error) bad++;
    }
  }
  t.equal(bad, 0, '1200 pairs, all sound');
});

t.test('auth: the session key gets in; another key or another user does not', async (t) => {
  const sftp = await connect(t, server.address.port, { key: keys.clientPrivateKey, hostKey: hostBlob });
  t.ok(sftp, 'session key accepted and the host key matches');
  const other = generateSessionKeys('other');
  await t.rejects(connect(t, server.address.port, { key: other.clientPrivateKey }), /authentication methods failed/i, 'wrong client key refused');
  await t.rejects(connect(t, server.address.port, { key: keys.clientPrivateKey, username: 'root' }), /authentication methods failed/i, 'wrong user refused');
  // The host key itself (a valid key, but not the authorized one) is refused too.
  await t.rejects(connect(t, server.address.port, { key: keys.hostPrivateKey }), /authentication methods failed/i);
});

t.test('only the sftp subsystem: no exec, shell or port forwarding', async (t) => {
  const conn = new ssh2.Client();
  t.teardown(() => conn.end());
  await new Promise((resolve, reject) => {
    conn.on('ready', resolve).on('error', reject);
    conn.connect({ host: '127.0.0.1', port: server.address.port, username: 'kinject', privateKey: keys.clientPrivateKey, readyTimeout: 8000 });
  });
  const exec = await new Promise((resolve) =>
    conn.exec('id', (err, stream) => {
      if (err) return resolve(err);
      let out = '';
      stream
        .on('data', (d) => {
          out += d;
        })
        .on('close', () => resolve(out ? `ran: ${out}` : 'closed'));
    }),
  );
  t.not(typeof exec === 'string' && exec.startsWith('ran'), true, 'exec does not run anything');
  t.ok(exec instanceof Error, `exec refused (${exec})`);
  const shell = await new Promise((resolve) => conn.shell((err) => resolve(err)));
  t.ok(shell instanceof Error, 'shell refused');
  const fwd = await new Promise((resolve) => conn.forwardOut('127.0.0.1', 0, '127.0.0.1', server.address.port, (err) => resolve(err)));
  t.ok(fwd instanceof Error, 'direct-tcpip (ssh -L) refused');
});

t.test('path space: virtual parents list only the way to the exports', async (t) => {
  const sftp = await connect(t, server.address.port, { key: keys.clientPrivateKey });
  const names = async (p) => {
    const { err, res } = await call(sftp.readdir.bind(sftp), p);
    if (err) throw err;
    return res[0].map((e) => e.filename).sort();
  };
  t.same(await names('/'), [base.split('/')[1]]);
  t.same(await names(base), ['data', 'etc']);
  t.same(await names(P('etc')), ['web'], 'the non-exported sibling is not listed');
  t.same(await names(P('etc/web')), ['..2026_11_22_02_30_00.123456789', '..data', 'app.conf']);
  const secret = await call(sftp.stat.bind(sftp), P('etc/secret/password'));
  t.equal(secret.err?.code, STATUS.NO_SUCH_FILE, 'the non-exported sibling does not exist');
  const secretDir = await call(sftp.readdir.bind(sftp), P('etc/secret'));
  t.equal(secretDir.err?.code, STATUS.NO_SUCH_FILE);
  const outside = await call(sftp.stat.bind(sftp), '/etc/passwd');
  t.equal(outside.err?.code, STATUS.NO_SUCH_FILE, 'the rest of the filesystem does not exist');
  const mkdirVirtual = await call(sftp.mkdir.bind(sftp), P('etc/new'));
  t.equal(mkdirVirtual.err?.code, STATUS.PERMISSION_DENIED, 'virtual directories are read-only');
  const up = await call(sftp.stat.bind(sftp), P('data/../etc/secret/password'));
  t.equal(up.err?.code, STATUS.NO_SUCH_FILE, '.. is resolved lexically first');
});

t.test('configMap symlink farm: links inside the export resolve; reads work', async (t) => {
  const sftp = await connect(t, server.address.port, { key: keys.clientPrivateKey });
  const link = await call(sftp.readlink.bind(sftp), P('etc/web/app.conf'));
  t.equal(link.res[0], '..data/app.conf');
  const lst = await call(sftp.lstat.bind(sftp), P('etc/web/app.conf'));
  t.ok(lst.res[0].isSymbolicLink(), 'LSTAT shows the link');
  const st = await call(sftp.stat.bind(sftp), P('etc/web/app.conf'));
  t.ok(st.res[0].isFile(), 'STAT follows it');
  const { err, res } = await call(sftp.readFile.bind(sftp), P('etc/web/app.conf'));
  t.error(err);
  t.equal(res[0].toString(), 'listen 8080\n');
  const cross = await call(sftp.readFile.bind(sftp), P('data/to-web'));
  t.equal(cross.res[0]?.toString(), 'listen 8080\n', 'a link from one export into another is fine');
});

t.test('symlinks escaping the exports are refused', async (t) => {
  const sftp = await connect(t, server.address.port, { key: keys.clientPrivateKey });
  for (const name of ['abs-escape', 'rel-escape']) {
    const rl = await call(sftp.readlink.bind(sftp), P(`data/${name}`));
    t.equal(rl.err?.code, STATUS.PERMISSION_DENIED, `READLINK ${name}`);
    const rd = await call(sftp.readFile.bind(sftp), P(`data/${name}`));
    t.equal(rd.err?.code, STATUS.PERMISSION_DENIED, `reading through ${name}`);
    const st = await call(sftp.stat.bind(sftp), P(`data/${name}`));
    t.equal(st.err?.code, STATUS.PERMISSION_DENIED, `STAT ${name}`);
  }
  // Resolves inside on the pod (.. stops at /), but a client resolving it under its mount root
  // would climb out of the mount: READLINK refuses it.
  symlinkSync('../'.repeat(30) + base.slice(1) + '/data/hello.txt', P('data/climber'));
  const climber = await call(sftp.readlink.bind(sftp), P('data/climber'));
  t.equal(climber.err?.code, STATUS.PERMISSION_DENIED, 'READLINK of a link that climbs above / is refused');
  const mk = await call(sftp.symlink.bind(sftp), '/etc/passwd', P('data/new-escape'));
  t.equal(mk.err?.code, STATUS.PERMISSION_DENIED, 'creating a link out of the exports is refused');
  t.notOk(existsSync(P('data/new-escape')));
  const climb = await call(sftp.symlink.bind(sftp), '../'.repeat(30) + base.slice(1) + '/data/hello.txt', P('data/climb'));
  t.equal(climb.err?.code, STATUS.PERMISSION_DENIED, 'a relative link that climbs above / is refused');
  const ok = await call(sftp.symlink.bind(sftp), 'hello.txt', P('data/new-link'));
  t.error(ok.err, 'a link inside the export can be made');
  t.equal(readFileSync(P('data/new-link'), 'utf8'), 'hello from the pod\n');
});

t.test('read-only export refuses every write with PERMISSION_DENIED', async (t) => {
  const sftp = await connect(t, server.address.port, { key: keys.clientPrivateKey });
  const ro = P('etc/web');
  const attempts = {
    'open for write': call(sftp.open.bind(sftp), `${ro}/app.conf`, 'w'),
    create: call(sftp.open.bind(sftp), `${ro}/new`, 'wx'),
    append: call(sftp.open.bind(sftp), `${ro}/app.conf`, 'a'),
    mkdir: call(sftp.mkdir.bind(sftp), `${ro}/d`),
    remove: call(sftp.unlink.bind(sftp), `${ro}/app.conf`),
    rename: call(sftp.rename.bind(sftp), `${ro}/app.conf`, `${ro}/x`),
    'rename into': call(sftp.rename.bind(sftp), P('data/hello.txt'), `${ro}/hello.txt`),
    chmod: call(sftp.chmod.bind(sftp), `${ro}/app.conf`, 0o777),
    utimes: call(sftp.utimes.bind(sftp), `${ro}/app.conf`, 1, 1),
    rmdir: call(sftp.rmdir.bind(sftp), `${ro}/..data`),
    symlink: call(sftp.symlink.bind(sftp), 'app.conf', `${ro}/l`),
  };
  for (const [what, p] of Object.entries(attempts)) {
    const { err } = await p;
    t.equal(err?.code, STATUS.PERMISSION_DENIED, what);
  }
  t.equal(readFileSync(P('etc/web/app.conf'), 'utf8'), 'listen 8080\n', 'unchanged');
});

t.test('read-write export: create, append, exclusive create, truncate, rename, mkdir/rmdir, remove', async (t) => {
  const sftp = await connect(t, server.address.port, { key: keys.clientPrivateKey });
  t.error((await call(sftp.writeFile.bind(sftp), P('data/new.txt'), 'one\n')).err);
  t.equal(readFileSync(P('data/new.txt'), 'utf8'), 'one\n', 'seen on the pod side');
  t.error((await call(sftp.appendFile.bind(sftp), P('data/new.txt'), 'two\n')).err);
  t.equal(readFileSync(P('data/new.txt'), 'utf8'), 'one\ntwo\n');
  const excl = await call(sftp.open.bind(sftp), P('data/new.txt'), 'wx');
  t.equal(excl.err?.code, STATUS.FAILURE, 'O_EXCL on an existing file fails');
  t.error((await call(sftp.setstat.bind(sftp), P('data/new.txt'), { size: 2 })).err, 'SETSTAT size truncates');
  t.equal(readFileSync(P('data/new.txt'), 'utf8'), 'on');
  writeFileSync(P('data/target.txt'), 'old');
  t.error((await call(sftp.rename.bind(sftp), P('data/new.txt'), P('data/target.txt'))).err, 'rename replaces like POSIX');
  t.equal(readFileSync(P('data/target.txt'), 'utf8'), 'on');
  t.error((await call(sftp.mkdir.bind(sftp), P('data/dir'))).err);
  t.error((await call(sftp.rmdir.bind(sftp), P('data/dir'))).err);
  t.error((await call(sftp.unlink.bind(sftp), P('data/target.txt'))).err);
  t.notOk(existsSync(P('data/target.txt')));
  const root = await call(sftp.rmdir.bind(sftp), P('data'));
  t.equal(root.err?.code, STATUS.PERMISSION_DENIED, 'an export root cannot be removed');
});

t.test('large positioned reads come back whole', async (t) => {
  const sftp = await connect(t, server.address.port, { key: keys.clientPrivateKey });
  const big = Buffer.alloc(3 * 1024 * 1024 + 123);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  writeFileSync(P('data/big.bin'), big);
  const { res } = await call(sftp.open.bind(sftp), P('data/big.bin'), 'r');
  const handle = res[0];
  const buf = Buffer.alloc(200 * 1024);
  const r = await call(sftp.read.bind(sftp), handle, buf, 0, buf.length, 1000);
  t.error(r.err);
  t.equal(r.res[0], buf.length, 'a 200 KiB READ is answered in one piece');
  t.ok(buf.equals(big.subarray(1000, 1000 + buf.length)));
  const tail = await call(sftp.read.bind(sftp), handle, buf, 0, buf.length, big.length - 100);
  t.equal(tail.res[0], 100, 'short read at the end of the file');
  await call(sftp.close.bind(sftp), handle);
  const whole = await call(sftp.readFile.bind(sftp), P('data/big.bin'));
  t.ok(whole.res[0].equals(big), 'readFile (many concurrent READs) gives the file back intact');
});

t.test('a single-file export (a subPath mount) and a nested export', async (t) => {
  const conf = P('etc/nginx/nginx.conf');
  mkdirSync(P('etc/nginx'), { recursive: true });
  writeFileSync(conf, 'worker_processes 1;\n');
  writeFileSync(P('etc/nginx/other.conf'), 'hidden');
  mkdirSync(P('data/sub'), { recursive: true });
  const s2 = await startSftpServer({
    host: '127.0.0.1',
    port: 0,
    hostKey: keys.hostPrivateKey,
    authorizedKey: keys.clientPublicKey,
    exports: [
      { path: conf, readOnly: true },
      { path: P('data'), readOnly: true },
      { path: P('data/sub'), readOnly: false },
    ],
  });
  t.teardown(() => s2.close());
  const sftp = await connect(t, s2.address.port, { key: keys.clientPrivateKey });
  const dir = await call(sftp.readdir.bind(sftp), P('etc/nginx'));
  t.same(dir.res[0].map((e) => e.filename).sort(), ['nginx.conf'], 'only the exported file is listed');
  t.ok(dir.res[0][0].attrs.isFile(), 'with its real attributes');
  t.equal((await call(sftp.readFile.bind(sftp), conf)).res[0]?.toString(), 'worker_processes 1;\n');
  t.equal((await call(sftp.stat.bind(sftp), P('etc/nginx/other.conf'))).err?.code, STATUS.NO_SUCH_FILE);
  t.equal((await call(sftp.writeFile.bind(sftp), P('data/x'), 'x')).err?.code, STATUS.PERMISSION_DENIED, 'read-only outer export');
  t.error((await call(sftp.writeFile.bind(sftp), P('data/sub/x'), 'x')).err, 'read-write nested export');
  t.equal(readFileSync(P('data/sub/x'), 'utf8'), 'x');
});

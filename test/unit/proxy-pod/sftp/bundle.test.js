// The bundled pod server with its SFTP flags, as a process: both bundles (dist/proxy-pod.cjs
// copied as proxy-pod.js, dist/proxy-pod.js copied as .mjs) start from a directory with no
// node_modules anywhere above it and serve an exported file to ssh2's SFTP client; the size
// stays well under the Secret cap; the four flags go together (exit 2); unreadable or bad files
// exit 1 with one line; an open SFTP session keeps --exit-when-idle from firing.
// Run `npm run build:ts && npm run build:pod` first. Loopback only; every wait is bounded.
import t from 'tap';
import ssh2 from 'ssh2';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateSessionKeys } from '../../../../dist/proxy-pod/sftp/index.js';
import { MAX_SCRIPT_BYTES } from '../../../../dist/src/kube/proxy-job.js';
import { repoRoot } from '../../../../test/helpers/repo.js';

const root = repoRoot;

/** A directory under / so that no node_modules above it can help a bundle along. */
function bareDir() {
  for (const base of ['/var/tmp', '/tmp']) {
    const dir = fs.mkdtempSync(path.join(base, 'kinject-bundle-'));
    let up = dir;
    let clean = true;
    while (up !== path.dirname(up)) {
      up = path.dirname(up);
      if (fs.existsSync(path.join(up, 'node_modules'))) clean = false;
    }
    if (clean) return dir;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  throw new Error('no temp directory without a node_modules above it');
}

const tmp = bareDir();
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
const keys = generateSessionKeys('bundle-test');
const exported = path.join(tmp, 'etc-web');
fs.mkdirSync(exported);
fs.writeFileSync(path.join(exported, 'app.conf'), 'listen 8080\n');
fs.writeFileSync(path.join(tmp, 'secret.txt'), 'not exported\n');
const files = {
  token: path.join(tmp, 'token'),
  hostKey: path.join(tmp, 'sftp-host-key'),
  clientKey: path.join(tmp, 'sftp-client-key.pub'),
  exportsFile: path.join(tmp, 'sftp-exports.json'),
};
fs.writeFileSync(files.token, 'bundle-token\n');
fs.writeFileSync(files.hostKey, keys.hostPrivateKey);
fs.writeFileSync(files.clientKey, keys.clientPublicKey);
fs.writeFileSync(files.exportsFile, JSON.stringify([{ path: exported, readOnly: true }]));
const cjs = path.join(tmp, 'proxy-pod.js');
const esm = path.join(tmp, 'proxy-pod.mjs');
fs.copyFileSync(path.join(root, 'dist/proxy-pod.cjs'), cjs);
fs.copyFileSync(path.join(root, 'dist/proxy-pod.js'), esm);

const sftpArgs = (over = {}) => {
  const a = {
    '--sftp-listen': '127.0.0.1:0',
    '--sftp-host-key-file': files.hostKey,
    '--sftp-authorized-key-file': files.clientKey,
    '--sftp-exports-file': files.exportsFile,
    ...over,
  };
  return Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .flat();
};

function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms);
    }),
  ]);
}

/** Starts a bundle; resolves once both listening lines are out (or it exited). */
function startPod(t, file, args) {
  const child = spawn(process.execPath, [file, ...args], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH } });
  const state = { child, stderr: '', exit: null, port: null, sftpPort: null };
  state.exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      state.exit = { code, signal };
      resolve(state.exit);
    }),
  );
  state.ready = new Promise((resolve) => {
    child.stderr.on('data', (d) => {
      state.stderr += d;
      const sftp = /^kinject-proxy: sftp listening on 127\.0\.0\.1:(\d+)$/m.exec(state.stderr);
      const socks = /^kinject-proxy: listening on 127\.0\.0\.1:(\d+)$/m.exec(state.stderr);
      if (sftp) state.sftpPort = Number(sftp[1]);
      if (socks && state.port === null) {
        state.port = Number(socks[1]);
        resolve(state);
      }
    });
    state.exited.then(() => resolve(state));
  });
  t.teardown(() => {
    if (state.exit === null) child.kill('SIGKILL');
  });
  return state;
}

function sftpSession(t, port) {
  const conn = new ssh2.Client();
  t.teardown(() => conn.end());
  const hostBlob = ssh2.utils.parseKey(keys.hostPublicKey).getPublicSSH();
  return within(
    new Promise((resolve, reject) => {
      conn.on('ready', () => conn.sftp((err, sftp) => (err ? reject(err) : resolve({ conn, sftp }))));
      conn.on('error', reject);
      conn.connect({
        host: '127.0.0.1',
        port,
        username: 'kinject',
        privateKey: keys.clientPrivateKey,
        readyTimeout: 8000,
        hostVerifier: (k) => Buffer.compare(k, hostBlob) === 0,
      });
    }),
    10000,
    'sftp session',
  );
}

const call = (fn, ...args) => new Promise((resolve) => fn(...args, (err, ...res) => resolve({ err, res })));

t.test('bundle size: well under the Secret cap', async (t) => {
  for (const f of ['dist/proxy-pod.js', 'dist/proxy-pod.cjs']) {
    const size = fs.statSync(path.join(root, f)).size;
    t.ok(size < MAX_SCRIPT_BYTES * 0.7, `${f}: ${size} bytes`);
  }
  t.match(fs.readFileSync(esm, 'utf8').slice(0, 600), /const require = __kRequire\(import\.meta\.url\)/, 'ESM banner defines require');
});

for (const [name, file] of [
  ['cjs bundle as proxy-pod.js', cjs],
  ['esm bundle as proxy-pod.mjs', esm],
]) {
  t.test(`${name}: starts without node_modules and serves the exported file`, async (t) => {
    const pod = await within(startPod(t, file, ['--listen', '127.0.0.1:0', '--token-file', files.token, ...sftpArgs()]).ready, 15000, 'startup');
    t.ok(pod.port && pod.sftpPort, pod.stderr.trim());
    t.ok(pod.stderr.indexOf('sftp listening') < pod.stderr.indexOf('kinject-proxy: listening'), 'SFTP is up before the SOCKS port');
    t.match(pod.stderr, /kinject-sftp: export .*etc-web \(read-only\)/);
    const { sftp } = await sftpSession(t, pod.sftpPort);
    const read = await call(sftp.readFile.bind(sftp), path.join(exported, 'app.conf'));
    t.error(read.err);
    t.equal(String(read.res[0]), 'listen 8080\n');
    const hidden = await call(sftp.readFile.bind(sftp), path.join(tmp, 'secret.txt'));
    t.ok(hidden.err, 'a path outside the exports is not there');
    const write = await call(sftp.writeFile.bind(sftp), path.join(exported, 'new.txt'), 'x');
    t.ok(write.err, 'read-only export refuses a write');
    pod.child.kill('SIGTERM');
    t.same(await within(pod.exited, 5000, 'SIGTERM exit'), { code: 0, signal: null });
  });
}

t.test('the SFTP flags go all four or none: otherwise usage, exit 2', async (t) => {
  for (const missing of ['--sftp-listen', '--sftp-host-key-file', '--sftp-authorized-key-file', '--sftp-exports-file']) {
    const p = startPod(t, cjs, ['--listen', '127.0.0.1:0', ...sftpArgs({ [missing]: undefined })]);
    t.equal((await within(p.exited, 5000, 'usage exit')).code, 2, `without ${missing} -> 2`);
    t.match(p.stderr, new RegExp(`go together \\(missing ${missing}\\)`));
  }
  const bad = startPod(t, cjs, ['--listen', '127.0.0.1:0', ...sftpArgs({ '--sftp-listen': 'nowhere' })]);
  t.equal((await within(bad.exited, 5000, 'usage exit')).code, 2);
  t.match(bad.stderr, /--sftp-listen wants HOST:PORT/);
  const help = startPod(t, cjs, ['--help']);
  await within(help.exited, 5000, 'help');
});

t.test('unreadable or bad SFTP files: one clear line, exit 1', async (t) => {
  const garbage = path.join(tmp, 'garbage');
  fs.writeFileSync(garbage, 'not a key\n');
  const notJson = path.join(tmp, 'exports-bad.json');
  fs.writeFileSync(notJson, '{"path":');
  const cases = [
    [{ '--sftp-host-key-file': path.join(tmp, 'missing') }, /^kinject-proxy: cannot read the SFTP host key file: ENOENT/],
    [{ '--sftp-authorized-key-file': path.join(tmp, 'missing') }, /^kinject-proxy: cannot read the SFTP authorized key file: ENOENT/],
    [{ '--sftp-exports-file': path.join(tmp, 'missing') }, /^kinject-proxy: cannot read the SFTP exports file: ENOENT/],
    [{ '--sftp-exports-file': notJson }, /^kinject-proxy: .*exports-bad\.json: the SFTP export list is not JSON/],
    [{ '--sftp-host-key-file': garbage }, /^kinject-proxy: cannot start the SFTP server on 127\.0\.0\.1:0: cannot parse the host key/],
    [{ '--sftp-host-key-file': files.clientKey }, /^kinject-proxy: cannot start the SFTP server on 127\.0\.0\.1:0: the host key must be a private key/],
    [{ '--sftp-authorized-key-file': garbage }, /^kinject-proxy: cannot start the SFTP server on 127\.0\.0\.1:0: cannot parse the authorized client key/],
  ];
  for (const [over, re] of cases) {
    const p = startPod(t, cjs, ['--listen', '127.0.0.1:0', ...sftpArgs(over)]);
    t.equal((await within(p.exited, 5000, 'exit')).code, 1, JSON.stringify(over));
    t.match(p.stderr, re);
    t.equal(p.stderr.trim().split('\n').length, 1, `one line: ${p.stderr.trim()}`);
  }
});

t.test('--exit-when-idle: an open SFTP session keeps the server up; it exits after the session ends', async (t) => {
  const pod = await within(
    startPod(t, cjs, ['--listen', '127.0.0.1:0', '--token-file', files.token, '--exit-when-idle', '1', ...sftpArgs()]).ready,
    15000,
    'startup',
  );
  const { conn, sftp } = await sftpSession(t, pod.sftpPort);
  await new Promise((r) => setTimeout(r, 2000));
  t.equal(pod.exit, null, 'still running after 2 s with the SFTP session open (and quiet)');
  t.error((await call(sftp.stat.bind(sftp), exported)).err);
  const t0 = Date.now();
  conn.end();
  t.same(await within(pod.exited, 5000, 'idle exit'), { code: 0, signal: null });
  const took = Date.now() - t0;
  t.ok(took >= 900 && took < 4000, `exited about 1 s after the session ended (${took} ms)`);
  t.match(pod.stderr, /no client connection for 1 s, exiting/);
});

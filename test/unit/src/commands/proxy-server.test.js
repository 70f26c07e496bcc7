// The bundled pod server (dist/proxy-pod.js and the standalone dist/proxy-pod.cjs) as a process:
// startup line, token file, refusing to be an open proxy, --exit-when-idle, SIGTERM, bad usage.
// Run `node scripts/bundle-proxy-pod.js` first. Loopback only; every wait is bounded.
import t from 'tap';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../../../../test/helpers/repo.js';

const root = repoRoot;
const BUNDLE = path.join(root, 'dist/proxy-pod.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kinject-pod-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
const tokenFile = path.join(tmp, 'token');
fs.writeFileSync(tokenFile, 'cli-token-123\n');

/** Starts the server; resolves once it printed its listening line (or exited). */
function startPod(args, file = BUNDLE, cwd = root) {
  const child = spawn(process.execPath, [file, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const state = { child, stderr: '', exit: null, port: null };
  state.exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      state.exit = { code, signal };
      resolve(state.exit);
    }),
  );
  state.ready = new Promise((resolve) => {
    child.stderr.on('data', (d) => {
      state.stderr += d;
      const m = /listening on (?:\[[^\]]+\]|[^:\s]+):(\d+)/.exec(state.stderr);
      if (m && state.port === null) {
        state.port = Number(m[1]);
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

function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms);
    }),
  ]);
}

function rawSession(port, bytes) {
  return within(
    new Promise((resolve, reject) => {
      const chunks = [];
      const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
      s.on('data', (d) => chunks.push(d));
      s.on('error', reject);
      s.on('close', () => resolve(Buffer.concat(chunks)));
    }),
    5000,
    'raw session',
  );
}

const auth = (pass) => Buffer.concat([Buffer.from([5, 1, 2, 1, 7]), Buffer.from('kinject'), Buffer.from([pass.length]), Buffer.from(pass)]);
const resolveLocalhost = Buffer.concat([Buffer.from([5, 0xf0, 0, 3, 9]), Buffer.from('localhost'), Buffer.from([0, 0])]);

t.test('token file: RESOLVE with the right token, refusal with a wrong one', async (t) => {
  const pod = await within(startPod(['--listen', '127.0.0.1:0', '--token-file', tokenFile]).ready, 10000, 'startup');
  t.ok(pod.port, `listening (${pod.stderr.trim()})`);
  const ok = await rawSession(pod.port, Buffer.concat([auth('cli-token-123'), resolveLocalhost]));
  t.same(ok, [5, 2, 1, 0, 5, 0, 0, 1, 127, 0, 0, 1, 0, 0], 'trailing newline of the token file is ignored');
  const bad = await rawSession(pod.port, Buffer.concat([auth('cli-token-12'), resolveLocalhost]));
  t.same(bad.subarray(0, 3), [5, 2, 1]);
  t.not(bad[3], 0);
  pod.child.kill('SIGTERM');
  const exit = await within(pod.exited, 3000, 'SIGTERM exit');
  t.same(exit, { code: 0, signal: null }, 'SIGTERM: exit 0');
  t.match(pod.stderr, /authentication failed/);
});

t.test('SIGTERM with a client connection open still exits 0 promptly', async (t) => {
  const pod = await within(startPod(['--listen', '127.0.0.1:0', '--token-file', tokenFile]).ready, 10000, 'startup');
  const s = net.connect(pod.port, '127.0.0.1');
  s.on('error', () => {});
  await within(new Promise((r) => s.once('connect', r)), 3000, 'connect');
  const t0 = Date.now();
  pod.child.kill('SIGTERM');
  t.same(await within(pod.exited, 3000, 'SIGTERM exit'), { code: 0, signal: null });
  t.ok(Date.now() - t0 < 2000, 'promptly');
  s.destroy();
});

t.test('--exit-when-idle: exits 0 after the last client leaves, with one log line', async (t) => {
  const pod = await within(startPod(['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--exit-when-idle', '1']).ready, 10000, 'startup');
  const s = net.connect(pod.port, '127.0.0.1');
  s.on('error', () => {});
  await within(new Promise((r) => s.once('connect', r)), 3000, 'connect');
  await new Promise((r) => setTimeout(r, 1600));
  t.equal(pod.exit, null, 'still running while a client is connected');
  const t0 = Date.now();
  s.destroy();
  t.same(await within(pod.exited, 5000, 'idle exit'), { code: 0, signal: null });
  const took = Date.now() - t0;
  t.ok(took >= 900 && took < 4000, `exited about 1 s after the client left (${took} ms)`);
  t.match(pod.stderr, /no client connection for 1 s, exiting/);
});

t.test('--exit-when-idle counts from start when nobody connects', async (t) => {
  const pod = startPod(['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--exit-when-idle', '0.5']);
  t.same(await within(pod.exited, 5000, 'idle exit'), { code: 0, signal: null });
  t.match(pod.stderr, /exiting/);
});

t.test('without a token it refuses a non-loopback listen address, allows loopback', async (t) => {
  const open = startPod(['--listen', '0.0.0.0:0']);
  t.same(await within(open.exited, 5000, 'refusal'), { code: 1, signal: null });
  t.match(open.stderr, /open proxy/);
  const lo = await within(startPod(['--listen', '[::1]:0', '--exit-when-idle', '30']).ready, 10000, 'startup');
  t.ok(lo.port, 'listens on [::1] without a token');
  lo.child.kill('SIGTERM');
  await within(lo.exited, 3000, 'exit');
});

t.test('bad usage exits 2; unreadable or empty token file exits 1', async (t) => {
  for (const args of [[], ['--listen', 'nonsense'], ['--listen', '127.0.0.1:0', '--bogus'], ['--listen', '127.0.0.1:0', '--exit-when-idle', 'x']]) {
    const p = startPod(args);
    t.equal((await within(p.exited, 5000, 'usage exit')).code, 2, `${JSON.stringify(args)} -> 2`);
  }
  const empty = path.join(tmp, 'empty');
  fs.writeFileSync(empty, '\n');
  for (const file of [empty, path.join(tmp, 'missing')]) {
    const p = startPod(['--listen', '127.0.0.1:0', '--token-file', file]);
    t.equal((await within(p.exited, 5000, 'token exit')).code, 1, `${path.basename(file)} token file -> 1`);
  }
});

t.test('the .cjs bundle runs standalone, copied where no package.json is', async (t) => {
  const lone = path.join(tmp, 'proxy-pod.js');
  fs.copyFileSync(path.join(root, 'dist/proxy-pod.cjs'), lone);
  const pod = await within(startPod(['--listen', '127.0.0.1:0', '--token-file', tokenFile], lone, tmp).ready, 10000, 'startup');
  t.ok(pod.port, pod.stderr.trim());
  const ok = await rawSession(pod.port, Buffer.concat([auth('cli-token-123'), resolveLocalhost]));
  t.same(ok.subarray(4, 6), [5, 0]);
  pod.child.kill('SIGTERM');
  t.same(await within(pod.exited, 3000, 'exit'), { code: 0, signal: null });
});

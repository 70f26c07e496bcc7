// The child's guardian (src/child/guardian.ts) with real processes: a stand-in runner (node)
// starts a `sleep` and its guardian; when the runner is SIGKILLed the sleep gets SIGTERM; when the
// runner releases the guardian (its child exited) and exits, the guardian ends touching nothing.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../../../test/helpers/repo.js';
import { until } from '../../../../test/helpers/wait.js';

const guardianModule = join(repoRoot, 'dist', 'src', 'child', 'guardian.js');

const alive = (pid) => {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

/** a runner that starts `sleep 60` with a guardian and prints "<sleep pid> <guardian pids>" */
function runner(script, leftovers) {
  const code = `
    const { spawn } = require('node:child_process');
    import(${JSON.stringify(guardianModule)}).then(({ startGuardian }) => {
      const child = spawn('sleep', ['60'], { stdio: 'ignore' });
      const g = startGuardian(child.pid, undefined, ${JSON.stringify(leftovers)});
      child.on('exit', () => g.release());
      console.log(child.pid);
      ${script}
    });`;
  const p = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  p.outText = '';
  p.stdout.on('data', (d) => (p.outText += d));
  t.teardown(() => p.kill('SIGKILL'));
  return p;
}

/** command lines of the guardians watching pid */
const guardiansOf = (pid) =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      } catch {
        return [];
      }
    })
    .filter((argv) => argv.some((a) => a.startsWith('kinject-guardian-')) && argv.includes(String(pid)));

t.test('the runner is SIGKILLed: its child gets SIGTERM from the guardian', async (t) => {
  const p = runner('setInterval(() => {}, 1000);');
  t.ok(await until(() => /^\d+\n/.test(p.outText), { timeoutMs: 10_000 }), 'the runner started its child');
  const sleepPid = Number(p.outText.trim());
  t.ok(alive(sleepPid), 'the child runs');
  t.equal(guardiansOf(sleepPid).length, 1, 'one guardian watches it');
  p.kill('SIGKILL');
  t.ok(await until(() => !alive(sleepPid), { timeoutMs: 10_000 }), 'the child ended');
  t.ok(await until(() => guardiansOf(sleepPid).length === 0, { timeoutMs: 5000 }), 'the guardian is gone too');
});

t.test('the child exits first: the guardian ends without killing anything, the runner is not held', async (t) => {
  const p = runner('setTimeout(() => process.kill(child.pid, "SIGUSR1"), 200); child.on("exit", (c, s) => console.log("child " + s));');
  t.ok(await until(() => /child SIGUSR1/.test(p.outText), { timeoutMs: 10_000 }), 'the child exited');
  const sleepPid = Number(p.outText.split('\n')[0]);
  // the runner may be gone already (its exit event fired while we waited for its output)
  const code = p.exitCode ?? (await new Promise((r) => p.on('exit', (c) => r(c))));
  t.equal(code, 0, 'the runner exits by itself');
  t.ok(await until(() => guardiansOf(sleepPid).length === 0, { timeoutMs: 5000 }), 'the guardian is gone');
});

t.test('the runner is SIGKILLed: the guardian removes what the session would have (trees, empty mount dirs, then records)', async (t) => {
  const { base, tree, mountDir, record } = setupPaths(t);
  const notEmpty = join(base, 'user-dir');
  mkdirSync(notEmpty);
  writeFileSync(join(notEmpty, 'keep'), 'x');
  const p = runner('setInterval(() => {}, 1000);', { trees: [tree], emptyDirs: [mountDir], filesAfter: [record] });
  t.ok(await until(() => /^\d+\n/.test(p.outText), { timeoutMs: 10_000 }), 'the runner started its child');
  t.ok(existsSync(tree) && existsSync(mountDir) && existsSync(record), 'nothing removed while the runner lives');
  p.kill('SIGKILL');
  t.ok(await until(() => !existsSync(tree) && !existsSync(mountDir) && !existsSync(record), { timeoutMs: 10_000 }), 'all removed after the runner died');
  t.ok(existsSync(join(notEmpty, 'keep')), 'nothing else touched');
});

/** a runner killed during set-up: a guardian with no child yet, told of paths as they are made */
function setupRunner(leftovers, script = '') {
  const code = `
    import(${JSON.stringify(guardianModule)}).then(({ startGuardian }) => {
      const g = startGuardian(undefined);
      g.add({ trees: ${JSON.stringify(leftovers.trees)} });
      setTimeout(() => { g.add({ emptyDirs: ${JSON.stringify(leftovers.emptyDirs)}, filesAfter: ${JSON.stringify(leftovers.filesAfter)} }); ${script}; console.log('ready'); }, 100);
      setInterval(() => {}, 1000);
    });`;
  const p = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  p.outText = '';
  p.stdout.on('data', (d) => (p.outText += d));
  t.teardown(() => p.kill('SIGKILL'));
  return p;
}

function setupPaths(t) {
  const base = mkdtempSync(join(tmpdir(), 'kinject-guardian-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const tree = join(base, '.keys-1-x');
  mkdirSync(tree);
  writeFileSync(join(tree, 'id_ed25519'), 'x');
  const mountDir = join(base, 'session');
  mkdirSync(mountDir);
  const record = join(base, 'session.json');
  writeFileSync(record, '{}');
  const never = join(base, 'never-made'); // registered before it was made (a mount dir): fine
  return { base, tree, mountDir, record, never };
}

t.test('the runner is SIGKILLed during set-up (no child yet): what it told the guardian is removed', async (t) => {
  const { tree, mountDir, record, never } = setupPaths(t);
  const p = setupRunner({ trees: [tree], emptyDirs: [mountDir, never], filesAfter: [record] });
  t.ok(await until(() => /ready/.test(p.outText), { timeoutMs: 10_000 }), 'the runner told its guardian');
  t.ok(existsSync(tree) && existsSync(mountDir) && existsSync(record), 'nothing removed while the runner lives');
  p.kill('SIGKILL');
  t.ok(await until(() => !existsSync(tree) && !existsSync(mountDir) && !existsSync(record), { timeoutMs: 10_000 }), 'all removed after the runner died');
});

t.test('the runner ends normally (release after its own cleanup): the guardian touches nothing', async (t) => {
  const { tree, mountDir, record } = setupPaths(t);
  const p = setupRunner({ trees: [tree], emptyDirs: [mountDir], filesAfter: [record] }, 'g.release(); setTimeout(() => process.exit(0), 200)');
  const code = await new Promise((r) => p.on('exit', (c) => r(c)));
  t.equal(code, 0, 'the runner exited');
  await new Promise((r) => setTimeout(r, 1500));
  t.ok(existsSync(tree) && existsSync(mountDir) && existsSync(record), 'all still there');
});

// The child's guardian (src/child/guardian.ts) with real processes: a stand-in runner (node)
// starts a `sleep` and its guardian; when the runner is SIGKILLed the sleep gets SIGTERM; when the
// runner releases the guardian (its child exited) and exits, the guardian ends touching nothing.
import t from 'tap';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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
function runner(script) {
  const code = `
    const { spawn } = require('node:child_process');
    import(${JSON.stringify(guardianModule)}).then(({ startGuardian }) => {
      const child = spawn('sleep', ['60'], { stdio: 'ignore' });
      const g = startGuardian(child.pid);
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
    .filter((argv) => argv.includes('kinject-guardian') && argv.includes(String(pid)));

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
  const code = await new Promise((r) => p.on('exit', (c) => r(c)));
  t.equal(code, 0, 'the runner exits by itself');
  t.ok(await until(() => guardiansOf(sleepPid).length === 0, { timeoutMs: 5000 }), 'the guardian is gone');
});

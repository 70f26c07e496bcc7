// The cleanup's signal guard (src/child/signals.ts guardCleanupFromSignals) with real signals: a
// stand-in command (node) installs it, says "cleaning" and takes 600 ms to clean up while the test
// sends SIGINT every 5 ms; with the guard it finishes, writes "done" and exits 0, saying so once.
// Without it (the same program, guard left out) the first signal ends it half-way: the control
// shows the test can tell the two apart.
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../../../test/helpers/repo.js';

const signalsModule = join(repoRoot, 'dist', 'src', 'child', 'signals.js');

/** Runs the stand-in; resolves its end and output once it exits (bounded: 400 signals, 10 s). */
async function cleanUpUnderSignals(guarded) {
  const program = `
    const { guardCleanupFromSignals, onForwardedSignals } = await import(${JSON.stringify(signalsModule)});
    const guard = ${guarded} ? guardCleanupFromSignals((m) => console.log('log: ' + m)) : { cleaning() {} };
    const stop = onForwardedSignals(() => {}); // the command's own handler, as run.ts has one
    guard.cleaning();
    stop();
    console.log('cleaning');
    await new Promise((r) => setTimeout(r, 600));
    console.log('done');
    await new Promise((r) => setTimeout(r, 200)); // still guarded: the test's last signal lands before Node's exit
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', program], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let ended = false;
  exited.then(() => {
    ended = true;
  });
  for (let i = 0; i < 2000 && !out.includes('cleaning') && !ended; i++) await new Promise((r) => setTimeout(r, 5));
  for (let i = 0; i < 400 && !ended && !out.includes('done'); i++) {
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 5));
  }
  return { ...(await exited), out };
}

t.test('guarded: signals during the cleanup are logged once and the cleanup finishes', async (t) => {
  const r = await cleanUpUnderSignals(true);
  t.match(r.out, /done/, 'the cleanup ran to its end');
  t.equal(r.out.match(/^log: /gm)?.length, 1, 'one line, however many signals');
  t.match(r.out, /^log: SIGINT received while cleaning up: kinject exits when its cleanup is done/m);
  t.same([r.code, r.signal], [0, null]);
});

t.test('control, unguarded: the first signal ends it half-way', async (t) => {
  const r = await cleanUpUnderSignals(false);
  t.notMatch(r.out, /done/);
  t.equal(r.signal, 'SIGINT');
});

// `kinject teleport` without --foreground: starts the same command with --foreground as a
// detached process (its own session, stdin closed, stdout and stderr to a log file
// ${XDG_RUNTIME_DIR:-/tmp}/kinject-<uid>/teleport-<pid>.log, removed when the session ends) and
// waits until it reports, over an IPC channel, that the names answer; then prints the table and
// returns, leaving it running. If it exits first, its error lines are printed and its exit code
// returned. The child is found later by its session record (`kinject session list`).
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir, runtimeBase } from '../volumes/state.js';

export interface ReadyMessage {
  ready: true;
  id: string;
  table: string;
  /** the inspection page's URL, when it runs */
  inspect?: string;
}

/** In the child: tells the waiting parent the session is ready, then lets go of the channel. */
export function reportReady(id: string, table: string, inspect?: string): void {
  if (!process.send) return;
  const msg: ReadyMessage = { ready: true, id, table, ...(inspect ? { inspect } : {}) };
  // a keeper (sudo: hosts-keeper.ts) keeps the channel for the hosts block's lines
  process.send(msg, () => {
    if (!process.env.KINJECT_HOSTS_VIA_KEEPER) process.disconnect?.();
  });
}

export async function startInBackground(argv: string[], timeoutSeconds: number): Promise<number> {
  const base = ensurePrivateDir(runtimeBase());
  const logFile = join(base, `teleport-${process.pid}.log`);
  const fd = openSync(logFile, 'w', 0o600);
  const child = spawn(process.execPath, ['--', process.argv[1], ...argv, '--foreground'], {
    detached: true,
    stdio: ['ignore', fd, fd, 'ipc'],
    env: { ...process.env, KINJECT_TELEPORT_LOG: logFile },
  });
  closeSync(fd);
  const outcome = await new Promise<{ ready?: ReadyMessage; code?: number | null; signal?: string | null; timeout?: boolean }>((resolve) => {
    // the child gives up itself after --timeout; this is the last guard
    const timer = setTimeout(() => resolve({ timeout: true }), (timeoutSeconds + 60) * 1000);
    child.on('message', (m: ReadyMessage) => {
      if (m?.ready) {
        clearTimeout(timer);
        resolve({ ready: m });
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
  if (outcome.ready) {
    process.stdout.write(outcome.ready.table);
    if (outcome.ready.inspect) process.stderr.write(`kinject: inspection page: ${outcome.ready.inspect}\n`);
    process.stderr.write(
      `kinject: teleport session ${outcome.ready.id} runs in the background (pid ${child.pid}, log ${logFile}); \`kinject session close ${outcome.ready.id}\` or \`kinject teleport --clean\` ends it\n`,
    );
    if (child.connected) child.disconnect();
    child.unref();
    return 0;
  }
  if (outcome.timeout) {
    child.kill('SIGTERM');
    process.stderr.write(`kinject: the teleport session did not come up within ${timeoutSeconds + 60} s; it was stopped (log: ${logFile})\n`);
    return 1;
  }
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    // gone already
  }
  rmSync(logFile, { force: true });
  const lines = text.split('\n').filter(Boolean);
  const errors = lines.filter((l) => l.startsWith('kinject: ') && !/^kinject: (creating|waiting|pod |tunnel up|proxy pod)/.test(l));
  process.stderr.write(
    `${(errors.length ? errors.slice(-3) : lines.slice(-3)).join('\n') || `kinject: the teleport session exited (${outcome.code ?? outcome.signal})`}\n`,
  );
  return typeof outcome.code === 'number' && outcome.code !== 0 ? outcome.code : 1;
}

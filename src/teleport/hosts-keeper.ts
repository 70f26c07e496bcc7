// `sudo kinject teleport`: the only part that stays root. The root process (the session's, when
// started under sudo) does not run the session itself: it checks the hosts file, removes dead
// blocks, then starts the session again as the invoking user (setpriv: SUDO_UID/SUDO_GID and their
// groups, HOME, KUBECONFIG and runtime dir theirs: as-invoker.ts; only CAP_NET_BIND_SERVICE kept, ambient, for ports below
// 1024) and keeps the hosts file for it: the session sends its block's lines over the IPC channel
// ({hostsBlock: {id, lines}}) and the keeper writes them (editHostsFile, its own pid in the begin
// line); when the session exits, however it ends (a close, Ctrl-C, SIGKILL), the keeper removes
// the block (and the background start's log file) and exits with the session's code. The session's ready message is passed on to the
// background starter, or printed in the foreground. The session belongs to the user: their
// registry, `kinject session list/close` without sudo. If the keeper dies (SIGKILL), the session
// sees its channel close and ends itself: nobody could keep its hosts block any more.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { KinjectError } from '../errors.js';
import { exitCodeOf } from '../child/exit-status.js';
import { guardCleanupFromSignals, onForwardedSignals } from '../child/signals.js';
import type { Logger } from '../log.js';
import { errorMessage } from '../util/error-message.js';
import type { ReadyMessage } from './background.js';
import { checkHostsWritable, editHostsFile, hostsBackupPath, withBlock, withoutBlocks } from './hosts-file.js';
import { removeDeadTeleports } from './leftovers.js';
import { type Invoker, kubeconfigFor } from './sudo.js';
import { invokerEnv, setprivArgs } from './as-invoker.js';

/** Set in the session's env when a keeper writes its hosts block. */
export const VIA_KEEPER_ENV = 'KINJECT_HOSTS_VIA_KEEPER';

export interface HostsBlockMessage {
  hostsBlock: { id: string; lines: string[] };
}

/** In the session: sends its block's lines to the keeper. */
export function sendHostsBlock(id: string, lines: string[]): void {
  const msg: HostsBlockMessage = { hostsBlock: { id, lines } };
  if (process.connected) process.send?.(msg, () => {}); // a failed send: the keeper is gone, 'disconnect' ends the session
}

/** The session's env: the invoker's (as-invoker.ts invokerEnv), and the keeper's channel flag when it writes the hosts block. */
export function sessionEnv(
  env: NodeJS.ProcessEnv,
  invoker: Invoker,
  kubeconfig: string | undefined,
  hostsFile: string | undefined,
  loginRuntimeDir?: string,
): NodeJS.ProcessEnv {
  const out = invokerEnv(env, invoker, kubeconfig, loginRuntimeDir);
  delete out.KINJECT_TELEPORT_LOG; // the keeper's (root's) file
  if (hostsFile) out[VIA_KEEPER_ENV] = '1';
  return out;
}

/** Runs the session as `invoker` and keeps its hosts block; returns the session's exit code. */
export async function runHostsKeeper(
  argv: string[],
  invoker: Invoker,
  options: { kubeconfig?: string },
  hostsFile: string | undefined,
  log: Logger,
  ready: (table: string, id: string, inspect?: string) => void,
): Promise<number> {
  const kubeconfig = kubeconfigFor(options, process.env, invoker);
  if (hostsFile) {
    checkHostsWritable(hostsFile);
    for (const line of removeDeadTeleports().removed) log.info(line);
  }
  // its own process group: a Ctrl-C reaches the keeper only, which passes it on once (in the
  // terminal's group the session got it twice, and the late copy could land mid-cleanup)
  const child = spawn('setpriv', [...setprivArgs(invoker, true), process.execPath, '--', process.argv[1], ...argv], {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: sessionEnv(process.env, invoker, kubeconfig, hostsFile),
  });
  const ids = new Set<string>();
  let wasReady = false;
  const backup = hostsFile && hostsBackupPath(hostsFile);
  child.on('message', (m: Partial<HostsBlockMessage & ReadyMessage>) => {
    if (m?.hostsBlock && hostsFile) {
      const { id, lines } = m.hostsBlock;
      if (!/^[a-z0-9-]+$/.test(id) || !Array.isArray(lines) || lines.some((l) => typeof l !== 'string' || l.includes('\n') || l.startsWith('#'))) return;
      ids.add(id);
      try {
        editHostsFile(hostsFile, (t) => withBlock(t, id, process.pid, lines), backup);
      } catch (err) {
        log.warn(`cannot write ${hostsFile}: ${errorMessage(err)}`);
      }
    } else if (m?.ready) {
      wasReady = true;
      ready(m.table ?? '', m.id ?? '', m.inspect);
    }
  });
  // the session decides how to stop: the keeper passes the first signal it gets on (any one closes
  // the session; a second Ctrl-C is not passed on, it could only land in the session's exit); once
  // the session has exited, a signal waits for the block's removal below
  const signalGuard = guardCleanupFromSignals(log.info);
  let passedOn = false;
  const stopForwarding = onForwardedSignals((signal) => {
    if (passedOn || child.exitCode !== null || child.signalCode !== null) return;
    passedOn = true;
    child.kill(signal);
  });
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', (err) => reject(new KinjectError(`cannot start the session as ${invoker.user} with setpriv (util-linux): ${errorMessage(err)}`)));
    child.on('exit', (code, signal) => resolve(exitCodeOf({ code, signal }))); // a signal: 128 + its number
  }).finally(() => {
    signalGuard.cleaning();
    stopForwarding();
  });
  if (hostsFile && ids.size) {
    try {
      editHostsFile(hostsFile, (t) => withoutBlocks(t, (id) => ids.has(id)), backup);
    } catch (err) {
      log.warn(`cannot remove the ${hostsFile} block of session ${[...ids].join(', ')}: ${errorMessage(err)}; run \`sudo kinject cleanup\``);
    }
  }
  // the background start's log: it reads it itself when the session ended before it was ready
  if (wasReady && process.env.KINJECT_TELEPORT_LOG) rmSync(process.env.KINJECT_TELEPORT_LOG, { force: true });
  return code;
}

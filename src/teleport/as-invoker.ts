// Under sudo, what belongs to the invoking user runs as that user: `setprivArgs()` is the setpriv
// prefix (their uid, gid and groups; with `netBind`, ambient CAP_NET_BIND_SERVICE only, for a
// teleport session's ports below 1024), and `runAsInvoker()` runs this same kinject command that
// way, in their env (hosts-keeper.ts sessionEnv: HOME, runtime dir, kubeconfig kept by sudo) with
// the terminal's stdio; it returns the command's exit code. `sudo kinject session list/close` and
// `sudo kinject teleport --clean` use it: the teleport sessions `sudo kinject teleport` started
// are in the user's registry, not root's.
import { spawn } from 'node:child_process';
import { KinjectError } from '../errors.js';
import { forwardSignals } from '../child/signals.js';
import { errorMessage } from '../util/error-message.js';
import { sessionEnv } from './hosts-keeper.js';
import type { Invoker } from './sudo.js';

export function setprivArgs(invoker: Invoker, netBind: boolean): string[] {
  return [
    `--reuid=${invoker.uid}`,
    `--regid=${invoker.gid}`,
    ...(invoker.home ? ['--init-groups'] : ['--clear-groups']),
    ...(netBind ? ['--inh-caps=-all,+net_bind_service', '--ambient-caps=+net_bind_service'] : ['--inh-caps=-all']),
    '--',
  ];
}

/** Runs `kinject ...args` as the invoking user; resolves its exit code. */
export async function runAsInvoker(args: string[], invoker: Invoker): Promise<number> {
  const child = spawn('setpriv', [...setprivArgs(invoker, false), process.execPath, '--', process.argv[1], ...args], {
    stdio: 'inherit',
    env: sessionEnv(process.env, invoker, undefined, undefined),
  });
  const stop = forwardSignals(child);
  return new Promise<number>((resolve, reject) => {
    child.on('error', (err) => reject(new KinjectError(`cannot run kinject as ${invoker.user} with setpriv (util-linux): ${errorMessage(err)}`)));
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  }).finally(stop);
}

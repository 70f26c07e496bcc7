// Under sudo, what belongs to the invoking user runs as that user: `setprivArgs()` is the setpriv
// prefix (their uid, gid and groups; with `netBind`, ambient CAP_NET_BIND_SERVICE only, for a
// teleport session's ports below 1024), and `runAsInvoker()` runs this same kinject command that
// way, in their env (`invokerEnv()`: HOME, USER, runtime dir, kubeconfig) with the terminal's
// stdio; it returns the command's exit code. `sudo kinject session list/close` and
// `sudo kinject teleport --clean` use it: the teleport sessions `sudo kinject teleport` started
// are in the user's registry, not root's.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { KinjectError } from '../errors.js';
import { forwardSignals } from '../child/signals.js';
import { errorMessage } from '../util/error-message.js';
import type { Invoker } from './sudo.js';

/**
 * The invoker's env: their HOME, USER, LOGNAME, kubeconfig and runtime dir; nothing of root's
 * runtime dir. sudo drops XDG_RUNTIME_DIR (unless -E): the user's login sessions have
 * /run/user/UID (systemd-logind), where their own `kinject session list` looks, so their records
 * go there when that directory is theirs.
 */
export function invokerEnv(
  env: NodeJS.ProcessEnv,
  invoker: Invoker,
  kubeconfig: string | undefined,
  loginRuntimeDir = `/run/user/${invoker.uid}`,
): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env, USER: invoker.user, LOGNAME: invoker.user };
  if (invoker.home) out.HOME = invoker.home;
  if (kubeconfig) out.KUBECONFIG = kubeconfig;
  // a runtime dir the user does not own (root's, kept by sudo) would hold their records where they cannot write
  if (!out.XDG_RUNTIME_DIR || ownerOf(out.XDG_RUNTIME_DIR) !== invoker.uid) {
    if (ownerOf(loginRuntimeDir) === invoker.uid) out.XDG_RUNTIME_DIR = loginRuntimeDir;
    else delete out.XDG_RUNTIME_DIR;
  }
  return out;
}

function ownerOf(path: string): number | undefined {
  try {
    return statSync(path).uid;
  } catch {
    return undefined;
  }
}

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
    env: invokerEnv(process.env, invoker, undefined),
  });
  const stop = forwardSignals(child);
  return new Promise<number>((resolve, reject) => {
    child.on('error', (err) => reject(new KinjectError(`cannot run kinject as ${invoker.user} with setpriv (util-linux): ${errorMessage(err)}`)));
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  }).finally(stop);
}

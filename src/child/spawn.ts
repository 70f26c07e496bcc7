// Starts the user's command: stdio and the TTY are inherited untouched, the environment is the
// one the runner prepared. A command that cannot be started becomes a one-line KinjectError.
import type { ChildProcess } from 'node:child_process';
import spawn from 'cross-spawn';
import { KinjectError } from '../errors.js';

export function startChild(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    const onError = (err: NodeJS.ErrnoException) => reject(spawnError(command, err));
    child.once('error', onError);
    child.once('spawn', () => {
      child.off('error', onError);
      resolve(child);
    });
  });
}

function spawnError(command: string, err: NodeJS.ErrnoException): KinjectError {
  if (err.code === 'ENOENT') {
    return new KinjectError(`command not found: ${command} (check its name and your PATH)`, { exitCode: 127 });
  }
  if (err.code === 'EACCES') {
    return new KinjectError(`command is not executable: ${command} (check its permissions)`, { exitCode: 126 });
  }
  return new KinjectError(`cannot start ${command}: ${err.message}`, { exitCode: 126 });
}

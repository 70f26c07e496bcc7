// Who `sudo kinject teleport` runs for, and with which kubeconfig. sudo sets SUDO_USER, SUDO_UID
// and SUDO_GID; when kinject is root with them (and SUDO_USER is not root), the invoking user is
// the one the session belongs to: its kubeconfig is KUBECONFIG when sudo kept it (or
// --kubeconfig), else that user's ~/.kube/config (home from the passwd file), never root's.
// Pure apart from reading the passwd file, which a caller can replace (the unit test does).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KinjectError } from '../errors.js';

export interface Invoker {
  user: string;
  uid: number;
  gid: number;
  home: string | undefined;
}

/** The home directory of `user` in passwd-format text, or undefined. */
export function homeIn(passwd: string, user: string): string | undefined {
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === user && f.length >= 7) return f[5] || undefined;
  }
  return undefined;
}

function readPasswd(): string {
  try {
    return readFileSync('/etc/passwd', 'utf8');
  } catch {
    return '';
  }
}

/** The user who ran `sudo kinject ...`, or undefined when kinject is not root under sudo. */
export function sudoInvoker(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.(), passwd: () => string = readPasswd): Invoker | undefined {
  if (uid !== 0 || !env.SUDO_USER || env.SUDO_USER === 'root') return undefined;
  const id = Number(env.SUDO_UID);
  const gid = Number(env.SUDO_GID);
  if (!Number.isInteger(id) || !Number.isInteger(gid) || id <= 0) return undefined;
  return { user: env.SUDO_USER, uid: id, gid, home: homeIn(passwd(), env.SUDO_USER) };
}

/**
 * The kubeconfig for this command: --kubeconfig; else under sudo KUBECONFIG if sudo kept it,
 * else the invoking user's ~/.kube/config (an error when it has none); else undefined (kubectl's
 * rules: KUBECONFIG, then ~/.kube/config).
 */
export function kubeconfigFor(
  options: { kubeconfig?: string },
  env: NodeJS.ProcessEnv = process.env,
  invoker: Invoker | undefined = sudoInvoker(env),
  exists: (file: string) => boolean = existsSync,
): string | undefined {
  if (options.kubeconfig) return options.kubeconfig;
  if (!invoker) return undefined;
  if (env.KUBECONFIG) return env.KUBECONFIG;
  const file = invoker.home ? join(invoker.home, '.kube', 'config') : undefined;
  if (!file || !exists(file)) {
    throw new KinjectError(
      `run by sudo for ${invoker.user}, but ${file ?? `${invoker.user}'s home`} has no kubeconfig; pass --kubeconfig FILE (or sudo --preserve-env=KUBECONFIG)`,
    );
  }
  return file;
}

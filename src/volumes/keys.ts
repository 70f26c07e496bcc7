// The session's SSH material on local disk, for sshfs: the client private key (mode 0600) and a
// known_hosts line holding the pod's host key under the alias sshfs looks it up by. Both live in
// a private directory of their own, ${XDG_RUNTIME_DIR:-/tmp}/kinject-<uid>/.keys-<pid>-<session>/
// (0700, session/dirs.ts), removed when the session ends; `kinject cleanup` removes the directory of
// a kinject that is gone (SIGKILL). The key is useless once the proxy pod is deleted.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { knownHostsLine } from '../../protocol/ssh.js';
import { makeSessionDir } from '../session/dirs.js';

export interface SessionKeyFiles {
  dir: string;
  clientKeyPath: string;
  knownHostsPath: string;
  /** removes the directory; idempotent, never throws */
  remove(): void;
}

/** The known_hosts line for the host key the pod sent (knownHostsLine), with an error that says where it came from. */
export function knownHostsEntry(hostPublicKey: string): string {
  try {
    return knownHostsLine(hostPublicKey);
  } catch {
    throw new Error('the pod sent a host key that is not an OpenSSH public key line');
  }
}

export function writeSessionKeys(
  session: string,
  keys: { clientPrivateKey: string; hostPublicKey: string },
  env: NodeJS.ProcessEnv = process.env,
): SessionKeyFiles {
  const dir = makeSessionDir('keys', session, env);
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    const clientKeyPath = join(dir, 'id_ed25519');
    const knownHostsPath = join(dir, 'known_hosts');
    const key = keys.clientPrivateKey.endsWith('\n') ? keys.clientPrivateKey : `${keys.clientPrivateKey}\n`;
    writeFileSync(clientKeyPath, key, { mode: 0o600 });
    writeFileSync(knownHostsPath, knownHostsEntry(keys.hostPublicKey), { mode: 0o600 });
    return { dir, clientKeyPath, knownHostsPath, remove };
  } catch (err) {
    remove();
    throw err;
  }
}

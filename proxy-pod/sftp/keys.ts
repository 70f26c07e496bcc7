// Key material for one kinject session's volume mounts: an ed25519 host key for the pod's SFTP
// server and an ed25519 client key for sshfs, in OpenSSH format. The host private key and the
// client public key go into the pod (its Secret); the client private key and the host public key
// stay on the developer's machine. Pure: nothing is written anywhere.

import ssh2 from 'ssh2';

export interface SessionKeys {
  /** For the pod: `startSftpServer({ hostKey })`. OpenSSH private key format. */
  hostPrivateKey: string;
  /** For the local known_hosts file: `ssh-ed25519 AAAA... comment`. */
  hostPublicKey: string;
  /** For the local IdentityFile (mode 0600). OpenSSH private key format. */
  clientPrivateKey: string;
  /** For the pod: `startSftpServer({ authorizedKey })`. */
  clientPublicKey: string;
}

export function generateSessionKeys(comment = 'kinject'): SessionKeys {
  const host = ssh2.utils.generateKeyPairSync('ed25519', { comment: `${comment} host` });
  const client = ssh2.utils.generateKeyPairSync('ed25519', { comment: `${comment} client` });
  return {
    hostPrivateKey: host.private,
    hostPublicKey: host.public,
    clientPrivateKey: client.private,
    clientPublicKey: client.public,
  };
}

/** The host key alias sshfs/ssh are told to use (`-o HostKeyAlias=`), so the port does not matter. */
export const HOST_KEY_ALIAS = 'kinject-sftp';

/** One known_hosts line for the session's host public key, under HOST_KEY_ALIAS. */
export function knownHostsLine(hostPublicKey: string, alias = HOST_KEY_ALIAS): string {
  const [type, blob] = hostPublicKey.trim().split(/\s+/);
  if (!type || !blob) throw new Error('not an OpenSSH public key line');
  return `${alias} ${type} ${blob}\n`;
}

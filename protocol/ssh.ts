// The SSH/SFTP facts both sides of the volume mounts share (docs/volumes.md), written once: the
// SFTP user, the host key alias sshfs looks the pod's key up by, the known_hosts line, and the
// key material for one session: an ed25519 host key for the pod's SFTP server and an ed25519
// client key for sshfs, in OpenSSH format. The host private key and the client public key go into
// the pod (its Secret); the client private key and the host public key stay on the developer's
// machine. Pure: nothing is written anywhere.

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

/**
 * ssh2 1.17's generateKeyPairSync('ed25519') drops a leading zero byte of the 32-byte key, so
 * about 1 pair in 128 comes out malformed (ssh2 and OpenSSH both refuse it). Such pairs are
 * detected (parse, matching public halves, a signature round trip) and generated again.
 */
function soundPair(comment: string): { private: string; public: string } {
  for (let attempt = 0; attempt < 32; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    const priv = ssh2.utils.parseKey(pair.private);
    const pub = ssh2.utils.parseKey(pair.public);
    if (priv instanceof Error || pub instanceof Error || Array.isArray(priv) || Array.isArray(pub)) continue;
    const blob = pub.getPublicSSH();
    // string "ssh-ed25519" (4 + 11) + string key (4 + 32)
    if (blob.length !== 51 || !priv.getPublicSSH().equals(blob)) continue;
    const probe = Buffer.from('kinject key check');
    if (pub.verify(probe, priv.sign(probe)) !== true) continue;
    return pair;
  }
  throw new Error('could not generate a sound ed25519 key pair');
}

export function generateSessionKeys(comment = 'kinject'): SessionKeys {
  const host = soundPair(`${comment} host`);
  const client = soundPair(`${comment} client`);
  return {
    hostPrivateKey: host.private,
    hostPublicKey: host.public,
    clientPrivateKey: client.private,
    clientPublicKey: client.public,
  };
}

/** The only user the pod's SFTP server accepts (with the session's client key). */
export const SFTP_USER = 'kinject';

/** The host key alias sshfs/ssh are told to use (`-o HostKeyAlias=`), so the port does not matter. */
export const HOST_KEY_ALIAS = 'kinject-sftp';

/** `ssh-ed25519 AAAA... [comment]` → the known_hosts line `kinject-sftp ssh-ed25519 AAAA...\n`. */
export function knownHostsLine(hostPublicKey: string, alias = HOST_KEY_ALIAS): string {
  const [type, blob] = hostPublicKey.trim().split(/\s+/);
  if (!type || !blob || !/^[A-Za-z0-9+/=]+$/.test(blob)) throw new Error('not an OpenSSH public key line');
  return `${alias} ${type} ${blob}\n`;
}

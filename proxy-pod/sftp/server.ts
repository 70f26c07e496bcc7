// The proxy pod's SFTP server (SSH on ssh2's Server, pure JS): serves the workload's volume
// mounts to sshfs on the developer's machine. Public-key auth only (username `kinject`, one
// key); only the exported paths exist (see exports.ts). Read-only exports refuse every write with
// SSH_FX_PERMISSION_DENIED, which sshfs turns into EACCES. The TCP listener is our own (sockets
// are handed to ssh2 with injectSocket) so the connections count for --exit-when-idle. This file
// listens and authenticates; each SFTP channel's requests are served by requests.ts.

import ssh2 from 'ssh2';
import type { Connection, ParsedKey, AuthContext } from 'ssh2';
import { createServer } from 'node:net';
import { SFTP_USER } from '../../protocol/ssh.js';
import { SocketActivity, type ActivitySource } from '../activity.js';
import { ExportSpace, type ExportSpec } from './exports.js';
import { serveSftp } from './requests.js';

const { Server, utils } = ssh2;

export interface SftpServerOptions {
  host: string;
  port: number;
  /** The server's private host key (PEM or OpenSSH format). */
  hostKey: string;
  /** The one client public key allowed in (OpenSSH `authorized_keys` format: `ssh-ed25519 AAAA... [comment]`). */
  authorizedKey: string;
  exports: ExportSpec[];
  /** Receives complete log lines (no newline); default: nothing. */
  log?: (line: string) => void;
  /** Unauthenticated connections are dropped after this long (default 20 000 ms). */
  authTimeoutMs?: number;
}

export interface SftpServer extends ActivitySource {
  address: { host: string; port: number };
  /** Stops listening, ends the sessions and closes their file handles. */
  close(): Promise<void>;
}

function parseAuthorizedKey(text: string): ParsedKey {
  const parsed = utils.parseKey(text.trim());
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new Error(`cannot parse the authorized client key: ${key instanceof Error ? key.message : 'empty'}`);
  if (key.isPrivateKey()) throw new Error('the authorized key must be a public key');
  return key;
}

function checkHostKey(text: string): void {
  const parsed = utils.parseKey(text);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new Error(`cannot parse the host key: ${key instanceof Error ? key.message : 'empty'}`);
  if (!key.isPrivateKey()) throw new Error('the host key must be a private key');
}

export async function startSftpServer(options: SftpServerOptions): Promise<SftpServer> {
  const log = options.log ?? (() => {});
  checkHostKey(options.hostKey);
  const allowed = parseAuthorizedKey(options.authorizedKey);
  const allowedBlob = allowed.getPublicSSH();
  const space = new ExportSpace(options.exports);
  await space.init();
  for (const e of space.exports) {
    log(`kinject-sftp: export ${e.path}${e.readOnly ? ' (read-only)' : ''}${e.realRoot === undefined ? ' (missing for now)' : ''}`);
  }
  const started = Math.floor(Date.now() / 1000);
  const sessions = new Set<Connection>();
  const cleanups = new Set<() => Promise<void>>();
  const authTimeoutMs = options.authTimeoutMs ?? 20_000;

  const server = new Server({ hostKeys: [options.hostKey] }, (client: Connection) => {
    sessions.add(client);
    let authed = false;
    const authTimer = setTimeout(() => {
      if (!authed) {
        log('kinject-sftp: client did not authenticate in time');
        client.end();
      }
    }, authTimeoutMs);
    authTimer.unref?.();
    client.on('error', (err: Error) => log(`kinject-sftp: client error: ${err.message}`));
    client.on('close', () => {
      clearTimeout(authTimer);
      sessions.delete(client);
    });
    client.on('authentication', (ctx: AuthContext) => {
      if (ctx.method !== 'publickey' || ctx.username !== SFTP_USER) return ctx.reject(['publickey']);
      if (!ctx.key.data.equals(allowedBlob)) return ctx.reject(['publickey']);
      if (ctx.signature && ctx.blob) {
        // ssh2's ParsedKey.verify returns true, false or an Error.
        if (allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo as never) !== true) return ctx.reject(['publickey']);
        authed = true;
        return ctx.accept();
      }
      // No signature: the client only asks whether this key would do.
      if (ctx.signature === undefined) return ctx.accept();
      return ctx.reject(['publickey']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('sftp', (acceptSftp) => {
          const sftp = acceptSftp();
          const cleanup = serveSftp(sftp, space, started, log);
          cleanups.add(cleanup);
          const done = () => {
            cleanups.delete(cleanup);
            void cleanup();
          };
          sftp.on('close', done);
          // The client closed its side (sshfs exited): close ours, so its ssh process ends too.
          sftp.on('end', () => {
            done();
            sftp.end();
          });
        });
        // exec / shell / pty / env requests have no handlers, so ssh2 refuses them.
      });
      // No 'tcpip' / 'openssh.streamlocal' handlers: port forwarding is refused too.
    });
  });

  server.on('error', (err: Error) => log(`kinject-sftp: server error: ${err.message}`));
  const sockets = new SocketActivity();
  const listener = createServer((socket) => {
    sockets.add(socket);
    server.injectSocket(socket);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(options.port, options.host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  listener.on('error', (err: Error) => log(`kinject-sftp: server error: ${err.message}`));
  const addr = listener.address() as { address: string; port: number };

  return {
    address: { host: addr.address, port: addr.port },
    connections: () => sockets.connections(),
    activity: () => sockets.activity(),
    async close() {
      await new Promise<void>((resolve) => {
        listener.close(() => resolve());
        for (const c of sessions) c.end();
        // a socket that never got as far as an SSH session, or a session that does not end
        const late = setTimeout(() => {
          for (const sock of sockets.sockets()) sock.destroy();
        }, 2000);
        late.unref();
      });
      await Promise.all([...cleanups].map((c) => c()));
    },
  };
}

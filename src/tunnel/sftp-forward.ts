// A local TCP port that reaches the proxy pod's SFTP server, for sshfs. Each connection accepted
// on 127.0.0.1:<port> takes a fresh stream from the session's upstream and sends CONNECT
// 127.0.0.1:<SFTP port> on it (front/connect-via.ts; the server listens on the pod's loopback),
// then relays bytes both ways. The port stays the same for the whole session: sshfs' `reconnect`
// dials it again after a dropped tunnel stream. Any local user can connect, but what answers is
// the SSH server, which takes only the session's client key.
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { replyMessage } from '../../protocol/socks5/index.js';
import type { Upstream } from '../front/upstream.js';
import { connectVia } from '../front/connect-via.js';
import type { Logger } from '../log.js';
import { errorMessage } from '../util/error-message.js';

const CONNECT_TIMEOUT_MS = 20_000;

export interface SftpForwarderOptions {
  /** the session's upstream: open() gives an authenticated SOCKS5 stream ready for one request */
  upstream: Pick<Upstream, 'open'>;
  /** the SFTP server's port on the pod's loopback (a function: asked per connection, a replacement pod may use another) */
  targetPort: number | (() => number);
  /** default 127.0.0.1 (the pod's loopback, seen from the pod server) */
  targetHost?: string;
  log?: Partial<Logger>;
  connectTimeoutMs?: number;
}

export interface SftpForwarder {
  /** the local port on 127.0.0.1 */
  port: number;
  /** connections being relayed right now */
  connections(): number;
  /** stops listening and drops every relayed connection; idempotent */
  close(): Promise<void>;
}

export async function startSftpForwarder(options: SftpForwarderOptions): Promise<SftpForwarder> {
  const targetPort = options.targetPort;
  const targetNow = () => ({
    type: 'ipv4' as const,
    host: options.targetHost ?? '127.0.0.1',
    port: typeof targetPort === 'function' ? targetPort() : targetPort,
  });
  const sockets = new Set<Socket>();
  const remotes = new Set<Duplex>();
  let closed = false;

  const server: Server = createServer({ noDelay: true }, (socket) => {
    if (closed) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    connect(socket).catch((err: unknown) => {
      options.log?.debug?.(`volumes: SFTP connection through the tunnel failed: ${errorMessage(err)}`);
      socket.destroy();
    });
  });

  async function connect(socket: Socket): Promise<void> {
    const target = targetNow();
    const connected = await connectVia(options.upstream, target, {
      timeoutMs: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
      onOpen: (remote) => {
        if (closed || socket.destroyed) return false;
        remotes.add(remote);
        remote.once('close', () => remotes.delete(remote));
        remote.on('error', () => remote.destroy());
        return true;
      },
    });
    if (!connected) return;
    const { reply, stream: remote } = connected;
    if (!remote) throw new Error(`CONNECT ${target.host}:${target.port} in the pod: ${replyMessage(reply.reply)}`);
    if (closed || socket.destroyed) {
      remote.destroy();
      return;
    }
    relay(socket, remote);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.unref();
  const { port } = server.address() as { port: number };

  let closing: Promise<void> | undefined;
  return {
    port,
    connections: () => sockets.size,
    close() {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        for (const s of sockets) s.destroy();
        for (const r of remotes) r.destroy();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}

/** Bytes both ways; either side closing or failing ends both (SSH needs no half-close). */
function relay(local: Socket, remote: Duplex): void {
  const destroyBoth = () => {
    local.destroy();
    remote.destroy();
  };
  local.on('error', destroyBoth);
  remote.on('error', destroyBoth);
  local.once('close', destroyBoth);
  remote.once('close', destroyBoth);
  local.pipe(remote);
  remote.pipe(local);
}

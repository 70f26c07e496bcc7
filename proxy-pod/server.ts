// The proxy pod's SOCKS5 server (CONNECT, RESOLVE, RESOLVE_PTR and kinject's ENV, HEARTBEAT, MUX; RFC 1929 token
// auth): listening, connection bookkeeping and --exit-when-idle (idle.ts decides, fed with this
// server's and the SFTP server's connections and the heartbeats). Also used by `kinject proxy-server`.

import { createServer, isIPv4, isIPv6 } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { directServerOptions, peerIsPinned, pemFingerprint, type DirectTlsIdentity } from '../protocol/direct-tls.js';
import { handleClient, type ClientContext } from './client.js';
import { systemResolver, type Resolver } from './resolver.js';
import { SocketActivity, type ActivitySource } from './activity.js';
import { DEFAULT_HEARTBEAT_GRACE_MS, IdleWatch, type IdleReason } from './idle.js';
import type { InterceptHost } from './inbound/intercept-host.js';

export interface ProxyServerOptions {
  host: string;
  port: number;
  /** RFC 1929 password (username `kinject`). Without one the server only listens on loopback. */
  token?: string;
  /** Exit (see onIdleExit) after this many seconds idle (see idle.ts). */
  exitWhenIdleSeconds?: number;
  /** Other servers whose connections count for --exit-when-idle (the SFTP server). */
  activitySources?: ActivitySource[];
  /** Once heartbeats were seen: exit after this long without activity even with connections open (default max(exitWhenIdleSeconds, 60)). */
  heartbeatGraceSeconds?: number;
  /** Receives complete log lines (no newline); default: stderr. */
  log?: (line: string) => void;
  /** Also log successful requests. */
  verbose?: boolean;
  /** CONNECT gives up with reply 6 after this long (default 20 000 ms). */
  connectTimeoutMs?: number;
  /** Greeting and auth must arrive within this long (default 30 000 ms). */
  handshakeTimeoutMs?: number;
  /** Name resolution for RESOLVE, RESOLVE_PTR and CONNECT by name (default: the system's). */
  resolver?: Resolver;
  /** The direct transport's listener on the pod IP (mutual TLS, pinned certificates; needs a token). */
  direct?: DirectListenOptions;
  /** Called after an exit (idle, or the runner's SHUTDOWN) was logged and the server closed; default process.exit(0). */
  onIdleExit?: () => void;
  /** the pod's intercept (proxy-pod/inbound/intercept-host.ts), served by the intercept commands */
  intercept?: InterceptHost;
}

export interface DirectListenOptions extends DirectTlsIdentity {
  host: string;
  port: number;
}

export interface ProxyServer {
  address: { host: string; port: number };
  /** the direct listener's address, when there is one */
  directAddress?: { host: string; port: number };
  /** Number of open client connections. */
  connections(): number;
  /** Stops listening and destroys open connections. */
  close(): Promise<void>;
}

const PREFIX = 'kinject-proxy: ';

export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare === 'localhost') return true;
  if (isIPv4(bare)) return bare.startsWith('127.');
  if (isIPv6(bare)) return bare === '::1' || /^::ffff:127\./i.test(bare);
  return false;
}

export async function startProxyServer(options: ProxyServerOptions): Promise<ProxyServer> {
  const log =
    options.log ??
    ((line: string) => {
      process.stderr.write(`${line}\n`);
    });
  const token = options.token === '' ? undefined : options.token;
  const host = options.host.startsWith('[') && options.host.endsWith(']') ? options.host.slice(1, -1) : options.host;
  if (token === undefined && !isLoopbackHost(host)) {
    throw new Error(`refusing to listen on ${options.host} without a token: that would be an open proxy (give a token, or listen on loopback)`);
  }
  const idleSeconds = options.exitWhenIdleSeconds;
  if (idleSeconds !== undefined && !(Number.isFinite(idleSeconds) && idleSeconds > 0)) {
    throw new Error(`exitWhenIdleSeconds must be a positive number, got ${idleSeconds}`);
  }
  const graceSeconds = options.heartbeatGraceSeconds ?? Math.max(idleSeconds ?? 0, DEFAULT_HEARTBEAT_GRACE_MS / 1000);
  if (!(Number.isFinite(graceSeconds) && graceSeconds > 0)) {
    throw new Error(`heartbeatGraceSeconds must be a positive number, got ${graceSeconds}`);
  }
  let exiting = false;
  const ctx: ClientContext = {
    token,
    resolver: options.resolver ?? systemResolver,
    connectResolver: options.resolver,
    connectTimeoutMs: options.connectTimeoutMs ?? 20_000,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 30_000,
    verbose: options.verbose ?? false,
    log,
    onHeartbeat: () => idle?.heartbeat(),
    intercept: options.intercept,
    onShutdown: () => {
      if (exiting) return;
      exiting = true;
      log(`${PREFIX}the runner ended the session, exiting`);
      // a moment for the SHUTDOWN answer to leave
      setTimeout(() => void close().then(options.onIdleExit ?? (() => process.exit(0))), 20);
    },
  };

  const clients = new SocketActivity();
  let idle: IdleWatch | undefined;

  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    clients.add(socket);
    handleClient(socket, ctx).catch((err: unknown) => {
      log(`${PREFIX}internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      socket.destroy();
    });
  });

  let direct: TlsServer | undefined;
  if (options.direct) {
    if (token === undefined) throw new Error('refusing the direct listener without a token');
    const pinned = pemFingerprint(options.direct.peerCert);
    direct = createTlsServer({ ...directServerOptions(options.direct), allowHalfOpen: true }, (socket) => {
      // rejectUnauthorized already refused anyone without the pinned certificate as trust anchor
      if (!peerIsPinned(socket, pinned)) {
        log(`${PREFIX}direct: refused ${socket.remoteAddress}: not the session's client certificate`);
        socket.destroy();
        return;
      }
      socket.setNoDelay(true);
      clients.add(socket);
      handleClient(socket, ctx).catch((err: unknown) => {
        log(`${PREFIX}internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        socket.destroy();
      });
    });
    direct.on('tlsClientError', (err, socket) => {
      if (options.verbose) log(`${PREFIX}direct: refused ${socket.remoteAddress}: ${err.message}`);
    });
  }

  const close = () =>
    new Promise<void>((resolve) => {
      idle?.stop();
      direct?.close();
      for (const s of clients.sockets()) s.destroy();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });

  const onIdle = (reason: IdleReason) => {
    if (exiting) return;
    exiting = true;
    log(
      reason.kind === 'no-connections'
        ? `${PREFIX}no client connection for ${idleSeconds} s, exiting`
        : `${PREFIX}no heartbeat, new connection or client data for ${graceSeconds} s (${reason.open} connection(s) still open), exiting`,
    );
    void close().then(options.onIdleExit ?? (() => process.exit(0)));
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: options.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log(`${PREFIX}server error: ${err.message}`));
  if (direct && options.direct) {
    const d = direct;
    const where = options.direct;
    await new Promise<void>((resolve, reject) => {
      d.once('error', reject);
      d.listen({ host: where.host, port: where.port }, () => {
        d.off('error', reject);
        resolve();
      });
    }).catch((err: Error) => {
      server.close();
      throw err;
    });
    d.on('error', (err) => log(`${PREFIX}direct listener error: ${err.message}`));
  }
  if (idleSeconds !== undefined) {
    idle = new IdleWatch({ idleMs: idleSeconds * 1000, graceMs: graceSeconds * 1000, sources: [clients, ...(options.activitySources ?? [])], onIdle });
  }

  const addr = server.address();
  const address = addr && typeof addr === 'object' ? { host: addr.address, port: addr.port } : { host, port: options.port };
  const daddr = direct?.address();
  const directAddress = daddr && typeof daddr === 'object' ? { host: daddr.address, port: daddr.port } : undefined;
  return { address, ...(directAddress ? { directAddress } : {}), connections: () => clients.connections(), close };
}

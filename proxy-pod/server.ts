// The proxy pod's SOCKS5 server (CONNECT, RESOLVE, RESOLVE_PTR, RFC 1929 token auth): listening,
// connection bookkeeping and the --exit-when-idle timer. Also used by `kinject proxy-server`.

import { createServer, isIPv4, isIPv6, type Socket } from 'node:net';
import { handleClient, type SessionContext } from './session.js';
import { systemResolver, type Resolver } from './resolver.js';

export interface ProxyServerOptions {
  host: string;
  port: number;
  /** RFC 1929 password (username `kinject`). Without one the server only listens on loopback. */
  token?: string;
  /** Exit (see onIdleExit) after this many seconds without any open client connection. */
  exitWhenIdleSeconds?: number;
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
  /** Called after the idle exit was logged and the server closed; default process.exit(0). */
  onIdleExit?: () => void;
}

export interface ProxyServer {
  address: { host: string; port: number };
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
  const log = options.log ?? ((line: string) => { process.stderr.write(`${line}\n`); });
  const token = options.token === '' ? undefined : options.token;
  const host = options.host.startsWith('[') && options.host.endsWith(']') ? options.host.slice(1, -1) : options.host;
  if (token === undefined && !isLoopbackHost(host)) {
    throw new Error(`refusing to listen on ${options.host} without a token: that would be an open proxy (give a token, or listen on loopback)`);
  }
  const idleSeconds = options.exitWhenIdleSeconds;
  if (idleSeconds !== undefined && !(Number.isFinite(idleSeconds) && idleSeconds > 0)) {
    throw new Error(`exitWhenIdleSeconds must be a positive number, got ${idleSeconds}`);
  }
  const ctx: SessionContext = {
    token,
    resolver: options.resolver ?? systemResolver,
    connectResolver: options.resolver,
    connectTimeoutMs: options.connectTimeoutMs ?? 20_000,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 30_000,
    verbose: options.verbose ?? false,
    log,
  };

  const sockets = new Set<Socket>();
  let idleTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    sockets.add(socket);
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = undefined;
    socket.once('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0) armIdle();
    });
    handleClient(socket, ctx).catch((err: unknown) => {
      log(`${PREFIX}internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      socket.destroy();
    });
  });

  const close = () => new Promise<void>((resolve) => {
    closed = true;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = undefined;
    for (const s of sockets) s.destroy();
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });

  function armIdle(): void {
    if (idleSeconds === undefined || closed) return;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (sockets.size !== 0 || closed) return;
      log(`${PREFIX}no client connection for ${idleSeconds} s, exiting`);
      void close().then(options.onIdleExit ?? (() => process.exit(0)));
    }, idleSeconds * 1000);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: options.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log(`${PREFIX}server error: ${err.message}`));
  armIdle();

  const addr = server.address();
  const address = addr && typeof addr === 'object' ? { host: addr.address, port: addr.port } : { host, port: options.port };
  return { address, connections: () => sockets.size, close };
}

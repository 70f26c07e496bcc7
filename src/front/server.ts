// The front: a SOCKS5 server on 127.0.0.1 that only the launched process tree can use (it needs
// the session token). It takes the shim's CONNECT, RESOLVE and RESOLVE_PTR requests and carries
// them out through the upstream, relaying bytes both ways with half-close and backpressure.
// A RESOLVE answer's BND.PORT says how many ms the shim may reuse it (native/name_cache.c).
import { createServer, type Server, type Socket } from 'node:net';
import { CMD, REPLY, formatDestination, serializeReply, serverHandshake, toDestination, type Destination } from '../../protocol/socks5/index.js';
import type { Logger } from '../log.js';
import { relay } from '../../protocol/relay.js';
import type { NameResolver } from './resolver.js';
import type { Upstream } from './upstream.js';
import { UpstreamUnreachable, connectVia } from './connect-via.js';
import { errorMessage } from '../util/error-message.js';
import { asLookupOf, connectionWatch } from '../inspect/front-events.js';

const HANDSHAKE_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 30_000;
/** BND.PORT is 16 bits */
const MAX_REUSE_MS = 65_535;

export interface Front {
  address: { host: string; port: number };
  close(): Promise<void>;
}

export interface FrontOptions {
  upstream: Upstream;
  resolver: NameResolver;
  token: string;
  log: Logger;
}

export async function startFront(options: FrontOptions): Promise<Front> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    serve(socket, options).catch((err) => {
      options.log.debug(`front: ${errorMessage(err)}`);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.unref();
  const { port } = server.address() as { port: number };
  return {
    address: { host: '127.0.0.1', port },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function serve(socket: Socket, options: FrontOptions): Promise<void> {
  const request = await authenticate(socket, options.token);
  if (!request) return;
  const { command, destination, clientPid } = request;
  if (command === CMD.CONNECT) return connectThrough(socket, destination, clientPid, options);
  if (command === CMD.RESOLVE) return answerResolve(socket, destination, clientPid, options);
  if (command === CMD.RESOLVE_PTR) return answerResolvePtr(socket, destination, options);
  socket.end(serializeReply(REPLY.COMMAND_NOT_SUPPORTED));
}

/** Greeting + RFC 1929 with the session token; resolves with the request, or undefined if refused. */
async function authenticate(socket: Socket, token: string) {
  const outcome = await serverHandshake(socket, { token, handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS, requestTimeoutMs: HANDSHAKE_TIMEOUT_MS });
  if (!outcome.accepted) {
    socket.end(outcome.reply);
    return undefined;
  }
  outcome.reader.release();
  return { ...outcome.request, clientPid: outcome.clientPid };
}

async function connectThrough(socket: Socket, requested: Destination, clientPid: number | undefined, { upstream, resolver, log }: FrontOptions) {
  let destination = requested;
  const name = resolver.nameOfFakeAddress(requested.host);
  if (name !== undefined) destination = { type: 'domain', host: name, port: requested.port };
  const watch = connectionWatch(socket, requested, name, clientPid); // the inspection feed; undefined when nobody listens
  let connected: Awaited<ReturnType<typeof connectVia>>;
  try {
    connected = await connectVia(upstream, destination, { timeoutMs: CONNECT_TIMEOUT_MS });
  } catch (err) {
    watch?.failed(undefined, errorMessage(err));
    if (err instanceof UpstreamUnreachable) {
      log.warn(`cannot reach ${upstream.description}: ${err.message}`);
      socket.end(serializeReply(REPLY.GENERAL_FAILURE));
      return;
    }
    socket.end(serializeReply(REPLY.GENERAL_FAILURE));
    throw err;
  }
  const { reply, stream } = connected!;
  socket.write(serializeReply(reply.reply, reply.bound));
  if (!stream) {
    log.debug(`CONNECT ${formatDestination(destination)}: reply ${reply.reply}`);
    watch?.failed(reply.reply);
    socket.end();
    return;
  }
  watch?.relaying(stream);
  relay(socket, stream);
}

async function answerResolve(socket: Socket, destination: Destination, clientPid: number | undefined, { resolver }: FrontOptions) {
  try {
    const address = await asLookupOf(socket, clientPid, () => resolver.resolve(destination.host));
    if (address === undefined) socket.end(serializeReply(REPLY.HOST_UNREACHABLE));
    // BND.PORT: how many ms the shim may reuse the answer (the front's cache entry's life left)
    else socket.end(serializeReply(REPLY.SUCCEEDED, toDestination(address, Math.min(MAX_REUSE_MS, resolver.answerTtlMs(destination.host)))));
  } catch {
    socket.end(serializeReply(REPLY.GENERAL_FAILURE));
  }
}

async function answerResolvePtr(socket: Socket, destination: Destination, { resolver }: FrontOptions) {
  try {
    const name = await resolver.reverse(destination.host);
    if (name === undefined) socket.end(serializeReply(REPLY.HOST_UNREACHABLE));
    else socket.end(serializeReply(REPLY.SUCCEEDED, { type: 'domain', host: name, port: 0 }));
  } catch {
    socket.end(serializeReply(REPLY.GENERAL_FAILURE));
  }
}

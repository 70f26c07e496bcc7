// One client connection of the pod server: greeting, RFC 1929 auth against the token, then one
// request (CONNECT, RESOLVE, RESOLVE_PTR or kinject's ENV, HEARTBEAT and MUX). A MUX request
// turns the connection into a mux session (protocol/mux/): each channel the runner opens in it starts
// right at one request, the connection's authentication covering it. Failures get the right
// reply code and one log line.

import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  CMD,
  REPLY,
  Socks5Error,
  StreamReader,
  commandName,
  describeError,
  formatDestination,
  parseRequest,
  replyCodeForError,
  replyMessage,
  serializeReply,
  serverHandshake,
  toDestination,
  type Destination,
  type Request,
} from '../protocol/socks5/index.js';
import { MuxSession, type MuxChannel } from '../protocol/mux/index.js';
import { relay } from '../protocol/relay.js';
import { connectTarget } from './connect.js';
import { CMD_ENV, CMD_HEARTBEAT, CMD_MUX, encodeEnvPayload } from '../protocol/commands.js';
import { serveHeartbeat } from './heartbeat.js';
import { CMD_EVENTS, CMD_INTERCEPT, CMD_INTERCEPT_END } from '../protocol/intercept/commands.js';
import type { InterceptHost } from './inbound/intercept-host.js';
import { serveInterceptCommand } from './inbound/commands.js';
import { resolveOne, type Resolver } from './resolver.js';

export interface ClientContext {
  token: string | undefined;
  resolver: Resolver;
  /** Resolver passed to net.connect for CONNECT by name; undefined = Node's own dns.lookup. */
  connectResolver: Resolver | undefined;
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
  verbose: boolean;
  log: (line: string) => void;
  /** Called for a HEARTBEAT request and each heartbeat byte after it (--exit-when-idle). */
  onHeartbeat?: () => void;
  /** Called when a mux client sends SHUTDOWN: the runner is done, the server should exit. */
  onShutdown?: () => void;
  /** the intercept of this pod (EVENTS, INTERCEPT, INTERCEPT_END and every mux session) */
  intercept?: InterceptHost;
}

const PREFIX = 'kinject-proxy: ';

/** Sends a last message, then drains and discards input until the peer closes (bounded). */
function finish(client: Duplex, last: Buffer): void {
  client.resume();
  client.end(last);
  setTimeout(() => client.destroy(), 5_000).unref();
}

function describeRequest(request: Request): string {
  const d = request.destination;
  const what = request.command === CMD.RESOLVE || request.command === CMD.RESOLVE_PTR ? d.host : formatDestination(d);
  return `${commandName(request.command)} ${what}`;
}

export async function handleClient(client: Socket, ctx: ClientContext): Promise<void> {
  client.setNoDelay(true);
  client.setKeepAlive(true, 60_000);
  client.on('error', () => client.destroy());
  const peer = `${client.remoteAddress}:${client.remotePort}`;
  let request: Request;
  let reader: StreamReader;
  try {
    // No timeout on the request: a client may authenticate first and ask later.
    const outcome = await serverHandshake(client, { token: ctx.token, handshakeTimeoutMs: ctx.handshakeTimeoutMs });
    if (!outcome.accepted) {
      ctx.log(`${PREFIX}client ${peer}: ${outcome.why}, refused`);
      finish(client, outcome.reply);
      return;
    }
    ({ request, reader } = outcome);
  } catch (err) {
    reportHandshakeError(client, err, peer, ctx);
    return;
  }
  if (request.command === CMD_MUX) return serveMux(client, reader, peer, ctx);
  return serveRequest(client, reader, request, peer, ctx);
}

function reportHandshakeError(client: Duplex, err: unknown, peer: string, ctx: ClientContext): void {
  if (err instanceof Socks5Error && err.code === 'ESOCKS5_CLOSED') {
    client.destroy(); // the client went away before asking anything: nothing to report
  } else if (err instanceof Socks5Error && err.code === 'ESOCKS5_TIMEOUT') {
    ctx.log(`${PREFIX}client ${peer}: handshake timed out`);
    client.destroy();
  } else if (err instanceof Socks5Error && err.replyCode !== undefined) {
    ctx.log(`${PREFIX}client ${peer}: bad request: ${err.message}`);
    finish(client, serializeReply(err.replyCode));
  } else {
    ctx.log(`${PREFIX}client ${peer}: ${err instanceof Error ? err.message : String(err)}`);
    client.destroy();
  }
}

/** MUX: reply 0, then frames; every channel is served like a connection past its handshake. */
function serveMux(client: Socket, reader: StreamReader, peer: string, ctx: ClientContext): void {
  client.write(serializeReply(REPLY.SUCCEEDED));
  reader.release();
  if (ctx.verbose) ctx.log(`${PREFIX}MUX session from ${peer}`);
  const session = new MuxSession(client, {
    role: 'server',
    onPing: () => ctx.onHeartbeat?.(),
    onShutdown: () => ctx.onShutdown?.(),
    onChannel: (ch) => {
      handleChannel(ch, ctx).catch((err: unknown) => {
        ctx.log(`${PREFIX}internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        ch.destroy();
      });
    },
  });
  session.once('close', (why: Error) => {
    if (ctx.verbose) ctx.log(`${PREFIX}MUX session from ${peer} ended: ${why.message}`);
  });
  ctx.intercept?.attach(session);
}

async function handleChannel(ch: MuxChannel, ctx: ClientContext): Promise<void> {
  const reader = new StreamReader(ch);
  const peer = `channel ${ch.id}`;
  let request: Request;
  try {
    request = await reader.read(parseRequest, { timeoutMs: ctx.handshakeTimeoutMs });
  } catch (err) {
    reportHandshakeError(ch, err, peer, ctx);
    return;
  }
  if (request.command === CMD_MUX) {
    finish(ch, serializeReply(REPLY.COMMAND_NOT_SUPPORTED));
    return;
  }
  return serveRequest(ch, reader, request, peer, ctx);
}

async function serveRequest(client: Duplex, reader: StreamReader, request: Request, peer: string, ctx: ClientContext): Promise<void> {
  const fail = (code: number, why: string) => {
    ctx.log(`${PREFIX}${describeRequest(request)} failed: ${why}`);
    finish(client, serializeReply(code));
  };

  switch (request.command) {
    case CMD.CONNECT:
      return doConnect(client, reader, request.destination, ctx, fail);
    case CMD.RESOLVE:
      return doResolve(client, request, ctx, fail);
    case CMD.RESOLVE_PTR:
      return doResolvePtr(client, request, ctx, fail);
    case CMD_ENV:
      if (ctx.verbose) ctx.log(`${PREFIX}ENV sent`);
      return finish(client, Buffer.concat([serializeReply(REPLY.SUCCEEDED), encodeEnvPayload(process.env)]));
    case CMD_HEARTBEAT:
      if (ctx.verbose) ctx.log(`${PREFIX}HEARTBEAT stream from ${peer}`);
      return serveHeartbeat(client, reader, ctx.onHeartbeat ?? (() => {}));
    case CMD_EVENTS:
    case CMD_INTERCEPT:
    case CMD_INTERCEPT_END:
      if (!ctx.intercept) return fail(REPLY.COMMAND_NOT_SUPPORTED, replyMessage(REPLY.COMMAND_NOT_SUPPORTED));
      return serveInterceptCommand(client, reader, request.command, ctx.intercept, ctx.log);
    default:
      return fail(REPLY.COMMAND_NOT_SUPPORTED, replyMessage(REPLY.COMMAND_NOT_SUPPORTED));
  }
}

type Fail = (code: number, why: string) => void;

async function doConnect(client: Duplex, reader: StreamReader, dest: Destination, ctx: ClientContext, fail: Fail): Promise<void> {
  let target: Socket;
  try {
    target = await connectTarget(dest, { timeoutMs: ctx.connectTimeoutMs, resolver: ctx.connectResolver });
  } catch (err) {
    return fail(replyCodeForError(err), describeError(err));
  }
  if (client.destroyed) {
    target.destroy();
    return;
  }
  const bound = target.localAddress && target.localPort !== undefined ? toDestination(target.localAddress, target.localPort) : undefined;
  client.write(serializeReply(REPLY.SUCCEEDED, bound));
  reader.release(); // bytes the client sent after the request go to the target first
  if (ctx.verbose) ctx.log(`${PREFIX}CONNECT ${formatDestination(dest)} ok`);
  relay(client, target);
}

async function doResolve(client: Duplex, request: Request, ctx: ClientContext, fail: Fail): Promise<void> {
  const dest = request.destination;
  if (dest.type !== 'domain') {
    // Nothing to look up: answer with the literal itself.
    finish(client, serializeReply(REPLY.SUCCEEDED, { ...dest, port: 0 }));
    return;
  }
  try {
    const found = await resolveOne(ctx.resolver, dest.host);
    if (ctx.verbose) ctx.log(`${PREFIX}RESOLVE ${dest.host} -> ${found.address}`);
    finish(client, serializeReply(REPLY.SUCCEEDED, { type: found.family === 6 ? 'ipv6' : 'ipv4', host: found.address, port: 0 }));
  } catch (err) {
    fail(replyCodeForError(err), describeError(err));
  }
}

async function doResolvePtr(client: Duplex, request: Request, ctx: ClientContext, fail: Fail): Promise<void> {
  const dest = request.destination;
  if (dest.type === 'domain') {
    return fail(REPLY.ADDRESS_TYPE_NOT_SUPPORTED, 'RESOLVE_PTR needs an IP address');
  }
  try {
    const name = await ctx.resolver.reverse(dest.host);
    if (ctx.verbose) ctx.log(`${PREFIX}RESOLVE_PTR ${dest.host} -> ${name}`);
    finish(client, serializeReply(REPLY.SUCCEEDED, { type: 'domain', host: name, port: 0 }));
  } catch (err) {
    fail(replyCodeForError(err), describeError(err));
  }
}

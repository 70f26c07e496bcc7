// h2c (HTTP/2 with prior knowledge, so gRPC too), stream by stream: node's http2 server takes the
// connection, each stream is decided on its own (rules.ts) and sent on an HTTP/2 connection of
// the side it chose. Each incoming connection gets its own upstream connections (at most one per
// side, made when first needed, closed with it), so the cluster's connection-level balancing
// sees as many connections as before. A stream matching another session's rules goes to that
// session's router (one connection per peer, marked with VIA_HEADER so it is not sent on again).
// Headers, streamed data both ways, trailers (gRPC status) and resets are passed on.

import http2, { type ClientHttp2Session, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { VIA_HEADER, clusterUnavailableText, type PassThrough, type Peer, route, type RouterContext } from './context.js';
import { Exchange } from './exchange.js';

const { NGHTTP2_FLAG_END_STREAM } = http2.constants;

interface Upstreams {
  cluster?: ClientHttp2Session;
  local?: Promise<ClientHttp2Session>;
  /** other sessions' routers, by host:port */
  peers?: Map<string, ClientHttp2Session>;
}

const upstreams = new WeakMap<Http2Session, Upstreams>();

function alive(s: ClientHttp2Session | undefined): s is ClientHttp2Session {
  return !!s && !s.closed && !s.destroyed;
}

function upstreamsOf(session: Http2Session): Upstreams {
  let u = upstreams.get(session);
  if (!u) {
    const fresh: Upstreams = {};
    u = fresh;
    upstreams.set(session, fresh);
    session.once('close', () => {
      fresh.cluster?.close();
      for (const p of fresh.peers?.values() ?? []) p.close();
      fresh.local?.then(
        (s) => s.close(),
        () => {},
      );
    });
  }
  return u;
}

function connect(to: PassThrough): ClientHttp2Session {
  const s = http2.connect(`http://${to.host}:${to.port}`);
  s.on('error', () => {});
  return s;
}

function clusterSession(ctx: RouterContext, u: Upstreams): Promise<ClientHttp2Session> {
  if (!alive(u.cluster)) u.cluster = connect(ctx.passThrough);
  return Promise.resolve(u.cluster);
}

function peerSession(peer: Peer, u: Upstreams): Promise<ClientHttp2Session> {
  u.peers ??= new Map();
  const key = `${peer.host}:${peer.port}`;
  let s = u.peers.get(key);
  if (!alive(s)) {
    s = connect(peer);
    u.peers.set(key, s);
  }
  return Promise.resolve(s);
}

async function localSession(ctx: RouterContext, u: Upstreams): Promise<ClientHttp2Session> {
  const cached = u.local && (await u.local.catch(() => undefined));
  if (alive(cached)) return cached;
  const opening = ctx.local.open().then((duplex) => {
    const s = http2.connect('http://localhost', { createConnection: () => duplex as never });
    s.on('error', () => {});
    return s;
  });
  u.local = opening;
  return opening;
}

function headerList(h: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(h)) {
    for (const one of Array.isArray(v) ? v : [v]) if (one !== undefined) out.push(k, String(one));
  }
  return out;
}

export function handleStream(ctx: RouterContext, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number): void {
  const method = String(headers[':method'] ?? 'GET');
  const path = String(headers[':path'] ?? '/');
  const decision = route(ctx, headers as Record<string, string | string[] | undefined>, path);
  const toLocal = decision.to === 'local';
  const ex = toLocal && ctx.onRecord ? new Exchange(ctx.onRecord, 'h2c', method, path, headerList(headers), decision) : undefined;
  const endStream = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
  const u = upstreamsOf(stream.session as Http2Session);
  // draining: GOAWAY (this stream and those in flight finish; the client opens a new connection)
  if (ctx.draining && !stream.session?.closed) stream.session?.close();
  stream.on('error', () => {});
  stream.pause();

  const fail = (err: Error) => {
    if (toLocal) ctx.local.failed(err);
    if (ex) ex.status = 502;
    ex?.finish(err.message);
    if (stream.destroyed || stream.headersSent) {
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    const body = toLocal ? ctx.local.unavailableText(err) : clusterUnavailableText(decision.peer ?? ctx.passThrough, err);
    stream.respond({ ':status': 502, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    stream.end(body);
  };

  const { peer } = decision;
  const upstream = toLocal ? localSession(ctx, u) : peer ? peerSession(peer, u) : clusterSession(ctx, u);
  upstream.then((session) => {
    if (stream.destroyed) return;
    const out = peer ? { ...headers, [VIA_HEADER]: peer.session } : headers;
    const up = session.request(out, { endStream, waitForTrailers: !endStream });
    let requestTrailers: IncomingHttpHeaders = {};
    stream.on('trailers', (t: IncomingHttpHeaders) => {
      requestTrailers = t;
    });
    up.on('wantTrailers', () => up.sendTrailers(requestTrailers as never));
    let responded = false;
    up.on('response', (h: IncomingHttpHeaders, upFlags: number) => {
      responded = true;
      if (toLocal) ctx.local.worked();
      if (ex) {
        ex.status = Number(h[':status'] ?? 0);
        ex.responseHeaders = headerList(h);
      }
      if (stream.destroyed) return;
      const last = (upFlags & NGHTTP2_FLAG_END_STREAM) !== 0;
      stream.respond(h as never, last ? { endStream: true } : { waitForTrailers: true });
      if (last) ex?.finish();
      // node may emit the body before 'response' (it emits that one on the next tick): send it now
      for (const chunk of early.splice(0)) forward(chunk);
      if (endedEarly) endStreamOnce();
    });
    let responseTrailers: IncomingHttpHeaders = {};
    up.on('trailers', (t: IncomingHttpHeaders) => {
      responseTrailers = t;
    });
    stream.on('wantTrailers', () => stream.sendTrailers(responseTrailers as never));
    const early: Buffer[] = [];
    let endedEarly = false;
    const forward = (chunk: Buffer) => {
      ex?.responseBody.add(chunk);
      if (!stream.destroyed && !stream.writableEnded && !stream.write(chunk)) {
        up.pause();
        stream.once('drain', () => up.resume());
      }
    };
    const endStreamOnce = () => {
      if (!stream.destroyed && !stream.writableEnded) stream.end();
      ex?.finish();
    };
    up.on('data', (chunk: Buffer) => {
      if (!responded) early.push(chunk);
      else forward(chunk);
    });
    up.on('end', () => {
      if (responded) endStreamOnce();
      else endedEarly = true;
    });
    up.on('error', (err: Error) => (responded ? stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR) : fail(err)));
    up.on('close', () => {
      if (!responded && !stream.destroyed) fail(new Error(`the stream was reset (code ${up.rstCode})`));
      else if (up.rstCode && up.rstCode !== http2.constants.NGHTTP2_NO_ERROR && !stream.destroyed) stream.close(up.rstCode);
    });
    if (!endStream) {
      stream.on('data', (chunk: Buffer) => {
        ex?.requestBody.add(chunk);
        if (!up.write(chunk)) {
          stream.pause();
          up.once('drain', () => stream.resume());
        }
      });
      stream.on('end', () => up.end());
      stream.resume();
    }
    stream.on('close', () => {
      if (!up.closed && !up.destroyed) up.close(stream.rstCode || http2.constants.NGHTTP2_CANCEL);
    });
  }, fail);
}

/** the h2c server that takes the HTTP/2 connections the router hands it ('connection' events) */
export function createHttp2Server(ctx: RouterContext): http2.Http2Server {
  const server = http2.createServer();
  server.on('stream', (stream, headers, flags) => handleStream(ctx, stream, headers, flags));
  server.on('sessionError', () => {});
  return server;
}

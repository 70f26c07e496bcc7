// HTTP/1.1 requests, one at a time (docs/inbound.md "Routing"): node's http server parses each
// request of a keep-alive connection, each is decided on its own (rules.ts) and forwarded with
// node's http client either to the local process (a new local stream per request) or to the
// pass-through target (a keep-alive pool). Status, headers (order and case kept, minus hop-by-hop),
// streamed bodies both ways, trailers and 100-continue are passed on as they come.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { VIA_HEADER, clusterUnavailableText, route, type RouterContext } from './context.js';
import { Exchange } from './exchange.js';
import { forwardedHeaders, pairs } from './headers.js';

export function handleRequest(ctx: RouterContext, req: IncomingMessage, res: ServerResponse, expectContinue = false): void {
  const path = req.url ?? '/';
  const decision = route(ctx, req.headers, path);
  const toLocal = decision.to === 'local';
  const ex = toLocal && ctx.onRecord ? new Exchange(ctx.onRecord, 'http/1.1', req.method ?? 'GET', path, req.rawHeaders, decision) : undefined;
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  const headers = forwardedHeaders(req.rawHeaders);
  let bodyStarted = false;
  let up: http.ClientRequest | undefined;

  const send = (retry: boolean) => {
    const options: http.RequestOptions = { method: req.method, path, headers, setHost: false };
    if (toLocal) {
      options.createConnection = ((_: unknown, cb: (err: Error | null, s?: Duplex) => void) => {
        ctx.local.open().then(
          (s) => cb(null, s),
          (err: Error) => cb(err),
        );
        return undefined;
      }) as unknown as http.RequestOptions['createConnection'];
    } else if (decision.peer) {
      options.host = decision.peer.host;
      options.port = decision.peer.port;
      options.agent = ctx.passAgent;
      options.headers = [...(headers as string[]), VIA_HEADER, decision.peer.session];
    } else {
      options.host = ctx.passThrough.host;
      options.port = ctx.passThrough.port;
      options.agent = ctx.passAgent;
    }
    const r = http.request(options);
    up = r;
    // no body framing in the request: send none (node would add chunked encoding to e.g. a POST)
    if (!hasBody) r.useChunkedEncodingByDefault = false;
    if (expectContinue) r.on('continue', () => res.writeContinue());
    r.on('response', (ures) => onResponse(ures));
    r.on('error', (err: NodeJS.ErrnoException) => {
      // a pooled connection the target closed while idle: a request without a body is sent again
      if (retry && !toLocal && r.reusedSocket && !bodyStarted && !hasBody && err.code === 'ECONNRESET') {
        send(false);
        return;
      }
      onError(err);
    });
    if (hasBody) r.flushHeaders();
    else r.end();
  };

  const onResponse = (ures: IncomingMessage) => {
    if (toLocal) ctx.local.worked();
    const rawHeaders = forwardedHeaders(ures.rawHeaders);
    if (ex) {
      ex.status = ures.statusCode ?? 0;
      ex.responseHeaders = ures.rawHeaders;
    }
    res.sendDate = false;
    if (ctx.draining) res.shouldKeepAlive = false; // the client's next request opens a new connection
    res.writeHead(ures.statusCode ?? 502, ures.statusMessage, rawHeaders);
    ures.on('data', (chunk: Buffer) => {
      ex?.responseBody.add(chunk);
      if (!res.write(chunk)) {
        ures.pause();
        res.once('drain', () => ures.resume());
      }
    });
    ures.on('end', () => {
      if (ures.rawTrailers.length) res.addTrailers(pairs(ures.rawTrailers));
      res.end();
      ex?.finish();
    });
    ures.on('error', () => res.destroy());
  };

  const onError = (err: Error) => {
    if (toLocal) ctx.local.failed(err);
    if (ex && !res.headersSent) ex.status = 502;
    ex?.finish(err.message);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = toLocal ? ctx.local.unavailableText(err) : clusterUnavailableText(ctx.passThrough, err);
    res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  if (hasBody) {
    req.on('data', (chunk: Buffer) => {
      bodyStarted = true;
      ex?.requestBody.add(chunk);
      if (up && !up.write(chunk)) {
        req.pause();
        up.once('drain', () => req.resume());
      }
    });
    req.on('end', () => {
      if (req.rawTrailers.length) up?.addTrailers(pairs(req.rawTrailers));
      up?.end();
    });
  } else {
    req.resume();
  }
  res.on('close', () => {
    if (!res.writableFinished) {
      up?.destroy();
      ex?.finish('the client went away');
    }
  });
  send(true);
}

/** the http server that parses the HTTP/1.1 connections the router hands it ('connection' events) */
export function createHttp1Server(ctx: RouterContext, onUpgrade: (req: IncomingMessage, socket: Socket, head: Buffer) => void): http.Server {
  const server = http.createServer({
    // long enough for an ingress's pooled upstream connections, and no limit on a request's life
    keepAliveTimeout: 620_000,
    headersTimeout: 60_000,
    requestTimeout: 0,
  });
  server.on('request', (req, res) => handleRequest(ctx, req, res));
  server.on('checkContinue', (req, res) => handleRequest(ctx, req, res, true));
  server.on('upgrade', onUpgrade);
  server.on('clientError', (_err, socket: Duplex) => socket.destroy());
  return server;
}

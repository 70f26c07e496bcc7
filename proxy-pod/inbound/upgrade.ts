// HTTP/1.1 Upgrade requests (WebSocket and others): decided by the upgrade request alone, then the
// connection is relayed as bytes to the side it chose, the request head rebuilt from node's parse
// (upgrade headers kept). `Upgrade: h2c` is not taken: the request is handed back to the HTTP/1.1
// server without its upgrade headers, so the connection stays routed request by request.

import type { IncomingMessage } from 'node:http';
import type { Server } from 'node:http';
import net, { type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { relay } from '../../protocol/relay.js';
import { VIA_HEADER, clusterUnavailableText, route, type PassThrough, type RouterContext } from './context.js';
import { Exchange } from './exchange.js';
import { forwardedHeaders, requestHead } from './headers.js';

function connectPassThrough(ctx: RouterContext, to: PassThrough = ctx.passThrough): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: to.host, port: to.port, allowHalfOpen: true, noDelay: true });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

function isH2cOnly(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').trim().toLowerCase() === 'h2c';
}

export function handleUpgrade(ctx: RouterContext, http1: Server, req: IncomingMessage, socket: Socket, head: Buffer): void {
  const method = req.method ?? 'GET';
  const path = req.url ?? '/';
  if (isH2cOnly(req)) {
    // served as plain HTTP/1.1: the same request again, without Upgrade/HTTP2-Settings, then the rest
    socket.unshift(Buffer.concat([requestHead(method, path, req.httpVersion, forwardedHeaders(req.rawHeaders)), head]));
    http1.emit('connection', socket);
    return;
  }
  const decision = route(ctx, req.headers, path);
  const toLocal = decision.to === 'local';
  const ex = toLocal && ctx.onRecord ? new Exchange(ctx.onRecord, 'upgrade', method, path, req.rawHeaders, decision) : undefined;
  socket.on('error', () => {});
  const opening = toLocal ? ctx.local.open() : connectPassThrough(ctx, decision.peer);
  opening.then(
    (conn) => {
      if (toLocal) ctx.local.worked();
      if (socket.destroyed) {
        conn.destroy();
        return;
      }
      const headers = forwardedHeaders(req.rawHeaders, true);
      if (decision.peer) headers.push(VIA_HEADER, decision.peer.session);
      conn.write(requestHead(method, path, req.httpVersion, headers));
      if (head.length) conn.write(head);
      if (ex) {
        conn.once('data', (chunk: Buffer) => {
          ex.status = Number(/^HTTP\/1\.\d (\d{3})/.exec(chunk.toString('latin1', 0, 16))?.[1] ?? 0);
        });
        socket.once('close', () => ex.finish());
      }
      relay(socket, conn);
    },
    (err: Error) => {
      if (toLocal) ctx.local.failed(err);
      const body = toLocal ? ctx.local.unavailableText(err) : clusterUnavailableText(ctx.passThrough, err);
      if (ex) ex.status = 502;
      ex?.finish(err.message);
      socket.end(
        `HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    },
  );
}

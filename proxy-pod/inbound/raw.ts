// A global intercept: every connection the Service gets on the port goes to the local process as
// bytes, whatever the protocol (TLS, databases, HTTP). When the local side is not there the
// connection is closed (there is no protocol to answer in) and the one warning is printed. While
// the local side is switched off (the runner is gone), connections go to the pass-through target.

import net, { type Socket } from 'node:net';
import { relay } from '../../protocol/relay.js';
import type { RouterContext } from './context.js';
import { Exchange } from './exchange.js';

export function relayToLocal(ctx: RouterContext, socket: Socket): void {
  socket.on('error', () => {});
  if (!ctx.localEnabled) {
    const conn = net.connect({ host: ctx.passThrough.host, port: ctx.passThrough.port, allowHalfOpen: true, noDelay: true });
    relay(socket, conn);
    socket.resume();
    return;
  }
  socket.pause();
  const decision = { to: 'local' as const, why: 'global intercept' };
  const ex = ctx.onRecord ? new Exchange(ctx.onRecord, 'tcp', '', '', [], decision) : undefined;
  ctx.local.open().then(
    (conn) => {
      ctx.local.worked();
      if (socket.destroyed) {
        conn.destroy();
        return;
      }
      if (ex) {
        socket.on('data', (c: Buffer) => ex.requestBody.add(c));
        conn.on('data', (c: Buffer) => ex.responseBody.add(c));
        socket.once('close', () => ex.finish());
      }
      relay(socket, conn);
      socket.resume();
    },
    (err: Error) => {
      ctx.local.failed(err);
      ex?.finish(err.message);
      socket.destroy();
    },
  );
}

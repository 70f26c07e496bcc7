// The inbound router of one intercepted Service port (docs/inbound.md): a TCP server on the pod IP
// that the Service's traffic reaches. A global intercept relays every connection to the local
// process. A personal one sniffs each connection's first bytes: the HTTP/2 preface goes to the h2c
// server (http2.ts, stream by stream), anything else to the HTTP/1.1 server (http1.ts, request by
// request; upgrade.ts for WebSocket). Non-HTTP bytes are closed: filters need HTTP.

import http from 'node:http';
import net, { type Server, type Socket } from 'node:net';
import type { PassThrough, Peer, RouterContext } from './context.js';
import type { RecordSink } from './exchange.js';
import { createHttp1Server } from './http1.js';
import { createHttp2Server } from './http2.js';
import { LocalSide, type OpenLocal } from './local-side.js';
import { relayToLocal } from './raw.js';
import { type InterceptRules, isGlobal } from './rules.js';
import { handleUpgrade } from './upgrade.js';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface InboundRouterOptions {
  rules: InterceptRules;
  /** a byte stream to the local process (in the pod: a pod-initiated mux channel) */
  openLocal: OpenLocal;
  /** names the local side in the 502 body and the warning */
  localLabel: string;
  /** where requests that do not match go: the decoy Service */
  passThrough: PassThrough;
  /** one line, once per outage of the local side */
  onWarning: (line: string) => void;
  /** every request sent to the local process, once it is over */
  onRecord?: RecordSink;
  /** start with the local side switched off (default: on) */
  localEnabled?: boolean;
}

export interface InboundRouter {
  server: Server;
  /** stops taking connections, closes idle pooled ones; open exchanges finish on their own */
  close(): void;
  /** close() and every connection it still has, at once */
  destroy(): void;
  /** off: every new request and connection goes to the pass-through target (the runner is gone) */
  setLocalEnabled(on: boolean): void;
  /** other sessions' routers on the Service: requests matching their rules go to them */
  setPeers(peers: Peer[]): void;
  /** the Service was restored: HTTP/1.1 responses close their connection, h2c sessions get GOAWAY */
  drain(): void;
}

export function createInboundRouter(o: InboundRouterOptions): InboundRouter {
  const ctx: RouterContext = {
    rules: o.rules,
    local: new LocalSide(o.openLocal, o.localLabel, o.onWarning),
    passThrough: o.passThrough,
    passAgent: new http.Agent({ keepAlive: true, timeout: 60_000, scheduling: 'lifo' }),
    onRecord: o.onRecord,
    localEnabled: o.localEnabled ?? true,
  };
  const http1 = createHttp1Server(ctx, (req, socket, head) => handleUpgrade(ctx, http1, req, socket as Socket, head));
  const h2 = createHttp2Server(ctx);
  const global = isGlobal(o.rules);
  const sockets = new Set<Socket>();
  const server = net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (global) relayToLocal(ctx, socket);
    else
      sniff(socket, (isH2) => {
        (isH2 ? h2 : http1).emit('connection', socket);
        // the sniffed bytes wait in the socket's buffer: http2 reads them itself, http needs a push
        if (!isH2) socket.resume();
      });
  });
  const close = () => {
    server.close();
    http1.close();
    h2.close();
    ctx.passAgent.destroy();
  };
  return {
    server,
    close,
    destroy() {
      close();
      for (const s of sockets) s.destroy();
    },
    setLocalEnabled(on: boolean) {
      ctx.localEnabled = on;
    },
    setPeers(peers: Peer[]) {
      ctx.peers = peers;
    },
    drain() {
      ctx.draining = true;
    },
  };
}

/** reads until the bytes are or cannot be the HTTP/2 preface, puts them back, tells which */
function sniff(socket: Socket, done: (isH2: boolean) => void): void {
  let seen = Buffer.alloc(0);
  socket.on('error', () => {});
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, H2_PREFACE.length);
    const prefix = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (prefix && n < H2_PREFACE.length) return; // wait for more
    socket.off('data', onData);
    socket.pause();
    socket.unshift(seen);
    done(prefix);
  };
  socket.on('data', onData);
  socket.resume();
}

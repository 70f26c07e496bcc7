// The local preview URL of a personal intercept (docs/inbound.md): an HTTP server on 127.0.0.1
// that sends every request to the intercepted Service through the tunnel (a SOCKS CONNECT to its
// cluster IP, made by the proxy pod) with the intercept's headers added, so a browser on the
// developer's machine sees the personal version of the whole app.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { CMD, REPLY, StreamReader, parseReply, serializeRequest, replyMessage } from '../../protocol/socks5/index.js';
import type { Upstream } from '../front/upstream.js';

async function connectThrough(upstream: Upstream, host: string, port: number): Promise<Duplex> {
  const s = await upstream.open();
  s.write(serializeRequest(CMD.CONNECT, { type: 'ipv4', host, port }));
  const reader = new StreamReader(s);
  const reply = await reader.read(parseReply, { timeoutMs: 20_000 });
  reader.release();
  if (reply.reply !== REPLY.SUCCEEDED) {
    s.destroy();
    throw new Error(`${host}:${port}: ${replyMessage(reply.reply)}`);
  }
  return s;
}

export interface Preview {
  url: string;
  close(): Promise<void>;
}

export async function startPreview(upstream: Upstream, clusterIp: string, port: number, headers: { name: string; value: string }[]): Promise<Preview> {
  const server = http.createServer((req, res) => {
    const out = { ...req.headers };
    for (const h of headers) out[h.name] = h.value;
    const up = http.request({
      method: req.method,
      path: req.url,
      headers: out,
      createConnection: ((_: unknown, cb: (err: Error | null, s?: Duplex) => void) => {
        connectThrough(upstream, clusterIp, port).then(
          (s) => cb(null, s),
          (err: Error) => cb(err),
        );
        return undefined;
      }) as unknown as http.RequestOptions['createConnection'],
    });
    up.on('response', (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      ures.pipe(res);
    });
    up.on('error', (err) => {
      if (res.headersSent) return res.destroy();
      res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`kinject preview: the Service is not reachable through the tunnel: ${err.message}\n`);
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port: local } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${local}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

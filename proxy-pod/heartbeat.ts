// Serves kinject's HEARTBEAT request (CMD_HEARTBEAT in protocol/commands.ts, docs/design.md "SOCKS5 as kinject speaks it"): a client
// keeps one authenticated stream open with it and sends a byte every few seconds; the pod server
// answers each with an echo. Every byte is a heartbeat for --exit-when-idle (idle.ts): the client
// is still there, even if other connections whose far end vanished (an API server or kubelet
// restart) are still open in the pod. The runner itself now sends its heartbeats as the mux
// session's pings (protocol/mux/session.ts); this stays for other clients of the server.

import type { Duplex } from 'node:stream';
import { REPLY, serializeReply, type StreamReader } from '../protocol/socks5/index.js';
/** Echo bytes that may wait unread before the server drops the stream (the client is not reading). */
const MAX_UNREAD = 4096;

/** Serves an accepted HEARTBEAT request: reply 0 (BND 0.0.0.0:0), then echo every byte. */
export function serveHeartbeat(client: Duplex, reader: StreamReader, onBeat: () => void): void {
  client.write(serializeReply(REPLY.SUCCEEDED));
  onBeat();
  client.on('data', (chunk: Buffer) => {
    onBeat();
    if (client.writableLength > MAX_UNREAD) {
      client.destroy();
      return;
    }
    client.write(chunk);
  });
  client.on('end', () => client.end());
  reader.release(); // bytes sent right after the request come through 'data' too
}

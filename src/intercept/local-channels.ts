// The runner's answer to the channels the proxy pod opens (an intercept's requests for the local
// process): each starts with a SOCKS CONNECT request; only 127.0.0.1 at the local ports of this
// run's --intercept flags is allowed (reply 2 otherwise), refused connections get reply 5 (the
// router turns that into its 502), then bytes are relayed.

import net from 'node:net';
import type { MuxChannel } from '../../protocol/mux/index.js';
import { relay } from '../../protocol/relay.js';
import { CMD, REPLY, StreamReader, parseRequest, replyCodeForError, serializeReply } from '../../protocol/socks5/index.js';

export function localChannelHandler(allowedPorts: number[]): (ch: MuxChannel) => void {
  const allowed = new Set(allowedPorts);
  return (ch) => {
    ch.on('error', () => {});
    const reader = new StreamReader(ch);
    reader.read(parseRequest, { timeoutMs: 10_000 }).then(
      (req) => {
        const port = req.destination.port;
        if (req.command !== CMD.CONNECT || !allowed.has(port)) {
          ch.end(serializeReply(REPLY.NOT_ALLOWED));
          return;
        }
        const local = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true });
        local.once('error', (err) => {
          if (!ch.destroyed) ch.end(serializeReply(replyCodeForError(err)));
        });
        local.once('connect', () => {
          local.removeAllListeners('error');
          ch.write(serializeReply(REPLY.SUCCEEDED));
          reader.release();
          relay(ch, local);
        });
      },
      () => ch.destroy(),
    );
  };
}

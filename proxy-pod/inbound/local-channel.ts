// The router's way to the local process inside the pod: a pod-opened channel of the runner's mux
// session, starting with a SOCKS CONNECT request for 127.0.0.1:LOCALPORT; the runner answers with
// a SOCKS reply (0: connected; anything else: the local process is not there).

import type { Duplex } from 'node:stream';
import type { MuxSession } from '../../protocol/mux/index.js';
import { CMD, REPLY, StreamReader, parseReply, replyMessage, serializeRequest } from '../../protocol/socks5/index.js';

export function openLocalChannel(session: () => MuxSession | undefined, localPort: number, timeoutMs = 10_000): Promise<Duplex> {
  const s = session();
  if (!s?.alive) return Promise.reject(new Error('the runner is not connected'));
  const ch = s.open();
  ch.write(serializeRequest(CMD.CONNECT, { type: 'ipv4', host: '127.0.0.1', port: localPort }));
  const reader = new StreamReader(ch);
  return reader.read(parseReply, { timeoutMs }).then(
    (reply) => {
      reader.release();
      if (reply.reply !== REPLY.SUCCEEDED) {
        ch.destroy();
        throw new Error(`127.0.0.1:${localPort} on the developer's machine: ${replyMessage(reply.reply)}`);
      }
      return ch as Duplex;
    },
    (err: Error) => {
      ch.destroy();
      throw err;
    },
  );
}

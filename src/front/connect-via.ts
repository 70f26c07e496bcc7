// "CONNECT through the upstream": takes a fresh stream from the upstream (already authenticated
// SOCKS5) and sends one CONNECT on it. Shared by the front (src/front/server.ts) and the SFTP
// forward (src/tunnel/sftp-forward.ts); each decides what to do with a refusal and relays itself.
import type { Duplex } from 'node:stream';
import { CMD, REPLY, clientRequest, type Destination, type Reply } from '../../protocol/socks5/index.js';
import type { Upstream } from './upstream.js';
import { errorMessage } from '../util/error-message.js';

/** upstream.open() failed: the upstream itself is out of reach (not this one destination). */
export class UpstreamUnreachable extends Error {
  constructor(cause: unknown) {
    super(errorMessage(cause), { cause });
    this.name = 'UpstreamUnreachable';
  }
}

export interface ConnectViaOptions {
  timeoutMs: number;
  /** Sees the stream as soon as it is open; returning false gives up (the stream is destroyed, the result is undefined). */
  onOpen?: (stream: Duplex) => boolean;
}

/** The upstream's reply, and the stream when the reply is SUCCEEDED (otherwise it is destroyed). */
export interface ConnectViaResult {
  reply: Reply;
  stream?: Duplex;
}

/**
 * Opens a stream and sends CONNECT `destination`. Throws UpstreamUnreachable when no stream could
 * be opened; any other error (the request failed, timed out) destroys the stream and is rethrown.
 */
export async function connectVia(
  upstream: Pick<Upstream, 'open'>,
  destination: Destination,
  options: ConnectViaOptions,
): Promise<ConnectViaResult | undefined> {
  let stream: Duplex;
  try {
    stream = await upstream.open();
  } catch (err) {
    throw new UpstreamUnreachable(err);
  }
  if (options.onOpen && !options.onOpen(stream)) {
    stream.destroy();
    return undefined;
  }
  let reply: Reply;
  try {
    reply = await clientRequest(stream, CMD.CONNECT, destination, { timeoutMs: options.timeoutMs });
  } catch (err) {
    stream.destroy();
    throw err;
  }
  if (reply.reply !== REPLY.SUCCEEDED) {
    stream.destroy();
    return { reply };
  }
  return { reply, stream };
}

// Client side of SOCKS5 over an already-connected stream: the greeting (+ RFC 1929 auth) and one
// request. Used by the local front against upstream SOCKS servers (ssh -D, the proxy pod).

import type { Duplex } from 'node:stream';
import { UNSPECIFIED_DESTINATION, type Destination } from './address.js';
import { METHOD, REPLY, SOCKS_VERSION } from './constants.js';
import { Socks5Error } from './errors.js';
import { parseAuthReply, parseMethodChoice, parseReply, type Reply } from './parse.js';
import { StreamReader } from './reader.js';
import { serializeAuthRequest, serializeGreeting, serializeRequest } from './serialize.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface ClientOptions {
  /** Give up (ESOCKS5_TIMEOUT) when the server has not answered a step within this many ms. */
  timeoutMs?: number;
  /**
   * With credentials, send the auth request in the same write as the greeting instead of waiting
   * for the method choice (saves a round trip; safe because only method 0x02 is offered then).
   */
  pipeline?: boolean;
}

function write(stream: Duplex, data: Buffer): void {
  stream.write(data);
}

/**
 * Greeting and, with credentials, RFC 1929 auth. Offers only USERPASS when credentials are given,
 * only NO_AUTH otherwise. Rejects with ESOCKS5_NO_METHOD (server answered 0xFF or an unoffered
 * method) or ESOCKS5_AUTH (bad credentials). Leftover bytes stay in the stream.
 */
export async function clientHandshake(stream: Duplex, credentials?: Credentials, options: ClientOptions = {}): Promise<void> {
  const offered = credentials ? METHOD.USERPASS : METHOD.NO_AUTH;
  const greeting = serializeGreeting([offered]);
  const authRequest = credentials ? serializeAuthRequest(credentials.username, credentials.password) : undefined;
  const reader = new StreamReader(stream);
  try {
    if (authRequest && options.pipeline) write(stream, Buffer.concat([greeting, authRequest]));
    else write(stream, greeting);
    const choice = await reader.read(parseMethodChoice, options);
    if (choice.method === METHOD.NO_ACCEPTABLE) {
      throw new Socks5Error(
        'ESOCKS5_NO_METHOD',
        credentials ? 'the SOCKS server does not accept username/password authentication' : 'the SOCKS server requires authentication',
      );
    }
    if (choice.method !== offered) {
      throw new Socks5Error('ESOCKS5_NO_METHOD', `the SOCKS server chose method 0x${choice.method.toString(16)}, which was not offered`);
    }
    if (authRequest) {
      if (!options.pipeline) write(stream, authRequest);
      const status = await reader.read(parseAuthReply, options);
      if (status.status !== 0) throw new Socks5Error('ESOCKS5_AUTH', 'the SOCKS server rejected the username/password');
    }
  } finally {
    reader.release();
  }
}

/**
 * Sends one request and reads its reply. A non-zero reply code is returned, not thrown; I/O and
 * protocol problems reject. After a successful CONNECT the stream carries the relayed bytes.
 * A failure reply cut short by the server closing (some servers send only VER REP) is returned
 * as that reply code with BND 0.0.0.0:0.
 */
export async function clientRequest(stream: Duplex, command: number, destination: Destination, options: ClientOptions = {}): Promise<Reply> {
  const reader = new StreamReader(stream);
  try {
    write(stream, serializeRequest(command, destination));
    return await reader.read(parseReply, options);
  } catch (err) {
    const got = reader.peek();
    if (err instanceof Socks5Error && err.code === 'ESOCKS5_CLOSED' && got.length >= 2 && got[0] === SOCKS_VERSION && got[1] !== REPLY.SUCCEEDED) {
      return { reply: got[1]!, bound: { ...UNSPECIFIED_DESTINATION } };
    }
    throw err;
  } finally {
    reader.release();
  }
}

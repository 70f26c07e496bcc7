// The server side of a SOCKS5 handshake, shared by the local front and the proxy pod: greeting,
// RFC 1929 username/password check against a token (user "kinject"), then the one request.
// A refused client gets back the bytes to send as the last message; the caller decides how to
// close. Protocol errors, timeouts and a client that goes away reject with a Socks5Error.
// The username may carry the client's process id ("kinject/<pid>", the shim's): the outcome
// hands it on for display (the inspection page); the token alone authenticates.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { AUTH_STATUS, KINJECT_USERNAME, METHOD } from './constants.js';
import { parseAuthRequest, parseGreeting, parseRequest, type Request } from './parse.js';
import { StreamReader } from './reader.js';
import { serializeAuthReply, serializeMethodChoice } from './serialize.js';

export interface ServerHandshakeOptions {
  /** the RFC 1929 password to require; undefined = no authentication (method 0x00) */
  token: string | undefined;
  /** bound on the greeting and the credentials */
  handshakeTimeoutMs: number;
  /** bound on the request after authentication; undefined = wait (pooled, pre-authenticated streams) */
  requestTimeoutMs?: number;
}

export type HandshakeOutcome =
  /** reader still holds the stream: release() it before relaying */
  | { accepted: true; request: Request; reader: StreamReader; clientPid?: number }
  /** send `reply` and close; `why` is one line for a log */
  | { accepted: false; reply: Buffer; why: string };

export async function serverHandshake(stream: Duplex, options: ServerHandshakeOptions): Promise<HandshakeOutcome> {
  // the replies wait for the end of this turn of the event loop: a client that sent greeting,
  // credentials and request at once (the shim does) gets the method choice, the auth status and
  // an answer ready meanwhile (a cached RESOLVE) in one write instead of three
  stream.cork();
  setImmediate(() => stream.uncork());
  const reader = new StreamReader(stream);
  const timeout = { timeoutMs: options.handshakeTimeoutMs };
  const greeting = await reader.read(parseGreeting, timeout);
  const wanted = options.token !== undefined ? METHOD.USERPASS : METHOD.NO_AUTH;
  if (!greeting.methods.includes(wanted)) {
    const offered = greeting.methods.map((m) => `0x${m.toString(16).padStart(2, '0')}`).join(',') || 'none';
    return { accepted: false, reply: serializeMethodChoice(METHOD.NO_ACCEPTABLE), why: `no acceptable auth method (offered ${offered})` };
  }
  stream.write(serializeMethodChoice(wanted));
  let clientPid: number | undefined;
  if (options.token !== undefined) {
    const auth = await reader.read(parseAuthRequest, timeout);
    const user = splitUsername(auth.username);
    if (!credentialsMatch(user.name, auth.password, options.token)) {
      return { accepted: false, reply: serializeAuthReply(AUTH_STATUS.FAILURE), why: 'authentication failed (wrong username or token)' };
    }
    clientPid = user.pid;
    stream.write(serializeAuthReply(AUTH_STATUS.SUCCESS));
  }
  const request = await reader.read(parseRequest, options.requestTimeoutMs !== undefined ? { timeoutMs: options.requestTimeoutMs } : {});
  return { accepted: true, request, reader, ...(clientPid !== undefined ? { clientPid } : {}) };
}

/** "kinject/1234" → kinject and pid 1234; anything else is the name as it is */
export function splitUsername(username: string): { name: string; pid?: number } {
  const m = /^(.*)\/([1-9][0-9]{0,9})$/.exec(username);
  return m ? { name: m[1]!, pid: Number(m[2]) } : { name: username };
}

/** Compares fixed-size digests, so the time taken does not depend on where the strings differ. */
export function credentialsMatch(username: string, password: string, token: string): boolean {
  const userOk = timingSafeEqual(digest(username), USERNAME_DIGEST);
  const passOk = timingSafeEqual(digest(password), tokenDigest(token));
  return userOk && passOk;
}

const USERNAME_DIGEST = digest(KINJECT_USERNAME);
/** the last token's digest: a front checks every connection against one token */
let lastToken: { token: string; digest: Buffer } | undefined;
function tokenDigest(token: string): Buffer {
  if (lastToken?.token !== token) lastToken = { token, digest: digest(token) };
  return lastToken.digest;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

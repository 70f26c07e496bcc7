// The upstream for `kinject run --proxy socks5://[user:pass@]HOST:PORT`: a new TCP connection per
// request to any SOCKS5 server. Whether it answers Tor's RESOLVE is probed once at start.
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { CMD, REPLY, clientHandshake, clientRequest, type Credentials } from '../../protocol/socks5/index.js';
import { KinjectError, errorMessage, usageError } from '../errors.js';
import type { Upstream } from './upstream.js';

const HANDSHAKE_TIMEOUT_MS = 10_000;

export interface ProxyUrl {
  host: string;
  port: number;
  credentials?: Credentials;
  text: string; // for messages, without the password
}

export function parseProxyUrl(value: string): ProxyUrl {
  let url: URL;
  try {
    url = new URL(value.includes('://') ? value : `socks5://${value}`);
  } catch {
    throw usageError(`--proxy ${value} is not a URL: use socks5://[user:pass@]HOST:PORT`);
  }
  if (url.protocol !== 'socks5:' && url.protocol !== 'socks5h:') {
    throw usageError(`--proxy ${value}: only socks5:// proxies are supported`);
  }
  if (!url.hostname || !url.port) throw usageError(`--proxy ${value} needs a host and a port: socks5://HOST:PORT`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const credentials = url.username ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } : undefined;
  return { host, port: Number(url.port), credentials, text: `socks5://${url.host}` };
}

export async function connectSocksUpstream(proxy: ProxyUrl): Promise<Upstream> {
  const open = async (): Promise<Duplex> => {
    const socket = await tcpConnect(proxy.host, proxy.port);
    try {
      await clientHandshake(socket, proxy.credentials, { timeoutMs: HANDSHAKE_TIMEOUT_MS });
    } catch (err) {
      socket.destroy();
      throw err;
    }
    return socket;
  };
  let resolveSupported: boolean;
  try {
    resolveSupported = await probeResolve(await open());
  } catch (err) {
    throw new KinjectError(`cannot use the SOCKS5 proxy ${proxy.text}: ${errorMessage(err)} (check --proxy)`);
  }
  return { open, resolveSupported, description: proxy.text, close: async () => {} };
}

/** A RESOLVE of "localhost": answered (0, or 4 "not found") means the server knows the command. */
async function probeResolve(stream: Duplex): Promise<boolean> {
  try {
    const reply = await clientRequest(stream, CMD.RESOLVE, { type: 'domain', host: 'localhost', port: 0 }, { timeoutMs: HANDSHAKE_TIMEOUT_MS });
    return reply.reply === REPLY.SUCCEEDED || reply.reply === REPLY.HOST_UNREACHABLE;
  } catch {
    return false; // closed or malformed answer: a server that does not speak RESOLVE
  } finally {
    stream.destroy();
  }
}

function tcpConnect(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true, allowHalfOpen: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

// Opens the TCP connection for a CONNECT request: half-open allowed, TCP_NODELAY, keepalive,
// and a connect timeout that fails with code ETIMEDOUT (reply 6).

import { connect, type Socket } from 'node:net';
import type { Destination } from '../protocol/socks5/index.js';
import type { Resolver } from './resolver.js';
import { toLookupFunction } from './resolver.js';

export interface ConnectOptions {
  timeoutMs: number;
  /** Injected resolver for domain destinations; the system one (dns.lookup) when absent. */
  resolver?: Resolver;
}

export function connectTarget(dest: Destination, options: ConnectOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: dest.host,
      port: dest.port,
      allowHalfOpen: true,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: 60_000,
      ...(options.resolver && dest.type === 'domain' ? { lookup: toLookupFunction(options.resolver) } : {}),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`connect timed out after ${options.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, options.timeoutMs);
    const onError = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

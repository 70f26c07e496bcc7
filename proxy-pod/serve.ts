// Starts the proxy server the way both entry points want it: the pod's (main.ts) and
// `kinject proxy-server`: reads the token file, listens, prints `kinject-proxy: listening on
// HOST:PORT` on stderr once ready (tests and the tunnel wait for that line), exits 0 on
// SIGTERM/SIGINT. Problems are thrown as ServeError with the exit status to use.
import { readFileSync } from 'node:fs';
import { startProxyServer } from './server.js';
import { parseListen } from './args.js';

export class ServeError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

export interface ServeOptions {
  listen: string;
  tokenFile?: string;
  exitWhenIdleSeconds?: number;
  connectTimeoutSeconds?: number;
  verbose: boolean;
}

export async function serve(options: ServeOptions): Promise<void> {
  let listen: { host: string; port: number };
  try {
    listen = parseListen(options.listen);
  } catch (err) {
    throw new ServeError((err as Error).message, 2);
  }
  let token: string | undefined;
  if (options.tokenFile !== undefined) {
    try {
      token = readFileSync(options.tokenFile, 'utf8').trim();
    } catch (err) {
      throw new ServeError(`cannot read the token file: ${(err as Error).message}`, 1);
    }
    if (!token) throw new ServeError(`the token file ${options.tokenFile} is empty`, 1);
  }
  const server = await startProxyServer({
    host: listen.host,
    port: listen.port,
    token,
    exitWhenIdleSeconds: options.exitWhenIdleSeconds,
    connectTimeoutMs: options.connectTimeoutSeconds !== undefined ? options.connectTimeoutSeconds * 1000 : undefined,
    verbose: options.verbose,
  }).catch((err: Error) => {
    throw new ServeError(err.message, 1);
  });
  const { host, port } = server.address;
  process.stderr.write(`kinject-proxy: listening on ${host.includes(':') ? `[${host}]` : host}:${port}\n`);
  const stop = (signal: string) => {
    if (options.verbose) process.stderr.write(`kinject-proxy: ${signal}, exiting\n`);
    void server.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

// `kinject proxy-server`: the proxy pod's server, run by hand (e.g. on a bastion host, or to test).
import { readFileSync } from 'node:fs';
import { usageError } from '../errors.js';
import { startProxyServer } from '../../proxy-pod/server.js';

export interface ProxyServerOptions {
  listen: string;
  tokenFile?: string;
  exitWhenIdle?: string;
}

export async function proxyServerCommand(options: ProxyServerOptions): Promise<void> {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(options.listen);
  if (!match) throw usageError(`--listen ${options.listen} is not HOST:PORT (e.g. 127.0.0.1:1080)`);
  const host = match[1] ?? match[2]!;
  const port = Number(match[3]);
  let token: string | undefined;
  if (options.tokenFile !== undefined) {
    try {
      token = readFileSync(options.tokenFile, 'utf8').trim();
    } catch (err) {
      throw usageError(`cannot read --token-file ${options.tokenFile}: ${(err as Error).message}`);
    }
  }
  const exitWhenIdleSeconds = options.exitWhenIdle === undefined ? undefined : Number(options.exitWhenIdle);
  if (exitWhenIdleSeconds !== undefined && !(exitWhenIdleSeconds > 0)) {
    throw usageError(`--exit-when-idle ${options.exitWhenIdle} must be a positive number of seconds`);
  }
  await startProxyServer({ host, port, token, exitWhenIdleSeconds });
}

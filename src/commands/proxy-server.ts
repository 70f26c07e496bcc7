// `kinject proxy-server`: the proxy pod's server, run by hand (e.g. on a bastion host, or to test).
import { KinjectError } from '../errors.js';
import { startProxyServers, StartError } from '../../proxy-pod/start.js';
import { seconds } from './options.js';

export interface ProxyServerOptions {
  listen: string;
  tokenFile?: string;
  exitWhenIdle?: string;
  connectTimeout?: string;
  verbose: boolean;
}

export async function proxyServerCommand(options: ProxyServerOptions): Promise<void> {
  try {
    await startProxyServers({
      listen: options.listen,
      tokenFile: options.tokenFile,
      exitWhenIdleSeconds: options.exitWhenIdle === undefined ? undefined : seconds(options.exitWhenIdle, '--exit-when-idle'),
      connectTimeoutSeconds: options.connectTimeout === undefined ? undefined : seconds(options.connectTimeout, '--connect-timeout'),
      verbose: options.verbose,
    });
  } catch (err) {
    if (err instanceof StartError) throw new KinjectError(err.message, { exitCode: err.status });
    throw err;
  }
}

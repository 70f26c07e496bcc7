// Starts the proxy server the way both entry points want it: the pod's (main.ts) and
// `kinject proxy-server`: reads the token file, listens, prints `kinject-proxy: listening on
// HOST:PORT` on stderr once ready (tests and the tunnel wait for that line), exits 0 on
// SIGTERM/SIGINT. With `sftp` it first starts the SFTP server for the volumes (keys and export
// list from files) and prints `kinject-proxy: sftp listening on HOST:PORT`, so it is up before
// anyone can reach the SOCKS port; its connections count for --exit-when-idle. With `direct` it
// also listens on the pod IP with mutual TLS (the direct transport) and prints `kinject-proxy:
// direct (mutual TLS) listening on HOST:PORT` before the SOCKS line. Problems are
// thrown as StartError with the exit status to use (2 usage, 1 anything else).
import { readFileSync } from 'node:fs';
import { startProxyServer } from './server.js';
import { formatHostPort, parseListen } from './args.js';
import { parseExports, startSftpServer, type SftpServer } from './sftp/index.js';
import { InterceptHost } from './inbound/intercept-host.js';

export class StartError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface StartSftpOptions {
  /** HOST:PORT */
  listen: string;
  /** the server's private host key */
  hostKeyFile: string;
  /** the one client public key it accepts */
  authorizedKeyFile: string;
  /** JSON list of exports: [{"path":"/etc/web","readOnly":true}, ...] */
  exportsFile: string;
}

export interface StartDirectOptions {
  /** HOST:PORT on the pod IP */
  listen: string;
  /** the listener's certificate and private key, and the one client certificate it accepts */
  certFile: string;
  keyFile: string;
  clientCertFile: string;
}

export interface StartOptions {
  direct?: StartDirectOptions;
  listen: string;
  tokenFile?: string;
  exitWhenIdleSeconds?: number;
  connectTimeoutSeconds?: number;
  verbose: boolean;
  sftp?: StartSftpOptions;
}

function listenArg(value: string, flag: string): { host: string; port: number } {
  try {
    return parseListen(value, flag);
  } catch (err) {
    throw new StartError((err as Error).message, 2);
  }
}

function readText(file: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new StartError(`cannot read the ${what}: ${(err as Error).message}`, 1);
  }
  if (!text.trim()) throw new StartError(`the ${what} ${file} is empty`, 1);
  return text;
}

async function startSftp(o: StartSftpOptions): Promise<SftpServer> {
  const listen = listenArg(o.listen, '--sftp-listen');
  const hostKey = readText(o.hostKeyFile, 'SFTP host key file');
  const authorizedKey = readText(o.authorizedKeyFile, 'SFTP authorized key file');
  const exportsJson = readText(o.exportsFile, 'SFTP exports file');
  let exports: ReturnType<typeof parseExports>;
  try {
    exports = parseExports(exportsJson);
  } catch (err) {
    throw new StartError(`${o.exportsFile}: ${(err as Error).message}`, 1);
  }
  try {
    return await startSftpServer({
      host: listen.host,
      port: listen.port,
      hostKey,
      authorizedKey,
      exports,
      log: (line) => {
        process.stderr.write(`${line}\n`);
      },
    });
  } catch (err) {
    throw new StartError(`cannot start the SFTP server on ${o.listen}: ${(err as Error).message}`, 1);
  }
}

export async function startProxyServers(options: StartOptions): Promise<void> {
  const listen = listenArg(options.listen, '--listen');
  if (options.sftp) listenArg(options.sftp.listen, '--sftp-listen'); // usage errors before any other
  const direct = options.direct
    ? {
        ...listenArg(options.direct.listen, '--direct-listen'),
        cert: readText(options.direct.certFile, 'direct certificate file'),
        key: readText(options.direct.keyFile, 'direct key file'),
        peerCert: readText(options.direct.clientCertFile, 'direct client certificate file'),
      }
    : undefined;
  let token: string | undefined;
  if (options.tokenFile !== undefined) {
    try {
      token = readFileSync(options.tokenFile, 'utf8').trim();
    } catch (err) {
      throw new StartError(`cannot read the token file: ${(err as Error).message}`, 1);
    }
    if (!token) throw new StartError(`the token file ${options.tokenFile} is empty`, 1);
  }
  let sftp: SftpServer | undefined;
  if (options.sftp) {
    sftp = await startSftp(options.sftp);
    process.stderr.write(`kinject-proxy: sftp listening on ${formatHostPort(sftp.address.host, sftp.address.port)}\n`);
  }
  // an intercept restores the Service before the pod server exits, whatever the way out
  const exit = (why: string) => {
    if (!intercept.active) process.exit(0);
    void intercept
      .end(why)
      .catch((err: Error) => process.stderr.write(`kinject-proxy: ${err.message}\n`))
      .finally(() => process.exit(0));
  };
  const intercept = new InterceptHost({
    log: (line) => process.stderr.write(`${line}\n`),
    onEnded: () => exit('the runner is gone'),
  });
  const server = await startProxyServer({
    intercept,
    onIdleExit: () => exit('the pod server is exiting'),
    host: listen.host,
    port: listen.port,
    token,
    exitWhenIdleSeconds: options.exitWhenIdleSeconds,
    activitySources: sftp ? [sftp] : [],
    connectTimeoutMs: options.connectTimeoutSeconds !== undefined ? options.connectTimeoutSeconds * 1000 : undefined,
    verbose: options.verbose,
    direct,
  }).catch(async (err: Error) => {
    await sftp?.close();
    throw new StartError(err.message, 1);
  });
  const { host, port } = server.address;
  if (server.directAddress)
    process.stderr.write(`kinject-proxy: direct (mutual TLS) listening on ${formatHostPort(server.directAddress.host, server.directAddress.port)}\n`);
  process.stderr.write(`kinject-proxy: listening on ${formatHostPort(host, port)}\n`);
  const stop = (signal: string) => {
    if (options.verbose) process.stderr.write(`kinject-proxy: ${signal}, exiting\n`);
    void server.close();
    void sftp?.close();
    exit(`${signal} received`);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

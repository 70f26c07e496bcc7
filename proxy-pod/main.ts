// Entry point of the proxy pod (bundled to dist/proxy-pod.js):
//   node proxy-pod.js --listen HOST:PORT [--token-file FILE] [--exit-when-idle SECONDS]
//     [--connect-timeout SECONDS] [--verbose]
//     [--sftp-listen HOST:PORT --sftp-host-key-file FILE --sftp-authorized-key-file FILE --sftp-exports-file FILE]
//     [--direct-listen HOST:PORT --direct-cert-file FILE --direct-key-file FILE --direct-client-cert-file FILE]
// Prints `kinject-proxy: listening on HOST:PORT` on stderr once ready (after `kinject-proxy: sftp
// listening on HOST:PORT` with the SFTP flags, which go all four or none); SIGTERM/SIGINT exit 0.
// Bad usage exits 2, unreadable files and other failures exit 1.

import { startProxyServers, StartError } from './start.js';

const USAGE =
  'usage: proxy-pod --listen HOST:PORT [--token-file FILE] [--exit-when-idle SECONDS] [--connect-timeout SECONDS] [--verbose]' +
  ' [--sftp-listen HOST:PORT --sftp-host-key-file FILE --sftp-authorized-key-file FILE --sftp-exports-file FILE]' +
  ' [--direct-listen HOST:PORT --direct-cert-file FILE --direct-key-file FILE --direct-client-cert-file FILE]';

const SFTP_FLAGS = ['--sftp-listen', '--sftp-host-key-file', '--sftp-authorized-key-file', '--sftp-exports-file'] as const;
type SftpFlag = (typeof SFTP_FLAGS)[number];
const DIRECT_FLAGS = ['--direct-listen', '--direct-cert-file', '--direct-key-file', '--direct-client-cert-file'] as const;
type DirectFlag = (typeof DIRECT_FLAGS)[number];

function die(message: string, status: number): never {
  process.stderr.write(`kinject-proxy: ${message}\n`);
  process.exit(status);
}

function parseArgs(argv: string[]) {
  const out: {
    listen?: string;
    tokenFile?: string;
    idle?: number;
    connectTimeout?: number;
    verbose: boolean;
    sftp: Partial<Record<SftpFlag, string>>;
    direct: Partial<Record<DirectFlag, string>>;
  } = {
    verbose: false,
    sftp: {},
    direct: {},
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const takeValue = (): string => {
      if (eq > 0 && arg.startsWith('--')) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) die(`${name} needs a value\n${USAGE}`, 2);
      return v;
    };
    const seconds = (v: string): number => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) die(`${name} wants a positive number of seconds, got ${JSON.stringify(v)}`, 2);
      return n;
    };
    switch (name) {
      case '--listen':
        out.listen = takeValue();
        break;
      case '--token-file':
        out.tokenFile = takeValue();
        break;
      case '--exit-when-idle':
        out.idle = seconds(takeValue());
        break;
      case '--connect-timeout':
        out.connectTimeout = seconds(takeValue());
        break;
      case '--sftp-listen':
      case '--sftp-host-key-file':
      case '--sftp-authorized-key-file':
      case '--sftp-exports-file':
        out.sftp[name] = takeValue();
        break;
      case '--direct-listen':
      case '--direct-cert-file':
      case '--direct-key-file':
      case '--direct-client-cert-file':
        out.direct[name] = takeValue();
        break;
      case '--verbose':
      case '-v':
        out.verbose = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return process.exit(0);
      default:
        die(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`, 2);
    }
  }
  return out;
}

function sftpOptions(given: Partial<Record<SftpFlag, string>>) {
  const missing = SFTP_FLAGS.filter((f) => given[f] === undefined);
  if (missing.length === SFTP_FLAGS.length) return undefined;
  if (missing.length) die(`${SFTP_FLAGS.join(', ')} go together (missing ${missing.join(', ')})\n${USAGE}`, 2);
  return {
    listen: given['--sftp-listen']!,
    hostKeyFile: given['--sftp-host-key-file']!,
    authorizedKeyFile: given['--sftp-authorized-key-file']!,
    exportsFile: given['--sftp-exports-file']!,
  };
}

function directOptions(given: Partial<Record<DirectFlag, string>>) {
  const missing = DIRECT_FLAGS.filter((f) => given[f] === undefined);
  if (missing.length === DIRECT_FLAGS.length) return undefined;
  if (missing.length) die(`${DIRECT_FLAGS.join(', ')} go together (missing ${missing.join(', ')})\n${USAGE}`, 2);
  return {
    listen: given['--direct-listen']!,
    certFile: given['--direct-cert-file']!,
    keyFile: given['--direct-key-file']!,
    clientCertFile: given['--direct-client-cert-file']!,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (!args.listen) die(`--listen is required\n${USAGE}`, 2);
  const sftp = sftpOptions(args.sftp);
  const direct = directOptions(args.direct);
  try {
    await startProxyServers({
      listen: args.listen,
      tokenFile: args.tokenFile,
      exitWhenIdleSeconds: args.idle,
      connectTimeoutSeconds: args.connectTimeout,
      verbose: args.verbose,
      sftp,
      direct,
    });
  } catch (err) {
    if (err instanceof StartError) die(err.message, err.status);
    throw err;
  }
}

void main();

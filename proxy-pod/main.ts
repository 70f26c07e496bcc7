// Entry point of the proxy pod (bundled to dist/proxy-pod.js):
//   node proxy-pod.js --listen HOST:PORT [--token-file FILE] [--exit-when-idle SECONDS] [--verbose]
// Prints `kinject-proxy: listening on HOST:PORT` on stderr once ready; SIGTERM/SIGINT exit 0.

import { serve, ServeError } from './serve.js';

const USAGE = 'usage: proxy-pod --listen HOST:PORT [--token-file FILE] [--exit-when-idle SECONDS] [--connect-timeout SECONDS] [--verbose]';

function die(message: string, status: number): never {
  process.stderr.write(`kinject-proxy: ${message}\n`);
  process.exit(status);
}

function parseArgs(argv: string[]) {
  const out: { listen?: string; tokenFile?: string; idle?: number; connectTimeout?: number; verbose: boolean } = { verbose: false };
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
      case '--listen': out.listen = takeValue(); break;
      case '--token-file': out.tokenFile = takeValue(); break;
      case '--exit-when-idle': out.idle = seconds(takeValue()); break;
      case '--connect-timeout': out.connectTimeout = seconds(takeValue()); break;
      case '--verbose': case '-v': out.verbose = true; break;
      case '--help': case '-h': process.stdout.write(`${USAGE}\n`); process.exit(0);
      default: die(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`, 2);
    }
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (!args.listen) die(`--listen is required\n${USAGE}`, 2);
  try {
    await serve({
      listen: args.listen,
      tokenFile: args.tokenFile,
      exitWhenIdleSeconds: args.idle,
      connectTimeoutSeconds: args.connectTimeout,
      verbose: args.verbose,
    });
  } catch (err) {
    if (err instanceof ServeError) die(err.message, err.status);
    throw err;
  }
}

void main();

// `kinject run`: connects an upstream (a SOCKS5 server given with --proxy, or a proxy pod in the
// cluster), starts the local front and DNS server the shim talks to, runs the command with the
// shim, and removes everything it created on every way out. Returns the exit code.
import { randomBytes } from 'node:crypto';
import { KinjectError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { startDnsServer } from '../dns/server.js';
import { startFront } from '../front/server.js';
import { createResolver } from '../front/resolver.js';
import { connectSocksUpstream, parseProxyUrl } from '../front/socks-upstream.js';
import type { Upstream } from '../front/upstream.js';
import { bypassWarning, classifyBinary, resolveOnPath } from '../run/binary-check.js';
import { CleanupStack } from '../run/cleanup-stack.js';
import { exitCodeOf, waitForExit } from '../run/exit-status.js';
import { FORWARDED_SIGNALS, forwardSignals } from '../run/signals.js';
import { shimEnvironment } from '../run/shim-env.js';
import { startChild } from '../run/spawn.js';
import { constants } from 'node:os';

export interface RunOptions {
  method: string;
  proxy?: string;
  localNames?: string;
  verbose: boolean;
}

export async function runCommand(command: string, args: string[], options: RunOptions): Promise<number> {
  const log = createLogger(options.verbose);
  const cleanup = new CleanupStack();
  const stopEarlyExit = exitCleanlyOnSignals(cleanup, log);
  try {
    const upstream = await connectUpstream(options, log);
    cleanup.add('upstream', () => upstream.close());
    const token = randomBytes(24).toString('hex');
    const resolver = createResolver(upstream);
    const front = await startFront({ upstream, resolver, token, log });
    cleanup.add('front', () => front.close());
    const dns = await startDnsServer(resolver, log.debug);
    cleanup.add('dns server', () => dns.close());

    const env = shimEnvironment(process.env, {
      socks: front.address,
      token,
      dns: dns.address,
      localNames: splitList(options.localNames),
      verbose: options.verbose,
    });
    warnIfUncapturable(command, env.PATH, log);
    const child = await startChild(command, args, env);
    stopEarlyExit(); // from here on, signals go to the child and kinject waits for it
    const stopForwarding = forwardSignals(child);
    const end = await waitForExit(child);
    stopForwarding();
    return exitCodeOf(end);
  } finally {
    stopEarlyExit();
    await cleanup.unwind(log.warn);
  }
}

async function connectUpstream(options: RunOptions, log: Logger): Promise<Upstream> {
  if (options.proxy !== undefined) {
    const upstream = await connectSocksUpstream(parseProxyUrl(options.proxy));
    log.debug(`upstream ${upstream.description} (RESOLVE ${upstream.resolveSupported ? 'supported' : 'not supported: names get stand-in addresses'})`);
    return upstream;
  }
  throw new KinjectError('no cluster support yet: pass --proxy socks5://HOST:PORT');
}

/** Before the child exists, a signal aborts the setup: clean up and exit 128 + signal. */
function exitCleanlyOnSignals(cleanup: CleanupStack, log: Logger): () => void {
  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = () => {
      log.info(`${signal} received: cleaning up`);
      void cleanup.unwind(log.warn).finally(() => process.exit(128 + (constants.signals[signal] ?? 0)));
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}

function warnIfUncapturable(command: string, pathVar: string | undefined, log: Logger): void {
  const path = resolveOnPath(command, pathVar);
  if (path === undefined) return; // startChild reports a missing command
  const warning = bypassWarning(path, classifyBinary(path));
  if (warning) log.warn(warning);
}

function splitList(list: string | undefined): string[] {
  return (list ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}


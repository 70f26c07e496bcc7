// `kinject run`: connects an upstream (a SOCKS5 server given with --proxy, or a proxy pod in the
// cluster), starts the local front and DNS server the shim talks to, runs the command with the
// shim (and, with --target, the workload's env and volumes), and removes everything it created on
// every way out. Returns the exit code. The cluster modules are imported only when needed.
import { randomBytes } from 'node:crypto';
import { KinjectError, usageError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { createJsonLogger } from '../log-json.js';
import { startDnsServer } from '../dns/server.js';
import { startFront } from '../front/server.js';
import { createResolver } from '../front/resolver.js';
import { connectSocksUpstream, parseProxyUrl } from '../front/socks-upstream.js';
import type { ChildProcess } from 'node:child_process';
import type { Upstream } from '../front/upstream.js';
import type { Env } from '../kube/env.js';
import type { EnvSyntax } from '../env-file/index.js';
import { bypassWarning, classifyBinary, resolveOnPath } from '../child/binary-check.js';
import { CleanupStack } from '../child/cleanup-stack.js';
import { mergeEnv, writeEnvFiles, type EnvPrecedence } from '../child/env-merge.js';
import { exitCodeOf } from '../child/exit-status.js';
import { waitUnlessClosed } from '../child/session-closed.js';
import { forwardSignals, onForwardedSignals, guardCleanupFromSignals } from '../child/signals.js';
import { shimEnvironment } from '../child/shim-env.js';
import { makeWarnDir } from '../child/warn-dir.js';
import { startChild } from '../child/spawn.js';
import { newSessionId, registerSession, type RegisteredSession } from '../session/registry.js';
import { startGuardian } from '../child/guardian.js';
import { planVolumes, type SessionVolumes, type VolumePlan } from '../volumes/session-volumes.js';
import type { Leftovers } from '../volumes/mount.js';
import { seconds, type TargetFlags } from './options.js';
import { checkNetnsHost } from '../netns/preflight.js';
import { startNetnsRun } from '../netns/run-netns.js';
import { parseInterceptFlags, type InterceptRequest } from '../intercept/flags.js';
import { inspectListening, publishInspect } from '../inspect/events.js';
import type { InterceptRecordEvent } from '../intercept/records.js';

export interface RunOptions extends TargetFlags {
  method: string;
  /** --transport: auto (default), direct or port-forward (tunnel/transport.ts) */
  transport?: string;
  proxy?: string;
  localNames?: string;
  verbose: boolean;
  envFile?: string;
  envSyntax?: EnvSyntax;
  envJson?: string;
  envPrecedence: EnvPrecedence;
  /** --mount DIR, or false for --no-mount */
  mount?: string | boolean;
  /** --output: text (default) or json (one JSON object a line on stderr) */
  output?: string;
  /** --host-loopback (--method netns): 10.0.2.2 reaches the host's loopback */
  hostLoopback?: boolean;
  /** --intercept, --header, --path-prefix, --service (src/intercept/) */
  intercept?: string[];
  header?: string[];
  pathPrefix?: string;
  service?: string;
  /** false with --no-inspect: no inspection page */
  inspect?: boolean;
}

class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`${signal} received`);
  }
}

export async function runCommand(command: string, args: string[], options: RunOptions): Promise<number> {
  checkFlags(options);
  const netnsTools = options.method === 'netns' ? checkNetnsHost() : undefined;
  const intercept = parseInterceptFlags(options, !!options.target);
  const volumePlan = planVolumes(options);
  let record: RegisteredSession | undefined;
  const log = options.output === 'json' ? createJsonLogger(options.verbose) : createLogger(options.verbose);
  const onTunnelState = (state: 'lost' | 'up', reason?: string) => {
    record?.setTunnel(state, reason);
    publishInspect({ type: 'tunnel', time: new Date().toISOString(), state, ...(reason ? { reason } : {}) });
  };
  const cleanup = new CleanupStack();
  // if kinject is SIGKILLed (set-up or later), the guardian removes what kinject's end would have
  // and ends the child: everything below that leaves something locally tells it at once
  const guardian = startGuardian(undefined, log);
  const setup = new AbortController();
  const signalGuard = guardCleanupFromSignals(log.info);
  const stopInterrupts = interruptSetupOnSignals(setup, log);
  try {
    if (intercept && options.inspect !== false) await feedInterceptRecords(cleanup);
    const connected = await connectUpstream(options, volumePlan, cleanup, log, setup.signal, onTunnelState, intercept, (l) => guardian.add(l));
    const { upstream, env: workloadEnv, volumes, closed } = connected;
    const session = registerRunSession(connected, command, args, options);
    record = session;
    guardian.add({ filesAfter: [session.file] });
    cleanup.add('session record', () => session.remove());
    if (options.inspect !== false) {
      const { startInspectFeed } = await import('../inspect/feed.js');
      // with --proxy kinject prints nothing when all is well (no progress lines): the URL is a diagnostic there
      const feed = await startInspectFeed(session.record.id, options.proxy !== undefined ? { ...log, info: log.debug } : log);
      if (feed) {
        session.update({ details: { ...session.record.details, inspect: feed.url } });
        cleanup.add('inspection feed', () => feed.close());
        publishInspect({ type: 'tunnel', time: session.record.startedAt, state: 'up' });
      }
    }
    if (workloadEnv) {
      const warning = writeEnvFiles(workloadEnv, { envFile: options.envFile, syntax: options.envSyntax, json: options.envJson });
      if (warning) log.warn(warning);
    }
    const token = randomBytes(24).toString('hex');
    const resolver = createResolver(upstream);
    const front = await startFront({ upstream, resolver, token, log });
    cleanup.add('front', () => front.close());
    const dns = await startDnsServer(resolver, log);
    cleanup.add('dns server', () => dns.close());
    setup.signal.throwIfAborted();
    const warnDir = netnsTools ? undefined : makeWarnDir(); // netns: the command runs without the shim
    if (warnDir) {
      guardian.add({ trees: [warnDir.path] });
      cleanup.add('warning marks', () => warnDir.remove());
    }

    const merged = mergeEnv(process.env, workloadEnv, options.envPrecedence);
    const env = shimEnvironment(merged, {
      socks: front.address,
      token,
      dns: dns.address,
      localNames: splitList(options.localNames),
      verbose: options.verbose,
      pathMap: volumes?.env.KINJECT_PATH_MAP,
      warnDir: warnDir?.path,
    });
    if (volumes) {
      env.KINJECT_ROOT = volumes.env.KINJECT_ROOT;
      env.KINJECT_MOUNTS = volumes.env.KINJECT_MOUNTS;
    }
    publishProgramEnv(workloadEnv, connected, netnsTools ? merged : env);
    let child: ChildProcess;
    if (netnsTools) {
      const shimEnv = shimEnvironment(process.env, { socks: front.address, token, dns: dns.address, localNames: [], verbose: options.verbose });
      const mounts = volumes ? { root: volumes.env.KINJECT_ROOT, mounts: volumes.env.KINJECT_MOUNTS } : undefined;
      child = await startNetnsRun({
        tools: netnsTools,
        command,
        args,
        env: merged,
        shimEnv,
        hostLoopback: !!options.hostLoopback,
        volumes: mounts,
        cleanup,
        log,
      });
    } else {
      warnIfUncapturable(command, env.PATH, log);
      child = await startChild(command, args, env);
    }
    guardian.watch(child.pid);
    child.once('exit', () => guardian.watch(undefined));
    stopInterrupts(); // from here on, signals go to the child and kinject waits for it
    const stopForwarding = forwardSignals(child);
    const { end, closed: closedBy } = await waitUnlessClosed(child, closed, log.warn);
    stopForwarding();
    log.event('child-exit', { code: end.code, signal: end.signal ?? undefined });
    return closedBy ? 1 : exitCodeOf(end);
  } catch (err) {
    const reason = setup.signal.reason;
    if (reason instanceof Interrupted) return exitCodeOf({ code: null, signal: reason.signal });
    if (options.output === 'json' && err instanceof KinjectError) {
      log.event('error', { message: err.message, exitCode: err.exitCode });
      return err.exitCode;
    }
    throw err;
  } finally {
    signalGuard.cleaning();
    stopInterrupts();
    await cleanup.unwind(log.warn);
    guardian.release();
    log.event('cleanup-done');
  }
}

function checkFlags(options: RunOptions): void {
  if (options.proxy !== undefined && (options.target || options.namespace || options.context || options.kubeconfig)) {
    throw usageError('--proxy uses a SOCKS5 server instead of a cluster: it cannot be combined with --target, -n, --context or --kubeconfig');
  }
  if ((options.envFile || options.envJson) && !options.target) {
    throw usageError('--env-file and --env-json write the env of --target: add --target WORKLOAD');
  }
  if (options.hostLoopback && options.method !== 'netns') {
    throw usageError("--host-loopback is for --method netns (with inject-tcp the host's loopback is reached as 127.0.0.1)");
  }
  if (options.envSyntax && !options.envFile) {
    throw usageError('--env-syntax is the syntax of --env-file: add --env-file FILE');
  }
}

interface Connected {
  upstream: Upstream;
  /** a cluster session: its id, context and proxy pod */
  proxyPod?: { id: string; namespace: string; podName: string; target?: { display: string } };
  context?: string;
  env?: Env;
  volumes?: SessionVolumes;
  /** a cluster session: resolves when someone else ended it */
  closed?: Promise<string>;
}

async function connectUpstream(
  options: RunOptions,
  volumePlan: VolumePlan,
  cleanup: CleanupStack,
  log: Logger,
  signal: AbortSignal,
  onTunnelState: (state: 'lost' | 'up', reason?: string) => void,
  intercept?: InterceptRequest,
  guard?: (l: Partial<Leftovers>) => void,
): Promise<Connected> {
  if (options.proxy !== undefined) {
    const upstream = await connectSocksUpstream(parseProxyUrl(options.proxy));
    cleanup.add('upstream', () => upstream.close());
    log.debug(`upstream ${upstream.description} (RESOLVE ${upstream.resolveSupported ? 'supported' : 'not supported: names get stand-in addresses'})`);
    return { upstream };
  }
  const timeoutSeconds = seconds(options.timeout, '--timeout');
  const { openClusterSession } = await import('../session/cluster-session.js');
  return openClusterSession({ ...options, timeoutSeconds, onTunnelState, intercept, guard }, cleanup, log, signal, volumePlan);
}

/** The session's record in the local registry (session/registry.ts), for `kinject session list`. */
function registerRunSession(c: Connected, command: string, args: string[], options: RunOptions): RegisteredSession {
  const pod = c.proxyPod;
  return registerSession({
    id: pod?.id ?? newSessionId(),
    kind: options.intercept?.length ? 'intercept' : 'run',
    context: c.context,
    namespaces: pod ? [pod.namespace] : [],
    target: pod?.target?.display,
    proxyPod: pod ? `${pod.namespace}/${pod.podName}` : undefined,
    command: [command, ...args],
    tunnel: 'up',
    details: options.proxy !== undefined ? { upstream: c.upstream.description } : undefined,
  });
}

/**
 * The env the program gets, for the inspection page only (its values are secret there, and it is
 * never written anywhere): the workload's with --target, else what kinject set or changed.
 */
function publishProgramEnv(workloadEnv: Record<string, string> | undefined, c: { proxyPod?: { target?: { display: string } } }, env: NodeJS.ProcessEnv): void {
  if (!inspectListening()) return;
  const target = c.proxyPod?.target?.display;
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(workloadEnv && target ? workloadEnv : env)) {
    if (v !== undefined && (target || process.env[k] !== v)) vars[k] = v;
  }
  const source = target ? `${target} (the workload's env)` : 'what kinject set for the program';
  publishInspect({ type: 'env', time: new Date().toISOString(), source, vars });
}

/** The intercepts' request records (intercept/records.ts) go to the inspection page, with where to replay them. */
async function feedInterceptRecords(cleanup: CleanupStack): Promise<void> {
  const { interceptEvents } = await import('../intercept/records.js');
  const onRecord = (e: InterceptRecordEvent) =>
    publishInspect({ type: 'intercept', time: e.record.time, record: e.record, ...(e.localPort ? { local: { host: '127.0.0.1', port: e.localPort } } : {}) });
  interceptEvents.on('record', onRecord);
  cleanup.add('intercept records feed', () => void interceptEvents.off('record', onRecord));
}

/** Before the child exists, a signal aborts the setup; the caller cleans up and exits 128 + signal. */
function interruptSetupOnSignals(setup: AbortController, log: Logger): () => void {
  return onForwardedSignals((signal) => {
    log.info(`${signal} received: cleaning up`);
    setup.abort(new Interrupted(signal));
  });
}

function warnIfUncapturable(command: string, pathVar: string | undefined, log: Logger): void {
  const path = resolveOnPath(command, pathVar);
  if (path === undefined) return; // startChild reports a missing command
  const warning = bypassWarning(path, classifyBinary(path));
  if (warning) log.warn(warning);
}

function splitList(list: string | undefined): string[] {
  return (list ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

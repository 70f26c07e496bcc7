// `kinject teleport --foreground`: the teleport session itself. Opens a cluster session (proxy pod
// + one mux tunnel, session/cluster-session.ts) in the first namespace, registers it in the local
// registry (kind "teleport"), gives it a block of loopback addresses (addresses.ts), and every
// second lists the namespaces' Services (names.ts), keeps one listener per address and port
// relaying through the tunnel (relay.ts) and its block in the hosts file (hosts-file.ts) in step,
// and with -f keeps the target's env file current (env-watch.ts). On SIGINT/SIGTERM/SIGHUP, or
// when someone closes the session, it removes all of it (hosts block, files, listeners, record,
// proxy pod) and exits.
import { lookup } from 'node:dns/promises';
import { realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KinjectError, usageError } from '../errors.js';
import { CleanupStack } from '../child/cleanup-stack.js';
import { onForwardedSignals, guardCleanupFromSignals } from '../child/signals.js';
import { formatEnvFile } from '../env-file/index.js';
import type { Logger } from '../log.js';
import { listLocalSessions, registerSession, type RegisteredSession } from '../session/registry.js';
import { ensurePrivateDir, runtimeBase } from '../volumes/state.js';
import { errorMessage } from '../util/error-message.js';
import { AddressBook, claimBlock } from './addresses.js';
import { apiFetch, currentEnv, referencedEnv } from './env-watch.js';
import { checkHostsWritable, editHostsFile, hostsBackupPath, hostsFilePath, withBlock, withoutBlocks } from './hosts-file.js';
import { sendHostsBlock, VIA_KEEPER_ENV } from './hosts-keeper.js';
import { kinjectAlive, removeDeadTeleports } from './leftovers.js';
import { kubeconfigFor } from './sudo.js';
import { listNamespace, type Entry } from './names.js';
import { Relays, type Route } from './relay.js';
import { feedInspection } from './inspect-feed.js';

export interface TeleportOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string[] | string;
  target?: string;
  container?: string;
  proxyImage?: string;
  /** --timeout as given; the command passes it checked, as timeoutSeconds */
  timeout: string;
  envFile?: string;
  /** false with --no-hosts */
  hosts: boolean;
  foreground?: boolean;
  clean?: boolean;
  verbose?: boolean;
}

export interface TableRow {
  /** "-" for a Service with no TCP port: nothing listens for it and it has no hosts line */
  address: string;
  ports: number[];
  names: string[];
  /** ports not relayed (UDP, SCTP), as PORT/PROTOCOL */
  notRelayed: string[];
}

const POLL_MS = 1000;
const ENV_POLL_MS = 2000;

export function namespacesOf(options: TeleportOptions): string[] {
  const list = Array.isArray(options.namespace) ? options.namespace : options.namespace ? [options.namespace] : [];
  return [...new Set(list)];
}

export function formatTable(rows: TableRow[]): string {
  if (rows.length === 0) return '(no Services yet: they appear here and in the hosts file as they are created)\n';
  const ports = (r: TableRow) => [...r.ports.map(String), ...r.notRelayed.map((p) => `${p.toLowerCase()}:not-relayed`)].join(',');
  const w = Math.max(7, ...rows.map((r) => r.address.length));
  const pw = Math.max(5, ...rows.map((r) => ports(r).length));
  const head = `${'ADDRESS'.padEnd(w)}  ${'PORTS'.padEnd(pw)}  NAMES\n`;
  return head + rows.map((r) => `${r.address.padEnd(w)}  ${ports(r).padEnd(pw)}  ${r.names.join(' ')}\n`).join('');
}

/** Runs the session until a signal or a close; `ready` gets the table once the names answer. Returns the exit code. */
export async function runTeleport(
  options: TeleportOptions,
  timeoutSeconds: number,
  log: Logger,
  ready: (table: string, id: string, inspect?: string) => void,
): Promise<number> {
  const namespaces = namespacesOf(options);
  if (options.envFile && !options.target) throw usageError('-f/--env-file writes the env of --target: add --target WORKLOAD');
  const kubeconfig = kubeconfigFor(options);
  const hostsFile = options.hosts ? hostsFilePath() : undefined;
  // under sudo a root keeper (hosts-keeper.ts) started this process as the user and writes the block
  const viaKeeper = Boolean(hostsFile && process.env[VIA_KEEPER_ENV] && process.send);
  if (hostsFile && !viaKeeper) checkHostsWritable(hostsFile);

  const { connectKube } = await import('../kube/config.js');
  const first = await connectKube({ kubeconfig, context: options.context, namespace: namespaces[0] });
  if (namespaces.length === 0) namespaces.push(first.namespace);
  for (const ns of namespaces.slice(1)) (await connectKube({ kubeconfig, context: options.context, namespace: ns })).client.close();
  const client = first.client;
  // one line for what cannot work, before anything is created: list permission, a namespace already teleported
  for (const [i, ns] of namespaces.entries()) await listNamespace(client, ns, i === 0);
  checkNotTeleported(first.context, namespaces);
  for (const line of removeDeadTeleports().removed) log.info(line);

  const cleanup = new CleanupStack();
  const stop = new AbortController();
  const signalGuard = guardCleanupFromSignals(log.info);
  const stopSignals = onForwardedSignals((signal) => {
    log.info(`${signal} received: closing the teleport session`);
    stop.abort(signal);
  });
  const keeperGone = () => {
    log.warn('the hosts keeper (the root process under sudo) is gone: closing the teleport session');
    stop.abort('keeper gone');
  };
  if (viaKeeper) process.on('disconnect', keeperGone);
  let record: RegisteredSession | undefined;
  try {
    const claim = claimBlock(join(ensurePrivateDir(runtimeBase()), 'teleport-blocks'), kinjectAlive);
    if (!claim) throw new KinjectError('no free loopback block: 253 teleport sessions run already; close some (`kinject session list`)');
    cleanup.add('address block', claim.release);
    const { block } = claim;
    const { openClusterSession } = await import('../session/cluster-session.js');
    const session = await openClusterSession(
      {
        kubeconfig,
        context: options.context,
        namespace: namespaces[0],
        target: options.target,
        container: options.container,
        proxyImage: options.proxyImage,
        timeoutSeconds,
        onTunnelState: (s, r) => record?.setTunnel(s, r),
      },
      cleanup,
      log,
      stop.signal,
    );
    const id = session.proxyPod.id;
    const base = ensurePrivateDir(runtimeBase());
    const hostsFormatFile = join(base, `teleport-${id}.hosts`);
    const envFile = options.envFile ? join(realpathSync(join(options.envFile, '..')), options.envFile.split('/').pop()!) : undefined;
    const details = {
      block,
      hostsFile: hostsFile ?? null,
      hostsFormatFile,
      envFile: envFile ?? null,
      logFile: process.env.KINJECT_TELEPORT_LOG ?? null,
      table: [] as TableRow[],
      inspect: null as string | null,
    };
    const rec = registerSession({
      id,
      kind: 'teleport',
      context: session.context,
      namespaces,
      target: session.proxyPod.target?.display,
      proxyPod: `${session.proxyPod.namespace}/${session.proxyPod.podName}`,
      tunnel: 'up',
      details,
    });
    record = rec;
    cleanup.add('session record', () => rec.remove());
    // two teleports of one namespace started at the same moment: the one registered first stays
    checkNotTeleported(first.context, namespaces, rec.record);
    cleanup.add('files', () => {
      for (const f of [hostsFormatFile, envFile, details.logFile]) if (f) rmSync(f, { force: true });
    });
    if (hostsFile && !viaKeeper) {
      cleanup.add(`${hostsFile} block`, () => {
        editHostsFile(hostsFile, (t) => withoutBlocks(t, (b) => b === id));
      });
    }
    const page = await feedInspection(id, log, cleanup);
    details.inspect = page?.url ?? null;
    const relays = new Relays(session.upstream, log.warn, () => page?.changed());
    page?.watch(relays, () => details.table);
    cleanup.add('listeners', () => relays.close());
    const book = new AddressBook(block);

    let lastRows = '';
    let failing = false;
    const refresh = async () => {
      let entries: Entry[];
      try {
        entries = (await Promise.all(namespaces.map((ns, i) => listNamespace(client, ns, i === 0)))).flat();
        if (failing) log.info('listing Services works again');
        failing = false;
      } catch (err) {
        if (!failing) log.warn(`cannot list Services (keeping the last list): ${errorMessage(err)}`);
        failing = true;
        return;
      }
      const routes: Route[] = [];
      const rows: TableRow[] = [];
      for (const e of entries) {
        if (e.ports.length === 0) {
          rows.push({ address: '-', ports: [], names: e.names, notRelayed: e.notRelayed });
          continue;
        }
        const address = book.addressFor(e.key);
        for (const p of e.ports) routes.push({ address, ...p });
        rows.push({ address, ports: e.ports.map((p) => p.port), names: e.names, notRelayed: e.notRelayed });
      }
      await relays.sync(routes);
      page?.changed();
      const lines = rows.filter((r) => r.address !== '-').map((r) => `${r.address} ${r.names.join(' ')}`);
      // every time: a write happens only when the block differs, and puts back a block someone else's write lost
      if (viaKeeper) sendHostsBlock(id, lines);
      else if (hostsFile) editHostsFile(hostsFile, (t) => withBlock(t, id, process.pid, lines), hostsBackupPath(hostsFile));
      const rowsText = JSON.stringify(rows);
      if (rowsText === lastRows) return;
      writeFileSync(hostsFormatFile, lines.length ? `${lines.join('\n')}\n` : '', { mode: 0o644 });
      details.table = rows;
      rec.update({ details });
      lastRows = rowsText;
    };
    await refresh();
    if (failing) throw new KinjectError('cannot list Services: see the warning above');
    if (hostsFile) await namesAnswer(details.table, log);

    let envWatch: Promise<void> | undefined;
    if (session.env && session.proxyPod.target) page?.env(session.env, session.proxyPod.target.display);
    if (envFile && session.env && session.proxyPod.target) {
      const container = session.proxyPod.target.container;
      const fetch = apiFetch(client, session.proxyPod.namespace);
      const atStart = await referencedEnv(container, fetch);
      let lastEnv = '';
      const writeEnv = async () => {
        const text = formatEnvFile(currentEnv(session.env!, atStart, await referencedEnv(container, fetch)), 'dotenv').text;
        if (text !== lastEnv) {
          writeFileSync(envFile, text, { mode: 0o600 });
          if (lastEnv) log.info(`${envFile} updated`);
          lastEnv = text;
        }
      };
      await writeEnv();
      envWatch = loop(ENV_POLL_MS, stop.signal, writeEnv, (m) => log.debug(`env: ${m}`));
    }
    ready(formatTable(details.table), id, details.inspect ?? undefined);
    const polling = loop(POLL_MS, stop.signal, refresh, log.warn);
    const closedBy = await Promise.race([
      session.closed.then((by) => by),
      new Promise<undefined>((r) => stop.signal.addEventListener('abort', () => r(undefined))),
    ]);
    if (closedBy) log.warn(`teleport session ${id} was closed by ${closedBy}`);
    stop.abort('closed');
    await Promise.all([polling, envWatch]);
    return closedBy ? 1 : 0;
  } catch (err) {
    if (stop.signal.aborted && !(err instanceof KinjectError)) return 1;
    throw err;
  } finally {
    signalGuard.cleaning();
    stopSignals();
    process.off('disconnect', keeperGone);
    await cleanup.unwind(log.warn);
    first.client.close();
  }
}

/** Throws when a live teleport of this machine (registered before `self`, if given) has one of the namespaces. */
function checkNotTeleported(context: string, namespaces: string[], self?: { id: string; startedAt: string }): void {
  for (const s of listLocalSessions()) {
    const r = s.record;
    if (!s.alive || r.kind !== 'teleport' || r.context !== context || r.id === self?.id) continue;
    if (self && (r.startedAt > self.startedAt || (r.startedAt === self.startedAt && r.id > self.id))) continue;
    const both = r.namespaces.filter((ns) => namespaces.includes(ns));
    if (both.length) {
      throw new KinjectError(`namespace ${both[0]} is already teleported by session ${r.id} (pid ${r.pid}); \`kinject session close ${r.id}\` ends it`);
    }
  }
}

/** Waits (at most 5 s) until the first name resolves to its address through the system's resolver. */
async function namesAnswer(rows: TableRow[], log: Logger): Promise<void> {
  const row = rows.find((r) => r.address !== '-');
  if (!row) return;
  const name = row.names[row.names.length - 1];
  for (let i = 0; i < 50; i++) {
    try {
      if ((await lookup(name, { family: 4 })).address === row.address) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  log.warn(`${name} does not resolve to ${row.address} through the system resolver (is "files" in /etc/nsswitch.conf's hosts line?)`);
}

/** Calls fn every ms until the signal aborts; resolves after the last call. */
async function loop(ms: number, signal: AbortSignal, fn: () => Promise<void>, warn: (msg: string) => void): Promise<void> {
  while (!signal.aborted) {
    await new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          r();
        },
        { once: true },
      );
    });
    if (!signal.aborted) await fn().catch((err) => warn(errorMessage(err)));
  }
}

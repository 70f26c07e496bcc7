// The pod's side of an intercept (docs/inbound.md): started by the runner's INTERCEPT command, it
// runs one router per intercepted port, sends requests that match to the local process over
// pod-opened channels of the runner's current mux session, guards the Service (polls it: a change
// it did not make ends the intercept, reported with the writer from managedFields, and is never
// overwritten), and restores the Service itself: on the runner's INTERCEPT_END, when the runner has
// been gone for the grace period, and before the pod server exits for any reason. The runner counts
// as gone when its session closes, and as away while nothing comes from it for RUNNER_QUIET_MS (a
// laptop asleep or off the network leaves its tunnel open): matching requests go to the workload
// meanwhile, and the grace runs from its last byte. Events (records,
// warnings, service-changed, intercept-ended) go to the runner's EVENTS channels.

import http from 'node:http';
import type { MuxSession } from '../../protocol/mux/index.js';
import { ROUTER_HEALTH_PORT, RUNNER_QUIET_MS, type InterceptConfig, type InterceptEvent } from '../../protocol/intercept/commands.js';
import {
  FIELD_MANAGERS,
  foreignChange,
  isGlobalMember,
  lastForeignWriter,
  leavePatch,
  membersOf,
  type InterceptMember,
} from '../../protocol/intercept/service-patch.js';
import { KubeApiError, inClusterApi, type KubeApi } from './kube-api.js';
import { openLocalChannel } from './local-channel.js';
import { createInboundRouter, type InboundRouter } from './router.js';
import type { Peer } from './context.js';

const POLL_MS = 2000;
/** after the restore: routers keep passing traffic through, closing connections, this long */
export const DRAIN_MS = 8000;
const MAX_EVENTS_KEPT = 500;

export interface InterceptHostOptions {
  log: (line: string) => void;
  /** for tests: the API client (default: in-cluster with the config's token) */
  api?: KubeApi;
  drainMs?: number;
  /** the readiness endpoint's port (default ROUTER_HEALTH_PORT; tests: 0) */
  healthPort?: number;
  /** the runner stayed away for the grace period and the intercept was ended: the pod should exit */
  onEnded?: (why: string) => void;
  /** for tests: nothing from the runner for this long counts as away (default RUNNER_QUIET_MS) */
  runnerQuietMs?: number;
}

export class InterceptHost {
  private config: InterceptConfig | undefined;
  private api: KubeApi | undefined;
  private routers: InboundRouter[] = [];
  private session: MuxSession | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  /** checks that the runner's session still brings bytes (watchRunner) */
  private quietTimer: NodeJS.Timeout | undefined;
  /** the runner is gone or silent: matching requests go to the workload, the grace runs */
  private away = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private ending: Promise<string | undefined> | undefined;
  private readonly listeners = new Set<(e: InterceptEvent) => void>();
  private readonly backlog: InterceptEvent[] = [];
  /** the readiness probe's answer: the kubelet keeps the pod out of the Service's endpoints until the routers listen, and takes it out when they drain */
  private health: http.Server | undefined;
  private ready = false;

  constructor(private readonly o: InterceptHostOptions) {}

  get active(): boolean {
    return this.config !== undefined && this.ending === undefined;
  }

  /** starts the routers (listening once this resolves) and the guard */
  async start(config: InterceptConfig): Promise<void> {
    if (this.config) throw new Error('an intercept is already running in this pod');
    this.api = this.o.api ?? inClusterApi(config.apiToken, config.apiCa);
    const rules = { headers: config.headers, pathPrefix: config.pathPrefix };
    for (const p of config.ports) {
      const router = createInboundRouter({
        rules,
        openLocal: () => openLocalChannel(() => this.session, p.localPort),
        localLabel: `127.0.0.1:${p.localPort} on ${config.user}'s machine`,
        passThrough: { host: config.decoyHost, port: p.decoyPort },
        // a local process "not reachable" while the runner is away is the runner's absence, not the process
        onWarning: (line) => (this.away ? this.o.log(`kinject-proxy: ${line} (the runner is away)`) : this.emit({ type: 'warning', line })),
        onRecord: (r) => this.emit({ type: 'record', ...r }),
        localEnabled: (this.session?.alive ?? false) && !this.away,
      });
      this.routers.push(router);
      await new Promise<void>((resolve, reject) => {
        router.server.once('error', reject);
        router.server.listen({ host: '0.0.0.0', port: p.listen }, () => {
          router.server.off('error', reject);
          resolve();
        });
      }).catch((err: Error) => {
        this.destroyRouters();
        throw new Error(`cannot listen on port ${p.listen} in the pod: ${err.message}`);
      });
    }
    this.config = config;
    this.ready = true;
    this.health = http.createServer((_req, res) => {
      res.writeHead(this.ready ? 200 : 503).end(this.ready ? 'ready\n' : 'draining\n');
    });
    this.health.on('error', (err) => this.o.log(`kinject-proxy: readiness endpoint: ${err.message}`));
    this.health.listen({ host: '0.0.0.0', port: this.o.healthPort ?? ROUTER_HEALTH_PORT });
    this.o.log(`kinject-proxy: intercepting Service ${config.namespace}/${config.service} ports ${config.ports.map((p) => p.servicePort).join(', ')}`);
    this.pollTimer = setInterval(() => void this.poll(), POLL_MS);
  }

  /** the runner's (new) mux session: intercepted requests go through it; its end or its silence starts the grace */
  attach(session: MuxSession): void {
    this.session = session;
    this.runnerBack();
    this.watchRunner(session);
    session.once('close', () => {
      if (this.session !== session) return;
      this.session = undefined;
      clearInterval(this.quietTimer);
      this.runnerAway('the runner is gone', Date.now());
    });
  }

  /** a session that stays open but brings nothing (the runner's machine asleep, its network gone) */
  private watchRunner(session: MuxSession): void {
    clearInterval(this.quietTimer);
    const quietMs = this.o.runnerQuietMs ?? RUNNER_QUIET_MS;
    this.quietTimer = setInterval(
      () => {
        if (this.session !== session) return;
        const quiet = Date.now() - session.lastHeardAt;
        if (quiet > quietMs) this.runnerAway(`nothing from the runner for ${Math.round(quiet / 1000)} s`, session.lastHeardAt);
        else if (this.away) this.runnerBack();
      },
      Math.min(500, quietMs / 4),
    );
    this.quietTimer.unref();
  }

  /** production for everyone meanwhile; after the grace (from `since`) the Service is restored and the pod exits */
  private runnerAway(why: string, since: number): void {
    if (this.away) return;
    this.away = true;
    for (const r of this.routers) r.setLocalEnabled(false);
    if (!this.config || this.ending) return;
    const grace = this.config.graceSeconds;
    const leftMs = Math.max(0, grace * 1000 - (Date.now() - since));
    this.o.log(`kinject-proxy: ${why}; intercepted requests go to the workload; restoring the Service in ${Math.round(leftMs / 1000)} s unless it comes back`);
    clearTimeout(this.graceTimer);
    this.graceTimer = setTimeout(() => {
      const why = `the runner was gone for ${grace} s`;
      void this.end(why).then(
        () => this.o.onEnded?.(why),
        (err: Error) => this.o.log(`kinject-proxy: ${err.message}`),
      );
    }, leftMs);
  }

  private runnerBack(): void {
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    const wasAway = this.away;
    this.away = false;
    if (this.ending) return;
    for (const r of this.routers) r.setLocalEnabled(true);
    if (wasAway && this.config) this.o.log('kinject-proxy: the runner is back; intercepted requests go to it again');
  }

  /** an EVENTS channel: gets the events kept while nobody listened, then every new one */
  subscribe(listener: (e: InterceptEvent) => void): () => void {
    for (const e of this.backlog.splice(0)) listener(e);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: InterceptEvent): void {
    if (e.type !== 'record') this.o.log(`kinject-proxy: ${e.type === 'warning' ? e.line : JSON.stringify(e)}`);
    if (!this.listeners.size) {
      this.backlog.push(e);
      if (this.backlog.length > MAX_EVENTS_KEPT) this.backlog.shift();
      return;
    }
    for (const l of this.listeners) l(e);
  }

  private async poll(): Promise<void> {
    const c = this.config;
    if (!c || !this.api || this.ending) return;
    let svc: any;
    try {
      svc = await this.api.getService(c.namespace, c.service);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) {
        this.emit({ type: 'service-changed', by: 'someone', at: new Date().toISOString(), what: 'the Service was deleted' });
        void this.end('the Service was deleted', true);
      }
      return; // the API server may be down: the data path does not need it
    }
    if (this.ending) return;
    const what = foreignChange(svc, c.session, c.service);
    if (what) {
      const { by, at } = lastForeignWriter(svc.metadata?.managedFields, FIELD_MANAGERS);
      this.emit({ type: 'service-changed', by, at, what });
      void this.end(`Service ${c.service} was changed by ${by} at ${at}: ${what}`, true).catch((err: Error) => this.o.log(`kinject-proxy: ${err.message}`));
      return;
    }
    this.setPeers(membersOf(svc).filter((m) => m.session !== c.session));
  }

  private setPeers(members: (InterceptMember & { podIp?: string })[]): void {
    const c = this.config!;
    const peersFor = (port: number): Peer[] =>
      members
        .filter((m) => m.podIp && !isGlobalMember(m))
        .map((m) => ({ session: m.session, rules: { headers: m.headers, pathPrefix: m.pathPrefix }, host: m.podIp!, port }));
    for (const [i, p] of c.ports.entries()) this.routers[i]?.setPeers(peersFor(p.listen));
  }

  /**
   * Ends the intercept once: leaves the Service (the last member restores it; `foreign`: only what
   * is still ours is removed), drains the routers and closes them. Resolves with the reason, or
   * rejects when the Service could not be restored.
   */
  end(why: string, foreign = false): Promise<string | undefined> {
    if (!this.config) return Promise.resolve(undefined);
    this.ending ??= this.doEnd(why, foreign);
    return this.ending;
  }

  private async doEnd(why: string, foreign: boolean): Promise<string> {
    const c = this.config!;
    clearInterval(this.pollTimer);
    clearInterval(this.quietTimer);
    clearTimeout(this.graceTimer);
    this.o.log(`kinject-proxy: ending the intercept of ${c.service}: ${why}`);
    this.ready = false; // out of the endpoints while still serving what kube-proxy sends meanwhile
    for (const r of this.routers) r.setLocalEnabled(false);
    try {
      await this.leave(foreign);
    } finally {
      for (const r of this.routers) r.drain();
      await new Promise((resolve) => setTimeout(resolve, this.o.drainMs ?? DRAIN_MS));
      // the routers keep passing through until the pod server exits: a kube-proxy that has not
      // dropped this pod yet (a loaded node) still gets answers, never a refused connection
      this.emit({ type: 'intercept-ended', why });
    }
    return why;
  }

  /** the leave patch, re-read and retried while a `test` fails (someone else wrote meanwhile), for up to 60 s */
  private async leave(foreign: boolean): Promise<void> {
    const c = this.config!;
    const until = Date.now() + 60_000;
    for (;;) {
      try {
        const svc = await this.api!.getService(c.namespace, c.service);
        const ops = leavePatch(svc, c.session, c.service, foreign || foreignChange(svc, c.session, c.service) !== undefined);
        if (!ops) return;
        await this.api!.patchService(c.namespace, c.service, ops, 'kinject-restorer');
        this.o.log(`kinject-proxy: Service ${c.service} ${ops.some((o) => o.path === '/spec/selector' && o.op === 'replace') ? 'restored' : 'left'}`);
        return;
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 404) return;
        if (Date.now() > until) throw new Error(`cannot restore Service ${c.service}: ${(err as Error).message}`);
        const conflict = err instanceof KubeApiError && (err.status === 409 || err.status === 422);
        if (!conflict) this.o.log(`kinject-proxy: restoring Service ${c.service} failed (${(err as Error).message}); retrying`);
        await new Promise((resolve) => setTimeout(resolve, conflict ? 100 : 2000));
      }
    }
  }

  /** stops the routers, the guard and the readiness endpoint at once (the pod server exits; tests) */
  close(): void {
    clearInterval(this.pollTimer);
    clearInterval(this.quietTimer);
    clearTimeout(this.graceTimer);
    this.destroyRouters();
  }

  private destroyRouters(): void {
    this.health?.close();
    for (const r of this.routers.splice(0)) r.destroy();
  }
}

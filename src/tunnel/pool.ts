// The cluster Upstream (docs/design.md): a pool of port-forward streams to the proxy pod's SOCKS
// port, each already past the SOCKS greeting and RFC 1929 auth (user "kinject", the session
// token), so open() usually costs nothing. It keeps `size` (default 4) idle streams, refills in
// the background, and replaces streams idle for longer than refreshMs (default 60 s), which
// doubles as a liveness check of the tunnel. Failed opens are retried with backoff (100 ms
// doubling to 5 s) while the pod lives; when a GET shows the pod gone (deleted, exited, failed),
// open() rejects with a KinjectError saying so. Permission errors fail at once. One stream
// carries the heartbeat (heartbeat.ts: a byte every heartbeatMs, default 5 s, echoed by the pod),
// which tells the pod the runner is still there (docs/design.md). Timers are unref'd; close()
// destroys every stream, stops the heartbeat and rejects pending open()s.

import type { Duplex } from 'node:stream';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { KINJECT_USERNAME, clientHandshake } from '../socks5/index.js';
import type { Upstream } from '../front/upstream.js';
import { KinjectError } from '../errors.js';
import { KubeClient } from '../kube/client.js';
import { isStatus } from '../kube/errors.js';
import { PortForwardError, openPortForward } from './portforward.js';
import { DEFAULT_HEARTBEAT_MS, TunnelHeartbeat } from './heartbeat.js';

export interface PodTunnelOptions {
  /** access to the cluster (unused when both connect and podGone are given) */
  kc: KubeConfig;
  namespace: string;
  pod: string;
  /** the pod server's port on the pod's loopback */
  port: number;
  /** RFC 1929 password */
  token: string;
  /** a client for the pod liveness GET (default: a new one from kc) */
  client?: KubeClient;
  /** idle authenticated streams to keep (default 4) */
  size?: number;
  /** replace idle streams older than this (default 60 s) */
  refreshMs?: number;
  /** time limit for one port-forward handshake + SOCKS auth (default 10 s) */
  connectTimeoutMs?: number;
  /** how long open() waits for a stream before giving up (default 30 s) */
  openTimeoutMs?: number;
  /** most port-forwards being opened at the same time (default 16) */
  maxConnecting?: number;
  /** a heartbeat byte to the pod this often (default 5000 ms; 0 = none) */
  heartbeatMs?: number;
  /** diagnostics (e.g. the logger's debug) */
  debug?: (msg: string) => void;
  /** opens one raw stream to the pod server (default: a port-forward; tests pass a TCP connect) */
  connect?: () => Promise<Duplex>;
  /** says whether the pod is gone: a reason, or undefined while it lives (default: GET the pod) */
  podGone?: () => Promise<string | undefined>;
}

interface Idle {
  stream: Duplex;
  since: number;
  onGone: () => void;
}

const ignoreError = () => {};

function detach(e: Idle): Duplex {
  e.stream.off('close', e.onGone);
  e.stream.off('error', ignoreError);
  return e.stream;
}

interface Waiter {
  resolve: (s: Duplex) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;
const POD_CHECK_MIN_INTERVAL_MS = 1000;

export class PodTunnelPool implements Upstream {
  readonly resolveSupported = true;
  readonly description: string;
  private readonly o: Required<Omit<PodTunnelOptions, 'client' | 'debug' | 'connect' | 'podGone'>> & { debug: (m: string) => void };
  private readonly connect: () => Promise<Duplex>;
  private readonly podGone: () => Promise<string | undefined>;
  private client: KubeClient | undefined;
  private ownClient = false;
  private idle: Idle[] = [];
  private waiters: Waiter[] = [];
  private connecting = 0;
  private failures = 0;
  private lastError: Error | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private lastPodCheck = 0;
  private podCheck: Promise<void> | undefined;
  private fatal: KinjectError | undefined;
  private closed = false;
  private heartbeat: TunnelHeartbeat | undefined;

  constructor(options: PodTunnelOptions) {
    this.o = {
      kc: options.kc,
      namespace: options.namespace,
      pod: options.pod,
      port: options.port,
      token: options.token,
      size: options.size ?? 4,
      refreshMs: options.refreshMs ?? 60_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      openTimeoutMs: options.openTimeoutMs ?? 30_000,
      maxConnecting: options.maxConnecting ?? 16,
      heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
      debug: options.debug ?? (() => {}),
    };
    this.client = options.client;
    this.connect = options.connect ?? (() => openPortForward(
      { kc: this.o.kc, namespace: this.o.namespace, pod: this.o.pod, port: this.o.port },
      { timeoutMs: this.o.connectTimeoutMs },
    ));
    this.podGone = options.podGone ?? (() => this.getPodGone());
    this.description = `pod ${options.namespace}/${options.pod}`;
    this.refreshTimer = setInterval(() => this.refresh(), Math.max(1000, Math.floor(this.o.refreshMs / 2)));
    this.refreshTimer.unref();
    this.fill();
    if (this.o.heartbeatMs > 0) {
      this.heartbeat = new TunnelHeartbeat({
        open: () => this.acquire(this.o.openTimeoutMs, false),
        intervalMs: this.o.heartbeatMs,
        ended: () => this.closed || this.fatal !== undefined,
        debug: this.o.debug,
      });
    }
  }

  /** Heartbeat bytes the pod has answered so far (tests and diagnostics). */
  get heartbeatsAnswered(): number {
    return this.heartbeat?.answered ?? 0;
  }

  /** An authenticated stream, ready for one SOCKS request. */
  open(): Promise<Duplex> {
    return this.acquire(this.o.openTimeoutMs);
  }

  /** Resolves once the tunnel works (one stream authenticated), e.g. right after the pod started. */
  async ready(timeoutMs = this.o.openTimeoutMs): Promise<void> {
    const s = await this.acquire(timeoutMs);
    if (this.idle.length < this.o.size) this.addIdle(s);
    else s.destroy();
  }

  /** Idle streams right now (for tests and diagnostics). */
  get idleCount(): number {
    return this.idle.length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.heartbeat?.stop();
    clearInterval(this.refreshTimer);
    clearTimeout(this.retryTimer);
    for (const e of this.idle.splice(0)) {
      detach(e).destroy();
    }
    const err = new KinjectError('the tunnel to the proxy pod is closed');
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    if (this.ownClient) this.client?.close();
  }

  /** hold: a pending wait keeps the process alive (not for the heartbeat's) */
  private acquire(timeoutMs: number, hold = true): Promise<Duplex> {
    if (this.closed) return Promise.reject(new KinjectError('the tunnel to the proxy pod is closed'));
    if (this.fatal) return Promise.reject(this.fatal);
    const e = this.idle.shift();
    if (e) {
      const stream = detach(e);
      this.fill();
      return Promise.resolve(stream);
    }
    return new Promise<Duplex>((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          const why = this.lastError ? `: ${this.lastError.message}` : '';
          reject(new KinjectError(`no connection to the proxy pod ${this.o.namespace}/${this.o.pod} within ${Math.round(timeoutMs / 1000)} s${why}`));
        }, timeoutMs),
      };
      // not unref'd: a pending open() keeps the process alive, for at most timeoutMs
      if (!hold) w.timer.unref();
      this.waiters.push(w);
      this.fill();
    });
  }

  private fill(): void {
    if (this.closed || this.fatal || this.retryTimer) return;
    const want = this.o.size + this.waiters.length;
    while (this.idle.length + this.connecting < want && this.connecting < this.o.maxConnecting) {
      this.connecting++;
      void this.connectOne();
    }
  }

  private async connectOne(): Promise<void> {
    let stream: Duplex | undefined;
    try {
      stream = await this.connect();
      const s = stream;
      // an error event during the handshake must not go unhandled
      const swallow = () => {};
      s.on('error', swallow);
      try {
        await clientHandshake(s, { username: KINJECT_USERNAME, password: this.o.token }, { timeoutMs: this.o.connectTimeoutMs, pipeline: true });
      } finally {
        s.off('error', swallow);
      }
    } catch (err) {
      stream?.destroy();
      this.connecting--;
      this.onFailure(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.connecting--;
    this.failures = 0;
    this.lastError = undefined;
    if (this.closed || this.fatal) {
      stream.destroy();
      return;
    }
    const w = this.waiters.shift();
    if (w) {
      clearTimeout(w.timer);
      w.resolve(stream);
    } else if (this.idle.length < this.o.size) {
      this.addIdle(stream);
    } else {
      stream.destroy();
    }
    this.fill();
  }

  private addIdle(stream: Duplex): void {
    if (this.closed || stream.destroyed) {
      stream.destroy();
      return;
    }
    const entry: Idle = {
      stream,
      since: Date.now(),
      onGone: () => {
        // an idle stream died (pod gone, API server restart): drop it and refill
        this.idle = this.idle.filter((x) => x !== entry);
        this.o.debug(`tunnel: an idle stream to ${this.description} closed`);
        this.fill();
      },
    };
    stream.on('close', entry.onGone);
    stream.on('error', ignoreError);
    this.idle.push(entry);
  }

  private onFailure(err: Error): void {
    this.lastError = err;
    this.failures++;
    this.o.debug(`tunnel: opening a stream to ${this.description} failed (${this.failures}): ${err.message}`);
    if (this.closed) return;
    if (err instanceof PortForwardError && (err.status === 403 || err.status === 401)) {
      this.setFatal(new KinjectError(err.message, { cause: err }));
      return;
    }
    if (err instanceof PortForwardError && err.status === 404) {
      this.setFatal(new KinjectError(`the proxy pod ${this.o.namespace}/${this.o.pod} is gone (not found); restart kinject`, { cause: err }));
      return;
    }
    if (err.name === 'Socks5Error' && (err as { code?: string }).code === 'ESOCKS5_AUTH') {
      this.setFatal(new KinjectError(`the proxy pod ${this.o.namespace}/${this.o.pod} rejected the session token`, { cause: err }));
      return;
    }
    this.checkPod();
    if (!this.retryTimer) {
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(10, this.failures - 1));
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.fill();
      }, delay);
      this.retryTimer.unref();
    }
  }

  private checkPod(): void {
    if (this.podCheck || this.closed || Date.now() - this.lastPodCheck < POD_CHECK_MIN_INTERVAL_MS) return;
    this.lastPodCheck = Date.now();
    this.podCheck = this.podGone().then(
      (why) => {
        if (why) this.setFatal(this.gone(why));
      },
      () => {
        // could not tell (API server hiccup, no permission): keep retrying the tunnel
      },
    ).finally(() => {
      this.podCheck = undefined;
    });
  }

  private async getPodGone(): Promise<string | undefined> {
    const path = `/api/v1/namespaces/${encodeURIComponent(this.o.namespace)}/pods/${encodeURIComponent(this.o.pod)}`;
    if (!this.client) {
      this.client = new KubeClient(this.o.kc);
      this.ownClient = true;
    }
    let pod: V1Pod;
    try {
      pod = await this.client.get<V1Pod>(path, { timeoutMs: 5000 });
    } catch (err) {
      if (isStatus(err, 404)) return 'deleted';
      throw err;
    }
    const phase = pod?.status?.phase;
    if (pod?.metadata?.deletionTimestamp) return 'being deleted';
    if (phase === 'Succeeded') return 'exited';
    if (phase === 'Failed') return `failed${pod.status?.reason ? `: ${pod.status.reason}` : ''}`;
    return undefined;
  }

  private gone(why: string): KinjectError {
    return new KinjectError(`the proxy pod ${this.o.namespace}/${this.o.pod} is gone (${why}); restart kinject`);
  }

  private setFatal(err: KinjectError): void {
    if (this.fatal || this.closed) return;
    this.fatal = err;
    this.heartbeat?.stop();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const e of this.idle.splice(0)) {
      detach(e).destroy();
    }
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  private refresh(): void {
    if (this.closed || this.fatal) return;
    const now = Date.now();
    const old = this.idle.filter((e) => now - e.since >= this.o.refreshMs);
    if (!old.length) return;
    this.idle = this.idle.filter((e) => now - e.since < this.o.refreshMs);
    for (const e of old) {
      detach(e).destroy();
    }
    this.fill();
  }

  /** The error that ended the pool (pod gone, forbidden), if any. */
  get error(): KinjectError | undefined {
    return this.fatal;
  }
}

export function createPodUpstream(options: PodTunnelOptions): PodTunnelPool {
  return new PodTunnelPool(options);
}

// The cluster Upstream (docs/design.md): one port-forward stream to the proxy pod's SOCKS port,
// authenticated once (user "kinject", the session token) and turned into a mux session
// (protocol/mux/) by kinject's MUX request. open() is a new channel in it: no websocket, TLS or
// kubelet set-up per connection or name lookup, one round trip for the request inside.
// The session is opened at once and reopened in the background whenever it ends (pod restart
// of the port-forward, API server restart, no ping answer for deadMs, 3 × heartbeatMs by default); channels open at
// that moment are reset, like TCP connections through a router that rebooted. Failed opens are
// retried with backoff (100 ms doubling to 5 s) while the pod lives; the pod is checked (a GET) at
// each failure and, while a lost session is not back, every second besides (a pod whose server
// died is Failed only once the kubelet says so: the session's "gone" line must not wait for the
// next backoff); when the GET shows the pod gone (deleted, exited, failed, OOM-killed:
// kube/pod-gone.ts), open() rejects with a KinjectError saying so. Permission and
// token errors fail at once. The session's pings (every heartbeatMs, default 5 s) are the pod's
// heartbeat (proxy-pod/idle.ts). Timers are unref'd; close() tells the pod server to exit
// (SHUTDOWN), ends it all and rejects waiters.

import type { Duplex } from 'node:stream';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { KINJECT_USERNAME, REPLY, clientHandshake, clientRequest, replyMessage } from '../../protocol/socks5/index.js';
import { DEFAULT_PING_MS, MuxSession, type MuxChannel } from '../../protocol/mux/index.js';
import { CMD_MUX, MUX_HOST } from '../../protocol/commands.js';
import type { Upstream } from '../front/upstream.js';
import { KinjectError } from '../errors.js';
import type { Logger } from '../log.js';
import { KubeClient } from '../kube/client.js';
import { isStatus } from '../kube/errors.js';
import { podGoneReason } from '../kube/pod-gone.js';
import { PortForwardError, openPortForward } from './portforward.js';

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
  /** time limit for one port-forward handshake + SOCKS auth + MUX request (default 10 s) */
  connectTimeoutMs?: number;
  /** how long open() waits for a working session before giving up (default 30 s) */
  openTimeoutMs?: number;
  /** a ping through the session this often (default DEFAULT_PING_MS, 5 s; 0 = none) */
  heartbeatMs?: number;
  /** no frame from the pod for this long ends the session and opens a new one (default 3 × heartbeatMs) */
  deadMs?: number;
  /** debug: diagnostics; warn: one line when the tunnel is lost and when it is back */
  log?: Partial<Logger>;
  /** opens one raw stream to the pod server (default: a port-forward; tests pass a TCP connect) */
  connect?: () => Promise<Duplex>;
  /** says whether the pod is gone: a reason, or undefined while it lives (default: GET the pod) */
  podGone?: () => Promise<string | undefined>;
  /** called when the tunnel is lost (with why) and whenever a session is up (the session's record, session/registry.ts) */
  onState?: (state: 'lost' | 'up', reason?: string) => void;
  /**
   * Called once, before open() callers are told, when the pod is found gone (deleted, exited,
   * failed): the session (session/self-healing.ts) makes a new pod instead of failing.
   */
  onGone?: (err: KinjectError) => void;
  /** channels the pod opens (an intercept's requests for the local process); without it they are refused */
  onChannel?: (channel: MuxChannel) => void;
  /**
   * The transport in use (src/tunnel/transport.ts). A session lost over 'direct' holds its lost
   * line until the reconnect: one that switched to port-forward has said so in its own line (the
   * only line then); one that failed prints the lost line, one that came back over direct both.
   */
  transportKind?: () => string;
}

interface Waiter {
  resolve: (s: MuxSession) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;
const POD_CHECK_MIN_INTERVAL_MS = 1000;
const SHORT_SESSION_MS = 1000;
const SHUTDOWN_WAIT_MS = 1500;
const DIRECT = 'direct';

export class PodTunnel implements Upstream {
  readonly resolveSupported = true;
  readonly description: string;
  private readonly o: Required<Omit<PodTunnelOptions, 'client' | 'log' | 'connect' | 'podGone' | 'onState' | 'onGone' | 'onChannel' | 'transportKind'>> & {
    onChannel?: (channel: MuxChannel) => void;
    debug: (m: string) => void;
    warn: (m: string) => void;
  };
  private readonly connect: () => Promise<Duplex>;
  private readonly podGone: () => Promise<string | undefined>;
  private readonly onState: (state: 'lost' | 'up', reason?: string) => void;
  private readonly onGone: ((err: KinjectError) => void) | undefined;
  private readonly transportKind: (() => string) | undefined;
  /** the lost line of a session lost over direct, held until the reconnect's outcome is known */
  private heldLostLine: string | undefined;
  private client: KubeClient | undefined;
  private ownClient = false;
  private session: MuxSession | undefined;
  private connecting = false;
  private waiters: Waiter[] = [];
  private failures = 0;
  private lastError: Error | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastPodCheck = 0;
  private podCheck: Promise<void> | undefined;
  /** the next pod check while a lost session is not back */
  private podCheckTimer: NodeJS.Timeout | undefined;
  private fatal: KinjectError | undefined;
  private closed = false;
  private pongsBefore = 0;
  /** a session was lost and no new one is up yet (the warning is shown once per loss) */
  private lost = false;
  /** mux sessions opened so far (tests, diagnostics) */
  sessionsOpened = 0;
  /** after close(): the pod server acknowledged SHUTDOWN by exiting */
  podExited = false;

  constructor(options: PodTunnelOptions) {
    this.o = {
      kc: options.kc,
      namespace: options.namespace,
      pod: options.pod,
      port: options.port,
      token: options.token,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      openTimeoutMs: options.openTimeoutMs ?? 30_000,
      heartbeatMs: options.heartbeatMs ?? DEFAULT_PING_MS,
      deadMs: options.deadMs ?? 3 * (options.heartbeatMs ?? DEFAULT_PING_MS),
      onChannel: options.onChannel,
      debug: options.log?.debug ?? (() => {}),
      warn: options.log?.warn ?? (() => {}),
    };
    this.client = options.client;
    this.connect =
      options.connect ??
      (() => openPortForward({ kc: this.o.kc, namespace: this.o.namespace, pod: this.o.pod, port: this.o.port }, { timeoutMs: this.o.connectTimeoutMs }));
    this.podGone = options.podGone ?? (() => this.getPodGone());
    this.onState = options.onState ?? (() => {});
    this.onGone = options.onGone;
    this.transportKind = options.transportKind;
    this.description = `pod ${options.namespace}/${options.pod}`;
    this.start();
  }

  /** Pings the pod has answered so far, over every session (tests and diagnostics). */
  get heartbeatsAnswered(): number {
    return this.pongsBefore + (this.session?.pongs ?? 0);
  }

  /** Channels open right now (tests and diagnostics). */
  get openChannels(): number {
    return this.session?.channelCount ?? 0;
  }

  /** A new channel, ready for one SOCKS request. */
  async open(): Promise<Duplex> {
    const session = await this.acquire(this.o.openTimeoutMs);
    return session.open();
  }

  /** Resolves once the tunnel works (a mux session is up), e.g. right after the pod started. */
  async ready(timeoutMs = this.o.openTimeoutMs): Promise<void> {
    await this.acquire(timeoutMs);
  }

  /**
   * Ends the tunnel. With a live session, tells the pod server first that the runner is done
   * (SHUTDOWN: it exits at once) and waits for it, at most 1.5 s; podExited says whether it did.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.podCheckTimer);
    const session = this.session;
    this.session = undefined;
    if (session?.alive) this.podExited = await session.shutdown(SHUTDOWN_WAIT_MS);
    session?.destroy(new Error('the tunnel was closed'));
    const err = new KinjectError('the tunnel to the proxy pod is closed');
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    if (this.ownClient) this.client?.close();
  }

  /** The error that ended the tunnel (pod gone, forbidden), if any. */
  get error(): KinjectError | undefined {
    return this.fatal;
  }

  private acquire(timeoutMs: number): Promise<MuxSession> {
    if (this.closed) return Promise.reject(new KinjectError('the tunnel to the proxy pod is closed'));
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.session?.alive) return Promise.resolve(this.session);
    return new Promise<MuxSession>((resolve, reject) => {
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
      this.waiters.push(w);
      this.start();
    });
  }

  private start(): void {
    if (this.closed || this.fatal || this.retryTimer || this.connecting || this.session?.alive) return;
    this.connecting = true;
    void this.connectOne();
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
        const timeout = { timeoutMs: this.o.connectTimeoutMs };
        await clientHandshake(s, { username: KINJECT_USERNAME, password: this.o.token }, { ...timeout, pipeline: true });
        const reply = await clientRequest(s, CMD_MUX, { type: 'domain', host: MUX_HOST, port: 0 }, timeout);
        if (reply.reply !== REPLY.SUCCEEDED) {
          throw new KinjectError(`the proxy pod's server refused the MUX request (${replyMessage(reply.reply)}): it is not this kinject's pod server`);
        }
      } finally {
        s.off('error', swallow);
      }
    } catch (err) {
      stream?.destroy();
      this.connecting = false;
      this.onFailure(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.connecting = false;
    this.failures = 0;
    this.lastError = undefined;
    if (this.closed || this.fatal) {
      stream.destroy();
      return;
    }
    this.attach(stream);
  }

  private attach(stream: Duplex): void {
    const session = new MuxSession(stream, { role: 'client', pingMs: this.o.heartbeatMs, deadMs: this.o.deadMs, onChannel: this.o.onChannel });
    const startedAt = Date.now();
    this.session = session;
    this.sessionsOpened++;
    if (this.lost) {
      this.lost = false;
      const held = this.heldLostLine;
      this.heldLostLine = undefined;
      // held and now over another transport: the switch's line told the whole story
      if (held === undefined || this.transportKind?.() === DIRECT) {
        if (held !== undefined) this.o.warn(held);
        this.o.warn(`the tunnel to the proxy pod ${this.o.namespace}/${this.o.pod} is back`);
      }
    }
    this.onState('up'); // every session up (a replacement pod's tunnel starts "not lost")
    session.once('close', (why: Error) => {
      this.pongsBefore += session.pongs;
      if (this.session === session) this.session = undefined;
      if (this.closed || this.fatal) return;
      this.o.debug(`tunnel: the session to ${this.description} ended (${why.message}); reconnecting`);
      if (!this.lost) {
        this.lost = true;
        const line = `the tunnel to the proxy pod ${this.o.namespace}/${this.o.pod} was lost (${why.message}); open connections were reset, reconnecting`;
        if (this.transportKind?.() === DIRECT) this.heldLostLine = line;
        else this.o.warn(line);
        this.onState('lost', why.message);
      }
      // one that ended at once counts as a failed open (backoff), so a broken pod is not hammered
      if (Date.now() - startedAt < SHORT_SESSION_MS) return this.onFailure(why);
      this.lastError = why;
      this.checkPod();
      this.start();
    });
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.resolve(session);
    }
  }

  private onFailure(err: Error): void {
    this.flushLostLine();
    this.lastError = err;
    this.failures++;
    this.o.debug(`tunnel: opening a session to ${this.description} failed (${this.failures}): ${err.message}`);
    if (this.closed) return;
    if (err instanceof PortForwardError && (err.status === 403 || err.status === 401)) {
      this.setFatal(new KinjectError(err.message, { cause: err }));
      return;
    }
    if (err instanceof PortForwardError && err.status === 404) {
      this.setFatal(new KinjectError(`the proxy pod ${this.o.namespace}/${this.o.pod} is gone (not found); restart kinject`, { cause: err }), true);
      return;
    }
    if (err.name === 'Socks5Error' && (err as { code?: string }).code === 'ESOCKS5_AUTH') {
      this.setFatal(new KinjectError(`the proxy pod ${this.o.namespace}/${this.o.pod} rejected the session token`, { cause: err }));
      return;
    }
    if (err instanceof KinjectError) {
      this.setFatal(err);
      return;
    }
    this.checkPod();
    if (!this.retryTimer) {
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(10, this.failures - 1));
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.start();
      }, delay);
      this.retryTimer.unref();
    }
  }

  /** A held lost line is printed once a reconnect failed (the tunnel is really down for now). */
  private flushLostLine(): void {
    const held = this.heldLostLine;
    this.heldLostLine = undefined;
    if (held !== undefined && !this.closed) this.o.warn(held);
  }

  private checkPod(): void {
    if (this.podCheck || this.closed || Date.now() - this.lastPodCheck < POD_CHECK_MIN_INTERVAL_MS) return;
    this.lastPodCheck = Date.now();
    this.podCheck = this.podGone()
      .then(
        (why) => {
          if (why) this.setFatal(this.gone(why), true);
        },
        () => {
          // could not tell (API server hiccup, no permission): keep retrying the tunnel
        },
      )
      .finally(() => {
        this.podCheck = undefined;
        this.checkPodAgainWhileLost();
      });
  }

  /** While a lost session is not back, the pod is checked every POD_CHECK_MIN_INTERVAL_MS. */
  private checkPodAgainWhileLost(): void {
    if (this.podCheckTimer || !this.lost || this.closed || this.fatal) return;
    this.podCheckTimer = setTimeout(() => {
      this.podCheckTimer = undefined;
      if (this.lost && !this.session?.alive) this.checkPod();
    }, POD_CHECK_MIN_INTERVAL_MS);
    this.podCheckTimer.unref();
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
    return podGoneReason(pod);
  }

  private gone(why: string): KinjectError {
    return new KinjectError(`the proxy pod ${this.o.namespace}/${this.o.pod} is gone (${why}); restart kinject`);
  }

  private setFatal(err: KinjectError, gone = false): void {
    if (this.fatal || this.closed) return;
    this.flushLostLine();
    this.fatal = err;
    if (gone) this.onGone?.(err);
    clearTimeout(this.retryTimer);
    clearTimeout(this.podCheckTimer);
    this.retryTimer = undefined;
    this.session?.destroy(err);
    this.session = undefined;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }
}

export function createPodUpstream(options: PodTunnelOptions): PodTunnel {
  return new PodTunnel(options);
}

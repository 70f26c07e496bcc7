// The session's upstream that survives the loss of its proxy pod (issue 17). It holds the current
// proxy pod and its tunnel (tunnel/pod-tunnel.ts) and hands out their streams. When the pod is
// found gone (deleted, --force'd, evicted, its node gone, OOM-killed: the tunnel's onGone, or its
// Lease deleted without a closed-by mark, i.e. its Job went after the pod), it makes a new pod
// with the same options (the same resolved --target, so again a copy of the workload, and the same
// SFTP keys, so sshfs' `reconnect` gets in again), points the tunnel at it and goes on:
//  - one stderr line when the pod is lost and one when the new one is up (the tunnel's own
//    "lost" line is held back for LOST_LINE_HOLD_MS and dropped when the pod turns out gone);
//  - open() calls made meanwhile wait for the new pod (bounded by the start timeout) instead of
//    each failing with "the pod is gone": connections open at the loss are reset, as with a lost
//    tunnel; the child's env (from the first pod) is not touched;
//  - onLost/onReplaced listeners hear of the loss and of the new pod once its tunnel is up, after
//    the "back" line (an intercept moves with them; the volume mount's sshfs logs in again);
//  - a start that fails (API server away, quota) is retried with backoff for HEAL_GIVE_UP_MS;
//    then one line says it gave up and open() fails with that one error.
//  - when the loss is found right after this process was away longer than the session's grace
//    (the laptop asleep, the process stopped: away-clock.ts), the lost line says so: the cluster
//    ended the session meanwhile (an intercept's pod restored the Service and exited).
// A Lease with a closed-by mark (`kinject session close`, `cleanup --include-live`) is an end on
// purpose: `closed` resolves and nothing is remade. close()/closePod() end whatever is current
// (and a pod being made: its start is aborted and deletes what it created).

import type { Duplex } from 'node:stream';
import type { Upstream } from '../front/upstream.js';
import { KinjectError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ProxyPod } from '../kube/proxy-pod.js';
import type { PodTunnel } from '../tunnel/pod-tunnel.js';
import { errorMessage } from '../util/error-message.js';
import { sleep } from '../util/sleep.js';
import { AwayClock } from './away-clock.js';

/**
 * How long a line about the pod's connection waits for the pod check: a server that died (OOM
 * kill) leaves a pod that looks alive until the kubelet reports it, 1-2 s later, more than 2 s
 * under load (seen in 1 of 5 tries at load average 6).
 */
export const LOST_LINE_HOLD_MS = 5000;
export const HEAL_GIVE_UP_MS = 10 * 60_000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;
/** a loss found this soon after being away is put down to the absence */
const AWAY_RECENT_MS = 30_000;

export interface SelfHealingOptions {
  /** the first pod, already running */
  pod: ProxyPod;
  /** makes a replacement pod (startProxyPod with the session's options and keys) */
  startPod: (signal: AbortSignal) => Promise<ProxyPod>;
  /** a tunnel to a pod; warn lines go to `warn`, a gone pod to `onGone` */
  tunnelTo: (pod: ProxyPod, hooks: { warn: (m: string) => void; onGone: (err: KinjectError) => void }) => PodTunnel;
  log: Logger;
  /** how long open() waits while a new pod is being made (default: HEAL_GIVE_UP_MS) */
  healWaitMs?: number;
  giveUpMs?: number;
  /** the session's grace (its Lease): away longer than this, the cluster ends the session */
  graceSeconds?: number;
  /** tells how long this process was away (default: a new AwayClock; tests pass a fake) */
  awayClock?: Pick<AwayClock, 'recentAwayMs' | 'stop'>;
}

export class SelfHealingUpstream implements Upstream {
  readonly resolveSupported = true;
  /** resolves with a one-line reason when the session was ended on purpose from elsewhere */
  readonly closed: Promise<string>;
  /** pods made to replace lost ones (tests, chaos suite) */
  replacements = 0;
  private pod: ProxyPod;
  private tunnel: PodTunnel;
  private healing: Promise<void> | undefined;
  private failed: KinjectError | undefined;
  private ended = false;
  private readonly abort = new AbortController();
  private readonly retiring = new Set<Promise<void>>();
  private resolveClosed!: (why: string) => void;
  private readonly lostListeners: ((pod: ProxyPod) => void)[] = [];
  private readonly replacedListeners: ((pod: ProxyPod) => void)[] = [];
  private heldLost: { lines: string[]; timer: NodeJS.Timeout } | undefined;
  private readonly away: Pick<AwayClock, 'recentAwayMs' | 'stop'>;

  constructor(private readonly o: SelfHealingOptions) {
    this.closed = new Promise((r) => (this.resolveClosed = r));
    this.pod = o.pod;
    this.away = o.awayClock ?? new AwayClock();
    this.tunnel = this.connect(o.pod);
  }

  get description(): string {
    return `pod ${this.pod.namespace}/${this.pod.podName}`;
  }

  /** called with the lost pod as soon as it is found gone (an intercept hands the Service back) */
  onLost(fn: (pod: ProxyPod) => void): void {
    this.lostListeners.push(fn);
  }

  /** called with each replacement once its tunnel works (an intercept moves to it) */
  onReplaced(fn: (pod: ProxyPod) => void): void {
    this.replacedListeners.push(fn);
  }

  /** the pod in use now */
  get currentPod(): ProxyPod {
    return this.pod;
  }

  get currentTunnel(): PodTunnel {
    return this.tunnel;
  }

  async open(): Promise<Duplex> {
    for (let round = 0; ; round++) {
      if (this.healing) await this.waitHealing();
      if (this.failed) throw this.failed;
      const tunnel = this.tunnel;
      try {
        return await tunnel.open();
      } catch (err) {
        // the pod was found gone during this open(): wait for its replacement (once more at most)
        if (round < 2 && !this.ended && (this.healing || tunnel !== this.tunnel)) continue;
        throw err;
      }
    }
  }

  async ready(): Promise<void> {
    for (let round = 0; ; round++) {
      if (this.healing) await this.waitHealing();
      if (this.failed) throw this.failed;
      const tunnel = this.tunnel;
      try {
        return await tunnel.ready();
      } catch (err) {
        if (round < 2 && !this.ended && (this.healing || tunnel !== this.tunnel)) continue;
        throw err;
      }
    }
  }

  /** Ends the tunnel (the pod server is told to exit) and any pod being made. */
  async close(): Promise<void> {
    this.ended = true;
    this.away.stop();
    this.abort.abort();
    // a held line (the tunnel lost, the direct path switched) is news: the pod was not found gone
    this.flushLost(true);
    await this.healing;
    await this.tunnel.close();
  }

  /** Deletes the current pod and waits for replaced ones still being deleted. */
  async closePod(): Promise<void> {
    this.ended = true;
    this.away.stop();
    this.abort.abort();
    await this.healing;
    await Promise.all([this.pod.close({ podExited: this.tunnel.podExited }), ...this.retiring]);
  }

  private connect(pod: ProxyPod): PodTunnel {
    const tunnel = this.o.tunnelTo(pod, {
      warn: (line) => this.tunnelWarn(line),
      onGone: (err) => this.lost(pod, err.message.replace(/; restart kinject$/, '')),
    });
    void pod.lease.closed.then((why) => {
      if (pod !== this.pod || this.ended) return;
      if (pod.lease.closedByMark) {
        this.resolveClosed(why);
        return;
      }
      this.lost(pod, `the proxy pod ${pod.namespace}/${pod.podName} is gone (its Job and Lease were deleted)`);
    });
    return tunnel;
  }

  /** The tunnel's "lost" line waits a little: if the pod turns out gone, the pod's line says it all. */
  private tunnelWarn(line: string): void {
    if (/ was lost /.test(line)) {
      this.warnUnlessGone(line);
      return;
    }
    this.flushLost(true);
    this.o.log.warn(line);
  }

  /**
   * A line about the current pod's connection (the tunnel lost, the direct transport switching to
   * port-forward) is held LOST_LINE_HOLD_MS and dropped if the pod turns out gone meanwhile: a pod
   * being deleted refuses connections first, and its "gone" line says it all.
   */
  warnUnlessGone(line: string): void {
    if (this.healing) {
      // the old pod is being replaced: the lost and back lines say it all
      this.o.log.debug(line);
      return;
    }
    if (this.heldLost) {
      this.heldLost.lines.push(line); // shown or dropped with the first one
      return;
    }
    const timer = setTimeout(() => this.flushLost(true), LOST_LINE_HOLD_MS);
    timer.unref();
    this.heldLost = { lines: [line], timer };
  }

  private flushLost(show: boolean): void {
    const held = this.heldLost;
    if (!held) return;
    this.heldLost = undefined;
    clearTimeout(held.timer);
    if (show) for (const line of held.lines) this.o.log.warn(line);
  }

  private lost(pod: ProxyPod, why: string): void {
    if (pod !== this.pod || this.healing || this.ended || this.failed) return;
    this.flushLost(false);
    const lostAt = Date.now();
    this.o.log.warn(this.lostLine(why));
    for (const fn of this.lostListeners) fn(pod);
    const oldTunnel = this.tunnel;
    const retire = Promise.all([oldTunnel.close(), pod.close()]).then(() => {});
    this.retiring.add(retire);
    void retire.finally(() => this.retiring.delete(retire));
    this.healing = this.replace(lostAt).finally(() => {
      this.healing = undefined;
    });
  }

  private lostLine(why: string): string {
    const grace = this.o.graceSeconds;
    const awayMs = grace === undefined ? undefined : this.away.recentAwayMs(AWAY_RECENT_MS);
    if (grace === undefined || awayMs === undefined || awayMs <= grace * 1000) return `${why}; making a new one (open connections were reset)`;
    return `kinject was stopped or asleep for ${Math.round(awayMs / 1000)} s, longer than the session's grace (${grace} s), and the cluster ended the session meanwhile (${why}); making a new proxy pod (open connections were reset)`;
  }

  private async replace(lostAt: number): Promise<void> {
    const giveUpAt = lostAt + (this.o.giveUpMs ?? HEAL_GIVE_UP_MS);
    let lastError = '';
    for (let attempt = 0; !this.ended; attempt++) {
      let pod: ProxyPod | undefined;
      try {
        pod = await this.o.startPod(this.abort.signal);
        if (this.ended) {
          await pod.close();
          return;
        }
        const tunnel = this.connect(pod);
        this.pod = pod;
        this.tunnel = tunnel;
        await tunnel.ready();
        this.replacements++;
        this.o.log.warn(`the session is back: new proxy pod ${pod.namespace}/${pod.podName} (${((Date.now() - lostAt) / 1000).toFixed(1)} s after the loss)`);
        for (const fn of this.replacedListeners) fn(pod);
        return;
      } catch (err) {
        if (this.ended) return;
        lastError = errorMessage(err);
        this.o.log.debug(`self-healing: making a new proxy pod failed (attempt ${attempt + 1}): ${lastError}`);
        const made = pod;
        if (made) {
          const retire = this.tunnel.close().then(() => made.close());
          this.retiring.add(retire);
          void retire.finally(() => this.retiring.delete(retire));
        }
      }
      const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(attempt, 8));
      if (Date.now() + delay > giveUpAt) break;
      await sleep(delay, this.abort.signal);
    }
    if (this.ended) return;
    this.failed = new KinjectError(`the proxy pod was lost and a new one could not be made: ${lastError}; restart kinject`);
    this.o.log.warn(this.failed.message);
  }

  private async waitHealing(): Promise<void> {
    const healing = this.healing;
    if (!healing) return;
    let timer: NodeJS.Timeout | undefined;
    const waitMs = this.o.healWaitMs ?? HEAL_GIVE_UP_MS;
    const timedOut = await Promise.race([
      healing.then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), waitMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) throw new KinjectError(`no proxy pod within ${Math.round(waitMs / 1000)} s: a new one is still being made`);
  }
}

// The --exit-when-idle decision, polled every tick (idleMs / 4, between 50 ms and 1 s). "Activity"
// is a new or closed connection or a byte received from a client (activity.ts), or a heartbeat.
//  - Until the first heartbeat (a client that sends none, e.g. a runner using `kinject
//    proxy-server` through --proxy): idle = no open connection and no activity for idleMs.
//  - After a heartbeat (the runner's mux session pings every 5 s; or a HEARTBEAT stream's bytes):
//    the same, or no activity for graceMs (default max(idleMs, 60 s)) even with connections
//    still open. Port-forward connections whose far end vanished (an API server or kubelet
//    restart) stay open in the pod forever; they no longer keep an orphaned pod alive. graceMs
//    is longer than idleMs so a session survives an API server restart of up to a minute.
// `now` and `tickMs: 0` (no timer; call check()) make it testable with a fake clock.

import type { ActivitySource } from './activity.js';

export type IdleReason = { kind: 'no-connections' } | { kind: 'no-heartbeat'; open: number };

export interface IdleWatchOptions {
  idleMs: number;
  /** After a heartbeat: idle after this long without activity, connections open or not (default max(idleMs, 60 s)). */
  graceMs?: number;
  sources: ActivitySource[];
  /** Called once, when idle. */
  onIdle: (reason: IdleReason) => void;
  now?: () => number;
  /** Poll interval; default idleMs / 4 within [50, 1000] ms; 0 = no timer. */
  tickMs?: number;
}

export const DEFAULT_HEARTBEAT_GRACE_MS = 60_000;

export class IdleWatch {
  private readonly now: () => number;
  private readonly graceMs: number;
  private last: number;
  private seen: number;
  private heartbeats = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: IdleWatchOptions) {
    this.now = o.now ?? Date.now;
    this.graceMs = o.graceMs ?? Math.max(o.idleMs, DEFAULT_HEARTBEAT_GRACE_MS);
    this.last = this.now();
    this.seen = this.activity();
    const tick = o.tickMs ?? Math.min(1000, Math.max(50, Math.floor(Math.min(o.idleMs, this.graceMs) / 4)));
    if (tick > 0) {
      this.timer = setInterval(() => this.check(), tick);
      this.timer.unref();
    }
  }

  /** A heartbeat from the runner: counts as activity and turns on the grace rule for good. */
  heartbeat(): void {
    this.heartbeats = true;
    this.last = this.now();
  }

  /** Whether a heartbeat was ever seen. */
  get heartbeatMode(): boolean {
    return this.heartbeats;
  }

  /** Looks at the sources; calls onIdle (once) and returns true when idle. */
  check(): boolean {
    if (this.stopped) return false;
    const t = this.now();
    const activity = this.activity();
    const open = this.o.sources.reduce((n, s) => n + s.connections(), 0);
    if (activity !== this.seen) {
      this.seen = activity;
      this.last = t;
    }
    const quiet = t - this.last;
    let reason: IdleReason | undefined;
    if (open === 0 && quiet >= this.o.idleMs) reason = { kind: 'no-connections' };
    else if (this.heartbeats && quiet >= this.graceMs) reason = { kind: 'no-heartbeat', open };
    else if (!this.heartbeats && open > 0) this.last = t;
    if (!reason) return false;
    this.stop();
    this.o.onIdle(reason);
    return true;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private activity(): number {
    return this.o.sources.reduce((n, s) => n + s.activity(), 0);
  }
}

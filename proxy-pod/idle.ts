// The --exit-when-idle decision, polled every tick (idleMs / 4, between 50 ms and 1 s):
//  - until the first heartbeat (a client that does not send them, e.g. `kinject proxy-server`
//    behind --proxy): idle = no open connection for idleMs (the last close counts as activity);
//  - after a heartbeat (the runner's tunnel pool sends one every few seconds): idle = idleMs
//    without a heartbeat, a new or closed connection or a byte from a client, even with
//    connections still open. Port-forward connections whose far end vanished (API server or
//    kubelet restart) stay open in the pod forever; they no longer keep it alive.
// `now` and `tickMs: 0` (no timer; call check()) make it testable with a fake clock.

import type { ActivitySource } from './activity.js';

export type IdleReason = { kind: 'no-connections' } | { kind: 'no-heartbeat'; open: number };

export interface IdleWatchOptions {
  idleMs: number;
  sources: ActivitySource[];
  /** Called once, when idle. */
  onIdle: (reason: IdleReason) => void;
  now?: () => number;
  /** Poll interval; default idleMs / 4 within [50, 1000] ms; 0 = no timer. */
  tickMs?: number;
}

export class IdleWatch {
  private readonly now: () => number;
  private last: number;
  private seen: number;
  private heartbeats = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: IdleWatchOptions) {
    this.now = o.now ?? Date.now;
    this.last = this.now();
    this.seen = this.activity();
    const tick = o.tickMs ?? Math.min(1000, Math.max(50, Math.floor(o.idleMs / 4)));
    if (tick > 0) {
      this.timer = setInterval(() => this.check(), tick);
      this.timer.unref();
    }
  }

  /** A heartbeat from the runner: counts as activity and switches to the heartbeat rule for good. */
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
    } else if (!this.heartbeats && open > 0) {
      this.last = t;
    }
    if (t - this.last < this.o.idleMs) return false;
    this.stop();
    this.o.onIdle(this.heartbeats ? { kind: 'no-heartbeat', open } : { kind: 'no-connections' });
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

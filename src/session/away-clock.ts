// Notices when this process did not run for a while: the laptop slept, its lid was closed, the
// process was stopped (SIGSTOP, Ctrl-Z). A 1 s timer that fires much later than asked says so;
// the gap is measured on the wall clock, which goes on during a suspend (the monotonic clock that
// timers use may not). Self-healing (self-healing.ts) uses it to say why the cluster ended the
// session meanwhile.

const TICK_MS = 1000;
/** a tick this much later than asked counts as being away (a loaded machine is late by less) */
const AWAY_MIN_MS = 5000;

export class AwayClock {
  private last = Date.now();
  private away: { ms: number; endedAt: number } | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => {
      const t = Date.now();
      this.tick(t);
      this.last = t;
    }, TICK_MS);
    this.timer.unref();
  }

  /** how long the process was away, when that ended within the last withinMs (else undefined) */
  recentAwayMs(withinMs: number, now = Date.now()): number | undefined {
    this.tick(now);
    return this.away && now - this.away.endedAt <= withinMs ? this.away.ms : undefined;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** a check made before the timer's late tick ran counts the gap too */
  private tick(now: number): void {
    if (now - this.last > TICK_MS + AWAY_MIN_MS) this.away = { ms: now - this.last, endedAt: now };
  }
}

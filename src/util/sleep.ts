// Waiting: sleep() (ends early, without error, when the signal aborts) and retry(), the one
// retry loop with a bounded number of attempts and a delay chosen per attempt.

/**
 * Resolves after `ms`, or as soon as `signal` aborts (resolves, does not reject). With `unref`,
 * the timer does not keep the process alive (a background loop that must not delay exit).
 */
export function sleep(ms: number, signal?: AbortSignal, unref = false): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    if (unref) t.unref();
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface RetryOptions {
  /** at most this many calls */
  attempts: number;
  /** whether to try again after `err` (a false answer rethrows it) */
  retryOn?: (err: unknown) => boolean;
  /** the pause before attempt `attempt + 1`; returning undefined stops (the last error is rethrown) */
  delayMs: (attempt: number) => number | undefined;
  signal?: AbortSignal;
}

/** Calls fn until it resolves; rethrows the last error when attempts run out or retrying stops. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt + 1 >= options.attempts || (options.retryOn && !options.retryOn(err))) throw err;
      const delay = options.delayMs(attempt);
      if (delay === undefined) throw err;
      await sleep(delay, options.signal);
    }
  }
}

// The signals kinject passes on (SIGINT, SIGTERM, SIGHUP): onForwardedSignals() is the one place
// that installs handlers for them (and returns how to remove them again); forwardSignals() uses
// it to pass them to the child, so the child decides how to stop and kinject stays alive to clean
// up after it; guardCleanupFromSignals() keeps a second Ctrl-C (or a signal passed on twice) from
// killing kinject half-way through its cleanup: every cleanup step is bounded, so it still ends.
import type { ChildProcess } from 'node:child_process';

export const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type ForwardedSignal = (typeof FORWARDED_SIGNALS)[number];

/** Calls fn on each of FORWARDED_SIGNALS until the returned function is called (idempotent). */
export function onForwardedSignals(fn: (signal: ForwardedSignal) => void): () => void {
  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = () => fn(signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}

/** Passes the forwarded signals on to the child while it runs; returns a function that stops. */
export function forwardSignals(child: ChildProcess): () => void {
  return onForwardedSignals((signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}

/**
 * Installed when a command starts and kept until the process exits, so no signal ever finds the
 * default action (death) while kinject still has something to remove: after the returned
 * `cleaning()` a forwarded signal is logged once and ignored, and kinject finishes its cleanup
 * (each step is bounded in time, cleanup-stack.ts) and exits with the code it would have. Before
 * that it does nothing; the command's own handlers act.
 */
export function guardCleanupFromSignals(log: (msg: string) => void): { cleaning(): void } {
  let cleaning = false;
  let said = false;
  onForwardedSignals((signal) => {
    if (!cleaning || said) return;
    said = true;
    log(`${signal} received while cleaning up: kinject exits when its cleanup is done (SIGKILL stops it now, and may leave the proxy pod behind)`);
  });
  return {
    cleaning: () => {
      cleaning = true;
    },
  };
}

// The signals kinject passes on (SIGINT, SIGTERM, SIGHUP): onForwardedSignals() is the one place
// that installs handlers for them (and returns how to remove them again); forwardSignals() uses
// it to pass them to the child, so the child decides how to stop and kinject stays alive to clean
// up after it.
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

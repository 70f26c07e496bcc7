// Passes SIGINT, SIGTERM and SIGHUP sent to kinject on to the child, so the child decides how to
// stop and kinject stays alive to clean up after it. Returns a function that stops forwarding.
import type { ChildProcess } from 'node:child_process';

export const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export function forwardSignals(child: ChildProcess): () => void {
  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}

// When someone else ends a live session (`kinject session close`, `kinject cleanup
// --include-live`), the runner learns it from its Lease (kube/session-lease.ts) and stops: one
// line saying who closed it, SIGTERM to the command (SIGKILL after 10 s), then kinject cleans up
// as on any exit and exits 1.
import type { ChildProcess } from 'node:child_process';
import { waitForExit, type ChildEnd } from './exit-status.js';

export const CLOSED_KILL_AFTER_MS = 10_000;

export interface ChildOutcome {
  end: ChildEnd;
  /** the one-line reason, when the session was closed from elsewhere */
  closed?: string;
}

export async function waitUnlessClosed(child: ChildProcess, closed: Promise<string> | undefined, say: (line: string) => void): Promise<ChildOutcome> {
  const exited = waitForExit(child);
  if (!closed) return { end: await exited };
  const first = await Promise.race([exited.then((end) => ({ end })), closed.then((why) => ({ why }))]);
  if ('end' in first) return { end: first.end };
  say(`${first.why}; stopping ${child.spawnfile}`);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, CLOSED_KILL_AFTER_MS);
  const end = await exited;
  clearTimeout(timer);
  return { end, closed: first.why };
}

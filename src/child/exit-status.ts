// Turns how the child ended into kinject's own exit code: its exit code, or 128 + the signal
// number when a signal ended it (the shell's convention).
import { constants } from 'node:os';

export interface ChildEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export function exitCodeOf(end: ChildEnd): number {
  if (end.code !== null) return end.code;
  if (end.signal !== null) {
    const number = constants.signals[end.signal];
    return 128 + (number ?? 0);
  }
  return 1;
}

export function waitForExit(child: import('node:child_process').ChildProcess): Promise<ChildEnd> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

// Everything a kinject session creates registers how to remove it here; the stack is unwound once,
// newest first, on every way out: normal exit, a signal before the child exists, or an internal
// error. Each step is bounded in time so a dead cluster cannot keep kinject from exiting.
import { errorMessage } from '../util/error-message.js';

export type CleanupStep = () => Promise<void> | void;

const STEP_TIMEOUT_MS = 15_000;

export class CleanupStack {
  private steps: { name: string; run: CleanupStep }[] = [];
  private running: Promise<void> | undefined;

  add(name: string, run: CleanupStep): void {
    this.steps.push({ name, run });
  }

  /** Runs every step once, newest first; later calls wait for the same run. Never throws. */
  unwind(log: (msg: string) => void = () => {}): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length > 0) {
        const step = this.steps.pop()!;
        try {
          await withTimeout(Promise.resolve().then(step.run), STEP_TIMEOUT_MS);
        } catch (err) {
          log(`cleanup of ${step.name} failed: ${errorMessage(err)}`);
        }
      }
    })();
    return this.running;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

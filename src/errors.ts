// KinjectError: an error whose message is the one line a user sees — it names the thing that is
// wrong and what to do about it. `exitCode` is what kinject exits with (2 for usage errors).
export class KinjectError extends Error {
  readonly exitCode: number;
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KinjectError';
    this.exitCode = options.exitCode ?? 1;
  }
}

/** A usage error: bad flags or arguments (exit code 2, like commander's own). */
export function usageError(message: string): KinjectError {
  return new KinjectError(message, { exitCode: 2 });
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

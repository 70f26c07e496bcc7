// kinject's own messages on stderr: progress and warnings always, diagnostics with --verbose.
// stdout belongs to the user's command.
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  debug(msg: string): void;
  /** a milestone only machine-readable output shows (--output json): child-exit, cleanup-done */
  event(name: string, fields?: Record<string, unknown>): void;
}

export function createLogger(verbose: boolean): Logger {
  const write = (msg: string) => process.stderr.write(`kinject: ${msg}\n`);
  return {
    info: write,
    warn: write,
    debug: verbose ? write : () => {},
    event: () => {},
  };
}

// kinject's one logging interface, and its own messages on stderr: progress and warnings always,
// diagnostics with --verbose. stdout belongs to the user's command. Parts that log take a
// Logger, or a Partial<Logger> when every line is optional (dropped when its part is absent).
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  debug(msg: string): void;
  /** a milestone only machine-readable output shows (--output json): child-exit, cleanup-done */
  event(name: string, fields?: Record<string, unknown>): void;
}

const ignore = () => {};

/** A Logger from the parts given; the missing ones drop their lines. */
export function completeLogger(log: Partial<Logger> = {}): Logger {
  return { info: log.info ?? ignore, warn: log.warn ?? ignore, debug: log.debug ?? ignore, event: log.event ?? ignore };
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

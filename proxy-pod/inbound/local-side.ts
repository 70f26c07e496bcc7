// The local side of an intercept as the router sees it: a function that opens a byte stream to
// the local process (in the pod: a pod-initiated mux channel to the runner, which connects to
// LOCALPORT; in tests: a TCP connection), and the one warning when it is not there. Failures are
// reported once per outage: after a success, the next failure warns again.

import type { Duplex } from 'node:stream';

export type OpenLocal = () => Promise<Duplex>;

export class LocalSide {
  private down = false;

  constructor(
    readonly open: OpenLocal,
    /** names the local side in messages, e.g. "127.0.0.1:3000 on the developer's machine" */
    readonly label: string,
    private readonly warn: (line: string) => void,
  ) {}

  /** the one-line body of the 502 sent instead of an intercepted request */
  unavailableText(err: Error): string {
    return `kinject: the local process (${this.label}) is not reachable: ${err.message}\n`;
  }

  failed(err: Error): void {
    if (this.down) return;
    this.down = true;
    this.warn(`intercepted requests get a 502: the local process (${this.label}) is not reachable (${err.message}); start it or check the port`);
  }

  worked(): void {
    this.down = false;
  }
}

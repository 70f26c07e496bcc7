// How the runner reaches the proxy pod's server (--transport, docs/design.md "Direct transport"):
//  - port-forward: the API server's port-forward (portforward.ts), as always;
//  - direct: a mutually authenticated TLS connection to the pod's IP (protocol/direct-tls.ts);
//  - auto (default): direct when a probe at start (a TLS handshake, DIRECT_PROBE_MS) succeeds,
//    else port-forward. A refused connection is retried for up to 10 s (the pod IP answers, the
//    pod server is still starting); a timeout or any other error is not.
// Once direct fails later (the mux session over it ended and a new direct connection cannot be
// made), the transport switches to port-forward for the rest of the session, with one warning
// line; PodTunnel (pod-tunnel.ts) calls connect() for every new mux session and so simply
// reconnects over the port-forward.
// Test hooks (test/e2e/run-transport.test.js; no other use): KINJECT_TEST_DIRECT_UNREACHABLE=1
// makes every direct connection fail as an unreachable pod IP would (the local cluster enforces
// no NetworkPolicy); KINJECT_TEST_DIRECT_CUT_AFTER_MS=N destroys the direct connection N ms
// after it was made and refuses direct connections from then on (a path that goes away mid-session).
import type { Duplex } from 'node:stream';
import { connectDirect } from '../../protocol/direct-tls.js';
import { KinjectError } from '../errors.js';

export const TRANSPORTS = ['auto', 'direct', 'port-forward'] as const;
export type TransportMode = (typeof TRANSPORTS)[number];
export type TransportKind = 'direct' | 'port-forward';

/** How long the start probe and each direct connection may take (TCP connect + TLS handshake). */
export const DIRECT_PROBE_MS = 2000;
/** How long the start probe retries a refused connection (the pod server starting up). */
const REFUSED_RETRY_MS = 10_000;

export interface DirectTarget {
  host: string;
  port: number;
  clientCert: string;
  clientKey: string;
  serverCert: string;
}

export interface TransportOptions {
  mode: TransportMode;
  /** the pod's direct listener (absent: no direct transport possible) */
  direct?: DirectTarget;
  portForward: () => Promise<Duplex>;
  /** what the warning and error lines call the pod ("kinject-demo/kinject-abc-xyz") */
  podLabel: string;
  directTimeoutMs?: number;
  warn?: (line: string) => void;
  debug?: (line: string) => void;
  /** the environment for the test hooks (default process.env) */
  env?: NodeJS.ProcessEnv;
}

export class Transport {
  private kind: TransportKind = 'port-forward';
  private cut = false;
  /** the probe's connection, handed to the first connect() */
  private spare: Duplex | undefined;
  /** why direct is not used (after choose() or a switch) */
  reason: string | undefined;

  constructor(private readonly o: TransportOptions) {}

  /** The transport in use now. */
  get current(): TransportKind {
    return this.kind;
  }

  /** "direct (10.0.0.5:1082)" / "port-forward" / "port-forward (direct: <why>)", for the progress line. */
  describe(): string {
    if (this.kind === 'direct' && this.o.direct) return `direct (${this.o.direct.host}:${this.o.direct.port})`;
    return this.reason && this.o.mode !== 'port-forward' ? `port-forward (direct not reachable: ${this.reason})` : 'port-forward';
  }

  /** At start: probe the direct path unless port-forward was asked for. --transport direct fails when it does not work. */
  async choose(): Promise<TransportKind> {
    this.kind = 'port-forward';
    if (this.o.mode === 'port-forward') return this.kind;
    if (!this.o.direct) {
      this.reason = 'the pod has no IP';
    } else {
      // refused: the pod IP answers but the pod server is not listening yet (its container has
      // just started): the path works, try again for a while
      const until = Date.now() + REFUSED_RETRY_MS;
      for (;;) {
        try {
          this.spare = await this.connectDirect();
          this.kind = 'direct';
          return this.kind;
        } catch (err) {
          this.reason = (err as Error).message;
          if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || Date.now() > until) break;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
    if (this.o.mode === 'direct') {
      throw new KinjectError(
        `--transport direct: cannot reach the proxy pod ${this.o.podLabel} at ${this.o.direct ? `${this.o.direct.host}:${this.o.direct.port}` : 'its pod IP'} (${this.reason}); let this machine reach the pod network (and a NetworkPolicy allow it), or use --transport auto or port-forward`,
        { exitCode: 1 },
      );
    }
    this.o.debug?.(`transport: direct not reachable (${this.reason}), using port-forward`);
    return this.kind;
  }

  /** One raw stream to the pod server, over the current transport (switching to port-forward when direct fails). */
  async connect(): Promise<Duplex> {
    if (this.kind === 'direct') {
      const spare = this.spare;
      this.spare = undefined;
      if (spare && !spare.destroyed) return spare;
      try {
        return await this.connectDirect();
      } catch (err) {
        this.reason = (err as Error).message;
        this.kind = 'port-forward';
        this.o.warn?.(`the direct connection to the proxy pod ${this.o.podLabel} failed (${this.reason}); switching to port-forward`);
      }
    }
    return this.o.portForward();
  }

  /** Drops the probe's connection if nobody took it. */
  close(): void {
    this.spare?.destroy();
    this.spare = undefined;
  }

  private async connectDirect(): Promise<Duplex> {
    const d = this.o.direct!;
    const env = this.o.env ?? process.env;
    if (env.KINJECT_TEST_DIRECT_UNREACHABLE === '1' || this.cut) throw new Error(`${d.host}:${d.port} unreachable (test hook)`);
    const socket = await connectDirect({
      host: d.host,
      port: d.port,
      cert: d.clientCert,
      key: d.clientKey,
      peerCert: d.serverCert,
      timeoutMs: this.o.directTimeoutMs ?? DIRECT_PROBE_MS,
    });
    const cutAfter = Number(env.KINJECT_TEST_DIRECT_CUT_AFTER_MS);
    if (cutAfter > 0) {
      setTimeout(() => {
        this.cut = true;
        socket.destroy(new Error('direct path cut (test hook)'));
      }, cutAfter).unref();
    }
    return socket;
  }
}

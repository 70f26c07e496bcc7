// One TCP stream to pod:port over the API server's port-forward websocket (client-node's
// PortForward, one websocket per stream), exposed as a Node Duplex:
//  - bytes we write go out as data-channel frames (writes queued together as one), with
//    backpressure: up to 1 MiB may wait in the websocket, then a write waits for ws.send's callback;
//  - data-channel bytes are pushed to the readable side;
//  - error-channel bytes (kubelet: "failed to connect to localhost:1080 ...") destroy the stream
//    with an Error (code EPORTFORWARD) and close the websocket;
//  - the websocket closing ends the readable side (the writable side follows: allowHalfOpen is
//    false); destroy() closes the websocket.
// Port-forward websockets cannot half-close: end() on our side keeps the websocket open so the
// reply still arrives; the stream finishes when the pod side closes or on destroy().
// Connecting has a time limit (the websocket handshake timeout).

import { Duplex, PassThrough, Writable } from 'node:stream';
import { type KubeConfig, PortForward } from '@kubernetes/client-node';
import { WebSocketHandler } from '@kubernetes/client-node/dist/web-socket-handler.js';

export interface PortForwardTarget {
  kc: KubeConfig;
  namespace: string;
  pod: string;
  port: number;
}

export interface PortForwardOptions {
  /** websocket handshake time limit (default 10 s) */
  timeoutMs?: number;
}

export class PortForwardError extends Error {
  readonly code = 'EPORTFORWARD';
  /** HTTP status of a refused upgrade (403 forbidden, 404 pod not found), else 0 */
  readonly status: number;
  constructor(message: string, status = 0, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'PortForwardError';
    this.status = status;
  }
}

/** The part of a `ws` WebSocket this module uses (the package's types are not installed). */
interface Ws {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Buffer, cb?: (err?: Error) => void): void;
  close(code?: number): void;
  terminate?(): void;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

const WS_OPEN = 1;
/** bytes the websocket may hold unsent before a write waits for its send callback */
const SEND_AHEAD_BYTES = 1024 * 1024;
/** the largest websocket message _writev makes out of queued writes */
const MAX_MESSAGE_BYTES = 1024 * 1024;

/** A KubeConfig view whose websocket options carry a handshake timeout. */
function withHandshakeTimeout(kc: KubeConfig, ms: number): KubeConfig {
  const view = Object.create(kc) as KubeConfig;
  view.applyToHTTPSOptions = async (opts) => {
    await kc.applyToHTTPSOptions(opts);
    (opts as { handshakeTimeout?: number }).handshakeTimeout = ms;
  };
  return view;
}

/** Streams handed to client-node's handler for exec/attach status frames: never process.stdout. */
function nullStreams() {
  const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
  return { stdin: new PassThrough(), stdout: sink(), stderr: sink() };
}

class PortForwardStream extends Duplex {
  ws: Ws | undefined;
  /** an error-channel message that arrived before openPortForward() returned the stream */
  early: PortForwardError | undefined;
  private returned = false;
  private readonly label: string;
  private pendingWrite: (() => void) | undefined;

  constructor(label: string) {
    super({ allowHalfOpen: false, writableHighWaterMark: 256 * 1024 });
    this.label = label;
  }

  attach(ws: Ws): void {
    this.ws = ws;
    this.returned = true;
    ws.on('error', () => {
      // a 'close' event follows; nothing to do here
    });
    ws.on('close', () => {
      this.ws = undefined;
      if (!this.destroyed) this.push(null);
      // a write waiting for the socket will never complete now
      const p = this.pendingWrite;
      this.pendingWrite = undefined;
      p?.();
    });
  }

  /** data-channel bytes from the pod */
  onData(buf: Buffer): void {
    if (buf.length && !this.destroyed) this.push(buf);
  }

  /** error-channel bytes from the kubelet */
  onError(buf: Buffer): void {
    const text = buf.toString('utf8').trim();
    if (!text || this.destroyed) return;
    const err = new PortForwardError(`port-forward to ${this.label} failed: ${text}`);
    // before the caller has the stream (and its error listener), openPortForward() rejects instead
    if (!this.returned) this.early ??= err;
    else this.destroy(err);
  }

  override _read(): void {
    // data is pushed as it arrives; websockets have no read-side flow control here
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.sendFrame([chunk], chunk.length, cb);
  }

  /**
   * Writes queued together (a mux frame's header and payload, frames of several channels) go out
   * as few websocket messages, each at most MAX_MESSAGE_BYTES (the kubelet's websocket reader
   * refuses messages over 32 MiB).
   */
  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    let group: Buffer[] = [];
    let length = 0;
    for (const { chunk } of chunks) {
      if (length > 0 && length + chunk.length > MAX_MESSAGE_BYTES) {
        this.sendFrame(group, length, () => {});
        group = [];
        length = 0;
      }
      group.push(chunk);
      length += chunk.length;
    }
    this.sendFrame(group, length, cb);
  }

  private sendFrame(parts: Buffer[], length: number, cb: (err?: Error | null) => void): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WS_OPEN) {
      cb(new PortForwardError(`port-forward to ${this.label} is closed`));
      return;
    }
    const frame = Buffer.allocUnsafe(length + 1);
    frame[0] = 0; // data channel of the first (only) port
    let at = 1;
    for (const part of parts) at += part.copy(frame, at);
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      this.pendingWrite = undefined;
      cb(err ?? null);
    };
    this.pendingWrite = () => finish(new PortForwardError(`port-forward to ${this.label} closed while writing`));
    ws.send(frame, (err) => finish(err));
    // below the limit the next write may go at once (several frames in flight to the TLS socket);
    // above it, wait for this one to be written (backpressure)
    if (!done && ws.bufferedAmount < SEND_AHEAD_BYTES) finish();
  }

  override _final(cb: (err?: Error | null) => void): void {
    // no half-close over a port-forward websocket: keep it open for the reply
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const ws = this.ws;
    this.ws = undefined;
    if (ws) {
      try {
        ws.close();
      } catch {
        ws.terminate?.();
      }
    }
    cb(err);
  }
}

function upgradeError(err: unknown, label: string, target: PortForwardTarget): PortForwardError {
  const msg = err instanceof Error ? err.message : String((err as { message?: string })?.message ?? err);
  const m = /Unexpected server response: (\d+)/.exec(msg);
  const status = m ? Number(m[1]) : 0;
  if (status === 403) {
    return new PortForwardError(
      `forbidden: cannot open pods/portforward (get/create) for pod ${target.pod} in namespace "${target.namespace}"; grant the permissions in rbac/kinject-role.yaml`,
      403,
      err,
    );
  }
  if (status === 404) return new PortForwardError(`pod ${target.pod} not found in namespace "${target.namespace}" (port-forward)`, 404, err);
  if (status === 401) return new PortForwardError(`port-forward to ${label}: the API server rejected the credentials (401)`, 401, err);
  return new PortForwardError(`port-forward to ${label} failed: ${msg}`, status, err);
}

/** Opens one port-forward stream to target.pod:target.port. */
export async function openPortForward(target: PortForwardTarget, options: PortForwardOptions = {}): Promise<Duplex> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const label = `pod ${target.namespace}/${target.pod}:${target.port}`;
  const view = withHandshakeTimeout(target.kc, timeoutMs);
  const handler = new WebSocketHandler(view, undefined, nullStreams());
  const pf = new PortForward(view, false, handler);
  const stream = new PortForwardStream(label);
  const output = new Writable({
    write(chunk: Buffer, _e, cb) {
      stream.onData(chunk);
      cb();
    },
  });
  const errOut = new Writable({
    write(chunk: Buffer, _e, cb) {
      stream.onError(chunk);
      cb();
    },
  });
  // client-node ends the websocket when this input ends; we never end it (writes go to ws.send)
  const input = new PassThrough();
  stream.once('close', () => input.destroy());
  let ws: Ws;
  try {
    ws = (await pf.portForward(target.namespace, target.pod, [target.port], output, errOut, input)) as unknown as Ws;
  } catch (err) {
    input.destroy();
    throw upgradeError(err, label, target);
  }
  if (typeof (ws as Partial<Ws>).send !== 'function') {
    input.destroy();
    throw new PortForwardError(`port-forward to ${label}: unexpected websocket object`);
  }
  if (stream.early) {
    input.destroy();
    try {
      ws.close();
    } catch {
      ws.terminate?.();
    }
    throw stream.early;
  }
  stream.attach(ws);
  return stream;
}

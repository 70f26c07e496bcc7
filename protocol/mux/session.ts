// A mux session (docs/design.md "The mux"): channels (channel.ts) over one Duplex, e.g. one
// port-forward websocket to the proxy pod. The client opens channels (odd ids), the server even
// ids (pod-initiated: inbound traffic for the local process); each side is told of the other's
// through its onChannel (without one, the peer's OPEN gets a RESET). The client pings every pingMs; any frame from the peer counts
// as a sign of life, and none for deadMs destroys the session (a port-forward that died without
// closing); a ping timer that fires late (this process was stopped or the machine asleep) gives
// the peer deadMs afresh. The server answers pings and reports each through onPing (the pod's heartbeat).
// When the underlying stream ends, errors or closes, every channel is destroyed and 'close' is
// emitted once with the reason.

import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { FRAME, FrameDecoder, encodeFrame, encodeHeader, type Frame } from './frames.js';
import { MuxChannel, type ChannelLink } from './channel.js';

/** how often a client pings by default */
export const DEFAULT_PING_MS = 5000;

export interface MuxSessionOptions {
  role: 'client' | 'server';
  /** a channel the peer opened (server: the client's, starting with its SOCKS request; client: the pod's) */
  onChannel?: (channel: MuxChannel) => void;
  /** server: a PING arrived */
  onPing?: () => void;
  /** server: the client sent SHUTDOWN (it is done with the server) */
  onShutdown?: () => void;
  /** client: a PING this often (default DEFAULT_PING_MS; 0 = none) */
  pingMs?: number;
  /** client: no frame from the peer for this long ends the session (default 3 × pingMs) */
  deadMs?: number;
}

export class MuxSession extends EventEmitter implements ChannelLink {
  private readonly stream: Duplex;
  private readonly o: MuxSessionOptions;
  private readonly channels = new Map<number, MuxChannel>();
  private readonly decoder = new FrameDecoder();
  private nextId: number;
  private closed = false;
  private backedUp = false;
  /** the stream is corked until the end of this turn of the event loop (batch()) */
  private corked = false;
  private writableWaiters: Array<() => void> = [];
  private pingTimer: NodeJS.Timeout | undefined;
  private lastHeard = Date.now();
  /** PONGs received (client) or PINGs answered (server) */
  pongs = 0;
  /** why the session ended, once it has */
  reason: Error | undefined;

  constructor(stream: Duplex, options: MuxSessionOptions) {
    super();
    this.stream = stream;
    this.o = options;
    this.nextId = options.role === 'client' ? 1 : 2;
    stream.on('data', (chunk: Buffer) => this.onBytes(chunk));
    stream.on('drain', () => this.onDrain());
    stream.on('error', (err: Error) => this.destroy(err));
    stream.on('end', () => this.destroy(new Error('the tunnel stream ended')));
    stream.on('close', () => this.destroy(new Error('the tunnel stream closed')));
    const pingMs = options.role === 'client' ? (options.pingMs ?? DEFAULT_PING_MS) : 0;
    if (pingMs > 0) {
      const deadMs = options.deadMs ?? 3 * pingMs;
      let lastTick = Date.now();
      this.pingTimer = setInterval(() => {
        const now = Date.now();
        // this process did not run for a while (stopped, the machine asleep): the peer's silence
        // meanwhile says nothing about the tunnel, so it gets deadMs from now to be heard
        if (now - lastTick > 2 * pingMs + 1000) this.lastHeard = Math.max(this.lastHeard, now - pingMs);
        lastTick = now;
        if (now - this.lastHeard > deadMs) {
          this.destroy(new Error(`no answer through the tunnel for ${Math.round((Date.now() - this.lastHeard) / 1000)} s`));
          return;
        }
        this.send(encodeFrame(FRAME.PING, 0));
      }, pingMs);
      this.pingTimer.unref();
    }
  }

  get alive(): boolean {
    return !this.closed;
  }

  /** when the peer's last bytes arrived (epoch ms): the pod tells a runner that is away by it */
  get lastHeardAt(): number {
    return this.lastHeard;
  }

  /** Open channels (tests, diagnostics). */
  get channelCount(): number {
    return this.channels.size;
  }

  /**
   * Client: tells the server it is done (SHUTDOWN) and waits until the server answers with a
   * SHUTDOWN of its own (it exits right after) or closes the stream, at most timeoutMs; resolves
   * true if it did. The session is destroyed either way.
   */
  async shutdown(timeoutMs: number): Promise<boolean> {
    if (this.closed) return false;
    this.send(encodeFrame(FRAME.SHUTDOWN, 0));
    let timer: NodeJS.Timeout | undefined;
    const answered = await Promise.race([
      new Promise<boolean>((resolve) => {
        this.once('close', () => resolve(true));
        this.once('shutdown', () => resolve(true));
      }),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    this.destroy(new Error('the tunnel was shut down'));
    return answered;
  }

  /** A new channel; throws once the session is closed. */
  open(): MuxChannel {
    if (this.closed) throw this.reason ?? new Error('the tunnel is closed');
    const id = this.nextId;
    this.nextId += 2;
    if (this.nextId > 0xffff_fff0) this.nextId = this.o.role === 'client' ? 1 : 2;
    const ch = new MuxChannel(this, id);
    this.channels.set(id, ch);
    this.send(encodeFrame(FRAME.OPEN, id));
    return ch;
  }

  send(frame: Buffer): boolean {
    if (this.closed) return false;
    this.batch();
    const ok = this.stream.write(frame);
    if (!ok) this.backedUp = true;
    return ok;
  }

  sendData(id: number, payload: Buffer): boolean {
    if (this.closed) return false;
    this.batch();
    this.stream.write(encodeHeader(FRAME.DATA, id, payload.length));
    const ok = this.stream.write(payload);
    if (!ok) this.backedUp = true;
    return ok;
  }

  /**
   * Frames sent in one turn of the event loop (a DATA frame's header and payload, the WINDOW
   * grants and DATA of every channel the turn's reads fed, the OPENs and requests of every
   * connection it accepted) leave together at its end (setImmediate, after the I/O callbacks):
   * one writev on a socket, one websocket message over port-forward (its _writev), instead of a
   * write or message each. At 50 concurrent connections a write per callback (the next tick)
   * was the runner's largest cost; when idle the wait is a few microseconds.
   */
  private batch(): void {
    if (this.corked) return;
    this.corked = true;
    this.stream.cork();
    setImmediate(() => {
      this.corked = false;
      this.stream.uncork();
    });
  }

  whenWritable(cb: () => void): void {
    if (!this.backedUp || this.closed) cb();
    else this.writableWaiters.push(cb);
  }

  forget(id: number): void {
    this.channels.delete(id);
  }

  destroy(reason?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.reason = reason ?? new Error('the tunnel was closed');
    clearInterval(this.pingTimer);
    for (const ch of [...this.channels.values()]) ch.onSessionGone();
    this.channels.clear();
    this.onDrain();
    this.stream.destroy();
    this.emit('close', this.reason);
  }

  private onDrain(): void {
    this.backedUp = false;
    const waiters = this.writableWaiters;
    this.writableWaiters = [];
    for (const cb of waiters) cb();
  }

  private onBytes(chunk: Buffer): void {
    if (this.closed) return;
    this.lastHeard = Date.now();
    try {
      this.decoder.push(chunk, (f) => this.onFrame(f));
    } catch (err) {
      this.destroy(err as Error);
    }
  }

  private onFrame(f: Frame): void {
    if (this.closed) return;
    const ch = this.channels.get(f.channel);
    switch (f.type) {
      case FRAME.DATA:
        if (ch) ch.onData(f.payload);
        else this.send(encodeFrame(FRAME.RESET, f.channel));
        return;
      case FRAME.WINDOW:
        if (ch && f.payload.length >= 4) ch.onWindow(f.payload.readUInt32BE(0));
        return;
      case FRAME.END:
        ch?.onEnd();
        return;
      case FRAME.RESET:
        ch?.onReset();
        return;
      case FRAME.OPEN:
        this.onOpen(f.channel);
        return;
      case FRAME.PING:
        this.pongs++;
        this.send(encodeFrame(FRAME.PONG, 0, f.payload));
        this.o.onPing?.();
        return;
      case FRAME.PONG:
        this.pongs++;
        return;
      case FRAME.SHUTDOWN:
        if (this.o.role === 'server') {
          this.send(encodeFrame(FRAME.SHUTDOWN, 0)); // the answer: the server is going
          this.o.onShutdown?.();
        } else {
          this.emit('shutdown');
        }
        return;
      default:
      // an unknown frame type: a newer peer; ignore it
    }
  }

  private onOpen(id: number): void {
    const fromPeer = this.o.role === 'client' ? id % 2 === 0 : id % 2 === 1;
    if (!this.o.onChannel || !fromPeer || this.channels.has(id)) {
      this.send(encodeFrame(FRAME.RESET, id));
      return;
    }
    const ch = new MuxChannel(this, id);
    this.channels.set(id, ch);
    this.o.onChannel(ch);
  }
}

// One logical stream of a mux session (session.ts), as a Node Duplex with allowHalfOpen:
//  - writes become DATA frames, sent only while the peer's window (credit) lasts: a channel whose
//    reader is slow stops its writer instead of stalling the shared stream or filling memory;
//  - received DATA is pushed to the readable side; credit is given back (WINDOW) as the consumer
//    takes the bytes out of the readable buffer;
//  - end() sends END (the peer sees 'end': a TCP half-close travels through the tunnel), a
//    received END ends the readable side;
//  - destroy() before both ends sends RESET; a received RESET (or the session dying) destroys the
//    channel without an error: consumers see 'close' without 'end', like an aborted connection.

import { Duplex } from 'node:stream';
import { FRAME, MAX_DATA_PAYLOAD, encodeFrame, encodeWindow } from './frames.js';

/** bytes each side may send on a channel before the receiver grants more */
export const INITIAL_WINDOW = 4 * 1024 * 1024;
/** credit is given back in steps of at least this much */
export const GRANT_STEP = 128 * 1024;

/** What a channel needs from its session. */
export interface ChannelLink {
  /** queues a frame on the shared stream; false: the stream is backed up */
  send(frame: Buffer): boolean;
  /** queues a DATA frame without copying the payload */
  sendData(id: number, payload: Buffer): boolean;
  /** calls cb once the shared stream has room again (at once if it has) */
  whenWritable(cb: () => void): void;
  /** the channel is finished: forget its id */
  forget(id: number): void;
  readonly alive: boolean;
}

interface PendingWrite {
  chunk: Buffer;
  offset: number;
  cb: (err?: Error | null) => void;
}

export class MuxChannel extends Duplex {
  readonly id: number;
  private readonly link: ChannelLink;
  /** bytes we may still send */
  private credit = INITIAL_WINDOW;
  /** bytes received in DATA frames, and credit given back for them */
  private received = 0;
  private granted = 0;
  private pending: PendingWrite | undefined;
  private sentEnd = false;
  private gotEnd = false;
  /** the peer reset the channel, or the session is gone: nothing more to send */
  private silenced = false;

  constructor(link: ChannelLink, id: number) {
    super({ allowHalfOpen: true, readableHighWaterMark: 64 * 1024 });
    this.link = link;
    this.id = id;
  }

  // ---- frames from the peer (called by the session) ----

  onData(payload: Buffer): void {
    if (this.destroyed || this.gotEnd) return;
    this.received += payload.length;
    if (this.received - this.granted > INITIAL_WINDOW) {
      // the peer ignored our window: a broken peer; drop the channel rather than buffer without bound
      this.destroy();
      return;
    }
    this.push(payload);
    this.grant();
  }

  onWindow(bytes: number): void {
    this.credit += bytes;
    this.flush();
  }

  onEnd(): void {
    if (this.gotEnd || this.destroyed) return;
    this.gotEnd = true;
    this.push(null);
  }

  onReset(): void {
    this.silenced = true;
    this.destroy();
  }

  /** the session ended: no frames can be sent any more */
  onSessionGone(): void {
    this.silenced = true;
    this.destroy();
  }

  // ---- Duplex ----

  override _read(): void {
    this.grant();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.silenced || !this.link.alive) {
      this.destroy(); // like a reset: 'close' without an error
      cb();
      return;
    }
    this.pending = { chunk, offset: 0, cb };
    this.flush();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.silenced && this.link.alive) this.link.send(encodeFrame(FRAME.END, this.id));
    this.sentEnd = true;
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const clean = this.sentEnd && this.gotEnd;
    if (!clean && !this.silenced && this.link.alive) this.link.send(encodeFrame(FRAME.RESET, this.id));
    this.silenced = true;
    const p = this.pending;
    this.pending = undefined;
    this.link.forget(this.id);
    cb(err);
    p?.cb();
  }

  // ---- internals ----

  /** Sends what the credit allows of the pending write; completes it when all is out. */
  private flush(): void {
    const p = this.pending;
    if (!p || this.silenced) return;
    while (p.offset < p.chunk.length && this.credit > 0) {
      const n = Math.min(this.credit, p.chunk.length - p.offset, MAX_DATA_PAYLOAD);
      this.link.sendData(this.id, p.chunk.subarray(p.offset, p.offset + n));
      this.credit -= n;
      p.offset += n;
    }
    if (p.offset < p.chunk.length) return; // wait for a WINDOW
    this.pending = undefined;
    this.link.whenWritable(() => p.cb());
  }

  /** Gives back credit for the bytes the consumer has taken out of the readable buffer. */
  private grant(): void {
    if (this.silenced || this.gotEnd) return;
    const consumed = this.received - this.readableLength;
    const owed = consumed - this.granted;
    if (owed < GRANT_STEP) return;
    this.granted = consumed;
    this.link.send(encodeWindow(this.id, owed));
  }
}

// A buffered reader over a Duplex (net.Socket, websocket stream, ...): read() waits until a
// parser has a complete message and keeps whatever follows for the next read; release() puts
// the leftover bytes back into the stream (unshift) so a later pipe() sees them first.

import type { Duplex } from 'node:stream';
import { Socks5Error } from './errors.js';
import type { Parser } from './parsed.js';

export interface ReadOptions {
  /** Reject with ESOCKS5_TIMEOUT if the message is not complete within this many ms. */
  timeoutMs?: number;
}

export class StreamReader {
  private buffered: Buffer = Buffer.alloc(0);
  private busy = false;
  private released = false;

  constructor(private readonly stream: Duplex) {}

  /** Bytes received but not yet consumed by a parser. */
  get pending(): number {
    return this.buffered.length;
  }

  /** A copy of the bytes received but not yet consumed. */
  peek(): Buffer {
    return Buffer.from(this.buffered);
  }

  /** Resolves with the parsed value; rejects on malformed input, end of stream, error or timeout. */
  read<T>(parser: Parser<T>, options: ReadOptions = {}): Promise<T> {
    if (this.busy) return Promise.reject(new Error('StreamReader: concurrent read'));
    if (this.released) return Promise.reject(new Error('StreamReader: read after release'));
    // A complete message may already be buffered.
    try {
      const early = this.tryParse(parser);
      if (early !== undefined) return Promise.resolve(early);
    } catch (err) {
      return Promise.reject(err);
    }
    const stream = this.stream;
    if (stream.destroyed || stream.readableEnded) {
      return Promise.reject(new Socks5Error('ESOCKS5_CLOSED', 'connection closed before a complete SOCKS message'));
    }
    this.busy = true;
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (err: unknown, value?: T) => {
        stream.off('readable', onReadable);
        stream.off('end', onEnd);
        stream.off('close', onEnd);
        stream.off('error', onError);
        if (timer) clearTimeout(timer);
        this.busy = false;
        if (err) reject(err);
        else resolve(value as T);
      };
      const onReadable = () => {
        let chunk: Buffer | string | null;
        while ((chunk = stream.read() as Buffer | string | null) !== null) {
          const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
          this.buffered = this.buffered.length ? Buffer.concat([this.buffered, bytes]) : bytes;
          let value: T | undefined;
          try {
            value = this.tryParse(parser);
          } catch (err) {
            finish(err);
            return;
          }
          if (value !== undefined) {
            finish(undefined, value);
            return;
          }
        }
      };
      const onEnd = () => finish(new Socks5Error('ESOCKS5_CLOSED', 'connection closed before a complete SOCKS message'));
      const onError = (err: Error) => finish(err);
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(
          () => finish(new Socks5Error('ESOCKS5_TIMEOUT', `no complete SOCKS message within ${options.timeoutMs} ms`)),
          options.timeoutMs,
        );
      }
      stream.on('readable', onReadable);
      stream.on('end', onEnd);
      stream.on('close', onEnd);
      stream.on('error', onError);
      // Take what the stream already holds now rather than waiting for a 'readable' event that
      // may not come again (reading until read() returns null re-arms it for new data).
      onReadable();
    });
  }

  /** Detach: unread bytes go back to the front of the stream. Safe to call more than once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.buffered.length && !this.stream.destroyed) this.stream.unshift(this.buffered);
    this.buffered = Buffer.alloc(0);
  }

  private tryParse<T>(parser: Parser<T>): T | undefined {
    if (!this.buffered.length) return undefined;
    const result = parser(this.buffered);
    if (!result) return undefined;
    this.buffered = this.buffered.subarray(result.consumed);
    return result.value;
  }
}

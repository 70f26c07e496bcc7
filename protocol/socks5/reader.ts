// A reader of SOCKS messages from a Duplex (net.Socket, websocket stream, ...): read() waits
// until a parser has a complete message. Bytes that follow the message are put straight back
// into the stream (unshift), so the next read() or a later pipe() sees them first, and an end of
// stream that came with them is not swallowed: whoever reads next still gets 'end'. That keeps
// pipelined clients and half-close working across the handshake.

import type { Duplex } from 'node:stream';
import { Socks5Error } from './errors.js';
import type { Parser } from './parsed.js';

export interface ReadOptions {
  /** Reject with ESOCKS5_TIMEOUT if the message is not complete within this many ms. */
  timeoutMs?: number;
}

export class StreamReader {
  /** Bytes of the message being read (only while a read is incomplete or after it failed). */
  private buffered: Buffer = Buffer.alloc(0);
  private busy = false;
  private released = false;

  constructor(private readonly stream: Duplex) {}

  /** A copy of the bytes taken from the stream for a message that did not complete. */
  peek(): Buffer {
    return Buffer.from(this.buffered);
  }

  /** Resolves with the parsed value; rejects on malformed input, end of stream, error or timeout. */
  read<T>(parser: Parser<T>, options: ReadOptions = {}): Promise<T> {
    if (this.busy) return Promise.reject(new Error('StreamReader: concurrent read'));
    if (this.released) return Promise.reject(new Error('StreamReader: read after release'));
    const stream = this.stream;
    if (stream.destroyed || stream.readableEnded) {
      return Promise.reject(new Socks5Error('ESOCKS5_CLOSED', 'connection closed before a complete SOCKS message'));
    }
    this.busy = true;
    this.buffered = Buffer.alloc(0);
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      const finish = (err: unknown, value?: T) => {
        if (done) return;
        done = true;
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
        while (!done) {
          const available = stream.readableLength;
          if (available === 0) {
            // Nothing buffered: re-arms 'readable', or, at end of stream, makes 'end' fire.
            stream.read();
            return;
          }
          // Exactly what is buffered: unlike read(), read(n) does not emit 'end' when it empties
          // an ended stream.
          const chunk = stream.read(available) as Buffer | string | null;
          if (chunk === null) return;
          const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
          this.buffered = this.buffered.length ? Buffer.concat([this.buffered, bytes]) : bytes;
          let result: ReturnType<Parser<T>>;
          try {
            result = parser(this.buffered);
          } catch (err) {
            finish(err);
            return;
          }
          if (result) {
            const rest = this.buffered.subarray(result.consumed);
            this.buffered = Buffer.alloc(0);
            if (rest.length) stream.unshift(rest);
            finish(undefined, result.value);
            return;
          }
        }
      };
      const onEnd = () => finish(new Socks5Error('ESOCKS5_CLOSED', 'connection closed before a complete SOCKS message'));
      const onError = (err: Error) => finish(err);
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => finish(new Socks5Error('ESOCKS5_TIMEOUT', `no complete SOCKS message within ${options.timeoutMs} ms`)), options.timeoutMs);
      }
      stream.on('readable', onReadable);
      stream.on('end', onEnd);
      stream.on('close', onEnd);
      stream.on('error', onError);
      // Take what the stream already holds now rather than waiting for a 'readable' event that
      // may not come again.
      onReadable();
    });
  }

  /**
   * Marks the reader as finished with the stream (further reads reject). Unconsumed bytes are
   * already back in the stream, so a pipe() attached now receives them first.
   */
  release(): void {
    this.released = true;
  }
}

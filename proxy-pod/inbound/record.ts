// What the router records of each request it sends to the local process (docs/inbound.md
// "Recording"): plain JSON an inspection UI can list and show. Requests passed through to the
// cluster are not recorded: they are other people's traffic.

/** bodies are kept up to this many bytes; the rest is counted only */
export const BODY_SAMPLE_BYTES = 64 * 1024;

export interface BodySample {
  /** base64 of the first BODY_SAMPLE_BYTES bytes */
  base64: string;
  /** all bytes seen */
  bytes: number;
  truncated: boolean;
}

export interface InboundRecord {
  /** ISO time the request arrived */
  time: string;
  protocol: 'http/1.1' | 'h2c' | 'upgrade' | 'tcp';
  method: string;
  path: string;
  /** as received, in order: [name, value, name, value, ...] */
  requestHeaders: string[];
  /** 0 until a response started (e.g. a stream reset before it) */
  status: number;
  responseHeaders: string[];
  durationMs: number;
  requestBody: BodySample;
  responseBody: BodySample;
  decision: { to: 'local' | 'cluster'; why: string };
  /** set when the request failed, e.g. the local process is not listening */
  error?: string;
}

/** Keeps the first BODY_SAMPLE_BYTES of a body and counts the rest. */
export class BodySampler {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  bytes = 0;

  add(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.bytes += buf.length;
    const room = BODY_SAMPLE_BYTES - this.kept;
    if (room <= 0) return;
    const part = buf.length > room ? buf.subarray(0, room) : buf;
    this.chunks.push(Buffer.from(part));
    this.kept += part.length;
  }

  sample(): BodySample {
    return { base64: Buffer.concat(this.chunks).toString('base64'), bytes: this.bytes, truncated: this.bytes > this.kept };
  }
}

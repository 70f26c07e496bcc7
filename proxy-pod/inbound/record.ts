// What the router records of each request it sends to the local process (docs/inbound.md
// "Recording"): plain JSON an inspection UI can list and show. Requests passed through to the
// cluster are not recorded: they are other people's traffic.

import { BODY_SAMPLE_BYTES, type BodySample } from '../../protocol/intercept/record.js';

export { BODY_SAMPLE_BYTES, type BodySample, type InboundRecord } from '../../protocol/intercept/record.js';

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

// The record of one intercepted exchange while it runs (record.ts): bodies sampled as they pass,
// finished once, handed to the router's onRecord.

import { BodySampler, type InboundRecord } from './record.js';
import type { Decision } from './rules.js';

export type RecordSink = (record: InboundRecord) => void;

export class Exchange {
  readonly requestBody = new BodySampler();
  readonly responseBody = new BodySampler();
  private readonly started = Date.now();
  private done = false;
  status = 0;
  responseHeaders: string[] = [];
  error: string | undefined;

  constructor(
    private readonly sink: RecordSink,
    readonly protocol: InboundRecord['protocol'],
    readonly method: string,
    readonly path: string,
    readonly requestHeaders: string[],
    readonly decision: Decision,
  ) {}

  finish(error?: string): void {
    if (this.done) return;
    this.done = true;
    if (error && !this.error) this.error = error;
    const record: InboundRecord = {
      time: new Date(this.started).toISOString(),
      protocol: this.protocol,
      method: this.method,
      path: this.path,
      requestHeaders: this.requestHeaders,
      status: this.status,
      responseHeaders: this.responseHeaders,
      durationMs: Date.now() - this.started,
      requestBody: this.requestBody.sample(),
      responseBody: this.responseBody.sample(),
      decision: { to: this.decision.to, why: this.decision.why },
      ...(this.error ? { error: this.error } : {}),
    };
    try {
      this.sink(record);
    } catch {
      // a failing recorder never breaks traffic
    }
  }
}

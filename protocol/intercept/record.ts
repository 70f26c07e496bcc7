// The record of one intercepted request (docs/design.md "Intercept records"): written by the
// pod's router (proxy-pod/inbound/record.ts, exchange.ts), sent to the runner as an EVENTS line,
// read by the runner and the inspection UI. Plain JSON.

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

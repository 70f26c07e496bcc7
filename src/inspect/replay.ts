// Replay of an intercepted request: sends the recorded method, path, headers and body (the first
// 64 KiB that were kept) to the local process again and records its new response the way the
// inbound router records one (status, headers, first 64 KiB of the body, duration).
import { request } from 'node:http';
import type { InterceptEvent } from './events.js';
import type { ReplayResult } from './store.js';

const BODY_SAMPLE_BYTES = 64 * 1024;
const REPLAY_TIMEOUT_MS = 15_000;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer']);

export function replayRequest(event: InterceptEvent, local: { host: string; port: number }): Promise<ReplayResult> {
  const r = event.record;
  const body = Buffer.from(r.requestBody.base64, 'base64');
  const headers: [string, string][] = [];
  for (let i = 0; i + 1 < r.requestHeaders.length; i += 2) {
    if (!HOP_BY_HOP.has(r.requestHeaders[i].toLowerCase()) && !r.requestHeaders[i].startsWith(':'))
      headers.push([r.requestHeaders[i], r.requestHeaders[i + 1]]);
  }
  headers.push(['content-length', String(body.length)]);
  const started = Date.now();
  const time = new Date(started).toISOString();
  return new Promise((resolve) => {
    const done = (result: Omit<ReplayResult, 'time' | 'durationMs'>) => resolve({ time, durationMs: Date.now() - started, ...result });
    const req = request({ host: local.host, port: local.port, method: r.method, path: r.path, headers: headers.flat(), timeout: REPLAY_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (kept < BODY_SAMPLE_BYTES) {
          const part = chunk.subarray(0, BODY_SAMPLE_BYTES - kept);
          chunks.push(part);
          kept += part.length;
        }
      });
      res.on('end', () =>
        done({
          status: res.statusCode ?? 0,
          responseHeaders: res.rawHeaders,
          responseBody: { base64: Buffer.concat(chunks).toString('base64'), bytes, truncated: bytes > kept },
        }),
      );
      res.on('error', (err) => done({ status: res.statusCode ?? 0, responseHeaders: res.rawHeaders, responseBody: empty(), error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no response within ${REPLAY_TIMEOUT_MS / 1000} s`)));
    req.on('error', (err) => done({ status: 0, responseHeaders: [], responseBody: empty(), error: `${local.host}:${local.port}: ${err.message}` }));
    req.end(body);
  });
}

function empty() {
  return { base64: '', bytes: 0, truncated: false };
}

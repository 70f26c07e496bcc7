// The runner's half of kinject's heartbeat (proxy-pod/heartbeat.ts, docs/design.md): one
// authenticated stream from the tunnel pool carries a HEARTBEAT request, then one byte every
// intervalMs (default 5 s); the pod echoes each. The pod counts them as activity, so it exits
// (after its grace time) once they stop, even if connections whose far end vanished are still
// open in it. No echo within answerTimeoutMs (default 3 intervals), or the stream closing: a new
// stream is opened. A pod server that answers "command not supported" predates heartbeats: none
// are sent then. Timers are unref'd; stop() ends it all.

import type { Duplex } from 'node:stream';
import { REPLY, clientRequest } from '../socks5/index.js';
import { CMD_HEARTBEAT, HEARTBEAT_HOST } from '../../proxy-pod/heartbeat.js';

export interface TunnelHeartbeatOptions {
  /** an authenticated stream to the pod server, ready for one request (the pool's open()) */
  open: () => Promise<Duplex>;
  /** one heartbeat byte this often (default 5000 ms) */
  intervalMs?: number;
  /** drop the stream when no echo came for this long (default 3 intervals) */
  answerTimeoutMs?: number;
  /** true once the pool is closed or failed for good */
  ended?: () => boolean;
  debug?: (msg: string) => void;
}

export const DEFAULT_HEARTBEAT_MS = 5000;
const BEAT = Buffer.from('.');

export class TunnelHeartbeat {
  private readonly intervalMs: number;
  private readonly answerTimeoutMs: number;
  private readonly debug: (msg: string) => void;
  private stream: Duplex | undefined;
  private timer: NodeJS.Timeout | undefined;
  private beats: NodeJS.Timeout | undefined;
  private stopped = false;
  /** heartbeat bytes answered so far (tests, diagnostics) */
  answered = 0;

  constructor(private readonly o: TunnelHeartbeatOptions) {
    this.intervalMs = o.intervalMs ?? DEFAULT_HEARTBEAT_MS;
    this.answerTimeoutMs = o.answerTimeoutMs ?? 3 * this.intervalMs;
    this.debug = o.debug ?? (() => {});
    this.later(this.intervalMs); // the first after one interval: a short-lived pool never makes the stream
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.beats);
    this.stream?.destroy();
    this.stream = undefined;
  }

  private ended(): boolean {
    return this.stopped || (this.o.ended?.() ?? false);
  }

  private later(ms: number): void {
    if (this.ended()) return;
    this.timer = setTimeout(() => void this.start(), ms);
    this.timer.unref();
  }

  private async start(): Promise<void> {
    if (this.ended()) return;
    let stream: Duplex;
    try {
      stream = await this.o.open();
    } catch (err) {
      this.debug(`tunnel: no stream for the heartbeat: ${(err as Error).message}`);
      this.later(this.intervalMs);
      return;
    }
    if (this.ended()) {
      stream.destroy();
      return;
    }
    stream.on('error', () => {});
    let reply: number;
    try {
      reply = (await clientRequest(stream, CMD_HEARTBEAT, { type: 'domain', host: HEARTBEAT_HOST, port: 0 }, { timeoutMs: this.answerTimeoutMs })).reply;
    } catch (err) {
      stream.destroy();
      this.debug(`tunnel: heartbeat request failed: ${(err as Error).message}`);
      this.later(this.intervalMs);
      return;
    }
    if (reply !== REPLY.SUCCEEDED) {
      stream.destroy();
      if (reply === REPLY.COMMAND_NOT_SUPPORTED) {
        this.debug('tunnel: the pod server does not know heartbeats; none are sent');
        return;
      }
      this.debug(`tunnel: heartbeat request refused (reply ${reply})`);
      this.later(this.intervalMs);
      return;
    }
    if (this.ended()) {
      stream.destroy();
      return;
    }
    this.run(stream);
  }

  private run(stream: Duplex): void {
    this.stream = stream;
    let answeredAt = Date.now();
    stream.on('data', (chunk: Buffer) => {
      answeredAt = Date.now();
      this.answered += chunk.length;
    });
    this.beats = setInterval(() => {
      if (Date.now() - answeredAt > this.answerTimeoutMs) {
        this.debug(`tunnel: no heartbeat answer for ${Math.round((Date.now() - answeredAt) / 1000)} s; opening a new heartbeat stream`);
        stream.destroy();
        return;
      }
      stream.write(BEAT);
    }, this.intervalMs);
    this.beats.unref();
    stream.once('close', () => {
      clearInterval(this.beats);
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.later(Math.min(this.intervalMs, 1000));
    });
  }
}

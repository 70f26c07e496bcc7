// The runner's side of the intercept commands (protocol/intercept/commands.ts) on channels of the
// tunnel: INTERCEPT (send the config, wait until the routers listen), INTERCEPT_END (wait until the
// pod restored the Service and drained), EVENTS (a stream of the pod's events).

import type { Duplex } from 'node:stream';
import { parseEnvPayload } from '../../protocol/commands.js';
import {
  CMD_EVENTS,
  CMD_INTERCEPT,
  CMD_INTERCEPT_END,
  EVENTS_HOST,
  INTERCEPT_END_HOST,
  INTERCEPT_HOST,
  encodeJsonFrame,
  type InterceptEvent,
} from '../../protocol/intercept/commands.js';
import { REPLY, StreamReader, parseReply, replyMessage, serializeRequest } from '../../protocol/socks5/index.js';

async function command(stream: Duplex, cmd: number, host: string, payload: Buffer | undefined, timeoutMs: number): Promise<{ ok?: boolean; error?: string }> {
  stream.on('error', () => {});
  stream.write(serializeRequest(cmd, { type: 'domain', host, port: 0 }));
  if (payload) stream.write(payload);
  const reader = new StreamReader(stream);
  try {
    const reply = await reader.read(parseReply, { timeoutMs });
    if (reply.reply !== REPLY.SUCCEEDED) throw new Error(`the proxy pod refused: ${replyMessage(reply.reply)} (an older pod bundle?)`);
    const body = await reader.read((b) => parseEnvPayload(b), { timeoutMs });
    return JSON.parse(body.toString('utf8')) as { ok?: boolean; error?: string };
  } finally {
    reader.release();
    stream.destroy();
  }
}

export async function sendIntercept(stream: Duplex, config: unknown): Promise<void> {
  const answer = await command(stream, CMD_INTERCEPT, INTERCEPT_HOST, encodeJsonFrame(config), 20_000);
  if (answer.error) throw new Error(answer.error);
}

export async function sendInterceptEnd(stream: Duplex, timeoutMs = 90_000): Promise<void> {
  const answer = await command(stream, CMD_INTERCEPT_END, INTERCEPT_END_HOST, undefined, timeoutMs);
  if (answer.error) throw new Error(answer.error);
}

/** Reads the pod's events until the stream ends; resolves then. */
export async function readEvents(stream: Duplex, onEvent: (e: InterceptEvent) => void): Promise<void> {
  stream.on('error', () => {});
  stream.write(serializeRequest(CMD_EVENTS, { type: 'domain', host: EVENTS_HOST, port: 0 }));
  const reader = new StreamReader(stream);
  const reply = await reader.read(parseReply, { timeoutMs: 10_000 });
  reader.release();
  if (reply.reply !== REPLY.SUCCEEDED) throw new Error(`the proxy pod refused the events channel: ${replyMessage(reply.reply)}`);
  let rest = '';
  for await (const chunk of stream) {
    rest += (chunk as Buffer).toString('utf8');
    let nl = rest.indexOf('\n');
    while (nl >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      try {
        onEvent(JSON.parse(line) as InterceptEvent);
      } catch {
        // a line that is not JSON: skipped
      }
      nl = rest.indexOf('\n');
    }
  }
}

// The pod server's answers to the runner's intercept commands (protocol/intercept/commands.ts):
// INTERCEPT starts the routers from the config the runner sends, INTERCEPT_END ends the intercept
// (answered once the Service is restored and the routers drained), EVENTS streams the events.

import type { Duplex } from 'node:stream';
import { CMD_EVENTS, CMD_INTERCEPT, encodeJsonFrame, type InterceptConfig } from '../../protocol/intercept/commands.js';
import { parseEnvPayload } from '../../protocol/commands.js';
import { REPLY, serializeReply, type StreamReader } from '../../protocol/socks5/index.js';
import type { InterceptHost } from './intercept-host.js';

export async function serveInterceptCommand(
  client: Duplex,
  reader: StreamReader,
  command: number,
  host: InterceptHost,
  log: (line: string) => void,
): Promise<void> {
  const answer = (value: unknown) => {
    client.end(Buffer.concat([serializeReply(REPLY.SUCCEEDED), encodeJsonFrame(value)]));
  };
  if (command === CMD_EVENTS) {
    client.write(serializeReply(REPLY.SUCCEEDED));
    reader.release();
    client.resume();
    const stop = host.subscribe((e) => client.write(`${JSON.stringify(e)}\n`));
    client.once('close', stop);
    client.on('error', () => {});
    return;
  }
  if (command === CMD_INTERCEPT) {
    let config: InterceptConfig;
    try {
      const payload = await reader.read((buf) => parseEnvPayload(buf, 1024 * 1024), { timeoutMs: 10_000 });
      reader.release();
      config = JSON.parse(payload.toString('utf8')) as InterceptConfig;
    } catch (err) {
      answer({ error: `a bad intercept request: ${(err as Error).message}` });
      return;
    }
    try {
      await host.start(config);
      answer({ ok: true });
    } catch (err) {
      log(`kinject-proxy: intercept failed: ${(err as Error).message}`);
      answer({ error: (err as Error).message });
    }
    return;
  }
  // INTERCEPT_END
  reader.release();
  try {
    await host.end('the runner ended it');
    answer({ ok: true });
  } catch (err) {
    answer({ error: (err as Error).message });
  }
}

// A session's side of the inspection page: finds this user's inspection server (server-file.ts)
// or starts it detached (`kinject inspect-server`), says where the page is on stderr, and sends
// every event published in this process (events.ts) to it in small batches over loopback HTTP
// with the per-user secret. Best effort: the session never waits on the page or fails with it.
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import type { Logger } from '../log.js';
import { onInspect, type InspectEvent } from './events.js';
import { readServerFile, type ServerFile } from './server-file.js';

const FLUSH_MS = 100;
const MAX_QUEUED = 10_000;
const START_WAIT_MS = 10_000;

export interface InspectFeed {
  url: string;
  /** sends what is queued, then stops listening */
  close(): Promise<void>;
}

export async function startInspectFeed(sessionId: string, log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<InspectFeed | undefined> {
  let server = readServerFile(env) ?? (await startServer(log, env));
  if (!server) return undefined;
  log.info(`inspection page: ${server.url}`);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let queue: InspectEvent[] = [];
  let sending: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const flush = async () => {
    timer = undefined;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    const body = JSON.stringify({ session: sessionId, events: batch });
    // twice: a kept-alive connection the server closed just now fails once
    for (let attempt = 0; attempt < 2; attempt++) {
      const target = server ?? readServerFile(env);
      if (!target) return;
      try {
        await post(agent, target, body);
        server = target;
        return;
      } catch (err) {
        log.debug(`inspection page: ${err instanceof Error ? err.message : String(err)}`);
        server = undefined; // gone: look for a new one
      }
    }
  };
  const schedule = () => {
    if (timer || sending) return;
    timer = setTimeout(() => {
      sending = flush().finally(() => {
        sending = undefined;
        if (queue.length > 0) schedule();
      });
    }, FLUSH_MS);
    timer.unref();
  };
  const stop = onInspect((event) => {
    if (queue.length >= MAX_QUEUED) queue.shift();
    queue.push(event);
    schedule();
  });
  return {
    url: server.url,
    async close() {
      stop();
      if (timer) clearTimeout(timer);
      await sending;
      await flush();
      const target = server ?? readServerFile(env);
      if (target) await post(agent, target, '', `/api/leave?session=${encodeURIComponent(sessionId)}`).catch(() => {});
      agent.destroy();
    },
  };
}

/** Starts `kinject inspect-server` detached and waits for its file; undefined (and a warning) when it fails. */
async function startServer(log: Logger, env: NodeJS.ProcessEnv): Promise<ServerFile | undefined> {
  const cli = process.argv[1];
  const child = spawn(process.execPath, ['--', cli, 'inspect-server'], { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const deadline = Date.now() + START_WAIT_MS;
  let file: ServerFile | undefined;
  while (Date.now() < deadline) {
    file = readServerFile(env);
    if (file) break;
    if (exited) {
      // another session's server won the lock: its file comes soon
      file = readServerFile(env);
      if (file || stderr.trim()) break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.stderr.destroy();
  child.unref();
  if (!file) log.warn(`the inspection page did not start${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''}`);
  return file;
}

function post(agent: Agent, server: ServerFile, body: string, path = '/api/ingest'): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: 'POST',
        agent,
        timeout: 5000,
        headers: { 'content-type': 'application/json', 'x-kinject-secret': server.secret, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${path}: HTTP ${res.statusCode}`))));
      },
    );
    req.on('timeout', () => req.destroy(new Error('ingest: no answer')));
    req.on('error', reject);
    req.end(body);
  });
}

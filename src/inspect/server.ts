// The inspection page's server (`kinject inspect-server`, started detached by the first session
// that wants it; see docs/design.md "Inspection page"): one per user, on 127.0.0.1:4040 or the next
// free port up to 4049. Sessions POST their events to /api/ingest with the per-user secret; the
// page and scripts read the JSON API and the live stream (server-sent events). It exits when the
// last session leaves (POST /api/leave), or when no session in the local registry has lived for
// EXIT_AFTER_MS (one killed with SIGKILL says nothing).
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listLocalSessions } from '../session/registry.js';
import { EVENT_TYPES, type InspectEvent, type InterceptEvent } from './events.js';
import { refusal } from './guard.js';
import { inspectPage } from './page.js';
import { replayRequest } from './replay.js';
import { releaseServer, takeServerLock, writeServerFile } from './server-file.js';
import { MAX_ROWS, RowStore, type Row } from './store.js';

export const FIRST_PORT = 4040;
export const LAST_PORT = 4049;
const EXIT_AFTER_MS = 5_000;
const MAX_INGEST_BYTES = 8 * 1024 * 1024;

export interface InspectServer {
  port: number;
  secret: string;
  server: Server;
  close(): Promise<void>;
}

export async function startInspectServer(
  options: { firstPort?: number; lastPort?: number; env?: NodeJS.ProcessEnv; onLastLeft?: () => void } = {},
): Promise<InspectServer> {
  const env = options.env ?? process.env;
  const secret = randomBytes(24).toString('hex');
  const store = new RowStore(MAX_ROWS);
  const streams = new Set<ServerResponse>();
  let port = 0;

  const send = (event: string, data: unknown) => {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of streams) res.write(text);
  };

  const sessions = () =>
    listLocalSessions(env)
      .filter((s) => s.alive)
      .map((s) => ({ ...s.record, alive: s.alive })); // each as `kinject session list --json` prints it
  let lastSessions = '';
  const pushSessions = () => {
    const text = JSON.stringify(sessions());
    if (text !== lastSessions) {
      lastSessions = text;
      send('sessions', JSON.parse(text));
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const why = refusal(req, port);
    if (why) return reply(res, 403, { error: `refused: ${why}` });
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const path = url.pathname;
    if (req.method === 'GET' && path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...SECURITY_HEADERS });
      return res.end(inspectPage());
    }
    if (req.method === 'GET' && path === '/api/sessions') return reply(res, 200, { sessions: sessions() });
    if (req.method === 'GET' && path === '/api/rows') {
      const filter = {
        type: url.searchParams.get('type') ?? undefined,
        session: url.searchParams.get('session') ?? undefined,
        q: url.searchParams.get('q') ?? undefined,
      };
      return reply(res, 200, { rows: store.list(filter), dropped: store.dropped, max: MAX_ROWS });
    }
    if (req.method === 'GET' && path === '/api/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', ...SECURITY_HEADERS });
      res.write(`event: hello\ndata: ${JSON.stringify({ dropped: store.dropped })}\n\n`);
      res.write(`event: sessions\ndata: ${JSON.stringify(sessions())}\n\n`);
      streams.add(res);
      req.on('close', () => streams.delete(res));
      return;
    }
    const replayPath = /^\/api\/rows\/(\d+)\/replay$/.exec(path);
    if (req.method === 'POST' && replayPath) {
      // a custom header: a cross-site form or fetch cannot send it without a CORS preflight, which fails
      if (req.headers['x-kinject-inspect'] !== '1') return reply(res, 403, { error: 'refused: the X-Kinject-Inspect: 1 header is missing' });
      const row = store.get(Number(replayPath[1]));
      if (!row || row.type !== 'intercept') return reply(res, 404, { error: `no intercepted request #${replayPath[1]}` });
      const local = localOf(row);
      if (!local) return reply(res, 409, { error: 'this record does not say where the local process listens' });
      const result = await replayRequest(row as InterceptEvent, local);
      row.replays = [...(row.replays ?? []), result];
      send('row', row);
      return reply(res, 200, row);
    }
    if (req.method === 'POST' && path === '/api/ingest') {
      if (req.headers['x-kinject-secret'] !== secret) return reply(res, 403, { error: 'refused: wrong or missing X-Kinject-Secret' });
      const body = await readBody(req);
      if (body === undefined) return reply(res, 413, { error: 'too large' });
      let batch: { session?: unknown; events?: unknown };
      try {
        batch = JSON.parse(body);
      } catch {
        return reply(res, 400, { error: 'not JSON' });
      }
      if (typeof batch.session !== 'string' || !Array.isArray(batch.events)) return reply(res, 400, { error: 'expected { session, events: [...] }' });
      for (const event of batch.events as InspectEvent[]) {
        if (!event || typeof event !== 'object' || !(EVENT_TYPES as readonly string[]).includes(event.type)) continue;
        send('row', store.add(batch.session, event));
      }
      send('dropped', { dropped: store.dropped });
      if (batch.events.some((e) => (e as InspectEvent)?.type === 'tunnel')) setTimeout(pushSessions, 50);
      return reply(res, 200, { ok: true });
    }
    if (req.method === 'POST' && path === '/api/leave') {
      // a session ends: when it was the last one, the server ends now rather than in EXIT_AFTER_MS
      if (req.headers['x-kinject-secret'] !== secret) return reply(res, 403, { error: 'refused: wrong or missing X-Kinject-Secret' });
      const leaving = url.searchParams.get('session');
      const others = listLocalSessions(env).filter((s) => s.alive && s.record.id !== leaving);
      reply(res, 200, { ok: true, exiting: others.length === 0 });
      if (others.length === 0) options.onLastLeft?.();
      return;
    }
    if (req.method === 'GET' && path === '/api/health') return reply(res, 200, { ok: true, pid: process.pid, port });
    return reply(res, 404, { error: `no ${req.method} ${path}` });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => reply(res, 500, { error: err instanceof Error ? err.message : String(err) }));
  });
  server.keepAliveTimeout = 60_000; // sessions send a batch whenever they have events
  port = await listenOnFirstFree(server, options.firstPort ?? FIRST_PORT, options.lastPort ?? LAST_PORT);
  const timer = setInterval(pushSessions, 1000);
  timer.unref();
  return {
    port,
    secret,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        for (const res of streams) res.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** `kinject inspect-server`: the detached server; exits when no registered session lives. */
export async function runInspectServer(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!takeServerLock(env)) return; // another server runs
  let inspect: InspectServer;
  let lastLeft = () => {};
  try {
    const first = Number(env.KINJECT_INSPECT_PORT) || FIRST_PORT;
    inspect = await startInspectServer({ env, firstPort: first, lastPort: first + (LAST_PORT - FIRST_PORT), onLastLeft: () => lastLeft() });
  } catch (err) {
    releaseServer(env);
    throw err;
  }
  const url = `http://127.0.0.1:${inspect.port}/`;
  writeServerFile({ pid: process.pid, port: inspect.port, secret: inspect.secret, url }, env);
  let lonelySince = Date.now();
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    lastLeft = stop;
    setInterval(() => {
      if (listLocalSessions(env).some((s) => s.alive)) lonelySince = Date.now();
      else if (Date.now() - lonelySince > EXIT_AFTER_MS) resolve();
    }, 1000);
  });
  releaseServer(env);
  await inspect.close();
  process.exit(0);
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...SECURITY_HEADERS });
  res.end(`${JSON.stringify(body)}\n`);
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_INGEST_BYTES) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function localOf(row: Row): { host: string; port: number } | undefined {
  const local = (row as InterceptEvent).local;
  if (local && typeof local.port === 'number') return { host: local.host || '127.0.0.1', port: local.port };
  const record = listLocalSessions().find((s) => s.record.id === row.session)?.record;
  const port = Number(record?.details?.localPort);
  return port > 0 ? { host: '127.0.0.1', port } : undefined;
}

async function listenOnFirstFree(server: Server, first: number, last: number): Promise<number> {
  for (let port = first; port <= last; port++) {
    const ok = await new Promise<boolean>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        server.off('listening', onListening);
        if (err.code === 'EADDRINUSE') resolve(false);
        else reject(err);
      };
      const onListening = () => {
        server.off('error', onError);
        resolve(true);
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(port, '127.0.0.1');
    });
    if (ok) return port;
  }
  throw new Error(`ports ${first}-${last} on 127.0.0.1 are all taken: free one, or set KINJECT_INSPECT_PORT to another first port`);
}

// Teleport's listeners: one TCP listener per address and port (127.B.x.y:port), each relaying its
// connections through the session's upstream (a CONNECT over the tunnel's mux) to where the entry
// says, in the cluster. sync() opens what is new, re-points what moved (a headless pod's new IP),
// and closes what is gone. Each listener counts its connections (open now, and since it listens)
// for the inspection page's Teleport table; onChange is called when a count moves.
import net from 'node:net';
import { connectVia } from '../front/connect-via.js';
import type { Upstream } from '../front/upstream.js';
import { errorMessage } from '../util/error-message.js';

export interface Route {
  address: string;
  port: number;
  host: string;
  targetPort: number;
}

interface Listener {
  server: net.Server;
  route: Route;
  sockets: Set<net.Socket>;
  /** connections accepted since it listens */
  total: number;
}

export interface RouteCount {
  route: Route;
  /** connections open now */
  open: number;
  /** connections since the listener opened */
  total: number;
}

const CONNECT_TIMEOUT_MS = 30_000;

export class Relays {
  private readonly listeners = new Map<string, Listener>();
  constructor(
    private readonly upstream: Upstream,
    private readonly warn: (msg: string) => void,
    private readonly onChange: () => void = () => {},
  ) {}

  /** Makes the listeners match `routes`; resolves once every new one listens (or failed, with a warning). */
  async sync(routes: Route[]): Promise<void> {
    const wanted = new Map(routes.map((r) => [`${r.address}:${r.port}`, r]));
    for (const [key, l] of this.listeners) {
      if (!wanted.has(key)) {
        this.listeners.delete(key);
        closeListener(l);
      }
    }
    const opening: Promise<void>[] = [];
    for (const [key, route] of wanted) {
      const l = this.listeners.get(key);
      if (l) {
        l.route = route; // new destination for new connections
        continue;
      }
      opening.push(this.listen(key, route));
    }
    await Promise.all(opening);
  }

  /** The address:port pairs that listen. */
  listening(): Set<string> {
    return new Set(this.listeners.keys());
  }

  /** every listener's route with its connection counts */
  counts(): RouteCount[] {
    return [...this.listeners.values()].map((l) => ({ route: l.route, open: l.sockets.size, total: l.total }));
  }

  close(): void {
    for (const l of this.listeners.values()) closeListener(l);
    this.listeners.clear();
  }

  private listen(key: string, route: Route): Promise<void> {
    const l: Listener = { server: net.createServer(), route, sockets: new Set(), total: 0 };
    l.server.on('connection', (socket) => this.relay(l, socket));
    return new Promise((resolve) => {
      l.server.once('error', (err: NodeJS.ErrnoException) => {
        const hint = err.code === 'EACCES' ? ' (ports below 1024 need root)' : '';
        this.warn(`cannot listen on ${key}: ${err.code ?? errorMessage(err)}${hint}`);
        resolve();
      });
      l.server.listen({ host: route.address, port: route.port, exclusive: true }, () => {
        this.listeners.set(key, l);
        resolve();
      });
    });
  }

  private relay(l: Listener, socket: net.Socket): void {
    l.sockets.add(socket);
    l.total++;
    this.onChange();
    socket.on('close', () => {
      l.sockets.delete(socket);
      this.onChange();
    });
    socket.on('error', () => {});
    socket.pause();
    const { host, targetPort } = l.route;
    const destination = { type: net.isIPv4(host) ? 'ipv4' : net.isIPv6(host) ? 'ipv6' : 'domain', host, port: targetPort } as const;
    connectVia(this.upstream, destination, { timeoutMs: CONNECT_TIMEOUT_MS }).then(
      (result) => {
        const stream = result?.stream;
        if (!stream || socket.destroyed) {
          stream?.destroy();
          socket.resetAndDestroy();
          return;
        }
        stream.on('error', () => socket.destroy());
        socket.on('error', () => stream.destroy());
        stream.on('close', () => socket.destroy());
        socket.on('close', () => stream.destroy());
        socket.pipe(stream);
        stream.pipe(socket);
        socket.resume();
      },
      () => socket.resetAndDestroy(),
    );
  }
}

function closeListener(l: Listener): void {
  l.server.close();
  for (const s of l.sockets) s.destroy();
}

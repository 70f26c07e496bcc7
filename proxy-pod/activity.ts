// Counts what happens on a server's client sockets, for the --exit-when-idle decision (idle.ts):
// how many are open, and an activity counter that grows with every accepted or closed connection
// and every byte received from a client. Bytes the server sends are not counted: a peer that only
// receives (an orphaned port-forward connection the kubelet no longer reads) cannot keep the pod
// alive. Polled, so the data path carries no per-chunk bookkeeping.

import type { Socket } from 'node:net';

export interface ActivitySource {
  /** Open client connections. */
  connections(): number;
  /** Grows with each accepted or closed connection and each byte received; only its changes matter. */
  activity(): number;
}

export class SocketActivity implements ActivitySource {
  private readonly open = new Set<Socket>();
  private events = 0;
  private closedBytes = 0;

  /** Tracks a newly accepted socket until it closes. */
  add(socket: Socket): void {
    this.open.add(socket);
    this.events++;
    socket.once('close', () => {
      if (!this.open.delete(socket)) return;
      this.closedBytes += socket.bytesRead;
      this.events++;
    });
  }

  sockets(): Iterable<Socket> {
    return this.open;
  }

  connections(): number {
    return this.open.size;
  }

  activity(): number {
    let bytes = this.closedBytes;
    for (const s of this.open) bytes += s.bytesRead;
    return this.events + bytes;
  }
}

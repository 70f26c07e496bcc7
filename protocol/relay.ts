// Relays bytes both ways between two streams (sockets, mux channels): pipe() for backpressure,
// an end from one side is passed on as an end to the other (half-close) while the other
// direction keeps flowing; an error or abrupt close on either side destroys both. Shared by the
// runner's front and the pod server.

import type { Duplex } from 'node:stream';

export function relay(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  const destroyBoth = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', destroyBoth);
  b.on('error', destroyBoth);
  // A stream that closed after a clean exchange of ends leaves the other to finish flushing;
  // one that closed any other way takes the other down with it.
  const onClose = (other: Duplex) => () => {
    if (!(other.writableEnded && other.readableEnded)) other.destroy();
  };
  a.once('close', onClose(b));
  b.once('close', onClose(a));
}

// The upstream side of the front: something that hands out streams to a SOCKS5 server, already
// past greeting and authentication, each ready for one request (docs/design.md).
import type { Duplex } from 'node:stream';

export interface Upstream {
  /** a stream to the SOCKS5 server, authenticated, ready for exactly one request */
  open(): Promise<Duplex>;
  /** whether the server answers Tor's RESOLVE / RESOLVE_PTR */
  readonly resolveSupported: boolean;
  /** a one-line description for messages, e.g. "socks5://127.0.0.1:1080" or "pod kinject-ab12" */
  readonly description: string;
  close(): Promise<void>;
}

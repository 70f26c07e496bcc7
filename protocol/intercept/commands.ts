// kinject's intercept commands (docs/design.md "SOCKS5 as kinject speaks it", docs/inbound.md),
// sent by the runner on a channel of its tunnel to the proxy pod, each with ATYP 3 host and port 0:
//   EVENTS 0xF5            reply 0, then newline-delimited JSON events from the pod (InterceptEvent)
//   INTERCEPT 0xF6         the runner then sends a length-prefixed JSON InterceptConfig (4-byte
//                          big-endian length); the pod starts its routers and answers reply 0 and
//                          a length-prefixed JSON {ok:true} or {error:"one line"}
//   INTERCEPT_END 0xF7     the pod ends the intercept (leave/restore, drain); reply 0 and
//                          {ok:true} or {error} once the Service is restored
// Pod-opened channels (even ids) to the local process start with a plain SOCKS CONNECT request for
// 127.0.0.1:LOCALPORT (no greeting); the runner answers 0, 2 (a port not intercepted) or 5.
import type { InboundRecord } from './record.js';

export const CMD_EVENTS = 0xf5;
export const CMD_INTERCEPT = 0xf6;
export const CMD_INTERCEPT_END = 0xf7;
export const EVENTS_HOST = 'events';
/** the router pod's readiness endpoint (HTTP GET /ready on the pod IP): 200 while its routers take traffic */
export const ROUTER_HEALTH_PORT = 1090;
export const INTERCEPT_HOST = 'intercept';
/** an intercept's runner pings its pod this often (other sessions: every 5 s) */
export const INTERCEPT_PING_MS = 1000;
/**
 * the pod counts its runner away after this long without a byte from it (the laptop asleep, its
 * network gone: the tunnel stays open but nothing comes): requests matching the intercept go to the
 * workload until it is heard again, and after the grace the pod restores the Service
 */
export const RUNNER_QUIET_MS = 4000;
export const INTERCEPT_END_HOST = 'intercept-end';

export interface InterceptPortConfig {
  /** the Service port's number (as the Service lists it) */
  servicePort: number;
  /** the port the router listens on in the pod (the Service's targetPort as a number) */
  listen: number;
  /** where the local process listens on the developer's machine */
  localPort: number;
  /** where requests that do not match go: the decoy Service's port for this Service port */
  decoyPort: number;
}

export interface InterceptHeader {
  name: string;
  value: string;
}

export interface InterceptConfig {
  session: string;
  /** "user@host" */
  user: string;
  namespace: string;
  service: string;
  /** the decoy Service's DNS name (kinject-<session>-orig) */
  decoyHost: string;
  ports: InterceptPortConfig[];
  headers: InterceptHeader[];
  pathPrefix?: string;
  /** the kinject-restorer token and the cluster CA, so the pod can restore the Service itself */
  apiToken: string;
  apiCa: string;
  /** seconds without the runner before the pod restores the Service and exits */
  graceSeconds: number;
}

export type InterceptEvent =
  | ({ type: 'record' } & InboundRecord)
  | { type: 'warning'; line: string }
  | { type: 'service-changed'; by: string; at: string; what: string }
  | { type: 'intercept-ended'; why: string };

/** A length-prefixed JSON message (the INTERCEPT payloads). */
export function encodeJsonFrame(value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length, 0);
  return Buffer.concat([len, json]);
}

// What every part of the router shares: the rules, the local side, the pass-through target (the
// decoy Service) with its keep-alive pool, and where records go.

import type { Agent } from 'node:http';
import type { LocalSide } from './local-side.js';
import type { RecordSink } from './exchange.js';
import { type Decision, type HeaderBag, type InterceptRules, decide } from './rules.js';

export interface PassThrough {
  host: string;
  port: number;
}

export interface Peer {
  session: string;
  rules: InterceptRules;
  host: string;
  port: number;
}

/** the header a router adds to a request it forwards to a peer: the peer never forwards it again */
export const VIA_HEADER = 'x-kinject-via';

export interface RouterContext {
  rules: InterceptRules;
  local: LocalSide;
  passThrough: PassThrough;
  /** keep-alive connections to passThrough for HTTP/1.1 */
  passAgent: Agent;
  onRecord?: RecordSink;
  /** false while the runner is not connected: everything goes to passThrough (fail-open) */
  localEnabled: boolean;
  /** other sessions' routers on the same Service (their rules and pod address), from the Service's members */
  peers?: Peer[];
  /** the Service no longer selects this router: every HTTP/1.1 response says Connection: close */
  draining?: boolean;
}

/** the decision for one request: the rules, unless the local side is switched off */
export function route(ctx: RouterContext, headers: HeaderBag, path: string): Decision & { peer?: Peer } {
  const mine = ctx.localEnabled ? decide(ctx.rules, headers, path) : { to: 'cluster' as const, why: 'the runner is not connected' };
  if (mine.to === 'local' || headers[VIA_HEADER] !== undefined) return mine;
  for (const peer of ctx.peers ?? []) {
    if (decide(peer.rules, headers, path).to === 'local') return { to: 'cluster', why: `matches session ${peer.session}'s rules`, peer };
  }
  return mine;
}

/** the 502 body when the cluster side fails (the local side has its own: LocalSide.unavailableText) */
export function clusterUnavailableText(p: PassThrough, err: Error): string {
  return `kinject: the workload's pods (${p.host}:${p.port}) are not reachable: ${err.message}\n`;
}

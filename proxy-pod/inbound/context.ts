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

export interface RouterContext {
  rules: InterceptRules;
  local: LocalSide;
  passThrough: PassThrough;
  /** keep-alive connections to passThrough for HTTP/1.1 */
  passAgent: Agent;
  onRecord?: RecordSink;
  /** false while the runner is not connected: everything goes to passThrough (fail-open) */
  localEnabled: boolean;
}

/** the decision for one request: the rules, unless the local side is switched off */
export function route(ctx: RouterContext, headers: HeaderBag, path: string): Decision {
  if (!ctx.localEnabled) return { to: 'cluster', why: 'the runner is not connected' };
  return decide(ctx.rules, headers, path);
}

/** the 502 body when the cluster side fails (the local side has its own: LocalSide.unavailableText) */
export function clusterUnavailableText(p: PassThrough, err: Error): string {
  return `kinject: the workload's pods (${p.host}:${p.port}) are not reachable: ${err.message}\n`;
}

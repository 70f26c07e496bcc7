// The inspection feed's event bus, inside one kinject process: the front publishes each SOCKS
// connection, the resolver each name lookup, the session its tunnel's state changes, an inbound
// router its request records, a teleport its table with connection counts, a session the env it
// gave its program. Publishing costs nothing when nobody listens (no listener: the
// event is not even built by callers that check inspectListening()); src/inspect/feed.ts listens
// and sends the events to the inspection page's server.
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import type { InboundRecord } from '../../protocol/intercept/record.js';

/** how a connection ended */
export type ConnectionEnd = 'closed' | 'reset' | 'refused' | 'timed out' | 'no such name' | 'unreachable' | 'failed';

export interface ConnectionEvent {
  type: 'connection';
  /** per process: opened, then closed with the same id */
  id: number;
  phase: 'open' | 'close';
  time: string;
  pid?: number;
  process?: string;
  /** the destination as the program asked (a name or an address) */
  asked: string;
  /** the name behind a stand-in address, or the address the name resolved to, when known */
  resolved?: string;
  port: number;
  bytesOut?: number;
  bytesIn?: number;
  durationMs?: number;
  end?: ConnectionEnd;
  error?: string;
}

export interface DnsEvent {
  type: 'dns';
  time: string;
  name: string;
  answer?: string;
  error?: string;
  durationMs: number;
  /** the process that asked (through the shim's RESOLVE or a datagram to the local DNS server), when found */
  pid?: number;
  process?: string;
}

export interface TunnelEvent {
  type: 'tunnel';
  time: string;
  state: 'starting' | 'up' | 'lost' | 'closed';
  reason?: string;
}

/** A request an intercept sent to the local process: its record as the pod's router wrote it. */
export interface InterceptEvent {
  type: 'intercept';
  time: string;
  record: InboundRecord;
  /** where the local process listens, for Replay */
  local?: { host: string; port: number };
}

/** A teleport session's whole table now (each one replaces the session's last): one entry per address and port. */
export interface TeleportEvent {
  type: 'teleport';
  time: string;
  table: {
    address: string;
    port: number;
    names: string[];
    /** where its connections go in the cluster, host:port */
    to: string;
    /** connections open now, and since the listener opened */
    open: number;
    total: number;
  }[];
}

/** The environment a session gave its program (each one replaces the session's last); values are secret on the page. */
export interface EnvEvent {
  type: 'env';
  time: string;
  /** where it comes from: the target workload's container, or what kinject set */
  source: string;
  vars: Record<string, string>;
}

export type InspectEvent = ConnectionEvent | DnsEvent | TunnelEvent | InterceptEvent | TeleportEvent | EnvEvent;

/** the event types ingest accepts */
export const EVENT_TYPES = ['connection', 'dns', 'tunnel', 'intercept', 'teleport', 'env'] as const;

const bus = new EventEmitter();
bus.setMaxListeners(0);

export function inspectListening(): boolean {
  return bus.listenerCount('event') > 0;
}

export function publishInspect(event: InspectEvent): void {
  if (bus.listenerCount('event') > 0) bus.emit('event', event);
}

/** Listens to every event published in this process; returns the function that stops it. */
export function onInspect(listener: (event: InspectEvent) => void): () => void {
  bus.on('event', listener);
  return () => bus.off('event', listener);
}

/** the process a name lookup is made for (found while the lookup runs), set by the front around its resolver call */
export const lookupOwner = new AsyncLocalStorage<Promise<{ pid: number; command: string } | undefined>>();

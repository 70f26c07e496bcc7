// The front's part of the inspection feed: one "open" event when the shim asks for a connection
// and one "close" event when it ends, with the bytes each way, its duration and how it ended.
// Returns undefined when nobody listens, so the front does no extra work then. The process behind
// a connection is the pid the shim gave in its SOCKS username (its command read from /proc);
// for a client that gave none it is looked up off the connection's path, in batches
// (peer-process.ts): the "open" event goes out once it is known, the "close" event after it.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { REPLY, type Destination } from '../../protocol/socks5/index.js';
import { inspectListening, lookupOwner, publishInspect, type ConnectionEnd, type ConnectionEvent } from './events.js';
import { PeerProcessBatch, commandOf, type PeerProcess } from './peer-process.js';

const owners = new PeerProcessBatch();

let nextId = 1;

export interface ConnectionWatch {
  /** the connection was not made: the SOCKS reply (undefined: the upstream itself failed) */
  failed(reply: number | undefined, error?: string): void;
  /** bytes flow between the program's socket and the upstream stream */
  relaying(stream: Duplex): void;
}

export function connectionWatch(socket: Socket, requested: Destination, name: string | undefined, clientPid?: number): ConnectionWatch | undefined {
  if (!inspectListening()) return undefined;
  const started = Date.now();
  const base: ConnectionEvent = {
    type: 'connection',
    id: nextId++,
    phase: 'open',
    time: new Date(started).toISOString(),
    asked: name ?? requested.host,
    port: requested.port,
  };
  if (name !== undefined) base.resolved = `${requested.host} (stand-in)`;
  const opened = ownerOf(socket, clientPid).then((owner) => {
    if (owner) {
      base.pid = owner.pid;
      base.process = owner.command;
    }
    publishInspect(base);
  });
  let done = false;
  // the handshake and the SOCKS reply are not the program's bytes
  let read0 = socket.bytesRead;
  let written0 = socket.bytesWritten;
  let relayed = false;
  const close = (end: ConnectionEnd, error?: string) => {
    if (done) return;
    done = true;
    const closed = {
      phase: 'close' as const,
      time: new Date().toISOString(),
      bytesOut: relayed ? socket.bytesRead - read0 : 0,
      bytesIn: relayed ? socket.bytesWritten - written0 : 0,
      durationMs: Date.now() - started,
      end,
      ...(error ? { error } : {}),
    };
    void opened.then(() => publishInspect({ ...base, ...closed }));
  };
  return {
    failed(reply, error) {
      close(endOfReply(reply, requested), error);
    },
    relaying(stream) {
      relayed = true;
      read0 = socket.bytesRead - socket.readableLength;
      written0 = socket.bytesWritten;
      let errored: string | undefined;
      socket.on('error', (err) => {
        errored ??= err.message;
      });
      stream.on('error', (err) => {
        errored ??= err.message;
      });
      let clean = false;
      stream.once('end', () => {
        clean = true;
      });
      socket.once('close', () => close(errored || !clean ? 'reset' : 'closed', errored));
    },
  };
}

function endOfReply(reply: number | undefined, requested: Destination): ConnectionEnd {
  switch (reply) {
    case REPLY.CONNECTION_REFUSED:
      return 'refused';
    case REPLY.TTL_EXPIRED:
      return 'timed out';
    case REPLY.HOST_UNREACHABLE:
      return requested.type === 'domain' ? 'no such name' : 'unreachable';
    case REPLY.NETWORK_UNREACHABLE:
      return 'unreachable';
    default:
      return 'failed';
  }
}

/** Runs a lookup the shim asked for on socket, so its event names the process that asked. */
export function asLookupOf<T>(socket: Socket, clientPid: number | undefined, lookup: () => Promise<T>): Promise<T> {
  if (!inspectListening() || (!socket.remotePort && clientPid === undefined)) return lookup();
  return lookupOwner.run(ownerOf(socket, clientPid), lookup);
}

/** the pid the client named (the shim's), else a batched /proc look-up of its port */
function ownerOf(socket: Socket, clientPid: number | undefined): Promise<PeerProcess | undefined> {
  if (clientPid !== undefined) return Promise.resolve({ pid: clientPid, command: recentCommandOf(clientPid) });
  return socket.remotePort ? owners.ownerOf(socket.remotePort, socket.localPort) : Promise.resolve(undefined);
}

/** how long a process's command line read from /proc is reused (a process rarely execs within it) */
const COMMAND_LIFE_MS = 1000;
const commands = new Map<number, { command: string; until: number }>();

/** commandOf, read at most once a COMMAND_LIFE_MS per pid: a program opening many connections pays one read */
function recentCommandOf(pid: number): string {
  const now = Date.now();
  const kept = commands.get(pid);
  if (kept && kept.until > now) return kept.command;
  if (commands.size >= 256) commands.clear();
  const command = commandOf(pid);
  commands.set(pid, { command, until: now + COMMAND_LIFE_MS });
  return command;
}

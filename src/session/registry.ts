// The local session registry: one JSON record per kinject session of this user, so that `kinject
// session list`, the inspection page and `kinject cleanup` can see every session on this machine —
// `kinject run`, intercepts, teleport — and tell a live one from one whose process died:
//   ${XDG_RUNTIME_DIR:-/tmp}/kinject-<uid>/sessions/<id>.json     (directory 0700, files 0600)
// A record is written atomically (a temporary file renamed over it) by the process that owns the
// session (record.pid) and removed by it at its end; a record whose pid is gone is dead (SIGKILL,
// reboot) and is removed by the next one who asks (removeDeadSessions).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir, processAlive, runtimeBase } from '../volumes/state.js';
import { writePrivateFileAtomically } from '../util/write-private.js';

export type SessionKind = 'run' | 'intercept' | 'teleport';
export type TunnelState = 'starting' | 'up' | 'lost' | 'closed';

export interface SessionRecord {
  /** the session id (the cluster session's id, or a random one without a cluster) */
  id: string;
  kind: SessionKind;
  /** the kinject process that owns the session */
  pid: number;
  /** ISO time */
  startedAt: string;
  context?: string;
  namespaces: string[];
  target?: string;
  /** namespace/name of the proxy pod */
  proxyPod?: string;
  /** the command the session runs (kinject run) */
  command?: string[];
  tunnel: TunnelState;
  /** every change of the tunnel's state, oldest first: { state, at (ISO), reason? } */
  tunnelHistory: { state: TunnelState; at: string; reason?: string }[];
  /** further facts a kind adds (teleport's addresses, intercepts' ports, the inspection URL...) */
  details?: Record<string, unknown>;
}

export interface LocalSession {
  record: SessionRecord;
  /** its process still runs */
  alive: boolean;
  /** the record's file */
  file: string;
}

const ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function sessionsDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(runtimeBase(env), 'sessions');
}

export function newSessionId(): string {
  return randomBytes(4).toString('hex');
}

/** The handle of a registered session: update its record, and remove it at the session's end. */
export interface RegisteredSession {
  readonly record: SessionRecord;
  /** the record's file */
  readonly file: string;
  update(patch: Partial<Omit<SessionRecord, 'id' | 'pid'>>): void;
  setTunnel(state: TunnelState, reason?: string): void;
  remove(): void;
}

/** Writes this process's record for a new session; throws on a bad id. */
export function registerSession(
  fields: Omit<SessionRecord, 'pid' | 'startedAt' | 'tunnel' | 'tunnelHistory'> & Partial<Pick<SessionRecord, 'tunnel'>>,
  env: NodeJS.ProcessEnv = process.env,
): RegisteredSession {
  if (!ID.test(fields.id)) throw new Error(`bad session id ${JSON.stringify(fields.id)}`);
  const dir = ensurePrivateDir(sessionsDir(env));
  const now = new Date().toISOString();
  const tunnel = fields.tunnel ?? 'starting';
  const record: SessionRecord = { ...fields, pid: process.pid, startedAt: now, tunnel, tunnelHistory: [{ state: tunnel, at: now }] };
  const file = join(dir, `${fields.id}.json`);
  let removed = false;
  const save = () => {
    if (!removed) writeAtomically(file, `${JSON.stringify(record, null, 2)}\n`);
  };
  save();
  return {
    record,
    file,
    update(patch) {
      Object.assign(record, patch);
      save();
    },
    setTunnel(state, reason) {
      if (record.tunnel === state) return;
      record.tunnel = state;
      record.tunnelHistory.push({ state, at: new Date().toISOString(), ...(reason ? { reason } : {}) });
      if (record.tunnelHistory.length > 100) record.tunnelHistory.splice(1, record.tunnelHistory.length - 100);
      save();
    },
    remove() {
      removed = true;
      rmSync(file, { force: true });
    },
  };
}

/** Every session record of this user, live and dead, oldest first; unreadable files are skipped. */
export function listLocalSessions(env: NodeJS.ProcessEnv = process.env): LocalSession[] {
  const dir = sessionsDir(env);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: LocalSession[] = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const file = join(dir, name);
    try {
      const record = JSON.parse(readFileSync(file, 'utf8')) as SessionRecord;
      if (typeof record.id !== 'string' || typeof record.pid !== 'number') continue;
      out.push({ record, alive: processAlive(record.pid), file });
    } catch {
      // a record being replaced right now, or not ours: skip it
    }
  }
  return out.sort((a, b) => a.record.startedAt.localeCompare(b.record.startedAt));
}

/** Removes the records whose process is gone; returns them. */
export function removeDeadSessions(env: NodeJS.ProcessEnv = process.env): SessionRecord[] {
  const dead = listLocalSessions(env).filter((s) => !s.alive);
  for (const s of dead) rmSync(s.file, { force: true });
  return dead.map((s) => s.record);
}

function writeAtomically(file: string, text: string): void {
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  writePrivateFileAtomically(file, text);
}

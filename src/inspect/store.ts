// The inspection server's memory: the rows of every session's events, newest last, at most
// MAX_ROWS (the oldest are dropped and counted). A connection's "close" event replaces its "open"
// row; a connection to a name gets the name's last DNS answer in that session as "resolved". A
// teleport table or an env is a snapshot: a session's new one replaces its last (same seq).
// Nothing is written to disk.
import type { InspectEvent } from './events.js';

export const MAX_ROWS = 10_000;

export type Row = InspectEvent & {
  /** the row's number, unique in this server; an updated row keeps it */
  seq: number;
  session: string;
  replays?: ReplayResult[];
};

export interface ReplayResult {
  time: string;
  status: number;
  responseHeaders: string[];
  responseBody: { base64: string; bytes: number; truncated: boolean };
  durationMs: number;
  error?: string;
}

export class RowStore {
  private readonly rows = new Map<number, Row>();
  private readonly open = new Map<string, number>();
  private readonly answers = new Map<string, string>();
  private readonly names = new Map<string, string>();
  private readonly snapshots = new Map<string, number>();
  private seq = 0;
  dropped = 0;

  constructor(private readonly max = MAX_ROWS) {}

  /** adds (or, for a connection's close, updates) a row; returns it */
  add(session: string, event: InspectEvent): Row {
    if (event.type === 'dns' && event.answer) {
      const name = event.name.replace(/\.$/, '').toLowerCase();
      this.answers.set(`${session}\0${name}`, event.answer);
      this.names.set(`${session}\0${event.answer}`, name);
    }
    if (event.type === 'connection') {
      const key = `${session}\0${event.id}`;
      // a name: the address it resolved to; an address the program got from a lookup: that name
      const resolved = event.resolved ?? this.answers.get(`${session}\0${event.asked.toLowerCase()}`) ?? fromName(this.names.get(`${session}\0${event.asked}`));
      const known = this.open.get(key);
      if (event.phase === 'close' && known !== undefined && this.rows.has(known)) {
        const previous = this.rows.get(known) as Row;
        const row = { ...previous, ...event, resolved: resolved ?? (previous as { resolved?: string }).resolved, time: previous.time, seq: known } as Row;
        this.rows.set(known, row);
        this.open.delete(key);
        return row;
      }
      const row = this.insert({ ...event, resolved, session } as Row);
      if (event.phase === 'open') this.open.set(key, row.seq);
      return row;
    }
    if (event.type === 'teleport' || event.type === 'env') {
      const key = `${event.type}\0${session}`;
      const known = this.snapshots.get(key);
      if (known !== undefined && this.rows.has(known)) {
        const row = { ...event, session, seq: known } as Row;
        this.rows.set(known, row);
        return row;
      }
      const row = this.insert({ ...event, session } as Row);
      this.snapshots.set(key, row.seq);
      return row;
    }
    return this.insert({ ...event, session } as Row);
  }

  get(seq: number): Row | undefined {
    return this.rows.get(seq);
  }

  /** rows oldest first, filtered by type, session and text (anywhere in the row's JSON) */
  list(filter: { type?: string; session?: string; q?: string } = {}): Row[] {
    const q = filter.q?.toLowerCase();
    const out: Row[] = [];
    for (const row of this.rows.values()) {
      if (filter.type && row.type !== filter.type) continue;
      if (filter.session && row.session !== filter.session) continue;
      if (q && !JSON.stringify(row).toLowerCase().includes(q)) continue;
      out.push(row);
    }
    return out;
  }

  get size(): number {
    return this.rows.size;
  }

  private insert(row: Row): Row {
    row.seq = ++this.seq;
    this.rows.set(row.seq, row);
    while (this.rows.size > this.max) {
      const oldest = this.rows.keys().next().value as number;
      this.rows.delete(oldest);
      this.dropped++;
    }
    return row;
  }
}

function fromName(name: string | undefined): string | undefined {
  return name === undefined ? undefined : `from the name ${name}`;
}

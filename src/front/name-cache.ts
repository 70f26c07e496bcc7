// A small time-bounded cache of name answers for the resolver: a program that opens many
// connections to `redis` asks once every few seconds, not once per connection (each question is
// a round trip to the cluster). Concurrent questions for the same key share one request; failures
// are not cached; the oldest entries go first when the cache is full.

export interface NameCacheOptions {
  /** how long an answer (an address, a name, or "no such name") is reused */
  ttlMs: number;
  /** most entries kept */
  maxEntries: number;
  /** clock (tests) */
  now?: () => number;
}

interface Entry<T> {
  value: T;
  expires: number;
}

export class NameCache<T> {
  private readonly answers = new Map<string, Entry<T>>();
  private readonly pending = new Map<string, Promise<T>>();
  private readonly now: () => number;

  constructor(private readonly options: NameCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The cached answer for key, or lookup()'s (shared with other callers asking meanwhile). */
  get(key: string, lookup: () => Promise<T>): Promise<T> {
    const hit = this.answers.get(key);
    if (hit && hit.expires > this.now()) return Promise.resolve(hit.value);
    if (hit) this.answers.delete(key);
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const asked = lookup().then(
      (value) => {
        this.pending.delete(key);
        this.store(key, value);
        return value;
      },
      (err: unknown) => {
        this.pending.delete(key);
        throw err;
      },
    );
    this.pending.set(key, asked);
    return asked;
  }

  /** how much longer key's cached answer is good, in ms (0: none cached) */
  ttlLeft(key: string): number {
    const hit = this.answers.get(key);
    return hit ? Math.max(0, hit.expires - this.now()) : 0;
  }

  get size(): number {
    return this.answers.size;
  }

  private store(key: string, value: T): void {
    if (this.options.ttlMs <= 0) return;
    this.answers.delete(key); // re-insert at the end: Map order is insertion order
    this.answers.set(key, { value, expires: this.now() + this.options.ttlMs });
    while (this.answers.size > this.options.maxEntries) {
      const oldest = this.answers.keys().next().value as string;
      this.answers.delete(oldest);
    }
  }
}

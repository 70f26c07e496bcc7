// Loopback addresses for teleport: a session owns one /16 of 127.0.0.0/8, 127.B.0.0/16 (Linux
// answers on all of 127/8 without any set-up, and binding there needs no root). B is the lowest
// number from 1 to 254 that no other live teleport session of this machine holds (its record's
// details.block), skipping 77 (127.77/16 is the front's stand-in range). Inside the block every
// Service (or headless pod) gets the next address, 127.B.0.1, 127.B.0.2, ..., and keeps it for
// the whole session, even if the Service goes away and comes back. Two teleports starting at the
// same moment cannot take the same block: each claims its block with a file created exclusively,
// <dir>/block-<B> holding its pid (claimBlock); a claim whose pid is gone is taken over.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir } from '../volumes/state.js';

export const FAKE_RANGE_BLOCK = 77;

export function pickBlock(used: Iterable<number>): number | undefined {
  const taken = new Set(used);
  for (let b = 1; b <= 254; b++) {
    if (b !== FAKE_RANGE_BLOCK && !taken.has(b)) return b;
  }
  return undefined;
}

/** Addresses of one session's block, one per key, stable for the object's lifetime. */
export class AddressBook {
  private readonly byKey = new Map<string, string>();
  private next = 1;
  constructor(readonly block: number) {}

  addressFor(key: string): string {
    let a = this.byKey.get(key);
    if (!a) {
      const n = this.next++;
      if (n > 254 * 256) throw new Error(`no more addresses in 127.${this.block}.0.0/16`);
      a = `127.${this.block}.${Math.floor((n - 1) / 254)}.${((n - 1) % 254) + 1}`;
      this.byKey.set(key, a);
    }
    return a;
  }
}

/** how long an empty block file counts as being claimed by the process that just created it */
const CLAIMING_MS = 10_000;

/**
 * Claims the lowest free block for this process: the file dir/block-B created exclusively (or
 * taken over when the pid in it is not alive). Returns B and how to release it, or undefined.
 */
export function claimBlock(dir: string, alive: (pid: number) => boolean): { block: number; release: () => void } | undefined {
  ensurePrivateDir(dir);
  for (let b = 1; b <= 254; b++) {
    if (b === FAKE_RANGE_BLOCK) continue;
    const file = join(dir, `block-${b}`);
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
    } catch {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      // empty: another starter created it this instant and is writing its pid (a released block says 0)
      if (text === '' && Date.now() - statSync(file).mtimeMs < CLAIMING_MS) continue;
      const owner = Number(text);
      if (owner === process.pid || alive(owner)) continue;
      writeFileSync(file, String(process.pid), { mode: 0o600 }); // a dead session's block
      // another starter may have taken it over at the same moment: the last writer wins, the other moves on
      if (Number(readFileSync(file, 'utf8')) !== process.pid) continue;
    }
    const release = () => {
      try {
        if (Number(readFileSync(file, 'utf8')) === process.pid) writeFileSync(file, '0');
      } catch {
        // gone
      }
    };
    return { block: b, release };
  }
  return undefined;
}

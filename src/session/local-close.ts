// Ending sessions of this machine by their local record (session/registry.ts): a live one gets
// SIGTERM (kinject run passes it to its command, teleport closes; each removes what it made) and
// is waited for, SIGKILL after 20 s; a dead one's leftovers are removed (teleport/leftovers.ts).
import { rmSync } from 'node:fs';
import { listLocalSessions, type LocalSession } from './registry.js';
import { processAlive } from '../volumes/state.js';
import { removeDeadTeleports } from '../teleport/leftovers.js';

const GRACE_MS = 20_000;

async function waitGone(pid: number, ms: number): Promise<boolean> {
  for (let i = 0; i < ms / 100; i++) {
    if (!processAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !processAlive(pid);
}

/** Ends one session (dead: nothing to do here; live: SIGTERM, wait, SIGKILL after 20 s); returns a line saying what happened. */
export async function closeLocalSession(s: LocalSession): Promise<string> {
  const r = s.record;
  const what = `${r.kind} session ${r.id} (pid ${r.pid})`;
  if (!s.alive) return `removed dead ${what}`; // its record goes in closeLocalSessions, after its leftovers
  try {
    process.kill(r.pid, 'SIGTERM');
  } catch {
    // gone meanwhile
  }
  if (await waitGone(r.pid, GRACE_MS)) return `closed ${what}`;
  try {
    process.kill(r.pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
  await waitGone(r.pid, 5000);
  return `killed ${what}: it did not end within ${GRACE_MS / 1000} s of SIGTERM (its cluster objects go by \`kinject cleanup -n NS\` once its Lease expires)`;
}

/** Ends every session of this machine matching `which`, then removes dead teleports' leftovers. */
export async function closeLocalSessions(which: (s: LocalSession) => boolean): Promise<{ lines: string[]; warnings: string[] }> {
  const lines = await Promise.all(listLocalSessions().filter(which).map(closeLocalSession));
  const dead = removeDeadTeleports();
  for (const s of listLocalSessions()) if (!s.alive && which(s)) rmSync(s.file, { force: true });
  return { lines: [...lines, ...dead.removed], warnings: dead.warnings };
}

// Reads /proc/self/mountinfo (Linux): which FUSE mounts exist, where, from what source, for whom.

import { readFileSync } from 'node:fs';

export interface MountInfoEntry {
  mountPoint: string;
  fsType: string;
  source: string;
  /** FUSE mounts carry `user_id=N` in their super options: the user who mounted it. */
  userId?: number;
}

const unescapeOctal = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));

export function parseMountInfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (dash < 0 || fields.length < dash + 3) continue;
    const superOpts = fields[dash + 3] ?? '';
    const uid = /(?:^|,)user_id=(\d+)(?:,|$)/.exec(superOpts);
    out.push({
      mountPoint: unescapeOctal(fields[4]!),
      fsType: fields[dash + 1]!,
      source: unescapeOctal(fields[dash + 2]!),
      userId: uid ? Number(uid[1]) : undefined,
    });
  }
  return out;
}

export function readMountInfo(file = '/proc/self/mountinfo'): MountInfoEntry[] {
  try {
    return parseMountInfo(readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
}

export function findMount(mountPoint: string, entries = readMountInfo()): MountInfoEntry | undefined {
  // The last entry wins: a later mount on the same point hides the earlier ones.
  let found: MountInfoEntry | undefined;
  for (const e of entries) if (e.mountPoint === mountPoint) found = e;
  return found;
}

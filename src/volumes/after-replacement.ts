// After self-healing replaced the proxy pod (session/self-healing.ts), is the volume mount usable
// again? sshfs' `reconnect` logs in to the new pod (same keys) on the next file access; this makes
// that access: a lookup of a name nobody has (never in a cache, so it reaches the pod's SFTP
// server): "no such file" means the server answered. Tried for up to PROBE_FOR_MS (ssh's own
// ConnectTimeout is 15 s); if sshfs is gone, the mount is gone, or no answer came, the caller gets
// one line naming the mount and what to do (said once per session, not per replacement).
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { findMount } from './mountinfo.js';
import { MOUNT_FSTYPE } from './state.js';
import { sleep } from '../util/sleep.js';

export const PROBE_FOR_MS = 45_000;
const PROBE_TIMEOUT_MS = 20_000;

export interface MountProbeTarget {
  root: string;
  sshfsRunning(): boolean;
}

/** undefined when the mount answers; else why not (a few words) */
export async function probeMountAgain(m: MountProbeTarget, forMs = PROBE_FOR_MS): Promise<string | undefined> {
  const until = Date.now() + forMs;
  let why = 'no answer';
  for (;;) {
    if (!m.sshfsRunning()) return 'sshfs has exited';
    if (findMount(m.root)?.fsType !== MOUNT_FSTYPE) return 'it is no longer mounted';
    const answer = await lookup(join(m.root, `.kinject-probe-${randomBytes(6).toString('hex')}`));
    if (answer === 'ENOENT' || answer === 'ok') return undefined;
    why = answer;
    if (Date.now() + 1000 > until) return why;
    await sleep(1000);
  }
}

async function lookup(path: string): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((r) => {
    timer = setTimeout(() => r('no answer'), PROBE_TIMEOUT_MS);
    timer.unref();
  });
  const probe = stat(path).then(
    () => 'ok',
    (err: NodeJS.ErrnoException) => err.code ?? err.message,
  );
  const r = await Promise.race([probe, timeout]);
  clearTimeout(timer);
  return r;
}

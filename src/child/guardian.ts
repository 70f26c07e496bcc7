// The child's guardian: nothing of the user's command outlives a kinject that is SIGKILLed (or
// crashes) while it runs (issue 17, item 3). A tiny `sh` started right after the child, with a
// plain environment (no shim), ignoring the terminal's signals, blocks in `read` on a pipe whose
// only writer is kinject. kinject writes "done" once the child has exited (release()); if kinject
// dies first, the kernel closes the pipe, `read` sees end of file and the guardian sends SIGTERM to
// the child (the direct child only: what the child started in turn is the child's to end, as when
// any parent dies; a shell ends on SIGTERM and its commands fail fast, their proxy being gone).
// Why not PR_SET_PDEATHSIG through `setpriv` (as for sshfs): the child would then be exec'ed by
// setpriv with the shim already loaded, and the shim's exec rules (refuse/warn for binaries it
// cannot capture) would apply to the command itself, which kinject starts directly today.
// Why SIGTERM and not SIGKILL: the command may have files to close; it has no network anyway.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Leftovers } from '../volumes/mount.js';

// After SIGTERM to the child: what kinject would have removed at its end (volume mounts: see
// volumes/mount.ts Leftovers), as arguments "t:DIR" (a tree), "d:DIR" (an empty dir: a mount point
// that sshfs, dying with kinject by its pdeathsig, unmounts in a moment) and "f:FILE" (removed once
// every "d:" is gone); tried every 0.5 s for at most 10 s.
const SCRIPT = [
  'trap "" INT HUP TERM QUIT TSTP; read -r line; [ "$line" = done ] && exit 0',
  'kill -TERM "$1" 2>/dev/null; shift',
  'n=0; while [ $n -lt 20 ]; do busy=0',
  // a mount point whose FUSE daemon died fails stat (ENOTCONN) until unmounted: only rmdir's own
  // "No such file" counts as gone
  '  for a in "$@"; do case $a in t:*) rm -rf -- "${a#t:}";; d:*) out=$(rmdir -- "${a#d:}" 2>&1) || case $out in *"No such file"*) ;; *) busy=1;; esac;; esac; done',
  '  [ $busy = 0 ] && { for a in "$@"; do case $a in f:*) rm -f -- "${a#f:}";; esac; done; exit 0; }',
  '  n=$((n + 1)); sleep 0.5',
  'done; exit 0',
].join('\n');

export interface Guardian {
  /** the child has exited: the guardian ends without touching anything */
  release(): void;
}

/** What the guardian removes after kinject died: volumes/mount.ts's Leftovers (one definition). */
export type GuardianLeftovers = Leftovers;

export function startGuardian(childPid: number | undefined, log?: { debug(m: string): void }, leftovers?: GuardianLeftovers): Guardian {
  if (!childPid) return { release() {} };
  let g: ChildProcess;
  try {
    const paths = leftovers
      ? [...leftovers.trees.map((p) => `t:${p}`), ...leftovers.emptyDirs.map((p) => `d:${p}`), ...leftovers.filesAfter.map((p) => `f:${p}`)]
      : [];
    g = spawn('/bin/sh', ['-c', SCRIPT, 'kinject-guardian', String(childPid), ...paths], {
      stdio: ['pipe', 'ignore', 'ignore'],
      env: { PATH: '/usr/bin:/bin' },
    });
  } catch (err) {
    log?.debug(`guardian: not started (${(err as Error).message}): a SIGKILLed kinject would leave its command running`);
    return { release() {} };
  }
  g.on('error', (err) => log?.debug(`guardian: ${err.message}`));
  g.stdin?.on('error', () => {});
  // neither the guardian nor its pipe keeps kinject's event loop alive
  g.unref();
  (g.stdin as Socket | null)?.unref?.();
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      g.stdin?.end('done\n');
    },
  };
}

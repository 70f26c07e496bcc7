// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the guardian script holds shell parameter expansions
// The run's guardian: nothing of a `kinject run` outlives a kinject that is SIGKILLed (or crashes),
// whether it dies while setting up (pod being made, tunnel coming up, volumes mounting) or while
// the user's command runs (issue 17, item 3). A tiny `sh` started first thing, with a plain
// environment (no shim), ignoring the terminal's signals, reads lines from a pipe whose only writer
// is kinject: "c:PID" (the child to watch; "c:" once it exited), "t:DIR", "d:DIR", "f:FILE" (what to
// remove, as each thing is made), "done" (kinject ended normally: the guardian ends touching
// nothing). If kinject dies first, the kernel closes the pipe, `read` sees end of file and the
// guardian sends SIGTERM to the child (the direct child only: what the child started in turn is
// the child's to end, as when any parent dies; a shell ends on SIGTERM and its commands fail fast,
// their proxy being gone) and removes what kinject's end would have.
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
  'trap "" INT HUP TERM QUIT TSTP; child=$1; shift',
  'while IFS= read -r line; do case $line in done) exit 0;; c:*) child=${line#c:};; [tdf]:?*) set -- "$@" "$line";; esac; done',
  '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null',
  'n=0; while [ $n -lt 20 ]; do busy=0',
  // a mount point whose FUSE daemon died fails stat (ENOTCONN) until unmounted: only rmdir's own
  // "No such file" counts as gone
  '  for a in "$@"; do case $a in t:*) rm -rf -- "${a#t:}";; d:*) out=$(rmdir -- "${a#d:}" 2>&1) || case $out in *"No such file"*) ;; *) busy=1;; esac;; esac; done',
  '  [ $busy = 0 ] && { for a in "$@"; do case $a in f:*) rm -f -- "${a#f:}";; esac; done; exit 0; }',
  '  n=$((n + 1)); sleep 0.5',
  'done; exit 0',
].join('\n');

export interface Guardian {
  /** the child to SIGTERM if kinject dies (undefined: it has exited, leave it) */
  watch(childPid: number | undefined): void;
  /** more to remove if kinject dies (as each thing is made) */
  add(leftovers: Partial<Leftovers>): void;
  /** kinject ends normally (its own cleanup ran): the guardian ends without touching anything */
  release(): void;
}

/** What the guardian removes after kinject died: volumes/mount.ts's Leftovers (one definition). */
export type GuardianLeftovers = Leftovers;

export function startGuardian(childPid: number | undefined, log?: { debug(m: string): void }, leftovers?: Partial<GuardianLeftovers>): Guardian {
  let g: ChildProcess;
  try {
    g = spawn('/bin/sh', ['-c', SCRIPT, `kinject-guardian-${process.pid}`, childPid ? String(childPid) : '', ...lines(leftovers)], {
      stdio: ['pipe', 'ignore', 'ignore'],
      env: { PATH: '/usr/bin:/bin' },
    });
  } catch (err) {
    log?.debug(`guardian: not started (${(err as Error).message}): a SIGKILLed kinject would leave its command running`);
    return { watch() {}, add() {}, release() {} };
  }
  g.on('error', (err) => log?.debug(`guardian: ${err.message}`));
  g.stdin?.on('error', () => {});
  // neither the guardian nor its pipe keeps kinject's event loop alive
  g.unref();
  (g.stdin as Socket | null)?.unref?.();
  let released = false;
  const send = (text: string) => {
    if (!released && text) g.stdin?.write(text);
  };
  return {
    watch(pid) {
      send(`c:${pid ?? ''}\n`);
    },
    add(more) {
      send(
        lines(more)
          .map((l) => `${l}\n`)
          .join(''),
      );
    },
    release() {
      if (released) return;
      released = true;
      g.stdin?.end('done\n');
    },
  };
}

/** the guardian's "t:", "d:", "f:" arguments (a path with a newline cannot be one line: left out) */
function lines(l: Partial<GuardianLeftovers> | undefined): string[] {
  if (!l) return [];
  const ok = (p: string) => p && !p.includes('\n');
  return [
    ...(l.trees ?? []).filter(ok).map((p) => `t:${p}`),
    ...(l.emptyDirs ?? []).filter(ok).map((p) => `d:${p}`),
    ...(l.filesAfter ?? []).filter(ok).map((p) => `f:${p}`),
  ];
}

// File attributes as SFTP v3 carries them: toAttrs() from a Node Stats, longname() the `ls -l`
// style line of a READDIR entry, and the attributes of the read-only virtual directories.
import { constants as fsc, type Stats } from 'node:fs';
import type { Attributes } from 'ssh2';

export function toAttrs(s: Stats): Attributes {
  return {
    mode: s.mode,
    uid: s.uid,
    gid: s.gid,
    size: s.size,
    atime: Math.floor(s.atimeMs / 1000),
    mtime: Math.floor(s.mtimeMs / 1000),
  };
}

/** A virtual directory on the way to the exports: r-x for all, owned by the server's user, dated at its start. */
export function virtualDirAttrs(started: number): Attributes {
  return { mode: fsc.S_IFDIR | 0o555, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, size: 4096, atime: started, mtime: started };
}

const TYPE_CHARS: Array<[number, string]> = [
  [fsc.S_IFDIR, 'd'],
  [fsc.S_IFLNK, 'l'],
  [fsc.S_IFREG, '-'],
  [fsc.S_IFCHR, 'c'],
  [fsc.S_IFBLK, 'b'],
  [fsc.S_IFIFO, 'p'],
  [fsc.S_IFSOCK, 's'],
];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** An `ls -l` style line (SFTP v3 READDIR "longname"; sshfs ignores it, other clients show it). */
export function longname(name: string, a: Attributes): string {
  const mode = a.mode ?? 0;
  const type = TYPE_CHARS.find(([bits]) => (mode & fsc.S_IFMT) === bits)?.[1] ?? '?';
  let perms = '';
  for (let shift = 6; shift >= 0; shift -= 3) {
    const p = (mode >> shift) & 7;
    perms += (p & 4 ? 'r' : '-') + (p & 2 ? 'w' : '-') + (p & 1 ? 'x' : '-');
  }
  const d = new Date((a.mtime ?? 0) * 1000);
  const date = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${d.getUTCFullYear()}`;
  return `${type}${perms} 1 ${a.uid ?? 0} ${a.gid ?? 0} ${String(a.size ?? 0).padStart(8)} ${date} ${name}`;
}

// The path space the pod's SFTP server shows: the exported directories (the workload's volume
// mounts) at their real in-pod paths, plus read-only virtual directories on the way to them.
// Everything else does not exist. Symlinks are followed on the pod only while they stay inside
// an export (compared by real path, so `/var/run -> /run` style links above an export are fine).

import { realpath } from 'node:fs/promises';
import { posix } from 'node:path';

export interface ExportSpec {
  /** Absolute in-pod path of a directory (or a single file, for subPath mounts). */
  path: string;
  readOnly: boolean;
}

export interface Export extends ExportSpec {
  /** realpath() of `path`, once known. */
  realRoot?: string;
}

/** SFTP v3 status codes used here (same numbers as ssh2's STATUS_CODE). */
export const STATUS = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  OP_UNSUPPORTED: 8,
} as const;

export class SftpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export const noSuchFile = (path: string) => new SftpError(STATUS.NO_SUCH_FILE, `${path}: no such file`);
export const denied = (path: string, why: string) => new SftpError(STATUS.PERMISSION_DENIED, `${path}: ${why}`);

/** Maps a Node fs error to an SFTP status (v3 has few codes; sshfs maps them back to errno). */
export function fromFsError(err: unknown, path: string): SftpError {
  if (err instanceof SftpError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return noSuchFile(path);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new SftpError(STATUS.PERMISSION_DENIED, `${path}: ${code}`);
    case 'ELOOP':
      return denied(path, 'is a symlink that cannot be followed here');
    default:
      return new SftpError(STATUS.FAILURE, `${path}: ${code ?? (err as Error)?.message ?? 'failed'}`);
  }
}

export type Intent = 'read' | 'write';

export type Target =
  | { kind: 'virtual'; path: string; children: string[] }
  | {
      kind: 'real';
      /** The path as the client sees it (normalized, absolute). */
      path: string;
      /** The in-pod path to operate on: symlink-free, except for a final component when not following. */
      real: string;
      exp: Export;
      writable: boolean;
      /** The final component did not exist (only for `follow` resolution). */
      missing: boolean;
    };

const within = (path: string, root: string) => (root === '/' ? path.startsWith('/') : path === root || path.startsWith(`${root}/`));

export class ExportSpace {
  readonly exports: Export[];

  constructor(specs: ExportSpec[]) {
    const byPath = new Map<string, Export>();
    for (const spec of specs) {
      if (typeof spec.path !== 'string' || !spec.path.startsWith('/')) {
        throw new Error(`export paths must be absolute, got ${JSON.stringify(spec.path)}`);
      }
      const path = posix.normalize(spec.path).replace(/(.)\/+$/, '$1');
      const prev = byPath.get(path);
      // The same path twice: read-only wins.
      byPath.set(path, { path, readOnly: Boolean(spec.readOnly) || Boolean(prev?.readOnly) });
    }
    this.exports = [...byPath.values()].sort((a, b) => a.path.localeCompare(b.path));
  }

  /** Resolves real roots now (missing ones are retried on use). */
  async init(): Promise<void> {
    await Promise.all(this.exports.map((e) => this.realRootOf(e)));
  }

  /** Client path → absolute normalized path; relative paths are relative to `/`. */
  lexical(path: string): string {
    return posix.resolve('/', path || '.');
  }

  /** The export whose path contains `lex` (the deepest, for nested exports). */
  exportOf(lex: string): Export | undefined {
    let best: Export | undefined;
    for (const e of this.exports) {
      if (within(lex, e.path) && (!best || e.path.length > best.path.length)) best = e;
    }
    return best;
  }

  /** If `lex` is a strict ancestor of an export (and not inside one): the names leading on. */
  virtualChildren(lex: string): string[] | undefined {
    if (this.exportOf(lex)) return undefined;
    const names = new Set<string>();
    for (const e of this.exports) {
      if (e.path !== lex && within(e.path, lex)) {
        const rest = lex === '/' ? e.path.slice(1) : e.path.slice(lex.length + 1);
        names.add(rest.split('/')[0]!);
      }
    }
    return names.size ? [...names].sort() : undefined;
  }

  async realRootOf(e: Export): Promise<string | undefined> {
    if (e.realRoot === undefined) {
      try {
        e.realRoot = await realpath(e.path);
      } catch {
        return undefined;
      }
    }
    return e.realRoot;
  }

  /** The export (by real root) that contains the in-pod real path, deepest first. */
  exportOfReal(real: string): Export | undefined {
    let best: Export | undefined;
    for (const e of this.exports) {
      if (e.realRoot !== undefined && within(real, e.realRoot) && (!best || e.realRoot.length > best.realRoot!.length)) best = e;
    }
    return best;
  }

  /** Is the client-visible path inside an export or a virtual directory? (no fs access) */
  visible(lex: string): boolean {
    return this.exportOf(lex) !== undefined || this.virtualChildren(lex) !== undefined;
  }

  /**
   * Resolves a client path. `follow`: follow a symlink in the final component (STAT, OPEN,
   * OPENDIR, SETSTAT); otherwise only the parent directories are resolved (LSTAT, REMOVE, RENAME,
   * MKDIR, RMDIR, READLINK, SYMLINK). An export root itself is always followed.
   * Throws SftpError: NO_SUCH_FILE outside the exports, PERMISSION_DENIED for a path that
   * escapes them through a symlink, or for writes (intent 'write') that are not allowed.
   */
  async resolve(path: string, follow: boolean, intent: Intent): Promise<Target> {
    const lex = this.lexical(path);
    const exp = this.exportOf(lex);
    if (!exp) {
      const children = this.virtualChildren(lex);
      if (children) {
        if (intent === 'write') throw denied(lex, 'read-only (a directory on the way to the exported volumes)');
        return { kind: 'virtual', path: lex, children };
      }
      if (intent === 'write' && this.virtualChildren(posix.dirname(lex))) {
        throw denied(lex, 'not inside an exported volume');
      }
      throw noSuchFile(lex);
    }
    const root = await this.realRootOf(exp);
    if (root === undefined) throw noSuchFile(lex);
    const rest = lex === exp.path ? '' : lex.slice(exp.path === '/' ? 0 : exp.path.length);
    const candidate = rest ? (root === '/' ? rest : root + rest) : root;

    let real: string;
    let missing = false;
    let check: string; // the real path that must lie inside an export
    if (!rest) {
      real = check = root;
    } else if (follow) {
      try {
        real = check = await realpath(candidate);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT') throw fromFsError(err, lex);
        // Missing (or a dangling symlink): resolve the parent; opens use O_NOFOLLOW so a
        // dangling symlink is never followed out of the export.
        const parent = await realpath(posix.dirname(candidate)).catch((e2) => {
          throw fromFsError(e2, lex);
        });
        check = parent;
        real = posix.join(parent, posix.basename(candidate));
        missing = true;
      }
    } else {
      const parent = await realpath(posix.dirname(candidate)).catch((e2) => {
        throw fromFsError(e2, lex);
      });
      check = parent;
      real = posix.join(parent, posix.basename(candidate));
    }
    const realExp = this.exportOfReal(check);
    if (!realExp) throw denied(lex, 'resolves outside the exported volumes');
    const writable = !exp.readOnly && !realExp.readOnly;
    if (intent === 'write' && !writable) throw denied(lex, 'read-only volume');
    return { kind: 'real', path: lex, real, exp, writable, missing };
  }

  /**
   * A symlink's target is acceptable when, taken relative to the link's directory, it names a
   * path inside an export (the client resolves symlinks itself, in this same path space).
   */
  linkTargetAllowed(linkLex: string, target: string): boolean {
    if (!target || target.includes('\0')) return false;
    if (!target.startsWith('/')) {
      // `..` past `/` would, on the client, climb out of the mount root: refuse rather than clamp.
      const parts = posix.dirname(linkLex).split('/').filter(Boolean);
      for (const part of target.split('/')) {
        if (part === '..') {
          if (!parts.length) return false;
          parts.pop();
        } else if (part && part !== '.') {
          parts.push(part);
        }
      }
    }
    const lexTarget = posix.resolve(posix.dirname(linkLex), target);
    return this.exportOf(lexTarget) !== undefined;
  }
}

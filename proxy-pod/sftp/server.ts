// The proxy pod's SFTP server (SSH on ssh2's Server, pure JS): serves the workload's volume
// mounts to sshfs on the developer's machine. Public-key auth only (username `kinject`, one
// key); only the exported paths exist (see exports.ts). Read-only exports refuse every write with
// SSH_FX_PERMISSION_DENIED, which sshfs turns into EACCES. The TCP listener is our own (sockets
// are handed to ssh2 with injectSocket) so the connections count for --exit-when-idle.

import ssh2 from 'ssh2';
import type { Attributes, Connection, FileEntry, ParsedKey, SFTPWrapper, AuthContext } from 'ssh2';
import { constants as fsc, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, rename, rmdir, stat, symlink, truncate, unlink, utimes, chmod, chown, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import { createServer } from 'node:net';
import { SFTP_USER } from '../../protocol/ssh.js';
import { SocketActivity, type ActivitySource } from '../activity.js';
import { ExportSpace, SftpError, STATUS, denied, fromFsError, noSuchFile, type ExportSpec, type Target } from './exports.js';

const { Server, utils } = ssh2;

export interface SftpServerOptions {
  host: string;
  port: number;
  /** The server's private host key (PEM or OpenSSH format). */
  hostKey: string;
  /** The one client public key allowed in (OpenSSH `authorized_keys` format: `ssh-ed25519 AAAA... [comment]`). */
  authorizedKey: string;
  exports: ExportSpec[];
  /** Receives complete log lines (no newline); default: nothing. */
  log?: (line: string) => void;
  /** Unauthenticated connections are dropped after this long (default 20 000 ms). */
  authTimeoutMs?: number;
}

export interface SftpServer extends ActivitySource {
  address: { host: string; port: number };
  /** Stops listening, ends the sessions and closes their file handles. */
  close(): Promise<void>;
}

/** Largest READ answered in one piece (sshfs asks for 32-64 KiB; OpenSSH's server allows ~256 KiB). */
const MAX_READ = 255 * 1024;
/** Open handles per session, so a misbehaving client cannot exhaust the pod's descriptors. */
const MAX_HANDLES = 1024;
const READDIR_BATCH = 128;

// SFTP v3 open flags (draft-ietf-secsh-filexfer-02).
const FXF = { READ: 1, WRITE: 2, APPEND: 4, CREAT: 8, TRUNC: 0x10, EXCL: 0x20 } as const;

type FileHandleEntry = { kind: 'file'; fh: FileHandle; path: string; writable: boolean; writes: Promise<unknown> };
type DirHandleEntry = { kind: 'dir'; path: string; real?: string; names: FileEntry[] | null; load: () => Promise<FileEntry[]>; pos: number; queue: Promise<unknown> };
type HandleEntry = FileHandleEntry | DirHandleEntry;

function parseAuthorizedKey(text: string): ParsedKey {
  const parsed = utils.parseKey(text.trim());
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new Error(`cannot parse the authorized client key: ${key instanceof Error ? key.message : 'empty'}`);
  if (key.isPrivateKey()) throw new Error('the authorized key must be a public key');
  return key;
}

function checkHostKey(text: string): void {
  const parsed = utils.parseKey(text);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new Error(`cannot parse the host key: ${key instanceof Error ? key.message : 'empty'}`);
  if (!key.isPrivateKey()) throw new Error('the host key must be a private key');
}

export async function startSftpServer(options: SftpServerOptions): Promise<SftpServer> {
  const log = options.log ?? (() => {});
  checkHostKey(options.hostKey);
  const allowed = parseAuthorizedKey(options.authorizedKey);
  const allowedBlob = allowed.getPublicSSH();
  const space = new ExportSpace(options.exports);
  await space.init();
  for (const e of space.exports) {
    log(`kinject-sftp: export ${e.path}${e.readOnly ? ' (read-only)' : ''}${e.realRoot === undefined ? ' (missing for now)' : ''}`);
  }
  const started = Math.floor(Date.now() / 1000);
  const sessions = new Set<Connection>();
  const cleanups = new Set<() => Promise<void>>();
  const authTimeoutMs = options.authTimeoutMs ?? 20_000;

  const server = new Server({ hostKeys: [options.hostKey] }, (client: Connection) => {
    sessions.add(client);
    let authed = false;
    const authTimer = setTimeout(() => {
      if (!authed) {
        log('kinject-sftp: client did not authenticate in time');
        client.end();
      }
    }, authTimeoutMs);
    authTimer.unref?.();
    client.on('error', (err: Error) => log(`kinject-sftp: client error: ${err.message}`));
    client.on('close', () => {
      clearTimeout(authTimer);
      sessions.delete(client);
    });
    client.on('authentication', (ctx: AuthContext) => {
      if (ctx.method !== 'publickey' || ctx.username !== SFTP_USER) return ctx.reject(['publickey']);
      if (!ctx.key.data.equals(allowedBlob)) return ctx.reject(['publickey']);
      if (ctx.signature && ctx.blob) {
        // ssh2's ParsedKey.verify returns true, false or an Error.
        if (allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo as never) !== true) return ctx.reject(['publickey']);
        authed = true;
        return ctx.accept();
      }
      // No signature: the client only asks whether this key would do.
      if (ctx.signature === undefined) return ctx.accept();
      return ctx.reject(['publickey']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('sftp', (acceptSftp) => {
          const sftp = acceptSftp();
          const cleanup = serveSftp(sftp, space, started, log);
          cleanups.add(cleanup);
          const done = () => { cleanups.delete(cleanup); void cleanup(); };
          sftp.on('close', done);
          // The client closed its side (sshfs exited): close ours, so its ssh process ends too.
          sftp.on('end', () => { done(); sftp.end(); });
        });
        // exec / shell / pty / env requests have no handlers, so ssh2 refuses them.
      });
      // No 'tcpip' / 'openssh.streamlocal' handlers: port forwarding is refused too.
    });
  });

  server.on('error', (err: Error) => log(`kinject-sftp: server error: ${err.message}`));
  const sockets = new SocketActivity();
  const listener = createServer((socket) => {
    sockets.add(socket);
    server.injectSocket(socket);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(options.port, options.host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  listener.on('error', (err: Error) => log(`kinject-sftp: server error: ${err.message}`));
  const addr = listener.address() as { address: string; port: number };

  return {
    address: { host: addr.address, port: addr.port },
    connections: () => sockets.connections(),
    activity: () => sockets.activity(),
    async close() {
      await new Promise<void>((resolve) => {
        listener.close(() => resolve());
        for (const c of sessions) c.end();
        // a socket that never got as far as an SSH session, or a session that does not end
        const late = setTimeout(() => { for (const sock of sockets.sockets()) sock.destroy(); }, 2000);
        late.unref();
      });
      await Promise.all([...cleanups].map((c) => c()));
    },
  };
}

// ---------------------------------------------------------------------------------------------

function toAttrs(s: Stats): Attributes {
  return {
    mode: s.mode,
    uid: s.uid,
    gid: s.gid,
    size: s.size,
    atime: Math.floor(s.atimeMs / 1000),
    mtime: Math.floor(s.mtimeMs / 1000),
  };
}

const TYPE_CHARS: Array<[number, string]> = [
  [fsc.S_IFDIR, 'd'], [fsc.S_IFLNK, 'l'], [fsc.S_IFREG, '-'], [fsc.S_IFCHR, 'c'], [fsc.S_IFBLK, 'b'], [fsc.S_IFIFO, 'p'], [fsc.S_IFSOCK, 's'],
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

function openFlags(pflags: number): number {
  const wantsWrite = (pflags & (FXF.WRITE | FXF.APPEND | FXF.CREAT | FXF.TRUNC)) !== 0;
  let flags = wantsWrite ? ((pflags & FXF.READ) ? fsc.O_RDWR : fsc.O_WRONLY) : fsc.O_RDONLY;
  if (pflags & FXF.APPEND) flags |= fsc.O_APPEND;
  if (pflags & FXF.CREAT) flags |= fsc.O_CREAT;
  if (pflags & FXF.TRUNC) flags |= fsc.O_TRUNC;
  if (pflags & FXF.EXCL) flags |= fsc.O_EXCL;
  // The path was resolved with realpath(): its last component must not be a symlink now (a
  // dangling one, or one swapped in since, could point out of the export).
  flags |= fsc.O_NOFOLLOW;
  return flags;
}

function serveSftp(sftp: SFTPWrapper, space: ExportSpace, started: number, log: (line: string) => void): () => Promise<void> {
  const handles = new Map<number, HandleEntry>();
  let nextHandle = 1;
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const virtualAttrs = (): Attributes => ({ mode: fsc.S_IFDIR | 0o555, uid, gid, size: 4096, atime: started, mtime: started });

  const fail = (reqid: number, err: unknown, what: string) => {
    const e = err instanceof SftpError ? err : fromFsError(err, what);
    if (e.code === STATUS.FAILURE) log(`kinject-sftp: ${e.message}`);
    try {
      sftp.status(reqid, e.code, e.message);
    } catch { /* channel gone */ }
  };
  // Requests are carried out in arrival order, as OpenSSH's sftp-server does: sshfs pipelines
  // dependent requests (OPEN with CREAT immediately followed by LSTAT of the new file, say).
  // Only consecutive READs overlap with each other (their replies carry their own ids).
  let exclusive: Promise<void> = Promise.resolve();
  let shared = new Set<Promise<void>>();
  /** Runs an async request handler in order and answers its failure with a status. */
  const run = (reqid: number, what: string, fn: () => Promise<void>, overlap = false) => {
    const go = () => fn().catch((err) => fail(reqid, err, what));
    if (overlap) {
      const readers = shared;
      const p = exclusive.then(go);
      readers.add(p);
      void p.finally(() => readers.delete(p));
    } else {
      const before = shared.size ? Promise.all([exclusive, ...shared]) : exclusive;
      shared = new Set();
      exclusive = before.then(go);
    }
  };
  const ok = (reqid: number) => sftp.status(reqid, STATUS.OK);

  const newHandle = (entry: HandleEntry): Buffer => {
    if (handles.size >= MAX_HANDLES) throw new SftpError(STATUS.FAILURE, 'too many open handles');
    const id = nextHandle++;
    handles.set(id, entry);
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(id >>> 0);
    return buf;
  };
  const handleId = (buf: Buffer) => (buf.length === 4 ? buf.readUInt32BE(0) : -1);
  const fileHandle = (buf: Buffer): FileHandleEntry => {
    const h = handles.get(handleId(buf));
    if (!h || h.kind !== 'file') throw new SftpError(STATUS.FAILURE, 'invalid file handle');
    return h;
  };
  const real = (t: Target, what: string) => {
    if (t.kind !== 'real') throw denied(what, 'is a read-only directory on the way to the exported volumes');
    return t;
  };

  sftp.on('REALPATH', (reqid: number, path: string) => run(reqid, path, async () => {
    const lex = space.lexical(path);
    if (!space.visible(lex)) throw noSuchFile(lex);
    sftp.name(reqid, [{ filename: lex, longname: lex, attrs: {} as Attributes }]);
  }));

  const statLike = (follow: boolean) => (reqid: number, path: string) => run(reqid, path, async () => {
    const t = await space.resolve(path, follow, 'read');
    if (t.kind === 'virtual') return sftp.attrs(reqid, virtualAttrs());
    if (t.missing) throw noSuchFile(t.path);
    sftp.attrs(reqid, toAttrs(await (follow ? stat(t.real) : lstat(t.real))));
  });
  sftp.on('STAT', statLike(true));
  sftp.on('LSTAT', statLike(false));

  sftp.on('OPEN', (reqid: number, path: string, pflags: number, attrs: Attributes) => run(reqid, path, async () => {
    const wantsWrite = (pflags & (FXF.WRITE | FXF.APPEND | FXF.CREAT | FXF.TRUNC)) !== 0;
    const t = await space.resolve(path, true, wantsWrite ? 'write' : 'read');
    if (t.kind === 'virtual') throw new SftpError(STATUS.FAILURE, `${t.path}: is a directory`);
    if (t.missing && !(pflags & FXF.CREAT)) throw noSuchFile(t.path);
    const mode = attrs && typeof attrs.mode === 'number' ? attrs.mode & 0o7777 : 0o644;
    const fh = await open(t.real, openFlags(pflags), mode);
    let handle: Buffer;
    try {
      handle = newHandle({ kind: 'file', fh, path: t.path, writable: wantsWrite, writes: Promise.resolve() });
    } catch (err) {
      await fh.close();
      throw err;
    }
    sftp.handle(reqid, handle);
  }));

  sftp.on('READ', (reqid: number, hbuf: Buffer, offset: number, len: number) => run(reqid, 'read', async () => {
    const h = fileHandle(hbuf);
    const want = Math.min(len, MAX_READ);
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    // Positioned reads on the one descriptor; loop so a short read is never mistaken for EOF.
    while (got < want) {
      const { bytesRead } = await h.fh.read(buf, got, want - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got === 0) return sftp.status(reqid, STATUS.EOF);
    sftp.data(reqid, got === want ? buf : buf.subarray(0, got));
  }, true));

  sftp.on('WRITE', (reqid: number, hbuf: Buffer, offset: number, data: Buffer) => run(reqid, 'write', async () => {
    const h = fileHandle(hbuf);
    if (!h.writable) throw denied(h.path, 'not open for writing');
    // Writes on one handle are applied in arrival order (append-mode handles need it).
    const write = h.writes.then(async () => {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await h.fh.write(data, done, data.length - done, offset + done);
        done += bytesWritten;
      }
    });
    h.writes = write.catch(() => {});
    await write;
    ok(reqid);
  }));

  sftp.on('FSTAT', (reqid: number, hbuf: Buffer) => run(reqid, 'fstat', async () => {
    const h = handles.get(handleId(hbuf));
    if (!h) throw new SftpError(STATUS.FAILURE, 'invalid handle');
    if (h.kind === 'dir') return sftp.attrs(reqid, h.real === undefined ? virtualAttrs() : toAttrs(await stat(h.real)));
    sftp.attrs(reqid, toAttrs(await h.fh.stat()));
  }));

  sftp.on('SETSTAT', (reqid: number, path: string, attrs: Attributes) => run(reqid, path, async () => {
    const t = real(await space.resolve(path, true, 'write'), path);
    if (t.missing) throw noSuchFile(t.path);
    if (typeof attrs.size === 'number') await truncate(t.real, attrs.size);
    if (typeof attrs.mode === 'number') await chmod(t.real, attrs.mode & 0o7777);
    if (typeof attrs.uid === 'number' && typeof attrs.gid === 'number') await chown(t.real, attrs.uid, attrs.gid);
    if (typeof attrs.atime === 'number' && typeof attrs.mtime === 'number') await utimes(t.real, attrs.atime, attrs.mtime);
    ok(reqid);
  }));

  sftp.on('FSETSTAT', (reqid: number, hbuf: Buffer, attrs: Attributes) => run(reqid, 'fsetstat', async () => {
    const h = fileHandle(hbuf);
    if (!h.writable) {
      // A handle opened for reading may still be used for chmod/utimes by some clients: only if
      // the path is writable.
      await space.resolve(h.path, true, 'write');
    }
    if (typeof attrs.size === 'number') await h.fh.truncate(attrs.size);
    if (typeof attrs.mode === 'number') await h.fh.chmod(attrs.mode & 0o7777);
    if (typeof attrs.uid === 'number' && typeof attrs.gid === 'number') await h.fh.chown(attrs.uid, attrs.gid);
    if (typeof attrs.atime === 'number' && typeof attrs.mtime === 'number') await h.fh.utimes(attrs.atime, attrs.mtime);
    ok(reqid);
  }));

  sftp.on('OPENDIR', (reqid: number, path: string) => run(reqid, path, async () => {
    const t = await space.resolve(path, true, 'read');
    let load: () => Promise<FileEntry[]>;
    let dirReal: string | undefined;
    if (t.kind === 'virtual') {
      load = async () => {
        const entries: FileEntry[] = [];
        for (const name of ['.', '..', ...t.children]) {
          let attrs = virtualAttrs();
          // An export root listed in a virtual directory shows its real attributes.
          const child = posix.join(t.path, name);
          const exp = name === '.' || name === '..' ? undefined : space.exportOf(child);
          if (exp && exp.path === child) {
            const root = await space.realRootOf(exp);
            const st = root === undefined ? undefined : await stat(root).catch(() => undefined);
            if (!st) continue;
            attrs = toAttrs(st);
          }
          entries.push({ filename: name, longname: longname(name, attrs), attrs } as FileEntry);
        }
        return entries;
      };
    } else {
      if (t.missing) throw noSuchFile(t.path);
      const st = await stat(t.real);
      if (!st.isDirectory()) throw new SftpError(STATUS.FAILURE, `${t.path}: not a directory`);
      const dir = (dirReal = t.real);
      const dotdot = t.path === '/' ? undefined : posix.dirname(t.path);
      load = async () => {
        const names = await readdir(dir);
        const entries: FileEntry[] = [];
        const self = toAttrs(st);
        entries.push({ filename: '.', longname: longname('.', self), attrs: self } as FileEntry);
        if (dotdot) entries.push({ filename: '..', longname: longname('..', virtualAttrs()), attrs: virtualAttrs() } as FileEntry);
        for (const name of names) entries.push({ filename: name, longname: '', attrs: {} as Attributes } as FileEntry);
        return entries;
      };
    }
    sftp.handle(reqid, newHandle({ kind: 'dir', path: t.path, real: dirReal, names: null, load, pos: 0, queue: Promise.resolve() }));
  }));

  // sshfs keeps several READDIRs in flight on one handle: they are answered strictly in order.
  sftp.on('READDIR', (reqid: number, hbuf: Buffer) => run(reqid, 'readdir', async () => {
    const h = handles.get(handleId(hbuf));
    if (!h || h.kind !== 'dir') throw new SftpError(STATUS.FAILURE, 'invalid directory handle');
    const turn = h.queue.then(() => readdirBatch(reqid, h));
    h.queue = turn.catch(() => {});
    await turn;
  }));

  const readdirBatch = async (reqid: number, h: DirHandleEntry) => {
    if (!h.names) h.names = await h.load();
    if (h.pos >= h.names.length) return sftp.status(reqid, STATUS.EOF);
    const batch = h.names.slice(h.pos, h.pos + READDIR_BATCH);
    h.pos += batch.length;
    // Real entries get their lstat now (a batch at a time, in parallel).
    const dir = h.real;
    const out: FileEntry[] = [];
    await Promise.all(batch.map(async (entry, i) => {
      if (entry.longname || dir === undefined) {
        out[i] = entry;
        return;
      }
      try {
        const attrs = toAttrs(await lstat(posix.join(dir, entry.filename)));
        out[i] = { filename: entry.filename, longname: longname(entry.filename, attrs), attrs } as FileEntry;
      } catch { /* vanished since readdir */ }
    }));
    const names = out.filter(Boolean);
    if (!names.length) return sftp.status(reqid, STATUS.EOF);
    sftp.name(reqid, names);
  };

  sftp.on('CLOSE', (reqid: number, hbuf: Buffer) => run(reqid, 'close', async () => {
    const id = handleId(hbuf);
    const h = handles.get(id);
    if (!h) throw new SftpError(STATUS.FAILURE, 'invalid handle');
    handles.delete(id);
    if (h.kind === 'file') {
      await h.writes;
      await h.fh.close();
    }
    ok(reqid);
  }));

  sftp.on('REMOVE', (reqid: number, path: string) => run(reqid, path, async () => {
    const t = real(await space.resolve(path, false, 'write'), path);
    if (t.path === t.exp.path) throw denied(t.path, 'is an exported volume root');
    await unlink(t.real);
    ok(reqid);
  }));

  sftp.on('RMDIR', (reqid: number, path: string) => run(reqid, path, async () => {
    const t = real(await space.resolve(path, false, 'write'), path);
    if (t.path === t.exp.path) throw denied(t.path, 'is an exported volume root');
    await rmdir(t.real);
    ok(reqid);
  }));

  sftp.on('MKDIR', (reqid: number, path: string, attrs: Attributes) => run(reqid, path, async () => {
    const t = real(await space.resolve(path, false, 'write'), path);
    const mode = attrs && typeof attrs.mode === 'number' ? attrs.mode & 0o7777 : 0o755;
    await mkdir(t.real, { mode });
    ok(reqid);
  }));

  sftp.on('RENAME', (reqid: number, from: string, to: string) => run(reqid, from, async () => {
    const a = real(await space.resolve(from, false, 'write'), from);
    const b = real(await space.resolve(to, false, 'write'), to);
    if (a.path === a.exp.path || b.path === b.exp.path) throw denied(a.path, 'an exported volume root cannot be renamed or replaced');
    // POSIX semantics (replaces an existing target), which is what sshfs wants.
    await rename(a.real, b.real);
    ok(reqid);
  }));

  sftp.on('READLINK', (reqid: number, path: string) => run(reqid, path, async () => {
    const t = real(await space.resolve(path, false, 'read'), path);
    const target = await readlink(t.real);
    // Refuse a link the client would resolve to somewhere outside the exports, or that leads
    // out of them on the pod (checked by real path when it resolves).
    if (!space.linkTargetAllowed(t.path, target)) throw denied(t.path, 'symlink points outside the exported volumes');
    await space.resolve(path, true, 'read');
    sftp.name(reqid, [{ filename: target, longname: target, attrs: {} as Attributes }]);
  }));

  // ssh2 hands over (linkPath, targetPath) in that order for every client (it undoes OpenSSH's
  // historical swap), whatever its type declarations say.
  sftp.on('SYMLINK', (reqid: number, linkPath: string, targetPath: string) => run(reqid, linkPath, async () => {
    const t = real(await space.resolve(linkPath, false, 'write'), linkPath);
    if (!space.linkTargetAllowed(t.path, targetPath)) throw denied(t.path, `symlink target ${targetPath} is outside the exported volumes`);
    await symlink(targetPath, t.real);
    ok(reqid);
  }));

  sftp.on('EXTENDED', (reqid: number) => {
    sftp.status(reqid, STATUS.OP_UNSUPPORTED);
  });

  return async () => {
    const open = [...handles.values()];
    handles.clear();
    await Promise.all(open.map(async (h) => {
      if (h.kind === 'file') await h.writes.then(() => h.fh.close()).catch(() => {});
    }));
  };
}

// One SFTP session's requests (SFTP v3, draft-ietf-secsh-filexfer-02), one method per request:
// paths go through the ExportSpace (exports.ts: only exported paths exist, read-only exports
// refuse writes), handles live in Handles (handles.ts), requests run in RequestOrder
// (request-order.ts), and a failure is answered with a status (and logged when unexpected).
// serveSftp() wires an SFTP channel to them.
import { constants as fsc } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, rename, rmdir, stat, symlink, truncate, unlink, utimes, chmod, chown } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Attributes, FileEntry, SFTPWrapper } from 'ssh2';
import { type ExportSpace, SftpError, STATUS, denied, fromFsError, noSuchFile, type Target } from './exports.js';
import { longname, toAttrs, virtualDirAttrs } from './attrs.js';
import { Handles, type DirHandleEntry } from './handles.js';
import { RequestOrder } from './request-order.js';

/** Largest READ answered in one piece (sshfs asks for 32-64 KiB; OpenSSH's server allows ~256 KiB). */
const MAX_READ = 255 * 1024;
const READDIR_BATCH = 128;

// SFTP v3 open flags (draft-ietf-secsh-filexfer-02).
const FXF = { READ: 1, WRITE: 2, APPEND: 4, CREAT: 8, TRUNC: 0x10, EXCL: 0x20 } as const;

function openFlags(pflags: number): number {
  const wantsWrite = (pflags & (FXF.WRITE | FXF.APPEND | FXF.CREAT | FXF.TRUNC)) !== 0;
  let flags = wantsWrite ? (pflags & FXF.READ ? fsc.O_RDWR : fsc.O_WRONLY) : fsc.O_RDONLY;
  if (pflags & FXF.APPEND) flags |= fsc.O_APPEND;
  if (pflags & FXF.CREAT) flags |= fsc.O_CREAT;
  if (pflags & FXF.TRUNC) flags |= fsc.O_TRUNC;
  if (pflags & FXF.EXCL) flags |= fsc.O_EXCL;
  // The path was resolved with realpath(): its last component must not be a symlink now (a
  // dangling one, or one swapped in since, could point out of the export).
  flags |= fsc.O_NOFOLLOW;
  return flags;
}

/** A target that must be a real path (not a virtual directory on the way to the exports). */
function real(t: Target, what: string) {
  if (t.kind !== 'real') throw denied(what, 'is a read-only directory on the way to the exported volumes');
  return t;
}

/** Serves the requests of one SFTP channel; the function returned closes its open handles. */
export function serveSftp(sftp: SFTPWrapper, space: ExportSpace, started: number, log: (line: string) => void): () => Promise<void> {
  const s = new SftpRequests(sftp, space, started, log);
  const on = (event: string, handler: (...args: never[]) => void) => sftp.on(event as never, handler as never);
  on('REALPATH', (reqid: number, path: string) => s.run(reqid, path, () => s.realpath(reqid, path)));
  on('STAT', (reqid: number, path: string) => s.run(reqid, path, () => s.stat(reqid, path, true)));
  on('LSTAT', (reqid: number, path: string) => s.run(reqid, path, () => s.stat(reqid, path, false)));
  on('OPEN', (reqid: number, path: string, pflags: number, attrs: Attributes) => s.run(reqid, path, () => s.open(reqid, path, pflags, attrs)));
  on('READ', (reqid: number, hbuf: Buffer, offset: number, len: number) => s.run(reqid, 'read', () => s.read(reqid, hbuf, offset, len), true));
  on('WRITE', (reqid: number, hbuf: Buffer, offset: number, data: Buffer) => s.run(reqid, 'write', () => s.write(reqid, hbuf, offset, data)));
  on('FSTAT', (reqid: number, hbuf: Buffer) => s.run(reqid, 'fstat', () => s.fstat(reqid, hbuf)));
  on('SETSTAT', (reqid: number, path: string, attrs: Attributes) => s.run(reqid, path, () => s.setstat(reqid, path, attrs)));
  on('FSETSTAT', (reqid: number, hbuf: Buffer, attrs: Attributes) => s.run(reqid, 'fsetstat', () => s.fsetstat(reqid, hbuf, attrs)));
  on('OPENDIR', (reqid: number, path: string) => s.run(reqid, path, () => s.opendir(reqid, path)));
  on('READDIR', (reqid: number, hbuf: Buffer) => s.run(reqid, 'readdir', () => s.readdir(reqid, hbuf)));
  on('CLOSE', (reqid: number, hbuf: Buffer) => s.run(reqid, 'close', () => s.close(reqid, hbuf)));
  on('REMOVE', (reqid: number, path: string) => s.run(reqid, path, () => s.remove(reqid, path)));
  on('RMDIR', (reqid: number, path: string) => s.run(reqid, path, () => s.rmdir(reqid, path)));
  on('MKDIR', (reqid: number, path: string, attrs: Attributes) => s.run(reqid, path, () => s.mkdir(reqid, path, attrs)));
  on('RENAME', (reqid: number, from: string, to: string) => s.run(reqid, from, () => s.rename(reqid, from, to)));
  on('READLINK', (reqid: number, path: string) => s.run(reqid, path, () => s.readlink(reqid, path)));
  // ssh2 hands over (linkPath, targetPath) in that order for every client (it undoes OpenSSH's
  // historical swap), whatever its type declarations say.
  on('SYMLINK', (reqid: number, linkPath: string, targetPath: string) => s.run(reqid, linkPath, () => s.symlink(reqid, linkPath, targetPath)));
  on('EXTENDED', (reqid: number) => {
    sftp.status(reqid, STATUS.OP_UNSUPPORTED);
  });
  return () => s.handles.closeAll();
}

class SftpRequests {
  readonly handles = new Handles();
  private readonly order = new RequestOrder();

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly space: ExportSpace,
    private readonly started: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Runs a request handler in order and answers its failure with a status. */
  run(reqid: number, what: string, fn: () => Promise<void>, overlap = false): void {
    this.order.run(() => fn().catch((err) => this.fail(reqid, err, what)), overlap);
  }

  private fail(reqid: number, err: unknown, what: string): void {
    const e = err instanceof SftpError ? err : fromFsError(err, what);
    if (e.code === STATUS.FAILURE) this.log(`kinject-sftp: ${e.message}`);
    try {
      this.sftp.status(reqid, e.code, e.message);
    } catch {
      /* channel gone */
    }
  }

  private ok(reqid: number): void {
    this.sftp.status(reqid, STATUS.OK);
  }

  private virtualAttrs(): Attributes {
    return virtualDirAttrs(this.started);
  }

  async realpath(reqid: number, path: string): Promise<void> {
    const lex = this.space.lexical(path);
    if (!this.space.visible(lex)) throw noSuchFile(lex);
    this.sftp.name(reqid, [{ filename: lex, longname: lex, attrs: {} as Attributes }]);
  }

  async stat(reqid: number, path: string, follow: boolean): Promise<void> {
    const t = await this.space.resolve(path, follow, 'read');
    if (t.kind === 'virtual') return void this.sftp.attrs(reqid, this.virtualAttrs());
    if (t.missing) throw noSuchFile(t.path);
    this.sftp.attrs(reqid, toAttrs(await (follow ? stat(t.real) : lstat(t.real))));
  }

  async open(reqid: number, path: string, pflags: number, attrs: Attributes): Promise<void> {
    const wantsWrite = (pflags & (FXF.WRITE | FXF.APPEND | FXF.CREAT | FXF.TRUNC)) !== 0;
    const t = await this.space.resolve(path, true, wantsWrite ? 'write' : 'read');
    if (t.kind === 'virtual') throw new SftpError(STATUS.FAILURE, `${t.path}: is a directory`);
    if (t.missing && !(pflags & FXF.CREAT)) throw noSuchFile(t.path);
    const mode = attrs && typeof attrs.mode === 'number' ? attrs.mode & 0o7777 : 0o644;
    const fh = await open(t.real, openFlags(pflags), mode);
    let handle: Buffer;
    try {
      handle = this.handles.add({ kind: 'file', fh, path: t.path, writable: wantsWrite, writes: Promise.resolve() });
    } catch (err) {
      await fh.close();
      throw err;
    }
    this.sftp.handle(reqid, handle);
  }

  async read(reqid: number, hbuf: Buffer, offset: number, len: number): Promise<void> {
    const h = this.handles.file(hbuf);
    const want = Math.min(len, MAX_READ);
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    // Positioned reads on the one descriptor; loop so a short read is never mistaken for EOF.
    while (got < want) {
      const { bytesRead } = await h.fh.read(buf, got, want - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got === 0) return void this.sftp.status(reqid, STATUS.EOF);
    this.sftp.data(reqid, got === want ? buf : buf.subarray(0, got));
  }

  async write(reqid: number, hbuf: Buffer, offset: number, data: Buffer): Promise<void> {
    const h = this.handles.file(hbuf);
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
    this.ok(reqid);
  }

  async fstat(reqid: number, hbuf: Buffer): Promise<void> {
    const h = this.handles.get(hbuf);
    if (!h) throw new SftpError(STATUS.FAILURE, 'invalid handle');
    if (h.kind === 'dir') return void this.sftp.attrs(reqid, h.real === undefined ? this.virtualAttrs() : toAttrs(await stat(h.real)));
    this.sftp.attrs(reqid, toAttrs(await h.fh.stat()));
  }

  async setstat(reqid: number, path: string, attrs: Attributes): Promise<void> {
    const t = real(await this.space.resolve(path, true, 'write'), path);
    if (t.missing) throw noSuchFile(t.path);
    if (typeof attrs.size === 'number') await truncate(t.real, attrs.size);
    if (typeof attrs.mode === 'number') await chmod(t.real, attrs.mode & 0o7777);
    if (typeof attrs.uid === 'number' && typeof attrs.gid === 'number') await chown(t.real, attrs.uid, attrs.gid);
    if (typeof attrs.atime === 'number' && typeof attrs.mtime === 'number') await utimes(t.real, attrs.atime, attrs.mtime);
    this.ok(reqid);
  }

  async fsetstat(reqid: number, hbuf: Buffer, attrs: Attributes): Promise<void> {
    const h = this.handles.file(hbuf);
    if (!h.writable) {
      // A handle opened for reading may still be used for chmod/utimes by some clients: only if
      // the path is writable.
      await this.space.resolve(h.path, true, 'write');
    }
    if (typeof attrs.size === 'number') await h.fh.truncate(attrs.size);
    if (typeof attrs.mode === 'number') await h.fh.chmod(attrs.mode & 0o7777);
    if (typeof attrs.uid === 'number' && typeof attrs.gid === 'number') await h.fh.chown(attrs.uid, attrs.gid);
    if (typeof attrs.atime === 'number' && typeof attrs.mtime === 'number') await h.fh.utimes(attrs.atime, attrs.mtime);
    this.ok(reqid);
  }

  async opendir(reqid: number, path: string): Promise<void> {
    const t = await this.space.resolve(path, true, 'read');
    let load: () => Promise<FileEntry[]>;
    let dirReal: string | undefined;
    if (t.kind === 'virtual') {
      load = () => this.listVirtual(t.path, t.children);
    } else {
      if (t.missing) throw noSuchFile(t.path);
      const st = await stat(t.real);
      if (!st.isDirectory()) throw new SftpError(STATUS.FAILURE, `${t.path}: not a directory`);
      dirReal = t.real;
      const dir = t.real;
      const dotdot = t.path === '/' ? undefined : posix.dirname(t.path);
      load = async () => {
        const names = await readdir(dir);
        const entries: FileEntry[] = [];
        const self = toAttrs(st);
        entries.push({ filename: '.', longname: longname('.', self), attrs: self } as FileEntry);
        if (dotdot) entries.push({ filename: '..', longname: longname('..', this.virtualAttrs()), attrs: this.virtualAttrs() } as FileEntry);
        for (const name of names) entries.push({ filename: name, longname: '', attrs: {} as Attributes } as FileEntry);
        return entries;
      };
    }
    this.sftp.handle(reqid, this.handles.add({ kind: 'dir', path: t.path, real: dirReal, names: null, load, pos: 0, queue: Promise.resolve() }));
  }

  /** The entries of a virtual directory: its children, an export root with its real attributes. */
  private async listVirtual(path: string, children: readonly string[]): Promise<FileEntry[]> {
    const entries: FileEntry[] = [];
    for (const name of ['.', '..', ...children]) {
      let attrs = this.virtualAttrs();
      // An export root listed in a virtual directory shows its real attributes.
      const child = posix.join(path, name);
      const exp = name === '.' || name === '..' ? undefined : this.space.exportOf(child);
      if (exp && exp.path === child) {
        const root = await this.space.realRootOf(exp);
        const st = root === undefined ? undefined : await stat(root).catch(() => undefined);
        if (!st) continue;
        attrs = toAttrs(st);
      }
      entries.push({ filename: name, longname: longname(name, attrs), attrs } as FileEntry);
    }
    return entries;
  }

  /** sshfs keeps several READDIRs in flight on one handle: they are answered strictly in order. */
  async readdir(reqid: number, hbuf: Buffer): Promise<void> {
    const h = this.handles.dir(hbuf);
    const turn = h.queue.then(() => this.readdirBatch(reqid, h));
    h.queue = turn.catch(() => {});
    await turn;
  }

  private async readdirBatch(reqid: number, h: DirHandleEntry): Promise<void> {
    if (!h.names) h.names = await h.load();
    if (h.pos >= h.names.length) return void this.sftp.status(reqid, STATUS.EOF);
    const batch = h.names.slice(h.pos, h.pos + READDIR_BATCH);
    h.pos += batch.length;
    // Real entries get their lstat now (a batch at a time, in parallel).
    const dir = h.real;
    const out: FileEntry[] = [];
    await Promise.all(
      batch.map(async (entry, i) => {
        if (entry.longname || dir === undefined) {
          out[i] = entry;
          return;
        }
        try {
          const attrs = toAttrs(await lstat(posix.join(dir, entry.filename)));
          out[i] = { filename: entry.filename, longname: longname(entry.filename, attrs), attrs } as FileEntry;
        } catch {
          /* vanished since readdir */
        }
      }),
    );
    const names = out.filter(Boolean);
    if (!names.length) return void this.sftp.status(reqid, STATUS.EOF);
    this.sftp.name(reqid, names);
  }

  async close(reqid: number, hbuf: Buffer): Promise<void> {
    const h = this.handles.remove(hbuf);
    if (!h) throw new SftpError(STATUS.FAILURE, 'invalid handle');
    if (h.kind === 'file') {
      await h.writes;
      await h.fh.close();
    }
    this.ok(reqid);
  }

  async remove(reqid: number, path: string): Promise<void> {
    const t = real(await this.space.resolve(path, false, 'write'), path);
    if (t.path === t.exp.path) throw denied(t.path, 'is an exported volume root');
    await unlink(t.real);
    this.ok(reqid);
  }

  async rmdir(reqid: number, path: string): Promise<void> {
    const t = real(await this.space.resolve(path, false, 'write'), path);
    if (t.path === t.exp.path) throw denied(t.path, 'is an exported volume root');
    await rmdir(t.real);
    this.ok(reqid);
  }

  async mkdir(reqid: number, path: string, attrs: Attributes): Promise<void> {
    const t = real(await this.space.resolve(path, false, 'write'), path);
    const mode = attrs && typeof attrs.mode === 'number' ? attrs.mode & 0o7777 : 0o755;
    await mkdir(t.real, { mode });
    this.ok(reqid);
  }

  async rename(reqid: number, from: string, to: string): Promise<void> {
    const a = real(await this.space.resolve(from, false, 'write'), from);
    const b = real(await this.space.resolve(to, false, 'write'), to);
    if (a.path === a.exp.path || b.path === b.exp.path) throw denied(a.path, 'an exported volume root cannot be renamed or replaced');
    // POSIX semantics (replaces an existing target), which is what sshfs wants.
    await rename(a.real, b.real);
    this.ok(reqid);
  }

  async readlink(reqid: number, path: string): Promise<void> {
    const t = real(await this.space.resolve(path, false, 'read'), path);
    const target = await readlink(t.real);
    // Refuse a link the client would resolve to somewhere outside the exports, or that leads
    // out of them on the pod (checked by real path when it resolves).
    if (!this.space.linkTargetAllowed(t.path, target)) throw denied(t.path, 'symlink points outside the exported volumes');
    await this.space.resolve(path, true, 'read');
    this.sftp.name(reqid, [{ filename: target, longname: target, attrs: {} as Attributes }]);
  }

  async symlink(reqid: number, linkPath: string, targetPath: string): Promise<void> {
    const t = real(await this.space.resolve(linkPath, false, 'write'), linkPath);
    if (!this.space.linkTargetAllowed(t.path, targetPath)) throw denied(t.path, `symlink target ${targetPath} is outside the exported volumes`);
    await symlink(targetPath, t.real);
    this.ok(reqid);
  }
}

// The open handles of one SFTP session: files (a FileHandle, its writes chained in arrival
// order) and directories (their listing, loaded on the first READDIR). A handle on the wire is
// 4 bytes, a big-endian number; at most MAX_HANDLES are open at once.
import type { FileHandle } from 'node:fs/promises';
import type { FileEntry } from 'ssh2';
import { SftpError, STATUS } from './exports.js';

/** Open handles per session, so a misbehaving client cannot exhaust the pod's descriptors. */
const MAX_HANDLES = 1024;

export type FileHandleEntry = { kind: 'file'; fh: FileHandle; path: string; writable: boolean; writes: Promise<unknown> };
export type DirHandleEntry = {
  kind: 'dir';
  path: string;
  real?: string;
  names: FileEntry[] | null;
  load: () => Promise<FileEntry[]>;
  pos: number;
  queue: Promise<unknown>;
};
export type HandleEntry = FileHandleEntry | DirHandleEntry;

export class Handles {
  private readonly open = new Map<number, HandleEntry>();
  private next = 1;

  /** Registers an entry; its handle for the wire. */
  add(entry: HandleEntry): Buffer {
    if (this.open.size >= MAX_HANDLES) throw new SftpError(STATUS.FAILURE, 'too many open handles');
    const id = this.next++;
    this.open.set(id, entry);
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(id >>> 0);
    return buf;
  }

  get(buf: Buffer): HandleEntry | undefined {
    return this.open.get(idOf(buf));
  }

  file(buf: Buffer): FileHandleEntry {
    const h = this.get(buf);
    if (!h || h.kind !== 'file') throw new SftpError(STATUS.FAILURE, 'invalid file handle');
    return h;
  }

  dir(buf: Buffer): DirHandleEntry {
    const h = this.get(buf);
    if (!h || h.kind !== 'dir') throw new SftpError(STATUS.FAILURE, 'invalid directory handle');
    return h;
  }

  /** Forgets the handle; the entry it was, or undefined. */
  remove(buf: Buffer): HandleEntry | undefined {
    const id = idOf(buf);
    const h = this.open.get(id);
    this.open.delete(id);
    return h;
  }

  /** Forgets every handle and closes the files (after their pending writes); never throws. */
  async closeAll(): Promise<void> {
    const open = [...this.open.values()];
    this.open.clear();
    await Promise.all(
      open.map(async (h) => {
        if (h.kind === 'file') await h.writes.then(() => h.fh.close()).catch(() => {});
      }),
    );
  }
}

const idOf = (buf: Buffer) => (buf.length === 4 ? buf.readUInt32BE(0) : -1);

// Looks at the program kinject is about to start and warns when the shim cannot capture it:
// statically linked ELF files, Go binaries (they make system calls themselves) and setuid/setgid
// files (the loader drops LD_PRELOAD). The shim does the same for every later execve.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

export type BinaryKind = 'dynamic' | 'static' | 'go' | 'setuid' | 'not-elf';

export function resolveOnPath(command: string, pathVar = process.env.PATH ?? ''): string | undefined {
  if (command.includes('/')) return isAbsolute(command) ? command : join(process.cwd(), command);
  for (const dir of pathVar.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      const st = statSync(candidate);
      if (st.isFile() && (st.mode & 0o111) !== 0) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Classifies an executable by reading its ELF program headers and notes. */
export function classifyBinary(path: string): BinaryKind {
  let fd: number;
  let mode: number;
  try {
    mode = statSync(path).mode;
    fd = openSync(path, 'r');
  } catch {
    return 'not-elf';
  }
  try {
    if ((mode & 0o6000) !== 0) return 'setuid';
    const head = Buffer.alloc(64);
    if (readSync(fd, head, 0, 64, 0) < 64) return 'not-elf';
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return 'not-elf'; // 64-bit LE only
    const phoff = Number(head.readBigUInt64LE(32));
    const phentsize = head.readUInt16LE(54);
    const phnum = head.readUInt16LE(56);
    const table = Buffer.alloc(phentsize * phnum);
    readSync(fd, table, 0, table.length, phoff);
    let hasInterp = false;
    let goNote = false;
    for (let i = 0; i < phnum; i++) {
      const entry = table.subarray(i * phentsize, (i + 1) * phentsize);
      const type = entry.readUInt32LE(0);
      if (type === 3) hasInterp = true; // PT_INTERP
      if (type === 4 && !goNote) goNote = hasGoNote(fd, entry); // PT_NOTE
    }
    if (goNote) return 'go';
    return hasInterp ? 'dynamic' : 'static';
  } finally {
    closeSync(fd);
  }
}

function hasGoNote(fd: number, phdr: Buffer): boolean {
  const offset = Number(phdr.readBigUInt64LE(8));
  const size = Math.min(Number(phdr.readBigUInt64LE(32)), 1 << 16);
  const notes = Buffer.alloc(size);
  readSync(fd, notes, 0, size, offset);
  for (let at = 0; at + 12 <= size; ) {
    const namesz = notes.readUInt32LE(at);
    const descsz = notes.readUInt32LE(at + 4);
    const name = notes.subarray(at + 12, at + 12 + namesz).toString('latin1').replace(/\0+$/, '');
    if (name === 'Go') return true;
    at += 12 + align4(namesz) + align4(descsz);
  }
  return false;
}

const align4 = (n: number) => (n + 3) & ~3;

export function bypassWarning(path: string, kind: BinaryKind): string | undefined {
  switch (kind) {
    case 'static':
      return `warning: ${path} is a statically linked binary: its network calls bypass kinject`;
    case 'go':
      return `warning: ${path} is a Go binary: its network calls bypass kinject`;
    case 'setuid':
      return `warning: ${path} is setuid/setgid: the loader drops LD_PRELOAD, so its network calls bypass kinject`;
    default:
      return undefined;
  }
}

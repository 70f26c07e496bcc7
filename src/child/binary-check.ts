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

/**
 * Classifies an executable by reading its ELF header, program headers, notes and dynamic section:
 * the same rules as the shim's check on every execve (native/exec.c, elf_kind), so the runner
 * and the shim give one answer (test/native/binary-kinds.test.js runs both on one table of real
 * binaries). setuid/setgid regular files first; then, for 32- and 64-bit ELF executables (ET_EXEC
 * or ET_DYN): a Go build-id note -> go; no PT_INTERP in an ET_EXEC, or in an ET_DYN without a
 * DT_SONAME (static-pie; a shared object with a soname is run directly, like ld.so) -> static.
 */
export function classifyBinary(path: string): BinaryKind {
  let fd: number;
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
    fd = openSync(path, 'r');
  } catch {
    return 'not-elf';
  }
  try {
    if (!st.isFile()) return 'not-elf';
    if ((st.mode & 0o6000) !== 0) return 'setuid';
    return elfKind(fd);
  } finally {
    closeSync(fd);
  }
}

const ET_EXEC = 2;
const ET_DYN = 3;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const PT_NOTE = 4;
const DT_NULL = 0;
const DT_SONAME = 14;
/** bytes of a note or dynamic segment looked at (the shim reads the same amount) */
const SEGMENT_BYTES = 4096;

function pread(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = readSync(fd, buf, 0, length, position);
  return buf.subarray(0, n);
}

function elfKind(fd: number): BinaryKind {
  const eh = pread(fd, 64, 0);
  if (eh.length < 52 || eh.readUInt32BE(0) !== 0x7f454c46) return 'not-elf';
  const is64 = eh[4] === 2;
  if (is64 && eh.length < 64) return 'not-elf';
  // fields in the machine's byte order (x86-64, aarch64: little-endian), as the shim reads them
  const type = eh.readUInt16LE(16);
  const phoff = is64 ? Number(eh.readBigUInt64LE(32)) : eh.readUInt32LE(28);
  const phentsize = eh.readUInt16LE(is64 ? 54 : 42);
  const phnum = eh.readUInt16LE(is64 ? 56 : 44);
  if (type !== ET_EXEC && type !== ET_DYN) return 'not-elf';
  if (phnum === 0 || phnum > 128 || phentsize < (is64 ? 56 : 32) || phentsize > 128) return 'not-elf';
  let interp = false;
  let go = false;
  let soname = false;
  for (let i = 0; i < phnum; i++) {
    const ph = pread(fd, is64 ? 56 : 32, phoff + i * phentsize);
    if (ph.length < (is64 ? 56 : 32)) return 'not-elf';
    const ptype = ph.readUInt32LE(0);
    const offset = is64 ? Number(ph.readBigUInt64LE(8)) : ph.readUInt32LE(4);
    const filesz = is64 ? Number(ph.readBigUInt64LE(32)) : ph.readUInt32LE(16);
    if (ptype === PT_INTERP) interp = true;
    if (ptype === PT_DYNAMIC && hasSoname(pread(fd, Math.min(filesz, SEGMENT_BYTES), offset), is64)) soname = true;
    if (ptype === PT_NOTE && !go) go = hasGoNote(pread(fd, Math.min(filesz, SEGMENT_BYTES), offset));
  }
  if (go) return 'go';
  if (!interp && type === ET_EXEC) return 'static';
  if (!interp && type === ET_DYN && !soname) return 'static'; // static-pie
  return 'dynamic';
}

function hasSoname(dyn: Buffer, is64: boolean): boolean {
  const size = is64 ? 16 : 8;
  for (let at = 0; at + size <= dyn.length; at += size) {
    const tag = is64 ? Number(dyn.readBigInt64LE(at)) : dyn.readInt32LE(at);
    if (tag === DT_NULL) break;
    if (tag === DT_SONAME) return true;
  }
  return false;
}

/** A note named "Go" of type 4 (NT_GOBUILDID), as the Go linker writes it. */
function hasGoNote(notes: Buffer): boolean {
  let at = 0;
  while (at + 12 <= notes.length) {
    const namesz = notes.readUInt32LE(at);
    const descsz = notes.readUInt32LE(at + 4);
    const type = notes.readUInt32LE(at + 8);
    at += 12;
    const nl = align4(namesz);
    const dl = align4(descsz);
    if (nl > notes.length - at) return false;
    if ((namesz === 3 || namesz === 4) && notes.subarray(at, at + 3).equals(GO_NAME) && type === 4) return true;
    at += nl;
    if (dl > notes.length - at) return false;
    at += dl;
  }
  return false;
}

const GO_NAME = Buffer.from('Go\0', 'latin1');
const align4 = (n: number) => (n + 3) & ~3;

export function bypassWarning(path: string, kind: BinaryKind): string | undefined {
  switch (kind) {
    case 'static':
      return `warning: ${path} is a statically linked binary: its network calls bypass kinject (run it with --method netns to capture them)`;
    case 'go':
      return `warning: ${path} is a Go binary: its network calls bypass kinject (run it with --method netns to capture them)`;
    case 'setuid':
      return `warning: ${path} is setuid/setgid: the loader drops LD_PRELOAD, so its network calls bypass kinject`;
    default:
      return undefined;
  }
}

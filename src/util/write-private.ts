// Writes a small private file (0600) atomically: a temporary file beside it, renamed over it, so a
// reader sees the old content or the new, never half of it.
import { renameSync, writeFileSync } from 'node:fs';

export function writePrivateFileAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

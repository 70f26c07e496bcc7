// The version a shim library was built from: native/version.c embeds "KINJECT_SHIM_VERSION=<v>"
// in the .so. Read from the file, not by loading it, so it works for a prebuilt of any
// architecture (and for a file that would not load here).
import { readFileSync } from 'node:fs';

const MARKER = Buffer.from('KINJECT_SHIM_VERSION=');

/** The shim's version; undefined when the file is missing or has no marker (built before it existed). */
export function shimVersion(file: string): string | undefined {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch {
    return undefined;
  }
  const at = data.indexOf(MARKER);
  if (at < 0) return undefined;
  const start = at + MARKER.length;
  const end = data.indexOf(0, start);
  return data.subarray(start, end < 0 ? start : end).toString('latin1');
}

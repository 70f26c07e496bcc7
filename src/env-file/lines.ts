// What every env-file writer shares: one line (or quoted multi-line entry) per variable in key
// order, and a comment in place of a variable the syntax cannot carry exactly. Such a comment
// names the key and why, never the value (it may be a secret), and the key is reported in
// `skipped` so the caller can warn once.
import type { Env } from '../kube/env.js';

/** A written env file, and the keys written as comments because the syntax cannot carry them. */
export interface EnvFileText {
  text: string;
  skipped: string[];
}

/** An entry's text, or why the variable cannot be written (becomes `# "KEY" not written: why`). */
export type Entry = { text: string } | { notWritten: string };

export function writeEntries(env: Env, entry: (key: string, value: string) => Entry): EnvFileText {
  const lines: string[] = [];
  const skipped: string[] = [];
  for (const key of Object.keys(env).sort()) {
    const e = entry(key, env[key]!);
    if ('text' in e) {
      lines.push(e.text);
    } else {
      lines.push(`# ${JSON.stringify(key)} not written: ${e.notWritten}`);
      skipped.push(key);
    }
  }
  return { text: lines.length ? lines.join('\n') + '\n' : '', skipped };
}

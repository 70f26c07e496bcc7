// The json syntax: one JSON object of strings, keys sorted. Carries every key and value.
import type { Env } from '../kube/env.js';
import type { EnvFileText } from './lines.js';

export function toJson(env: Env): EnvFileText {
  const sorted: Env = {};
  for (const k of Object.keys(env).sort()) sorted[k] = env[k]!;
  return { text: JSON.stringify(sorted, null, 2) + '\n', skipped: [] };
}

// `kinject run --output json`: kinject's stderr lines as JSON objects, one a line, for scripts and
// CI. Every line has "time" (ISO 8601), "event" and "message"; known progress lines get their own
// event name and fields:
//   pod-created {pod, namespace, target?}  pod-ready {pod}  tunnel-up {pod, transport?}  volumes-mounted {root}
//   tunnel-lost / tunnel-back {pod}  child-exit {code, signal?}  cleanup-done
// other progress is "progress", warnings and errors "warning", --verbose diagnostics "debug".
import type { Logger } from './log.js';

const PATTERNS: [RegExp, string, string[]][] = [
  [/^creating proxy pod (\S+) in (\S+?)(?: from (\S+))?$/, 'pod-created', ['pod', 'namespace', 'target']],
  [/^pod ready: (\S+)$/, 'pod-ready', ['pod']],
  [/^tunnel up to (\S+)(?: via (direct|port-forward)\b.*)?$/, 'tunnel-up', ['pod', 'transport']],
  [/^volumes mounted at (\S+): /, 'volumes-mounted', ['root']],
  [/^the tunnel to the proxy pod (\S+) was lost/, 'tunnel-lost', ['pod']],
  [/^the tunnel to the proxy pod (\S+) is back/, 'tunnel-back', ['pod']],
];

export function jsonLine(event: string, message: string, fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ time: new Date().toISOString(), event, ...fields, message }) + '\n';
}

/** one JSON line for a message kinject would print as "kinject: MESSAGE" */
export function classify(message: string, fallback: string): string {
  for (const [re, event, names] of PATTERNS) {
    const m = re.exec(message);
    if (!m) continue;
    const fields: Record<string, string> = {};
    names.forEach((n, i) => {
      if (m[i + 1] !== undefined) fields[n] = m[i + 1];
    });
    return jsonLine(event, message, fields);
  }
  return jsonLine(fallback, message);
}

export function createJsonLogger(verbose: boolean): Logger {
  const write = (line: string) => process.stderr.write(line);
  return {
    info: (msg) => write(classify(msg, 'progress')),
    warn: (msg) => write(classify(msg, 'warning')),
    debug: verbose ? (msg) => write(jsonLine('debug', msg)) : () => {},
    event: (name, { message, ...fields } = {}) => write(jsonLine(name, typeof message === 'string' ? message : name.replace(/-/g, ' '), fields)),
  };
}

// `kinject run`'s intercept flags as data (docs/inbound.md "The command"): --intercept
// PORT[:LOCALPORT] (repeatable; PORT a Service port number or name), --header NAME=VALUE
// (repeatable), --path-prefix /p, --service NAME. Pure: one-line usage errors, nothing looked up.

import { usageError } from '../errors.js';
import { parseHeaderRule, type HeaderRule } from '../../protocol/intercept/rules.js';

export interface InterceptFlags {
  intercept?: string[];
  header?: string[];
  pathPrefix?: string;
  service?: string;
}

export interface InterceptPortRequest {
  /** a Service port: its number, or its name */
  port: number | string;
  /** where the local process listens (default: the targetPort's number) */
  localPort?: number;
}

export interface InterceptRequest {
  ports: InterceptPortRequest[];
  headers: HeaderRule[];
  pathPrefix?: string;
  service?: string;
}

function portNumber(text: string, what: string, flag: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw usageError(`${flag}: ${what} ${JSON.stringify(text)} is not a port number (1-65535)`);
  return n;
}

export function parseInterceptFlags(f: InterceptFlags, hasTarget: boolean): InterceptRequest | undefined {
  const given = f.intercept ?? [];
  if (!given.length) {
    const stray = f.header?.length ? '--header' : f.pathPrefix !== undefined ? '--path-prefix' : f.service !== undefined ? '--service' : undefined;
    if (stray) throw usageError(`${stray} filters an intercept: add --intercept PORT[:LOCALPORT]`);
    return undefined;
  }
  if (!hasTarget) throw usageError('--intercept takes the traffic of a workload: add --target WORKLOAD (e.g. --target deployment/api)');
  const ports = given.map((text): InterceptPortRequest => {
    const m = /^([^:]+)(?::(.*))?$/.exec(text.trim());
    if (!m) throw usageError(`--intercept ${JSON.stringify(text)}: expected PORT[:LOCALPORT], e.g. 80:3000 or http:3000`);
    const port = /^\d+$/.test(m[1]!) ? portNumber(m[1]!, 'PORT', '--intercept') : m[1]!;
    if (typeof port === 'string' && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(port)) {
      throw usageError(`--intercept ${JSON.stringify(text)}: PORT is a Service port number or name (e.g. 80 or http)`);
    }
    return m[2] === undefined ? { port } : { port, localPort: portNumber(m[2], 'LOCALPORT', '--intercept') };
  });
  const seen = new Set<string>();
  for (const p of ports) {
    if (seen.has(String(p.port))) throw usageError(`--intercept ${p.port} is given twice`);
    seen.add(String(p.port));
  }
  let headers: HeaderRule[];
  try {
    headers = (f.header ?? []).map(parseHeaderRule);
  } catch (err) {
    throw usageError((err as Error).message);
  }
  if (f.pathPrefix !== undefined && !f.pathPrefix.startsWith('/')) {
    throw usageError(`--path-prefix ${JSON.stringify(f.pathPrefix)} must start with / (e.g. /api)`);
  }
  return { ports, headers, pathPrefix: f.pathPrefix, service: f.service };
}

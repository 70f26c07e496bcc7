// An intercept's rules and the routing decision for one HTTP request (docs/inbound.md): all header
// conditions (NAME=VALUE; the name case-insensitive, the value exact, any one of a repeated
// header's values) and the optional path prefix must match for a request to go to the local
// process. No condition at all is a global intercept: every connection, any protocol.

export interface HeaderRule {
  /** lower case */
  name: string;
  value: string;
}

export interface InterceptRules {
  headers: HeaderRule[];
  pathPrefix?: string;
}

export interface Decision {
  to: 'local' | 'cluster';
  /** one line: which condition matched, or the first that did not */
  why: string;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** `NAME=VALUE` as given to --header; throws a one-line error naming the fix. */
export function parseHeaderRule(text: string): HeaderRule {
  const eq = text.indexOf('=');
  const name = eq > 0 ? text.slice(0, eq).trim() : '';
  if (!name || !TOKEN.test(name)) {
    throw new Error(`--header ${JSON.stringify(text)}: expected NAME=VALUE with an HTTP header name (e.g. x-dev=alice)`);
  }
  const value = text.slice(eq + 1);
  if (/[\r\n\0]/.test(value)) throw new Error(`--header ${JSON.stringify(text)}: the value may not contain CR, LF or NUL`);
  return { name: name.toLowerCase(), value };
}

export function isGlobal(rules: InterceptRules): boolean {
  return rules.headers.length === 0 && !rules.pathPrefix;
}

/** HTTP/1 (node's IncomingHttpHeaders) or HTTP/2 headers: lower-case names, string or string[] values */
export type HeaderBag = Record<string, string | string[] | undefined>;

export function decide(rules: InterceptRules, headers: HeaderBag, path: string): Decision {
  for (const h of rules.headers) {
    const got = headers[h.name];
    const values = got === undefined ? [] : Array.isArray(got) ? got : [got];
    // node joins some repeated headers with ", " (HTTP/1) or keeps an array: accept either form
    const hit = values.some((v) => v === h.value || v.split(', ').includes(h.value));
    if (!hit) return { to: 'cluster', why: values.length ? `header ${h.name} is not ${h.value}` : `no header ${h.name}` };
  }
  if (rules.pathPrefix && !path.startsWith(rules.pathPrefix)) {
    return { to: 'cluster', why: `path does not start with ${rules.pathPrefix}` };
  }
  const parts = rules.headers.map((h) => `header ${h.name}=${h.value}`);
  if (rules.pathPrefix) parts.push(`path prefix ${rules.pathPrefix}`);
  return { to: 'local', why: parts.length ? `matched ${parts.join(', ')}` : 'global intercept' };
}

// Header lists as the router forwards them: node's raw [name, value, ...] arrays, in the order and
// case they arrived, without the hop-by-hop headers of RFC 9110 7.6.1 (they describe one
// connection, and the router's connection to the next hop is its own).

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'http2-settings']);

/** raw headers minus hop-by-hop ones and the ones Connection names; keepUpgrade for an Upgrade request */
export function forwardedHeaders(raw: string[], keepUpgrade = false): string[] {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() === 'connection') for (const n of raw[i + 1].split(',')) named.add(n.trim().toLowerCase());
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const hop = HOP_BY_HOP.has(name) || named.has(name);
    if (hop && !(keepUpgrade && (name === 'connection' || name === 'upgrade'))) continue;
    out.push(raw[i], raw[i + 1]);
  }
  return out;
}

/** [name, value, ...] as [[name, value], ...] (addTrailers) */
export function pairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i], raw[i + 1]]);
  return out;
}

/** an HTTP/1.1 request head from node's parsed request: method, target, raw headers */
export function requestHead(method: string, url: string, version: string, raw: string[]): Buffer {
  let head = `${method} ${url} HTTP/${version}\r\n`;
  for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return Buffer.from(`${head}\r\n`, 'latin1');
}

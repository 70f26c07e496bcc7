// Parses a HOST:PORT listen argument ("127.0.0.1:1080", "[::1]:1080", "localhost:0") for
// --listen and --sftp-listen.

export function parseListen(value: string, flag = '--listen'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`${flag} wants HOST:PORT (IPv6 as [addr]:port), got ${JSON.stringify(value)}`);
  return { host: (m[1] ?? m[2])!, port };
}

/** HOST:PORT for messages, IPv6 in brackets. */
export function formatHostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

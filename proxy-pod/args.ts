// Parses the --listen HOST:PORT argument ("127.0.0.1:1080", "[::1]:1080", "localhost:0").

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`--listen wants HOST:PORT (IPv6 as [addr]:port), got ${JSON.stringify(value)}`);
  return { host: (m[1] ?? m[2])!, port };
}

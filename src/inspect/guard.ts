// Who may talk to the inspection page's server: requests whose Host is localhost or 127.0.0.1
// (with the server's port or none) and whose Origin, when sent, is http://localhost:PORT or
// http://127.0.0.1:PORT. Anything else is refused, so a web page on another name that resolves to
// 127.0.0.1 (DNS rebinding) cannot read or drive it; the server sends no CORS headers either.
import type { IncomingMessage } from 'node:http';

const LOCAL_HOSTS = ['localhost', '127.0.0.1'];

/** undefined when the request may go on, otherwise why it is refused */
export function refusal(req: Pick<IncomingMessage, 'headers'>, port: number): string | undefined {
  const host = req.headers.host;
  if (!host || !isLocalHost(host, port)) return `Host ${JSON.stringify(host ?? '')} is not localhost:${port} or 127.0.0.1:${port}`;
  const origin = req.headers.origin;
  if (origin !== undefined && !LOCAL_HOSTS.some((h) => origin === `http://${h}:${port}`)) return `Origin ${JSON.stringify(origin)} is not this page`;
  return undefined;
}

function isLocalHost(host: string, port: number): boolean {
  const lower = host.toLowerCase();
  return LOCAL_HOSTS.some((h) => lower === h || lower === `${h}:${port}`);
}

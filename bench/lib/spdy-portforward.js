// One port-forward stream over the API server's SPDY/3.1 upgrade (the protocol kubectl spoke
// before websockets, still served by the API server and the container runtime), for
// bench/suites/ws-portforward-raw.js: does the older stream protocol go faster than the
// websocket one kinject uses? The SPDY framing is spdy-transport's (npm), which is not one of
// kinject's dependencies: `npm i --no-save spdy-transport@3.0.0` first, else this path is
// skipped. spdy-transport is written for HTTP over SPDY, so two of its assumptions are turned
// off for port-forward, by hand, on its internal state: a stream's reply carries no :status
// header here (it would reset the stream), and the runtime's SPDY server (moby/spdystream) sends
// no WINDOW_UPDATE frames (the 64 KiB send window would never refill).
import https from 'node:https';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const HUGE_WINDOW = 1 << 30;

/** spdy-transport, or undefined when it is not installed */
export function spdyTransport() {
  try {
    return require('spdy-transport');
  } catch {
    return undefined;
  }
}

/** A duplex stream to pod:port in namespace over SPDY (its error stream is watched and closed). */
export async function openSpdyPortForward(kc, namespace, pod, port) {
  const transport = spdyTransport();
  if (!transport) throw new Error('spdy-transport is not installed: npm i --no-save spdy-transport@3.0.0');
  const url = new URL(`${kc.getCurrentCluster().server}/api/v1/namespaces/${namespace}/pods/${pod}/portforward`);
  const options = {
    method: 'POST',
    hostname: url.hostname,
    port: url.port,
    path: url.pathname,
    headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'portforward.k8s.io' },
  };
  await kc.applyToHTTPSOptions(options);
  const socket = await new Promise((resolve, reject) => {
    const req = https.request(options);
    req.on('upgrade', (_res, upgraded) => resolve(upgraded));
    req.on('response', (res) => reject(new Error(`SPDY upgrade refused: HTTP ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
  const connection = transport.connection.create(socket, { protocol: 'spdy', isServer: false, windowSize: HUGE_WINDOW });
  connection.start(3.1);
  connection._spdyState.window.send.current = connection._spdyState.window.send.max = HUGE_WINDOW;
  // a GET would be sent half-closed; the port-forward headers name the stream
  const open = (streamtype) =>
    new Promise((resolve, reject) => {
      const stream = connection.request({ method: 'POST', path: '/', headers: { streamtype, port: String(port), requestid: '0' } }, (err, s) =>
        err ? reject(err) : resolve(s),
      );
      stream._spdyState.needResponse = false;
      stream._spdyState.window.send.current = stream._spdyState.window.send.max = HUGE_WINDOW;
    });
  const errors = await open('error');
  const data = await open('data');
  errors.on('data', (d) => data.destroy(new Error(`port-forward: ${String(d).trim()}`)));
  errors.end();
  data.on('close', () => socket.destroy());
  return data;
}

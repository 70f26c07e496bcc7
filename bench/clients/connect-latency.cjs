// Benchmark client: N times, open a NEW TCP connection to HOST:PORT, send one small HTTP request,
// read the whole response, close. Prints JSON with each round trip's time in ms. Self-contained
// (no imports beyond node:*) so it also runs inside a pod with `node -e`.
// usage: node connect-latency.cjs HOST PORT COUNT
const net = require('node:net');
const [host, port, count] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] || 200)];
function once() {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const socket = net.connect({ host, port, noDelay: true });
    let bytes = 0;
    socket.setTimeout(10000, () => socket.destroy(new Error('timeout')));
    socket.on('connect', () => socket.write(`GET / HTTP/1.0\r\nHost: ${host}\r\n\r\n`));
    socket.on('data', (d) => { bytes += d.length; });
    socket.on('error', reject);
    socket.on('close', () => (bytes > 0 ? resolve(Number(process.hrtime.bigint() - start) / 1e6) : reject(new Error('empty response'))));
  });
}
(async () => {
  const samples = [];
  for (let i = 0; i < count; i++) samples.push(await once());
  process.stdout.write(JSON.stringify({ samples }) + '\n');
})().catch((err) => { console.error(err.message); process.exit(1); });

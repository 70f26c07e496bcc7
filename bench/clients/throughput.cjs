// Benchmark client: streams MIB mebibytes to a TCP echo server at HOST:PORT and reads them back;
// prints JSON { bytes, seconds, mibs } where mibs counts the payload once (MiB/s). Self-contained.
// usage: node throughput.cjs HOST PORT MIB
const net = require('node:net');
const [host, port, mib] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] || 200)];
const total = mib * 1024 * 1024;
const chunk = Buffer.alloc(256 * 1024, 0x5a);
const socket = net.connect({ host, port, noDelay: true });
let sent = 0;
let received = 0;
let start;
socket.on('connect', () => {
  start = process.hrtime.bigint();
  const pump = () => {
    while (sent < total) {
      const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
      sent += piece.length;
      if (!socket.write(piece)) return socket.once('drain', pump);
    }
  };
  pump();
});
socket.on('data', (d) => {
  received += d.length;
  if (received >= total) {
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    process.stdout.write(JSON.stringify({ bytes: received, seconds, mibs: mib / seconds }) + '\n');
    socket.destroy();
  }
});
socket.setTimeout(120000, () => {
  console.error('timeout');
  process.exit(1);
});
socket.on('error', (err) => {
  console.error(err.message);
  process.exit(1);
});

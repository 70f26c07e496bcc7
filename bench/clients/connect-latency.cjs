// Benchmark client: N times, open a NEW TCP connection to HOST:PORT, send one small HTTP/1.1 request
// (Connection: close), read the whole response, close. Prints JSON with each round trip's time in
// ms (from connect() to the last byte of the response). Self-contained
// (no imports beyond node:*) so it also runs inside a pod with `node -e`. The first WARMUP round
// trips (default 5: DNS caches, the tunnel's first streams, JIT) are not counted.
// usage: node connect-latency.cjs HOST PORT COUNT [WARMUP]
const net = require('node:net');
const [host, port, count, warmup] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] || 200), Number(process.argv[5] ?? 5)];
function once() {
  // done when the whole response is in (Content-Length, the last chunk, else the server's close): the time to
  // tear the connection down is not the client's wait (and through kubectl port-forward a close
  // takes about a second to arrive)
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const socket = net.connect({ host, port, noDelay: true });
    let data = Buffer.alloc(0);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve(Number(process.hrtime.bigint() - start) / 1e6);
      socket.destroy();
    };
    socket.setTimeout(10000, () => socket.destroy(new Error('timeout')));
    socket.on('connect', () => socket.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    socket.on('data', (d) => {
      data = Buffer.concat([data, d]);
      const head = data.indexOf('\r\n\r\n');
      if (head < 0) return;
      const headers = data.subarray(0, head).toString('latin1');
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(headers);
      if (length && data.length - head - 4 >= Number(length[1])) finish();
      // a chunked body ends with the zero-length chunk (small responses: no trailers)
      else if (/\r\ntransfer-encoding:\s*chunked/i.test(headers) && data.subarray(head).toString('latin1').endsWith('\r\n0\r\n\r\n')) finish();
    });
    socket.on('error', (err) => done || reject(err));
    socket.on('close', () => (data.length > 0 ? finish() : done || reject(new Error('empty response'))));
  });
}
(async () => {
  for (let i = 0; i < warmup; i++) await once();
  const samples = [];
  for (let i = 0; i < count; i++) samples.push(await once());
  process.stdout.write(JSON.stringify({ samples }) + '\n');
})().catch((err) => {
  console.error(err.message);
  process.exit(1);
});

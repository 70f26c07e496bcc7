// Benchmark client: COUNT HTTP requests without keep-alive to http://HOST:PORT/, CONCURRENCY at a
// time (1 = sequential). Prints JSON { count, seconds, failures }. Self-contained.
// usage: node http-requests.cjs HOST PORT COUNT CONCURRENCY
const http = require('node:http');
const [host, port, count, concurrency] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] || 1000), Number(process.argv[5] || 1)];
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
function one() {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/', agent, timeout: 10000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
  });
}
(async () => {
  let next = 0;
  let failures = 0;
  const start = process.hrtime.bigint();
  const worker = async () => {
    while (next < count) {
      next++;
      if (!(await one())) failures++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(JSON.stringify({ count, concurrency, seconds, failures }) + '\n');
})();

// Benchmark client for the shim's overhead on local-only work: COUNT sequential TCP connects to a
// loopback server it starts itself (connect, one byte each way, close). Prints JSON { count, seconds }.
// usage: node loopback-connects.cjs COUNT
const net = require('node:net');
const count = Number(process.argv[2] || 10000);
const server = net.createServer((s) => {
  s.once('data', () => s.end('y'));
});
server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    await new Promise((resolve, reject) => {
      const c = net.connect({ host: '127.0.0.1', port }, () => c.write('x'));
      c.on('data', () => {});
      c.on('end', () => {
        c.end();
        resolve();
      });
      c.on('error', reject);
    });
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(JSON.stringify({ count, seconds }) + '\n');
  server.close();
});

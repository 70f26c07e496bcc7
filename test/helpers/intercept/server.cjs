// The test servers (test/e2e/run-intercept.test.js): `node server.cjs NAME [HTTP_PORT H2_PORT
// [GRPC_PORT]]` answers every HTTP/1.1 request and h2c stream with "NAME <pod or host> <method>
// <path>\n" (NAME "pod" in the cluster, "local-..." on the developer's side) and echoes WebSocket
// messages (text frames up to 125 bytes) prefixed with NAME. Defaults: 8080 and 8081. With
// GRPC_PORT it also serves grpc-echo.cjs's gRPC service there.
const http = require('node:http');
const http2 = require('node:http2');
const crypto = require('node:crypto');
const [name = 'pod', p1 = '8080', p2 = '8081', p3] = process.argv.slice(2);
const who = `${name} ${process.env.POD_NAME || 'local'}`;
const answer = (method, path) => `${who} ${method} ${path}\n`;
const h1 = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(answer(req.method, req.url));
  });
});
h1.keepAliveTimeout = 65_000;
h1.on('upgrade', (req, socket) => {
  const key = req.headers['sec-websocket-key'];
  const accept = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`);
  socket.on('data', (buf) => {
    // one masked text frame from the client, short payload
    const len = buf[1] & 0x7f;
    const mask = buf.subarray(2, 6);
    const data = Buffer.from(buf.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4]));
    const out = Buffer.from(`${who} ${data.toString()}`);
    socket.write(Buffer.concat([Buffer.from([0x81, out.length]), out]));
  });
  socket.on('error', () => {});
});
const h2 = http2.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(answer(req.method, req.url));
  });
});
const grpc = () => (p3 ? require('./grpc-echo.cjs').serve(name, Number(p3)) : Promise.resolve());
h1.listen(Number(p1), () => h2.listen(Number(p2), () => grpc().then(() => console.log(`${who} listening on ${p1} and ${p2}${p3 ? ` and ${p3} (gRPC)` : ''}`))));
process.on('SIGTERM', () => process.exit(0));

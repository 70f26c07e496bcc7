// The inbound router (proxy-pod/inbound/) with HTTP/1.1 clients on loopback: a keep-alive client
// alternating the header on ONE connection (each request routed on its own), curl with and
// without the header, headers and bodies unchanged for the cluster side, streamed bodies with
// trailers, 100-continue, the 502 and its single warning when the local process is down, the
// record of an intercepted request, and `Upgrade: h2c` served as HTTP/1.1 request by request.
import t from 'tap';
import http from 'node:http';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { closedPort, http1Side, listen, router } from '../../../helpers/inbound-sides.js';

const run = promisify(execFile);

async function sides(t, { localDown = false } = {}) {
  const clusterPort = await listen(t, http1Side('cluster'));
  const localPort = localDown ? await closedPort() : await listen(t, http1Side('local'));
  return router(t, { clusterPort, localPort });
}

function request(port, { path = '/', method = 'GET', headers = {}, agent, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode,
          headers: res.headers,
          raw: res.rawHeaders,
          body: Buffer.concat(chunks).toString(),
          trailers: res.trailers,
          reused: req.reusedSocket,
        }),
      );
    });
    req.setTimeout(15_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

t.test('keep-alive: one connection, the header alternating, each request goes to its own side', { timeout: 30_000 }, async (t) => {
  const r = await sides(t);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const got = [];
  for (let i = 0; i < 8; i++) {
    const res = await request(r.port, { agent, path: `/n${i}`, headers: i % 2 ? { 'x-dev': 'alice' } : {} });
    got.push([JSON.parse(res.body).side, res.reused]);
  }
  t.same(
    got.map((g) => g[0]),
    ['cluster', 'local', 'cluster', 'local', 'cluster', 'local', 'cluster', 'local'],
  );
  t.same(
    got.slice(1).map((g) => g[1]),
    Array(7).fill(true),
    'the client reused its socket',
  );
  t.equal(r.connections(), 1, 'one connection reached the router');
  t.equal(r.records.length, 4, 'only the intercepted requests are recorded');
});

t.test('curl with and without the header; a wrong value and the path prefix', { timeout: 30_000 }, async (t) => {
  const clusterPort = await listen(t, http1Side('cluster'));
  const localPort = await listen(t, http1Side('local'));
  const r = await router(t, { clusterPort, localPort, pathPrefix: '/api' });
  const curl = async (...args) => JSON.parse((await run('curl', ['-sS', '--max-time', '10', ...args], { timeout: 15_000 })).stdout).side;
  t.equal(await curl(`http://127.0.0.1:${r.port}/api/x`, '-H', 'x-dev: alice'), 'local');
  t.equal(await curl(`http://127.0.0.1:${r.port}/api/x`), 'cluster');
  t.equal(await curl(`http://127.0.0.1:${r.port}/api/x`, '-H', 'x-dev: bob'), 'cluster');
  t.equal(await curl(`http://127.0.0.1:${r.port}/other`, '-H', 'x-dev: alice'), 'cluster', 'outside the path prefix');
  t.match(r.records[0], { method: 'GET', path: '/api/x', status: 200, decision: { to: 'local', why: /x-dev=alice.*\/api/ } });
});

t.test('pass-through leaves the request and the response as they were', { timeout: 30_000 }, async (t) => {
  const r = await sides(t);
  const res = await request(r.port, {
    method: 'POST',
    path: '/p?q=1',
    headers: { 'X-Case-Kept': 'v', 'content-type': 'text/plain', 'content-length': 5 },
    body: 'hello',
  });
  const seen = JSON.parse(res.body);
  t.equal(seen.side, 'cluster');
  t.equal(seen.url, '/p?q=1');
  t.equal(seen.bodyBytes, 5);
  const names = seen.headers.filter((_, i) => i % 2 === 0);
  t.ok(names.includes('X-Case-Kept'), 'the header name case is kept');
  t.same(
    names.filter((n) => ['X-Case-Kept', 'content-type', 'content-length'].includes(n)),
    ['X-Case-Kept', 'content-type', 'content-length'],
    'in their order',
  );
  t.ok(res.raw.includes('X-Mixed-Case'), 'response header case kept');
  t.equal(res.headers['x-side'], 'cluster');
});

t.test('streamed bodies both ways and trailers, on each side', { timeout: 30_000 }, async (t) => {
  const r = await sides(t);
  for (const [side, headers] of [
    ['cluster', {}],
    ['local', { 'x-dev': 'alice' }],
  ]) {
    const res = await request(r.port, { path: '/stream', headers });
    t.equal(res.body.split('\n').filter(Boolean).length, 5, `${side}: five chunks`);
    t.same(res.trailers, { 'x-sum': `${side}-done` }, `${side}: the trailer arrived`);
    // a chunked upload of 3 MiB, written in pieces
    const up = await new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: r.port, method: 'PUT', path: '/up', headers }, (res) => {
        let b = '';
        res.on('data', (c) => {
          b += c;
        });
        res.on('end', () => resolve(JSON.parse(b)));
      });
      req.on('error', reject);
      for (let i = 0; i < 48; i++) req.write(Buffer.alloc(64 * 1024, i));
      req.addTrailers({ 'x-upload': 'done' });
      req.end();
    });
    t.equal(up.side, side);
    t.equal(up.bodyBytes, 3 * 1024 * 1024, `${side}: every byte of the upload`);
    t.same(up.trailers, { 'x-upload': 'done' }, `${side}: the request trailer arrived`);
  }
  const rec = r.records.find((x) => x.method === 'PUT');
  t.equal(rec.requestBody.bytes, 3 * 1024 * 1024, 'the record counts the whole body');
  t.equal(Buffer.from(rec.requestBody.base64, 'base64').length, 64 * 1024, 'and keeps its first 64 KiB');
  t.equal(rec.requestBody.truncated, true);
});

t.test('100-continue: the client is told to go on, the body arrives (curl and node)', { timeout: 30_000 }, async (t) => {
  const r = await sides(t);
  for (const headers of [[], ['-H', 'x-dev: alice']]) {
    const { stdout } = await run(
      'curl',
      ['-sS', '--max-time', '10', '-H', 'Expect: 100-continue', '--data-binary', 'x'.repeat(2000), ...headers, `http://127.0.0.1:${r.port}/c`],
      { timeout: 15_000 },
    );
    t.equal(JSON.parse(stdout).bodyBytes, 2000);
  }
  const req = http.request({
    host: '127.0.0.1',
    port: r.port,
    method: 'POST',
    path: '/c',
    headers: { expect: '100-continue', 'content-length': 3, 'x-dev': 'alice' },
  });
  const cont = once(req, 'continue');
  const resP = once(req, 'response');
  await cont;
  req.end('abc');
  const [res] = await resP;
  let b = '';
  for await (const c of res) b += c;
  t.match(JSON.parse(b), { side: 'local', bodyBytes: 3 });
});

t.test('local process down: 502 with one line, one warning, the cluster still served', { timeout: 30_000 }, async (t) => {
  const r = await sides(t, { localDown: true });
  for (let i = 0; i < 3; i++) {
    const res = await request(r.port, { headers: { 'x-dev': 'alice' } });
    t.equal(res.status, 502);
    t.match(res.body, /^kinject: the local process \(127\.0\.0\.1:\d+\) is not reachable: .*\n$/);
    t.equal(res.body.split('\n').length, 2, 'one line');
  }
  t.equal(r.warnings.length, 1, 'one warning for three failed requests');
  t.match(r.warnings[0], /not reachable/);
  t.equal(JSON.parse((await request(r.port)).body).side, 'cluster');
  t.match(r.records[0], { status: 502, error: /ECONNREFUSED/ });
});

t.test('Upgrade: h2c is not taken: served as HTTP/1.1, request by request', { timeout: 30_000 }, async (t) => {
  const r = await sides(t);
  const args = ['-sS', '--max-time', '10', '--http2', '-w', '\\n%{http_version}\\n'];
  const { stdout } = await run('curl', [...args, `http://127.0.0.1:${r.port}/a`, '-H', 'x-dev: alice', '--next', ...args, `http://127.0.0.1:${r.port}/b`], {
    timeout: 15_000,
  });
  const lines = stdout.split('\n');
  t.equal(JSON.parse(lines[0]).side, 'local');
  t.equal(lines[1].trim(), '1.1');
  t.equal(JSON.parse(lines[2]).side, 'cluster', 'the second request of the connection decided on its own');
  t.equal(r.connections(), 1, 'curl reused its connection');
});

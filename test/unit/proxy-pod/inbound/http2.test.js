// The inbound router (proxy-pod/inbound/) with HTTP/2 clients on loopback: node's http2 client with
// streams interleaved on ONE session (each stream routed on its own), curl
// --http2-prior-knowledge with and without the header, a gRPC call with and without metadata on
// one @grpc/grpc-js channel against a grpc-js server on each side (trailers carry its status),
// and the 502 with one warning when the local process is down.
import t from 'tap';
import http2 from 'node:http2';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import grpc from '@grpc/grpc-js';
import { closedPort, http2Side, listen, router } from '../../../helpers/inbound-sides.js';

const run = promisify(execFile);

function get(session, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path, ...headers });
    req.setTimeout(15_000, () => req.close(http2.constants.NGHTTP2_CANCEL));
    let status = 0;
    let body = '';
    req.on('response', (h) => {
      status = h[':status'];
    });
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => resolve({ status, body }));
    req.on('error', reject);
    req.end();
  });
}

t.test('h2c: streams interleaved on one session, each routed on its own', { timeout: 30_000 }, async (t) => {
  const clusterPort = await listen(t, http2Side('cluster'));
  const localPort = await listen(t, http2Side('local'));
  const r = await router(t, { clusterPort, localPort });
  const session = http2.connect(`http://127.0.0.1:${r.port}`);
  t.teardown(() => session.close());
  const got = await Promise.all(Array.from({ length: 12 }, (_, i) => get(session, `/s${i}`, i % 3 === 0 ? { 'x-dev': 'alice' } : {})));
  t.same(
    got.map((g) => JSON.parse(g.body).side),
    Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? 'local' : 'cluster')),
  );
  t.same(
    got.map((g) => JSON.parse(g.body).path),
    Array.from({ length: 12 }, (_, i) => `/s${i}`),
  );
  t.equal(r.connections(), 1, 'one connection');
  t.equal(r.records.length, 4);
  t.match(r.records[0], { protocol: 'h2c', status: 200, decision: { to: 'local' } });
});

t.test('curl --http2-prior-knowledge with and without the header', { timeout: 30_000 }, async (t) => {
  const clusterPort = await listen(t, http2Side('cluster'));
  const localPort = await listen(t, http2Side('local'));
  const r = await router(t, { clusterPort, localPort });
  const curl = async (...args) =>
    JSON.parse((await run('curl', ['-sS', '--max-time', '10', '--http2-prior-knowledge', ...args], { timeout: 15_000 })).stdout).side;
  t.equal(await curl(`http://127.0.0.1:${r.port}/x`, '-H', 'x-dev: alice'), 'local');
  t.equal(await curl(`http://127.0.0.1:${r.port}/x`), 'cluster');
});

t.test('h2c: local process down: 502 with one line and one warning', { timeout: 30_000 }, async (t) => {
  const clusterPort = await listen(t, http2Side('cluster'));
  const r = await router(t, { clusterPort, localPort: await closedPort() });
  const session = http2.connect(`http://127.0.0.1:${r.port}`);
  t.teardown(() => session.close());
  for (let i = 0; i < 3; i++) {
    const res = await get(session, '/', { 'x-dev': 'alice' });
    t.equal(res.status, 502);
    t.match(res.body, /^kinject: the local process .* is not reachable: .*\n$/);
  }
  t.equal(r.warnings.length, 1);
  t.equal(JSON.parse((await get(session, '/')).body).side, 'cluster');
});

// a gRPC service without .proto files: raw bytes in, the side's name plus the bytes out
const SAY = {
  say: {
    path: '/kinject.test.Echo/Say',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b) => b,
    requestDeserialize: (b) => b,
    responseSerialize: (b) => b,
    responseDeserialize: (b) => b,
  },
};

async function grpcSide(t, side) {
  const server = new grpc.Server();
  server.addService(SAY, {
    say: (call, cb) => {
      if (call.request.toString() === 'fail') {
        cb({ code: grpc.status.FAILED_PRECONDITION, details: `${side} refuses` });
        return;
      }
      cb(null, Buffer.from(`${side}:${call.request}`));
    },
  });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  t.teardown(() => server.forceShutdown());
  return port;
}

t.test('gRPC (grpc-js): metadata routes the call, status trailers come back from each side', { timeout: 30_000 }, async (t) => {
  const r = await router(t, { clusterPort: await grpcSide(t, 'cluster'), localPort: await grpcSide(t, 'local') });
  const Client = grpc.makeGenericClientConstructor(SAY, 'Echo');
  const client = new Client(`127.0.0.1:${r.port}`, grpc.credentials.createInsecure());
  t.teardown(() => client.close());
  const call = (text, md = {}) =>
    new Promise((resolve) => {
      const meta = new grpc.Metadata();
      for (const [k, v] of Object.entries(md)) meta.set(k, v);
      client.say(Buffer.from(text), meta, { deadline: Date.now() + 15_000 }, (err, res) => resolve(err ? `error ${err.code} ${err.details}` : res.toString()));
    });
  t.equal(await call('hi', { 'x-dev': 'alice' }), 'local:hi');
  t.equal(await call('hi'), 'cluster:hi');
  t.equal(await call('hi', { 'x-dev': 'bob' }), 'cluster:hi');
  t.equal(await call('fail', { 'x-dev': 'alice' }), `error ${grpc.status.FAILED_PRECONDITION} local refuses`);
  t.equal(await call('fail'), `error ${grpc.status.FAILED_PRECONDITION} cluster refuses`);
  t.equal(r.connections(), 1, 'every call on one connection');
});

t.test("h2c: a stream with a colleague's header goes to the colleague's router, then to their local process", { timeout: 30_000 }, async (t) => {
  const clusterPort = await listen(t, http2Side('cluster'));
  const alice = await router(t, { clusterPort, localPort: await listen(t, http2Side('local-alice')) });
  const bob = await router(t, { clusterPort, localPort: await listen(t, http2Side('local-bob')), headers: [{ name: 'x-dev', value: 'bob' }] });
  alice.router.setPeers([{ session: 'bob', rules: { headers: [{ name: 'x-dev', value: 'bob' }] }, host: '127.0.0.1', port: bob.port }]);
  bob.router.setPeers([{ session: 'alice', rules: { headers: [{ name: 'x-dev', value: 'alice' }] }, host: '127.0.0.1', port: alice.port }]);
  const session = http2.connect(`http://127.0.0.1:${alice.port}`);
  t.teardown(() => session.close());
  const want = ['alice', 'bob', undefined, 'bob', 'alice', undefined];
  const got = await Promise.all(want.map((dev, i) => get(session, `/s${i}`, dev ? { 'x-dev': dev } : {})));
  t.same(
    got.map((g) => JSON.parse(g.body).side),
    want.map((dev) => (dev ? `local-${dev}` : 'cluster')),
    'each stream reaches its own developer, the rest the cluster',
  );
  t.equal(alice.connections(), 1, 'one client connection to the first router');
  t.equal(bob.connections(), 1, 'one forwarded connection to the colleague’s router for all of its streams');
  t.equal(bob.records.length, 2, 'the colleague records the streams it served');
  t.equal(alice.records.length, 2, 'the first router records only its own');
});

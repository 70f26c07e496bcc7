// tunnel/transport.ts: the choice between direct and port-forward, against a real direct
// listener on loopback (proxy-pod/server.ts with per-session certificates) and a stand-in
// port-forward (a PassThrough); an unreachable pod IP through the documented test hook.
import t from 'tap';
import { PassThrough } from 'node:stream';
import { startProxyServer } from '../../../../dist/proxy-pod/server.js';
import { generateSessionCerts } from '../../../../dist/src/direct/session-certs.js';
import { Transport } from '../../../../dist/src/tunnel/transport.js';

const certs = await generateSessionCerts('transport');
const server = await startProxyServer({
  host: '127.0.0.1',
  port: 0,
  token: 'tok',
  log: () => {},
  direct: { host: '127.0.0.1', port: 0, cert: certs.server.cert, key: certs.server.key, peerCert: certs.client.cert },
});
t.teardown(() => server.close());
const direct = {
  host: '127.0.0.1',
  port: server.directAddress.port,
  clientCert: certs.client.cert,
  clientKey: certs.client.key,
  serverCert: certs.server.cert,
};

function make(mode, env = {}, extra = {}) {
  const lines = [];
  let forwards = 0;
  const tr = new Transport({
    mode,
    direct,
    podLabel: 'ns/pod',
    portForward: async () => {
      forwards++;
      return new PassThrough();
    },
    warn: (l) => lines.push(l),
    env,
    ...extra,
  });
  t.teardown(() => tr.close());
  return { tr, lines, forwards: () => forwards };
}

t.test('auto with a reachable pod IP: direct, the probe connection is the first stream', async (t) => {
  const { tr, forwards } = make('auto');
  t.equal(await tr.choose(), 'direct');
  t.match(tr.describe(), /^direct \(127\.0\.0\.1:\d+\)$/);
  const s = await tr.connect();
  t.equal(s.constructor.name, 'TLSSocket');
  t.equal(forwards(), 0);
  s.destroy();
});

t.test('port-forward never tries direct', async (t) => {
  const { tr, forwards } = make('port-forward', { KINJECT_TEST_DIRECT_UNREACHABLE: '1' });
  t.equal(await tr.choose(), 'port-forward');
  t.equal(tr.describe(), 'port-forward');
  await tr.connect();
  t.equal(forwards(), 1);
});

t.test('auto with an unreachable pod IP: port-forward, with the reason', async (t) => {
  const { tr, lines } = make('auto', { KINJECT_TEST_DIRECT_UNREACHABLE: '1' });
  t.equal(await tr.choose(), 'port-forward');
  t.match(tr.describe(), /^port-forward \(direct not reachable: .*test hook/);
  t.same(lines, [], 'no warning at start');
});

t.test('direct with an unreachable pod IP: an error naming the fix', async (t) => {
  const { tr } = make('direct', { KINJECT_TEST_DIRECT_UNREACHABLE: '1' });
  await t.rejects(tr.choose(), /--transport direct: cannot reach the proxy pod ns\/pod at 127\.0\.0\.1:\d+ .*--transport auto or port-forward/);
});

t.test('auto without a pod IP: port-forward', async (t) => {
  const tr = new Transport({ mode: 'auto', podLabel: 'ns/pod', portForward: async () => new PassThrough(), env: {} });
  t.equal(await tr.choose(), 'port-forward');
  t.match(tr.describe(), /the pod has no IP/);
});

t.test('direct fails mid-session: one line, port-forward from then on', async (t) => {
  const env = {};
  const { tr, lines, forwards } = make('auto', env);
  t.equal(await tr.choose(), 'direct');
  (await tr.connect()).destroy();
  env.KINJECT_TEST_DIRECT_UNREACHABLE = '1';
  await tr.connect();
  t.equal(tr.current, 'port-forward');
  t.equal(forwards(), 1);
  delete env.KINJECT_TEST_DIRECT_UNREACHABLE;
  await tr.connect();
  t.equal(forwards(), 2, 'stays on port-forward');
  t.equal(lines.length, 1);
  t.match(lines[0], /^the direct connection to the proxy pod ns\/pod failed \(.*\); switching to port-forward$/);
});

// The workload env: the filter, and fetchPodEnv's wire format against a hand-written server on a
// loopback socket. (The env-file writers: env-file-*.test.js.)
import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import { workloadEnv, fetchPodEnv } from '../../../../dist/src/kube/env.js';

t.test('workloadEnv drops what the proxy image and runtime add', async (t) => {
  const podEnv = {
    GREETING: 'hello',
    PATH: '/usr/local/bin:/usr/bin',
    HOME: '/home/node',
    HOSTNAME: 'kinject-ab12-xyz',
    NODE_VERSION: '22.1.0',
    YARN_VERSION: '1.22.19',
    TERM: 'xterm',
    KINJECT_SOMETHING: 'x',
    KUBERNETES_SERVICE_HOST: '10.215.0.1',
    HELLO_SERVICE_PORT: '80',
  };
  t.same(workloadEnv(podEnv), { GREETING: 'hello', HELLO_SERVICE_PORT: '80', KUBERNETES_SERVICE_HOST: '10.215.0.1' });
  const spec = {
    env: [
      { name: 'HOME', value: '/srv' },
      { name: 'TERM', value: 'dumb' },
    ],
  };
  t.same(
    workloadEnv({ ...podEnv, HOME: '/srv', TERM: 'dumb' }, spec),
    {
      GREETING: 'hello',
      HELLO_SERVICE_PORT: '80',
      HOME: '/srv',
      KUBERNETES_SERVICE_HOST: '10.215.0.1',
      TERM: 'dumb',
    },
    'named explicitly in the spec: kept',
  );
  t.same(Object.keys(workloadEnv({ b: '1', a: '2', C: '3' })), ['C', 'a', 'b'], 'sorted');
});

t.test('workloadEnv restores renamed variables', async (t) => {
  const podEnv = {
    PATH: '/usr/local/bin:/usr/bin',
    KINJECT_ENV_PATH: '/app/bin:/usr/bin',
    KINJECT_ENV_NODE_OPTIONS: '--require /app/trace.js',
    KINJECT_ENV_OTHER: 'not one of ours',
    X: '1',
  };
  const spec = {
    env: [
      { name: 'PATH', value: '/app/bin:/usr/bin' },
      { name: 'NODE_OPTIONS', value: '--require /app/trace.js' },
    ],
  };
  t.same(workloadEnv(podEnv, spec), { NODE_OPTIONS: '--require /app/trace.js', PATH: '/app/bin:/usr/bin', X: '1' });
});

async function fakePodServer(t, handler) {
  const server = net.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const sock = net.connect(server.address().port, '127.0.0.1');
  await once(sock, 'connect');
  return sock;
}

t.test('fetchPodEnv speaks CMD 0xF2', async (t) => {
  const env = { A: '1', MULTI: 'x\ny', Q: '"\'' };
  let request;
  const sock = await fakePodServer(t, (c) => {
    c.once('data', (buf) => {
      request = buf;
      const json = Buffer.from(JSON.stringify({ ...env, N: 5 }));
      const len = Buffer.alloc(4);
      len.writeUInt32BE(json.length);
      // reply and payload split across writes
      c.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
      setTimeout(() => c.write(Buffer.concat([len, json.subarray(0, 3)])), 10);
      setTimeout(() => c.end(json.subarray(3)), 20);
    });
  });
  const got = await fetchPodEnv(sock);
  t.same(got, env, 'strings only');
  t.same([...request], [5, 0xf2, 0, 3, 3, ...Buffer.from('env'), 0, 0]);
  t.ok(sock.destroyed, 'stream consumed');
});

t.test('fetchPodEnv: unsupported command, bad payload, timeout', async (t) => {
  let sock = await fakePodServer(t, (c) => c.once('data', () => c.end(Buffer.from([5, 7, 0, 1, 0, 0, 0, 0, 0, 0]))));
  await t.rejects(fetchPodEnv(sock), /does not support the env command/);
  sock = await fakePodServer(t, (c) => c.once('data', () => c.end(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x5b, 0x5d]))));
  await t.rejects(fetchPodEnv(sock), /not a JSON object/);
  sock = await fakePodServer(t, () => {});
  await t.rejects(fetchPodEnv(sock, { timeoutMs: 100 }), /cannot read the environment/);
});

// A targetless session on the real local cluster: the proxy pod starts (progress lines, start
// time measured), the tunnel pool hands out authenticated port-forward streams, a SOCKS CONNECT
// to hello.kinject-demo:80 gets "hello from <pod>", RESOLVE answers with the Service IP, and
// close() leaves no Job, Pod or Secret behind.
import t from 'tap';
import { ensureCluster, ensureNamespace, kinjectLeftovers, kubectlOk, waitFor } from '../helpers/cluster.js';
import { connectKube, startProxyPod } from '../../dist/src/kube/index.js';
import { PodTunnel, openPortForward } from '../../dist/src/tunnel/index.js';
import { clientRequest, clientHandshake, CMD } from '../../dist/protocol/socks5/index.js';

const NS = 'kinject-e2e-kube';

async function httpGetOver(stream, host, port, path = '/') {
  const reply = await clientRequest(stream, CMD.CONNECT, { type: 'domain', host, port }, { timeoutMs: 10_000 });
  if (reply.reply !== 0) throw new Error(`CONNECT ${host}:${port}: reply ${reply.reply}`);
  stream.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks).toString();
}

t.test('targetless session end to end', async (t) => {
  const { kubeconfig } = await ensureCluster();
  await ensureNamespace(kubeconfig, NS);
  await waitFor(
    async () => /\b2\b/.test(await kubectlOk(kubeconfig, ['-n', 'kinject-demo', 'get', 'deploy/hello', '-o', 'jsonpath={.status.readyReplicas}'])),
    { timeoutMs: 120_000, what: 'deployment hello ready' },
  );

  const access = await connectKube({ kubeconfig, namespace: NS });
  t.teardown(() => access.client.close());
  t.equal(access.context, 'kinject');

  const lines = [];
  const t0 = Date.now();
  const session = await startProxyPod({ access, timeoutSeconds: 90 }, (m) => lines.push(m));
  let closed = false;
  t.teardown(() => (closed ? undefined : session.close()));
  const podUp = Date.now() - t0;
  t.match(lines[0], new RegExp(`^creating proxy pod kinject-${session.id} in ${NS}$`));
  t.match(lines.at(-1), /^pod ready: kinject-/);
  t.equal(session.image, 'kinject.local/node:20', 'local cluster image chosen from the context name');
  t.equal(session.jobName, `kinject-${session.id}`);
  t.equal(session.secretName, session.jobName);
  t.match(session.token, /^[0-9a-f]{64}$/);
  t.equal(session.port, 1080);

  // the objects as created
  const job = JSON.parse(await kubectlOk(kubeconfig, ['-n', NS, 'get', 'job', session.jobName, '-o', 'json']));
  t.equal(job.spec.suspend, false, 'unsuspended');
  t.equal(job.spec.ttlSecondsAfterFinished, 0);
  t.equal(job.spec.activeDeadlineSeconds, 86400, 'start deadline raised to 24 h once running');
  t.equal(job.metadata.labels['app.kubernetes.io/managed-by'], 'kinject');
  t.match(job.metadata.annotations['kinject.dev/user'], /.+@.+/);
  const secret = JSON.parse(await kubectlOk(kubeconfig, ['-n', NS, 'get', 'secret', session.secretName, '-o', 'json']));
  t.equal(secret.metadata.ownerReferences[0].uid, job.metadata.uid, 'Secret owned by the Job');

  const pool = new PodTunnel({ kc: access.kc, namespace: NS, pod: session.podName, port: session.port, token: session.token });
  t.teardown(() => pool.close());
  await pool.ready(30_000);
  const ready = Date.now() - t0;
  t.comment(`start: pod running after ${podUp} ms, tunnel authenticated after ${ready} ms`);
  t.ok(ready < 30_000, 'started in bounded time');

  const body = await httpGetOver(await pool.open(), 'hello.kinject-demo', 80);
  t.match(body, /^HTTP\/1\.1 200/);
  t.match(body, /hello from hello-/);

  const fqdn = await httpGetOver(await pool.open(), 'hello.kinject-demo.svc.cluster.local', 80, '/x');
  t.match(fqdn, /hello from hello-/);

  const svcIp = (await kubectlOk(kubeconfig, ['-n', 'kinject-demo', 'get', 'svc', 'hello', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  const s = await pool.open();
  const r = await clientRequest(s, CMD.RESOLVE, { type: 'domain', host: 'hello.kinject-demo.svc.cluster.local', port: 0 }, { timeoutMs: 10_000 });
  s.destroy();
  t.equal(r.reply, 0);
  t.equal(r.bound.host, svcIp, 'RESOLVE gives the Service IP');

  // a CONNECT that fails in the cluster comes back as a SOCKS reply, not a broken tunnel
  const s2 = await pool.open();
  const bad = await clientRequest(s2, CMD.CONNECT, { type: 'domain', host: 'no-such-service.kinject-demo', port: 80 }, { timeoutMs: 10_000 });
  s2.destroy();
  t.equal(bad.reply, 4, 'unknown name: host unreachable');

  // parallel use beyond the pool size
  const many = await Promise.all(Array.from({ length: 8 }, async () => httpGetOver(await pool.open(), 'hello.kinject-demo', 80)));
  t.ok(
    many.every((b) => /hello from hello-/.test(b)),
    '8 parallel requests',
  );

  // a raw port-forward stream without the pool, wrong token: refused by the pod server
  const raw = await openPortForward({ kc: access.kc, namespace: NS, pod: session.podName, port: session.port });
  raw.on('error', () => {});
  await t.rejects(clientHandshake(raw, { username: 'kinject', password: 'wrong' }, { timeoutMs: 10_000 }), /rejected/);
  raw.destroy();

  // a port with nothing listening: the kubelet's error arrives as an Error (from openPortForward
  // itself when it comes at once, else as the stream's error)
  let err;
  try {
    const nothing = await openPortForward({ kc: access.kc, namespace: NS, pod: session.podName, port: 1081 });
    err = await new Promise((resolve) => {
      nothing.on('error', resolve);
      nothing.write(Buffer.from([5, 1, 0]));
      setTimeout(() => resolve(undefined), 15_000).unref();
    });
    nothing.destroy();
  } catch (e) {
    err = e;
  }
  t.match(err?.message, /^port-forward to pod kinject-e2e-kube\/kinject-\S+:1081 failed: .*connection refused/);
  t.equal(err?.code, 'EPORTFORWARD');

  await pool.close();
  const c0 = Date.now();
  await session.close();
  closed = true;
  t.ok(Date.now() - c0 < 11_000, 'close() bounded');
  await session.close(); // idempotent
  await waitFor(async () => (await kinjectLeftovers(kubeconfig, NS, session.id)).length === 0, { timeoutMs: 60_000, what: 'session objects gone' });
  t.pass('no Job, Pod or Secret left');
});

t.test('warm start timing (second session)', async (t) => {
  const { kubeconfig } = await ensureCluster();
  const access = await connectKube({ kubeconfig, namespace: NS });
  t.teardown(() => access.client.close());
  const t0 = Date.now();
  const session = await startProxyPod({ access, timeoutSeconds: 60 });
  t.teardown(() => session.close());
  const pool = new PodTunnel({ kc: access.kc, namespace: NS, pod: session.podName, port: session.port, token: session.token });
  t.teardown(() => pool.close());
  await pool.ready(30_000);
  const ms = Date.now() - t0;
  t.comment(`warm targetless start to first authenticated stream: ${ms} ms`);
  t.ok(ms < 10_000, `warm start ${ms} ms (target 3000 ms)`);
});

t.test('pod deleted under a running pool: open() says the pod is gone', async (t) => {
  const { kubeconfig } = await ensureCluster();
  const access = await connectKube({ kubeconfig, namespace: NS });
  t.teardown(() => access.client.close());
  const session = await startProxyPod({ access, timeoutSeconds: 60 });
  t.teardown(() => session.close());
  const pool = new PodTunnel({ kc: access.kc, namespace: NS, pod: session.podName, port: session.port, token: session.token, openTimeoutMs: 20_000 });
  t.teardown(() => pool.close());
  await pool.ready(30_000);
  await kubectlOk(kubeconfig, ['-n', NS, 'delete', 'pod', session.podName, '--wait=false']);
  let err;
  for (let i = 0; i < 60 && !err; i++) {
    try {
      const s = await pool.open();
      s.destroy();
      await new Promise((r) => setTimeout(r, 250));
    } catch (e) {
      err = e;
    }
  }
  t.equal(err?.name, 'KinjectError');
  t.match(
    err?.message,
    new RegExp(`^the proxy pod ${NS}/${session.podName} is gone \\((deleted|being deleted|exited|failed.*|not found)\\); restart kinject$`),
  );
});

t.test('client vanishes without close(): the pod exits when idle and TTL removes everything', async (t) => {
  const { kubeconfig } = await ensureCluster();
  const access = await connectKube({ kubeconfig, namespace: NS });
  t.teardown(() => access.client.close());
  const session = await startProxyPod({ access, timeoutSeconds: 60, exitWhenIdleSeconds: 3 });
  const pool = new PodTunnel({ kc: access.kc, namespace: NS, pod: session.podName, port: session.port, token: session.token });
  await pool.ready(30_000);
  await new Promise((r) => setTimeout(r, 5000));
  t.ok((await kinjectLeftovers(kubeconfig, NS, session.id)).includes(`pod/${session.podName}`), 'pooled connections keep the pod alive past the idle time');
  // the client "vanishes": its connections close, nobody deletes anything
  await pool.close();
  const t0 = Date.now();
  await waitFor(async () => (await kinjectLeftovers(kubeconfig, NS, session.id)).length === 0, {
    timeoutMs: 90_000,
    intervalMs: 500,
    what: 'idle exit + TTL cleanup',
  });
  t.comment(`gone ${Date.now() - t0} ms after the last connection closed (idle 3 s)`);
  t.pass('Job, Pod and Secret removed by the cluster itself');
});

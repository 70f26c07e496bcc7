// startProxyPod({ target: 'deployment/web', volumes: true }) on the real local cluster: the proxy
// pod runs the SFTP server on its loopback (its log says so), Session.sftp lists web's mounts, and
// through the tunnel (a SOCKS CONNECT to 127.0.0.1:<sftp port>) ssh2's SFTP client, logged in
// with the session's client key and checking the session's host key, reads the configMap file
// and the file the init container seeded; the read-only configMap refuses a write.
import t from 'tap';
import ssh2 from 'ssh2';
import { ensureCluster, kinjectLeftovers, kubectlOk, waitFor } from '../helpers/cluster.js';
import { connectKube, startProxyPod } from '../../dist/src/kube/index.js';
import { PodTunnel } from '../../dist/src/tunnel/index.js';
import { clientRequest, CMD } from '../../dist/protocol/socks5/index.js';

const NS = 'kinject-demo';

function sftpOver(t, stream, sftpInfo) {
  const conn = new ssh2.Client();
  t.teardown(() => conn.end());
  const hostBlob = ssh2.utils.parseKey(sftpInfo.hostPublicKey).getPublicSSH();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('SFTP login timed out')), 20_000);
    conn.on('ready', () =>
      conn.sftp((err, sftp) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(sftp);
      }),
    );
    conn.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    conn.connect({
      sock: stream,
      username: 'kinject',
      privateKey: sftpInfo.clientPrivateKey,
      readyTimeout: 20_000,
      hostVerifier: (k) => Buffer.compare(k, hostBlob) === 0,
    });
  });
}

const call = (fn, ...args) => new Promise((resolve) => fn(...args, (err, ...res) => resolve({ err, res })));

t.test("volumes: the pod serves web's mounts over SFTP through the tunnel", async (t) => {
  const { kubeconfig } = await ensureCluster();
  await waitFor(async () => /\b1\b/.test(await kubectlOk(kubeconfig, ['-n', NS, 'get', 'deploy/web', '-o', 'jsonpath={.status.readyReplicas}'])), {
    timeoutMs: 120_000,
    what: 'deployment web ready',
  });
  const access = await connectKube({ kubeconfig, namespace: NS });
  t.teardown(() => access.client.close());
  const session = await startProxyPod({ access, target: 'deployment/web', volumes: true, timeoutSeconds: 90 });
  let closed = false;
  t.teardown(() => (closed ? undefined : session.close()));

  t.ok(session.sftp, 'Session.sftp is set');
  t.equal(session.sftp.port, 1081);
  const byPath = Object.fromEntries(session.sftp.exports.map((e) => [e.path, e.readOnly]));
  t.same(byPath, { '/etc/web': true, '/data': false, '/var/run/secrets/kubernetes.io/serviceaccount': true });

  const pool = new PodTunnel({ kc: access.kc, namespace: NS, pod: session.podName, port: session.port, token: session.token });
  t.teardown(() => pool.close());
  await pool.ready(30_000);
  const logs = await kubectlOk(kubeconfig, ['-n', NS, 'logs', session.podName]);
  t.match(logs, /^kinject-proxy: sftp listening on 127\.0\.0\.1:1081$/m, 'the pod log says the SFTP server listens');

  const stream = await pool.open();
  const reply = await clientRequest(stream, CMD.CONNECT, { type: 'ipv4', host: '127.0.0.1', port: session.sftp.port }, { timeoutMs: 10_000 });
  t.equal(reply.reply, 0, 'CONNECT to the pod-loopback SFTP port');
  const sftp = await sftpOver(t, stream, session.sftp);
  const settings = await call(sftp.readFile.bind(sftp), '/etc/web/settings.json');
  t.error(settings.err);
  t.equal(String(settings.res[0]), '{"feature": true, "level": 3}\n', 'configMap file');
  const seed = await call(sftp.readFile.bind(sftp), '/data/seed.txt');
  t.error(seed.err);
  t.match(String(seed.res[0]), /^seeded by init container at /, 'emptyDir file the init container wrote');
  const token = await call(sftp.stat.bind(sftp), '/var/run/secrets/kubernetes.io/serviceaccount/token');
  t.error(token.err, 'service-account token is there');
  const write = await call(sftp.writeFile.bind(sftp), '/etc/web/new.txt', 'x');
  t.ok(write.err, 'read-only configMap refuses a write');
  const root = await call(sftp.readdir.bind(sftp), '/');
  t.same(root.res[0].map((e) => e.filename).sort(), ['data', 'etc', 'var'], '/ lists only the ways to the exports');

  await pool.close();
  await session.close();
  closed = true;
  await waitFor(async () => (await kinjectLeftovers(kubeconfig, NS, session.id)).length === 0, { timeoutMs: 60_000, what: 'session objects gone' });
});

// startProxyPod() against a fake API client: with `volumes` and a target that has volume mounts,
// the Secret carries fresh SFTP keys and the export list, the Job's command has the SFTP flags,
// and Session.sftp holds the other halves of the keys; without volumes, without a target, or with
// a target without mounts (and automountServiceAccountToken: false), nothing about SFTP appears.
import t from 'tap';
import ssh2 from 'ssh2';
import { startProxyPod } from '../../../../dist/src/kube/proxy-pod.js';

const script = Buffer.from('// pod');

function fakeAccess() {
  const posted = [];
  const client = {
    async post(path, body) {
      posted.push({ path, body });
      return path.endsWith('/jobs') ? { ...body, metadata: { ...body.metadata, uid: 'job-uid' } } : body;
    },
    async patch() {
      return {};
    },
    async delete() {
      return {};
    },
    async get(path) {
      if (path.endsWith('/pods')) {
        const job = posted.find((p) => p.path.endsWith('/jobs'))?.body;
        const name = job.spec.template.spec.containers[0].name;
        return {
          items: [
            {
              metadata: { name: `${job.metadata.name}-x1`, uid: 'pod-uid' },
              status: { phase: 'Running', containerStatuses: [{ name, state: { running: {} } }] },
            },
          ],
        };
      }
      return { items: [] };
    },
  };
  return { posted, access: { client, context: 'test', cluster: 'test', namespace: 'ns', server: 'https://x', sources: [] } };
}

function webTarget(extra = {}) {
  const podSpec = {
    volumes: [
      { name: 'config', configMap: { name: 'web-config' } },
      { name: 'data', emptyDir: {} },
    ],
    containers: [
      {
        name: 'web',
        image: 'web',
        volumeMounts: [
          { name: 'config', mountPath: '/etc/web' },
          { name: 'data', mountPath: '/data' },
        ],
      },
    ],
    ...extra,
  };
  return { ref: { kind: 'deployment', name: 'web' }, display: 'deployment/web', podSpec, container: podSpec.containers[0] };
}

const secretOf = (posted) => posted.find((p) => p.path.endsWith('/secrets')).body;
const jobOf = (posted) => posted.find((p) => p.path.endsWith('/jobs')).body;
const text = (secret, key) => Buffer.from(secret.data[key], 'base64').toString();

t.test('volumes with a target: keys split between the Secret and Session.sftp', async (t) => {
  const { access, posted } = fakeAccess();
  const session = await startProxyPod({ access, target: webTarget(), script, image: 'node:22-alpine', volumes: true });
  const exports = [
    { path: '/etc/web', readOnly: true },
    { path: '/data', readOnly: false },
    { path: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
  ];
  t.same(
    Object.keys(session.sftp).sort(),
    ['clientPrivateKey', 'exports', 'hostPublicKey', 'keys', 'port'],
    'keys: the whole pair, for a replacement pod (self-healing)',
  );
  t.equal(session.sftp.port, 1081);
  t.same(
    [...session.sftp.exports].sort((a, b) => a.path.localeCompare(b.path)),
    [...exports].sort((a, b) => a.path.localeCompare(b.path)),
  );
  for (const e of session.sftp.exports) t.same(Object.keys(e).sort(), ['path', 'readOnly'], 'plain {path, readOnly}');

  const secret = secretOf(posted);
  t.same(JSON.parse(text(secret, 'sftp-exports.json')), session.sftp.exports);
  // the halves match: the pod's host key pairs with Session.sftp.hostPublicKey, and the pod
  // accepts the key whose private half Session.sftp.clientPrivateKey holds
  const hostPriv = ssh2.utils.parseKey(text(secret, 'sftp-host-key'));
  const hostPub = ssh2.utils.parseKey(session.sftp.hostPublicKey);
  t.ok(hostPriv.getPublicSSH().equals(hostPub.getPublicSSH()), 'host key pair');
  const clientPriv = ssh2.utils.parseKey(session.sftp.clientPrivateKey);
  const clientPub = ssh2.utils.parseKey(text(secret, 'sftp-client-key.pub'));
  t.ok(clientPriv.getPublicSSH().equals(clientPub.getPublicSSH()), 'client key pair');
  t.notOk(JSON.stringify(secret).includes(session.sftp.clientPrivateKey.split('\n')[1]), 'the client private key never goes to the cluster');

  const cmd = jobOf(posted).spec.template.spec.containers[0].command;
  t.equal(cmd[cmd.indexOf('--sftp-listen') + 1], '127.0.0.1:1081');
  t.equal(cmd[cmd.indexOf('--sftp-exports-file') + 1], '/kinject/sftp-exports.json');
});

t.test('no sftp without volumes, without a target, or without anything to export', async (t) => {
  const cases = [
    ['volumes not asked for', { target: webTarget() }],
    ['no target', { volumes: true }],
    [
      'a target without mounts',
      {
        volumes: true,
        target: (() => {
          const x = webTarget({ automountServiceAccountToken: false });
          x.container.volumeMounts = [];
          return x;
        })(),
      },
    ],
  ];
  for (const [what, opts] of cases) {
    const { access, posted } = fakeAccess();
    const session = await startProxyPod({ access, script, image: 'node:22-alpine', ...opts });
    t.equal(session.sftp, undefined, `${what}: no Session.sftp`);
    t.notOk('sftp' in session, `${what}: no sftp key at all`);
    t.same(Object.keys(secretOf(posted).data).sort(), ['proxy-pod.js', 'token'], `${what}: no SFTP keys in the Secret`);
    t.notOk(jobOf(posted).spec.template.spec.containers[0].command.includes('--sftp-listen'), `${what}: no SFTP flags`);
  }
});

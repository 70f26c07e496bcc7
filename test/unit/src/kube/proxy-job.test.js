// The session's Job and Secret as built from options: targetless, and from a web-like pod template
// (env literal + ConfigMap ref + downward API, envFrom Secret, configMap and emptyDir volumes
// seeded by an init container, a second container, probes, ports, a service account).
import t from 'tap';
import {
  buildProxyJob,
  buildProxySecret,
  proxyLayout,
  newSessionId,
  newToken,
  sessionName,
  localClusterImage,
  DEFAULT_PROXY_IMAGE,
  MAX_SCRIPT_BYTES,
} from '../../../../dist/src/kube/proxy-job.js';

const base = {
  id: 'abc12345',
  namespace: 'staging',
  image: 'node:22-alpine',
  token: 'f'.repeat(64),
  script: Buffer.from('console.log("pod")'),
  version: '0.1.0',
  user: 'dev@laptop',
  startedAt: new Date('2026-11-22T02:30:00Z'),
};

function webTemplate() {
  return {
    serviceAccountName: 'web-sa',
    automountServiceAccountToken: true,
    nodeSelector: { disk: 'ssd' },
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }] },
      },
    },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' }],
    imagePullSecrets: [{ name: 'regcred' }],
    securityContext: { fsGroup: 2000, runAsUser: 0 },
    dnsPolicy: 'ClusterFirst',
    hostAliases: [{ ip: '10.1.2.3', hostnames: ['legacy.internal'] }],
    nodeName: 'node-7',
    priority: 1000,
    readinessGates: [{ conditionType: 'x' }],
    hostname: 'web-0',
    initContainers: [
      {
        name: 'seed',
        image: 'busybox',
        command: ['sh', '-c', 'echo hi > /data/seed'],
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
        resources: { limits: { cpu: '50m', memory: '16Mi' } },
      },
      { name: 'mesh', image: 'envoy', restartPolicy: 'Always' },
    ],
    containers: [
      {
        name: 'web',
        image: 'registry.example/web:1.2.3',
        command: ['/app/server'],
        args: ['--port', '8080'],
        workingDir: '/app',
        ports: [{ containerPort: 8080 }],
        env: [
          { name: 'GREETING', value: 'hello' },
          { name: 'MULTI', valueFrom: { configMapKeyRef: { name: 'web-config', key: 'multi' } } },
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'NODE_OPTIONS', value: '--require /app/trace.js' },
          { name: 'PATH', value: '/app/bin:/usr/bin' },
        ],
        envFrom: [{ secretRef: { name: 'web-secret' } }],
        volumeMounts: [
          { name: 'config', mountPath: '/etc/web' },
          { name: 'data', mountPath: '/data' },
          { name: 'state', mountPath: '/var/lib/web' },
        ],
        readinessProbe: { httpGet: { path: '/healthz', port: 8080 } },
        livenessProbe: { httpGet: { path: '/healthz', port: 8080 } },
        startupProbe: { httpGet: { path: '/healthz', port: 8080 } },
        lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } },
        resources: { requests: { cpu: '2', memory: '4Gi' }, limits: { memory: '8Gi' } },
        securityContext: { runAsUser: 4242, privileged: true },
        stdin: true,
        tty: true,
      },
      { name: 'sidecar', image: 'log-shipper' },
    ],
    volumes: [
      { name: 'config', configMap: { name: 'web-config' } },
      { name: 'data', emptyDir: {} },
      { name: 'kinject', emptyDir: {} },
    ],
  };
}

t.test('ids, tokens, names', async (t) => {
  const ids = Array.from({ length: 200 }, () => newSessionId());
  t.same(
    ids.filter((id) => !/^[a-z][a-z0-9]{7}$/.test(id)),
    [],
    '200 ids, each a letter then 7 letters or digits',
  );
  t.ok(new Set(ids).size > 190, 'ids are random');
  t.match(newToken(), /^[0-9a-f]{64}$/);
  t.equal(sessionName('x1'), 'kinject-x1');
  t.equal(localClusterImage('kinject', '20'), 'kinject.local/node:20');
  t.equal(localClusterImage('prod-eu'), undefined);
  t.equal(DEFAULT_PROXY_IMAGE, 'node:22-alpine');
});

t.test('targetless job', async (t) => {
  const job = buildProxyJob(base);
  t.equal(job.apiVersion, 'batch/v1');
  t.equal(job.kind, 'Job');
  t.equal(job.metadata.name, 'kinject-abc12345');
  t.equal(job.metadata.namespace, 'staging');
  t.same(job.metadata.labels, { 'app.kubernetes.io/managed-by': 'kinject', 'kinject.dev/session': 'abc12345', 'app.kubernetes.io/name': 'kinject-proxy' });
  t.same(job.metadata.annotations, {
    'kinject.dev/version': '0.1.0',
    'kinject.dev/user': 'dev@laptop',
    'kinject.dev/started-at': '2026-11-22T02:30:00.000Z',
    'kinject.dev/target': 'none',
  });
  const spec = job.spec;
  t.equal(spec.suspend, undefined, 'not suspended: its pod waits for the Secret, created right after the Job');
  t.equal(spec.backoffLimit, 0);
  t.equal(spec.ttlSecondsAfterFinished, 0);
  t.equal(spec.activeDeadlineSeconds, 86400);
  t.equal(spec.template.metadata.labels['kinject.dev/session'], 'abc12345');
  const pod = spec.template.spec;
  t.equal(pod.restartPolicy, 'Never');
  t.equal(pod.automountServiceAccountToken, false);
  t.equal(pod.enableServiceLinks, false);
  t.ok(pod.terminationGracePeriodSeconds <= 5);
  t.equal(pod.serviceAccountName, undefined);
  t.equal(pod.containers.length, 1);
  const c = pod.containers[0];
  t.equal(c.name, 'proxy');
  t.equal(c.image, 'node:22-alpine');
  t.equal(c.imagePullPolicy, 'IfNotPresent');
  t.same(c.command, ['node', '/kinject/proxy-pod.js', '--listen', '127.0.0.1:1080', '--token-file', '/kinject/token', '--exit-when-idle', '30']);
  t.equal(c.args, undefined);
  t.equal(c.ports, undefined, 'no ports exposed');
  t.same(
    c.resources,
    { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '1', memory: '128Mi' } },
    'requests and limits, cpu and memory (quotas and LimitRanges that demand them admit it)',
  );
  // Pod Security "restricted": every field it checks, at the level it checks it
  t.match(c.securityContext, {
    runAsNonRoot: true,
    runAsUser: 1000,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  });
  t.notOk(c.securityContext.capabilities.add, 'no capability added');
  t.match(pod.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  for (const f of ['hostNetwork', 'hostPID', 'hostIPC']) t.notOk(pod[f], `no ${f}`);
  t.ok(
    pod.volumes.every((v) => v.secret),
    'only a secret volume (no hostPath)',
  );
  t.same(c.volumeMounts, [{ name: 'kinject', mountPath: '/kinject', readOnly: true }]);
  t.same(pod.volumes, [{ name: 'kinject', secret: { secretName: 'kinject-abc12345', defaultMode: 0o444 } }]);
  t.equal(c.env, undefined);
});

t.test('options: idle, deadline, image, pull policy', async (t) => {
  const job = buildProxyJob({ ...base, exitWhenIdleSeconds: 5, activeDeadlineSeconds: 600, image: 'kinject.local/node:20', imagePullPolicy: 'Never' });
  t.equal(job.spec.activeDeadlineSeconds, 600);
  const c = job.spec.template.spec.containers[0];
  t.equal(c.command.at(-1), '5');
  t.equal(c.image, 'kinject.local/node:20');
  t.equal(c.imagePullPolicy, 'Never');
});

t.test('secret', async (t) => {
  const s = buildProxySecret(base, { name: 'kinject-abc12345', uid: 'uid-1' });
  t.equal(s.metadata.name, 'kinject-abc12345');
  t.equal(s.metadata.namespace, 'staging');
  t.equal(s.metadata.labels['app.kubernetes.io/managed-by'], 'kinject');
  t.same(s.metadata.ownerReferences, [
    { apiVersion: 'batch/v1', kind: 'Job', name: 'kinject-abc12345', uid: 'uid-1', controller: false, blockOwnerDeletion: false },
  ]);
  t.equal(s.immutable, true);
  t.equal(Buffer.from(s.data['proxy-pod.js'], 'base64').toString(), 'console.log("pod")');
  t.equal(Buffer.from(s.data.token, 'base64').toString(), 'f'.repeat(64));
  t.throws(() => buildProxySecret({ ...base, script: Buffer.alloc(MAX_SCRIPT_BYTES + 1) }, { name: 'x', uid: 'y' }), /Secret limit/);
});

t.test('from a web-like template', async (t) => {
  const template = webTemplate();
  const frozen = JSON.stringify(template);
  const target = { display: 'deployment/web', podSpec: template, container: template.containers[0] };
  const job = buildProxyJob({ ...base, target });
  t.equal(JSON.stringify(template), frozen, 'the template is not modified');
  t.equal(job.metadata.annotations['kinject.dev/target'], 'deployment/web');
  const pod = job.spec.template.spec;
  t.same(
    Object.keys(job.spec.template.metadata.labels).sort(),
    ['app.kubernetes.io/managed-by', 'app.kubernetes.io/name', 'kinject.dev/session'],
    'no workload labels',
  );

  // kept from the template
  t.equal(pod.serviceAccountName, 'web-sa');
  t.equal(pod.automountServiceAccountToken, true);
  t.same(pod.nodeSelector, { disk: 'ssd' });
  t.same(pod.affinity, template.affinity);
  t.same(pod.tolerations, template.tolerations);
  t.same(pod.imagePullSecrets, [{ name: 'regcred' }]);
  t.same(pod.securityContext, { fsGroup: 2000, runAsUser: 0 });
  t.same(pod.hostAliases, template.hostAliases);
  t.equal(pod.dnsPolicy, 'ClusterFirst');
  // dropped / replaced
  t.equal(pod.restartPolicy, 'Never');
  t.ok(pod.terminationGracePeriodSeconds <= 5);
  for (const f of ['nodeName', 'priority', 'readinessGates', 'hostname']) t.notOk(f in pod, `${f} dropped`);
  t.same(
    pod.initContainers.map((c) => c.name),
    ['seed'],
    'init container kept, native sidecar dropped',
  );
  t.same(pod.initContainers[0], template.initContainers[0], 'init container unchanged');
  t.equal(pod.containers.length, 1, 'other containers dropped');

  const c = pod.containers[0];
  t.equal(c.name, 'web');
  t.equal(c.image, 'node:22-alpine');
  t.same(c.command.slice(0, 2), ['node', '/kinject/proxy-pod.js']);
  for (const f of ['args', 'ports', 'readinessProbe', 'livenessProbe', 'startupProbe', 'lifecycle', 'workingDir', 'stdin', 'tty'])
    t.notOk(f in c, `${f} removed`);
  t.same(
    c.resources,
    { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '1', memory: '128Mi' } },
    "kinject's requests and limits, not the workload's 2 CPU / 4Gi",
  );
  t.same(pod.initContainers[0].resources, { limits: { cpu: '50m', memory: '16Mi' } }, 'the init container keeps its own resources');
  t.match(c.securityContext, {
    runAsNonRoot: true,
    runAsUser: 4242,
    seccompProfile: { type: 'RuntimeDefault' },
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
  });
  t.same(
    c.env.map((e) => e.name),
    ['GREETING', 'MULTI', 'POD_NAME', 'KINJECT_ENV_NODE_OPTIONS', 'KINJECT_ENV_PATH'],
  );
  t.same(c.env[1], template.containers[0].env[1], 'valueFrom kept');
  t.same(c.envFrom, [{ secretRef: { name: 'web-secret' } }]);
  const mounts = Object.fromEntries(c.volumeMounts.map((m) => [m.mountPath, m.name]));
  t.equal(mounts['/etc/web'], 'config');
  t.equal(mounts['/data'], 'data');
  t.equal(mounts['/var/lib/web'], 'state');
  const secretMount = c.volumeMounts.find((m) => m.readOnly && m.name.startsWith('kinject'));
  t.equal(secretMount.name, 'kinject-1', 'secret volume name avoids the template\'s "kinject"');
  const vols = Object.fromEntries(pod.volumes.map((v) => [v.name, v]));
  t.same(vols.config, { name: 'config', configMap: { name: 'web-config' } });
  t.same(vols.state, { name: 'state', emptyDir: {} }, 'missing (claim template) volume becomes emptyDir');
  t.same(vols['kinject-1'].secret, { secretName: 'kinject-abc12345', defaultMode: 0o444 });
  t.equal(secretMount.mountPath, c.command[1].replace('/proxy-pod.js', ''));
});

t.test('mount dir and port choices', async (t) => {
  const spec = { containers: [{ name: 'a', image: 'x', volumeMounts: [{ name: 'v', mountPath: '/kinject/data' }] }], volumes: [{ name: 'v', emptyDir: {} }] };
  let l = proxyLayout({ id: 'q1', target: { display: 'pod/a', podSpec: spec, container: spec.containers[0] } });
  t.same(l, { mountDir: '/kinject-q1', volumeName: 'kinject', port: 1080, sftpPort: 1081, directPort: 1082 });
  const simple = { containers: [{ name: 'a', image: 'x' }] };
  l = proxyLayout({ id: 'q1', target: { display: 'pod/a', podSpec: simple, container: simple.containers[0] } });
  t.same(l, { mountDir: '/kinject', volumeName: 'kinject', port: 1080, sftpPort: 1081, directPort: 1082 });
  const hostNet = { hostNetwork: true, containers: [{ name: 'a', image: 'x' }] };
  l = proxyLayout({ id: 'q1', target: { display: 'pod/a', podSpec: hostNet, container: hostNet.containers[0] } });
  t.ok(l.port >= 20000 && l.port < 50000, 'hostNetwork: random high port');
  t.ok(l.sftpPort >= 20000 && l.sftpPort < 50000 && l.sftpPort !== l.port, 'hostNetwork: another random high port for SFTP');
  t.ok(l.directPort >= 20000 && l.directPort < 50000 && l.directPort !== l.port && l.directPort !== l.sftpPort, 'hostNetwork: a third for the direct listener');
  const job = buildProxyJob({ ...base, target: { display: 'pod/a', podSpec: hostNet, container: hostNet.containers[0] } }, l);
  t.equal(job.spec.template.spec.containers[0].command[3], `127.0.0.1:${l.port}`);
  t.equal(job.spec.template.spec.hostNetwork, true);
});

t.test('uid: template non-zero uid kept, root replaced', async (t) => {
  const mk = (podSc, cSc) => {
    const spec = { securityContext: podSc, containers: [{ name: 'a', image: 'x', securityContext: cSc }] };
    return buildProxyJob({ ...base, target: { display: 'd/a', podSpec: spec, container: spec.containers[0] } }).spec.template.spec.containers[0]
      .securityContext;
  };
  t.equal(mk(undefined, undefined).runAsUser, 1000);
  t.equal(mk({ runAsUser: 0 }, { runAsUser: 0 }).runAsUser, 1000);
  t.equal(mk({ runAsUser: 3000 }, undefined).runAsUser, 3000);
  t.equal(mk({ runAsUser: 3000, runAsGroup: 3001 }, { runAsUser: 5 }).runAsUser, 5);
  t.equal(mk({ runAsUser: 3000, runAsGroup: 3001 }, { runAsUser: 5 }).runAsGroup, 3001);
});

const sftp = {
  port: 1081,
  hostPrivateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----',
  clientPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB client\n',
  exports: [
    { path: '/etc/web', readOnly: true },
    { path: '/data', readOnly: false, volume: 'data', kind: 'emptyDir' },
  ],
};

t.test('with sftp: four more flags, three more Secret keys', async (t) => {
  const template = webTemplate();
  const target = { display: 'deployment/web', podSpec: template, container: template.containers[0] };
  const job = buildProxyJob({ ...base, target, sftp });
  const c = job.spec.template.spec.containers[0];
  t.same(c.command, [
    'node',
    '/kinject/proxy-pod.js',
    '--listen',
    '127.0.0.1:1080',
    '--token-file',
    '/kinject/token',
    '--exit-when-idle',
    '30',
    '--sftp-listen',
    '127.0.0.1:1081',
    '--sftp-host-key-file',
    '/kinject/sftp-host-key',
    '--sftp-authorized-key-file',
    '/kinject/sftp-client-key.pub',
    '--sftp-exports-file',
    '/kinject/sftp-exports.json',
  ]);
  t.equal(job.spec.template.spec.containers.length, 1);
  t.same(proxyLayout({ ...base, target, sftp: { ...sftp, port: 2222 } }).sftpPort, 2222, "the sftp option's port wins");

  const s = buildProxySecret({ ...base, sftp }, { name: 'kinject-abc12345', uid: 'uid-1' });
  const text = (k) => Buffer.from(s.data[k], 'base64').toString();
  t.same(Object.keys(s.data).sort(), ['proxy-pod.js', 'sftp-client-key.pub', 'sftp-exports.json', 'sftp-host-key', 'token']);
  t.equal(text('sftp-host-key'), `${sftp.hostPrivateKey}\n`, 'host key with a final newline');
  t.equal(text('sftp-client-key.pub'), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB client\n');
  t.same(
    JSON.parse(text('sftp-exports.json')),
    [
      { path: '/etc/web', readOnly: true },
      { path: '/data', readOnly: false },
    ],
    'only path and readOnly travel',
  );
});

t.test('with sftp in a moved mount dir and on hostNetwork', async (t) => {
  const spec = {
    hostNetwork: true,
    containers: [{ name: 'a', image: 'x', volumeMounts: [{ name: 'v', mountPath: '/kinject' }] }],
    volumes: [{ name: 'v', emptyDir: {} }],
  };
  const target = { display: 'pod/a', podSpec: spec, container: spec.containers[0] };
  const layout = proxyLayout({ id: 'q1', target });
  const job = buildProxyJob({ ...base, id: 'q1', target, sftp: { ...sftp, port: layout.sftpPort } }, layout);
  const cmd = job.spec.template.spec.containers[0].command;
  t.equal(cmd[cmd.indexOf('--listen') + 1], `127.0.0.1:${layout.port}`);
  t.equal(cmd[cmd.indexOf('--sftp-listen') + 1], `127.0.0.1:${layout.sftpPort}`);
  t.equal(cmd[cmd.indexOf('--sftp-host-key-file') + 1], '/kinject-q1/sftp-host-key');
  t.equal(cmd[cmd.indexOf('--sftp-exports-file') + 1], '/kinject-q1/sftp-exports.json');
});

t.test('without sftp: no SFTP flags or keys', async (t) => {
  const job = buildProxyJob(base);
  t.notOk(job.spec.template.spec.containers[0].command.some((a) => a.startsWith('--sftp')));
  const s = buildProxySecret(base, { name: 'x', uid: 'y' });
  t.same(Object.keys(s.data).sort(), ['proxy-pod.js', 'token']);
});

t.test('direct transport: the listener on the pod IP, its certificates in the Secret, the pod IP from the downward API', async (t) => {
  const direct = { serverCert: 'SERVER-CERT', serverKey: 'SERVER-KEY', clientCert: 'CLIENT-CERT' };
  const job = buildProxyJob({ ...base, direct });
  const c = job.spec.template.spec.containers[0];
  const at = (flag) => c.command[c.command.indexOf(flag) + 1];
  t.equal(at('--direct-listen'), '[$(KINJECT_POD_IP)]:1082');
  t.equal(at('--direct-cert-file'), '/kinject/direct-server.crt');
  t.equal(at('--direct-key-file'), '/kinject/direct-server.key');
  t.equal(at('--direct-client-cert-file'), '/kinject/direct-client.crt');
  t.same(c.env.at(-1), { name: 'KINJECT_POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
  const s = buildProxySecret({ ...base, direct }, { name: 'kinject-abc12345', uid: 'uid-1' });
  const text = (k) => Buffer.from(s.data[k], 'base64').toString('utf8');
  t.equal(text('direct-server.crt'), 'SERVER-CERT');
  t.equal(text('direct-server.key'), 'SERVER-KEY');
  t.equal(text('direct-client.crt'), 'CLIENT-CERT');
  const plain = buildProxyJob(base).spec.template.spec.containers[0];
  t.notOk(plain.command.includes('--direct-listen'), 'no listener without direct');
  t.notOk(plain.env, 'no env without direct');
  t.notOk(buildProxySecret(base, { name: 'x', uid: 'y' }).data['direct-server.key'], 'no key without direct');
});

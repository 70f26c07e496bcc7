// `kinject run --method netns --target`: a workload's volume whose in-cluster path is a directory
// on this machine (/srv) is bind-mounted there inside the namespace, so even a static binary
// (busybox-static cat) reads the ConfigMap at its in-cluster path; a volume whose path does not
// exist here stays under $KINJECT_ROOT only (and is said so); the host's /srv is untouched. Runs as
// root: sshfs needs /dev/fuse, which this machine opens to root only. Its own namespace and workload.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ensureCluster, kubectlOk, ownNamespace } from '../helpers/cluster.js';
import { kinjectBin } from '../helpers/kinject-cli.js';

const { kubeconfig } = await ensureCluster();
const NS = await ownNamespace(t, kubeconfig, 'netns-vol');
const IN_PLACE = '/srv';
const ELSEWHERE = '/kinject-netns-elsewhere';

await kubectlOk(kubeconfig, ['apply', '-f', '-'], {
  input: `
apiVersion: v1
kind: ConfigMap
metadata: {name: files, namespace: ${NS}}
data: {greeting: "hi from the configmap"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: files, namespace: ${NS}}
spec:
  replicas: 1
  selector: {matchLabels: {app: files}}
  template:
    metadata: {labels: {app: files}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: files
          image: kinject.local/toolbox:1
          imagePullPolicy: Never
          command: ["sleep", "infinity"]
          volumeMounts:
            - {name: config, mountPath: ${IN_PLACE}, readOnly: true}
            - {name: scratch, mountPath: ${ELSEWHERE}}
      volumes:
        - {name: config, configMap: {name: files}}
        - {name: scratch, emptyDir: {}}
`,
});
await kubectlOk(kubeconfig, ['-n', NS, 'rollout', 'status', 'deployment/files', '--timeout=180s'], { timeoutMs: 200_000 });

function run(args, timeoutMs = 240_000) {
  return new Promise((resolve) => {
    execFile(kinjectBin, args, { timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, KUBECONFIG: kubeconfig } }, (err, stdout, stderr) => {
      resolve({
        code: err ? (typeof err.code === 'number' ? err.code : null) : 0,
        stdout,
        stderr: stderr + (err?.killed ? `\n[killed after ${timeoutMs} ms]` : ''),
      });
    });
  });
}

const mountsAtSrv = () =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4] === IN_PLACE);

t.test('volumes at their in-cluster path where that directory exists, else under $KINJECT_ROOT', async (t) => {
  const before = mountsAtSrv();
  const script = [
    `busybox cat ${IN_PLACE}/greeting; echo`,
    `[ -e ${ELSEWHERE} ] && echo "elsewhere-present" || echo "elsewhere-absent"`,
    `[ -d "$KINJECT_ROOT${ELSEWHERE}" ] && echo "elsewhere-under-root"`,
    'echo "mounts=$KINJECT_MOUNTS"',
  ].join('\n');
  const r = await run(['run', '-n', NS, '--target', 'files', '--method', 'netns', '--', 'sh', '-c', script]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^hi from the configmap$/m, 'a static binary reads the ConfigMap at its in-cluster path');
  t.match(r.stdout, /^elsewhere-absent$/m, 'a path that does not exist here is not made');
  t.match(r.stdout, /^elsewhere-under-root$/m, 'it is under $KINJECT_ROOT');
  t.match(r.stdout, new RegExp(`^mounts=.*${ELSEWHERE}`, 'm'));
  t.match(r.stderr, new RegExp(`netns: volumes at their in-cluster paths: ${IN_PLACE}\\n`));
  t.match(r.stderr, new RegExp(`netns: only under \\$KINJECT_ROOT \\(no such directory on this machine to mount over\\): .*${ELSEWHERE}`));
  t.same(mountsAtSrv(), before, "the host's /srv is untouched");
});

// Gets the proxy pod's server OOM-killed by the kernel, the way it happens when the container goes
// over its memory limit (issue 17: "the proxy pod ... OOM-killed"), with no test hook in kinject
// and no image change. `kubectl exec` runs a node process (the hog) in the proxy container, as the
// server's own uid; it raises the server's /proc/PID/oom_score_adj to 1000 (any process may raise
// the score of a process of its uid), lowers its own as far as the kernel lets it, then allocates
// and touches memory past the container's limit (at most 512 MiB, 4 MiB at a time). The cgroup's
// OOM killer kills the task with the highest score: the server, the container's main process; the
// kubelet reports the container OOMKilled and, restartPolicy Never, the pod Failed. The hog dies
// with the container (its pid namespace ends with its first process). Used by
// test/e2e/run-pod-loss.test.js and chaos/scenarios/pod-oom.js.
import { execFile } from 'node:child_process';

/** The hog, run with `node -e` in the proxy container. Prints one `scores` line before it allocates. */
export const HOG_SCRIPT = `
const fs = require('fs');
const server = fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p) && Number(p) !== process.pid).find((p) => {
  try { return fs.readFileSync('/proc/' + p + '/cmdline', 'utf8').includes('proxy-pod.js'); } catch { return false; }
});
if (!server) { console.log('no pod server process in this container'); process.exit(2); }
fs.writeFileSync('/proc/' + server + '/oom_score_adj', '1000');
let own = 'kept';
for (const adj of [0, 500, 900]) {
  try { fs.writeFileSync('/proc/self/oom_score_adj', String(adj)); own = 'lowered'; break; } catch {}
}
const score = (p) => fs.readFileSync('/proc/' + p + '/oom_score_adj', 'utf8').trim();
console.log('scores: server ' + server + ' ' + score(server) + ', hog ' + score('self') + ' (' + own + ')');
const held = [];
for (let i = 0; i < 128; i++) held.push(Buffer.alloc(4 << 20, i + 1));
console.log('allocated ' + held.length * 4 + ' MiB and nothing was killed: no memory limit?');
process.exit(3);
`;

/**
 * Runs the hog in pod `name` of namespace `ns` (its first container: the proxy). Resolves with
 * the exec's { code, stdout, stderr } once it ended: the container died (the hoped-for end), or
 * the hog itself was killed or finished.
 */
export function oomKillProxyPod(kubeconfig, ns, name, { timeoutMs = 60_000 } = {}) {
  return new Promise((resolve) => {
    const args = ['--kubeconfig', kubeconfig, '-n', ns, 'exec', name, '--', 'node', '-e', HOG_SCRIPT];
    execFile('kubectl', args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

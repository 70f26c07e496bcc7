// The real local cluster for e2e tests (cluster/*.sh): ensureCluster() returns its admin
// kubeconfig, bringing the cluster up with `bash cluster/up.sh` when `bash cluster/status.sh`
// says it is not up. Nothing is skipped: if the cluster cannot come up, the caller's test fails.
// Also: kubectl() with that kubeconfig, waitFor() (bounded polling), ensureNamespace(),
// ownNamespace() (a test file's own namespace, deleted after it) and applySample() (a sample
// workload of cluster/manifests in such a namespace).
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { repoRoot } from './repo.js';
import { waitFor } from './wait.js';

export { repoRoot, waitFor };
export const READY_FILE = '/tmp/kinject-cluster-ready';

function run(cmd, args, { timeoutMs = 60_000, input, env } = {}) {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { cwd: repoRoot, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: env ?? process.env }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr, err });
    });
    if (input !== undefined) child.stdin.end(input);
  });
}

let ensured;

/** Is a cluster/up.sh running on this machine (ours or anyone's)? */
function upRunning() {
  try {
    return execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .some((l) => /(^|\s|\/)cluster\/up\.sh(\s|$)/.test(l));
  } catch {
    return false;
  }
}

/** The local cluster, up: `{ kubeconfig }`. Throws (failing the test) if it cannot be brought up. */
export function ensureCluster() {
  ensured ??= (async () => {
    const kubeconfig = execFileSync('bash', ['cluster/kubeconfig.sh'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    let status = await run('bash', ['cluster/status.sh'], { timeoutMs: 120_000 });
    // someone (another test file, the cluster's owner) is bringing it up right now: wait for that
    for (let i = 0; status.code !== 0 && i < 240 && upRunning(); i++) {
      await new Promise((r) => setTimeout(r, 5000));
      status = await run('bash', ['cluster/status.sh'], { timeoutMs: 120_000 });
    }
    if (status.code !== 0) {
      const up = await run('bash', ['cluster/up.sh'], { timeoutMs: 45 * 60_000 });
      if (up.code !== 0) {
        throw new Error(`cluster/up.sh failed (exit ${up.code}): ${(up.stderr || up.stdout).trim().split('\n').slice(-5).join(' | ')}`);
      }
      status = await run('bash', ['cluster/status.sh'], { timeoutMs: 120_000 });
      if (status.code !== 0) throw new Error(`the local cluster is not up after cluster/up.sh:\n${status.stdout}`);
    }
    if (!existsSync(kubeconfig)) throw new Error(`cluster kubeconfig ${kubeconfig} does not exist`);
    return { kubeconfig };
  })();
  return ensured;
}

/** kubectl with the cluster's kubeconfig; resolves { code, stdout, stderr }. */
export async function kubectl(kubeconfig, args, options = {}) {
  return run('kubectl', ['--kubeconfig', kubeconfig, ...args], options);
}

/** kubectl that must succeed; returns stdout. */
export async function kubectlOk(kubeconfig, args, options = {}) {
  const r = await kubectl(kubeconfig, args, options);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Creates the namespace if missing. */
export async function ensureNamespace(kubeconfig, name) {
  const r = await kubectl(kubeconfig, ['get', 'namespace', name]);
  if (r.code === 0) return;
  const c = await kubectl(kubeconfig, ['create', 'namespace', name]);
  if (c.code !== 0 && !/AlreadyExists/.test(c.stderr)) throw new Error(`cannot create namespace ${name}: ${c.stderr}`);
}

/**
 * A namespace for one test file alone, "kinject-t-<what>-<random>", deleted with everything in it
 * when `t` ends. Tests that run `kinject cleanup` or look at a whole namespace use one, so they
 * never touch the sessions of people using the shared kinject-demo namespace at the same time.
 */
export async function ownNamespace(t, kubeconfig, what) {
  const name = `kinject-t-${what}-${randomBytes(3).toString('hex')}`;
  await kubectlOk(kubeconfig, ['create', 'namespace', name]);
  await kubectlOk(kubeconfig, ['label', 'namespace', name, 'app.kubernetes.io/part-of=kinject-tests']);
  t.teardown(async () => {
    const r = await kubectl(kubeconfig, ['delete', 'namespace', name, '--wait=true', '--timeout=180s'], { timeoutMs: 200_000 });
    if (r.code !== 0) throw new Error(`could not delete the test namespace ${name}: ${r.stderr.trim()}`);
  });
  return name;
}

/**
 * Applies cluster/manifests/FILE (a sample workload written for kinject-demo) into namespace ns,
 * then waits until its Deployments are rolled out.
 */
export async function applySample(kubeconfig, file, ns) {
  const text = readFileSync(join(repoRoot, 'cluster', 'manifests', file), 'utf8').replace(/^(\s*)namespace: kinject-demo\s*$/gm, `$1namespace: ${ns}`);
  await kubectlOk(kubeconfig, ['apply', '-f', '-'], { input: text });
  const deployments = (await kubectlOk(kubeconfig, ['-n', ns, 'get', 'deployments', '-o', 'name'])).split('\n').filter(Boolean);
  for (const d of deployments) {
    await kubectlOk(kubeconfig, ['-n', ns, 'rollout', 'status', d, '--timeout=180s'], { timeoutMs: 200_000 });
  }
}

/**
 * Names of kinject-managed objects left in a namespace, e.g. ["job/kinject-ab", "pod/kinject-ab-x"]:
 * of one session when a third argument is given (it must be an id, so a session id a test failed
 * to find does not quietly widen the check to everyone's sessions).
 */
export async function kinjectLeftovers(kubeconfig, namespace, ...rest) {
  const [session] = rest;
  if (rest.length > 0 && !session) throw new Error(`kinjectLeftovers: no session id given for namespace ${namespace}`);
  const sel = `app.kubernetes.io/managed-by=kinject${session ? `,kinject.dev/session=${session}` : ''}`;
  const out = await kubectlOk(kubeconfig, ['-n', namespace, 'get', 'jobs,pods,secrets', '-l', sel, '-o', 'name']);
  return out.split('\n').filter(Boolean);
}

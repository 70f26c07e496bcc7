// Runs the kinject command for e2e tests: `kinject(args, {kubeconfig, input, timeoutMs})` resolves
// { code, signal, stdout, stderr, ms }; `spawnKinject` returns the child for signal tests;
// `sessionOf(stderr)` finds the proxy pod's session id in kinject's progress lines, `mountRootOf(stderr)`
// the local mount root of its volumes.
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './repo.js';
import { until } from './wait.js';

export { until };

export const kinjectBin = join(repoRoot, 'bin', 'kinject');

export function kinject(args, { kubeconfig, input, timeoutMs = 180_000, env } = {}) {
  return new Promise((resolve) => {
    const start = Date.now();
    const child = execFile(
      kinjectBin,
      args,
      {
        cwd: repoRoot,
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, ...(kubeconfig ? { KUBECONFIG: kubeconfig } : {}), ...env },
      },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, signal: err?.signal ?? null, stdout, stderr, ms: Date.now() - start });
      },
    );
    child.stdin.end(input ?? '');
  });
}

export function spawnKinject(args, { kubeconfig, env } = {}) {
  const child = spawn(kinjectBin, args, {
    cwd: repoRoot,
    env: { ...process.env, ...(kubeconfig ? { KUBECONFIG: kubeconfig } : {}), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.out = '';
  child.err = '';
  child.stdout.on('data', (d) => (child.out += d));
  child.stderr.on('data', (d) => (child.err += d));
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return child;
}

/** the session id from "creating proxy pod kinject-<id> in <ns>" */
export function sessionOf(stderr) {
  return /creating proxy pod kinject-([a-z0-9]+) in /.exec(stderr)?.[1];
}

/** the local mount root from "volumes mounted at <root>: ..." */
export function mountRootOf(stderr) {
  return /volumes mounted at (\S+): /.exec(stderr)?.[1];
}

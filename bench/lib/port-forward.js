// `kubectl port-forward` as the baseline: starts it on a free local port, waits for
// "Forwarding from 127.0.0.1:PORT", and stops it; its pid is there for CPU accounting.
import { spawn } from 'node:child_process';

export function startPortForward(kubeconfig, namespace, resource, remotePort) {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', ['--kubeconfig', kubeconfig, '-n', namespace, 'port-forward', resource, `:${remotePort}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`kubectl port-forward ${resource} did not start: ${text}`));
    }, 20000);
    const onData = (d) => {
      text += d;
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), pid: child.pid, stop: () => child.kill('SIGTERM') });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', () => clearTimeout(timer));
  });
}

// The shared part of the intercept e2e files (run-intercept*.test.js): the file's own namespace
// with the restorer ServiceAccount, the workload (deployment api, Service api, the toolbox pod
// "client" with clients.cjs), and helpers: client() runs one in-cluster client, loadLoops() runs
// load without the header until stopped, serviceState() is what must be restored exactly,
// startIntercept()/end() run kinject with an intercept.
import { join } from 'node:path';
import { ensureCluster, kubectl, kubectlOk, ownNamespace, repoRoot, waitFor } from '../cluster.js';
import { spawnKinject } from '../kinject-cli.js';

export async function interceptWorld(t, what) {
  const dir = join(repoRoot, 'test', 'helpers', 'intercept');
  const serverScript = join(dir, 'server.cjs');
  const { kubeconfig } = await ensureCluster();
  const ns = await ownNamespace(t, kubeconfig, what);

  // pods need the namespace's default ServiceAccount, which its controller makes a moment later
  await waitFor(async () => (await kubectl(kubeconfig, ['-n', ns, 'get', 'serviceaccount', 'default'])).code === 0, {
    timeoutMs: 60_000,
    what: 'the default ServiceAccount',
  });
  await kubectlOk(kubeconfig, ['-n', ns, 'apply', '-f', join(repoRoot, 'rbac', 'kinject-restorer.yaml')]);
  await kubectlOk(kubeconfig, [
    '-n',
    ns,
    'create',
    'configmap',
    'intercept-scripts',
    `--from-file=server.cjs=${serverScript}`,
    `--from-file=clients.cjs=${join(dir, 'clients.cjs')}`,
  ]);
  await kubectlOk(kubeconfig, ['-n', ns, 'apply', '-f', join(dir, 'workload.yaml'), '-f', join(dir, 'service.yaml')]);
  await kubectlOk(kubeconfig, ['-n', ns, 'rollout', 'status', 'deployment/api', '--timeout=180s'], { timeoutMs: 200_000 });
  await kubectlOk(kubeconfig, ['-n', ns, 'wait', 'pod/client', '--for=condition=Ready', '--timeout=120s'], { timeoutMs: 130_000 });

  /** one in-cluster client run (clients.cjs), its JSON answer */
  async function client(args, timeoutMs = 40_000) {
    const out = await kubectlOk(kubeconfig, ['-n', ns, 'exec', 'client', '--', 'node', '/scripts/clients.cjs', ...args], { timeoutMs });
    return JSON.parse(out.trim().split('\n').at(-1));
  }

  /** load loops without the header (a new connection per request, and keep-alive), until stop() */
  function loadLoops(t, name) {
    const stopFile = `/tmp/stop-${name}`;
    const runs = ['new', 'keepalive'].map((mode) => client(['load', 'http://api/', '240000', mode, stopFile], 300_000));
    const stop = async () => {
      await kubectl(kubeconfig, ['-n', ns, 'exec', 'client', '--', 'touch', stopFile]);
      return Promise.all(runs);
    };
    t.teardown(() => stop().catch(() => {})); // a failed test does not leave them running
    return { stop };
  }

  /** what must be exactly as before: selector, labels, annotations, ports */
  async function serviceState() {
    const s = JSON.parse(await kubectlOk(kubeconfig, ['-n', ns, 'get', 'service', 'api', '-o', 'json']));
    return { selector: s.spec.selector, labels: s.metadata.labels, annotations: s.metadata.annotations, ports: s.spec.ports, type: s.spec.type };
  }
  const before = await serviceState();

  const runArgs = (extra, name, p1, p2) => [
    'run',
    '-n',
    ns,
    '--no-mount',
    '--output',
    'json',
    '--target',
    'deployment/api',
    ...extra,
    '--',
    'node',
    serverScript,
    name,
    String(p1),
    String(p2),
  ];

  /** a kinject run with an intercept, once it says it is intercepting */
  async function startIntercept(t, extra, name, p1, p2, env) {
    const child = spawnKinject(runArgs(extra, name, p1, p2), { kubeconfig, env });
    t.teardown(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await child.exited;
      }
    });
    await waitFor(() => /intercepting Service api/.test(child.err) || child.exitCode !== null, { timeoutMs: 150_000, what: `kinject ${name} intercepting` });
    if (child.exitCode !== null) throw new Error(`kinject ${name} exited ${child.exitCode}:\n${child.err}`);
    await waitFor(() => child.out.includes('listening on'), { timeoutMs: 90_000, what: `the local process of ${name} listening` });
    return child;
  }

  async function end(child) {
    child.kill('SIGTERM');
    return child.exited;
  }

  const lines = (stderr) => stderr.split('\n').filter(Boolean);

  return { dir, serverScript, kubeconfig, ns, client, loadLoops, serviceState, before, runArgs, startIntercept, end, lines };
}

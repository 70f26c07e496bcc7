// The shared part of the intercept e2e files (run-intercept*.test.js): the file's own namespace
// with the restorer ServiceAccount, the workload (deployment api, Service api, the toolbox pod
// "client" with clients.cjs), and helpers: client() runs one in-cluster client, loadLoops() runs
// load without the header until stopped, grpcCall() one gRPC call from that pod (grpc-echo.cjs,
// bundled by esbuild: the image has no node_modules), routerIps() the router pods' addresses,
// serviceState() is what must be restored exactly, startIntercept()/end() run kinject with an
// intercept.
import { join } from 'node:path';
import { bundleGrpcEcho } from './grpc-bundle.js';
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
  const grpcBundle = bundleGrpcEcho();
  await kubectlOk(kubeconfig, [
    '-n',
    ns,
    'create',
    'configmap',
    'intercept-scripts',
    `--from-file=server.cjs=${serverScript}`,
    `--from-file=clients.cjs=${join(dir, 'clients.cjs')}`,
    `--from-file=grpc-echo.cjs=${grpcBundle.file}`,
  ]).finally(grpcBundle.remove);
  await kubectlOk(kubeconfig, ['-n', ns, 'apply', '-f', join(dir, 'workload.yaml'), '-f', join(dir, 'service.yaml')]);
  await kubectlOk(kubeconfig, ['-n', ns, 'rollout', 'status', 'deployment/api', '--timeout=180s'], { timeoutMs: 200_000 });
  await kubectlOk(kubeconfig, ['-n', ns, 'wait', 'pod/client', '--for=condition=Ready', '--timeout=120s'], { timeoutMs: 130_000 });

  /** one in-cluster client run (clients.cjs), its JSON answer */
  async function client(args, timeoutMs = 40_000) {
    const out = await kubectlOk(kubeconfig, ['-n', ns, 'exec', 'client', '--', 'node', '/scripts/clients.cjs', ...args], { timeoutMs });
    return JSON.parse(out.trim().split('\n').at(-1));
  }

  /** one gRPC call from the client pod to HOST:PORT, the header as metadata: {reply} or {error, code} */
  async function grpcCall(target, header) {
    const out = await kubectlOk(kubeconfig, ['-n', ns, 'exec', 'client', '--', 'node', '/scripts/grpc-echo.cjs', 'call', target, ...(header ? [header] : [])], {
      timeoutMs: 40_000,
    });
    return JSON.parse(out.trim().split('\n').at(-1));
  }

  /** the pod IPs of the router pods (the sessions' proxy pods) of Service api */
  async function routerIps() {
    const out = await kubectlOk(kubeconfig, ['-n', ns, 'get', 'pods', '-l', 'kinject.dev/router-for=api', '-o', 'jsonpath={.items[*].status.podIP}']);
    return out.trim().split(/\s+/).filter(Boolean);
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

  const runArgs = (extra, name, p1, p2, p3) => [
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
    ...(p3 ? [String(p3)] : []),
  ];

  /** a kinject run with an intercept, once it says it is intercepting */
  async function startIntercept(t, extra, name, p1, p2, env, p3) {
    const child = spawnKinject(runArgs(extra, name, p1, p2, p3), { kubeconfig, env });
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

  return { dir, serverScript, kubeconfig, ns, client, grpcCall, routerIps, loadLoops, serviceState, before, runArgs, startIntercept, end, lines };
}

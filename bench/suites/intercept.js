// Intercepts through the cluster (issue 14): from a client pod in the bench's own namespace, HTTP
// requests to a sample workload's Service while `kinject run --intercept --header` holds it:
//   intercepted   with the header: client → Service → router pod → tunnel → local process here
//   real_pod      the same request to a second Service that still selects the real pods
//   pass_through  without the header: client → Service → router pod → decoy Service → real pod
//   service       the same request to the Service that selects the real pods (the direct path)
// each over one keep-alive connection and over a new connection per request, interleaved in
// blocks in one client run (bench/clients/intercept-latency.cjs, timed inside the pod); plus the
// Service before the intercept. The workload, the local process and the pod's scripts are the
// intercept e2e tests' (test/helpers/intercept/). Everything is in a namespace of its own, deleted
// at the end; the session is ended (SIGTERM) first. Numbers only: nothing fails on a figure.
// Run: npm run -s build && node bench/suites/intercept.js [--quick]   (npm run bench:intercept)
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleGrpcEcho } from '../../test/helpers/intercept/grpc-bundle.js';
import { percentile, round } from '../lib/stats.js';

const HEADER = 'x-kinject-bench';
const MODES = ['keepalive', 'new'];

export async function interceptBenchmarks({ root, kinject, kubeconfig, quick, log }) {
  const n = { samples: quick ? 200 : 500, block: 50 };
  const out = { counts: n, notes: {} };
  const ns = `kinject-bench-intercept-${randomBytes(3).toString('hex')}`;
  const helpers = join(root, 'test', 'helpers', 'intercept');
  const k = (args, { timeoutMs = 60_000 } = {}) =>
    new Promise((resolve, reject) =>
      execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
        err ? reject(new Error(`kubectl ${args.join(' ')}: ${(stderr || err.message).trim().split('\n').pop()}`)) : resolve(stdout),
      ),
    );
  let session;
  let cleaning;
  /** ends the session, then deletes the namespace (once, also on Ctrl-C) */
  const cleanUp = () =>
    (cleaning ??= (async () => {
      if (session) {
        log('ending the session (SIGTERM) ...');
        const code = await session.end();
        if (code !== 0) out.notes.session_end = `kinject exited ${code}: ${session.stderr().trim().split('\n').slice(-2).join(' | ')}`;
      }
      log(`deleting namespace ${ns} ...`);
      await k(['delete', 'namespace', ns, '--wait=true', '--timeout=180s'], { timeoutMs: 200_000 }).catch((err) => {
        out.notes.cleanup = `namespace ${ns} not deleted: ${err.message}`;
      });
    })());
  const onSignal = (signal) => cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    log(`namespace ${ns}: workload api, Service api, Service api-real, client pod ...`);
    await setUp(k, ns, root, helpers);

    /** one client run in the pod: the variants' samples */
    const measure = async (variants) => {
      const spec = { count: n.samples, block: n.block, deadlineMs: quick ? 90_000 : 180_000, variants };
      const stdout = await k(['-n', ns, 'exec', 'client', '--', 'node', '/scripts/intercept-latency.cjs', JSON.stringify(spec)], {
        timeoutMs: spec.deadlineMs + 60_000,
      });
      const r = JSON.parse(stdout.trim().split('\n').pop());
      if (r.error) throw new Error(`the client pod: ${r.error}`);
      return r.variants;
    };
    const variant = (name, host, mode, headers, expect) => ({ name: `${name}_${mode}`, host, port: 80, mode, headers, expect });
    const record = (variants) => {
      for (const [name, v] of Object.entries(variants)) {
        out[name] = { p50_ms: round(percentile(v.samples, 50), 3), p99_ms: round(percentile(v.samples, 99), 3), n: v.samples.length };
        if (v.failed || v.wrong) out.notes[name] = `${v.failed} failed, ${v.wrong} answered by the wrong side; ${v.errors.join('; ')}`;
      }
    };

    log(`before the intercept: ${n.samples} requests per mode to Service api ...`);
    record(await measure(MODES.map((m) => variant('before', 'api', m, {}, 'pod'))));

    const [httpPort, h2Port] = await freePorts(2);
    log(`kinject run --intercept http:${httpPort} --header ${HEADER}=1 ...`);
    session = await startSession(kinject, kubeconfig, ns, join(helpers, 'server.cjs'), httpPort, h2Port);
    log(`intercepting after ${session.startSeconds.toFixed(1)} s; measuring 4 paths × 2 modes × ${n.samples} requests ...`);
    const during = [];
    for (const m of MODES) {
      during.push(
        variant('intercepted', 'api', m, { [HEADER]: '1' }, 'local'),
        variant('real_pod', 'api-real', m, { [HEADER]: '1' }, 'pod'),
        variant('pass_through', 'api', m, {}, 'pod'),
        variant('service', 'api-real', m, {}, 'pod'),
      );
    }
    record(await measure(during));
    for (const m of MODES) {
      const pt = out[`pass_through_${m}`];
      const sv = out[`service_${m}`];
      const minus = (a, b) => (a === null || b === null ? null : round(a - b, 3)); // round() makes NaN null
      out[`pass_through_added_${m}`] = { p50_ms: minus(pt.p50_ms, sv.p50_ms), p99_ms: minus(pt.p99_ms, sv.p99_ms) };
    }
  } catch (err) {
    out.notes.intercept = `failed: ${err.message}`;
    log(`intercept bench FAILED: ${err.message}`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanUp();
  }
  return out;
}

/** the namespace with the restorer, the workload (deployment + Service api) and a second Service api-real */
async function setUp(k, ns, root, helpers) {
  await k(['create', 'namespace', ns]);
  await k(['label', 'namespace', ns, 'app.kubernetes.io/part-of=kinject-bench']);
  const until = Date.now() + 60_000;
  while ((await k(['-n', ns, 'get', 'serviceaccount', 'default']).catch(() => null)) === null) {
    if (Date.now() > until) throw new Error(`namespace ${ns}: no default ServiceAccount after 60 s`);
    await new Promise((ok) => setTimeout(ok, 500));
  }
  await k(['-n', ns, 'apply', '-f', join(root, 'rbac', 'kinject-restorer.yaml')]);
  // the workload also serves gRPC (grpc-echo.cjs, bundled: the image has no node_modules), as in the e2e tests
  const grpcBundle = bundleGrpcEcho();
  await k([
    '-n',
    ns,
    'create',
    'configmap',
    'intercept-scripts',
    `--from-file=server.cjs=${join(helpers, 'server.cjs')}`,
    `--from-file=intercept-latency.cjs=${join(root, 'bench', 'clients', 'intercept-latency.cjs')}`,
    `--from-file=grpc-echo.cjs=${grpcBundle.file}`,
  ]).finally(grpcBundle.remove);
  await k(['-n', ns, 'apply', '-f', join(helpers, 'workload.yaml'), '-f', join(helpers, 'service.yaml')]);
  await k(['-n', ns, 'create', 'service', 'clusterip', 'api-real', '--tcp=80:8080']);
  await k(['-n', ns, 'set', 'selector', 'service', 'api-real', 'app=api']);
  await k(['-n', ns, 'rollout', 'status', 'deployment/api', '--timeout=180s'], { timeoutMs: 200_000 });
  await k(['-n', ns, 'wait', 'pod/client', '--for=condition=Ready', '--timeout=120s'], { timeoutMs: 130_000 });
}

/** `kinject run --intercept --header` with the test server as the local process, once it intercepts */
async function startSession(kinject, kubeconfig, ns, server, httpPort, h2Port) {
  const t0 = Date.now();
  const args = ['run', '-n', ns, '--no-mount', '--target', 'deployment/api', '--service', 'api', '--intercept', `http:${httpPort}`, '--header', `${HEADER}=1`];
  const child = spawn(kinject, [...args, '--', process.execPath, server, 'local', String(httpPort), String(h2Port)], {
    env: { ...process.env, KUBECONFIG: kubeconfig },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = once(child, 'exit').then(([code, signal]) => code ?? signal);
  let gone = false;
  exited.then(() => (gone = true));
  const end = async () => {
    if (gone) return exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  const until = Date.now() + 180_000;
  while (!(/intercepting Service api/.test(stderr) && stdout.includes('listening on'))) {
    if (gone || Date.now() > until) {
      await end();
      throw new Error(`kinject run --intercept ${gone ? 'exited' : 'did not intercept within 180 s'}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    }
    await new Promise((ok) => setTimeout(ok, 200));
  }
  return { end, stderr: () => stderr, startSeconds: (Date.now() - t0) / 1000 };
}

/** count free TCP ports on 127.0.0.1 (listened on once, then closed) */
async function freePorts(count) {
  const servers = [];
  for (let i = 0; i < count; i++) {
    const s = net.createServer().listen(0, '127.0.0.1');
    await once(s, 'listening');
    servers.push(s);
  }
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  return ports;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const started = Date.now();
  const log = (msg) => process.stderr.write(`bench intercept [${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s]: ${msg}\n`);
  const kubeconfig = execFileSync('bash', [join(root, 'cluster/kubeconfig.sh')], { encoding: 'utf8' }).trim();
  const loadStart = loadavg()[0];
  const result = await interceptBenchmarks({ root, kinject: join(root, 'bin', 'kinject'), kubeconfig, quick: process.argv.includes('--quick'), log });
  result.load_average_1m = { start: round(loadStart), end: round(loadavg()[0]) };
  result.caveat = 'measured on a 2-core machine shared with other work (the cluster, other test runs): rough figures';
  writeFileSync(join(root, 'bench', 'results', 'intercept.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
  process.exit(0);
}

// Shared pieces of the chaos suite (chaos/run.js): the cluster's kubeconfig, an own namespace
// with the sample "hello" workload, kinject started with a request loop, leftovers in the
// cluster (the namespace's kinject objects) and on the machine (marked processes, mounts, files),
// and p50/max. Every wait here is bounded.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const kinjectBin = join(repoRoot, 'bin', 'kinject');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function kubeconfig() {
  return execFileSync('bash', [join(repoRoot, 'cluster', 'kubeconfig.sh')], { encoding: 'utf8' }).trim();
}

export function run(cmd, args, { timeoutMs = 60_000, env, input } = {}) {
  return new Promise((resolve) => {
    const start = Date.now();
    const c = execFile(cmd, args, { timeout: timeoutMs, env: { ...process.env, ...env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, signal: err?.signal ?? null, stdout, stderr, ms: Date.now() - start, pid: c.pid }),
    );
    c.stdin.end(input ?? '');
  });
}

export async function kubectl(kc, args, opts) {
  const r = await run('kubectl', ['--kubeconfig', kc, ...args], opts);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** a namespace of the suite's own, with cluster/manifests/20-hello.yaml and 40-web.yaml (volumes) in it */
export async function chaosNamespace(kc) {
  const ns = `kinject-chaos-${randomBytes(3).toString('hex')}`;
  await kubectl(kc, ['create', 'namespace', ns]);
  await kubectl(kc, ['label', 'namespace', ns, 'app.kubernetes.io/part-of=kinject-tests']);
  for (const [file, name] of [
    ['20-hello.yaml', 'hello'],
    ['40-web.yaml', 'web'],
  ]) {
    const yaml = readFileSync(join(repoRoot, 'cluster', 'manifests', file), 'utf8').replace(/namespace: kinject-demo/g, `namespace: ${ns}`);
    await kubectl(kc, ['apply', '-f', '-'], { input: yaml });
    await kubectl(kc, ['-n', ns, 'rollout', 'status', `deployment/${name}`, '--timeout=180s'], { timeoutMs: 200_000 });
  }
  return ns;
}

export async function deleteNamespace(kc, ns) {
  await run('kubectl', ['--kubeconfig', kc, 'delete', 'namespace', ns, '--wait=true', '--timeout=180s'], { timeoutMs: 200_000 });
}

/** kinject objects (jobs, pods, secrets, leases, services) left in ns */
export async function clusterLeftovers(kc, ns) {
  const out = await kubectl(kc, ['-n', ns, 'get', 'jobs,pods,secrets,leases,services', '-l', 'app.kubernetes.io/managed-by=kinject', '-o', 'name']);
  return out.split('\n').filter(Boolean);
}

const uid = process.getuid?.() ?? 0;
const runtimeDir = join(process.env.XDG_RUNTIME_DIR || '/tmp', `kinject-${uid}`);

/**
 * Things on this machine a run left: processes carrying `mark` in their command line (the child),
 * naming the session's mount dir (sshfs) or being the run's guardian (`kinject-guardian-<pid>`);
 * kinject FUSE mounts of the session; its mount dir; its record in the local registry
 * (sessions/<id>.json); its mount record (.mounts/*.json naming its pid); its keys and warning-marks
 * dirs (.keys-<pid>-*, .warn-<pid>-*). `pid` is the kinject process (known before the session id).
 */
export function machineLeftovers(mark, sessionId, pid) {
  const left = [];
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (Number(p) === process.pid) continue;
      if ((mark && cmd.includes(mark)) || (sessionId && cmd.includes(`kinject-${uid}/${sessionId}`)) || (pid && cmd.includes(`kinject-guardian-${pid} `))) {
        left.push(`process ${p}: ${cmd.slice(0, 60)}`);
      }
    } catch {}
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  for (const m of mounts) if (sessionId && m.includes(`/${sessionId}`) && /fuse/.test(m)) left.push(`mount ${m.split(' ')[4]}`);
  if (sessionId && existsSync(join(runtimeDir, sessionId))) left.push(`dir ${join(runtimeDir, sessionId)}`);
  if (sessionId && existsSync(join(runtimeDir, 'sessions', `${sessionId}.json`))) left.push(`session record ${sessionId}.json`);
  if (pid) {
    let names = [];
    try {
      names = readdirSync(runtimeDir);
    } catch {}
    for (const n of names) if (n.startsWith(`.keys-${pid}-`) || n.startsWith(`.warn-${pid}-`)) left.push(`dir ${join(runtimeDir, n)}`);
    let records = [];
    try {
      records = readdirSync(join(runtimeDir, '.mounts'));
    } catch {}
    for (const n of records) {
      try {
        if (JSON.parse(readFileSync(join(runtimeDir, '.mounts', n), 'utf8')).pid === pid) left.push(`mount record .mounts/${n}`);
      } catch {}
    }
  }
  return left;
}

/** ends processes carrying mark (left behind by a try), so the next try starts clean */
export function killMarked(mark) {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(mark) && Number(pid) !== process.pid) process.kill(Number(pid), 'SIGKILL');
    } catch {}
  }
}

/** a shell loop of at most `count` requests to http://hello/, one every `everyMs`, OK/FAIL <ms> lines; stops when $STOP exists */
export function requestLoop(count, everyMs, mark) {
  return [
    `# ${mark}`,
    `i=0; while [ $i -lt ${count} ] && [ ! -e "$STOP" ]; do`,
    '  if curl -sS -m 5 -o /dev/null http://hello/ 2>/dev/null; then echo "OK $(date +%s%3N)"; else echo "FAIL $(date +%s%3N)"; fi',
    `  sleep ${everyMs / 1000}; i=$((i+1))`,
    'done',
  ].join('\n');
}

/** `kinject run` of `script` under sh; returns the child with .out, .err, .exited, .peakRssKb() */
export function startKinject(kc, args, script, env = {}) {
  const child = spawn(kinjectBin, ['run', ...args, '--', 'sh', '-c', script], {
    cwd: repoRoot,
    env: { ...process.env, KUBECONFIG: kc, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.out = '';
  child.err = '';
  child.stdout.on('data', (d) => (child.out += d));
  child.stderr.on('data', (d) => (child.err += d));
  child.exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return child;
}

/** VmHWM (peak RSS, kB) of a live process */
export function peakRssKb(pid) {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  } catch {
    return undefined;
  }
}

export function sessionOf(stderr) {
  return /creating proxy pod kinject-([a-z0-9]+) in /.exec(stderr)?.[1];
}

export async function until(fn, timeoutMs, everyMs = 200) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return true;
    await sleep(everyMs);
  }
  return Boolean(await fn());
}

export function okLines(out) {
  return out
    .split('\n')
    .filter((l) => l.startsWith('OK '))
    .map((l) => Number(l.slice(3)));
}
export function failLines(out) {
  return out
    .split('\n')
    .filter((l) => l.startsWith('FAIL '))
    .map((l) => Number(l.slice(5)));
}

/** ms from `at` to the first OK after the last FAIL that followed `at` (undefined: never) */
export function recoveryMs(out, at) {
  const fails = failLines(out).filter((ms) => ms >= at);
  const after = Math.max(at, ...fails);
  const ok = okLines(out).find((ms) => ms > after);
  return ok === undefined ? undefined : ok - at;
}

export function stats(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return { p50: null, max: null };
  return { p50: v[Math.floor((v.length - 1) / 2)], max: v[v.length - 1] };
}

export const mark = () => `kinject-chaos-${randomBytes(4).toString('hex')}`;

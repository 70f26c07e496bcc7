// `kinject run --target deployment/web` on the real local cluster: the child gets exactly the env
// that `kubectl exec` of `env` in a web pod shows (values that differ per pod — downward API pod
// name and IP, HOSTNAME — compared by presence); --env-file and --env-json round-trip it;
// `kinject env` prints the same; --env-precedence decides between local and workload values.
import t from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCluster, kinjectLeftovers, kubectlOk } from '../helpers/cluster.js';
import { kinject, sessionOf } from '../helpers/kinject-cli.js';
import dotenv from 'dotenv';

const NS = 'kinject-demo';
const { kubeconfig } = await ensureCluster();
const dir = mkdtempSync(join(tmpdir(), 'kinject-target-'));

// the env a web pod's process really has (NUL-separated, so multi-line values survive)
const execEnv = async () => {
  const out = await kubectlOk(kubeconfig, [
    '-n',
    NS,
    'exec',
    'deploy/web',
    '-c',
    'web',
    '--',
    'node',
    '-e',
    'process.stdout.write(JSON.stringify(process.env))',
  ]);
  return JSON.parse(out);
};
// set by the image or the runtime, not by the workload's spec
const RUNTIME = ['PATH', 'HOME', 'HOSTNAME', 'TERM', 'NODE_VERSION', 'YARN_VERSION'];
const PER_POD = ['POD_NAME', 'POD_IP'];

t.test('the child gets the env a web pod has', async (t) => {
  const podEnv = await execEnv();
  const r = await kinject(
    [
      'run',
      '-n',
      NS,
      '--target',
      'deployment/web',
      '--env-file',
      join(dir, 'web.env'),
      '--env-json',
      join(dir, 'web.json'),
      '--',
      'node',
      '-e',
      'process.stdout.write(JSON.stringify(process.env))',
    ],
    { kubeconfig },
  );
  t.equal(r.code, 0, r.stderr);
  const childEnv = JSON.parse(r.stdout);
  const expected = Object.keys(podEnv)
    .filter((k) => !RUNTIME.includes(k))
    .sort();
  const written = JSON.parse(readFileSync(join(dir, 'web.json'), 'utf8'));
  t.same(Object.keys(written).sort(), expected, "--env-json holds exactly the workload's variables");
  for (const key of expected) {
    if (PER_POD.includes(key)) {
      t.ok(childEnv[key], `${key} is set (its value differs per pod)`);
    } else {
      t.equal(childEnv[key], podEnv[key], `${key} as in the pod`);
    }
  }
  t.match(childEnv.MULTI_LINE, /^line one\nline two with spaces\n/, 'the multi-line value, intact');
  t.equal(childEnv.TRICKY_VALUE, 'key=value; say "hi there" and it\'s = fine', 'a value with =, quotes and spaces');
  t.equal(childEnv.API_KEY, 'kinject-demo-api-key-7f3a9c', 'envFrom Secret');
  t.equal(childEnv.POD_NAMESPACE, 'kinject-demo', 'downward API namespace');
  t.same(dotenv.parse(readFileSync(join(dir, 'web.env'), 'utf8')), written, 'npm dotenv reads --env-file back as the same env as --env-json');
  t.same(await kinjectLeftovers(kubeconfig, NS, sessionOf(r.stderr)), []);
});

t.test('kinject env prints the same env in each format', async (t) => {
  const json = await kinject(['env', '-n', NS, '--target', 'web', '--format', 'json'], { kubeconfig });
  t.equal(json.code, 0, json.stderr);
  const env = JSON.parse(json.stdout);
  t.equal(env.API_KEY, 'kinject-demo-api-key-7f3a9c');
  const sh = await kinject(['env', '-n', NS, '--target', 'deployment/web', '--format', 'sh'], { kubeconfig });
  t.equal(sh.code, 0, sh.stderr);
  const { execFileSync } = await import('node:child_process');
  const sourced = JSON.parse(
    execFileSync('sh', ['-c', `${sh.stdout}\nnode -e 'process.stdout.write(JSON.stringify(process.env))'`], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    }),
  );
  for (const [key, value] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      t.match(sh.stdout, `# ${JSON.stringify(key)} not written: not a shell variable name`, `sh format names what it skips: ${key}`);
    } else if (!['POD_NAME', 'POD_IP'].includes(key)) {
      t.equal(sourced[key], value, `sh format: ${key}`);
    }
  }
});

t.test('--env-precedence: the workload wins by default, local wins when asked', async (t) => {
  const show = ['--', 'node', '-e', 'console.log(process.env.API_KEY)'];
  const env = { API_KEY: 'local-value' };
  const clusterWins = await kinject(['run', '-n', NS, '--target', 'web', ...show], { kubeconfig, env });
  t.equal(clusterWins.stdout.trim(), 'kinject-demo-api-key-7f3a9c');
  const localWins = await kinject(['run', '-n', NS, '--target', 'web', '--env-precedence', 'local', ...show], { kubeconfig, env });
  t.equal(localWins.stdout.trim(), 'local-value');
});

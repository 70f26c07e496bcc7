// --env-file in each --env-syntax, and `kinject env --format`, on the real local cluster: a
// workload of this test's own namespace gets values that env files get wrong (test/helpers/
// env-values.js) from a Secret and a ConfigMap; what each real reader (npm dotenv, python-dotenv,
// compose-go, bash, dash) reads from the written file is compared with what the pod's own process
// sees (`kubectl exec ... node -e 'process.env'`). A value the dotenv syntax cannot carry is a
// comment, named in one warning line; --env-json carries it.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ensureCluster, ensureNamespace, kinjectLeftovers, kubectl, kubectlOk } from '../helpers/cluster.js';
import { kinject, sessionOf } from '../helpers/kinject-cli.js';
import { TRICKY_ENV, DOTENV_UNCARRIABLE } from '../helpers/env-values.js';
import { composeReader, readJson, readNpmDotenv, readPythonDotenv, readShell } from '../helpers/env-readers.js';

const { kubeconfig } = await ensureCluster();
const NS = `kinject-envfile-${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'kinject-envfile-'));
t.teardown(async () => {
  rmSync(dir, { recursive: true, force: true });
  await kubectl(kubeconfig, ['delete', 'namespace', NS, '--wait=false']);
});

// half the values from a Secret, half from a ConfigMap (both through envFrom)
const keys = Object.keys({ ...TRICKY_ENV, ...DOTENV_UNCARRIABLE });
const all = { ...TRICKY_ENV, ...DOTENV_UNCARRIABLE };
const secret = Object.fromEntries(keys.filter((_, i) => i % 2 === 0).map((k) => [k, Buffer.from(all[k]).toString('base64')]));
const config = Object.fromEntries(keys.filter((_, i) => i % 2 === 1).map((k) => [k, all[k]]));
const image = `kinject.local/node:${process.versions.node.split('.')[0]}`;

await ensureNamespace(kubeconfig, NS);
await kubectlOk(kubeconfig, ['-n', NS, 'apply', '-f', '-'], {
  input: JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'values' }, type: 'Opaque', data: secret },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'values' }, data: config },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'app' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'app' } },
          template: {
            metadata: { labels: { app: 'app' } },
            spec: {
              terminationGracePeriodSeconds: 0,
              containers: [
                {
                  name: 'app',
                  image,
                  imagePullPolicy: 'Never',
                  command: ['node', '-e', 'setInterval(() => {}, 1 << 30); process.on("SIGTERM", () => process.exit(0))'],
                  env: [{ name: 'PLAIN', value: 'plain value' }],
                  envFrom: [{ secretRef: { name: 'values' } }, { configMapRef: { name: 'values' } }],
                },
              ],
            },
          },
        },
      },
    ],
  }),
});
await kubectlOk(kubeconfig, ['-n', NS, 'rollout', 'status', 'deployment/app', '--timeout=180s'], { timeoutMs: 200_000 });

// what the workload's own process sees
const podEnv = JSON.parse(
  await kubectlOk(kubeconfig, ['-n', NS, 'exec', 'deploy/app', '--', 'node', '-e', 'process.stdout.write(JSON.stringify(process.env))']),
);
const workloadKeys = [...keys, 'PLAIN'].filter((k) => k in podEnv);

t.test('the pod sees the values as they are in the Secret and ConfigMap', async (t) => {
  for (const k of keys) if (k in podEnv) t.equal(podEnv[k], all[k], k);
  t.ok(workloadKeys.length >= keys.length - 2, `${workloadKeys.length} of ${keys.length + 1} variables are in the pod (the kubelet may drop . and - names)`);
});

/** reader's value for every workload key = the pod's, but for `skipped` keys, which it must not have. */
function sameAsPod(t, read, reader, { skipped = [], only = () => true } = {}) {
  for (const k of workloadKeys) {
    if (skipped.includes(k)) t.notOk(k in read, `${reader}: ${k} (not written) is not read`);
    else if (only(k, podEnv[k])) t.equal(read[k], podEnv[k], `${reader}: ${k}`);
  }
}

async function run(t, syntax) {
  const file = join(dir, `${syntax}.env`);
  const json = join(dir, `${syntax}.json`);
  const r = await kinject(['run', '-n', NS, '--target', 'deployment/app', '--env-file', file, '--env-syntax', syntax, '--env-json', json, '--', 'true'], {
    kubeconfig,
  });
  t.equal(r.code, 0, r.stderr);
  t.same(await kinjectLeftovers(kubeconfig, NS, sessionOf(r.stderr)), [], 'no proxy pod left');
  sameAsPod(t, readJson(json), '--env-json');
  return { file, stderr: r.stderr };
}

t.test('--env-syntax dotenv (the default): npm dotenv and python-dotenv read what the pod sees', async (t) => {
  const { file, stderr } = await run(t, 'dotenv');
  const skipped = Object.keys(DOTENV_UNCARRIABLE).filter((k) => k in podEnv);
  for (const [reader, read] of Object.entries(readNpmDotenv(file))) sameAsPod(t, read, reader, { skipped });
  const warnings = stderr.split('\n').filter((l) => /warning: --env-file/.test(l));
  t.equal(warnings.length, 1, 'one warning line');
  t.match(
    warnings[0],
    `: ${skipped.length} variables not written (the dotenv syntax cannot carry them exactly; they are written as comments, --env-json carries everything): ${skipped.sort().join(', ')}`,
  );
  for (const k of skipped) t.match(readFileSync(file, 'utf8'), `# ${JSON.stringify(k)} not written: no dotenv quoting carries its value exactly`);
  const portable = (k, v) => !/\\|\$\{/.test(v) && !(/['\r]/.test(v) && v.includes('"'));
  sameAsPod(t, await readPythonDotenv(file), 'python-dotenv', { skipped, only: portable });
});

t.test("--env-syntax compose: docker compose's env_file parser reads what the pod sees", async (t) => {
  const read = await composeReader(dir);
  const { file, stderr } = await run(t, 'compose');
  t.notMatch(stderr, 'warning', 'compose carries every value');
  sameAsPod(t, await read(file), 'compose-go dotenv');
});

t.test('--env-syntax sh: bash and dash with set -a; . FILE get what the pod sees', async (t) => {
  const { file } = await run(t, 'sh');
  const notNames = workloadKeys.filter((k) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(k));
  for (const shell of ['bash', 'dash']) sameAsPod(t, await readShell(shell, file), shell, { skipped: notNames });
});

t.test('kinject env --format prints the same files', async (t) => {
  for (const format of ['dotenv', 'sh']) {
    const r = await kinject(['env', '-n', NS, '--target', 'app', '--format', format], { kubeconfig });
    t.equal(r.code, 0, r.stderr);
    const file = join(dir, `printed.${format}`);
    writeFileSync(file, r.stdout);
    if (format === 'dotenv') {
      const skipped = Object.keys(DOTENV_UNCARRIABLE).filter((k) => k in podEnv);
      sameAsPod(t, readNpmDotenv(file)['dotenv@18'], 'kinject env | dotenv', { skipped });
      t.match(r.stderr, /^kinject: warning: kinject env: \d+ variables not written/m);
    } else {
      sameAsPod(t, await readShell('dash', file), 'kinject env | dash', { skipped: workloadKeys.filter((k) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) });
    }
  }
});

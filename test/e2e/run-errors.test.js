// Bad input to `kinject run` against the real local cluster: each gets one line on stderr naming
// the thing and the fix, a non-zero exit code, and leaves no proxy pod, Job or Secret behind.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCluster, kinjectLeftovers, ownNamespace } from '../helpers/cluster.js';
import { kinject } from '../helpers/kinject-cli.js';

const NS = 'kinject-demo';
const { kubeconfig } = await ensureCluster();
// runs that get as far as creating a proxy pod use this file's own namespace, so "nothing left"
// can look at the whole namespace without seeing other people's sessions
const OWN = await ownNamespace(t, kubeconfig, 'errors');
const dir = mkdtempSync(join(tmpdir(), 'kinject-errors-'));
// a kubeconfig whose API server nobody listens on (loopback, port 1)
const deadConfig = join(dir, 'dead.kubeconfig');
writeFileSync(
  deadConfig,
  [
    'apiVersion: v1',
    'kind: Config',
    'clusters: [{name: dead, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
    'users: [{name: dead, user: {token: x}}]',
    'contexts: [{name: dead, context: {cluster: dead, user: dead}}]',
    'current-context: dead',
    '',
  ].join('\n'),
);

const oneLine = (t, r, pattern, what) => {
  t.not(r.code, 0, `${what}: non-zero exit`);
  // progress lines come first (creating, starting, waiting: <reason>, ...); then exactly one error line
  const lines = r.stderr.split('\n').filter((l) => l && !/^kinject: (creating proxy pod|starting container|pulling|waiting|pod ready|tunnel up)/.test(l));
  t.equal(lines.length, 1, `${what}: one line of error: ${JSON.stringify(r.stderr)}`);
  t.match(lines[0], pattern, what);
};

const cases = [
  ['unknown context', ['run', '--context', 'no-such-context', '--', 'true'], /^kinject: .*context "?no-such-context"?.*(available|check|--context)/],
  ['unknown namespace', ['run', '-n', 'no-such-namespace', '--', 'true'], /^kinject: .*namespace "?no-such-namespace"?.*(not found|does not exist)/],
  ['unknown workload', ['run', '-n', NS, '--target', 'deployment/no-such-app', '--', 'true'], /^kinject: .*deployment.*no-such-app.*not found/],
  [
    'unknown container',
    ['run', '-n', NS, '--target', 'deployment/web', '--container', 'nope', '--', 'true'],
    /^kinject: container "nope" not found in .*web.*available containers: web/,
  ],
  ['unreachable API server', ['run', '--kubeconfig', deadConfig, '--', 'true'], /^kinject: cannot reach the Kubernetes API server at https:\/\/127\.0\.0\.1:1/],
  [
    'unknown method',
    ['run', '--method', 'vpn', '--', 'true'],
    /^kinject: option '--method <method>' argument 'vpn' is invalid\. Allowed choices are inject-tcp, netns\. \(see --help\)$/,
  ],
];

for (const [what, args, pattern] of cases) {
  t.test(what, async (t) => {
    oneLine(t, await kinject(args, { kubeconfig, timeoutMs: 60_000 }), pattern, what);
  });
}

t.test('an image that cannot be pulled: the reason, after --timeout, nothing left', async (t) => {
  const r = await kinject(['run', '-n', OWN, '--proxy-image', 'kinject.local/does-not-exist:1', '--timeout', '20', '--', 'true'], {
    kubeconfig,
    timeoutMs: 90_000,
  });
  oneLine(t, r, /^kinject: .*(ErrImage|ImagePull|ErrImageNeverPull).*kinject\.local\/does-not-exist:1/, 'unpullable image');
  t.match(r.stderr, /creating proxy pod kinject-[a-z0-9]+ in /, 'it got as far as creating the pod');
  t.same(await kinjectLeftovers(kubeconfig, OWN), [], 'no proxy pod, Job or Secret left');
});

t.test('a local command that does not exist: exit 127, nothing left', async (t) => {
  const r = await kinject(['run', '-n', OWN, '--', 'no-such-command-kinject'], { kubeconfig });
  t.equal(r.code, 127);
  t.match(r.stderr, /^kinject: command not found: no-such-command-kinject \(check its name and your PATH\)$/m);
  t.same(await kinjectLeftovers(kubeconfig, OWN), [], 'no proxy pod, Job or Secret left');
});

// `sudo kinject teleport` for real, minus sudo itself (not installed here): kinject runs as root
// with the variables sudo sets (SUDO_USER, SUDO_UID, SUDO_GID, HOME=/root, no KUBECONFIG) in a
// private mount namespace whose /etc/hosts AND /etc/passwd are temporary files, the passwd adding
// a user "kinjectuser" (uid 65534) whose home (in the test's temp dir) holds a kubeconfig with its
// own context and default namespace (this file's). Checks: the session uses that kubeconfig
// (its context, its namespace: no -n given), the session process runs as the user with only
// CAP_NET_BIND_SERVICE (hello's port 80 listens), a root keeper alone writes the hosts block,
// the user lists and closes the session without sudo, and after the close the hosts file is
// byte-identical and nothing is left. A user without a kubeconfig gets one line. A SIGKILLed
// keeper: the session ends itself, and `sudo kinject cleanup` removes the block left.
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { applySample, ensureCluster, kinjectLeftovers, kubectlOk, ownNamespace } from '../helpers/cluster.js';
import { kinjectBin } from '../helpers/kinject-cli.js';
import { hostsNamespace } from '../helpers/hosts-namespace.js';
import { graceEnv } from '../helpers/session-grace.js';
import { waitFor } from '../helpers/wait.js';

t.setTimeout(600_000);
const UID = 65534;
const USER = 'kinjectuser';
const { kubeconfig } = await ensureCluster();
const NS = await ownNamespace(t, kubeconfig, 'teleport-sudo');
await applySample(kubeconfig, '20-hello.yaml', NS);

const ns = await hostsNamespace(t, undefined, {
  passwd: `${readFileSync('/etc/passwd', 'utf8').trimEnd()}\n${USER}:x:${UID}:${UID}:kinject test user:/HOME:/bin/sh\n`,
  tmpfs: ['/tmp'], // root's runtime dir (its XDG_RUNTIME_DIR here is the user's: it counts as unset)
});
// (the passwd text names /HOME before dir exists: rewrite it with the real path)
const home = join(ns.dir, 'home');
writeFileSync(ns.file('/etc/passwd'), readFileSync(ns.file('/etc/passwd'), 'utf8').replace(':/HOME:', `:${home}:`));
const runDir = join(ns.dir, 'run');
for (const d of [home, join(home, '.kube'), runDir]) {
  mkdirSync(d, { recursive: true });
  chownSync(d, UID, UID);
}
chmodSync(ns.dir, 0o711);
const before = readFileSync(ns.hostsFile, 'utf8');

// the user's kubeconfig: the cluster's, with its own context name and default namespace
const userConfig = join(home, '.kube', 'config');
writeFileSync(userConfig, await kubectlOk(kubeconfig, ['config', 'view', '--raw', '--flatten', '--minify']), { mode: 0o600 });
await kubectlOk(userConfig, ['config', 'rename-context', (await kubectlOk(userConfig, ['config', 'current-context'])).trim(), 'kinject-user']);
await kubectlOk(userConfig, ['config', 'set-context', '--current', `--namespace=${NS}`]);
chownSync(userConfig, UID, UID);

const common = [
  `PATH=${process.env.PATH}`,
  `XDG_RUNTIME_DIR=${runDir}`,
  `KINJECT_HOSTS_BACKUP=${ns.env.KINJECT_HOSTS_BACKUP}`,
  `KINJECT_HOSTS_LOCK=${ns.env.KINJECT_HOSTS_LOCK}`,
  `KINJECT_SESSION_GRACE_SECONDS=${graceEnv.KINJECT_SESSION_GRACE_SECONDS}`,
];
/** kinject as root under "sudo" (a clean env: nothing of tap's, no KUBECONFIG) */
const asSudo = (args, user = USER) =>
  ns.run('env', ['-i', ...common, 'HOME=/root', 'USER=root', `SUDO_USER=${user}`, `SUDO_UID=${UID}`, `SUDO_GID=${UID}`, kinjectBin, ...args], {
    timeoutMs: 180_000,
  });
/** kinject as the user, without sudo */
const asUser = (args) =>
  ns.run('env', ['-i', ...common, `HOME=${home}`, `USER=${USER}`, 'setpriv', `--reuid=${UID}`, `--regid=${UID}`, '--clear-groups', kinjectBin, ...args], {
    timeoutMs: 120_000,
  });
const status = (pid, key) => readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s*(.*)$`, 'm'))?.[1];

t.teardown(async () => {
  await asUser(['session', 'close', '--all']);
  await asSudo(['session', 'close', '--all']); // root's, should a session ever run as root
});

const start = await asSudo(['teleport']);
const list = JSON.parse((await asUser(['session', 'list', '--json'])).stdout || '[]');
const s = list.find((x) => x.kind === 'teleport');

t.test("sudo kinject teleport: the user's kubeconfig, the session as the user, root only for the hosts file", async (t) => {
  t.equal(start.code, 0, start.stderr);
  t.match(start.stdout, new RegExp(`^127\\.\\S+ +80 +hello hello\\.${NS} `, 'm'), "no -n: the user's kubeconfig's namespace");
  t.ok(s, `the user's session list has it: ${JSON.stringify(list)}`);
  t.equal(s.context, 'kinject-user', "the user's context, not root's");
  t.same(s.namespaces, [NS]);
  t.equal(status(s.pid, 'Uid'), `${UID}\t${UID}\t${UID}\t${UID}`, 'the session process runs as the user');
  t.equal(status(s.pid, 'CapEff'), '0000000000000400', 'with CAP_NET_BIND_SERVICE only');
  const keeper = Number(status(s.pid, 'PPid'));
  t.equal(status(keeper, 'Uid').split('\t')[0], '0', 'its parent, the hosts keeper, is root');
  t.match(readFileSync(ns.hostsFile, 'utf8'), new RegExp(`^# kinject teleport ${s.id} begin pid ${keeper} `, 'm'), "the block carries the keeper's pid");
  const curl = await ns.run('curl', ['-sS', '-m', '10', 'http://hello/']);
  t.match(curl.stdout, /hello from hello-/, 'port 80 listens and relays');
});

t.test('the user closes it without sudo: the hosts file as before, nothing left', async (t) => {
  const r = await asUser(['session', 'close', s.id]);
  t.equal(r.code, 0, r.stderr);
  const keeperGone = await waitFor(() => readFileSync(ns.hostsFile, 'utf8') === before, { timeoutMs: 10_000, what: 'the block removed by the keeper' });
  t.ok(keeperGone, 'the hosts file is byte-identical to before');
  t.same(JSON.parse((await asUser(['session', 'list', '--json'])).stdout), [], 'no session');
  await waitFor(async () => (await kinjectLeftovers(kubeconfig, NS, s.id)).length === 0, { timeoutMs: 30_000, what: 'no Job, pod or Secret' });
  t.pass('no Job, pod or Secret');
});

t.test('sudo for a user without a kubeconfig: one line, exit != 0, nothing left', async (t) => {
  const r = await asSudo(['teleport'], 'nobody');
  t.not(r.code, 0);
  t.match(r.stderr, /run by sudo for nobody, but \S+ has no kubeconfig; pass --kubeconfig FILE/);
  t.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  t.equal(readFileSync(ns.hostsFile, 'utf8'), before);
});

t.test('SIGKILL of the root keeper: the session ends itself; sudo kinject cleanup removes the block', async (t) => {
  const r = await asSudo(['teleport']);
  t.equal(r.code, 0, r.stderr);
  const again = JSON.parse((await asUser(['session', 'list', '--json'])).stdout).find((x) => x.kind === 'teleport');
  const keeper = Number(status(again.pid, 'PPid'));
  process.kill(keeper, 'SIGKILL');
  await waitFor(() => !existsSync(`/proc/${again.pid}`), { timeoutMs: 30_000, what: 'the session to end without its keeper' });
  t.same(JSON.parse((await asUser(['session', 'list', '--json'])).stdout), [], 'its record is gone');
  await waitFor(async () => (await kinjectLeftovers(kubeconfig, NS, again.id)).length === 0, { timeoutMs: 30_000, what: 'no Job, pod or Secret' });
  t.match(readFileSync(ns.hostsFile, 'utf8'), new RegExp(`teleport ${again.id} begin pid ${keeper}`), 'the dead keeper’s block is still there');
  const c = await ns.run('env', ['-i', ...common, 'HOME=/root', `KUBECONFIG=${kubeconfig}`, kinjectBin, 'cleanup', '-n', NS], { timeoutMs: 120_000 });
  t.match(c.stdout, new RegExp(`removed the /etc/hosts block of dead teleport session ${again.id}`), c.stdout + c.stderr);
  t.equal(readFileSync(ns.hostsFile, 'utf8'), before, 'the hosts file as before');
});

// `sudo kinject teleport` with the REAL sudo binary, run by a non-root user, without changing the
// machine: a private mount namespace (test/helpers/hosts-namespace.js) whose /etc/hosts, passwd,
// group, shadow and sudoers are temporary files, and whose /root, /run/user, /run/sudo and /tmp
// are empty tmpfs. The user "kinjectsudo" (uid 64123, free on this machine) exists only there: its
// home (in the test's dir, mode 0700) holds a kubeconfig with its own context and default
// namespace (this file's); its login runtime dir is /run/user/64123. The sudoers file (root-owned,
// 0440, no @includedir: the machine's /etc/sudoers.d is not read) lets it run kinject (and env, for
// the guard below) without a password, with Debian's defaults (env_reset, secure_path, use_pty)
// plus env_keep for the test's hosts backup and lock paths, which would otherwise default to
// files beside the machine's real /etc/hosts. Root's kubeconfig (/root/.kube/config there) names a
// context and a server (127.0.0.1:1) that must never be used.
// Checks: the session has the user's kubeconfig, context and namespace; its process runs as the
// user, its parent (the keeper) as root and writes the block; names answer; the user lists and
// closes the session without sudo (sudo dropped XDG_RUNTIME_DIR: the record is in their
// /run/user/UID all the same); the hosts file ends byte-identical; `sudo -E` keeps KUBECONFIG and
// puts nothing of root's in the user's runtime dir; `sudo kinject teleport --no-hosts` leaves the
// hosts file alone; after a SIGKILL of the keeper, `sudo kinject cleanup` removes the block and
// root's log with the user's kubeconfig; `sudo kinject session list` and `sudo kinject teleport
// --clean` act on the user's sessions; typed in a shell on a terminal (tmux, sudo's use_pty), the
// background start and --foreground with Ctrl-C (pressed twice) work the same.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { applySample, ensureCluster, kinjectLeftovers, kubectlOk, ownNamespace } from '../helpers/cluster.js';
import { kinjectBin } from '../helpers/kinject-cli.js';
import { hostsNamespace } from '../helpers/hosts-namespace.js';
import { graceEnv } from '../helpers/session-grace.js';
import { waitFor } from '../helpers/wait.js';

t.setTimeout(600_000);
const UID = 64123;
const USER = 'kinjectsudo';
for (const db of ['passwd', 'group']) {
  let taken = true;
  try {
    execFileSync('getent', [db, String(UID)]);
  } catch {
    taken = false;
  }
  if (taken) throw new Error(`uid/gid ${UID} exists on this machine: this test needs it free`);
}
const { kubeconfig } = await ensureCluster();
const NS = await ownNamespace(t, kubeconfig, 'teleport-realsudo');
await applySample(kubeconfig, '20-hello.yaml', NS);

const keep = 'KINJECT_HOSTS_BACKUP KINJECT_HOSTS_LOCK KINJECT_SESSION_GRACE_SECONDS';
// `kinject` as a user has it: a directory on their PATH and on sudo's secure_path (say /usr/local/bin)
const binDir = (dir) => join(dir, 'bin');
const sudoers = (dir) => `# kinject test (teleport-sudo-real.test.js): Debian's defaults, and the test's hosts backup/lock
Defaults env_reset
Defaults secure_path="${binDir(dir)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
Defaults use_pty, !syslog, !lecture, !mail_badpass
Defaults env_keep += "${keep}"
root ALL=(ALL:ALL) ALL
${USER} ALL=(root) NOPASSWD:SETENV: ${kinjectBin}, /usr/bin/env
`;
const etc = (file, line) => `${readFileSync(file, 'utf8').trimEnd()}\n${line}\n`;
const ns = await hostsNamespace(t, undefined, {
  files: (dir) => ({
    '/etc/passwd': etc('/etc/passwd', `${USER}:x:${UID}:${UID}:kinject sudo test:${join(dir, 'home')}:/bin/sh`),
    '/etc/group': etc('/etc/group', `${USER}:x:${UID}:`),
    '/etc/shadow': { text: etc('/etc/shadow', `${USER}:*:20000:0:99999:7:::`), mode: 0o640 },
    '/etc/sudoers': { text: sudoers(dir), mode: 0o440 },
  }),
  tmpfs: ['/root', '/run/user', '/run/sudo', '/tmp'],
});
chmodSync(ns.dir, 0o711); // the user reaches its home in there, nothing else
const home = join(ns.dir, 'home');
mkdirSync(binDir(ns.dir));
symlinkSync(kinjectBin, join(binDir(ns.dir), 'kinject'));
mkdirSync(join(home, '.kube'), { recursive: true, mode: 0o700 });
const before = readFileSync(ns.hostsFile, 'utf8');
const inside = (path) => `/proc/${ns.holderPid}/root${path}`; // a path as the namespace sees it

/** the cluster's kubeconfig, its context renamed, with a default namespace (and another server) */
async function kubeconfigAs(file, context, namespace, server) {
  writeFileSync(file, await kubectlOk(kubeconfig, ['config', 'view', '--raw', '--flatten', '--minify']), { mode: 0o600 });
  await kubectlOk(file, ['config', 'rename-context', (await kubectlOk(file, ['config', 'current-context'])).trim(), context]);
  await kubectlOk(file, ['config', 'set-context', '--current', `--namespace=${namespace}`]);
  if (server)
    await kubectlOk(file, [
      'config',
      'set-cluster',
      (await kubectlOk(file, ['config', 'view', '-o', 'jsonpath={.clusters[0].name}'])).trim(),
      `--server=${server}`,
    ]);
}
await kubeconfigAs(join(home, '.kube', 'config'), 'kinject-sudo-user', NS);
const envConfig = join(home, 'env.kubeconfig');
await kubeconfigAs(envConfig, 'kinject-sudo-env', NS);
for (const f of [home, join(home, '.kube'), join(home, '.kube', 'config'), envConfig]) chownSync(f, UID, UID);
chmodSync(home, 0o700);
// root's own kubeconfig: should anything use it, the context is wrong and the server refuses at once
const rootConfig = join(ns.dir, 'root.kubeconfig');
await kubeconfigAs(rootConfig, 'root-not-yours', 'kinject-t-not-root', 'https://127.0.0.1:1');
const made = await ns.run('sh', [
  '-c',
  `install -d -m 700 /root/.kube && install -m 600 '${rootConfig}' /root/.kube/config && install -d -m 700 -o ${UID} -g ${UID} /run/user/${UID}`,
]);
if (made.code !== 0) throw new Error(`cannot set up the namespace: ${made.stderr}`);

const userEnv = [
  `PATH=${binDir(ns.dir)}:/usr/local/bin:/usr/bin:/bin`,
  `HOME=${home}`,
  `USER=${USER}`,
  `LOGNAME=${USER}`,
  'SHELL=/bin/sh',
  `XDG_RUNTIME_DIR=/run/user/${UID}`,
  `KINJECT_HOSTS_BACKUP=${ns.env.KINJECT_HOSTS_BACKUP}`,
  `KINJECT_HOSTS_LOCK=${ns.env.KINJECT_HOSTS_LOCK}`,
  `KINJECT_SESSION_GRACE_SECONDS=${graceEnv.KINJECT_SESSION_GRACE_SECONDS}`,
];
/** a command as the user, in a login-like env of theirs (with `more` variables) */
const asUser = (args, more = []) =>
  ns.run('env', ['-i', ...userEnv, ...more, 'setpriv', `--reuid=${UID}`, `--regid=${UID}`, '--init-groups', ...args], { timeoutMs: 180_000 });
const sessions = async () => JSON.parse((await asUser([kinjectBin, 'session', 'list', '--json'])).stdout || '[]');
const status = (pid, key) => readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s*(.*)$`, 'm'))?.[1];
const rootLogs = () => {
  try {
    return readdirSync(inside('/tmp/kinject-0')).filter((f) => /^teleport-\d+\.log$/.test(f));
  } catch {
    return [];
  }
};

// the guard, before any kinject runs as root: sudo keeps the test's hosts backup and lock paths
// (else they would be beside the machine's real /etc/hosts) and drops the user's KUBECONFIG and runtime dir
const sudoEnv = await asUser(['sudo', '-n', '/usr/bin/env'], [`KUBECONFIG=${envConfig}`]);
if (sudoEnv.code !== 0) throw new Error(`sudo -n env as ${USER} failed: ${sudoEnv.stderr}`);
for (const k of ['KINJECT_HOSTS_BACKUP', 'KINJECT_HOSTS_LOCK']) {
  if (!sudoEnv.stdout.includes(`\n${k}=${ns.dir}/`)) throw new Error(`sudo did not keep ${k}: ${sudoEnv.stdout}`);
}

t.teardown(async () => {
  await asUser([kinjectBin, 'session', 'close', '--all']);
});

t.test('sudo as configured: env_reset drops KUBECONFIG and XDG_RUNTIME_DIR, HOME is root’s', async (t) => {
  t.match(sudoEnv.stdout, /^SUDO_USER=kinjectsudo$/m);
  t.match(sudoEnv.stdout, /^HOME=\/root$/m);
  t.notMatch(sudoEnv.stdout, /^(KUBECONFIG|XDG_RUNTIME_DIR)=/m);
});

t.test("sudo kinject teleport: the user's kubeconfig and runtime dir, the session as the user, root only for the hosts file", async (t) => {
  const start = await asUser(['sudo', '-n', kinjectBin, 'teleport']);
  t.equal(start.code, 0, start.stderr);
  t.match(start.stdout, new RegExp(`^127\\.\\S+ +80 +hello hello\\.${NS} `, 'm'), "no -n: the user's kubeconfig's namespace");
  const list = await sessions();
  const s = list.find((x) => x.kind === 'teleport');
  t.ok(s, `the user's own session list (XDG_RUNTIME_DIR=/run/user/${UID}) has it: ${JSON.stringify(list)}`);
  if (!s) return;
  t.equal(s.context, 'kinject-sudo-user', "the user's context, not root's");
  t.same(s.namespaces, [NS]);
  t.ok(existsSync(inside(`/run/user/${UID}/kinject-${UID}/sessions/${s.id}.json`)), 'its record is in the user’s login runtime dir');
  t.equal(status(s.pid, 'Uid'), `${UID}\t${UID}\t${UID}\t${UID}`, 'the session process runs as the user');
  t.equal(status(s.pid, 'CapEff'), '0000000000000400', 'with CAP_NET_BIND_SERVICE only');
  const keeper = Number(status(s.pid, 'PPid'));
  t.equal(status(keeper, 'Uid').split('\t')[0], '0', 'its parent, the hosts keeper, is root');
  t.match(
    readFileSync(ns.hostsFile, 'utf8'),
    new RegExp(`^# kinject teleport ${s.id} begin pid ${keeper} [^\\n]*\\n127\\.\\S+ hello hello\\.${NS} `, 'm'),
    'the keeper wrote the block',
  );
  t.equal(rootLogs().length, 1, "the keeper's output goes to root's log");
  const curl = await asUser(['curl', '-sS', '-m', '10', 'http://hello/']);
  t.match(curl.stdout, /hello from hello-/, `the name answers (port 80): ${curl.stderr}`);

  const close = await asUser([kinjectBin, 'session', 'close', s.id]);
  t.equal(close.code, 0, `the user closes it without sudo: ${close.stderr}`);
  t.ok(
    await waitFor(() => readFileSync(ns.hostsFile, 'utf8') === before, { timeoutMs: 10_000, what: 'the block removed' }),
    'the hosts file is byte-identical',
  );
  t.same(await sessions(), [], 'no session');
  await waitFor(() => rootLogs().length === 0, { timeoutMs: 10_000, what: "root's log removed" });
  t.same(rootLogs(), [], "root's log is gone");
  await waitFor(async () => (await kinjectLeftovers(kubeconfig, NS, s.id)).length === 0, { timeoutMs: 30_000, what: 'no Job, pod or Secret' });
  t.pass('no Job, pod or Secret');
});

t.test('sudo -E kinject teleport: the KUBECONFIG sudo kept; nothing of root’s in the user’s runtime dir', async (t) => {
  const start = await asUser(['sudo', '-n', '-E', kinjectBin, 'teleport'], [`KUBECONFIG=${envConfig}`]);
  t.equal(start.code, 0, start.stderr);
  const s = (await sessions()).find((x) => x.kind === 'teleport');
  t.equal(s?.context, 'kinject-sudo-env', 'the context of $KUBECONFIG, not of ~/.kube/config');
  t.same(readdirSync(inside(`/run/user/${UID}`)), [`kinject-${UID}`], 'root kept its log out of the user’s runtime dir');
  t.equal(rootLogs().length, 1, "root's log is in root's runtime dir");
  const clean = await asUser([kinjectBin, 'teleport', '--clean']);
  t.equal(clean.code, 0, clean.stderr);
  t.ok(
    await waitFor(() => readFileSync(ns.hostsFile, 'utf8') === before, { timeoutMs: 10_000, what: 'the block removed' }),
    'the hosts file is byte-identical',
  );
  await waitFor(() => rootLogs().length === 0, { timeoutMs: 10_000, what: "root's log removed" });
});

t.test('sudo kinject teleport --no-hosts: the hosts file untouched, the session still the user’s', async (t) => {
  const start = await asUser(['sudo', '-n', kinjectBin, 'teleport', '--no-hosts']);
  t.equal(start.code, 0, start.stderr);
  const s = (await sessions()).find((x) => x.kind === 'teleport');
  t.equal(status(s.pid, 'Uid').split('\t')[0], String(UID), 'the session runs as the user');
  t.equal(readFileSync(ns.hostsFile, 'utf8'), before, 'no block');
  const address = /^(127\.\S+) +80 +hello /m.exec(start.stdout)?.[1];
  t.match(
    readFileSync(inside(s.details.hostsFormatFile), 'utf8'),
    new RegExp(`^${address?.replaceAll('.', '\\.')} hello hello\\.${NS} `, 'm'),
    'the hosts-format file',
  );
  const curl = await asUser(['curl', '-sS', '-m', '10', '--resolve', `hello:80:${address}`, 'http://hello/']);
  t.match(curl.stdout, /hello from hello-/, `its address answers: ${curl.stderr}`);
  const close = await asUser([kinjectBin, 'session', 'close', s.id]);
  t.equal(close.code, 0, close.stderr);
  t.equal(readFileSync(ns.hostsFile, 'utf8'), before);
});

t.test("SIGKILL of the root keeper: sudo kinject cleanup removes its block and root's log, with the user's kubeconfig", async (t) => {
  const start = await asUser(['sudo', '-n', kinjectBin, 'teleport']);
  t.equal(start.code, 0, start.stderr);
  const s = (await sessions()).find((x) => x.kind === 'teleport');
  const keeper = Number(status(s.pid, 'PPid'));
  process.kill(keeper, 'SIGKILL');
  await waitFor(() => !existsSync(`/proc/${s.pid}`), { timeoutMs: 30_000, what: 'the session to end without its keeper' });
  t.match(readFileSync(ns.hostsFile, 'utf8'), new RegExp(`teleport ${s.id} begin pid ${keeper}`), 'the dead keeper’s block stays');
  const [log] = rootLogs();
  t.ok(log, "and root's log");
  const c = await asUser(['sudo', '-n', kinjectBin, 'cleanup', '-n', NS]);
  t.equal(c.code, 0, `the user's kubeconfig (root's server refuses): ${c.stderr}`);
  t.match(c.stdout, new RegExp(`removed the /etc/hosts block of dead teleport session ${s.id}`));
  t.match(c.stdout, new RegExp(`removed file /tmp/kinject-0/${log}, the log of a teleport session that has ended`));
  t.equal(readFileSync(ns.hostsFile, 'utf8'), before, 'the hosts file as before');
  t.same(rootLogs(), [], "root's log is gone");
});

t.test('typed in a shell on a terminal (tmux): sudo kinject teleport, then --foreground and Ctrl-C', async (t) => {
  const sock = '/tmp/kinject-test-tmux'; // the namespace's private /tmp
  const tmux = (...args) => asUser(['tmux', '-S', sock, ...args], ['TERM=xterm-256color']);
  t.teardown(() => tmux('kill-server'));
  const started = await tmux('new-session', '-d', '-s', 'k', '-x', '200', '-y', '50', 'bash --norc --noprofile -i');
  t.equal(started.code, 0, started.stderr);
  const screen = async () => (await tmux('capture-pane', '-p', '-J', '-S', '-300', '-t', 'k')).stdout;
  const type = (...keys) => tmux('send-keys', '-t', 'k', ...keys);
  const shown = (re, what) =>
    waitFor(async () => re.exec(await screen()), { timeoutMs: 180_000, what }).catch(async (err) => {
      throw new Error(`${err.message}; the screen:\n${await screen()}`);
    });

  await type('sudo kinject teleport; echo "bg=$?"', 'Enter');
  const bg = await shown(/^bg=(\d+)$/m, 'sudo kinject teleport to return');
  t.equal(bg[1], '0', await screen());
  t.match(await screen(), /runs in the background/);
  const s = (await sessions()).find((x) => x.kind === 'teleport');
  t.equal(status(s.pid, 'Uid').split('\t')[0], String(UID), 'the session runs as the user');
  await type('curl -sS -m 10 http://hello/; kinject session list; kinject session close --all; echo "closed=$?"', 'Enter');
  t.equal((await shown(/^closed=(\d+)$/m, 'kinject session close --all'))[1], '0', await screen());
  t.match(await screen(), /hello from hello-/, 'the name answers in that shell');
  t.match(await screen(), new RegExp(`${s.id} +teleport +live`), "the user's session list has it");
  t.ok(
    await waitFor(() => readFileSync(ns.hostsFile, 'utf8') === before, { timeoutMs: 10_000, what: 'the block removed' }),
    'the hosts file is byte-identical',
  );
  await waitFor(() => rootLogs().length === 0, { timeoutMs: 10_000, what: "root's log removed" });

  await type('clear', 'Enter');
  await type('sudo kinject teleport --foreground; echo "fg=$?"', 'Enter');
  await shown(/is up; Ctrl-C ends it/, 'the foreground session to be up');
  t.match(readFileSync(ns.hostsFile, 'utf8'), /^# kinject teleport \S+ begin pid /m, 'its block is in');
  const id = (await sessions()).find((x) => x.kind === 'teleport').id;
  // twice, the second while the session closes: it still ends cleanly (once it ended with 1 and
  // left its pod, when the keeper's copy of the first came in after the session's own)
  await type('C-c');
  await new Promise((r) => setTimeout(r, 50));
  await type('C-c');
  t.equal((await shown(/^(?:\^C)?fg=(\d+)$/m, 'Ctrl-C to end it'))[1], '0', await screen()); // the terminal echoes the second ^C
  t.equal(readFileSync(ns.hostsFile, 'utf8'), before, 'the hosts file is byte-identical');
  t.same(await sessions(), [], 'no session');
  t.same(await kinjectLeftovers(kubeconfig, NS, id), [], 'its pod is gone');
});

t.test("sudo kinject session list / teleport --clean: the user's sessions, and a killed keeper's block", async (t) => {
  const start = await asUser(['sudo', '-n', kinjectBin, 'teleport']);
  t.equal(start.code, 0, start.stderr);
  const s = (await sessions()).find((x) => x.kind === 'teleport');
  const list = await asUser(['sudo', '-n', kinjectBin, 'session', 'list']);
  t.match(list.stdout, new RegExp(`^${s.id} +teleport +live `, 'm'), `sudo kinject session list shows the user's: ${list.stderr}`);
  const clean = await asUser(['sudo', '-n', kinjectBin, 'teleport', '--clean']);
  t.equal(clean.code, 0, clean.stderr);
  t.match(clean.stdout, new RegExp(`^closed teleport session ${s.id} `, 'm'), 'sudo kinject teleport --clean ends it');
  t.ok(
    await waitFor(() => readFileSync(ns.hostsFile, 'utf8') === before, { timeoutMs: 10_000, what: 'the block removed' }),
    'the hosts file is byte-identical',
  );
  t.same(await sessions(), []);

  const again = await asUser(['sudo', '-n', kinjectBin, 'teleport']);
  t.equal(again.code, 0, again.stderr);
  const s2 = (await sessions()).find((x) => x.kind === 'teleport');
  process.kill(Number(status(s2.pid, 'PPid')), 'SIGKILL');
  await waitFor(() => !existsSync(`/proc/${s2.pid}`), { timeoutMs: 30_000, what: 'the session to end without its keeper' });
  const clean2 = await asUser(['sudo', '-n', kinjectBin, 'teleport', '--clean']);
  t.equal(clean2.code, 0, clean2.stderr);
  t.match(clean2.stdout, new RegExp(`removed the /etc/hosts block of dead teleport session ${s2.id}`), 'root removed the dead keeper’s block');
  t.equal(readFileSync(ns.hostsFile, 'utf8'), before, 'the hosts file is byte-identical');
  t.same(rootLogs(), [], "and root's log");
});

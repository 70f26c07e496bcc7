// A private mount namespace whose /etc/hosts is a temporary file, for teleport tests: real
// programs in it read the temporary file as /etc/hosts, and nothing can reach the machine's real
// one. hostsNamespace(t) starts a holder process (`unshare -m` + `mount --bind FILE /etc/hosts`,
// then sleep), CHECKS that its mount namespace is not ours and that its /etc/hosts is the
// temporary file (same device and inode) before anything runs there, and returns
// { dir, hostsFile, run(cmd, args, opts), env }: run() starts a command in that namespace
// (nsenter) with env pointing kinject's backup, hosts lock and runtime directory into dir. Teardown kills the
// holder (the namespace goes with its last process) and removes dir. With { passwd } the
// namespace's /etc/passwd is a temporary file too (a user that exists only there).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readlinkSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.js';
import { repoRoot } from './repo.js';

export async function hostsNamespace(t, initialHosts = readFileSync('/etc/hosts', 'utf8'), { passwd } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kinject-teleport-'));
  const hostsFile = join(dir, 'hosts');
  writeFileSync(hostsFile, initialHosts, { mode: 0o644 });
  // { passwd }: that text is the namespace's /etc/passwd (users that exist only in there)
  const passwdFile = join(dir, 'passwd');
  if (passwd !== undefined) writeFileSync(passwdFile, passwd, { mode: 0o644 });
  const binds = `mount --bind '${hostsFile}' /etc/hosts${passwd !== undefined ? ` && mount --bind '${passwdFile}' /etc/passwd` : ''}`;
  // setpriv --pdeathsig: the holder dies with this test process, whatever ends it
  const holder = spawn(
    'setpriv',
    ['--pdeathsig', 'KILL', 'unshare', '-m', '--propagation', 'private', 'sh', '-c', `${binds} && echo ready && exec sleep 900`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  holder.stdout.on('data', (d) => (out += d));
  await waitFor(() => out.includes('ready') || holder.exitCode !== null, { timeoutMs: 10_000, what: 'the mount namespace' });
  t.teardown(() => {
    holder.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  if (!out.includes('ready')) throw new Error('unshare -m / mount --bind failed: cannot make the test namespace');
  // the guard: the holder's namespace is another one, and its /etc/hosts is our temporary file
  if (readlinkSync(`/proc/${holder.pid}/ns/mnt`) === readlinkSync('/proc/self/ns/mnt')) throw new Error('the holder shares our mount namespace');
  const inside = statSync(`/proc/${holder.pid}/root/etc/hosts`);
  const tmp = statSync(hostsFile);
  if (inside.ino !== tmp.ino || inside.dev !== tmp.dev) throw new Error("the namespace's /etc/hosts is not the temporary file");
  if (passwd !== undefined && statSync(`/proc/${holder.pid}/root/etc/passwd`).ino !== statSync(passwdFile).ino)
    throw new Error("the namespace's /etc/passwd is not the temporary file");
  // the backup and the writers' lock default to files beside /etc/hosts: the real /etc, here
  const env = { KINJECT_HOSTS_BACKUP: join(dir, 'hosts.backup'), KINJECT_HOSTS_LOCK: join(dir, 'hosts.lock'), XDG_RUNTIME_DIR: dir };
  const run = (cmd, args, { timeoutMs = 60_000, env: more, input } = {}) =>
    new Promise((resolve) => {
      const child = execFile(
        'nsenter',
        ['-t', String(holder.pid), '-m', '--', cmd, ...args],
        { cwd: repoRoot, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ...env, ...more } },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, signal: err?.signal ?? null, stdout, stderr }),
      );
      child.stdin.end(input ?? '');
    });
  return { dir, hostsFile, run, env, holderPid: holder.pid };
}

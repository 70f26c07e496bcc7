// A private mount namespace whose /etc/hosts is a temporary file, for teleport tests: real
// programs in it read the temporary file as /etc/hosts, and nothing can reach the machine's real
// one. hostsNamespace(t) starts a holder process (`unshare -m` + `mount --bind FILE /etc/hosts`,
// then sleep), CHECKS that its mount namespace is not ours and that its /etc/hosts is the
// temporary file (same device and inode) before anything runs there, and returns
// { dir, hostsFile, run(cmd, args, opts), env }: run() starts a command in that namespace
// (nsenter) with env pointing kinject's backup, hosts lock and runtime directory into dir. Teardown stops
// what still runs in the namespace (SIGTERM, SIGKILL after 20 s), kills the holder (the namespace
// goes with its last process) and removes dir. Options:
// - { passwd }: that text is the namespace's /etc/passwd (a user that exists only in there);
// - { files: {'/etc/x': text or {text, mode}} } (or a function of dir returning that): more files
//   of the namespace replaced by temporary ones (written by this process: owned by root);
// - { tmpfs: ['/root', ...] }: empty private directories in the namespace (a tmpfs on each); dir
//   itself stays visible at its path when it is inside one of them (a private /tmp).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.js';
import { repoRoot } from './repo.js';

export async function hostsNamespace(t, initialHosts = readFileSync('/etc/hosts', 'utf8'), { passwd, files = {}, tmpfs = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kinject-teleport-'));
  const hostsFile = join(dir, 'hosts');
  writeFileSync(hostsFile, initialHosts, { mode: 0o644 });
  const replaced = { ...(passwd !== undefined ? { '/etc/passwd': passwd } : {}), ...(typeof files === 'function' ? files(dir) : files) };
  const binds = [`mount --bind '${hostsFile}' /etc/hosts`];
  const boundFiles = Object.entries(replaced).map(([target, content], i) => {
    const { text, mode = 0o644 } = typeof content === 'string' ? { text: content } : content;
    const file = join(dir, `ns-file-${i}-${target.split('/').pop()}`);
    writeFileSync(file, text, { mode });
    binds.push(`mount --bind '${file}' '${target}'`);
    return { target, file };
  });
  // the checkout itself may live under a tmpfs'd dir (a CI clone in /tmp): kept through dir
  const repo = repoRoot;
  const keepRepo = tmpfs.some((d) => repo.startsWith(`${d}/`));
  if (keepRepo) binds.push(`mkdir -p '${dir}/repo'`, `mount --bind '${repo}' '${dir}/repo'`);
  for (const d of tmpfs) {
    // dir under this tmpfs: the shell's working directory stays the real dir, bound back at its path
    const hidesDir = dir.startsWith(`${d}/`);
    if (hidesDir) binds.push(`cd '${dir}'`);
    binds.push(`mount -t tmpfs -o mode=${d === '/tmp' ? '1777' : '0755'} kinject-test '${d}'`);
    if (hidesDir) binds.push(`mkdir -p '${dir}'`, `mount --no-canonicalize --rbind . '${dir}'`);
  }
  if (keepRepo) binds.push(`mkdir -p '${repo}'`, `mount --bind '${dir}/repo' '${repo}'`);
  // setpriv --pdeathsig: the holder dies with this test process, whatever ends it
  const holder = spawn(
    'setpriv',
    ['--pdeathsig', 'KILL', 'unshare', '-m', '--propagation', 'private', 'sh', '-c', `${binds.join(' && ')} && echo ready && exec sleep 900`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  holder.stdout.on('data', (d) => (out += d));
  await waitFor(() => out.includes('ready') || holder.exitCode !== null, { timeoutMs: 10_000, what: 'the mount namespace' });
  t.teardown(async () => {
    // whatever a failed test left running in the namespace (a session, a tmux server): SIGTERM, then SIGKILL
    const left = (signal) => {
      const pids = inNamespace(holder.pid);
      for (const pid of pids) {
        try {
          process.kill(pid, signal);
        } catch {
          // gone meanwhile
        }
      }
      return pids.length;
    };
    if (left('SIGTERM'))
      await waitFor(() => inNamespace(holder.pid).length === 0, { timeoutMs: 20_000, what: 'the namespace to empty' }).catch(() => left('SIGKILL'));
    holder.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  if (!out.includes('ready')) throw new Error('unshare -m / mount --bind failed: cannot make the test namespace');
  // the guard: the holder's namespace is another one, and its /etc/hosts is our temporary file
  if (readlinkSync(`/proc/${holder.pid}/ns/mnt`) === readlinkSync('/proc/self/ns/mnt')) throw new Error('the holder shares our mount namespace');
  const same = (inside, file) => {
    const a = statSync(`/proc/${holder.pid}/root${inside}`);
    const b = statSync(file);
    return a.ino === b.ino && a.dev === b.dev;
  };
  if (!same('/etc/hosts', hostsFile)) throw new Error("the namespace's /etc/hosts is not the temporary file");
  for (const { target, file } of boundFiles) if (!same(target, file)) throw new Error(`the namespace's ${target} is not the temporary file`);
  if (!same(dir, dir)) throw new Error(`the namespace does not see ${dir}`);
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
      child.stdin.on('error', () => {}); // EPIPE: the command ended without reading its input
      child.stdin.end(input ?? '');
    });
  return { dir, hostsFile, run, env, holderPid: holder.pid, file: (target) => boundFiles.find((b) => b.target === target)?.file };
}

/** The pids in the mount namespace of `holderPid`, but that one. */
function inNamespace(holderPid) {
  let mnt;
  try {
    mnt = readlinkSync(`/proc/${holderPid}/ns/mnt`);
  } catch {
    return [];
  }
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p) && Number(p) !== holderPid)
    .filter((p) => {
      try {
        return readlinkSync(`/proc/${p}/ns/mnt`) === mnt;
      } catch {
        return false;
      }
    })
    .map(Number);
}

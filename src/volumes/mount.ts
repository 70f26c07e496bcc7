// Mounts the proxy pod's SFTP export tree on the local machine with ONE sshfs process:
//   sshfs kinject@127.0.0.1:/ <mountDir> -f -p PORT -F /dev/null -o <options below>
// The in-cluster path /etc/web then appears at <mountDir>/etc/web. No root needed: sshfs mounts
// through the setuid fusermount3 helper. Linux only (it watches /proc/self/mountinfo). sshfs runs
// under `setpriv --pdeathsig TERM`, so it (and with auto_unmount, its mount) ends when kinject does.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, rmdirSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { findMount } from './mountinfo.js';
import { MOUNT_FSTYPE, ensurePrivateDir, mountRecordPath, removeMountRecord, runtimeBase, writeMountRecord } from './state.js';
import { HOST_KEY_ALIAS, SFTP_USER, knownHostsLine } from '../../protocol/ssh.js';
import { sleep } from '../util/sleep.js';
import type { Logger } from '../log.js';

export interface MountVolumesOptions {
  /** A local TCP port (on 127.0.0.1) that reaches the pod's SFTP server (a port-forward). */
  sshPort: number;
  /** The session's client private key (OpenSSH format, mode 0600: ssh refuses looser modes). */
  clientKeyPath: string;
  /** A known_hosts file with the pod's host key under the name `kinject-sftp` ... */
  knownHostsPath?: string;
  /** ... or the host public key itself (`ssh-ed25519 AAAA...`); a private temp file is written. */
  hostPublicKey?: string;
  /** The local mount root (`--mount DIR`); created if missing. Must not be a mount already. */
  mountDir: string;
  /** The in-cluster paths that are exported (for `mounts` only; sshfs mounts the whole tree). */
  exports: string[];
  log?: Partial<Logger>;
  /** sshfs executable (default: `sshfs` on PATH). */
  sshfs?: string;
  /** How long to wait for the mount to appear (default 20 000 ms). */
  readyTimeoutMs?: number;
  /** Extra `-o` options (tests). */
  extraOptions?: string[];
  /** Environment of the sshfs process (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Gives up the wait (Ctrl-C during setup): sshfs is stopped and nothing is left, as on a timeout. */
  signal?: AbortSignal;
}

export interface VolumeMounts {
  /** The local mount root (realpath of mountDir). */
  root: string;
  /** Local path of each export: root + in-cluster path. */
  mounts: string[];
  /** The sshfs process id. */
  pid: number | undefined;
  /** sshfs is still running (it ends on its own when its mount is removed) */
  sshfsRunning(): boolean;
  /** Unmounts (fusermount3 -u, then -uz); idempotent; bounded in time; never throws. */
  unmount(): Promise<void>;
  /** what unmount() would remove, for the child's guardian when kinject is SIGKILLed (child/guardian.ts) */
  leftovers: Leftovers;
}

/** Paths a session removes at its end: the guardian removes them when kinject could not. */
export interface Leftovers {
  /** directories kinject made, removed with what is in them */
  trees: string[];
  /** directories kinject made that must be empty first (a mount point: removed once unmounted) */
  emptyDirs: string[];
  /** files removed once the emptyDirs are gone (a mount's record) */
  filesAfter: string[];
}

let containSymlinksKnown: boolean | undefined;
/** Debian's sshfs has `contain_symlinks` on by default; it would reject the links transform_symlinks makes. */
function hasContainSymlinks(sshfs: string): boolean {
  if (containSymlinksKnown === undefined) {
    const r = spawnSync(sshfs, ['-h'], { encoding: 'utf8', timeout: 5000 });
    containSymlinksKnown = `${r.stdout ?? ''}${r.stderr ?? ''}`.includes('no_contain_symlinks');
  }
  return containSymlinksKnown;
}

/** The `-o` options, each with the reason it is there (docs/volumes.md repeats them). */
export function sshfsOptions(o: { clientKeyPath: string; knownHostsPath: string; noContainSymlinks: boolean }): string[] {
  return [
    // --- ssh: who we talk to and how ---
    `IdentityFile=${o.clientKeyPath}`, // the session's client key ...
    'IdentitiesOnly=yes', // ... and only it (no agent keys, no ~/.ssh/id_*)
    'PreferredAuthentications=publickey',
    'BatchMode=yes', // never prompt (no password, no host key question)
    `UserKnownHostsFile=${o.knownHostsPath}`, // the session's host key only ...
    'GlobalKnownHostsFile=/dev/null',
    `HostKeyAlias=${HOST_KEY_ALIAS}`, // ... looked up by name, whatever the local port is
    'StrictHostKeyChecking=yes', // a different host key is refused, never learned
    'ConnectTimeout=15',
    'Compression=no', // loopback + port-forward: compression only costs CPU
    // AES-GCM first: the pod's ssh2 server does it in OpenSSL (AES-NI); its chacha20-poly1305
    // is partly JS. Measured on loopback: aes128-gcm ~1.2-1.5x chacha20.
    // ('^' = put it first in the default list, OpenSSH >= 8.2; a comma list cannot go in -o.)
    'Ciphers=^aes128-gcm@openssh.com',
    'LogLevel=ERROR',
    // --- liveness ---
    'reconnect', // a dropped port-forward connection is re-established on next access
    'ServerAliveInterval=15', // notice a dead tunnel within ~45 s instead of hanging
    'ServerAliveCountMax=3',
    // --- what files look like locally ---
    'idmap=user', // the pod user's uid/gid show as the local user's
    'transform_symlinks', // absolute in-cluster symlinks become relative, so they stay in the mount
    ...(o.noContainSymlinks ? ['no_contain_symlinks'] : []), // (Debian) else those relative links are rejected; the pod server refuses escaping links itself
    // --- caching: fresh enough for files the pod changes, fast enough for builds ---
    'dcache_timeout=1', // sshfs' own name/attribute cache: 1 s instead of 20 s
    'attr_timeout=1', // kernel attribute cache: 1 s (the FUSE default, stated)
    'entry_timeout=1',
    'auto_cache', // keep cached file data across opens only while mtime and size are unchanged
    // --- speed ---
    'max_read=65536', // 64 KiB SFTP READs instead of 32 KiB (sshfs' ceiling): ~1.3-1.6x read throughput measured
    // --- lifetime ---
    'auto_unmount', // if sshfs dies, fusermount3 removes the mount (no dead "transport endpoint" left)
  ];
}

async function runBounded(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    let stderr = '';
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      resolve({ code: null, stderr: (err as Error).message });
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, stderr: err.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr: stderr.trim() });
    });
  });
}

/** ssh's messages, shortened to one line (the host key warning is a 20-line banner). */
export function summarizeSshfsError(stderr: string): string {
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/.test(stderr)) {
    return 'Host key verification failed: the SFTP server is not the one of this session';
  }
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !/^@+$/.test(l));
  return lines.slice(-3).join('; ');
}

async function rootAnswers(root: string, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(false), timeoutMs);
  });
  const probe = stat(root).then(
    (st) => st.isDirectory(),
    () => false,
  );
  const ok = await Promise.race([probe, timeout]);
  clearTimeout(timer);
  return ok;
}

export type UnmountResult = 'unmounted' | 'lazy' | 'not-mounted' | 'failed';

/**
 * Unmounts a FUSE mount: `fusermount3 -u`, retried briefly (EBUSY while a file is open), then
 * `fusermount3 -uz` (lazy: detached now, gone when the last user closes). Bounded: ~6 s at most.
 */
export async function unmountFuse(path: string, log?: Partial<Logger>): Promise<UnmountResult> {
  if (!findMount(path)) return 'not-mounted';
  const fusermount = existsOnPath('fusermount3') ? 'fusermount3' : existsOnPath('fusermount') ? 'fusermount' : 'fusermount3';
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await runBounded(fusermount, ['-u', path], 2000);
    if (!findMount(path)) return 'unmounted';
    last = r.stderr;
    await sleep(150 * (attempt + 1));
  }
  log?.debug?.(`${fusermount} -u ${path} failed (${last || 'still mounted'}); unmounting lazily`);
  const r = await runBounded(fusermount, ['-uz', path], 2000);
  if (!findMount(path)) return 'lazy';
  log?.warn?.(`could not unmount ${path}: ${r.stderr || last || 'still mounted'} (try: fusermount3 -uz ${path})`);
  return 'failed';
}

export function existsOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  for (const dir of (env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

/**
 * mkdir -p, one level at a time: Node's mkdirSync(..., { recursive: true }) never returns for a
 * place where mkdir says ENOENT although the parent exists (e.g. /proc/x: it spins at 100% CPU,
 * found by the chaos suite's bad inputs); here that is an error naming the directory.
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = posix.resolve(dir); !existsSync(d); d = posix.dirname(d)) {
    missing.unshift(d);
    if (d === posix.dirname(d)) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d, { mode: 0o700 });
    } catch (err) {
      throw new Error(`cannot create ${d}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
}

function isExecutable(p: string): boolean {
  try {
    const st = statSync(p);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

export async function mountVolumes(options: MountVolumesOptions): Promise<VolumeMounts> {
  const log = options.log ?? {};
  const env = options.env ?? process.env;
  if (process.platform !== 'linux') throw new Error(`mounting volumes is implemented for Linux only (this is ${process.platform})`);
  const sshfs = options.sshfs ?? existsOnPath('sshfs', env) ?? 'sshfs';
  if (!Number.isInteger(options.sshPort) || options.sshPort <= 0 || options.sshPort > 65535) {
    throw new Error(`bad SFTP port ${options.sshPort}`);
  }
  for (const p of [options.clientKeyPath, options.knownHostsPath ?? '', options.mountDir]) {
    // sshfs splits -o on commas; ssh config values with spaces need quoting we do not do.
    if (/[,\s]/.test(p)) throw new Error(`cannot use a path with a comma or whitespace with sshfs: ${JSON.stringify(p)}`);
  }
  const keyMode = statSync(options.clientKeyPath).mode & 0o777;
  if (keyMode & 0o077) throw new Error(`${options.clientKeyPath} has mode ${keyMode.toString(8)}; ssh wants 600`);

  // The default place (${XDG_RUNTIME_DIR:-/tmp}/kinject-<uid>/<session>): its parent must be
  // the user's own private directory, not one someone else created in /tmp first.
  const base = runtimeBase(env);
  if (posix.dirname(posix.resolve(options.mountDir)) === base) ensurePrivateDir(base);
  let createdDir = false;
  if (!existsSync(options.mountDir)) {
    makeDirs(options.mountDir);
    createdDir = true;
  }
  const root = realpathSync(options.mountDir);
  if (findMount(root)) throw new Error(`${root} is already a mount point (a leftover? try: kinject cleanup)`);

  let tempDir: string | undefined;
  let knownHosts = options.knownHostsPath;
  if (!knownHosts) {
    if (!options.hostPublicKey) throw new Error('mountVolumes needs knownHostsPath or hostPublicKey');
    let line: string;
    try {
      line = knownHostsLine(options.hostPublicKey);
    } catch {
      throw new Error('hostPublicKey is not an OpenSSH public key line');
    }
    tempDir = mkdtempSync(join(tmpdir(), 'kinject-kh-'));
    knownHosts = join(tempDir, 'known_hosts');
    writeFileSync(knownHosts, line, { mode: 0o600 });
  }

  const opts = [
    ...sshfsOptions({ clientKeyPath: options.clientKeyPath, knownHostsPath: knownHosts, noContainSymlinks: hasContainSymlinks(sshfs) }),
    ...(options.extraOptions ?? []),
  ];
  const args = [`${SFTP_USER}@127.0.0.1:/`, root, '-f', '-p', String(options.sshPort), '-F', '/dev/null', '-o', opts.join(',')];
  log.debug?.(`volumes: ${sshfs} ${args.join(' ')}`);

  // Own process group: a Ctrl-C meant for the user's command must not take the mount away first.
  // Dies with kinject: sshfs' ssh goes through kinject's local port, and with `reconnect` sshfs
  // outlives a dead kinject (it only tries again, and fails, on the next file access). So it runs
  // under `setpriv --pdeathsig TERM` (util-linux): the kernel sends it SIGTERM when kinject exits,
  // even by SIGKILL; sshfs then unmounts (auto_unmount covers a busy or dead mount).
  const setpriv = existsOnPath('setpriv', env);
  const [cmd, cmdArgs] = setpriv ? [setpriv, ['--pdeathsig', 'TERM', sshfs, ...args]] : [sshfs, args];
  if (!setpriv) log.debug?.('volumes: no setpriv on PATH: if kinject is killed with SIGKILL, the mount stays until `kinject cleanup`');
  const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'ignore', 'pipe'], detached: true, env });
  let stderr = '';
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
    child.on('error', (err) => {
      spawnError = err;
      exited = { code: null, signal: null };
      resolve();
    });
  });
  child.stderr?.on('data', (d: Buffer) => {
    const text = d.toString();
    if (stderr.length < 8192) stderr += text;
    for (const line of text.split('\n')) if (line.trim()) log.debug?.(`sshfs: ${line.trim()}`);
  });

  const cleanupLocal = () => {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    removeMountRecord(root, env);
    if (createdDir) {
      try {
        rmdirSync(root);
      } catch {
        /* not empty or still busy: leave it */
      }
    }
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  for (;;) {
    // an abort wins over a mount that came up meanwhile: checked first, on every round
    const aborted = options.signal?.aborted === true;
    const m = aborted ? undefined : findMount(root);
    // sshfs puts the mount in place before the SSH login has finished (a refused key shows up
    // as a mount that then disappears): live means mounted AND the root answers a stat.
    if (m && m.fsType === MOUNT_FSTYPE && !exited && (await rootAnswers(root, 5000))) break;
    if (exited && !aborted) {
      cleanupLocal();
      const why = spawnError ? spawnError.message : summarizeSshfsError(stderr) || `sshfs exited with ${exited.code ?? exited.signal}`;
      throw new Error(`mounting the volumes failed: ${why}`);
    }
    if (aborted || Date.now() > deadline) {
      child.kill('SIGTERM');
      await Promise.race([exitPromise, sleep(2000)]);
      if (!exited) child.kill('SIGKILL');
      await unmountFuse(root, log);
      cleanupLocal();
      if (aborted) throw new Error('mounting the volumes was interrupted');
      throw new Error(`mounting the volumes timed out${stderr.trim() ? `: ${summarizeSshfsError(stderr)}` : ''}`);
    }
    await sleep(50);
  }
  try {
    writeMountRecord({ pid: process.pid, sshfsPid: child.pid, mountDir: root, createdAt: new Date().toISOString() }, env);
  } catch (err) {
    log.debug?.(`volumes: cannot record the mount: ${(err as Error).message}`);
  }

  let unmounting: Promise<void> | undefined;
  const unmount = () => {
    unmounting ??= (async () => {
      await unmountFuse(root, log);
      // sshfs exits once its mount is gone; make sure within a bound.
      if (!exited) await Promise.race([exitPromise, sleep(2000)]);
      if (!exited) {
        child.kill('SIGTERM');
        await Promise.race([exitPromise, sleep(1000)]);
      }
      if (!exited) child.kill('SIGKILL');
      cleanupLocal();
    })().catch((err) => log.warn?.(`volumes: unmount: ${(err as Error).message}`));
    return unmounting;
  };

  const mounts = options.exports.map((p) => join(root, posix.normalize(`/${p}`)));
  const leftovers: Leftovers = { trees: tempDir ? [tempDir] : [], emptyDirs: createdDir ? [root] : [], filesAfter: [mountRecordPath(root, env)] };
  return { root, mounts, pid: child.pid, unmount, leftovers, sshfsRunning: () => !exited };
}

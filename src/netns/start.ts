// Starts the user's command for `--method netns`: a fresh user + network + mount namespace (no
// root, no setuid helper) whose only way out is slirp4netns with the shim preloaded. Order:
// unshare runs the launcher script (launcher-script.ts), which reports "ns" on fd 3 once the
// namespace exists; slirp4netns attaches to that pid and configures tap0 + loopback; kinject writes
// "go" back and the script execs the command in a nested namespace with the user's own uid/gid.
// The command is started under `setpriv --pdeathsig KILL`, kept through the execs (same uid), so a
// SIGKILL of kinject takes the command, and with it the namespace, along.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KinjectError } from '../errors.js';
import { resolveOnPath } from '../child/binary-check.js';
import { LAUNCHER_SCRIPT } from './launcher-script.js';
import type { NetnsTools } from './preflight.js';
import { startSlirp, type Slirp } from './slirp.js';

/** slirp4netns's DNS forwarder, the namespace's only nameserver */
export const NETNS_NAMESERVER = '10.0.2.3';
const HANDSHAKE_TIMEOUT_MS = 30_000;

export interface NetnsChildOptions {
  tools: NetnsTools;
  /** the command's environment (no shim) */
  env: NodeJS.ProcessEnv;
  /** the shim's environment, for slirp4netns */
  slirpEnv: NodeJS.ProcessEnv;
  hostLoopback: boolean;
  /** in-cluster path -> local directory, bind-mounted where the in-cluster path is a directory already */
  volumes: { path: string; local: string }[];
  debug?: (msg: string) => void;
}

export interface NetnsChild {
  child: ChildProcess;
  /** ends slirp4netns and removes the namespace's files; after the child has exited */
  stop(): Promise<void>;
}

/** which volumes can be at their in-cluster path in the namespace: those whose directory exists */
export function volumesInPlace(volumes: { path: string; local: string }[]): { inPlace: typeof volumes; elsewhere: typeof volumes } {
  const isDir = (p: string) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  };
  const inPlace = volumes.filter((v) => isDir(v.path));
  return { inPlace, elsewhere: volumes.filter((v) => !inPlace.includes(v)) };
}

export async function startNetnsChild(command: string, args: string[], options: NetnsChildOptions): Promise<NetnsChild> {
  if (resolveOnPath(command, options.env.PATH) === undefined || (command.includes('/') && !existsSync(command))) {
    throw new KinjectError(`command not found: ${command} (check its name and your PATH)`, { exitCode: 127 });
  }
  const mount = resolveOnPath('mount', options.env.PATH) ?? '/bin/mount';
  const dir = mkdtempSync(join(tmpdir(), 'kinject-netns-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const resolv = join(dir, 'resolv.conf');
  writeFileSync(resolv, `# kinject --method netns: slirp4netns forwards to the cluster's DNS\nnameserver ${NETNS_NAMESERVER}\n`, { mode: 0o644 });
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const volumeArgs = options.volumes.flatMap((v) => [v.local, v.path]);
  const child = spawn(
    options.tools.setpriv,
    [
      '--pdeathsig',
      'KILL',
      options.tools.unshare,
      '--user',
      '--map-root-user',
      '--net',
      '--mount',
      '--',
      '/bin/sh',
      '-c',
      LAUNCHER_SCRIPT,
      'kinject-netns',
      options.tools.unshare,
      mount,
      String(uid),
      String(gid),
      resolv,
      ...volumeArgs,
      '--',
      command,
      ...args,
    ],
    { stdio: ['inherit', 'inherit', 'inherit', 'pipe'], env: options.env },
  );
  let slirp: Slirp | undefined;
  try {
    await handshake(child, 'ns');
    slirp = await startSlirp({
      tools: options.tools,
      pid: child.pid as number,
      env: options.slirpEnv,
      hostLoopback: options.hostLoopback,
      debug: options.debug,
    });
    (child.stdio[3] as Duplex).end('go\n');
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await slirp?.stop();
    removeDir();
    throw err;
  }
  return {
    child,
    stop: async () => {
      await slirp?.stop();
      removeDir();
    },
  };
}

function handshake(child: ChildProcess, word: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = '';
    const timer = setTimeout(
      () => reject(new KinjectError(`--method netns: the namespace was not ready within ${HANDSHAKE_TIMEOUT_MS / 1000} s`)),
      HANDSHAKE_TIMEOUT_MS,
    );
    const finish = (err?: Error) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stdio[3]?.off('data', onData);
      if (err) reject(err);
      else resolve();
    };
    const onData = (d: Buffer) => {
      got += d.toString();
      if (got.includes(`${word}\n`)) finish();
    };
    const onExit = (code: number | null, signal: string | null) =>
      finish(new KinjectError(`--method netns: the namespace could not be set up (${signal ?? `exit ${code}`}; see the line above)`));
    child.once('error', (err) => finish(new KinjectError(`--method netns: cannot start unshare: ${err.message}`)));
    child.on('exit', onExit);
    child.stdio[3]?.on('data', onData);
  });
}

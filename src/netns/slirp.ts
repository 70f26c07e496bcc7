// slirp4netns, the user-space TCP/IP stack of the namespace: it runs on the host side with the
// shim preloaded, so the connections (and the DNS datagrams of its 10.0.2.3 forwarder) it makes for
// the namespace's packets go through kinject's front like any program's. Started under
// `setpriv --pdeathsig KILL` so it ends with kinject even after a SIGKILL; kinject waits for its
// ready fd (tap0 configured, loopback up) before the command runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { KinjectError } from '../errors.js';
import type { NetnsTools } from './preflight.js';

const READY_TIMEOUT_MS = 30_000;

export interface Slirp {
  stop(): Promise<void>;
}

export interface SlirpOptions {
  tools: NetnsTools;
  /** a process inside the network namespace */
  pid: number;
  /** the shim's environment (LD_PRELOAD, KINJECT_SOCKS, KINJECT_DNS...) */
  env: NodeJS.ProcessEnv;
  /** let 10.0.2.2 reach the host's loopback (--host-loopback) */
  hostLoopback: boolean;
  debug?: (msg: string) => void;
}

export async function startSlirp({ tools, pid, env, hostLoopback, debug }: SlirpOptions): Promise<Slirp> {
  const args = ['--configure', '--mtu=65520', '--ready-fd=3', ...(hostLoopback ? [] : ['--disable-host-loopback']), String(pid), 'tap0'];
  const child = spawn(tools.setpriv, ['--pdeathsig', 'KILL', tools.slirp4netns, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env });
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
    for (const line of d.toString().split('\n')) if (line.trim()) debug?.(`slirp4netns: ${line}`);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitReady(child);
  } catch (err) {
    await kill(child, exited);
    const last = output.trim().split('\n').pop();
    throw new KinjectError(`--method netns: slirp4netns did not come up (${(err as Error).message}${last ? `; it said: ${last}` : ''})`);
  }
  child.stdio[3]?.destroy();
  return { stop: () => kill(child, exited) };
}

function waitReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready signal within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
    const done = (err?: Error) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    child.stdio[3]?.once('data', () => done());
    child.once('error', (err) => done(err));
    child.once('exit', (code, signal) => done(new Error(`it exited: ${signal ?? `code ${code}`}`)));
  });
}

async function kill(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

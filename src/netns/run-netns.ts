// The `kinject run --method netns` part of the runner: the command's environment without the shim,
// the volumes that can be at their in-cluster paths, and the namespace started with slirp4netns
// (start.ts), its teardown on the cleanup stack.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { shimLibrary } from '../paths.js';
import type { CleanupStack } from '../child/cleanup-stack.js';
import type { Logger } from '../log.js';
import type { NetnsTools } from './preflight.js';
import { startNetnsChild, volumesInPlace } from './start.js';

export interface NetnsRun {
  tools: NetnsTools;
  command: string;
  args: string[];
  /** the merged environment (local + workload), before the shim's variables */
  env: NodeJS.ProcessEnv;
  /** the shim's environment, for slirp4netns */
  shimEnv: NodeJS.ProcessEnv;
  hostLoopback: boolean;
  volumes?: { root: string; mounts: string };
  cleanup: CleanupStack;
  log: Logger;
}

export async function startNetnsRun(run: NetnsRun): Promise<ChildProcess> {
  const env = withoutShim(run.env);
  let volumes: { path: string; local: string }[] = [];
  if (run.volumes) {
    env.KINJECT_ROOT = run.volumes.root;
    env.KINJECT_MOUNTS = run.volumes.mounts;
    const all = run.volumes.mounts
      .split(':')
      .filter(Boolean)
      .map((path) => ({ path, local: join(run.volumes?.root ?? '', path) }));
    const { inPlace, elsewhere } = volumesInPlace(all);
    volumes = inPlace;
    if (inPlace.length > 0) run.log.info(`netns: volumes at their in-cluster paths: ${inPlace.map((v) => v.path).join(', ')}`);
    if (elsewhere.length > 0) {
      run.log.info(`netns: only under $KINJECT_ROOT (no such directory on this machine to mount over): ${elsewhere.map((v) => v.path).join(', ')}`);
    }
  }
  const started = await startNetnsChild(run.command, run.args, {
    tools: run.tools,
    env,
    slirpEnv: run.shimEnv,
    hostLoopback: run.hostLoopback,
    volumes,
    debug: run.log.debug,
  });
  run.cleanup.add('network namespace', () => started.stop());
  return started.child;
}

/** the command gets no shim: inside the namespace the front's loopback address does not exist */
function withoutShim(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) if (!key.startsWith('KINJECT_')) env[key] = value;
  const preload = (base.LD_PRELOAD ?? '').split(/[ :]/).filter((p) => p && p !== shimLibrary);
  if (preload.length > 0) env.LD_PRELOAD = preload.join(':');
  else delete env.LD_PRELOAD;
  return env;
}

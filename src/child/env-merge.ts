// How the workload's env and the local env combine for the child. With precedence "cluster" (the
// default) the workload's value wins where both have a variable; with "local" the local value
// wins. Variables that only the local machine has (PATH, HOME, ...) are always kept: the workload
// env never carries them (see kube/env.ts).
import { writeFileSync } from 'node:fs';
import { toDotenv, toJson, type Env } from '../kube/env.js';
import { KinjectError } from '../errors.js';

export type EnvPrecedence = 'cluster' | 'local';

export function mergeEnv(local: NodeJS.ProcessEnv, workload: Env | undefined, precedence: EnvPrecedence): NodeJS.ProcessEnv {
  if (!workload) return { ...local };
  return precedence === 'cluster' ? { ...local, ...workload } : { ...workload, ...local };
}

export function writeEnvFiles(env: Env, files: { dotenv?: string; json?: string }): void {
  const write = (file: string, text: string, flag: string) => {
    try {
      writeFileSync(file, text, { mode: 0o600 });
    } catch (err) {
      throw new KinjectError(`cannot write ${flag} ${file}: ${(err as Error).message}`);
    }
  };
  if (files.dotenv) write(files.dotenv, toDotenv(env), '--env-file');
  if (files.json) write(files.json, toJson(env), '--env-json');
}

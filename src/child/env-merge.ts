// How the workload's env and the local env combine for the child. With precedence "cluster" (the
// default) the workload's value wins where both have a variable; with "local" the local value
// wins. Variables that only the local machine has (PATH, HOME, ...) are always kept: the workload
// env never carries them (see kube/env.ts). writeEnvFiles writes --env-file / --env-json.
import { writeFileSync } from 'node:fs';
import type { Env } from '../kube/env.js';
import { formatEnvFile, skippedWarning, type EnvSyntax } from '../env-file/index.js';
import { KinjectError } from '../errors.js';

export type EnvPrecedence = 'cluster' | 'local';

export function mergeEnv(local: NodeJS.ProcessEnv, workload: Env | undefined, precedence: EnvPrecedence): NodeJS.ProcessEnv {
  if (!workload) return { ...local };
  return precedence === 'cluster' ? { ...local, ...workload } : { ...workload, ...local };
}

/**
 * Writes --env-file (in `files.syntax`, default dotenv) and --env-json, mode 0600. Returns the one
 * warning line naming the variables the syntax could not carry (they are comments in the file).
 */
export function writeEnvFiles(env: Env, files: { envFile?: string; syntax?: EnvSyntax; json?: string }): string | undefined {
  const write = (file: string, text: string, flag: string) => {
    try {
      writeFileSync(file, text, { mode: 0o600 });
    } catch (err) {
      throw new KinjectError(`cannot write ${flag} ${file}: ${(err as Error).message}`);
    }
  };
  let warning: string | undefined;
  if (files.envFile) {
    const syntax = files.syntax ?? 'dotenv';
    const written = formatEnvFile(env, syntax);
    write(files.envFile, written.text, '--env-file');
    warning = skippedWarning(written, syntax, `--env-file ${files.envFile}`);
  }
  if (files.json) write(files.json, formatEnvFile(env, 'json').text, '--env-json');
  return warning;
}

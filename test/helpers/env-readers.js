// The real readers of env files, each returning the variables it reads from FILE as an object:
// npm dotenv (v16, v17, v18 and v18's fast parser), `node --env-file`, python-dotenv (Debian's python3-dotenv, run
// with /usr/bin/python3, as load_dotenv/dotenv_values read it: interpolation on), bash and dash
// (`set -a; . FILE`), docker compose's env_file parser (compose-go's dotenv package, built from
// test/helpers/compose-dotenv with go) and JSON.parse. Every program has a hard timeout.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { repoRoot } from './cluster.js';

const require = createRequire(import.meta.url);
const dotenvs = { 'dotenv@18': require('dotenv'), 'dotenv@17': require('dotenv17'), 'dotenv@16': require('dotenv16') };

// stdin is /dev/null: bash reads ~/.bashrc when its stdin is a socket (it takes that for sshd)
function run(file, args, { env, timeoutMs = 60_000, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, cwd, timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${file} ${args.join(' ')} failed (${signal ? `${signal}, timeout ${timeoutMs} ms` : `exit ${code}`}): ${stderr.trim()}`));
    });
  });
}

/** npm dotenv's parse() of each version (and v18's fast parser): { 'dotenv@18': env, ... }. */
export function readNpmDotenv(file) {
  const text = readFileSync(file);
  const out = {};
  for (const [name, dotenv] of Object.entries(dotenvs)) out[name] = dotenv.parse(text);
  out['dotenv@18 fast'] = dotenvs['dotenv@18'].parse(text, { fast: true });
  return out;
}

/** Node's own `node --env-file=FILE` (the node running the tests). */
export async function readNodeEnvFile(file) {
  return JSON.parse(await run('env', ['-i', process.execPath, `--env-file=${file}`, '-e', 'process.stdout.write(JSON.stringify(process.env))']));
}

export async function readPythonDotenv(file) {
  const script = 'import dotenv, json, sys; sys.stdout.write(json.dumps(dotenv.dotenv_values(sys.argv[1])))';
  // Debian's python3-dotenv (scripts/setup-host.sh), not whatever python3 comes first on PATH
  return JSON.parse(await run('env', ['-i', 'HOME=/nonexistent', '/usr/bin/python3', '-c', script, file]));
}

/** `set -a; . FILE` in `shell` (bash or dash), then the process env as node sees it. */
export async function readShell(shell, file) {
  const script = `set -a; . "$1"; exec "$2" -e 'process.stdout.write(JSON.stringify(process.env))'`;
  // env -i: not even what the test runner adds to every child's env (NODE_OPTIONS, ...)
  const read = JSON.parse(await run('env', ['-i', shell, '-c', script, shell, file, process.execPath]));
  for (const k of ['PWD', 'OLDPWD', 'SHLVL', '_']) delete read[k]; // the shell's own
  return read;
}

/**
 * docker compose's env_file parser: builds test/helpers/compose-dotenv (go, modules from the Go
 * module proxy) into `dir` (the caller removes it) and returns a reader of files.
 */
export async function composeReader(dir) {
  const binary = join(dir, 'compose-dotenv');
  // go from PATH, else where the Go toolchain installs itself
  const go = [...(process.env.PATH ?? '').split(':').map((d) => join(d, 'go')), '/usr/local/go/bin/go'].find((f) => existsSync(f));
  if (!go) throw new Error('the compose env-file test needs go (the Go toolchain) to build test/helpers/compose-dotenv: install it, or put it on PATH');
  await run(go, ['build', '-o', binary, '.'], { cwd: join(repoRoot, 'test', 'helpers', 'compose-dotenv'), env: process.env, timeoutMs: 600_000 });
  return async (file) => JSON.parse(await run(binary, [file]));
}

export function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

// `kinject completion bash|zsh|fish`: the generated scripts, loaded into the real shells, complete
// subcommands, flags, flag choices and (bash) commands after `--`; zsh loads the script and
// registers it; an unknown shell is a usage error.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kinjectBin } from '../../../../test/helpers/kinject-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'kinject-completion-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const run = (cmd, args, env = {}) =>
  new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000, env: { PATH: process.env.PATH, HOME: dir, ZDOTDIR: dir, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, stdout, stderr }),
    );
  });
const script = async (shell) => {
  const r = await run(kinjectBin, ['completion', shell]);
  t.equal(r.code, 0, r.stderr);
  const file = join(dir, `kinject.${shell}`);
  writeFileSync(file, r.stdout);
  return file;
};

t.test('bash', async (t) => {
  const file = await script('bash');
  const complete = async (...words) => {
    const r = await run('bash', [
      '-c',
      `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _kinject; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ]);
    t.equal(r.code, 0, r.stderr);
    return r.stdout.trim().split('\n').filter(Boolean);
  };
  t.same(await complete('kinject', 'ru'), ['run']);
  t.same((await complete('kinject', '')).slice(0, 8), ['run', 'env', 'cleanup', 'session', 'version', 'config', 'completion', 'proxy-server']);
  t.same(await complete('kinject', 'run', '--env-p'), ['--env-precedence']);
  t.same(await complete('kinject', 'run', '--env-precedence', ''), ['cluster', 'local']);
  t.same(await complete('kinject', 'env', '--format', ''), ['dotenv', 'compose', 'sh', 'json']);
  t.same(await complete('kinject', 'completion', ''), ['bash', 'zsh', 'fish', '--help']);
  t.same(await complete('kinject', 'run', '-n', 'shop', '--', 'bas'), await complete('kinject', 'run', '--', 'bas'), 'after --: commands');
  t.ok((await complete('kinject', 'run', '--', 'bas')).includes('bash'));
  t.same(await complete('kinject', 'run', '--target', ''), [], 'no guessing for a workload');
});

t.test('fish', async (t) => {
  const file = await script('fish');
  const complete = async (line) => {
    const r = await run('fish', ['-c', `source ${file}; complete -C '${line}'`]);
    t.equal(r.code, 0, r.stderr);
    return r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t')[0]);
  };
  t.same(await complete('kinject ru'), ['run']);
  t.same(await complete('kinject run --env-precedence '), ['cluster', 'local']);
  t.ok((await complete('kubectl-kinject run --ti')).includes('--timeout'), 'the kubectl plugin too');
});

t.test('zsh loads it and registers kinject and kubectl-kinject', async (t) => {
  const file = await script('zsh');
  const r = await run('zsh', ['-c', `source ${file} && complete -p`]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /complete -F _kinject kinject\n/);
  t.match(r.stdout, /complete -F _kinject kubectl-kinject\n/);
});

t.test('an unknown shell', async (t) => {
  const r = await run(kinjectBin, ['completion', 'ksh']);
  t.equal(r.code, 2);
  t.match(r.stderr, /^kinject: .*'ksh' is invalid .* bash, zsh, fish\. \(see --help\)\n$/);
});

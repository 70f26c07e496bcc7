// The env-file writers (src/env-file/) against the real readers: each syntax is written to a file
// and read back by the programs people use on it — npm dotenv (v16, v17, v18, v18 fast), node --env-file,
// python-dotenv, bash and dash (`set -a; . FILE`), docker compose's env_file parser (compose-go,
// built with go), JSON.parse — and must give back every value byte for byte, or, where the syntax
// cannot carry a value, a comment naming the key (never a changed value) and one warning line;
// and the command line's usage errors for --env-syntax.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEnvFile, skippedWarning, quoteDotenv } from '../../../../dist/src/env-file/index.js';
import { TRICKY_ENV, DOTENV_UNCARRIABLE, randomValues } from '../../../../test/helpers/env-values.js';
import { composeReader, readJson, readNodeEnvFile, readNpmDotenv, readPythonDotenv, readShell } from '../../../../test/helpers/env-readers.js';
import { repoRoot } from '../../../../test/helpers/repo.js';

const require = createRequire(import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'kinject-env-file-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const SH_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RANDOM = randomValues(400);
const ALL = { ...TRICKY_ENV, ...DOTENV_UNCARRIABLE, ...RANDOM };

function write(syntax, env, name = syntax) {
  const written = formatEnvFile(env, syntax);
  const file = join(dir, `${name}.env`);
  writeFileSync(file, written.text);
  return { file, written };
}

/** Every key of `env` not skipped reads back exactly; skipped keys are absent; nothing else appears. */
function sameAsWritten(t, read, env, skipped, reader, { only = () => true } = {}) {
  for (const [key, value] of Object.entries(env)) {
    if (skipped.includes(key)) t.notOk(key in read, `${reader}: skipped ${key} is not read`);
    else if (only(key, value) && read[key] !== value) t.equal(read[key], value, `${reader}: ${key} = ${JSON.stringify(value)}`);
  }
  const extra = Object.keys(read).filter((k) => !(k in env));
  t.same(extra, [], `${reader}: reads no variable that was not written`);
}

t.test('dotenv: every npm dotenv parser reads every value back; the rest are comments', async (t) => {
  const { file, written } = write('dotenv', ALL);
  t.same(
    written.skipped.filter((k) => k in TRICKY_ENV),
    [],
    'every tricky value is written',
  );
  for (const key of Object.keys(DOTENV_UNCARRIABLE)) t.ok(written.skipped.includes(key), `${key} is skipped`);
  for (const [reader, read] of Object.entries(readNpmDotenv(file))) sameAsWritten(t, read, ALL, written.skipped, reader);
  t.notMatch(written.text, 'C:\\new', 'a skipped value does not leak into the comment');
  t.match(written.text, /^# "ALL_QUOTES_HASH" not written: no dotenv quoting carries its value exactly$/m);
  const warning = skippedWarning(written, 'dotenv', '--env-file x.env');
  t.equal(warning.split('\n').length, 1, 'one warning line');
  t.match(
    warning,
    /^warning: --env-file x\.env: \d+ variables not written .*--env-json carries everything\): ALL_QUOTES_BACKSLASH_N, ALL_QUOTES_HASH, CR_QUOTE_HASH, QUOTE_BACKTICK_ENDS_IN_BACKSLASH, R/,
  );
  t.equal(skippedWarning(formatEnvFile(TRICKY_ENV, 'dotenv'), 'dotenv', 'x'), undefined, 'no warning when all is written');
  t.equal(
    skippedWarning(formatEnvFile({ 'a.b': 'x' }, 'sh'), 'sh', 'kinject env', '--format json'),
    'warning: kinject env: 1 variable not written (the sh syntax cannot carry it exactly; it is written as a comment, --format json carries everything): a.b',
  );
});

t.test('dotenv: what it skips, no quoting or bare form carries whatever follows (it is not skipped needlessly)', async (t) => {
  const { written } = write('dotenv', ALL);
  t.ok(written.skipped.length > 10, `${written.skipped.length} skipped values to check`);
  const parsers = [require('dotenv'), require('dotenv16'), require('dotenv17')];
  const esc = (v) => v.replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  for (const key of written.skipped) {
    const value = ALL[key];
    for (const form of [`'${value}'`, `"${value}"`, `"${esc(value)}"`, `\`${value}\``, value, `'${esc(value)}'`]) {
      for (const p of parsers) {
        // a form carries the value only if it does so whatever line comes next
        const next = ['', "L='after'\n", "L='\nx'\n", 'L="\nx"\n', 'L=`\nx`\n', "L='x\n'\n"];
        if (next.every((line) => p.parse(`K=${form}\n${line}`).K === value))
          t.fail(`${key}: ${JSON.stringify(form)} would have carried ${JSON.stringify(value)}`);
      }
    }
  }
  t.equal(quoteDotenv('plain'), "'plain'");
  t.equal(quoteDotenv("it's"), `"it's"`);
  t.equal(quoteDotenv(`it's "x"`), '`it\'s "x"`');
  t.equal(quoteDotenv('a\r\nb'), '"a\\r\\nb"');
  t.equal(quoteDotenv('C:\\dir\\'), 'C:\\dir\\');
  t.equal(quoteDotenv(TRICKY_ENV.ALL_QUOTES_MULTI_LINE), '"it\'s "a" `b`\\nline two"', 'inner " kept by dotenv\'s one-line fallback');
  t.equal(quoteDotenv(DOTENV_UNCARRIABLE.ALL_QUOTES_HASH), undefined);
});

t.test('dotenv: python-dotenv reads the same values, but for \\, ${ and " with \' or CR', async (t) => {
  const { file, written } = write('dotenv', TRICKY_ENV, 'dotenv-python');
  const read = await readPythonDotenv(file);
  const portable = (key, value) => !/\\|\$\{/.test(value) && !(/['\r]/.test(value) && value.includes('"'));
  const checked = Object.entries(TRICKY_ENV).filter(([k, v]) => portable(k, v));
  t.ok(checked.length >= 15, `${checked.length} portable values`);
  for (const [key, value] of checked) t.equal(read[key], value, `python-dotenv: ${key}`);
  t.same(written.skipped, []);
});

t.test('dotenv: node --env-file reads the same values, but for CR and values quoted with a quote they hold', async (t) => {
  const { file, written } = write('dotenv', { ...TRICKY_ENV, ...RANDOM }, 'dotenv-node');
  const read = await readNodeEnvFile(file);
  const env = { ...TRICKY_ENV, ...RANDOM };
  const sameForNode = (key, value) => {
    const quoted = quoteDotenv(value);
    return !value.includes('\r') && !(/^['"`]/.test(quoted) && value.includes(quoted[0]));
  };
  const checked = Object.keys(env).filter((k) => !written.skipped.includes(k) && sameForNode(k, env[k]));
  t.ok(checked.length > 300, `${checked.length} values node reads the same`);
  for (const k of checked) if (read[k] !== env[k]) t.equal(read[k], env[k], `node --env-file: ${k} = ${JSON.stringify(env[k])}`);
});

t.test("compose: docker compose's env_file parser reads every value back", async (t) => {
  const read = await composeReader(dir);
  const { file, written } = write('compose', ALL);
  t.same(written.skipped, [], 'compose carries every value');
  sameAsWritten(t, await read(file), ALL, [], 'compose-go dotenv');
  const bad = write('compose', { 'bad key': 'x', 'ok[0]': 'y' }, 'compose-keys');
  t.same(bad.written.skipped, ['bad key'], 'a key compose refuses is a comment (compose would refuse the whole file)');
  t.same(await read(bad.file), { 'ok[0]': 'y' });
});

t.test('sh: bash and dash sourcing the file with set -a get every value', async (t) => {
  const { file, written } = write('sh', ALL);
  t.same(
    written.skipped,
    Object.keys(ALL)
      .filter((k) => !SH_NAME.test(k))
      .sort(),
    'only keys that are not shell names are skipped',
  );
  for (const shell of ['bash', 'dash']) {
    const read = await readShell(shell, file);
    sameAsWritten(t, read, ALL, written.skipped, shell);
  }
  t.match(written.text, /^# "dotted\.key" not written: not a shell variable name$/m);
});

t.test('json carries everything', async (t) => {
  const { file, written } = write('json', ALL);
  t.same(written.skipped, []);
  t.same(readJson(file), ALL);
  t.same(Object.keys(readJson(file)), Object.keys(ALL).sort(), 'keys sorted');
});

t.test('empty env and unknown syntax', async (t) => {
  for (const syntax of ['dotenv', 'compose', 'sh']) t.equal(formatEnvFile({}, syntax).text, '', `${syntax}: empty file`);
  t.equal(formatEnvFile({}, 'json').text, '{}\n');
  t.throws(() => formatEnvFile({}, 'yaml'), /unknown env syntax "yaml"; use dotenv, compose, sh, json/);
});

t.test('kinject run: --env-syntax without --env-file, or an unknown syntax, is a one-line usage error', async (t) => {
  const { execFile } = await import('node:child_process');
  const kinject = (args) =>
    new Promise((resolve) => {
      execFile(join(repoRoot, 'bin', 'kinject'), args, { timeout: 60_000, env: { ...process.env, KUBECONFIG: '/nonexistent' } }, (err, stdout, stderr) =>
        resolve({ code: err ? err.code : 0, stderr }),
      );
    });
  const noFile = await kinject(['run', '--target', 'web', '--env-syntax', 'sh', '--', 'true']);
  t.equal(noFile.code, 2);
  t.equal(noFile.stderr, 'kinject: --env-syntax is the syntax of --env-file: add --env-file FILE\n');
  const unknown = await kinject(['run', '--target', 'web', '--env-file', join(dir, 'x.env'), '--env-syntax', 'yaml', '--', 'true']);
  t.equal(unknown.code, 2);
  t.match(
    unknown.stderr,
    /^kinject: option '--env-syntax <syntax>' argument 'yaml' is invalid\. Allowed choices are dotenv, compose, sh, json\. \(see --help\)\n$/,
  );
  const envFormat = await kinject(['env', '--target', 'web', '--format', 'yaml']);
  t.equal(envFormat.code, 2);
  t.match(envFormat.stderr, /Allowed choices are dotenv, compose, sh, json/);
});

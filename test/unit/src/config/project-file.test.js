// The project file (.kinject.yaml / .kinject.json): found from the working directory upwards,
// validated against schema/kinject.schema.json (one line naming file, line and key), its settings
// used as defaults that flags override — checked through the real CLI (`kinject config`, and
// `kinject run --proxy`, which needs no cluster).
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findProjectFile, loadProjectFile } from '../../../../dist/src/config/project-file.js';
import { kinjectBin } from '../../../../test/helpers/kinject-cli.js';

const root = mkdtempSync(join(tmpdir(), 'kinject-project-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const deep = join(root, 'app', 'src', 'deep');
mkdirSync(deep, { recursive: true });

function cli(args, cwd, env = {}) {
  return new Promise((resolve) => {
    execFile(kinjectBin, args, { cwd, timeout: 30_000, env: { PATH: process.env.PATH, HOME: root, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, stdout, stderr }),
    );
  });
}
const write = (name, text) => writeFileSync(join(root, 'app', name), text);
const rm = (name) => rmSync(join(root, 'app', name), { force: true });

t.test('found in a parent; settings with their lines; paths made absolute', async (t) => {
  t.equal(findProjectFile(deep), undefined, 'none yet');
  write('.kinject.yaml', '# team defaults\ncontext: staging\nnamespace: shop\nenv-file: ./api.env\nlocal-names: [".corp", metadata]\ntimeout: 30\n');
  t.teardown(() => rm('.kinject.yaml'));
  const file = findProjectFile(deep);
  t.equal(file, join(root, 'app', '.kinject.yaml'));
  const p = loadProjectFile(file);
  t.same(p.settings.get('namespace'), { value: 'shop', line: 3 });
  t.same(p.settings.get('env-file'), { value: join(root, 'app', 'api.env'), line: 4 });
  t.same(p.settings.get('local-names'), { value: ['.corp', 'metadata'], line: 5 });

  const r = await cli(['config', '-n', 'other', '--context', 'mine', '--kubeconfig', '/dev/null'], deep);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, `project file    ${file}\n`);
  t.match(r.stdout, /^namespace\s+other\s+\(--namespace\)$/m, 'a flag wins over the file');
  t.match(r.stdout, /^context\s+mine\s+\(--context\)$/m);
  t.match(r.stdout, new RegExp(`^env-file\\s+${join(root, 'app', 'api.env')}\\s+\\(${file}:4\\)$`, 'm'), 'from the file, with its line');
  t.match(r.stdout, new RegExp(`^local-names\\s+\\.corp,metadata\\s+\\(${file}:5\\)$`, 'm'));
  t.match(r.stdout, new RegExp(`^timeout\\s+30\\s+\\(${file}:6\\)$`, 'm'));
  t.match(r.stdout, /^env-precedence\s+cluster\s+\(default\)$/m);
  t.match(r.stdout, /^target\s+-\s+\(not set\)$/m);
  t.match(r.stdout, /^transport\s+auto\s+\(default\)$/m, 'every setting the schema has is listed, --transport too');

  const ignored = await cli(['--no-project-file', 'config', '--kubeconfig', '/dev/null'], deep);
  t.match(ignored.stdout, /^project file {4}none/m, '--no-project-file');
  t.match(ignored.stdout, /^timeout\s+120\s+\(default\)$/m);
});

t.test('--proxy leaves the file\'s cluster settings out (no "cannot be combined")', async (t) => {
  write('.kinject.yaml', 'namespace: shop\ntarget: deployment/api\n');
  t.teardown(() => rm('.kinject.yaml'));
  const r = await cli(['run', '--proxy', 'socks5://127.0.0.1:1', '--', 'true'], deep);
  t.equal(r.code, 1);
  t.match(r.stderr, /^kinject: cannot use the SOCKS5 proxy socks5:\/\/127\.0\.0\.1:1: .*\n$/, r.stderr);
});

t.test('a bad file: one line naming file, line and key, exit 2, for every command that reads it', async (t) => {
  const cases = [
    ['.kinject.yaml', 'namespace: shop\nnamspace: typo\n', /:2: unknown key "namspace" \(known: kubeconfig, context, namespace, /],
    ['.kinject.yaml', 'target: api\ntimeout: soon\n', /:2: key "timeout" must be a number$/],
    ['.kinject.yaml', 'local-names:\n  - a\n  - 3\n', /:3: key "local-names\[1\]" must be a string$/],
    ['.kinject.yaml', '\n\nenv-precedence: mine\n', /:3: key "env-precedence" must be one of cluster, local$/],
    ['.kinject.yaml', 'mount: 3\n', /:1: key "mount" must be a string or a boolean$/],
    ['.kinject.yaml', 'namespace: a\nnamespace: b\n', /:2: Map keys must be unique/],
    ['.kinject.yaml', '- a\n', /:1: the file must be a mapping of settings \(key: value\), not a list$/],
    ['.kinject.json', '{\n  "namespace": "a",\n  "target": 3\n}\n', /:3: key "target" must be a string$/],
  ];
  for (const [name, text, error] of cases) {
    write(name, text);
    for (const args of name === '.kinject.json' || /namspace/.test(text)
      ? [['config'], ['run', '--', 'true'], ['env'], ['cleanup']]
      : [['run', '--', 'true']]) {
      const r = await cli(args, deep);
      t.equal(r.code, 2, `${args[0]} with ${JSON.stringify(text)}: exit 2`);
      const lines = r.stderr.trimEnd().split('\n');
      t.equal(lines.length, 1, `one line: ${r.stderr}`);
      t.match(lines[0], new RegExp(`^kinject: ${join(root, 'app', name).replaceAll('.', '\\.')}${error.source}`), r.stderr);
    }
    rm(name);
  }
  write('.kinject.yaml', 'namespace: a\n');
  write('.kinject.json', '{}');
  const both = await cli(['config'], deep);
  t.match(both.stderr, /^kinject: \S+\.kinject\.yaml and \S+\.kinject\.json both exist: keep one\n$/);
  rm('.kinject.yaml');
  rm('.kinject.json');
});

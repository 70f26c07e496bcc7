// The shape of the code, from its import lines: proxy-pod/ imports only protocol/ (and Node's own
// modules and ssh2, its one bundled package); protocol/ imports neither src/ nor proxy-pod/; src/
// reaches proxy-pod/ only from the command that runs the pod server by hand; nothing below
// src/commands/ imports src/commands/. Also: each kinject protocol constant is written once.
import t from 'tap';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { repoRoot } from '../helpers/repo.js';

const ROOTS = ['src', 'proxy-pod', 'protocol'];
const POD_PACKAGES = new Set(['ssh2']);

function tsFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(relative(repoRoot, p).split(sep).join('/'));
  }
  return out;
}

/** every module specifier of a file: import/export ... from '...', import '...', import('...') */
export function specifiers(source) {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const res = [
    /^\s*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/gm, // import x from '...', export * from '...'
    /^\s*import\s*['"]([^'"]+)['"]/gm, // import '...'
    /\bimport\s*\(\s*['"]([^'"]+)['"]/g, // import('...')
  ];
  return res
    .flatMap((re) => [...code.matchAll(re)].map((m) => [m.index, m[1]]))
    .sort((a, b) => a[0] - b[0])
    .map(([, spec]) => spec);
}

/** the repo path a relative specifier points at, or the bare specifier */
function target(file, spec) {
  if (!spec.startsWith('.')) return spec;
  return posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.js$/, '.ts');
}

/** why the edge file -> spec is forbidden, or undefined */
export function forbidden(file, spec) {
  const to = target(file, spec);
  const bare = !spec.startsWith('.');
  const under = (dir) => to.startsWith(`${dir}/`);
  if (file.startsWith('protocol/')) {
    if (bare) return spec.startsWith('node:') || POD_PACKAGES.has(spec) ? undefined : 'protocol/ uses only node:* and ssh2';
    if (!under('protocol')) return 'protocol/ imports only protocol/';
  }
  if (file.startsWith('proxy-pod/')) {
    if (bare) return spec.startsWith('node:') || POD_PACKAGES.has(spec) ? undefined : 'proxy-pod/ uses only node:* and ssh2';
    if (!under('proxy-pod') && !under('protocol')) return 'proxy-pod/ imports only proxy-pod/ and protocol/';
  }
  if (file.startsWith('src/')) {
    if (under('proxy-pod') && file !== 'src/commands/proxy-server.ts') return 'src/ reaches proxy-pod/ only from src/commands/proxy-server.ts';
    const above = file.startsWith('src/commands/') || file === 'src/cli.ts';
    if (under('src/commands') && !above) return 'nothing below src/commands/ imports src/commands/';
  }
  return undefined;
}

t.test('the rules catch the edges they name', async (t) => {
  t.ok(forbidden('proxy-pod/client.ts', '../src/errors.js'), 'proxy-pod -> src');
  t.ok(forbidden('proxy-pod/client.ts', 'commander'), 'proxy-pod -> an npm package other than ssh2');
  t.notOk(forbidden('proxy-pod/client.ts', '../protocol/socks5/index.js'), 'proxy-pod -> protocol');
  t.notOk(forbidden('proxy-pod/sftp/server.ts', '../../protocol/ssh.js'), 'proxy-pod/sftp -> protocol');
  t.ok(forbidden('protocol/mux/session.ts', '../../src/log.js'), 'protocol -> src');
  t.ok(forbidden('protocol/relay.ts', '../proxy-pod/idle.js'), 'protocol -> proxy-pod');
  t.ok(forbidden('src/kube/proxy-pod.ts', '../../proxy-pod/sftp/index.js'), 'src/kube -> proxy-pod');
  t.notOk(forbidden('src/commands/proxy-server.ts', '../../proxy-pod/start.js'), 'the one command -> proxy-pod');
  t.ok(forbidden('src/session/cluster-session.ts', '../commands/options.js'), 'below commands -> commands');
  t.notOk(forbidden('src/commands/run.ts', './options.js'), 'commands -> commands');
  t.same(
    specifiers(
      "import a from './a.js';\n// import b from './b.js'\nexport * from '../c.js';\nconst d = await import('./d.js');\nimport {\n  e,\n} from './e.js';\nBuffer.from('not an import');",
    ),
    ['./a.js', '../c.js', './d.js', './e.js'],
  );
});

t.test('no file has a forbidden import', async (t) => {
  const files = ROOTS.flatMap((r) => tsFiles(join(repoRoot, r)));
  t.ok(files.length > 50, `${files.length} files read`);
  const bad = [];
  for (const file of files) {
    for (const spec of specifiers(readFileSync(join(repoRoot, file), 'utf8'))) {
      const why = forbidden(file, spec);
      if (why) bad.push(`${file} imports ${spec}: ${why}`);
    }
  }
  t.same(bad, []);
});

t.test('each kinject protocol constant is written once', async (t) => {
  const files = ROOTS.flatMap((r) => tsFiles(join(repoRoot, r)));
  const sources = files.map((f) => [
    f,
    readFileSync(join(repoRoot, f), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, ''),
  ]);
  const where = (re) => sources.flatMap(([f, s]) => [...s.matchAll(re)].map(() => f));
  for (const code of ['0xf0', '0xf1', '0xf2', '0xf3', '0xf4']) {
    t.equal(where(new RegExp(`\\b${code}\\b`, 'gi')).length, 1, `${code} appears once`);
  }
  t.same(where(/'kinject-sftp'/g), ['protocol/ssh.ts'], 'the host key alias');
  t.same(where(/SFTP_USER = /g), ['protocol/ssh.ts'], 'the SFTP user');
  t.same(where(/`\$\{[a-z]+\} \$\{type\} \$\{blob\}/gi), ['protocol/ssh.ts'], 'the known_hosts line');
});

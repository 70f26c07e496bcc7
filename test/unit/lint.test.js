// The one lint configuration (biome.json) holds for the whole tree: `npm run lint` as a test, so
// `npm test` fails on a lint error and says where.
import { execFile } from 'node:child_process';
import t from 'tap';
import { repoRoot } from '../helpers/repo.js';

t.test('biome lint finds no error in src/, proxy-pod/, protocol/, scripts/, test/, bench/', async (t) => {
  const r = await new Promise((resolve) => {
    execFile('npx', ['biome', 'lint', '--max-diagnostics=50'], { cwd: repoRoot, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` });
    });
  });
  t.equal(r.code, 0, `npm run lint reports errors:\n${r.out.split('\n').filter((l) => /\.(ts|js|cjs|mjs):\d+|×/.test(l)).join('\n')}`);
});

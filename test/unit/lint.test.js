// The one lint + format configuration (biome.json) holds for the whole tree: `npm run lint`
// (`biome check`: lint rules and formatting) as a test, so `npm test` fails on a lint error or an
// unformatted file and says where. `npm run format` fixes the formatting.
import { execFile } from 'node:child_process';
import t from 'tap';
import { repoRoot } from '../helpers/repo.js';

t.test('biome check (lint + format) finds no error in src/, proxy-pod/, protocol/, scripts/, test/, bench/', async (t) => {
  const r = await new Promise((resolve) => {
    execFile(
      'npx',
      ['biome', 'check', '--diagnostic-level=error', '--max-diagnostics=50'],
      { cwd: repoRoot, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` });
      },
    );
  });
  t.equal(
    r.code,
    0,
    `npm run lint reports errors (formatting: run npm run format):\n${r.out
      .split('\n')
      .filter((l) => /\.(ts|js|cjs|mjs)(:\d+| format )|×/.test(l))
      .join('\n')}`,
  );
});

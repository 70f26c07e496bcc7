// The quick chaos suite (chaos/run.js --quick) as a test of `npm test`: bad inputs, randomized
// kills, a deleted proxy pod, cut tunnel connections, a few parallel sessions and a short soak
// against the real local cluster. Every scenario must end with no failure and nothing left; the
// figures go to a temporary directory (the committed chaos/results/ are left alone).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot } from '../helpers/repo.js';

const HARD_TIMEOUT_MS = 900_000;
t.setTimeout(HARD_TIMEOUT_MS + 60_000);

t.test('quick chaos suite: every scenario without failures or leftovers', { timeout: HARD_TIMEOUT_MS + 30_000 }, async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'kinject-chaos-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  let stderr = '';
  const code = await new Promise((resolve) => {
    const p = spawn(process.execPath, [join(repoRoot, 'chaos', 'run.js'), '--quick', '--out', out], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
    const timer = setTimeout(() => p.kill('SIGKILL'), HARD_TIMEOUT_MS);
    p.stderr.on('data', (d) => {
      stderr += d;
      process.stderr.write(d);
    });
    p.on('close', (c, signal) => {
      clearTimeout(timer);
      resolve(signal ? `killed (${signal}, hard timeout)` : c);
    });
  });
  let doc;
  try {
    doc = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
  } catch {
    t.fail(`chaos/run.js --quick wrote no results (exit ${code}):\n${stderr.slice(-3000)}`);
    return;
  }
  t.ok(doc.results.length >= 5, `ran the quick scenarios (${doc.results.map((r) => r.scenario).join(', ')})`);
  for (const r of doc.results) {
    const why = [r.error, ...(r.notes ?? [])].filter(Boolean).join('; ');
    t.equal(r.failures, 0, `${r.scenario}: no failures${why ? ` (${why})` : ''}`);
    t.equal(r.leftovers, 0, `${r.scenario}: nothing left${why ? ` (${why})` : ''}`);
  }
  t.equal(code, 0, 'chaos/run.js exits 0');
});

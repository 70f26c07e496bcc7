// `npm run demo`, one of the README's two commands: on the local cluster it prints a variable that
// comes from the web-secret Secret and the answer of http://hello.
import t from 'tap';
import { execFile } from 'node:child_process';
import { ensureCluster, repoRoot } from '../helpers/cluster.js';

await ensureCluster();

t.test('npm run demo', async (t) => {
  const r = await new Promise((resolve) =>
    execFile('npm', ['run', '-s', 'demo'], { cwd: repoRoot, timeout: 600_000 }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr })),
  );
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^API_KEY=kinject-demo-api-key-7f3a9c \(from Secret web-secret\)$/m);
  t.match(r.stdout, /^hello from hello-/m);
});

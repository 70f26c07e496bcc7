// The gate of a test file that needs FUSE and sshfs: without them the file fails with the
// preflight's one-line reason, or, with KINJECT_TEST_SKIP_FUSE=1, passes with nothing planned.
import t from 'tap';
import { preflightVolumes } from '../../dist/src/volumes/preflight.js';

export function requireFuse() {
  const pre = preflightVolumes();
  if (pre.ok) return;
  if (process.env.KINJECT_TEST_SKIP_FUSE === '1') {
    t.plan(0, `FUSE not available: ${pre.warning}`);
    process.exit(0);
  }
  t.fail(`${pre.warning} (set KINJECT_TEST_SKIP_FUSE=1 to skip these tests)`);
  process.exit(1);
}

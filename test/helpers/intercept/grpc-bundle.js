// grpc-echo.cjs bundled with @grpc/grpc-js into one file (esbuild), for the intercept workload's
// scripts ConfigMap: the toolbox image has no node_modules. Used by the e2e world (world.js) and
// the intercept benchmark (bench/suites/intercept.js).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

/** Bundles grpc-echo.cjs into a temp dir; `file` is the bundle, `remove()` deletes the dir. */
export function bundleGrpcEcho() {
  const dir = mkdtempSync(join(tmpdir(), 'kinject-grpc-echo-'));
  const file = join(dir, 'grpc-echo.cjs');
  buildSync({
    entryPoints: [join(dirname(fileURLToPath(import.meta.url)), 'grpc-echo.cjs')],
    bundle: true,
    platform: 'node',
    minify: true,
    outfile: file,
    logLevel: 'error',
  });
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

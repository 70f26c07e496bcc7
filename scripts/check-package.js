#!/usr/bin/env node
// `npm pack` / `npm publish` run this first (prepack): the package must carry the bundled CLI, the
// proxy pod bundle and a prebuilt shim for linux-x64 and linux-arm64, or users would need a
// compiler. `npm run build` makes them all (the arm64 shim needs scripts/setup-host.sh's cross gcc).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const needed = ['dist/kinject.mjs', 'dist/proxy-pod.cjs', 'prebuilds/linux-x64/libkinject.so', 'prebuilds/linux-arm64/libkinject.so'];
const missing = needed.filter((f) => !existsSync(path.join(root, f)));
if (missing.length > 0) {
  process.stderr.write(`check-package: missing ${missing.join(', ')}: run scripts/setup-host.sh and npm run build before packing\n`);
  process.exit(1);
}

// Where kinject's own files are, found from this module's location (works from dist/ and from an
// installed package alike).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { locateShim } from './shim/location.js';

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('kinject: cannot find its package root');
}

export const packageRoot = findPackageRoot();
export const shimLocation = locateShim(packageRoot);
export const shimLibrary = shimLocation.path;
export const proxyPodBundle = join(packageRoot, 'dist', 'proxy-pod.js');

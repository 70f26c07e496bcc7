// Which shim library kinject preloads: a shim built from source here (build/Release, made by
// `npm run build` in a checkout or by the install script where no prebuilt fits) wins; otherwise the
// package's prebuilt for this machine, prebuilds/linux-<arch>/libkinject.so (glibc, x64 and arm64).
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface ShimLocation {
  /** the path kinject preloads (it may not exist: shimEnvironment reports that) */
  path: string;
  /** how it got there */
  kind: 'built from source' | 'prebuilt' | 'missing';
}

export function prebuiltShimPath(packageRoot: string, platform: string = process.platform, arch: string = process.arch): string {
  return join(packageRoot, 'prebuilds', `${platform}-${arch}`, 'libkinject.so');
}

export function locateShim(packageRoot: string, platform: string = process.platform, arch: string = process.arch): ShimLocation {
  const built = join(packageRoot, 'build', 'Release', 'libkinject.so');
  if (existsSync(built)) return { path: built, kind: 'built from source' };
  const prebuilt = prebuiltShimPath(packageRoot, platform, arch);
  if (existsSync(prebuilt)) return { path: prebuilt, kind: 'prebuilt' };
  return { path: built, kind: 'missing' };
}

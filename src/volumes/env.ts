// The launched process's view of the mounted volumes (set by the runner):
//   KINJECT_ROOT     the local mount root: the in-cluster path P is at $KINJECT_ROOT$P
//   KINJECT_MOUNTS   the in-cluster mount paths, colon-separated (e.g. /etc/web:/data)
//   KINJECT_PATH_MAP for the shim (docs/design.md): `/in/cluster/path=/local/path` pairs joined
//                    by `:`, deepest path first, so the first matching prefix is the right one
// Paths containing `:` or `=` (or a newline) cannot be written in these lists and are left out.

import { join, posix } from 'node:path';

export interface VolumeEnv {
  KINJECT_ROOT: string;
  KINJECT_MOUNTS: string;
  KINJECT_PATH_MAP: string;
}

const unlistable = (p: string) => /[:=\n\0]/.test(p);

export function volumeEnv(root: string, exportPaths: string[], warn?: (msg: string) => void): VolumeEnv {
  if (unlistable(root)) throw new Error(`the mount root ${JSON.stringify(root)} contains ':' or '=', which KINJECT_PATH_MAP cannot carry`);
  const paths: string[] = [];
  for (const raw of exportPaths) {
    const p = posix.normalize(`/${raw}`).replace(/(.)\/+$/, '$1');
    if (unlistable(p)) {
      warn?.(`volume path ${JSON.stringify(p)} contains ':' or '=': it is mounted but not listed in KINJECT_MOUNTS / KINJECT_PATH_MAP`);
      continue;
    }
    if (!paths.includes(p)) paths.push(p);
  }
  const deepestFirst = [...paths].sort((a, b) => b.length - a.length || a.localeCompare(b));
  return {
    KINJECT_ROOT: root,
    KINJECT_MOUNTS: paths.join(':'),
    KINJECT_PATH_MAP: deepestFirst.map((p) => `${p}=${join(root, p)}`).join(':'),
  };
}

// The environment that puts the shim into the child: LD_PRELOAD plus the KINJECT_* variables the
// shim reads once at load (their meaning is in docs/design.md).
import { existsSync } from 'node:fs';
import { KinjectError } from '../errors.js';
import { shimLibrary, shimLocation } from '../paths.js';
import { prebuiltShimProblem } from '../shim/compat.js';

export interface ShimSettings {
  socks: { host: string; port: number };
  token: string;
  dns?: { host: string; port: number };
  localNames: string[];
  verbose: boolean;
  pathMap?: string;
  /** where the shim marks warnings already shown (KINJECT_WARN_DIR) */
  warnDir?: string;
}

export function shimEnvironment(base: NodeJS.ProcessEnv, settings: ShimSettings): NodeJS.ProcessEnv {
  if (!existsSync(shimLibrary)) {
    throw new KinjectError(
      `the kinject shim is missing (no ${shimLibrary}, no prebuilt for ${process.platform}-${process.arch}): install kinject again with its install script allowed (\`npm install -g --allow-scripts=kinject kinject\`: builds the shim, needs gcc, make and python3), or run \`npm run build\` in a checkout`,
    );
  }
  const problem = shimLocation.kind === 'prebuilt' ? prebuiltShimProblem() : undefined;
  if (problem) throw new KinjectError(problem);
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) {
    if (!key.startsWith('KINJECT_')) env[key] = value;
  }
  const preload = (base.LD_PRELOAD ?? '').split(/[ :]/).filter((p) => p && p !== shimLibrary);
  env.LD_PRELOAD = [shimLibrary, ...preload].join(':');
  env.KINJECT_LIB = shimLibrary;
  env.KINJECT_SOCKS = hostPort(settings.socks);
  env.KINJECT_TOKEN = settings.token;
  env.KINJECT_FRONT = '1'; // the SOCKS server is kinject's own front (native/socks5.c)
  if (settings.dns) env.KINJECT_DNS = hostPort(settings.dns);
  if (settings.localNames.length > 0) env.KINJECT_LOCAL_NAMES = settings.localNames.join(',');
  if (settings.verbose) env.KINJECT_VERBOSE = '1';
  if (settings.pathMap) env.KINJECT_PATH_MAP = settings.pathMap;
  if (settings.warnDir) env.KINJECT_WARN_DIR = settings.warnDir;
  return env;
}

function hostPort({ host, port }: { host: string; port: number }): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

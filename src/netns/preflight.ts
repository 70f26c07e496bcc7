// What `--method netns` needs from the machine, checked before any cluster work so a missing piece
// is one line naming it and the fix: unshare and setpriv (util-linux), slirp4netns, a /dev/net/tun
// the user may open, and unprivileged user namespaces (off by a sysctl, or by AppArmor on
// Ubuntu 24.04). The probe creates a user + network namespace that ends with it.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { KinjectError } from '../errors.js';
import { resolveOnPath } from '../child/binary-check.js';

export interface NetnsTools {
  unshare: string;
  setpriv: string;
  slirp4netns: string;
}

const PROBE_TIMEOUT_MS = 10_000;

export function checkNetnsHost(pathVar: string | undefined = process.env.PATH): NetnsTools {
  const tool = (name: string, pkg: string) => {
    const path = resolveOnPath(name, pathVar);
    if (path === undefined)
      throw new KinjectError(
        `--method netns needs ${name}, which is not on PATH: install it (Debian/Ubuntu: apt-get install ${pkg}), or use --method inject-tcp`,
      );
    return path;
  };
  const tools = { unshare: tool('unshare', 'util-linux'), setpriv: tool('setpriv', 'util-linux'), slirp4netns: tool('slirp4netns', 'slirp4netns') };
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    throw new KinjectError(
      '--method netns needs /dev/net/tun readable and writable by you (distributions make it mode 0666): `sudo chmod 0666 /dev/net/tun` (or load the tun module), or use --method inject-tcp',
    );
  }
  const probe = spawnSync(tools.unshare, ['--user', '--map-root-user', '--net', '--mount', 'true'], { encoding: 'utf8', timeout: PROBE_TIMEOUT_MS });
  if (probe.status !== 0) {
    const why = (probe.stderr || probe.error?.message || `exit ${probe.status}`).trim().split('\n')[0];
    throw new KinjectError(
      `--method netns needs unprivileged user namespaces, which this machine refuses (${why}): enable them with \`sudo sysctl -w kernel.unprivileged_userns_clone=1 user.max_user_namespaces=15000\` (on Ubuntu 24.04 also \`sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0\`), or use --method inject-tcp`,
    );
  }
  return tools;
}

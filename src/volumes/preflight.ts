// Can this machine mount the pod's volumes? sshfs, the fusermount3 helper and /dev/fuse (Linux),
// or macFUSE + sshfs (macOS). When something is missing the run goes on without volumes, after
// ONE warning line that says what is missing and how to install it.

import { accessSync, constants, existsSync } from 'node:fs';
import { existsOnPath } from './mount.js';

export interface PreflightResult {
  ok: boolean;
  /** The one warning line (no trailing newline) when !ok. */
  warning?: string;
  missing: string[];
  sshfs?: string;
  fusermount?: string;
}

export interface PreflightOptions {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  /** Where the FUSE device is (tests). */
  fuseDevice?: string;
}

export function preflightVolumes(options: PreflightOptions = {}): PreflightResult {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const missing: string[] = [];
  const sshfs = existsOnPath('sshfs', env);
  if (!sshfs) missing.push('sshfs');
  if (platform === 'darwin') {
    const macfuse = existsSync('/Library/Filesystems/macfuse.fs') || existsSync('/Library/Filesystems/osxfuse.fs');
    if (!macfuse) missing.push('macFUSE');
    if (!missing.length) {
      // mount.ts watches /proc/self/mountinfo and unmounts with fusermount3: Linux only so far.
      return {
        ok: false,
        missing: [],
        sshfs,
        warning: 'volumes are not mounted: kinject mounts volumes on Linux only for now (macOS support is not written yet); running without them',
      };
    }
    return {
      ok: false,
      missing,
      sshfs,
      warning: `volumes are not mounted: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} missing (install: brew install --cask macfuse && brew install gromgit/fuse/sshfs-mac); running without them`,
    };
  }
  if (platform !== 'linux') {
    return {
      ok: false,
      missing: ['FUSE'],
      sshfs,
      warning: `volumes are not mounted: kinject mounts volumes with sshfs on Linux and macOS only (this is ${platform}); running without them`,
    };
  }
  const fusermount = existsOnPath('fusermount3', env);
  if (!fusermount) missing.push('fusermount3');
  const device = options.fuseDevice ?? '/dev/fuse';
  let deviceDenied = false;
  if (!existsSync(device)) {
    missing.push(device);
  } else if ((process.getuid?.() ?? 0) !== 0) {
    // fusermount3 opens the device as the calling user: it must be read-write for them (0666).
    try {
      accessSync(device, constants.R_OK | constants.W_OK);
    } catch {
      deviceDenied = true;
      missing.push(`access to ${device}`);
    }
  }
  if (!missing.length) return { ok: true, missing, sshfs, fusermount };
  const packages = [...new Set(missing.map((m) => (m === 'sshfs' ? 'sshfs' : m === 'fusermount3' ? 'fuse3' : '')).filter(Boolean))];
  let how = packages.length ? `install: sudo apt-get install ${packages.join(' ')} (Fedora: sudo dnf install fuse-sshfs fuse3)` : '';
  if (missing.includes(device)) {
    how += `${how ? '; ' : ''}${device} is absent: load the module (sudo modprobe fuse), or in a container run with --device /dev/fuse`;
  }
  if (deviceDenied) {
    how += `${how ? '; ' : ''}${device} is not read-write for you: sudo chmod 666 ${device} (the usual mode)`;
  }
  return {
    ok: false,
    missing,
    sshfs,
    fusermount,
    warning: `volumes are not mounted: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing (${how}); running without them`,
  };
}

// The runner's part of volumes (docs/volumes.md): before the proxy pod exists, planVolumes()
// decides from the flags and the preflight whether the pod should serve the workload's volumes;
// once the tunnel is up, mountSessionVolumes() mounts them with sshfs through a local forwarder
// and returns the child's KINJECT_ROOT / KINJECT_MOUNTS / KINJECT_PATH_MAP. Everything it creates
// is on the cleanup stack, the mount last, so it goes first (before the tunnel and the pod).
//
// Decisions: without --mount, anything that keeps the volumes from being mounted (no sshfs or
// FUSE, a failed mount) is one warning line and the run goes on without them; with an explicit
// --mount DIR the user depends on DIR, so the same problems are errors.
import { resolve } from 'node:path';
import { KinjectError, usageError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Upstream } from '../front/upstream.js';
import type { ProxyPodSftp } from '../kube/proxy-pod.js';
import { defaultMountDir, mountRecordPath } from './state.js';
import { mountVolumes, type Leftovers } from './mount.js';
import { preflightVolumes, type PreflightResult } from './preflight.js';
import { volumeEnv, type VolumeEnv } from './env.js';
import { volumeExports, type PodSpecLike } from './volume-list.js';
import type { CleanupStack } from '../child/cleanup-stack.js';
import { startSftpForwarder } from '../tunnel/sftp-forward.js';
import { writeSessionKeys } from './keys.js';
import { errorMessage } from '../util/error-message.js';
import { probeMountAgain } from './after-replacement.js';

export interface VolumePlan {
  /** ask the proxy pod for an SFTP server (ProxyPodOptions.volumes) */
  request: boolean;
  /** --mount DIR, absolute; undefined = the default place */
  mountDir?: string;
  /** the preflight's warning, shown once the workload is known to have volumes */
  warning?: string;
}

export interface VolumeFlags {
  target?: string;
  /** --mount DIR (a string), --no-mount (false), neither (undefined or true) */
  mount?: string | boolean;
}

const PREFLIGHT_PREFIX = 'volumes are not mounted: ';
const PREFLIGHT_SUFFIX = '; running without them';

/** Checks --mount / --no-mount (usage errors) and the machine (preflight). */
export function planVolumes(flags: VolumeFlags, preflight: () => PreflightResult = () => preflightVolumes()): VolumePlan {
  const explicit = typeof flags.mount === 'string' ? flags.mount : undefined;
  if (explicit !== undefined && !flags.target) {
    throw usageError("--mount needs --target: only a workload's volumes are mounted");
  }
  if (!flags.target || flags.mount === false) return { request: false };
  let mountDir: string | undefined;
  if (explicit !== undefined) {
    if (explicit === '') throw usageError('--mount needs a directory');
    mountDir = resolve(explicit);
    // sshfs splits its -o list on commas; KINJECT_PATH_MAP cannot carry ':' or '='
    if (/[,\s:=]/.test(mountDir)) throw usageError(`--mount ${explicit}: the path cannot contain a comma, whitespace, ':' or '='`);
  }
  const pre = preflight();
  if (pre.ok) return { request: true, mountDir };
  const warning = pre.warning ?? `${PREFLIGHT_PREFIX}${pre.missing.join(', ')} missing${PREFLIGHT_SUFFIX}`;
  if (mountDir) throw new KinjectError(`--mount ${explicit}: cannot mount volumes: ${preflightReason(warning)}`);
  return { request: false, warning };
}

function preflightReason(warning: string): string {
  let reason = warning.startsWith(PREFLIGHT_PREFIX) ? warning.slice(PREFLIGHT_PREFIX.length) : warning;
  if (reason.endsWith(PREFLIGHT_SUFFIX)) reason = reason.slice(0, -PREFLIGHT_SUFFIX.length);
  return reason;
}

/** The preflight warning, once, when the workload has something to mount. */
export function warnIfVolumesSkipped(plan: VolumePlan, target: { podSpec: unknown; container: { name: string } } | undefined, log: Logger): void {
  if (!plan.warning || !target) return;
  if (volumeExports(target.podSpec as PodSpecLike, target.container.name).length > 0) log.warn(plan.warning);
}

export interface SessionVolumes {
  root: string;
  env: VolumeEnv;
  /** what the session's end removes (mount.ts), plus the keys directory: for the child's guardian */
  leftovers: Leftovers;
  /**
   * The proxy pod was replaced (self-healing): checks that sshfs got in to the new pod; if not,
   * one warning line naming the mount and what to do (once per session). Never throws.
   */
  afterReplacement(podLabel: string): Promise<void>;
}

export interface MountSessionVolumesOptions {
  sftp: ProxyPodSftp;
  /** the SFTP port in the pod in use now (a replacement pod may have another); default sftp.port */
  sftpPort?: () => number;
  upstream: Pick<Upstream, 'open'>;
  sessionId: string;
  plan: VolumePlan;
  cleanup: CleanupStack;
  log: Logger;
  signal?: AbortSignal;
  /** environment for the runtime dir and sshfs (tests) */
  env?: NodeJS.ProcessEnv;
  /** told of each local thing as it is made (the run's guardian removes them if kinject is SIGKILLed) */
  guard?: (l: Partial<Leftovers>) => void;
}

/**
 * Mounts the pod's exports at the plan's directory (default ${XDG_RUNTIME_DIR:-/tmp}/kinject-<uid>/<session>).
 * Resolves undefined (after one warning) when mounting fails and --mount was not given.
 */
export async function mountSessionVolumes(o: MountSessionVolumesOptions): Promise<SessionVolumes | undefined> {
  const { sftp, log, cleanup } = o;
  const paths = sftp.exports.map((e) => e.path);
  if (paths.length === 0) {
    log.debug('volumes: the workload has no volumes to mount');
    return undefined;
  }
  const mountDir = o.plan.mountDir ?? defaultMountDir(o.sessionId, o.env);
  let mounted: Awaited<ReturnType<typeof mountVolumes>>;
  let keysDir: string | undefined;
  try {
    const forwarder = await startSftpForwarder({ upstream: o.upstream, targetPort: o.sftpPort ?? sftp.port, log });
    cleanup.add('SFTP forwarder', () => forwarder.close());
    const keys = writeSessionKeys(o.sessionId, sftp, o.env);
    o.guard?.({ trees: [keys.dir] });
    cleanup.add('session keys', () => keys.remove());
    keysDir = keys.dir;
    // the default mount dir is kinject's own (named by the session): removed once unmounted
    if (!o.plan.mountDir) o.guard?.({ emptyDirs: [mountDir], filesAfter: [mountRecordPath(mountDir, o.env)] });
    o.signal?.throwIfAborted();
    mounted = await mountVolumes({
      sshPort: forwarder.port,
      clientKeyPath: keys.clientKeyPath,
      knownHostsPath: keys.knownHostsPath,
      mountDir,
      exports: paths,
      log,
      env: o.env,
      signal: o.signal,
    });
  } catch (err) {
    if (o.signal?.aborted) throw o.signal.reason ?? err;
    const reason = errorMessage(err).replace(/^mounting the volumes failed: /, '');
    if (o.plan.mountDir) throw new KinjectError(`--mount ${o.plan.mountDir}: mounting the volumes failed: ${reason}`, { cause: err });
    log.warn(`${PREFLIGHT_PREFIX}${reason}${PREFLIGHT_SUFFIX}`);
    return undefined;
  }
  const { root, unmount } = mounted;
  o.guard?.(mounted.leftovers);
  let ending = false;
  cleanup.add(`volume mount ${root}`, () => {
    ending = true;
    return unmount();
  });
  const env = volumeEnv(root, paths, log.warn);
  const shown = sftp.exports.map((e) => (e.readOnly ? `${e.path} (read-only)` : e.path)).join(', ');
  log.info(`volumes mounted at ${root}: ${shown}`);
  const leftovers = { ...mounted.leftovers, trees: [...mounted.leftovers.trees, ...(keysDir ? [keysDir] : [])] };
  let checking = false;
  let warned = false;
  const afterReplacement = async (podLabel: string) => {
    if (checking || warned || ending) return;
    checking = true;
    try {
      const why = await probeMountAgain(mounted);
      if (ending) return;
      if (!why) {
        log.debug(`volumes: the mount at ${root} answers again (new proxy pod ${podLabel})`);
        return;
      }
      warned = true;
      log.warn(
        `the volumes at ${root} did not come back with the new proxy pod ${podLabel} (${why}): files under it fail; restart kinject to mount them again`,
      );
    } finally {
      checking = false;
    }
  };
  return { root, env, leftovers, afterReplacement };
}

// The local side of kinject's volume mounts (see docs/volumes.md).
export { mountVolumes, unmountFuse, sshfsOptions, existsOnPath, type MountVolumesOptions, type VolumeMounts, type UnmountResult } from './mount.js';
export { preflightVolumes, type PreflightResult, type PreflightOptions } from './preflight.js';
export { volumeEnv, type VolumeEnv } from './env.js';
export { findKinjectMounts, removeLeftoverMounts, type LeftoverMount, type CleanupOptions, type CleanupResult } from './leftovers.js';
export { volumeExports, SERVICE_ACCOUNT_PATH, PROXY_MOUNT_PATH, type VolumeExport, type PodSpecLike, type ContainerLike } from './volume-list.js';
export { defaultMountDir, runtimeBase } from './state.js';
export { HOST_KEY_ALIAS } from '../../protocol/ssh.js';

/* file_hooks_stat.c - KINJECT_PATH_MAP for stat-like calls: stat/lstat/fstatat (+64), statx,
 * glibc's old __xstat/__lxstat/__fxstatat (+64) that binaries built against glibc < 2.33 call
 * (node's official build does), statfs/statvfs (+64) and the extended attributes (ls -l asks
 * for ACLs and SELinux labels through them). See file_hooks.c. */
#include "file_hooks.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>

/* exported by glibc for old binaries, no longer declared by its headers */
int __xstat(int ver, const char *path, struct stat *buf);
int __xstat64(int ver, const char *path, struct stat64 *buf);
int __lxstat(int ver, const char *path, struct stat *buf);
int __lxstat64(int ver, const char *path, struct stat64 *buf);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *buf, int flags);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *buf, int flags);

KJ_PATH_HOOK(int, -1, stat, (const char *path, struct stat *buf), (path, buf))
KJ_PATH_HOOK(int, -1, stat64, (const char *path, struct stat64 *buf), (path, buf))
KJ_PATH_HOOK(int, -1, lstat, (const char *path, struct stat *buf), (path, buf))
KJ_PATH_HOOK(int, -1, lstat64, (const char *path, struct stat64 *buf), (path, buf))
KJ_PATH_HOOK(int, -1, fstatat, (int dirfd, const char *path, struct stat *buf, int flags), (dirfd, path, buf, flags))
KJ_PATH_HOOK(int, -1, fstatat64, (int dirfd, const char *path, struct stat64 *buf, int flags),
             (dirfd, path, buf, flags))

KJ_EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf) {
  KJ_MAP(path, -1);
  __typeof__(&statx) f = KJ_REAL(statx);
  KJ_NOSYS(f, -1);
  return f(dirfd, path, flags, mask, buf);
}

KJ_PATH_HOOK(int, -1, __xstat, (int ver, const char *path, struct stat *buf), (ver, path, buf))
KJ_PATH_HOOK(int, -1, __xstat64, (int ver, const char *path, struct stat64 *buf), (ver, path, buf))
KJ_PATH_HOOK(int, -1, __lxstat, (int ver, const char *path, struct stat *buf), (ver, path, buf))
KJ_PATH_HOOK(int, -1, __lxstat64, (int ver, const char *path, struct stat64 *buf), (ver, path, buf))
KJ_PATH_HOOK(int, -1, __fxstatat, (int ver, int dirfd, const char *path, struct stat *buf, int flags),
             (ver, dirfd, path, buf, flags))
KJ_PATH_HOOK(int, -1, __fxstatat64, (int ver, int dirfd, const char *path, struct stat64 *buf, int flags),
             (ver, dirfd, path, buf, flags))

KJ_PATH_HOOK(int, -1, statfs, (const char *path, struct statfs *buf), (path, buf))
KJ_PATH_HOOK(int, -1, statfs64, (const char *path, struct statfs64 *buf), (path, buf))
KJ_PATH_HOOK(int, -1, statvfs, (const char *path, struct statvfs *buf), (path, buf))
KJ_PATH_HOOK(int, -1, statvfs64, (const char *path, struct statvfs64 *buf), (path, buf))

/* ---- extended attributes ---- */

KJ_PATH_HOOK(ssize_t, -1, getxattr, (const char *path, const char *name, void *value, size_t size),
             (path, name, value, size))
KJ_PATH_HOOK(ssize_t, -1, lgetxattr, (const char *path, const char *name, void *value, size_t size),
             (path, name, value, size))
KJ_PATH_HOOK(ssize_t, -1, listxattr, (const char *path, char *list, size_t size), (path, list, size))
KJ_PATH_HOOK(ssize_t, -1, llistxattr, (const char *path, char *list, size_t size), (path, list, size))
KJ_PATH_HOOK(int, -1, setxattr, (const char *path, const char *name, const void *value, size_t size, int flags),
             (path, name, value, size, flags))
KJ_PATH_HOOK(int, -1, lsetxattr, (const char *path, const char *name, const void *value, size_t size, int flags),
             (path, name, value, size, flags))
KJ_PATH_HOOK(int, -1, removexattr, (const char *path, const char *name), (path, name))
KJ_PATH_HOOK(int, -1, lremovexattr, (const char *path, const char *name), (path, name))

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

KJ_EXPORT int stat(const char *path, struct stat *buf) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(stat)(p, buf);
}

KJ_EXPORT int stat64(const char *path, struct stat64 *buf) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(stat64)(p, buf);
}

KJ_EXPORT int lstat(const char *path, struct stat *buf) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(lstat)(p, buf);
}

KJ_EXPORT int lstat64(const char *path, struct stat64 *buf) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(lstat64)(p, buf);
}

KJ_EXPORT int fstatat(int dirfd, const char *path, struct stat *buf, int flags) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(fstatat)(dirfd, p, buf, flags);
}

KJ_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *buf, int flags) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(fstatat64)(dirfd, p, buf, flags);
}

KJ_EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf) {
  KJ_MAP(p, path, -1);
  __typeof__(&statx) f = KJ_REAL(statx);
  KJ_NOSYS(f, -1);
  return f(dirfd, p, flags, mask, buf);
}

KJ_EXPORT int __xstat(int ver, const char *path, struct stat *buf) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(__xstat)(ver, p, buf);
}

KJ_EXPORT int __xstat64(int ver, const char *path, struct stat64 *buf) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(__xstat64)(ver, p, buf);
}

KJ_EXPORT int __lxstat(int ver, const char *path, struct stat *buf) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(__lxstat)(ver, p, buf);
}

KJ_EXPORT int __lxstat64(int ver, const char *path, struct stat64 *buf) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(__lxstat64)(ver, p, buf);
}

KJ_EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *buf, int flags) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(__fxstatat)(ver, dirfd, p, buf, flags);
}

KJ_EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *buf, int flags) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(__fxstatat64)(ver, dirfd, p, buf, flags);
}

KJ_EXPORT int statfs(const char *path, struct statfs *buf) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(statfs)(p, buf);
}

KJ_EXPORT int statfs64(const char *path, struct statfs64 *buf) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(statfs64)(p, buf);
}

KJ_EXPORT int statvfs(const char *path, struct statvfs *buf) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(statvfs)(p, buf);
}

KJ_EXPORT int statvfs64(const char *path, struct statvfs64 *buf) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(statvfs64)(p, buf);
}

/* ---- extended attributes ---- */

KJ_EXPORT ssize_t getxattr(const char *path, const char *name, void *value, size_t size) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(getxattr)(p, name, value, size);
}

KJ_EXPORT ssize_t lgetxattr(const char *path, const char *name, void *value, size_t size) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(lgetxattr)(p, name, value, size);
}

KJ_EXPORT ssize_t listxattr(const char *path, char *list, size_t size) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(listxattr)(p, list, size);
}

KJ_EXPORT ssize_t llistxattr(const char *path, char *list, size_t size) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(llistxattr)(p, list, size);
}

KJ_EXPORT int setxattr(const char *path, const char *name, const void *value, size_t size, int flags) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(setxattr)(p, name, value, size, flags);
}

KJ_EXPORT int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(lsetxattr)(p, name, value, size, flags);
}

KJ_EXPORT int removexattr(const char *path, const char *name) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(removexattr)(p, name);
}

KJ_EXPORT int lremovexattr(const char *path, const char *name) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(lremovexattr)(p, name);
}

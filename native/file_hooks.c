/* file_hooks.c - KINJECT_PATH_MAP for opening, creating, removing and changing files.
 * Every hook maps its absolute path argument(s) with kinject_map_path() into a stack buffer and
 * calls the libc function; relative paths (and *at calls with a relative path) pass unchanged.
 * With the shim off or no map, each hook is one check and a plain call.
 * stat-like calls: file_hooks_stat.c; directories, cwd, realpath, readlink, mk*temp:
 * file_hooks_dir.c; syscall(): file_hooks_sys.c. */
#include "file_hooks.h"
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <utime.h>

/* glibc's fortify entry points (declared by its headers only under _FORTIFY_SOURCE) */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

static int needs_mode(int flags) { return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE; }

#define MODE_ARG(flags)                         \
  mode_t mode = 0;                              \
  if (needs_mode(flags)) {                      \
    va_list ap;                                 \
    va_start(ap, flags);                        \
    mode = (mode_t)va_arg(ap, int);             \
    va_end(ap);                                 \
  }

/* ---- open ---- */

KJ_EXPORT int open(const char *path, int flags, ...) {
  MODE_ARG(flags);
  KJ_MAP(p, path, -1);
  return KJ_REAL(open)(p, flags, mode);
}

KJ_EXPORT int open64(const char *path, int flags, ...) {
  MODE_ARG(flags);
  KJ_MAP(p, path, -1);
  return KJ_REAL(open64)(p, flags, mode);
}

KJ_EXPORT int openat(int dirfd, const char *path, int flags, ...) {
  MODE_ARG(flags);
  KJ_MAP(p, path, -1);
  return KJ_REAL(openat)(dirfd, p, flags, mode);
}

KJ_EXPORT int openat64(int dirfd, const char *path, int flags, ...) {
  MODE_ARG(flags);
  KJ_MAP(p, path, -1);
  return KJ_REAL(openat64)(dirfd, p, flags, mode);
}

KJ_EXPORT int __open_2(const char *path, int flags) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(__open_2)(p, flags);
}

KJ_EXPORT int __open64_2(const char *path, int flags) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(__open64_2)(p, flags);
}

KJ_EXPORT int __openat_2(int dirfd, const char *path, int flags) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(__openat_2)(dirfd, p, flags);
}

KJ_EXPORT int __openat64_2(int dirfd, const char *path, int flags) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(__openat64_2)(dirfd, p, flags);
}

KJ_EXPORT int creat(const char *path, mode_t mode) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(creat)(p, mode);
}

KJ_EXPORT int creat64(const char *path, mode_t mode) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(creat64)(p, mode);
}

/* glibc's fopen/freopen open the file through an internal call: hook them too */
KJ_EXPORT FILE *fopen(const char *path, const char *mode) {
  KJ_MAP(p, path, NULL);
  return KJ_REAL(fopen)(p, mode);
}

KJ_EXPORT FILE *fopen64(const char *path, const char *mode) {
  KJ_MAP(p, path, NULL);
  return KJ_REAL(fopen64)(p, mode);
}

KJ_EXPORT FILE *freopen(const char *path, const char *mode, FILE *stream) {
  KJ_MAP(p, path, NULL);
  return KJ_REAL(freopen)(p, mode, stream);
}

KJ_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *stream) {
  KJ_MAP(p, path, NULL);
  return KJ_REAL(freopen64)(p, mode, stream);
}

/* ---- access ---- */

KJ_EXPORT int access(const char *path, int mode) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(access)(p, mode);
}

KJ_EXPORT int faccessat(int dirfd, const char *path, int mode, int flags) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(faccessat)(dirfd, p, mode, flags);
}

KJ_EXPORT int euidaccess(const char *path, int mode) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(euidaccess)(p, mode);
}

KJ_EXPORT int eaccess(const char *path, int mode) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(eaccess)(p, mode);
}

/* ---- create / remove / rename ---- */

KJ_EXPORT int mkdir(const char *path, mode_t mode) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(mkdir)(p, mode);
}

KJ_EXPORT int mkdirat(int dirfd, const char *path, mode_t mode) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(mkdirat)(dirfd, p, mode);
}

KJ_EXPORT int mknod(const char *path, mode_t mode, dev_t dev) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(mknod)(p, mode, dev);
}

KJ_EXPORT int mknodat(int dirfd, const char *path, mode_t mode, dev_t dev) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(mknodat)(dirfd, p, mode, dev);
}

KJ_EXPORT int mkfifo(const char *path, mode_t mode) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(mkfifo)(p, mode);
}

KJ_EXPORT int mkfifoat(int dirfd, const char *path, mode_t mode) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(mkfifoat)(dirfd, p, mode);
}

KJ_EXPORT int unlink(const char *path) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(unlink)(p);
}

KJ_EXPORT int unlinkat(int dirfd, const char *path, int flags) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(unlinkat)(dirfd, p, flags);
}

KJ_EXPORT int rmdir(const char *path) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(rmdir)(p);
}

/* glibc's remove() calls unlink/rmdir internally */
KJ_EXPORT int remove(const char *path) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(remove)(p);
}

KJ_EXPORT int rename(const char *from, const char *to) {
  KJ_MAP(a, from, -1);
  KJ_MAP(b, to, -1);
  return KJ_REAL(rename)(a, b);
}

KJ_EXPORT int renameat(int fromfd, const char *from, int tofd, const char *to) {
  KJ_MAP(a, from, -1);
  KJ_MAP(b, to, -1);
  return KJ_REAL(renameat)(fromfd, a, tofd, b);
}

KJ_EXPORT int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned int flags) {
  KJ_MAP(a, from, -1);
  KJ_MAP(b, to, -1);
  __typeof__(&renameat2) f = KJ_REAL(renameat2);
  KJ_NOSYS(f, -1);
  return f(fromfd, a, tofd, b, flags);
}

KJ_EXPORT int link(const char *target, const char *linkpath) {
  KJ_MAP(a, target, -1);
  KJ_MAP(b, linkpath, -1);
  return KJ_REAL(link)(a, b);
}

KJ_EXPORT int linkat(int fromfd, const char *target, int tofd, const char *linkpath, int flags) {
  KJ_MAP(a, target, -1);
  KJ_MAP(b, linkpath, -1);
  return KJ_REAL(linkat)(fromfd, a, tofd, b, flags);
}

/* a symlink's target is stored as given (the kernel resolves it later): only linkpath maps */
KJ_EXPORT int symlink(const char *target, const char *linkpath) {
  KJ_MAP(b, linkpath, -1);
  return KJ_REAL(symlink)(target, b);
}

KJ_EXPORT int symlinkat(const char *target, int dirfd, const char *linkpath) {
  KJ_MAP(b, linkpath, -1);
  return KJ_REAL(symlinkat)(target, dirfd, b);
}

/* ---- change ---- */

KJ_EXPORT int truncate(const char *path, off_t len) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(truncate)(p, len);
}

KJ_EXPORT int truncate64(const char *path, off64_t len) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(truncate64)(p, len);
}

KJ_EXPORT int chmod(const char *path, mode_t mode) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(chmod)(p, mode);
}

KJ_EXPORT int lchmod(const char *path, mode_t mode) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(lchmod)(p, mode);
}

KJ_EXPORT int fchmodat(int dirfd, const char *path, mode_t mode, int flags) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(fchmodat)(dirfd, p, mode, flags);
}

KJ_EXPORT int chown(const char *path, uid_t uid, gid_t gid) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(chown)(p, uid, gid);
}

KJ_EXPORT int lchown(const char *path, uid_t uid, gid_t gid) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(lchown)(p, uid, gid);
}

KJ_EXPORT int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(fchownat)(dirfd, p, uid, gid, flags);
}

KJ_EXPORT int utime(const char *path, const struct utimbuf *times) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(utime)(p, times);
}

KJ_EXPORT int utimes(const char *path, const struct timeval times[2]) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(utimes)(p, times);
}

KJ_EXPORT int lutimes(const char *path, const struct timeval times[2]) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(lutimes)(p, times);
}

KJ_EXPORT int futimesat(int dirfd, const char *path, const struct timeval times[2]) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(futimesat)(dirfd, p, times);
}

/* path may be NULL (futimens-like): kinject_map_path passes NULL through */
KJ_EXPORT int utimensat(int dirfd, const char *path, const struct timespec times[2], int flags) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(utimensat)(dirfd, p, times, flags);
}

KJ_EXPORT long pathconf(const char *path, int name) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(pathconf)(p, name);
}

/* ---- watching and spawning ---- */

/* node's fs.watch, python watchdog: inotify on a mapped path watches the local mount */
KJ_EXPORT int inotify_add_watch(int fd, const char *path, uint32_t mask) {
  KJ_MAP(p, path, -1);
  return KJ_REAL(inotify_add_watch)(fd, p, mask);
}

/* the file action keeps a copy of the path; the child's open happens inside libc */
KJ_EXPORT int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *fa, int fd, const char *path, int flags,
                                               mode_t mode) {
  char buf[KJ_PATH_MAX];
  const char *p = kinject_map_path(path, buf);
  if (!p) return ENAMETOOLONG; /* posix_spawn_* return the error */
  return KJ_REAL(posix_spawn_file_actions_addopen)(fa, fd, p, flags, mode);
}

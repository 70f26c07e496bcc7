/* file_hooks.c - KINJECT_PATH_MAP for opening, creating, removing and changing files.
 * Every hook maps its absolute path argument(s) with kinject_map_path() into a stack buffer and
 * calls the libc function; relative paths (and *at calls with a relative path) pass unchanged.
 * With the shim off or no map, each hook is one check and a plain call. A hook with one path
 * argument is one KJ_PATH_HOOK line (file_hooks.h); the others spell out the same steps.
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
  KJ_MAP(path, -1);
  return KJ_REAL(open)(path, flags, mode);
}

KJ_EXPORT int open64(const char *path, int flags, ...) {
  MODE_ARG(flags);
  KJ_MAP(path, -1);
  return KJ_REAL(open64)(path, flags, mode);
}

KJ_EXPORT int openat(int dirfd, const char *path, int flags, ...) {
  MODE_ARG(flags);
  KJ_MAP(path, -1);
  return KJ_REAL(openat)(dirfd, path, flags, mode);
}

KJ_EXPORT int openat64(int dirfd, const char *path, int flags, ...) {
  MODE_ARG(flags);
  KJ_MAP(path, -1);
  return KJ_REAL(openat64)(dirfd, path, flags, mode);
}

KJ_PATH_HOOK(int, -1, __open_2, (const char *path, int flags), (path, flags))
KJ_PATH_HOOK(int, -1, __open64_2, (const char *path, int flags), (path, flags))
KJ_PATH_HOOK(int, -1, __openat_2, (int dirfd, const char *path, int flags), (dirfd, path, flags))
KJ_PATH_HOOK(int, -1, __openat64_2, (int dirfd, const char *path, int flags), (dirfd, path, flags))
KJ_PATH_HOOK(int, -1, creat, (const char *path, mode_t mode), (path, mode))
KJ_PATH_HOOK(int, -1, creat64, (const char *path, mode_t mode), (path, mode))

/* glibc's fopen/freopen open the file through an internal call: hook them too */
KJ_PATH_HOOK(FILE *, NULL, fopen, (const char *path, const char *mode), (path, mode))
KJ_PATH_HOOK(FILE *, NULL, fopen64, (const char *path, const char *mode), (path, mode))
KJ_PATH_HOOK(FILE *, NULL, freopen, (const char *path, const char *mode, FILE *stream), (path, mode, stream))
KJ_PATH_HOOK(FILE *, NULL, freopen64, (const char *path, const char *mode, FILE *stream), (path, mode, stream))

/* ---- access ---- */

KJ_PATH_HOOK(int, -1, access, (const char *path, int mode), (path, mode))
KJ_PATH_HOOK(int, -1, faccessat, (int dirfd, const char *path, int mode, int flags), (dirfd, path, mode, flags))
KJ_PATH_HOOK(int, -1, euidaccess, (const char *path, int mode), (path, mode))
KJ_PATH_HOOK(int, -1, eaccess, (const char *path, int mode), (path, mode))

/* ---- create / remove / rename ---- */

KJ_PATH_HOOK(int, -1, mkdir, (const char *path, mode_t mode), (path, mode))
KJ_PATH_HOOK(int, -1, mkdirat, (int dirfd, const char *path, mode_t mode), (dirfd, path, mode))
KJ_PATH_HOOK(int, -1, mknod, (const char *path, mode_t mode, dev_t dev), (path, mode, dev))
KJ_PATH_HOOK(int, -1, mknodat, (int dirfd, const char *path, mode_t mode, dev_t dev), (dirfd, path, mode, dev))
KJ_PATH_HOOK(int, -1, mkfifo, (const char *path, mode_t mode), (path, mode))
KJ_PATH_HOOK(int, -1, mkfifoat, (int dirfd, const char *path, mode_t mode), (dirfd, path, mode))
KJ_PATH_HOOK(int, -1, unlink, (const char *path), (path))
KJ_PATH_HOOK(int, -1, unlinkat, (int dirfd, const char *path, int flags), (dirfd, path, flags))
KJ_PATH_HOOK(int, -1, rmdir, (const char *path), (path))
/* glibc's remove() calls unlink/rmdir internally */
KJ_PATH_HOOK(int, -1, remove, (const char *path), (path))

KJ_EXPORT int rename(const char *from, const char *to) {
  KJ_MAP(from, -1);
  KJ_MAP(to, -1);
  return KJ_REAL(rename)(from, to);
}

KJ_EXPORT int renameat(int fromfd, const char *from, int tofd, const char *to) {
  KJ_MAP(from, -1);
  KJ_MAP(to, -1);
  return KJ_REAL(renameat)(fromfd, from, tofd, to);
}

KJ_EXPORT int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned int flags) {
  KJ_MAP(from, -1);
  KJ_MAP(to, -1);
  __typeof__(&renameat2) f = KJ_REAL(renameat2);
  KJ_NOSYS(f, -1);
  return f(fromfd, from, tofd, to, flags);
}

KJ_EXPORT int link(const char *target, const char *linkpath) {
  KJ_MAP(target, -1);
  KJ_MAP(linkpath, -1);
  return KJ_REAL(link)(target, linkpath);
}

KJ_EXPORT int linkat(int fromfd, const char *target, int tofd, const char *linkpath, int flags) {
  KJ_MAP(target, -1);
  KJ_MAP(linkpath, -1);
  return KJ_REAL(linkat)(fromfd, target, tofd, linkpath, flags);
}

/* a symlink's target is stored as given (the kernel resolves it later): only linkpath maps */
KJ_EXPORT int symlink(const char *target, const char *linkpath) {
  KJ_MAP(linkpath, -1);
  return KJ_REAL(symlink)(target, linkpath);
}

KJ_EXPORT int symlinkat(const char *target, int dirfd, const char *linkpath) {
  KJ_MAP(linkpath, -1);
  return KJ_REAL(symlinkat)(target, dirfd, linkpath);
}

/* ---- change ---- */

KJ_PATH_HOOK(int, -1, truncate, (const char *path, off_t len), (path, len))
KJ_PATH_HOOK(int, -1, truncate64, (const char *path, off64_t len), (path, len))
KJ_PATH_HOOK(int, -1, chmod, (const char *path, mode_t mode), (path, mode))
KJ_PATH_HOOK(int, -1, lchmod, (const char *path, mode_t mode), (path, mode))
KJ_PATH_HOOK(int, -1, fchmodat, (int dirfd, const char *path, mode_t mode, int flags), (dirfd, path, mode, flags))
KJ_PATH_HOOK(int, -1, chown, (const char *path, uid_t uid, gid_t gid), (path, uid, gid))
KJ_PATH_HOOK(int, -1, lchown, (const char *path, uid_t uid, gid_t gid), (path, uid, gid))
KJ_PATH_HOOK(int, -1, fchownat, (int dirfd, const char *path, uid_t uid, gid_t gid, int flags),
             (dirfd, path, uid, gid, flags))
KJ_PATH_HOOK(int, -1, utime, (const char *path, const struct utimbuf *times), (path, times))
KJ_PATH_HOOK(int, -1, utimes, (const char *path, const struct timeval times[2]), (path, times))
KJ_PATH_HOOK(int, -1, lutimes, (const char *path, const struct timeval times[2]), (path, times))
KJ_PATH_HOOK(int, -1, futimesat, (int dirfd, const char *path, const struct timeval times[2]), (dirfd, path, times))
/* path may be NULL (futimens-like): kinject_map_path passes NULL through */
KJ_PATH_HOOK(int, -1, utimensat, (int dirfd, const char *path, const struct timespec times[2], int flags),
             (dirfd, path, times, flags))
KJ_PATH_HOOK(long, -1, pathconf, (const char *path, int name), (path, name))

/* ---- watching and spawning ---- */

/* node's fs.watch, python watchdog: inotify on a mapped path watches the local mount */
KJ_PATH_HOOK(int, -1, inotify_add_watch, (int fd, const char *path, uint32_t mask), (fd, path, mask))

/* the file action keeps a copy of the path; the child's open happens inside libc.
 * posix_spawn_* return the error (ENAMETOOLONG) */
KJ_PATH_HOOK(int, ENAMETOOLONG, posix_spawn_file_actions_addopen,
             (posix_spawn_file_actions_t *fa, int fd, const char *path, int flags, mode_t mode),
             (fa, fd, path, flags, mode))

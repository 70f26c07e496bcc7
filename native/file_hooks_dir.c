/* file_hooks_dir.c - KINJECT_PATH_MAP for directories and names: opendir, scandir (+64, at),
 * chdir, getcwd, get_current_dir_name, realpath, canonicalize_file_name, readlink(at),
 * mkdtemp / mk*stemp*, and the
 * fortify variants (__getcwd_chk, __realpath_chk, __readlink_chk, __readlinkat_chk).
 *
 * getcwd and realpath answer with the in-cluster path when the result lies under a mapped local
 * dir ("cd /etc/web; pwd" says /etc/web), so a path a program builds from them maps again.
 * readlink returns the link's text as stored. See file_hooks.c. */
#include "file_hooks.h"
#include <dirent.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* glibc's fortify entry points, declared by its headers only under _FORTIFY_SOURCE */
char *__getcwd_chk(char *buf, size_t size, size_t buflen);
char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen);
ssize_t __readlink_chk(const char *path, char *buf, size_t len, size_t buflen);
ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t len, size_t buflen);

typedef int (*dirent_filter)(const struct dirent *);
typedef int (*dirent_compar)(const struct dirent **, const struct dirent **);
typedef int (*dirent64_filter)(const struct dirent64 *);
typedef int (*dirent64_compar)(const struct dirent64 **, const struct dirent64 **);

/* ---- directories ---- */

KJ_PATH_HOOK(DIR *, NULL, opendir, (const char *path), (path))

/* glibc's scandir opens the directory through an internal call (node's fs.readdir uses it) */
KJ_PATH_HOOK(int, -1, scandir, (const char *path, struct dirent ***list, dirent_filter filter, dirent_compar compar),
             (path, list, filter, compar))
KJ_PATH_HOOK(int, -1, scandir64,
             (const char *path, struct dirent64 ***list, dirent64_filter filter, dirent64_compar compar),
             (path, list, filter, compar))
KJ_PATH_HOOK(int, -1, scandirat,
             (int dirfd, const char *path, struct dirent ***list, dirent_filter filter, dirent_compar compar),
             (dirfd, path, list, filter, compar))
KJ_PATH_HOOK(int, -1, scandirat64,
             (int dirfd, const char *path, struct dirent64 ***list, dirent64_filter filter, dirent64_compar compar),
             (dirfd, path, list, filter, compar))

/* chdir into a mapped dir: relative paths afterwards resolve in the local mount by themselves */
KJ_PATH_HOOK(int, -1, chdir, (const char *path), (path))

/* posix_spawn_* return the error (ENAMETOOLONG, ENOSYS) */
KJ_EXPORT int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *fa, const char *path) {
  KJ_MAP(path, ENAMETOOLONG);
  __typeof__(&posix_spawn_file_actions_addchdir_np) f = KJ_REAL(posix_spawn_file_actions_addchdir_np);
  if (!f) return ENOSYS;
  return f(fa, path);
}

/* ---- names coming back: getcwd, realpath ---- */

/* r is the result of getcwd/realpath: a caller buffer of cap bytes (cap 0: allocated by libc,
 * strlen+1 bytes). Rewrites a local path under a mapped dir to its in-cluster path when it fits;
 * returns the (possibly reallocated) result. */
static char *unmap_result(char *r, size_t cap) {
  if (!r || !kj_path_map_active()) return r;
  int saved = errno;
  char tmp[KJ_PATH_MAX];
  if (kj_unmap_path(r, tmp, sizeof tmp) == 1) {
    size_t l = strlen(tmp);
    if (cap) {
      if (l + 1 <= cap) memcpy(r, tmp, l + 1);
    } else if (l <= strlen(r)) {
      memcpy(r, tmp, l + 1);
    } else {
      char *n = realloc(r, l + 1);
      if (n) {
        memcpy(n, tmp, l + 1);
        r = n;
      }
    }
  }
  errno = saved;
  return r;
}

KJ_EXPORT char *getcwd(char *buf, size_t size) {
  char *r = KJ_REAL(getcwd)(buf, size);
  if (!r) return r;
  return unmap_result(r, size); /* getcwd(NULL, n>0) allocates n bytes; (NULL, 0) just enough */
}

KJ_EXPORT char *__getcwd_chk(char *buf, size_t size, size_t buflen) {
  char *r = KJ_REAL(__getcwd_chk)(buf, size, buflen);
  if (!r) return r;
  return unmap_result(r, size);
}

/* uses $PWD when it names the cwd, else getcwd internally: both answer local names */
KJ_EXPORT char *get_current_dir_name(void) {
  char *r = KJ_REAL(get_current_dir_name)();
  return unmap_result(r, 0);
}

KJ_EXPORT char *realpath(const char *path, char *resolved) {
  KJ_MAP(path, NULL);
  char *r = KJ_REAL(realpath)(path, resolved);
  return unmap_result(r, resolved ? PATH_MAX : 0);
}

KJ_EXPORT char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen) {
  KJ_MAP(path, NULL);
  char *r = KJ_REAL(__realpath_chk)(path, resolved, resolvedlen);
  if (!r) return r;
  return unmap_result(r, resolved ? (resolvedlen < PATH_MAX ? resolvedlen : PATH_MAX) : 0);
}

KJ_EXPORT char *canonicalize_file_name(const char *path) {
  KJ_MAP(path, NULL);
  char *r = KJ_REAL(canonicalize_file_name)(path);
  return unmap_result(r, 0);
}

/* ---- links ---- */

KJ_PATH_HOOK(ssize_t, -1, readlink, (const char *path, char *buf, size_t len), (path, buf, len))
KJ_PATH_HOOK(ssize_t, -1, readlinkat, (int dirfd, const char *path, char *buf, size_t len), (dirfd, path, buf, len))
KJ_PATH_HOOK(ssize_t, -1, __readlink_chk, (const char *path, char *buf, size_t len, size_t buflen),
             (path, buf, len, buflen))
KJ_PATH_HOOK(ssize_t, -1, __readlinkat_chk, (int dirfd, const char *path, char *buf, size_t len, size_t buflen),
             (dirfd, path, buf, len, buflen))

/* ---- temporary names: the template is filled in place ---- */

/* after the real call filled the mapped copy, copy its last n bytes (the X's and the suffix)
 * back into the caller's template */
static void copy_tail(char *tmpl, const char *mapped, size_t n) {
  size_t tl = strlen(tmpl), ml = strlen(mapped);
  if (n > tl || n > ml) return;
  memcpy(tmpl + tl - n, mapped + ml - n, n);
}

KJ_EXPORT char *mkdtemp(char *tmpl) {
  char buf[KJ_PATH_MAX];
  const char *p = kinject_map_path(tmpl, buf);
  if (!p) return NULL;
  if (p == tmpl) return KJ_REAL(mkdtemp)(tmpl);
  char *r = KJ_REAL(mkdtemp)(buf);
  if (!r) return NULL;
  copy_tail(tmpl, buf, 6);
  return tmpl;
}

#define MKSTEMP_HOOK(name, params, args, suffix)        \
  KJ_EXPORT int name params {                           \
    char buf[KJ_PATH_MAX];                              \
    const char *p = kinject_map_path(tmpl, buf);        \
    if (!p) return -1;                                  \
    if (p == tmpl) return KJ_REAL(name) args;           \
    char *tmpl_saved = tmpl;                            \
    tmpl = buf;                                         \
    int fd = KJ_REAL(name) args;                        \
    if (fd >= 0) copy_tail(tmpl_saved, buf, 6 + (size_t)(suffix)); \
    return fd;                                          \
  }

MKSTEMP_HOOK(mkstemp, (char *tmpl), (tmpl), 0)
MKSTEMP_HOOK(mkstemp64, (char *tmpl), (tmpl), 0)
MKSTEMP_HOOK(mkostemp, (char *tmpl, int flags), (tmpl, flags), 0)
MKSTEMP_HOOK(mkostemp64, (char *tmpl, int flags), (tmpl, flags), 0)
MKSTEMP_HOOK(mkstemps, (char *tmpl, int suffixlen), (tmpl, suffixlen), suffixlen > 0 ? suffixlen : 0)
MKSTEMP_HOOK(mkstemps64, (char *tmpl, int suffixlen), (tmpl, suffixlen), suffixlen > 0 ? suffixlen : 0)
MKSTEMP_HOOK(mkostemps, (char *tmpl, int suffixlen, int flags), (tmpl, suffixlen, flags), suffixlen > 0 ? suffixlen : 0)
MKSTEMP_HOOK(mkostemps64, (char *tmpl, int suffixlen, int flags), (tmpl, suffixlen, flags),
             suffixlen > 0 ? suffixlen : 0)

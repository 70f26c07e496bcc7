/* close.c - close() and the dup family, keeping the fd registry right:
 * a closed fd forgets its entry (async-signal-safe: one atomic store), a duplicated
 * fd inherits the entry of its source, a dup2/dup3 target loses its old one. */
#define _GNU_SOURCE
#include <errno.h>
#include "kinject.h"

KJ_EXPORT int close(int fd) {
  if (kj_enabled()) kj_fd_clear(fd);
  return kj_real()->close(fd);
}

KJ_EXPORT int dup(int fd) {
  int r = kj_real()->dup(fd);
  if (r >= 0 && kj_enabled()) {
    int saved = errno;
    kj_fd_copy(fd, r);
    errno = saved;
  }
  return r;
}

KJ_EXPORT int dup2(int fd, int fd2) {
  int r = kj_real()->dup2(fd, fd2);
  if (r >= 0 && kj_enabled()) {
    int saved = errno;
    kj_fd_copy(fd, r);
    errno = saved;
  }
  return r;
}

KJ_EXPORT int dup3(int fd, int fd2, int flags) {
  int r = kj_real()->dup3(fd, fd2, flags);
  if (r >= 0 && kj_enabled()) {
    int saved = errno;
    kj_fd_copy(fd, r);
    errno = saved;
  }
  return r;
}

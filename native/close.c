/* close.c - close() and the dup family (dup, dup2, dup3, fcntl F_DUPFD*), keeping the fd registry right:
 * a closed fd forgets its entry (async-signal-safe: one atomic store), a duplicated
 * fd inherits the entry of its source, a dup2/dup3 target loses its old one. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
/* not <fcntl.h>: its declarations alias fcntl and fcntl64, and both are defined here */
#define KJ_F_DUPFD 0
#define KJ_F_DUPFD_CLOEXEC 1030
#include "kinject.h"

/* no guard: forgetting the entry is one atomic store (no lock, no heap), right in any context */
KJ_EXPORT int close(int fd) {
  if (kj_enabled()) kj_fd_clear(fd);
  return kj_real()->close(fd);
}

/* r is the result of duplicating fd: on success r inherits fd's entry (errno kept); returns r.
 * A connect in progress settles first: its reply must be read once, not once per fd. */
static int duplicated(int fd, int r) {
  if (r >= 0 && kj_enabled()) {
    kj_connect_settle(fd);
    struct kj_guard g = kj_guard_take(); /* the registry's lock and heap: not while a hook runs */
    if (!g.held) return r;
    int saved = errno;
    kj_fd_copy(fd, r);
    errno = saved;
    kj_guard_drop(&g);
  }
  return r;
}

KJ_EXPORT int dup(int fd) { return duplicated(fd, kj_real()->dup(fd)); }

KJ_EXPORT int dup2(int fd, int fd2) { return duplicated(fd, kj_real()->dup2(fd, fd2)); }

KJ_EXPORT int dup3(int fd, int fd2, int flags) { return duplicated(fd, kj_real()->dup3(fd, fd2, flags)); }

/* fcntl's third argument is an int or a pointer: passed on as a pointer-sized value
 * (the calling convention of the 64-bit ABIs makes that the same register) */
static int fcntl_common(int (*real)(int, int, ...), int fd, int cmd, void *arg) {
  int r = real(fd, cmd, arg);
  if (cmd == KJ_F_DUPFD || cmd == KJ_F_DUPFD_CLOEXEC) return duplicated(fd, r);
  return r;
}

KJ_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  return fcntl_common(kj_real()->fcntl, fd, cmd, arg);
}

KJ_EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  return fcntl_common(kj_real()->fcntl64, fd, cmd, arg);
}

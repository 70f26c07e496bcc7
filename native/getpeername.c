/* getpeername.c - the getpeername() hook: for a proxied TCP fd, the address the
 * program connected to (not the proxy's), once a connect in progress has settled
 * (connect_settle.c); for a redirected UDP DNS socket, the original nameserver. Other fds: libc. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include "kinject.h"

KJ_EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len) {
  const struct kj_libc *real = kj_real();
  KJ_GUARD_OR(return real->getpeername(fd, addr, len));
  if (!kj_enabled()) return real->getpeername(fd, addr, len);
  if (kj_fd_pending(fd) && kj_settle_pending(fd)) {
    errno = ENOTCONN; /* the connect in progress failed */
    return -1;
  }
  struct sockaddr_storage orig;
  socklen_t olen = 0;
  int kind = kj_fd_get(fd, &orig, &olen);
  if (kind == KJ_FD_NONE) kind = kj_fd_adopt(fd, &orig, &olen); /* a dup made behind our back */
  if (kind == KJ_FD_NONE) return real->getpeername(fd, addr, len);
  /* still connected? (the peer may be gone: let libc say ENOTCONN) */
  struct sockaddr_storage tmp;
  socklen_t tl = sizeof tmp;
  if (real->getpeername(fd, (struct sockaddr *)&tmp, &tl) != 0) return -1;
  if (!addr || !len) {
    errno = EFAULT;
    return -1;
  }
  socklen_t n = *len < olen ? *len : olen;
  memcpy(addr, &orig, n);
  *len = olen;
  return 0;
}

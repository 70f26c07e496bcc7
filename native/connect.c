/* connect.c - the connect() hook: classify -> pass to libc / proxy.
 * TCP to a non-local IPv4/IPv6 address (v4-mapped included) goes through SOCKS5 on
 * the program's own fd; UDP to a nameserver:53 goes to KINJECT_DNS (udp_dns.c);
 * everything else (loopback, Unix, other types) is libc's. A non-blocking socket to kinject's
 * front returns EINPROGRESS once the request is sent, like any connect in progress; the reply
 * is read when the program asks how it went (connect_settle.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include "kinject.h"

KJ_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  KJ_GUARD_OR(return kj_real()->connect(fd, addr, len));
  return kj_connect(fd, addr, len);
}

/* the hook's work, for callers that hold the guard already (udp_dns.c's TCP Fast Open) */
int kj_connect(int fd, const struct sockaddr *addr, socklen_t len) {
  const struct kj_libc *real = kj_real();
  if (!kj_enabled() || !addr || len < sizeof(sa_family_t)) return real->connect(fd, addr, len);
  if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6) {
    if (addr->sa_family == AF_UNSPEC) kj_fd_clear(fd); /* dissolves the association */
    return real->connect(fd, addr, len);
  }
  int type = 0, proto = 0;
  socklen_t sl = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) != 0) return real->connect(fd, addr, len);
  if (type == SOCK_DGRAM) {
    int handled = 0;
    int r = kj_udp_dns_connect(fd, addr, len, &handled);
    if (handled) return r;
    kj_fd_clear(fd);
    return real->connect(fd, addr, len);
  }
  sl = sizeof proto;
  if (type != SOCK_STREAM || getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &sl) != 0 ||
      (proto != IPPROTO_TCP && proto != 262 /* IPPROTO_MPTCP: TCP to a SOCKS server works too */))
    return real->connect(fd, addr, len);
  int cls = kj_classify_addr(addr, len);
  char dst[80];
  if (cls != KJ_CLASS_PROXY) {
    kj_fd_clear(fd);
    return real->connect(fd, addr, len);
  }
  struct sockaddr_storage prev;
  socklen_t prev_len = 0;
  if (kj_fd_pending(fd)) {
    /* connect() again on a connect in progress: how it went (Ruby's connect_nonblock does this) */
    int e = kj_settle_pending(fd);
    errno = e ? e : EISCONN;
    return -1;
  }
  if (kj_fd_get(fd, &prev, &prev_len) == KJ_FD_TCP_PROXIED) {
    /* a second connect() on a proxied socket, e.g. to check a non-blocking connect */
    struct sockaddr_storage peer;
    socklen_t pl = sizeof peer;
    if (real->getpeername(fd, (struct sockaddr *)&peer, &pl) == 0) {
      errno = EISCONN;
      return -1;
    }
    kj_fd_clear(fd);
  }
  kj_sockaddr_str(addr, dst, sizeof dst);
  int saved_errno = errno;
  int fl = real->fcntl(fd, F_GETFL);
  int pending = 0;
  int e = kj_socks_connect_fd(fd, addr, len, &pending);
  if (e) {
    kj_log("connect %s via proxy: %s", dst, strerror(e));
    errno = e;
    return -1;
  }
  if (pending) {
    kj_fd_set(fd, KJ_FD_TCP_PENDING, addr, len);
    kj_log("connect %s via proxy: in progress", dst);
    errno = EINPROGRESS;
    return -1;
  }
  kj_fd_set(fd, KJ_FD_TCP_PROXIED, addr, len);
  kj_log("connect %s via proxy: ok", dst);
  if (fl >= 0 && (fl & O_NONBLOCK)) {
    errno = EINPROGRESS; /* already connected: poll says writable, SO_ERROR is 0 */
    return -1;
  }
  errno = saved_errno; /* success leaves errno as it was */
  return 0;
}

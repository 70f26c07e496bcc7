/* udp_dns.c - UDP DNS redirect for programs that speak DNS themselves (c-ares in
 * Node's dns.resolve*, dig, ...): datagrams to a nameserver of /etc/resolv.conf on
 * port 53 (connect of a UDP socket, sendto, sendmsg) go to KINJECT_DNS instead, and
 * replies read with recvfrom/recvmsg (and getpeername) show the nameserver's address,
 * so resolvers that check the source accept them. Without KINJECT_DNS: libc.
 * Also TCP Fast Open (sendto/sendmsg with MSG_FASTOPEN and a destination): for a
 * proxied destination the connect goes through the connect() hook first. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include "kinject.h"

static int is_nameserver(const struct sockaddr *dst, socklen_t len) {
  const struct kj_config *c = kj_cfg();
  if (!c->dns_enabled || !dst || len < sizeof(sa_family_t)) return 0;
  if (dst->sa_family == AF_INET && len < sizeof(struct sockaddr_in)) return 0;
  if (dst->sa_family == AF_INET6 && len < sizeof(struct sockaddr_in6)) return 0;
  if (dst->sa_family != AF_INET && dst->sa_family != AF_INET6) return 0;
  for (int i = 0; i < c->n_nameservers; i++)
    if (kj_sockaddr_equal(dst, (const struct sockaddr *)&c->nameservers[i])) return 1;
  return 0;
}

int kj_udp_dns_target(int fd, const struct sockaddr *dst, socklen_t len, struct sockaddr_storage *repl,
                      socklen_t *repl_len) {
  if (!is_nameserver(dst, len)) return 0;
  const struct kj_config *c = kj_cfg();
  int family = 0, type = 0;
  socklen_t sl = sizeof family;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &sl) != 0) return 0;
  sl = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) != 0 || type != SOCK_DGRAM) return 0;
  if (kj_sockaddr_for_family(&c->dns_addr, c->dns_len, family, repl, repl_len) == 0) return 1;
  kj_log("UDP DNS socket of family %d cannot reach KINJECT_DNS; not redirected", family);
  return 0;
}

int kj_udp_dns_connect(int fd, const struct sockaddr *addr, socklen_t len, int *handled) {
  struct sockaddr_storage repl;
  socklen_t rl;
  *handled = 0;
  if (!kj_udp_dns_target(fd, addr, len, &repl, &rl)) return 0;
  *handled = 1;
  int r = kj_real()->connect(fd, (struct sockaddr *)&repl, rl);
  if (r == 0) {
    int saved = errno;
    kj_fd_set(fd, KJ_FD_UDP_DNS, addr, len);
    errno = saved;
    kj_log("UDP DNS socket %d redirected to KINJECT_DNS", fd);
  }
  return r;
}

/* MSG_FASTOPEN to a proxied address: 1 when handled (connected through the proxy first) */
static int fastopen_proxied(int fd, int flags, const struct sockaddr *dst, socklen_t len, int *err) {
#ifdef MSG_FASTOPEN
  if (!(flags & MSG_FASTOPEN) || kj_classify_addr(dst, len) != KJ_CLASS_PROXY) return 0;
  int type = 0;
  socklen_t sl = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) != 0 || type != SOCK_STREAM) return 0;
  *err = 0;
  if (kj_connect(fd, dst, len) != 0 && errno != EINPROGRESS) *err = errno; /* the connect() hook's work */
  return 1;
#else
  (void)fd; (void)flags; (void)dst; (void)len; (void)err;
  return 0;
#endif
}

KJ_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *dst, socklen_t len) {
  if (kj_settle_failed(fd)) return -1; /* a TCP connect in progress (connect_settle.c) */
  const struct kj_libc *real = kj_real();
  KJ_GUARD_OR(return real->sendto(fd, buf, n, flags, dst, len));
  struct sockaddr_storage repl;
  socklen_t rl;
  int err;
  if (kj_enabled() && dst && fastopen_proxied(fd, flags, dst, len, &err)) {
    if (err) { errno = err; return -1; }
    return real->sendto(fd, buf, n, flags & ~MSG_FASTOPEN, NULL, 0);
  }
  if (!kj_enabled() || !dst || !kj_udp_dns_target(fd, dst, len, &repl, &rl))
    return real->sendto(fd, buf, n, flags, dst, len);
  kj_fd_set(fd, KJ_FD_UDP_DNS, dst, len);
  return real->sendto(fd, buf, n, flags, (struct sockaddr *)&repl, rl);
}

KJ_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  if (kj_settle_failed(fd)) return -1; /* a TCP connect in progress (connect_settle.c) */
  const struct kj_libc *real = kj_real();
  KJ_GUARD_OR(return real->sendmsg(fd, msg, flags));
  struct sockaddr_storage repl;
  socklen_t rl;
  int err;
  if (kj_enabled() && msg && msg->msg_name &&
      fastopen_proxied(fd, flags, (const struct sockaddr *)msg->msg_name, msg->msg_namelen, &err)) {
    if (err) { errno = err; return -1; }
    struct msghdr m = *msg;
    m.msg_name = NULL;
    m.msg_namelen = 0;
    return real->sendmsg(fd, &m, flags & ~MSG_FASTOPEN);
  }
  if (!kj_enabled() || !msg || !msg->msg_name ||
      !kj_udp_dns_target(fd, (const struct sockaddr *)msg->msg_name, msg->msg_namelen, &repl, &rl))
    return real->sendmsg(fd, msg, flags);
  kj_fd_set(fd, KJ_FD_UDP_DNS, (const struct sockaddr *)msg->msg_name, msg->msg_namelen);
  struct msghdr m = *msg;
  m.msg_name = &repl;
  m.msg_namelen = rl;
  return real->sendmsg(fd, &m, flags);
}

/* rewrites a reply's source from KINJECT_DNS to the nameserver the program used */
static void fix_source(int fd, struct sockaddr *src, socklen_t *srclen) {
  if (!src || !srclen || *srclen == 0) return;
  struct sockaddr_storage orig;
  socklen_t olen = 0;
  if (kj_fd_get(fd, &orig, &olen) != KJ_FD_UDP_DNS) return;
  struct sockaddr_storage got;
  memset(&got, 0, sizeof got);
  memcpy(&got, src, *srclen < sizeof got ? *srclen : sizeof got);
  if (!kj_sockaddr_equal((struct sockaddr *)&got, (const struct sockaddr *)&kj_cfg()->dns_addr)) return;
  socklen_t n = *srclen < olen ? *srclen : olen;
  memcpy(src, &orig, n);
  *srclen = olen;
}

KJ_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *src, socklen_t *srclen) {
  if (kj_settle_failed(fd)) return -1; /* a TCP connect in progress (connect_settle.c) */
  ssize_t r = kj_real()->recvfrom(fd, buf, n, flags, src, srclen);
  if (r >= 0 && src && kj_enabled() && kj_cfg()->dns_enabled) {
    struct kj_guard g = kj_guard_take(); /* the registry's lock: not while a hook runs */
    if (!g.held) return r;
    int saved = errno;
    fix_source(fd, src, srclen);
    errno = saved;
    kj_guard_drop(&g);
  }
  return r;
}

KJ_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
  if (kj_settle_failed(fd)) return -1; /* a TCP connect in progress (connect_settle.c) */
  ssize_t r = kj_real()->recvmsg(fd, msg, flags);
  if (r >= 0 && msg && msg->msg_name && kj_enabled() && kj_cfg()->dns_enabled) {
    struct kj_guard g = kj_guard_take(); /* the registry's lock: not while a hook runs */
    if (!g.held) return r;
    int saved = errno;
    fix_source(fd, (struct sockaddr *)msg->msg_name, &msg->msg_namelen);
    errno = saved;
    kj_guard_drop(&g);
  }
  return r;
}

/* socks5.c - the SOCKS5 client of the shim (RFC 1928 + RFC 1929 auth + Tor's
 * RESOLVE 0xF0 / RESOLVE_PTR 0xF1), spoken to KINJECT_SOCKS. Every exchange is
 * blocking from the caller's point of view but bounded: the socket is non-blocking
 * and each step polls until one deadline (KINJECT_CONNECT_TIMEOUT_MS, 30 s default).
 * Every exchange is one connection to the proxy (open_session), then greeting, credentials
 * and request (request_send): in one write to kinject's own front (KINJECT_FRONT=1), step by
 * step to any other server; then the answers (request_read).
 * kj_socks_connect_fd works on the program's own fd and restores its flags. On a non-blocking
 * socket and to the front it stops after the write, leaving the reply for kj_socks_settle
 * (connect_settle.c calls it when the program asks how the connect went or reads): a program's
 * connects then wait for the cluster side together, not one after another. RESOLVE and
 * RESOLVE_PTR each use a connection of their own (control_request). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "kinject.h"

#define CMD_CONNECT 0x01
#define CMD_RESOLVE 0xF0
#define CMD_RESOLVE_PTR 0xF1

long long kj_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short ev, long long deadline) {
  for (;;) {
    long long left = deadline - kj_now_ms();
    if (left <= 0) return ETIMEDOUT;
    struct pollfd p = {.fd = fd, .events = ev};
    int r = poll(&p, 1, left > 0x7fffffff ? 0x7fffffff : (int)left);
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (r == 0) return ETIMEDOUT;
    return 0; /* readable/writable or error: the next call reports it */
  }
}

static int send_all(int fd, const unsigned char *buf, size_t n, long long deadline) {
  while (n > 0) {
    ssize_t w = kj_real()->sendto(fd, buf, n, MSG_NOSIGNAL, NULL, 0); /* libc's: the write hooks are for the program */
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        int e = wait_fd(fd, POLLOUT, deadline);
        if (e) return e;
        continue;
      }
      return errno;
    }
    buf += w;
    n -= (size_t)w;
  }
  return 0;
}

/* reads exactly n bytes: never more, the rest of the stream belongs to the program */
static int recv_all(int fd, unsigned char *buf, size_t n, long long deadline) {
  while (n > 0) {
    ssize_t r = kj_real()->recvfrom(fd, buf, n, 0, NULL, NULL); /* libc's: the read hooks are for the program */
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        int e = wait_fd(fd, POLLIN, deadline);
        if (e) return e;
        continue;
      }
      return errno;
    }
    if (r == 0) return ECONNRESET;
    buf += r;
    n -= (size_t)r;
  }
  return 0;
}

/* connect a non-blocking fd to addr within the deadline: 0 or errno */
static int connect_wait(int fd, const struct sockaddr *addr, socklen_t len, long long deadline) {
  int r = kj_real()->connect(fd, addr, len);
  if (r == 0) return 0;
  if (errno != EINPROGRESS && errno != EINTR) return errno;
  int e = wait_fd(fd, POLLOUT, deadline);
  if (e) return e;
  int soerr = 0;
  socklen_t sl = sizeof soerr;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) return errno;
  return soerr;
}

/* The greeting, and with a token the RFC 1929 credentials; *greeting_len is where the
 * credentials start. To kinject's own front (KINJECT_FRONT=1) the username is "kinject/<pid>":
 * the front shows which process made a connection without looking the socket up in /proc (it
 * only displays it; the token is what authenticates). */
static size_t greeting_and_auth(unsigned char *out, size_t *greeting_len) {
  const struct kj_config *c = kj_cfg();
  size_t n = 0;
  out[n++] = 5;
  out[n++] = 1;
  out[n++] = (unsigned char)(c->has_token ? 2 : 0);
  *greeting_len = n;
  if (!c->has_token) return n;
  char user[32] = "kinject";
  int ul = 7;
  if (c->front) {
    ul = snprintf(user, sizeof user, "kinject/%ld", (long)getpid());
    if (ul < 0 || ul >= (int)sizeof user) ul = 7; /* cannot happen; "kinject" alone */
  }
  size_t tl = strlen(c->token);
  if (tl > 255) tl = 255;
  out[n++] = 1;
  out[n++] = (unsigned char)ul;
  memcpy(out + n, user, (size_t)ul);
  n += (size_t)ul;
  out[n++] = (unsigned char)tl;
  memcpy(out + n, c->token, tl);
  n += tl;
  return n;
}

/* reads the method choice: 0, or errno (EACCES: refused) */
static int method_reply(int fd, long long deadline) {
  unsigned char method = (unsigned char)(kj_cfg()->has_token ? 2 : 0);
  unsigned char r[2];
  int e;
  if ((e = recv_all(fd, r, 2, deadline))) return e;
  if (r[0] != 5) return EPROTO;
  if (r[1] == 0xFF) { kj_log("proxy refused the authentication method"); return EACCES; }
  if (r[1] != method) return EPROTO;
  return 0;
}

/* reads the RFC 1929 status when a token was sent: 0, or errno (EACCES: refused) */
static int auth_reply(int fd, long long deadline) {
  if (!kj_cfg()->has_token) return 0;
  unsigned char r[2];
  int e;
  if ((e = recv_all(fd, r, 2, deadline))) return e;
  if (r[1] != 0) { kj_log("proxy refused the token"); return EACCES; }
  return 0;
}

/* Sends greeting, credentials and the request. To kinject's front all in one write (it reads
 * them in order: one round trip instead of three), its answers left for request_read; to any
 * other SOCKS5 server step by step, as RFC 1928 has it (some servers drop bytes sent before their
 * answer), reading the method choice and auth status here. 0, or an errno (EACCES: refused auth). */
static int request_send(int fd, unsigned char cmd, const unsigned char *addr_part, size_t addr_len, uint16_t port_be,
                        long long deadline) {
  unsigned char req[3 + 3 + 32 + 255 + 4 + 1 + 255 + 2];
  size_t greeting_len;
  size_t n = greeting_and_auth(req, &greeting_len);
  int e;
  if (!kj_cfg()->front) {
    if ((e = send_all(fd, req, greeting_len, deadline)) || (e = method_reply(fd, deadline))) return e;
    if (n > greeting_len && (e = send_all(fd, req + greeting_len, n - greeting_len, deadline))) return e;
    if ((e = auth_reply(fd, deadline))) return e;
    n = 0;
  }
  req[n++] = 5;
  req[n++] = cmd;
  req[n++] = 0;
  memcpy(req + n, addr_part, addr_len);
  n += addr_len;
  memcpy(req + n, &port_be, 2);
  n += 2;
  return send_all(fd, req, n, deadline);
}

/* Reads the answers to request_send (the front's method choice and auth status first). On
 * success (rep==0) out gets the BND address (ATYP 1/4 -> sockaddr in out, ATYP 3 -> name in
 * name) and bound_port BND.PORT. Returns 0 with *rep set, or an errno for transport/protocol
 * failures (EACCES: refused auth). */
static int request_read(int fd, long long deadline, int *rep, struct sockaddr_storage *out, char *name, size_t name_n,
                        unsigned *bound_port) {
  int e;
  if (kj_cfg()->front && ((e = method_reply(fd, deadline)) || (e = auth_reply(fd, deadline)))) return e;
  unsigned char h[4];
  if ((e = recv_all(fd, h, 4, deadline))) return e;
  if (h[0] != 5) return EPROTO;
  *rep = h[1];
  unsigned char buf[256 + 2];
  size_t alen;
  if (h[3] == 1) alen = 4;
  else if (h[3] == 4) alen = 16;
  else if (h[3] == 3) {
    unsigned char l;
    if ((e = recv_all(fd, &l, 1, deadline))) return e;
    alen = l;
  } else {
    return EPROTO;
  }
  if ((e = recv_all(fd, buf, alen + 2, deadline))) return e;
  if (bound_port) *bound_port = ((unsigned)buf[alen] << 8) | buf[alen + 1];
  if (out) {
    memset(out, 0, sizeof *out);
    if (h[3] == 1) {
      struct sockaddr_in *a = (struct sockaddr_in *)out;
      a->sin_family = AF_INET;
      memcpy(&a->sin_addr, buf, 4);
    } else if (h[3] == 4) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
      a->sin6_family = AF_INET6;
      memcpy(&a->sin6_addr, buf, 16);
    }
  }
  if (name && name_n > 0) {
    name[0] = 0;
    if (h[3] == 3) {
      size_t m = alen < name_n - 1 ? alen : name_n - 1;
      memcpy(name, buf, m);
      name[m] = 0;
    }
  }
  return 0;
}

static int request(int fd, unsigned char cmd, const unsigned char *addr_part, size_t addr_len, uint16_t port_be,
                   long long deadline, int *rep, struct sockaddr_storage *out, char *name, size_t name_n,
                   unsigned *bound_port) {
  int e = request_send(fd, cmd, addr_part, addr_len, port_be, deadline);
  return e ? e : request_read(fd, deadline, rep, out, name, name_n, bound_port);
}

KJ_EXPORT int kinject_reply_errno_for_test(int rep) { return kj_socks_reply_errno(rep); }

int kj_socks_reply_errno(int rep) {
  switch (rep) {
    case 1: return ECONNREFUSED;
    case 2: return EACCES;
    case 3: return ENETUNREACH;
    case 4: return EHOSTUNREACH;
    case 5: return ECONNREFUSED;
    case 6: return ETIMEDOUT;
    case 7: return EOPNOTSUPP;
    case 8: return EAFNOSUPPORT;
    default: return ECONNREFUSED;
  }
}

/* ATYP + address bytes for a destination sockaddr */
static size_t encode_addr(const struct sockaddr *dst, socklen_t len, unsigned char *out, uint16_t *port_be) {
  struct sockaddr_in v4;
  if (kj_sockaddr_to_v4(dst, len, &v4)) {
    out[0] = 1;
    memcpy(out + 1, &v4.sin_addr, 4);
    *port_be = v4.sin_port;
    return 5;
  }
  const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)dst;
  out[0] = 4;
  memcpy(out + 1, &a6->sin6_addr, 16);
  *port_be = a6->sin6_port;
  return 17;
}

/* connects fd (non-blocking) to the proxy: 0, or errno with *unreachable set */
static int open_session(int fd, const struct sockaddr *proxy, socklen_t plen, long long deadline, int *unreachable) {
  int e = connect_wait(fd, proxy, plen, deadline);
  if (e) *unreachable = 1;
  return e;
}

static void log_unreachable(int e) {
  kj_log("connecting to the proxy %s failed: %s", kj_cfg()->socks_str, strerror(e));
  kj_warn_proxy_unreachable();
}

/* the CONNECT reply: 0, or the errno the connect fails with */
static int connect_reply(int fd, long long deadline) {
  int rep = 0;
  int e = request_read(fd, deadline, &rep, NULL, NULL, 0, NULL);
  if (e) return e;
  if (rep != 0) {
    kj_log("proxy answered CONNECT with reply %d", rep);
    return kj_socks_reply_errno(rep);
  }
  return 0;
}

/* defer: stop once the request is sent (the reply is read by kj_socks_settle) */
static int exchange_connect(int fd, const struct sockaddr *proxy, socklen_t plen, const struct sockaddr *dst,
                            socklen_t len, long long deadline, int *unreachable, int defer) {
  int e = open_session(fd, proxy, plen, deadline, unreachable);
  if (e) return e;
  unsigned char a[17];
  uint16_t port;
  size_t al = encode_addr(dst, len, a, &port);
  if ((e = request_send(fd, CMD_CONNECT, a, al, port, deadline))) return e;
  return defer ? 0 : connect_reply(fd, deadline);
}

static void disconnect(int fd) {
  struct sockaddr sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_family = AF_UNSPEC;
  kj_real()->connect(fd, &sa, sizeof sa);
}

int kj_socks_connect_fd(int fd, const struct sockaddr *dst, socklen_t len, int *pending) {
  const struct kj_config *c = kj_cfg();
  if (pending) *pending = 0;
  long long deadline = kj_now_ms() + c->connect_timeout_ms;
  int family = 0;
  socklen_t sl = sizeof family;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &sl) != 0) return errno;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return errno;
  struct sockaddr_storage proxy;
  socklen_t plen = 0;
  int e, unreachable = 0;
  /* the proxy in the fd's family (a v4 proxy on a v6 socket: v4-mapped) */
  int direct = kj_sockaddr_for_family(&c->socks_addr, c->socks_len, family, &proxy, &plen) == 0;
  /* the program does not wait for this connect: neither do we (only the front reads pipelined requests) */
  int defer = pending && c->front && (fl & O_NONBLOCK);
  if (direct) {
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    e = exchange_connect(fd, (struct sockaddr *)&proxy, plen, dst, len, deadline, &unreachable, defer);
    if (!e && defer) *pending = 1;
    if (e && unreachable && (e == ENETUNREACH || e == EAFNOSUPPORT || e == EINVAL) &&
        family == AF_INET6 && c->socks_addr.ss_family == AF_INET) {
      direct = 0; /* an IPV6_V6ONLY socket cannot reach a v4 proxy: use a new socket below */
      unreachable = 0;
    } else {
      if (e) disconnect(fd);
      fcntl(fd, F_SETFL, fl);
    }
  }
  if (!direct) {
    /* the fd's family cannot reach the proxy: do the exchange on a socket of the
     * proxy's family and put it in place of the program's fd (dup3 keeps the number) */
    int nfd = socket(c->socks_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (nfd < 0) return errno;
    e = exchange_connect(nfd, (struct sockaddr *)&c->socks_addr, c->socks_len, dst, len, deadline, &unreachable, 0);
    if (!e) {
      int fdfl = fcntl(fd, F_GETFD);
      if (kj_real()->dup3(nfd, fd, (fdfl >= 0 && (fdfl & FD_CLOEXEC)) ? O_CLOEXEC : 0) < 0) e = errno;
      else fcntl(fd, F_SETFL, fl);
    }
    kj_real()->close(nfd);
  }
  if (e && unreachable) {
    log_unreachable(e);
    return ECONNREFUSED;
  }
  if (e == EPROTO || e == ECONNRESET) return ECONNREFUSED;
  return e;
}

int kj_socks_settle(int fd) {
  int e = connect_reply(fd, kj_now_ms() + kj_cfg()->connect_timeout_ms);
  if (e == EPROTO || e == ECONNRESET) e = ECONNREFUSED;
  if (e) disconnect(fd);
  return e;
}

/* One command on a fresh connection of its own (RESOLVE, RESOLVE_PTR): open a session, send the
 * request, close. 0 with *rep set (out / name filled as by request()), -1 when no session was
 * opened (an unreachable proxy is logged here), or the errno of a failed request. */
static int control_request(unsigned char cmd, const unsigned char *addr_part, size_t addr_len, int *rep,
                           struct sockaddr_storage *out, char *name, size_t name_n, unsigned *bound_port) {
  const struct kj_config *c = kj_cfg();
  long long deadline = kj_now_ms() + c->connect_timeout_ms;
  int fd = socket(c->socks_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int unreachable = 0;
  int e = open_session(fd, (const struct sockaddr *)&c->socks_addr, c->socks_len, deadline, &unreachable);
  if (e) {
    if (unreachable) log_unreachable(e);
    kj_real()->close(fd);
    return -1;
  }
  e = request(fd, cmd, addr_part, addr_len, 0, deadline, rep, out, name, name_n, bound_port);
  kj_real()->close(fd);
  return e;
}

int kj_socks_resolve(const char *name, struct sockaddr_storage *out) {
  size_t nl = strlen(name);
  if (nl > 0 && name[nl - 1] == '.') nl--;
  if (nl == 0 || nl > 255) return 4;
  unsigned char a[2 + 255];
  a[0] = 3;
  a[1] = (unsigned char)nl;
  memcpy(a + 2, name, nl);
  int keep = kj_cfg()->front; /* only kinject's front gives BND.PORT that meaning */
  if (keep && kj_name_cache_get(name, nl, out)) return 0;
  int rep = 0;
  unsigned ttl_ms = 0; /* RESOLVE's BND.PORT: how long the front's answer is still good */
  int e = control_request(CMD_RESOLVE, a, 2 + nl, &rep, out, NULL, 0, &ttl_ms);
  if (e < 0) return -1;
  if (e) {
    kj_log("RESOLVE %s failed: %s", name, strerror(e));
    return -1;
  }
  if (rep == 0 && out->ss_family != AF_INET && out->ss_family != AF_INET6) return -1;
  if (rep == 0 && keep) kj_name_cache_put(name, nl, out, ttl_ms);
  kj_log("RESOLVE %s -> reply %d", name, rep);
  return rep;
}

int kj_socks_resolve_ptr(const struct sockaddr *sa, socklen_t len, char *name, size_t n) {
  unsigned char a[17];
  uint16_t port;
  size_t al = encode_addr(sa, len, a, &port);
  int rep = 0;
  if (control_request(CMD_RESOLVE_PTR, a, al, &rep, NULL, name, n, NULL)) return -1;
  if (rep == 0 && name[0] == 0) return 4;
  return rep;
}

/* classify.c - decides what is local and what goes to the cluster
 * (docs/design.md, "Classification"): loopback (except the fake range 127.77.0.0/16),
 * ::1, v4-mapped loopback and unspecified addresses are local; other IPv4/IPv6 are
 * proxied. Names: localhost, *.localhost, the machine's hostname, numeric addresses
 * and KINJECT_LOCAL_NAMES (".suffix" entries match a suffix) resolve locally.
 * Also the sockaddr helpers the other files share (v4 / v4-mapped conversions, comparison,
 * printing) and the test entry points kinject_classify_*_for_test. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "kinject.h"

static int v4_class(uint32_t host_order) {
  if ((host_order >> 16) == ((127u << 8) | 77u)) return KJ_CLASS_PROXY; /* 127.77.0.0/16 fake range */
  if ((host_order >> 24) == 127) return KJ_CLASS_LOCAL;
  if (host_order == 0) return KJ_CLASS_LOCAL;
  return KJ_CLASS_PROXY;
}

int kj_sockaddr_to_v4(const struct sockaddr *sa, socklen_t len, struct sockaddr_in *out) {
  if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
    memcpy(out, sa, sizeof *out);
    return 1;
  }
  if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
    if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
      memset(out, 0, sizeof *out);
      out->sin_family = AF_INET;
      out->sin_port = a6->sin6_port;
      memcpy(&out->sin_addr, &a6->sin6_addr.s6_addr[12], 4);
      return 1;
    }
  }
  return 0;
}

void kj_sockaddr_v4mapped(const struct sockaddr_in *a, struct sockaddr_in6 *out) {
  memset(out, 0, sizeof *out);
  out->sin6_family = AF_INET6;
  out->sin6_port = a->sin_port;
  out->sin6_addr.s6_addr[10] = 0xff;
  out->sin6_addr.s6_addr[11] = 0xff;
  memcpy(&out->sin6_addr.s6_addr[12], &a->sin_addr, 4);
}

int kj_sockaddr_for_family(const struct sockaddr_storage *addr, socklen_t len, int family,
                           struct sockaddr_storage *out, socklen_t *out_len) {
  if (addr->ss_family == family) {
    memcpy(out, addr, sizeof *out);
    *out_len = len;
    return 0;
  }
  if (family == AF_INET6 && addr->ss_family == AF_INET) {
    memset(out, 0, sizeof *out);
    kj_sockaddr_v4mapped((const struct sockaddr_in *)addr, (struct sockaddr_in6 *)out);
    *out_len = sizeof(struct sockaddr_in6);
    return 0;
  }
  return -1;
}

int kj_classify_addr(const struct sockaddr *sa, socklen_t len) {
  if (!sa || len < sizeof(sa_family_t)) return KJ_CLASS_OTHER;
  struct sockaddr_in v4;
  if (kj_sockaddr_to_v4(sa, len, &v4)) return v4_class(ntohl(v4.sin_addr.s_addr));
  if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
    if (IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr) || IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr)) return KJ_CLASS_LOCAL;
    return KJ_CLASS_PROXY;
  }
  return KJ_CLASS_OTHER;
}

int kj_sockaddr_equal(const struct sockaddr *a, const struct sockaddr *b) {
  struct sockaddr_in a4, b4;
  int ia = kj_sockaddr_to_v4(a, sizeof(struct sockaddr_in6), &a4);
  int ib = kj_sockaddr_to_v4(b, sizeof(struct sockaddr_in6), &b4);
  if (ia || ib) return ia && ib && a4.sin_port == b4.sin_port && a4.sin_addr.s_addr == b4.sin_addr.s_addr;
  if (a->sa_family != AF_INET6 || b->sa_family != AF_INET6) return 0;
  const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a, *y = (const struct sockaddr_in6 *)b;
  return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

void kj_sockaddr_str(const struct sockaddr *sa, char *buf, size_t n) {
  char ip[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    snprintf(buf, n, "%s:%u", ip, ntohs(a->sin_port));
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
    snprintf(buf, n, "[%s]:%u", ip, ntohs(a->sin6_port));
  } else {
    snprintf(buf, n, "(family %d)", sa->sa_family);
  }
}

int kj_name_is_numeric(const char *name) {
  struct in6_addr a6;
  struct in_addr a4;
  char buf[INET6_ADDRSTRLEN + 32];
  if (inet_pton(AF_INET, name, &a4) == 1) return 1;
  if (inet_aton(name, &a4) == 1) return 1; /* also 10.1, 0x7f.1, ... as libc accepts */
  snprintf(buf, sizeof buf, "%s", name);
  char *pct = strchr(buf, '%');
  if (pct) *pct = 0;
  return inet_pton(AF_INET6, buf, &a6) == 1;
}

/* case-insensitive compare of name (without a trailing dot) to [s, s+n) */
static int eq_n(const char *name, size_t nlen, const char *s, size_t n) {
  return nlen == n && strncasecmp(name, s, n) == 0;
}

static int ends_with(const char *name, size_t nlen, const char *suf, size_t slen) {
  return nlen >= slen && strncasecmp(name + nlen - slen, suf, slen) == 0;
}

int kj_name_is_local_with(const char *name, const char *local_names, const char *hostname) {
  if (!name) return 1;
  size_t nlen = strlen(name);
  if (nlen > 0 && name[nlen - 1] == '.') nlen--; /* absolute form "name." */
  if (nlen == 0) return 1;
  if (eq_n(name, nlen, "localhost", 9) || ends_with(name, nlen, ".localhost", 10)) return 1;
  if (kj_name_is_numeric(name)) return 1;
  if (hostname && *hostname) {
    size_t hl = strlen(hostname);
    if (eq_n(name, nlen, hostname, hl)) return 1;
    const char *dot = strchr(hostname, '.');
    if (dot && eq_n(name, nlen, hostname, (size_t)(dot - hostname))) return 1; /* short form */
  }
  if (local_names) {
    const char *p = local_names;
    while (*p) {
      const char *e = strchr(p, ',');
      size_t el = e ? (size_t)(e - p) : strlen(p);
      while (el > 0 && (*p == ' ' || *p == '\t')) { p++; el--; }
      while (el > 0 && (p[el - 1] == ' ' || p[el - 1] == '\t')) el--;
      if (el > 0 && p[el - 1] == '.' && el > 1) el--;
      if (el > 1 && p[0] == '.') {
        if (ends_with(name, nlen, p, el) || eq_n(name, nlen, p + 1, el - 1)) return 1;
      } else if (el > 0 && eq_n(name, nlen, p, el)) {
        return 1;
      }
      if (!e) break;
      p = e + 1;
    }
  }
  return 0;
}

int kj_name_is_local(const char *name) {
  const struct kj_config *c = kj_cfg();
  return kj_name_is_local_with(name, c->local_names, c->hostname);
}

/* ---- test entry points (used by test/native with koffi) ---- */

/* 1 proxied, 0 local, -1 not an address. addr: IPv4 or IPv6 literal. */
KJ_EXPORT int kinject_classify_for_test(const char *addr) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
  socklen_t len;
  if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    len = sizeof *a4;
  } else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    len = sizeof *a6;
  } else {
    return -1;
  }
  return kj_classify_addr((struct sockaddr *)&ss, len);
}

/* 1 resolved locally, 0 resolved through the proxy. */
KJ_EXPORT int kinject_name_is_local_for_test(const char *name, const char *local_names, const char *hostname) {
  return kj_name_is_local_with(name, local_names, hostname);
}

/* 1 when the shim is active in this process (KINJECT_SOCKS set and valid). */
KJ_EXPORT int kinject_enabled_for_test(void) { return kj_enabled(); }

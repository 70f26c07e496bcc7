/* reverse_dns.c - address -> name: getnameinfo and gethostbyaddr. Loopback and
 * unspecified addresses and NI_NUMERICHOST go to libc (gethostbyaddr_r too); other IPv4/IPv6 addresses are
 * asked of the cluster with SOCKS RESOLVE_PTR (0xF1). Without an answer getnameinfo
 * gives the numeric form (or EAI_NONAME with NI_NAMEREQD), as libc does. The hostent is laid
 * out by dns.c's kj_fill_hostent. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "kinject.h"

KJ_EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen, char *serv,
                          socklen_t servlen, int flags) {
  const struct kj_libc *real = kj_real();
  KJ_GUARD_OR(return real->getnameinfo(sa, salen, host, hostlen, serv, servlen, flags));
  if (!kj_enabled() || !sa || !host || hostlen == 0 || (flags & NI_NUMERICHOST) ||
      kj_classify_addr(sa, salen) != KJ_CLASS_PROXY)
    return real->getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
  if ((sa->sa_family == AF_INET && salen < sizeof(struct sockaddr_in)) ||
      (sa->sa_family == AF_INET6 && salen < sizeof(struct sockaddr_in6)))
    return EAI_FAMILY;
  char name[256];
  int rep = kj_socks_resolve_ptr(sa, salen, name, sizeof name);
  kj_log("getnameinfo -> reply %d %s", rep, rep == 0 ? name : "");
  if (rep != 0) {
    if (flags & NI_NAMEREQD) return rep < 0 ? EAI_AGAIN : EAI_NONAME;
    return real->getnameinfo(sa, salen, host, hostlen, serv, servlen, flags | NI_NUMERICHOST);
  }
  if (flags & NI_NOFQDN) {
    char *dot = strchr(name, '.');
    if (dot) *dot = 0;
  }
  if (strlen(name) + 1 > hostlen) return EAI_OVERFLOW;
  if (serv && servlen > 0) {
    int r = real->getnameinfo(sa, salen, NULL, 0, serv, servlen, flags);
    if (r != 0) return r;
  }
  strcpy(host, name);
  return 0;
}

/* address of a gethostbyaddr* argument as a sockaddr: length, or 0 when not IPv4/IPv6 */
static socklen_t addr_to_sockaddr(const void *addr, socklen_t len, int type, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (type == AF_INET && len == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    memcpy(&a->sin_addr, addr, 4);
    return sizeof *a;
  }
  if (type == AF_INET6 && len == 16) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    memcpy(&a->sin6_addr, addr, 16);
    return sizeof *a;
  }
  return 0;
}

/* the cluster's answer for ss (the address addr of a gethostbyaddr* call) as a hostent in buf */
static int byaddr_r(const struct sockaddr_storage *ss, socklen_t sl, struct hostent *ret, char *buf, size_t buflen,
                    struct hostent **result, int *h_errnop) {
  *result = NULL;
  char name[256];
  int rep = kj_socks_resolve_ptr((const struct sockaddr *)ss, sl, name, sizeof name);
  if (rep != 0) {
    *h_errnop = rep < 0 ? TRY_AGAIN : HOST_NOT_FOUND;
    return rep < 0 ? EAGAIN : 0;
  }
  if (kj_fill_hostent(name, ss, ret, buf, buflen) != 0) {
    *h_errnop = NETDB_INTERNAL;
    return ERANGE;
  }
  *result = ret;
  *h_errnop = 0;
  return 0;
}

/* sets *ss (length *sl) when addr is an IPv4/IPv6 address the cluster answers for */
static int proxied_addr(const void *addr, socklen_t len, int type, struct sockaddr_storage *ss, socklen_t *sl) {
  return kj_enabled() && addr && (*sl = addr_to_sockaddr(addr, len, type, ss)) != 0 &&
         kj_classify_addr((struct sockaddr *)ss, *sl) == KJ_CLASS_PROXY;
}

KJ_EXPORT int gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret, char *buf,
                              size_t buflen, struct hostent **result, int *h_errnop) {
  KJ_GUARD_OR(return kj_real()->gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop));
  struct sockaddr_storage ss;
  socklen_t sl;
  if (!proxied_addr(addr, len, type, &ss, &sl))
    return kj_real()->gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
  return byaddr_r(&ss, sl, ret, buf, buflen, result, h_errnop);
}


KJ_EXPORT struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type) {
  KJ_GUARD_OR(return kj_real()->gethostbyaddr(addr, len, type));
  struct sockaddr_storage ss;
  socklen_t sl;
  if (!proxied_addr(addr, len, type, &ss, &sl)) return kj_real()->gethostbyaddr(addr, len, type);
  struct hostent *res = NULL;
  int herr = 0;
  char *mem = kj_thread_buf(KJ_TBUF_HOSTENT_ADDR); /* this thread's hostent (thread_buf.c) */
  if (mem)
    byaddr_r(&ss, sl, (struct hostent *)mem, mem + sizeof(struct hostent), KJ_TBUF_SIZE - sizeof(struct hostent),
             &res, &herr);
  else
    herr = NO_RECOVERY;
  if (!res) h_errno = herr;
  return res;
}

/* dns.c - name lookups: getaddrinfo/freeaddrinfo and the gethostbyname family.
 * Local names (classify.c), numeric hosts, AI_NUMERICHOST and NULL nodes go to libc;
 * every other name is resolved by the cluster with SOCKS RESOLVE (0xF0) on a fresh
 * connection to KINJECT_SOCKS. Reply 4 = no such name -> EAI_NONAME/HOST_NOT_FOUND;
 * proxy not reachable -> EAI_AGAIN/TRY_AGAIN. Result lists built here are tracked so
 * freeaddrinfo frees only what the shim allocated and passes the rest to libc. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kinject.h"

enum { R_OK = 0, R_NONAME, R_NODATA, R_AGAIN, R_FAIL };

/* resolve name through the proxy, converted to the wanted family (AF_UNSPEC: as given) */
static int resolve_for(const char *name, int family, int v4mapped, struct sockaddr_storage *out) {
  struct sockaddr_storage got;
  int rep = kj_socks_resolve(name, &got);
  if (rep < 0) return R_AGAIN;
  if (rep == 4) return R_NONAME;
  if (rep != 0) return R_FAIL;
  memset(out, 0, sizeof *out);
  if (family == AF_UNSPEC || family == got.ss_family) {
    memcpy(out, &got, sizeof got);
    return R_OK;
  }
  if (family == AF_INET) {
    struct sockaddr_in v4;
    if (kj_sockaddr_to_v4((struct sockaddr *)&got, sizeof(struct sockaddr_in6), &v4)) {
      memcpy(out, &v4, sizeof v4);
      return R_OK;
    }
    return R_NODATA;
  }
  if (family == AF_INET6 && got.ss_family == AF_INET && v4mapped) {
    kj_sockaddr_v4mapped((struct sockaddr_in *)&got, (struct sockaddr_in6 *)out); /* port 0, as RESOLVE gave it */
    return R_OK;
  }
  return R_NODATA;
}

/* ---- lists allocated by the shim ---- */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
struct owned { struct addrinfo *head; struct owned *next; };
static struct owned *owned_list;

static void atfork_child(void) { pthread_mutex_init(&mu, NULL); }
__attribute__((constructor)) static void dns_ctor(void) { pthread_atfork(NULL, NULL, atfork_child); }

static void own(struct addrinfo *head) {
  struct owned *o = malloc(sizeof *o);
  if (!o) return; /* then libc would free it: same allocator, still correct */
  o->head = head;
  pthread_mutex_lock(&mu);
  o->next = owned_list;
  owned_list = o;
  pthread_mutex_unlock(&mu);
}

static int disown(struct addrinfo *head) {
  pthread_mutex_lock(&mu);
  for (struct owned **p = &owned_list; *p; p = &(*p)->next) {
    if ((*p)->head == head) {
      struct owned *o = *p;
      *p = o->next;
      pthread_mutex_unlock(&mu);
      free(o);
      return 1;
    }
  }
  pthread_mutex_unlock(&mu);
  return 0;
}

static void free_list(struct addrinfo *ai) {
  while (ai) {
    struct addrinfo *next = ai->ai_next;
    free(ai->ai_canonname);
    free(ai); /* sockaddr lives in the same block */
    ai = next;
  }
}

KJ_EXPORT void freeaddrinfo(struct addrinfo *ai) {
  KJ_GUARD_OR(return kj_real()->freeaddrinfo(ai)); /* libc frees the shim's lists the same way */
  if (ai && kj_enabled() && disown(ai)) {
    free_list(ai);
    return;
  }
  kj_real()->freeaddrinfo(ai);
}

static int service_port(const char *service, int flags, int socktype, int *port) {
  *port = 0;
  if (!service || !*service) return 0;
  char *end;
  long v = strtol(service, &end, 10);
  if (*end == 0) {
    if (v < 0 || v > 65535) return EAI_SERVICE;
    *port = (int)v;
    return 0;
  }
  if (flags & AI_NUMERICSERV) return EAI_NONAME;
  if (socktype == SOCK_RAW) return EAI_SERVICE;
  struct servent se, *res = NULL;
  char buf[1024];
  if (getservbyname_r(service, socktype == SOCK_DGRAM ? "udp" : "tcp", &se, buf, sizeof buf, &res) != 0 || !res)
    return EAI_SERVICE;
  *port = ntohs((uint16_t)res->s_port);
  return 0;
}

KJ_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                          struct addrinfo **res) {
  const struct kj_libc *real = kj_real();
  KJ_GUARD_OR(return real->getaddrinfo(node, service, hints, res));
  if (!kj_enabled() || !node) return real->getaddrinfo(node, service, hints, res);
  int flags = hints ? hints->ai_flags : 0;
  int family = hints ? hints->ai_family : AF_UNSPEC;
  if ((flags & AI_NUMERICHOST) || kj_name_is_local(node)) return real->getaddrinfo(node, service, hints, res);
  if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
    return real->getaddrinfo(node, service, hints, res);
  int socktype = hints ? hints->ai_socktype : 0;
  int protocol = hints ? hints->ai_protocol : 0;
  struct { int type, proto; } kinds[3];
  int nk = 0;
  if (socktype == 0 && protocol == 0) {
    kinds[nk].type = SOCK_STREAM; kinds[nk++].proto = IPPROTO_TCP;
    kinds[nk].type = SOCK_DGRAM; kinds[nk++].proto = IPPROTO_UDP;
    kinds[nk].type = SOCK_RAW; kinds[nk++].proto = 0;
  } else if (socktype == 0) {
    kinds[nk].type = protocol == IPPROTO_UDP ? SOCK_DGRAM : protocol == IPPROTO_TCP ? SOCK_STREAM : SOCK_RAW;
    kinds[nk++].proto = protocol;
  } else {
    kinds[nk].type = socktype;
    kinds[nk++].proto = protocol ? protocol
                        : socktype == SOCK_STREAM ? IPPROTO_TCP
                        : socktype == SOCK_DGRAM ? IPPROTO_UDP : 0;
  }
  /* the service first: a bad one fails without asking the cluster */
  int ports[3], good = 0, serr = 0;
  for (int i = 0; i < nk; i++) {
    int e = service_port(service, flags, kinds[i].type, &ports[i]);
    if (e) { ports[i] = -1; serr = e; } else good++;
  }
  if (!good) return serr;

  struct sockaddr_storage addr;
  int saved_errno = errno;
  int r = resolve_for(node, family, (flags & AI_V4MAPPED) != 0, &addr);
  kj_log("getaddrinfo %s -> %s", node, r == R_OK ? "ok" : r == R_NONAME ? "no such name" : r == R_AGAIN ? "proxy unreachable" : "failed");
  switch (r) {
    case R_OK: break;
    case R_NONAME: return EAI_NONAME;
#ifdef EAI_NODATA
    case R_NODATA: return EAI_NODATA;
#else
    case R_NODATA: return EAI_NONAME;
#endif
    case R_AGAIN: return EAI_AGAIN;
    default: return EAI_FAIL;
  }
  socklen_t alen = addr.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  struct addrinfo *head = NULL, **tail = &head;
  for (int i = 0; i < nk; i++) {
    if (ports[i] < 0) continue;
    struct addrinfo *ai = calloc(1, sizeof(struct addrinfo) + sizeof(struct sockaddr_storage));
    if (!ai) { free_list(head); return EAI_MEMORY; }
    struct sockaddr *sa = (struct sockaddr *)(ai + 1);
    memcpy(sa, &addr, alen);
    if (addr.ss_family == AF_INET) ((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)ports[i]);
    else ((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)ports[i]);
    ai->ai_flags = flags;
    ai->ai_family = addr.ss_family;
    ai->ai_socktype = kinds[i].type;
    ai->ai_protocol = kinds[i].proto;
    ai->ai_addrlen = alen;
    ai->ai_addr = sa;
    if (!head && (flags & AI_CANONNAME)) {
      ai->ai_canonname = strdup(node);
      if (!ai->ai_canonname) { free(ai); return EAI_MEMORY; }
    }
    *tail = ai;
    tail = &ai->ai_next;
  }
  own(head);
  *res = head;
  errno = saved_errno;
  return 0;
}

/* ---- gethostbyname family ---- */

/* lays out a hostent with name and the address of addr (AF_INET or AF_INET6) in buf: 0, ERANGE.
 * reverse_dns.c uses it too. */
int kj_fill_hostent(const char *name, const struct sockaddr_storage *addr, struct hostent *he, char *buf,
                    size_t buflen) {
  size_t alen = addr->ss_family == AF_INET ? 4 : 16;
  size_t nlen = strlen(name) + 1;
  size_t align = (sizeof(char *) - (uintptr_t)buf % sizeof(char *)) % sizeof(char *);
  if (buflen < align + 3 * sizeof(char *) + 16 + nlen) return ERANGE;
  char **addr_list = (char **)(buf + align);
  char **aliases = addr_list + 2;
  char *a = (char *)(aliases + 1);
  char *n = a + 16;
  if (addr->ss_family == AF_INET) memcpy(a, &((const struct sockaddr_in *)addr)->sin_addr, 4);
  else memcpy(a, &((const struct sockaddr_in6 *)addr)->sin6_addr, 16);
  memcpy(n, name, nlen);
  addr_list[0] = a;
  addr_list[1] = NULL;
  aliases[0] = NULL;
  he->h_name = n;
  he->h_aliases = aliases;
  he->h_addrtype = addr->ss_family;
  he->h_length = (int)alen;
  he->h_addr_list = addr_list;
  return 0;
}

static int herr_of(int r) {
  switch (r) {
    case R_NONAME: return HOST_NOT_FOUND;
    case R_NODATA: return NO_DATA;
    case R_AGAIN: return TRY_AGAIN;
    default: return NO_RECOVERY;
  }
}

static int byname_r(const char *name, int af, struct hostent *ret, char *buf, size_t buflen, struct hostent **result,
                    int *h_errnop) {
  *result = NULL;
  if (af != AF_INET && af != AF_INET6) {
    *h_errnop = NETDB_INTERNAL;
    return EAFNOSUPPORT;
  }
  struct sockaddr_storage addr;
  int r = resolve_for(name, af, 0, &addr);
  kj_log("gethostbyname %s -> %d", name, r);
  if (r != R_OK) {
    *h_errnop = herr_of(r);
    return r == R_AGAIN ? EAGAIN : 0;
  }
  if (kj_fill_hostent(name, &addr, ret, buf, buflen) != 0) {
    *h_errnop = NETDB_INTERNAL;
    return ERANGE;
  }
  *result = ret;
  *h_errnop = 0;
  return 0;
}

KJ_EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf, size_t buflen,
                               struct hostent **result, int *h_errnop) {
  KJ_GUARD_OR(return kj_real()->gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop));
  if (!kj_enabled() || !name || kj_name_is_local(name))
    return kj_real()->gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop);
  return byname_r(name, af, ret, buf, buflen, result, h_errnop);
}

KJ_EXPORT int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
                              struct hostent **result, int *h_errnop) {
  KJ_GUARD_OR(return kj_real()->gethostbyname_r(name, ret, buf, buflen, result, h_errnop));
  if (!kj_enabled() || !name || kj_name_is_local(name))
    return kj_real()->gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
  return byname_r(name, AF_INET, ret, buf, buflen, result, h_errnop);
}

/* gethostbyname(2) through the cluster: the answer in this thread's hostent (thread_buf.c),
 * h_errno set on failure */
static struct hostent *byname(const char *name, int af) {
  struct hostent *res = NULL;
  int herr = NO_RECOVERY;
  char *mem = kj_thread_buf(KJ_TBUF_HOSTENT);
  if (mem)
    byname_r(name, af, (struct hostent *)mem, mem + sizeof(struct hostent), KJ_TBUF_SIZE - sizeof(struct hostent),
             &res, &herr);
  if (!res) h_errno = herr;
  return res;
}

KJ_EXPORT struct hostent *gethostbyname2(const char *name, int af) {
  KJ_GUARD_OR(return kj_real()->gethostbyname2(name, af));
  if (!kj_enabled() || !name || kj_name_is_local(name)) return kj_real()->gethostbyname2(name, af);
  return byname(name, af);
}

KJ_EXPORT struct hostent *gethostbyname(const char *name) {
  KJ_GUARD_OR(return kj_real()->gethostbyname(name));
  if (!kj_enabled() || !name || kj_name_is_local(name)) return kj_real()->gethostbyname(name);
  return byname(name, AF_INET);
}

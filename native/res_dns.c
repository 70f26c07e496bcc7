/* res_dns.c - glibc's own DNS client (res_query, res_search, res_querydomain, res_send
 * and their res_n* forms, also under their old __res_* names) talks to the nameservers
 * from inside libc, where the UDP hooks cannot see it. For the length of each call the
 * nameservers of /etc/resolv.conf in the resolver state are swapped for KINJECT_DNS
 * (then put back), so such programs get the cluster's answers too. The forms without a
 * state argument use a per-thread private state (glibc reloads _res when its nameservers
 * differ from resolv.conf, which would undo the swap), kept in thread_buf.c's memory.
 * Without KINJECT_DNS: libc. */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <resolv.h>
#include <string.h>
#include "kinject.h"

typedef int (*nquery_fn)(res_state, const char *, int, int, unsigned char *, int);
typedef int (*nquerydomain_fn)(res_state, const char *, const char *, int, int, unsigned char *, int);
typedef int (*nsend_fn)(res_state, const unsigned char *, int, unsigned char *, int);
typedef int (*ninit_fn)(res_state);

struct swap {
  int n;
  int idx[MAXNS];
  struct sockaddr_in v4[MAXNS];
  struct sockaddr_in6 v6[MAXNS];
  int was_ext[MAXNS];
};

static int ns_matches(const struct sockaddr *sa) {
  const struct kj_config *c = kj_cfg();
  for (int i = 0; i < c->n_nameservers; i++)
    if (kj_sockaddr_equal(sa, (const struct sockaddr *)&c->nameservers[i])) return 1;
  return 0;
}

static void swap_in(res_state st, struct swap *sv) {
  const struct kj_config *c = kj_cfg();
  sv->n = 0;
  if (!c->dns_enabled || !st) return;
  if (!(st->options & RES_INIT)) {
    ninit_fn init = (ninit_fn)kj_real()->res_ninit;
    if (!init || init(st) != 0) return;
  }
  for (int i = 0; i < st->nscount && i < MAXNS; i++) {
    struct sockaddr_in6 *ext = st->_u._ext.nsaddrs[i];
    if (ext && ext->sin6_family == AF_INET6) {
      if (!ns_matches((struct sockaddr *)ext)) continue;
      sv->idx[sv->n] = i;
      sv->was_ext[sv->n] = 1;
      sv->v6[sv->n] = *ext;
      /* KINJECT_DNS as an IPv6 (or v4-mapped) address; ext has room for a sockaddr_in6 only */
      if (c->dns_addr.ss_family == AF_INET6) *ext = *(const struct sockaddr_in6 *)&c->dns_addr;
      else kj_sockaddr_v4mapped((const struct sockaddr_in *)&c->dns_addr, ext);
      sv->n++;
    } else if (st->nsaddr_list[i].sin_family == AF_INET && c->dns_addr.ss_family == AF_INET) {
      if (!ns_matches((struct sockaddr *)&st->nsaddr_list[i])) continue;
      sv->idx[sv->n] = i;
      sv->was_ext[sv->n] = 0;
      sv->v4[sv->n] = st->nsaddr_list[i];
      st->nsaddr_list[i] = *(const struct sockaddr_in *)&c->dns_addr;
      sv->n++;
    }
  }
  if (sv->n) kj_log("res_*: %d nameserver(s) swapped for KINJECT_DNS", sv->n);
}

static void swap_out(res_state st, struct swap *sv) {
  for (int k = 0; k < sv->n; k++) {
    int i = sv->idx[k];
    if (sv->was_ext[k]) {
      if (st->_u._ext.nsaddrs[i]) *st->_u._ext.nsaddrs[i] = sv->v6[k];
    } else {
      st->nsaddr_list[i] = sv->v4[k];
    }
  }
}

#define NQUERY_HOOK(name, field)                                                                  \
  KJ_EXPORT int name(res_state st, const char *dname, int class, int type, unsigned char *ans, int anslen) { \
    nquery_fn real = (nquery_fn)kj_real()->field;                                                  \
    KJ_GUARD_OR(return real(st, dname, class, type, ans, anslen));                                 \
    if (!kj_enabled()) return real(st, dname, class, type, ans, anslen);                           \
    struct swap sv;                                                                                \
    swap_in(st, &sv);                                                                              \
    int r = real(st, dname, class, type, ans, anslen);                                             \
    swap_out(st, &sv);                                                                             \
    return r;                                                                                      \
  }

/* the state for the forms without one: a private per-thread copy with KINJECT_DNS in it,
 * or NULL (the thread's _res) when the shim has nothing to change */
struct private_state {
  int ready; /* 0 not yet, 1 ready, -1 not usable */
  struct __res_state st;
};
_Static_assert(sizeof(struct private_state) <= KJ_TBUF_SIZE, "thread_buf.c's slot is too small");

static res_state state_for_plain(void) {
  if (!kj_enabled() || !kj_cfg()->dns_enabled) return NULL;
  struct private_state *p = kj_thread_buf(KJ_TBUF_RES); /* zeroed at first use */
  if (!p) return NULL;
  if (p->ready == 0) {
    ninit_fn init = (ninit_fn)kj_real()->res_ninit;
    p->ready = -1;
    if (init && init(&p->st) == 0) {
      struct swap sv;
      swap_in(&p->st, &sv); /* for good: this state is ours */
      if (sv.n > 0) p->ready = 1;
    }
  }
  return p->ready == 1 ? &p->st : NULL;
}

typedef int (*query_fn)(const char *, int, int, unsigned char *, int);
typedef int (*querydomain_fn)(const char *, const char *, int, int, unsigned char *, int);
typedef int (*send_fn)(const unsigned char *, int, unsigned char *, int);

/* NULL state: the plain libc function on the thread's _res */
#define QUERY_HOOK(name, field, plain)                                                             \
  KJ_EXPORT int name(const char *dname, int class, int type, unsigned char *ans, int anslen) {     \
    KJ_GUARD_OR(return ((query_fn)kj_real()->plain)(dname, class, type, ans, anslen));            \
    res_state st_ = state_for_plain();                                                             \
    if (!st_) return ((query_fn)kj_real()->plain)(dname, class, type, ans, anslen);               \
    return ((nquery_fn)kj_real()->field)(st_, dname, class, type, ans, anslen);                  \
  }

NQUERY_HOOK(res_nquery, res_nquery)
NQUERY_HOOK(__res_nquery, res_nquery)
NQUERY_HOOK(res_nsearch, res_nsearch)
NQUERY_HOOK(__res_nsearch, res_nsearch)
QUERY_HOOK(res_query, res_nquery, res_query)
QUERY_HOOK(__res_query, res_nquery, res_query)
QUERY_HOOK(res_search, res_nsearch, res_search)
QUERY_HOOK(__res_search, res_nsearch, res_search)

static int nquerydomain(res_state st, const char *n, const char *d, int class, int type, unsigned char *ans, int al) {
  nquerydomain_fn real = (nquerydomain_fn)kj_real()->res_nquerydomain;
  KJ_GUARD_OR(return real(st, n, d, class, type, ans, al));
  if (!kj_enabled()) return real(st, n, d, class, type, ans, al);
  struct swap sv;
  swap_in(st, &sv);
  int r = real(st, n, d, class, type, ans, al);
  swap_out(st, &sv);
  return r;
}
KJ_EXPORT int res_nquerydomain(res_state st, const char *n, const char *d, int class, int type, unsigned char *ans,
                               int al) {
  return nquerydomain(st, n, d, class, type, ans, al);
}
KJ_EXPORT int __res_nquerydomain(res_state st, const char *n, const char *d, int class, int type,
                                 unsigned char *ans, int al) {
  return nquerydomain(st, n, d, class, type, ans, al);
}
static int querydomain(const char *n, const char *d, int class, int type, unsigned char *ans, int al) {
  KJ_GUARD_OR(return ((querydomain_fn)kj_real()->res_querydomain)(n, d, class, type, ans, al));
  res_state st = state_for_plain();
  if (!st) return ((querydomain_fn)kj_real()->res_querydomain)(n, d, class, type, ans, al);
  return ((nquerydomain_fn)kj_real()->res_nquerydomain)(st, n, d, class, type, ans, al);
}
KJ_EXPORT int res_querydomain(const char *n, const char *d, int class, int type, unsigned char *ans, int al) {
  return querydomain(n, d, class, type, ans, al);
}
KJ_EXPORT int __res_querydomain(const char *n, const char *d, int class, int type, unsigned char *ans, int al) {
  return querydomain(n, d, class, type, ans, al);
}

static int nsend(res_state st, const unsigned char *msg, int len, unsigned char *ans, int al) {
  nsend_fn real = (nsend_fn)kj_real()->res_nsend;
  KJ_GUARD_OR(return real(st, msg, len, ans, al));
  if (!kj_enabled()) return real(st, msg, len, ans, al);
  struct swap sv;
  swap_in(st, &sv);
  int r = real(st, msg, len, ans, al);
  swap_out(st, &sv);
  return r;
}
KJ_EXPORT int res_nsend(res_state st, const unsigned char *msg, int len, unsigned char *ans, int al) {
  return nsend(st, msg, len, ans, al);
}
KJ_EXPORT int __res_nsend(res_state st, const unsigned char *msg, int len, unsigned char *ans, int al) {
  return nsend(st, msg, len, ans, al);
}
static int send_plain(const unsigned char *msg, int len, unsigned char *ans, int al) {
  KJ_GUARD_OR(return ((send_fn)kj_real()->res_send)(msg, len, ans, al));
  res_state st = state_for_plain();
  if (!st) return ((send_fn)kj_real()->res_send)(msg, len, ans, al);
  return ((nsend_fn)kj_real()->res_nsend)(st, msg, len, ans, al);
}
KJ_EXPORT int res_send(const unsigned char *msg, int len, unsigned char *ans, int al) {
  return send_plain(msg, len, ans, al);
}
KJ_EXPORT int __res_send(const unsigned char *msg, int len, unsigned char *ans, int al) {
  return send_plain(msg, len, ans, al);
}

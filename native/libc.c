/* libc.c - the real libc functions behind every hook, looked up once with
 * dlsym(RTLD_NEXT) (falling back to libc.so.6 itself when the shim was dlopen'ed,
 * e.g. by a test, and RTLD_NEXT finds nothing). Thread-safe: pthread_once.
 * kj_libc_sym() is that lookup; the file hooks (KJ_REAL in file_hooks.h) and path_map.c use it too. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include "kinject.h"

static struct kj_libc table;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int ready;

void *kj_libc_sym(const char *name) {
  void *p = dlsym(RTLD_NEXT, name);
  if (!p) {
    void *h = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    if (h) p = dlsym(h, name);
  }
  return p;
}

#define L(name) table.name = (__typeof__(table.name))kj_libc_sym(#name)

static void init(void) {
  L(connect); L(getpeername); L(close); L(dup); L(dup2); L(dup3); L(fcntl); L(fcntl64);
  if (!table.fcntl64) table.fcntl64 = table.fcntl;
  L(getaddrinfo); L(freeaddrinfo); L(gethostbyname); L(gethostbyname2);
  L(gethostbyname_r); L(gethostbyname2_r); L(getnameinfo); L(gethostbyaddr); L(gethostbyaddr_r);
  L(sendto); L(sendmsg); L(recvfrom); L(recvmsg);
  table.res_nquery = kj_libc_sym("res_nquery");
  table.res_nsearch = kj_libc_sym("res_nsearch");
  table.res_nquerydomain = kj_libc_sym("res_nquerydomain");
  table.res_nsend = kj_libc_sym("res_nsend");
  table.res_ninit = kj_libc_sym("__res_ninit"); /* resolv.h: #define res_ninit __res_ninit */
  table.res_query = kj_libc_sym("res_query");
  table.res_search = kj_libc_sym("res_search");
  table.res_querydomain = kj_libc_sym("res_querydomain");
  table.res_send = kj_libc_sym("res_send");
  L(execve); L(execvpe); L(posix_spawn); L(posix_spawnp);
  L(openat);
  __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
}

const struct kj_libc *kj_real(void) {
  if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) pthread_once(&once, init);
  return &table;
}

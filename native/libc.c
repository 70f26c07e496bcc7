/* libc.c - the real libc functions behind every hook, looked up with dlsym(RTLD_NEXT) (falling
 * back to libc.so.6 itself when the shim was dlopen'ed, e.g. by a test, and RTLD_NEXT finds
 * nothing). config.c's constructor calls kj_libc_resolve_all() first, so after start-up no hook
 * calls dlsym (which takes ld.so's lock and allocates on a miss). A hook that runs earlier (another
 * library's constructor, an allocator's start-up) looks up only what it needs, lock-free on our
 * side: no pthread_once, concurrent lookups store the same value.
 * kj_libc_sym() is that lookup; the file hooks (KJ_REAL in file_hooks.h) and path_map.c use it too. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include "kinject.h"

static struct kj_libc table;
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

static void fill_table(void) {
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
  if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) fill_table();
  return &table;
}

/* KJ_REAL's per-hook slots (file_hooks.h) register themselves in the section kj_real_slots */
extern struct kj_real_slot __start_kj_real_slots[] __attribute__((weak, visibility("hidden")));
extern struct kj_real_slot __stop_kj_real_slots[] __attribute__((weak, visibility("hidden")));

void kj_libc_resolve_all(void) {
  (void)kj_real();
  for (struct kj_real_slot *s = __start_kj_real_slots; s && s < __stop_kj_real_slots; s++)
    if (!__atomic_load_n(s->fn, __ATOMIC_ACQUIRE)) __atomic_store_n(s->fn, kj_libc_sym(s->name), __ATOMIC_RELEASE);
}

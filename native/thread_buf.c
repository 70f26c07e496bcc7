/* thread_buf.c - per-thread scratch memory for the few hooks that must hand back memory that
 * outlives their stack frame (dlopen's mapped name, gethostbyname's and gethostbyaddr's result,
 * res_query's private resolver state). Not __thread variables: the shim's only TLS is the hook
 * guard's int (initial-exec, kinject.h), so that it can be dlopen'ed (a test's koffi) within the
 * small static TLS reserve. Not the heap either: one mmap'd region per thread that asks, found
 * through a pthread key (created in config.c's constructor) and unmapped at thread exit. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/mman.h>
#include "kinject.h"

static pthread_key_t key;
static int key_ok; /* atomic */

static void release(void *p) {
  if (p) munmap(p, KJ_TBUF_COUNT * KJ_TBUF_SIZE);
}

void kj_thread_buf_init(void) {
  if (pthread_key_create(&key, release) == 0) __atomic_store_n(&key_ok, 1, __ATOMIC_RELEASE);
}

void *kj_thread_buf(int which) {
  if (which < 0 || which >= KJ_TBUF_COUNT || !__atomic_load_n(&key_ok, __ATOMIC_ACQUIRE)) return NULL;
  char *p = pthread_getspecific(key);
  if (!p) {
    p = mmap(NULL, KJ_TBUF_COUNT * KJ_TBUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    if (pthread_setspecific(key, p) != 0) {
      munmap(p, KJ_TBUF_COUNT * KJ_TBUF_SIZE);
      return NULL;
    }
  }
  return p + (size_t)which * KJ_TBUF_SIZE;
}

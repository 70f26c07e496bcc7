/* name_cache.c - the shim's memory of RESOLVE answers: a program that opens many connections to
 * one name asks the front once per answer's life instead of once per connection (each question
 * is a connection to the front and a round trip through it). The front says in every RESOLVE
 * reply (BND.PORT, in ms) how much longer its own cached answer is good; the shim keeps it no
 * longer, so a name is never staler here than in the front (src/front/resolver.ts). Addresses
 * only: "no such name" and failures are asked again. A small direct-mapped table; thread-safe. */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include "kinject.h"

#define SLOTS 64

struct slot {
  char name[256];
  struct sockaddr_storage addr;
  long long expires; /* CLOCK_MONOTONIC ms; 0 = empty */
};

static struct slot slots[SLOTS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void atfork_child(void) { pthread_mutex_init(&mu, NULL); }
__attribute__((constructor)) static void name_cache_ctor(void) { pthread_atfork(NULL, NULL, atfork_child); }

/* FNV-1a of the lower-cased name */
static unsigned slot_of(const char *name, size_t len) {
  unsigned h = 2166136261u;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)name[i];
    if (ch >= 'A' && ch <= 'Z') ch = (unsigned char)(ch + 32);
    h = (h ^ ch) * 16777619u;
  }
  return h % SLOTS;
}

int kj_name_cache_get(const char *name, size_t len, struct sockaddr_storage *out) {
  if (len == 0 || len > 255) return 0;
  struct slot *s = &slots[slot_of(name, len)];
  int hit = 0;
  pthread_mutex_lock(&mu);
  if (s->expires > kj_now_ms() && strlen(s->name) == len && strncasecmp(s->name, name, len) == 0) {
    memcpy(out, &s->addr, sizeof *out);
    hit = 1;
  }
  pthread_mutex_unlock(&mu);
  return hit;
}

void kj_name_cache_put(const char *name, size_t len, const struct sockaddr_storage *addr, unsigned ttl_ms) {
  if (ttl_ms == 0 || len == 0 || len > 255) return;
  struct slot *s = &slots[slot_of(name, len)];
  pthread_mutex_lock(&mu);
  memcpy(s->name, name, len);
  s->name[len] = 0;
  memcpy(&s->addr, addr, sizeof s->addr);
  s->expires = kj_now_ms() + ttl_ms;
  pthread_mutex_unlock(&mu);
}

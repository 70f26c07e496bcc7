/* fd_registry.c - which fds the shim has taken over, and what the program asked for:
 * proxied TCP fd -> original destination (for getpeername), redirected UDP DNS fd ->
 * original nameserver (for recvfrom/recvmsg/getpeername); a non-blocking connect whose SOCKS
 * reply has not been read yet is TCP_PENDING, then TCP_SETTLING while one thread reads it
 * (connect_settle.c), and keeps the outcome for threads that waited.
 * Thread-safe: writers take a mutex; kj_fd_clear (called from close(), maybe in a
 * signal handler) only does an atomic store. Each entry also remembers the socket's
 * inode, so a stale entry (fd closed behind our back, e.g. by close_range) never
 * applies to a new socket that reuses the number. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "kinject.h"

#define CHUNK 1024
#define NCHUNKS 1024 /* fds up to 1M */

struct entry {
  int state; /* atomic: KJ_FD_* */
  int result; /* atomic: a settled connect's errno (0: connected), for threads that waited */
  dev_t dev;
  ino_t ino;
  socklen_t len;
  struct sockaddr_storage addr;
};

static struct entry *chunks[NCHUNKS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int count; /* atomic: entries ever set (fast path for close) */

static void atfork_child(void) { pthread_mutex_init(&mu, NULL); }
__attribute__((constructor)) static void reg_ctor(void) { pthread_atfork(NULL, NULL, atfork_child); }

static struct entry *slot(int fd, int create) {
  if (fd < 0 || fd >= CHUNK * NCHUNKS) return NULL;
  struct entry *c = __atomic_load_n(&chunks[fd / CHUNK], __ATOMIC_ACQUIRE);
  if (!c && create) {
    c = calloc(CHUNK, sizeof *c);
    if (!c) return NULL;
    __atomic_store_n(&chunks[fd / CHUNK], c, __ATOMIC_RELEASE); /* under mu */
  }
  return c ? &c[fd % CHUNK] : NULL;
}

void kj_fd_set(int fd, int kind, const struct sockaddr *orig, socklen_t len) {
  struct stat st;
  if (fstat(fd, &st) != 0) return;
  if (len > sizeof(struct sockaddr_storage)) len = sizeof(struct sockaddr_storage);
  pthread_mutex_lock(&mu);
  struct entry *e = slot(fd, 1);
  if (e) {
    __atomic_store_n(&e->state, KJ_FD_NONE, __ATOMIC_RELEASE);
    __atomic_store_n(&e->result, 0, __ATOMIC_RELEASE);
    e->dev = st.st_dev;
    e->ino = st.st_ino;
    memset(&e->addr, 0, sizeof e->addr);
    memcpy(&e->addr, orig, len);
    e->len = len;
    __atomic_store_n(&e->state, kind, __ATOMIC_RELEASE);
    __atomic_fetch_add(&count, 1, __ATOMIC_RELAXED);
  }
  pthread_mutex_unlock(&mu);
}

int kj_fd_get(int fd, struct sockaddr_storage *orig, socklen_t *len) {
  if (__atomic_load_n(&count, __ATOMIC_RELAXED) == 0) return KJ_FD_NONE;
  struct entry *e = slot(fd, 0);
  if (!e || __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == KJ_FD_NONE) return KJ_FD_NONE;
  struct stat st;
  if (fstat(fd, &st) != 0) return KJ_FD_NONE;
  int kind;
  pthread_mutex_lock(&mu);
  kind = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
  if (kind != KJ_FD_NONE && (e->dev != st.st_dev || e->ino != st.st_ino)) {
    __atomic_store_n(&e->state, KJ_FD_NONE, __ATOMIC_RELEASE); /* stale */
    kind = KJ_FD_NONE;
  }
  if (kind != KJ_FD_NONE) {
    if (orig) memcpy(orig, &e->addr, sizeof *orig);
    if (len) *len = e->len;
  }
  pthread_mutex_unlock(&mu);
  return kind;
}

void kj_fd_clear(int fd) {
  if (__atomic_load_n(&count, __ATOMIC_RELAXED) == 0) return;
  struct entry *e = slot(fd, 0);
  if (e) __atomic_store_n(&e->state, KJ_FD_NONE, __ATOMIC_RELEASE);
}

void kj_fd_copy(int from, int to) {
  if (from == to) return;
  struct sockaddr_storage ss;
  socklen_t len = 0;
  int kind = kj_fd_get(from, &ss, &len);
  if (kind == KJ_FD_NONE) kj_fd_clear(to);
  else kj_fd_set(to, kind, (struct sockaddr *)&ss, len);
}

int kj_fd_adopt(int fd, struct sockaddr_storage *orig, socklen_t *len) {
  if (__atomic_load_n(&count, __ATOMIC_RELAXED) == 0) return KJ_FD_NONE;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return KJ_FD_NONE;
  int kind = KJ_FD_NONE;
  pthread_mutex_lock(&mu);
  for (int c = 0; c < NCHUNKS && kind == KJ_FD_NONE; c++) {
    struct entry *ch = __atomic_load_n(&chunks[c], __ATOMIC_ACQUIRE);
    if (!ch) continue;
    for (int i = 0; i < CHUNK; i++) {
      struct entry *e = &ch[i];
      int k = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
      if (k == KJ_FD_TCP_PENDING || k == KJ_FD_TCP_SETTLING) continue; /* not connected yet: its own fd settles it */
      if (k != KJ_FD_NONE && e->dev == st.st_dev && e->ino == st.st_ino) {
        kind = k;
        memcpy(orig, &e->addr, sizeof *orig);
        *len = e->len;
        break;
      }
    }
  }
  pthread_mutex_unlock(&mu);
  if (kind != KJ_FD_NONE) kj_fd_set(fd, kind, (struct sockaddr *)orig, *len);
  return kind;
}

/* lock-free, no fstat: the hot check of every read hook (a hint; kj_fd_get validates) */
int kj_fd_pending(int fd) {
  if (__atomic_load_n(&count, __ATOMIC_RELAXED) == 0) return 0;
  struct entry *e = slot(fd, 0);
  if (!e) return 0;
  int k = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
  return k == KJ_FD_TCP_PENDING || k == KJ_FD_TCP_SETTLING;
}

int kj_fd_state(int fd) {
  struct entry *e = slot(fd, 0);
  return e ? __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) : KJ_FD_NONE;
}

int kj_fd_transition(int fd, int from, int to) {
  struct entry *e = slot(fd, 0);
  if (!e) return 0;
  int expected = from;
  return __atomic_compare_exchange_n(&e->state, &expected, to, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

void kj_fd_set_result(int fd, int result) {
  struct entry *e = slot(fd, 0);
  if (e) __atomic_store_n(&e->result, result, __ATOMIC_RELEASE);
}

int kj_fd_result(int fd) {
  struct entry *e = slot(fd, 0);
  return e ? __atomic_load_n(&e->result, __ATOMIC_ACQUIRE) : 0;
}

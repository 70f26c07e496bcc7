/* log.c - the shim's only output: one-line messages on stderr (fd 2), never stdout.
 * kj_log prints only with KINJECT_VERBOSE=1, prefixed "kinject[shim PID]: ";
 * kj_warn prints the user-facing warnings of docs/design.md as given. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "kinject.h"

static void write_all(const char *buf, size_t n) {
  while (n > 0) {
    ssize_t w = write(2, buf, n);
    if (w < 0) { if (errno == EINTR) continue; return; }
    buf += w; n -= (size_t)w;
  }
}

static void vline(const char *prefix, const char *fmt, va_list ap) {
  char buf[1024];
  int saved = errno;
  int n = 0;
  if (prefix) n = snprintf(buf, sizeof buf, "%s", prefix);
  if (n < 0) n = 0;
  int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
  if (m < 0) m = 0;
  size_t len = (size_t)n + (size_t)m;
  if (len > sizeof buf - 2) len = sizeof buf - 2;
  buf[len++] = '\n';
  write_all(buf, len);
  errno = saved;
}

void kj_log(const char *fmt, ...) {
  if (!kj_cfg()->verbose) return;
  char prefix[48];
  snprintf(prefix, sizeof prefix, "kinject[shim %d]: ", (int)getpid());
  va_list ap;
  va_start(ap, fmt);
  vline(prefix, fmt, ap);
  va_end(ap);
}

void kj_warn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vline(NULL, fmt, ap);
  va_end(ap);
}

static int unreachable_said;

void kj_warn_proxy_unreachable(void) {
  if (__atomic_exchange_n(&unreachable_said, 1, __ATOMIC_ACQ_REL)) return;
  kj_warn("kinject: the kinject proxy at %s is not reachable (is kinject still running?)", kj_cfg()->socks_str);
}

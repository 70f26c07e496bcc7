/* config.c - reads the shim's environment (docs/design.md, "The shim's environment") once, in the
 * shim's constructor, without the heap: environ is scanned directly, /etc/resolv.conf is read with
 * libc's openat/read into a stack buffer, copies go to static storage. Until that constructor has
 * finished every hook is the plain libc call (kj_guard_free() in kinject.h), and so is a hook
 * reached while another hook of the shim runs on the same thread (native/README.md, "Hooks never
 * recurse"). Without KINJECT_SOCKS the shim stays disabled and every hook passes straight to libc. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kinject.h"

extern char **environ;

static struct kj_config cfg;
int kj_initialised;                                        /* atomic; set once the constructor is done */
__thread uintptr_t kj_guard_frame __attribute__((tls_model("initial-exec")));

static char local_names_buf[8192];
static char saved_env_buf[32768];                          /* the KINJECT_* copies, NUL-separated */

/* getenv without libc (which may be interposed or, in some libcs, lock): the value or NULL */
static const char *env(const char *name) {
  size_t n = strlen(name);
  for (char **e = environ; e && *e; e++)
    if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
  return NULL;
}

/* copies s into dst (size n) when it fits: 0, else -1 (dst untouched) */
static int copy_str(char *dst, size_t n, const char *s) {
  size_t l = strlen(s);
  if (l >= n) return -1;
  memcpy(dst, s, l + 1);
  return 0;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

int kj_parse_hostport(const char *s, struct sockaddr_storage *out, socklen_t *len) {
  char host[128];
  const char *port_s;
  if (!s || !*s) return -1;
  if (s[0] == '[') {
    const char *end = strchr(s, ']');
    if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof host) return -1;
    memcpy(host, s + 1, (size_t)(end - s - 1));
    host[end - s - 1] = 0;
    port_s = end + 2;
  } else {
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host) return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    port_s = colon + 1;
  }
  char *endp;
  long port = strtol(port_s, &endp, 10);
  if (*port_s == 0 || *endp != 0 || port <= 0 || port > 65535) return -1;
  memset(out, 0, sizeof *out);
  if (strcmp(host, "localhost") == 0) strcpy(host, "127.0.0.1");
  struct sockaddr_in *a4 = (struct sockaddr_in *)out;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *len = sizeof *a4;
    return 0;
  }
  if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    *len = sizeof *a6;
    return 0;
  }
  return -1;
}

/* one "nameserver ADDR" line (without its newline) */
static void resolv_line(char *p) {
  while (is_space(*p)) p++;
  if (strncmp(p, "nameserver", 10) != 0 || !is_space(p[10])) return;
  p += 10;
  while (is_space(*p)) p++;
  char *e = p;
  while (*e && !is_space(*e)) e++;
  *e = 0;
  char *pct = strchr(p, '%');
  if (pct) *pct = 0;
  struct sockaddr_storage *ss = &cfg.nameservers[cfg.n_nameservers];
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, p, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(53);
    cfg.n_nameservers++;
  } else if (inet_pton(AF_INET6, p, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(53);
    cfg.n_nameservers++;
  }
}

/* the nameservers of /etc/resolv.conf (its first 16 KiB), read with libc's openat/read, no stdio */
static void read_resolv_conf(void) {
  const struct kj_libc *r = kj_real();
  if (!r->openat || !r->close) return;
  int fd = r->openat(AT_FDCWD, "/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[16384];
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
    if (len == sizeof buf - 1) break;
  }
  r->close(fd);
  buf[len] = 0;
  char *line = buf;
  while (*line && cfg.n_nameservers < KJ_MAX_NAMESERVERS) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = 0;
    resolv_line(line);
    if (!nl) break;
    line = nl + 1;
  }
}

/* "KINJECT_X=value" of the environment into saved_env_buf, for exec.c */
static void save_env(void) {
  size_t used = 0;
  for (char **e = environ; e && *e && cfg.n_saved_env < KJ_MAX_SAVED_ENV; e++) {
    if (strncmp(*e, "KINJECT_", 8) != 0 || !strchr(*e, '=')) continue;
    size_t l = strlen(*e) + 1;
    if (used + l > sizeof saved_env_buf) {
      kj_warn("kinject: warning: the KINJECT_* variables are longer than %zu bytes; %.40s... is not passed on to children",
              sizeof saved_env_buf, *e);
      continue;
    }
    memcpy(saved_env_buf + used, *e, l);
    cfg.saved_env[cfg.n_saved_env++] = saved_env_buf + used;
    used += l;
  }
}

/* Reads everything; heap-free (see the header). Runs once, in the constructor. */
static void init(void) {
  const char *socks = env("KINJECT_SOCKS");
  if (!socks || !*socks) return; /* nothing at all happens */
  const char *verbose = env("KINJECT_VERBOSE");
  cfg.verbose = verbose && strcmp(verbose, "1") == 0;
  if (copy_str(cfg.socks_str, sizeof cfg.socks_str, socks) != 0 ||
      kj_parse_hostport(socks, &cfg.socks_addr, &cfg.socks_len) != 0) {
    kj_warn("kinject: warning: KINJECT_SOCKS=%.200s is not HOST:PORT with a numeric host; the shim is disabled", socks);
    return;
  }
  const char *tok = env("KINJECT_TOKEN");
  if (tok && *tok) {
    if (copy_str(cfg.token, sizeof cfg.token, tok) == 0) cfg.has_token = 1;
    else kj_warn("kinject: warning: KINJECT_TOKEN is longer than %zu bytes; ignored", sizeof cfg.token - 1);
  }
  const char *front = env("KINJECT_FRONT");
  cfg.front = front && strcmp(front, "1") == 0;
  const char *dns = env("KINJECT_DNS");
  if (dns && *dns) {
    if (kj_parse_hostport(dns, &cfg.dns_addr, &cfg.dns_len) == 0) cfg.dns_enabled = 1;
    else kj_warn("kinject: warning: KINJECT_DNS=%.200s is not HOST:PORT with a numeric host; ignored", dns);
  }
  const char *ln = env("KINJECT_LOCAL_NAMES");
  if (ln && *ln) {
    if (copy_str(local_names_buf, sizeof local_names_buf, ln) == 0) cfg.local_names = local_names_buf;
    else kj_warn("kinject: warning: KINJECT_LOCAL_NAMES is longer than %zu bytes; ignored", sizeof local_names_buf - 1);
  }
  const char *lib = env("KINJECT_LIB");
  if (!lib || !*lib || copy_str(cfg.lib, sizeof cfg.lib, lib) != 0) {
    Dl_info info;
    cfg.lib[0] = 0;
    if (dladdr((void *)&kj_cfg, &info) && info.dli_fname && info.dli_fname[0] == '/')
      copy_str(cfg.lib, sizeof cfg.lib, info.dli_fname);
  }
  const char *wd = env("KINJECT_WARN_DIR");
  if (wd && wd[0] == '/' && strlen(wd) < sizeof cfg.warn_dir - 32) copy_str(cfg.warn_dir, sizeof cfg.warn_dir, wd);
  cfg.connect_timeout_ms = 30000;
  const char *to = env("KINJECT_CONNECT_TIMEOUT_MS");
  if (to && atoi(to) > 0) cfg.connect_timeout_ms = atoi(to);
  if (gethostname(cfg.hostname, sizeof cfg.hostname - 1) != 0) cfg.hostname[0] = 0;
  read_resolv_conf();
  save_env();
  kj_path_map_init(env("KINJECT_PATH_MAP"));
  cfg.enabled = 1;
}

const struct kj_config *kj_cfg(void) { return &cfg; }

int kj_enabled(void) { return __atomic_load_n(&kj_initialised, __ATOMIC_ACQUIRE) && cfg.enabled; }

/* The shim's constructor. Hooks reached from here (or from another library's constructor, or an
 * allocator's start-up, before this has run) are the plain libc calls: the guard is held until
 * the end. The real functions are looked up first, so no hook needs dlsym afterwards. */
__attribute__((constructor)) static void kj_config_ctor(void) {
  kj_guard_frame = (uintptr_t)__builtin_frame_address(0);
  kj_libc_resolve_all();
  kj_thread_buf_init();
  init();
  __atomic_store_n(&kj_initialised, 1, __ATOMIC_RELEASE);
  if (cfg.enabled) {
    kj_log("active: socks=%s dns=%s token=%s nameservers=%d", cfg.socks_str, cfg.dns_enabled ? "on" : "off",
           cfg.has_token ? "yes" : "no", cfg.n_nameservers);
    kj_path_map_log();
    kj_path_map_env(); /* may allocate (setenv): the config is complete, the guard still held */
  }
  kj_guard_frame = 0;
}

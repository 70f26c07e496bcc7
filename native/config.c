/* config.c - reads the shim's environment (docs/design.md, "The shim's environment")
 * once, in a constructor (or at the first hook, whichever comes first).
 * Without KINJECT_SOCKS the shim stays disabled and every hook passes straight to libc. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kinject.h"

extern char **environ;

static struct kj_config cfg;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int ready;
static int init_running;   /* set while init() runs, by the thread in init_owner */
static pthread_t init_owner;

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

static void read_resolv_conf(void) {
  FILE *f = fopen("/etc/resolv.conf", "re");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f) && cfg.n_nameservers < KJ_MAX_NAMESERVERS) {
    char *p = line;
    while (isspace((unsigned char)*p)) p++;
    if (strncmp(p, "nameserver", 10) != 0 || !isspace((unsigned char)p[10])) continue;
    p += 10;
    while (isspace((unsigned char)*p)) p++;
    char *e = p;
    while (*e && !isspace((unsigned char)*e)) e++;
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
  fclose(f);
}

static void init(void) {
  init_owner = pthread_self();
  __atomic_store_n(&init_running, 1, __ATOMIC_RELEASE);
  const char *socks = getenv("KINJECT_SOCKS");
  if (!socks || !*socks) goto done; /* nothing at all happens */
  cfg.verbose = getenv("KINJECT_VERBOSE") && strcmp(getenv("KINJECT_VERBOSE"), "1") == 0;
  snprintf(cfg.socks_str, sizeof cfg.socks_str, "%s", socks);
  if (kj_parse_hostport(socks, &cfg.socks_addr, &cfg.socks_len) != 0) {
    kj_warn("kinject: warning: KINJECT_SOCKS=%s is not HOST:PORT with a numeric host; the shim is disabled", socks);
    goto done;
  }
  const char *tok = getenv("KINJECT_TOKEN");
  if (tok && *tok) {
    snprintf(cfg.token, sizeof cfg.token, "%s", tok);
    cfg.has_token = 1;
  }
  const char *dns = getenv("KINJECT_DNS");
  if (dns && *dns) {
    if (kj_parse_hostport(dns, &cfg.dns_addr, &cfg.dns_len) == 0) cfg.dns_enabled = 1;
    else kj_warn("kinject: warning: KINJECT_DNS=%s is not HOST:PORT with a numeric host; ignored", dns);
  }
  const char *ln = getenv("KINJECT_LOCAL_NAMES");
  if (ln && *ln) cfg.local_names = strdup(ln);
  const char *lib = getenv("KINJECT_LIB");
  if (lib && *lib) {
    snprintf(cfg.lib, sizeof cfg.lib, "%s", lib);
  } else {
    Dl_info info;
    if (dladdr((void *)&kj_cfg, &info) && info.dli_fname && info.dli_fname[0] == '/')
      snprintf(cfg.lib, sizeof cfg.lib, "%s", info.dli_fname);
  }
  const char *wd = getenv("KINJECT_WARN_DIR");
  if (wd && wd[0] == '/' && strlen(wd) < sizeof cfg.warn_dir - 32) snprintf(cfg.warn_dir, sizeof cfg.warn_dir, "%s", wd);
  cfg.connect_timeout_ms = 30000;
  const char *to = getenv("KINJECT_CONNECT_TIMEOUT_MS");
  if (to && atoi(to) > 0) cfg.connect_timeout_ms = atoi(to);
  if (gethostname(cfg.hostname, sizeof cfg.hostname - 1) != 0) cfg.hostname[0] = 0;
  read_resolv_conf();
  for (char **e = environ; e && *e && cfg.n_saved_env < KJ_MAX_SAVED_ENV; e++) {
    if (strncmp(*e, "KINJECT_", 8) == 0 && strchr(*e, '=')) {
      char *copy = strdup(*e);
      if (copy) cfg.saved_env[cfg.n_saved_env++] = copy;
    }
  }
  kj_path_map_init(getenv("KINJECT_PATH_MAP"));
  cfg.enabled = 1;
done:
  __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
  if (cfg.enabled)
    kj_log("active: socks=%s dns=%s token=%s nameservers=%d", cfg.socks_str, cfg.dns_enabled ? "on" : "off",
           cfg.has_token ? "yes" : "no", cfg.n_nameservers);
  if (cfg.enabled) kj_path_map_log();
}

const struct kj_config *kj_cfg(void) {
  if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) pthread_once(&once, init);
  return &cfg;
}

int kj_enabled(void) { return kj_cfg()->enabled; }

const struct kj_config *kj_cfg_nowait(void) {
  if (__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) return &cfg;
  if (__atomic_load_n(&init_running, __ATOMIC_ACQUIRE) && pthread_equal(init_owner, pthread_self())) return NULL;
  return kj_cfg();
}

__attribute__((constructor)) static void kj_config_ctor(void) { (void)kj_cfg(); }

/* path_map.c - KINJECT_PATH_MAP: the workload's volumes at their in-cluster paths.
 *
 * KINJECT_PATH_MAP=/etc/web=/tmp/kinject-0/ab12cd/etc/web:/data=/tmp/kinject-0/ab12cd/data
 * (pairs IN_CLUSTER=LOCAL separated by ':'; both absolute). It is parsed once, inside config.c's
 * constructor (only when the shim is on), into a table sorted longest in-cluster prefix first,
 * whose strings live in the table's own static pool: no heap, ever.
 *
 * kinject_map_path() is the hot path of every file hook: no allocation, no lock, errno untouched.
 * An absolute path maps when, once normalised lexically ("//" -> "/", "." dropped, ".." pops a
 * component, a trailing '/' ignored), it equals an in-cluster prefix or starts with prefix + "/".
 * The result is LOCAL + the rest of the normalised path (+ '/' when the caller's path ended in
 * one, so "dir must be a directory" semantics survive). Relative paths are never mapped. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include "kinject.h"

#define KJ_PM_MAX 64
#define KJ_PM_POOL (256 * 1024) /* the table's strings */

struct pm_entry {
  char *from; /* in-cluster prefix, normalised */
  size_t from_len;
  char *to;   /* local path, normalised */
  size_t to_len;
  int alias;  /* added by add_aliases: forward only, never the answer of a reverse mapping */
};

struct pm_table {
  int n;
  struct pm_entry e[KJ_PM_MAX];
  size_t used;
  char pool[KJ_PM_POOL];
};

static struct pm_table table; /* written once in config.c's constructor, before hooks act */
static struct pm_table test_table; /* kinject_map_path_for_test's (tests call it from one thread) */

/* a copy of s (len bytes) in t's pool, or NULL when the pool is full */
static char *pool_copy(struct pm_table *t, const char *s, size_t len) {
  if (t->used + len + 1 > sizeof t->pool) return NULL;
  char *d = t->pool + t->used;
  memcpy(d, s, len);
  d[len] = 0;
  t->used += len + 1;
  return d;
}

/* The first entry whose in-cluster prefix is exactly s (len bytes), or NULL. */
static const struct pm_entry *find_from(const struct pm_table *t, const char *s, size_t len) {
  for (int i = 0; i < t->n; i++)
    if (t->e[i].from_len == len && memcmp(t->e[i].from, s, len) == 0) return &t->e[i];
  return NULL;
}

/* Lexical walk of an absolute path into out (size n): "//" -> "/", "." dropped, ".." pops a
 * component. Returns the length of the result, which starts with '/' and has no "//", "." or ".."
 * and no trailing '/' (except "/" itself); -1 when it does not fit. With stop set, returns -2 as
 * soon as the walk, having just added a component, stands on an in-cluster prefix of stop (out is
 * then not terminated). */
static long walk(const char *in, char *out, size_t n, const struct pm_table *stop) {
  size_t o = 0;
  const char *p = in;
  while (*p) {
    while (*p == '/') p++;
    if (!*p) break;
    const char *s = p;
    while (*p && *p != '/') p++;
    size_t cl = (size_t)(p - s);
    if (cl == 1 && s[0] == '.') continue;
    if (cl == 2 && s[0] == '.' && s[1] == '.') {
      while (o > 0 && out[o - 1] != '/') o--;
      if (o > 0) o--;
      continue;
    }
    if (o + 1 + cl >= n) return -1;
    out[o++] = '/';
    memcpy(out + o, s, cl);
    o += cl;
    if (stop && find_from(stop, out, o)) return -2;
  }
  if (o == 0) {
    if (n < 2) return -1;
    out[o++] = '/';
  }
  out[o] = 0;
  return (long)o;
}

/* lexical normalisation of an absolute path into out (size n): the length, or -1 (does not fit) */
static long normalize(const char *in, char *out, size_t n) { return walk(in, out, n, NULL); }

/* s (len bytes, absolute) normalised into out (KJ_PATH_MAX bytes): its length, or -1 */
static long normalized(const char *s, size_t len, char *out) {
  char raw[KJ_PATH_MAX];
  if (len == 0 || len >= sizeof raw || s[0] != '/') return -1;
  memcpy(raw, s, len);
  raw[len] = 0;
  return normalize(raw, out, KJ_PATH_MAX);
}

/* longest in-cluster prefix first (insertion sort, n is small) */
static void table_sort(struct pm_table *t) {
  for (int i = 1; i < t->n; i++) {
    struct pm_entry x = t->e[i];
    int j = i - 1;
    while (j >= 0 && t->e[j].from_len < x.from_len) {
      t->e[j + 1] = t->e[j];
      j--;
    }
    t->e[j + 1] = x;
  }
}

/* 1 when path exists here (following links); errno kept. Uses libc's faccessat, not the hook. */
static int exists_locally(const char *path) {
  static int (*real_faccessat)(int, const char *, int, int);
  int (*f)(int, const char *, int, int) = __atomic_load_n(&real_faccessat, __ATOMIC_ACQUIRE);
  if (!f) {
    f = (int (*)(int, const char *, int, int))kj_libc_sym("faccessat");
    if (!f) return 1;
    __atomic_store_n(&real_faccessat, f, __ATOMIC_RELEASE);
  }
  int saved = errno;
  int r = f(AT_FDCWD, path, F_OK, 0);
  errno = saved;
  return r == 0;
}

/* the symlinks of an existing absolute, normalised path resolved, into out (KJ_PATH_MAX): 0 or -1.
 * Heap-free (libc's realpath may allocate): each prefix is read with libc's readlink and a link's
 * text spliced in; the prefix before it is link-free, so a ".." in the text pops lexically. */
static int resolve_links(const char *in, char *out) {
  static ssize_t (*real_readlink)(const char *, char *, size_t);
  ssize_t (*rl)(const char *, char *, size_t) = __atomic_load_n(&real_readlink, __ATOMIC_ACQUIRE);
  if (!rl) {
    rl = (ssize_t(*)(const char *, char *, size_t))kj_libc_sym("readlink");
    if (!rl) return -1;
    __atomic_store_n(&real_readlink, rl, __ATOMIC_RELEASE);
  }
  char cur[KJ_PATH_MAX], next[KJ_PATH_MAX], link[KJ_PATH_MAX];
  if (normalize(in, cur, sizeof cur) < 0) return -1;
  for (int hops = 0; hops < 40;) {
    size_t len = strlen(cur), i = 1;
    int spliced = 0;
    while (i <= len && !spliced) {
      while (i < len && cur[i] != '/') i++; /* cur[0..i) is the next prefix */
      char saved = cur[i];
      cur[i] = 0;
      int saved_errno = errno;
      ssize_t n = rl(cur, link, sizeof link - 1);
      errno = saved_errno;
      cur[i] = saved;
      if (n > 0) {
        link[n] = 0;
        size_t dir = i; /* the prefix's parent: up to its last '/' */
        while (dir > 0 && cur[dir - 1] != '/') dir--;
        size_t base = link[0] == '/' ? 0 : dir;
        if (base + (size_t)n + (len - i) + 2 > sizeof next) return -1;
        memcpy(next, cur, base);
        memcpy(next + base, link, (size_t)n);
        memcpy(next + base + (size_t)n, cur + i, len - i + 1);
        if (next[0] != '/') return -1;
        if (normalize(next, cur, sizeof cur) < 0) return -1;
        spliced = 1;
        hops++;
      }
      i++;
    }
    if (!spliced) {
      memcpy(out, cur, strlen(cur) + 1);
      return 0;
    }
  }
  return -1; /* a loop */
}

/* An in-cluster prefix below a local symlink (/var/run -> /run on most distributions, and in
 * most images) is also reachable through the link's target: programs that resolve links
 * themselves (node's fs.realpathSync, used by require) ask for /run/secrets/... when the map says
 * /var/run/secrets/.... For each pair, the longest ancestor that exists here is resolved; when
 * it differs, "RESOLVED/rest=LOCAL" is added as a forward-only alias. Runs in the constructor, once. */
static void add_aliases(struct pm_table *t) {
  int n0 = t->n;
  for (int i = 0; i < n0 && t->n < KJ_PM_MAX; i++) {
    const struct pm_entry *e = &t->e[i];
    char anc[KJ_PATH_MAX], res[KJ_PATH_MAX], alias[KJ_PATH_MAX];
    memcpy(anc, e->from, e->from_len + 1);
    size_t al = e->from_len;
    for (;;) { /* strip the last component until what is left exists */
      while (al > 0 && anc[al - 1] != '/') al--;
      if (al > 1) al--; /* drop the slash, but keep "/" */
      anc[al] = 0;
      if (al <= 1 || exists_locally(anc)) break;
    }
    if (al <= 1) continue; /* only "/" exists: nothing to resolve */
    if (resolve_links(anc, res) != 0 || strcmp(res, anc) == 0) continue;
    size_t rl = strcmp(res, "/") == 0 ? 0 : strlen(res);
    size_t sl = e->from_len - al;
    if (rl + sl + 1 > sizeof alias) continue;
    memcpy(alias, res, rl);
    memcpy(alias + rl, e->from + al, sl + 1);
    size_t fl = rl + sl, tl = e->to_len;
    if (find_from(t, alias, fl)) continue;
    char *from = pool_copy(t, alias, fl), *to = pool_copy(t, e->to, tl);
    if (!from || !to) continue;
    t->e[t->n++] = (struct pm_entry){from, fl, to, tl, 1};
  }
  table_sort(t);
}

/* Parses spec into t (which must be empty). Bad pairs are skipped with a warning when warn is set.
 * Returns the number of entries. */
static int table_parse(struct pm_table *t, const char *spec, int warn) {
  t->n = 0;
  t->used = 0;
  if (!spec) return 0;
  const char *p = spec;
  while (*p) {
    const char *end = strchr(p, ':');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    const char *eq = memchr(p, '=', len);
    if (len > 0) {
      long fl = -1, tl = -1;
      char from_n[KJ_PATH_MAX], to_n[KJ_PATH_MAX];
      char *from = NULL, *to = NULL;
      if (eq) {
        fl = normalized(p, (size_t)(eq - p), from_n);
        tl = normalized(eq + 1, len - (size_t)(eq - p) - 1, to_n);
      }
      /* "/" on either side is not a volume (it would map, or unmap, every path) */
      int ok = fl >= 2 && tl >= 2 && t->n < KJ_PM_MAX;
      if (ok && find_from(t, from_n, (size_t)fl)) {
        /* the first pair for a prefix wins */
      } else if (ok && (from = pool_copy(t, from_n, (size_t)fl)) && (to = pool_copy(t, to_n, (size_t)tl))) {
        t->e[t->n++] = (struct pm_entry){from, (size_t)fl, to, (size_t)tl, 0};
      } else if (warn) {
        kj_warn("kinject: warning: KINJECT_PATH_MAP entry \"%.*s\" is not /IN/CLUSTER=/LOCAL (or too many); ignored",
                (int)(len > 300 ? 300 : len), p);
      }
    }
    if (!end) break;
    p = end + 1;
  }
  table_sort(t);
  return t->n;
}

void kj_path_map_init(const char *spec) {
  if (!spec || !*spec) return;
  table_parse(&table, spec, 1); /* kj_log after init: kj_path_map_log */
  add_aliases(&table);
}

void kj_path_map_log(void) {
  for (int i = 0; i < table.n; i++)
    kj_log("path map: %s -> %s%s", table.e[i].from, table.e[i].to, table.e[i].alias ? " (alias: a local symlink on the way)" : "");
}

/* hooks may act (config.c's constructor done, no hook of ours running on this thread), shim on,
 * at least one pair */
int kj_path_map_active(void) { return kj_guard_free() && kj_enabled() && table.n > 0; }

/* does the lexical walk of path stop at a mapped in-cluster dir on the way? */
static int passes_through(const struct pm_table *t, const char *path) {
  char w[KJ_PATH_MAX];
  return walk(path, w, sizeof w, t) == -2;
}

/* A dir above an in-cluster prefix that does not exist here (/data for /data/db,
 * /var/run/secrets for the service account) would make programs that walk the path
 * (node's realpath, require) fail before they reach the volume. When the local side mirrors
 * the in-cluster layout below that dir (LOCAL ends with the rest of the prefix, as under the
 * runner's mount root), the dir maps to the matching local dir. buf holds the normalised path
 * (length n); it is rewritten on success. Dirs that exist here (/etc, /var) stay local. */
static int map_ancestor(const struct pm_table *t, char *buf, size_t n) {
  if (n < 2) return 0;
  for (int i = 0; i < t->n; i++) {
    const struct pm_entry *e = &t->e[i];
    if (n >= e->from_len || e->from[n] != '/' || memcmp(e->from, buf, n) != 0) continue;
    size_t sl = e->from_len - n; /* "/kubernetes.io/serviceaccount" */
    if (e->to_len <= sl || memcmp(e->to + e->to_len - sl, e->from + n, sl) != 0) continue;
    if (exists_locally(buf)) return 0;
    memcpy(buf, e->to, e->to_len - sl);
    buf[e->to_len - sl] = 0;
    return 1;
  }
  return 0;
}

static const char *map_with(const struct pm_table *t, const char *path, char *buf) {
  if (!path || path[0] != '/' || t->n == 0) return path;
  long n = normalize(path, buf, KJ_PATH_MAX);
  if (n < 0) return path; /* longer than PATH_MAX: the kernel says ENAMETOOLONG itself */
  for (int i = 0; i < t->n; i++) {
    const struct pm_entry *e = &t->e[i];
    if ((size_t)n < e->from_len || memcmp(buf, e->from, e->from_len) != 0) continue;
    if (buf[e->from_len] != 0 && buf[e->from_len] != '/') continue; /* /etc/webx is not /etc/web */
    size_t rest = (size_t)n - e->from_len;
    size_t plen = strlen(path);
    int slash = plen > 0 && path[plen - 1] == '/';
    size_t total = e->to_len + rest + (size_t)slash;
    if (total >= KJ_PATH_MAX) {
      errno = ENAMETOOLONG;
      return NULL;
    }
    memmove(buf + e->to_len, buf + e->from_len, rest + 1);
    memcpy(buf, e->to, e->to_len);
    if (slash && buf[total - 2] != '/') {
      buf[total - 1] = '/';
      buf[total] = 0;
    }
    return buf;
  }
  if (map_ancestor(t, buf, (size_t)n)) return buf;
  /* "/etc/web/.." is "/etc": outside the map, but the kernel would walk through the local
   * /etc/web, which does not exist. When a ".." climbs out of a mapped dir, hand over the
   * normalised path. Paths that never pass through a mapped dir keep their own ".." semantics. */
  if (strstr(path, "/..") && passes_through(t, path)) return buf;
  return path;
}

/* holds the hook guard while it maps: whatever it reaches (libc's faccessat, readlink) is libc's */
const char *kinject_map_path(const char *path, char *buf) {
  if (!path || path[0] != '/' || !kj_path_map_active()) return path;
  struct kj_guard g = kj_guard_take();
  if (!g.held) return path;
  const char *r = map_with(&table, path, buf);
  kj_guard_drop(&g);
  return r;
}

static int unmap_with(const struct pm_table *t, const char *in, char *out, size_t size) {
  if (!in || in[0] != '/') return 0;
  const struct pm_entry *best = NULL;
  for (int i = 0; i < t->n; i++) {
    const struct pm_entry *e = &t->e[i];
    if (e->alias || strncmp(in, e->to, e->to_len) != 0) continue;
    if (in[e->to_len] != 0 && in[e->to_len] != '/') continue;
    if (!best || e->to_len > best->to_len) best = e;
  }
  if (!best) return 0;
  const char *rest = in + best->to_len;
  size_t rl = strlen(rest);
  if (best->from_len + rl + 1 > size) return -1;
  memmove(out + best->from_len, rest, rl + 1); /* out may be in */
  memcpy(out, best->from, best->from_len);
  return 1;
}

int kj_unmap_path(const char *in, char *out, size_t size) {
  if (!kj_path_map_active()) return 0; /* unmap_with calls nothing */
  return unmap_with(&table, in, out, size);
}

/* Test entry point (koffi): maps path with the given map spec, without the environment.
 * dir: 0 forward (in-cluster -> local), 1 reverse. Returns 1 mapped (out filled), 0 not mapped,
 * -1 too long. */
KJ_EXPORT int kinject_map_path_for_test(const char *spec, const char *path, int dir, char *out, size_t n) {
  struct pm_table *t = &test_table;
  char buf[KJ_PATH_MAX];
  int r = 0;
  table_parse(t, spec, 0);
  if (dir == 0) {
    const char *m = map_with(t, path, buf);
    if (!m) r = -1;
    else if (m == buf) {
      if (strlen(buf) + 1 > n) r = -1;
      else {
        memcpy(out, buf, strlen(buf) + 1);
        r = 1;
      }
    }
  } else {
    char tmp[KJ_PATH_MAX];
    r = unmap_with(t, path, tmp, sizeof tmp);
    if (r == 1) {
      if (strlen(tmp) + 1 > n) r = -1;
      else memcpy(out, tmp, strlen(tmp) + 1);
    }
  }
  return r;
}

/* libuv (node) can run file calls on io_uring, which no libc hook sees: node >= 20.3 with
 * libuv 1.45-1.47 did by default, later libuv with UV_USE_IO_URING=1. libuv reads that variable
 * lazily, at its first file call, so turning it off in the shim's constructor (config.c, after the
 * config is read, before main) keeps node's async fs on the threadpool, where the hooks work. Only
 * when a map is active. setenv allocates: the constructor holds the hook guard meanwhile. */
void kj_path_map_env(void) {
  if (!kj_enabled() || table.n == 0) return;
  const char *v = getenv("UV_USE_IO_URING");
  if (v && strcmp(v, "0") == 0) return;
  if (v) kj_log("UV_USE_IO_URING=%s overridden to 0: io_uring file calls would bypass KINJECT_PATH_MAP", v);
  setenv("UV_USE_IO_URING", "0", 1);
}

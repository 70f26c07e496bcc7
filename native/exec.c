/* exec.c - the execve family and posix_spawn[p]: keep the process tree captured.
 * The new environment gets KINJECT_LIB back into LD_PRELOAD and every KINJECT_*
 * variable the shim started with that the new env lacks. Static ELF binaries (no
 * PT_INTERP), Go binaries (a Go build-ID note) and setuid/setgid files bypass the
 * shim: one warning per path on stderr (per session with KINJECT_WARN_DIR, else per process),
 * then they run anyway.
 * No malloc here (execve may run in a vfork child): buffers live on the stack. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kinject.h"

extern char **environ;

/* ---- the binary check ---- */

#define WARNED_MAX 128
static uint64_t warned[WARNED_MAX];

/* the file itself, whatever the path that names it (FNV-1a of device and inode) */
static uint64_t hash_file(const struct stat *st) {
  uint64_t parts[2] = {(uint64_t)st->st_dev, (uint64_t)st->st_ino};
  const unsigned char *b = (const unsigned char *)parts;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < sizeof parts; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h | 1;
}

/* 1 if no process of the session has shown this warning yet: the first to create its mark in
 * KINJECT_WARN_DIR (O_EXCL, with libc's own openat: a volume mapped over the directory must not
 * redirect it) wins. No directory, or it cannot be used: this process decides alone. */
static int first_in_session(uint64_t h) {
  const struct kj_config *c = kj_cfg();
  const struct kj_libc *r = kj_real();
  if (!c->warn_dir[0] || !r->openat) return 1;
  char mark[sizeof c->warn_dir];
  static const char hex[] = "0123456789abcdef";
  size_t n = strlen(c->warn_dir);
  memcpy(mark, c->warn_dir, n);
  mark[n++] = '/';
  for (int i = 15; i >= 0; i--) mark[n++] = hex[(h >> (i * 4)) & 15];
  mark[n] = 0;
  int saved = errno;
  int fd = r->openat(AT_FDCWD, mark, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  int first = fd >= 0 || errno != EEXIST;
  if (fd >= 0) r->close(fd);
  errno = saved;
  return first;
}

/* 1 the first time for this file, in this process and (KINJECT_WARN_DIR) in the session */
static int first_warning(uint64_t h) {
  for (int i = 0; i < WARNED_MAX; i++) {
    uint64_t cur = __atomic_load_n(&warned[i], __ATOMIC_ACQUIRE);
    if (cur == h) return 0;
    if (cur == 0) {
      uint64_t zero = 0;
      if (__atomic_compare_exchange_n(&warned[i], &zero, h, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return first_in_session(h);
      if (zero == h) return 0;
    }
  }
  return first_in_session(h);
}

static int has_go_note(const unsigned char *p, size_t n, int is64) {
  size_t off = 0;
  (void)is64;
  while (off + 12 <= n) {
    uint32_t namesz, descsz, type;
    memcpy(&namesz, p + off, 4);
    memcpy(&descsz, p + off + 4, 4);
    memcpy(&type, p + off + 8, 4);
    off += 12;
    size_t nl = (namesz + 3u) & ~3u, dl = (descsz + 3u) & ~3u;
    if (nl > n - off) return 0;
    if ((namesz == 3 || namesz == 4) && memcmp(p + off, "Go\0", 3) == 0 && type == 4) return 1; /* NT_GOBUILDID */
    off += nl;
    if (dl > n - off) return 0;
    off += dl;
  }
  return 0;
}

/* "static", "Go" or NULL */
static const char *elf_kind(int fd) {
  unsigned char eh[sizeof(Elf64_Ehdr)];
  if (pread(fd, eh, sizeof eh, 0) < (ssize_t)sizeof(Elf32_Ehdr)) return NULL;
  if (memcmp(eh, ELFMAG, SELFMAG) != 0) return NULL;
  int is64 = eh[EI_CLASS] == ELFCLASS64;
  uint64_t phoff;
  unsigned phnum, phentsize, etype;
  if (is64) {
    Elf64_Ehdr h;
    memcpy(&h, eh, sizeof h);
    phoff = h.e_phoff; phnum = h.e_phnum; phentsize = h.e_phentsize; etype = h.e_type;
  } else {
    Elf32_Ehdr h;
    memcpy(&h, eh, sizeof h);
    phoff = h.e_phoff; phnum = h.e_phnum; phentsize = h.e_phentsize; etype = h.e_type;
  }
  if (etype != ET_EXEC && etype != ET_DYN) return NULL;
  if (phnum == 0 || phnum > 128 || phentsize < (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) || phentsize > 128)
    return NULL;
  int interp = 0, go = 0, soname = 0;
  unsigned char note[4096];
  for (unsigned i = 0; i < phnum; i++) {
    uint32_t ptype;
    uint64_t off, filesz;
    if (is64) {
      Elf64_Phdr ph;
      if (pread(fd, &ph, sizeof ph, (off_t)(phoff + (uint64_t)i * phentsize)) != (ssize_t)sizeof ph) return NULL;
      ptype = ph.p_type; off = ph.p_offset; filesz = ph.p_filesz;
    } else {
      Elf32_Phdr ph;
      if (pread(fd, &ph, sizeof ph, (off_t)(phoff + (uint64_t)i * phentsize)) != (ssize_t)sizeof ph) return NULL;
      ptype = ph.p_type; off = ph.p_offset; filesz = ph.p_filesz;
    }
    if (ptype == PT_INTERP) interp = 1;
    if (ptype == PT_DYNAMIC) {
      /* a DT_SONAME marks a shared object run directly (ld.so itself), not a static-pie program */
      size_t n = filesz < sizeof note ? (size_t)filesz : sizeof note;
      ssize_t r = pread(fd, note, n, (off_t)off);
      size_t esz = is64 ? sizeof(Elf64_Dyn) : sizeof(Elf32_Dyn);
      for (size_t o = 0; r > 0 && o + esz <= (size_t)r; o += esz) {
        int64_t tag;
        if (is64) { Elf64_Dyn d; memcpy(&d, note + o, sizeof d); tag = d.d_tag; }
        else { Elf32_Dyn d; memcpy(&d, note + o, sizeof d); tag = d.d_tag; }
        if (tag == DT_NULL) break;
        if (tag == DT_SONAME) soname = 1;
      }
    }
    if (ptype == PT_NOTE && !go) {
      size_t n = filesz < sizeof note ? (size_t)filesz : sizeof note;
      ssize_t r = pread(fd, note, n, (off_t)off);
      if (r > 0 && has_go_note(note, (size_t)r, is64)) go = 1;
    }
  }
  if (go) return "Go";
  if (!interp && etype == ET_EXEC) return "static";
  if (!interp && etype == ET_DYN && !soname) return "static"; /* static-pie */
  return NULL;
}

static void check_binary(const char *path) {
  if (!path) return;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st;
  const char *kind = NULL;
  const char *setid = NULL;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    if (st.st_mode & S_ISUID) setid = "setuid";
    else if (st.st_mode & S_ISGID) setid = "setgid";
    if (!setid) kind = elf_kind(fd);
  }
  kj_real()->close(fd);
  if (!kind && !setid) return;
  if (!first_warning(hash_file(&st))) return;
  if (setid)
    kj_warn("kinject: warning: %s is %s: the loader drops LD_PRELOAD, so its network calls bypass kinject", path, setid);
  else
    kj_warn("kinject: warning: %s is a %s binary: its network calls bypass kinject (run it with --method netns to capture them)", path, kind);
}

/* PATH search as execvp does, for the check only: writes into buf, returns buf or NULL */
static const char *search_path(const char *file, char *buf, size_t n) {
  if (!file || !*file) return NULL;
  if (strchr(file, '/')) return file;
  const char *path = getenv("PATH");
  if (!path) path = "/bin:/usr/bin";
  size_t fl = strlen(file);
  while (*path) {
    const char *e = strchr(path, ':');
    size_t dl = e ? (size_t)(e - path) : strlen(path);
    if (dl == 0) {
      if (fl + 1 <= n) { memcpy(buf, file, fl + 1); if (access(buf, X_OK) == 0) return buf; }
    } else if (dl + 1 + fl + 1 <= n) {
      memcpy(buf, path, dl);
      buf[dl] = '/';
      memcpy(buf + dl + 1, file, fl + 1);
      if (access(buf, X_OK) == 0) return buf;
    }
    if (!e) break;
    path = e + 1;
  }
  return NULL;
}

/* ---- the environment ---- */

static int env_has(char *const envp[], const char *entry) {
  size_t nl = (size_t)(strchr(entry, '=') - entry) + 1; /* "NAME=" */
  for (size_t i = 0; envp && envp[i]; i++)
    if (strncmp(envp[i], entry, nl) == 0) return 1;
  return 0;
}

/* does the LD_PRELOAD value (space/colon separated) already name lib? */
static int preload_has(const char *value, const char *lib) {
  size_t ll = strlen(lib);
  const char *p = value;
  while (*p) {
    while (*p == ' ' || *p == ':') p++;
    const char *s = p;
    while (*p && *p != ' ' && *p != ':') p++;
    if ((size_t)(p - s) == ll && strncmp(s, lib, ll) == 0) return 1;
  }
  return 0;
}

typedef int (*exec_fn)(void *ctx, char *const envp[]);

/* calls fn with envp fixed up; all memory on this stack frame */
static int with_env(char *const envp[], exec_fn fn, void *ctx) {
  const struct kj_config *c = kj_cfg();
  size_t n = 0;
  const char *old_preload = NULL;
  while (envp && envp[n]) {
    if (strncmp(envp[n], "LD_PRELOAD=", 11) == 0) old_preload = envp[n] + 11;
    n++;
  }
  size_t lib_len = strlen(c->lib);
  size_t ld_len = 11 + lib_len + 1 + (old_preload ? strlen(old_preload) : 0) + 1;
  if (ld_len > 65536) ld_len = 0; /* absurd: leave LD_PRELOAD alone */
  char ld[ld_len ? ld_len : 1];
  char *out[n + (size_t)c->n_saved_env + 2];
  size_t k = 0;
  int need_ld = lib_len > 0 && ld_len > 0 && !(old_preload && preload_has(old_preload, c->lib));
  if (need_ld) {
    if (old_preload && *old_preload) {
      memcpy(ld, "LD_PRELOAD=", 11);
      memcpy(ld + 11, c->lib, lib_len);
      ld[11 + lib_len] = ' ';
      strcpy(ld + 12 + lib_len, old_preload);
    } else {
      memcpy(ld, "LD_PRELOAD=", 11);
      memcpy(ld + 11, c->lib, lib_len + 1);
    }
  }
  for (size_t i = 0; i < n; i++) {
    if (need_ld && strncmp(envp[i], "LD_PRELOAD=", 11) == 0) continue;
    out[k++] = envp[i];
  }
  if (need_ld) out[k++] = ld;
  for (int i = 0; i < c->n_saved_env; i++)
    if (!env_has(envp, c->saved_env[i])) out[k++] = c->saved_env[i];
  out[k] = NULL;
  return fn(ctx, out);
}

/* ---- execve family ---- */

struct exec_ctx {
  const char *path;
  char *const *argv;
  int search; /* PATH search (execvp*) */
};

static int do_exec(void *p, char *const envp[]) {
  struct exec_ctx *x = p;
  if (x->search) return kj_real()->execvpe(x->path, x->argv, envp);
  return kj_real()->execve(x->path, x->argv, envp);
}

static int exec_common(const char *path, char *const argv[], char *const envp[], int search) {
  struct exec_ctx x = {path, argv, search};
  /* the guard is only checked, never held: execve does not return (and in a vfork child the
   * parent's thread-local guard would stay taken); the check's open() maps through the hooks */
  if (!kj_enabled() || !kj_guard_free()) return do_exec(&x, envp);
  char mapped[KJ_PATH_MAX]; /* KINJECT_PATH_MAP: a program or script in a volume */
  if (path && (!search || strchr(path, '/'))) {
    x.path = kinject_map_path(path, mapped);
    if (!x.path) return -1;
  }
  /* the check gets the path as given: its open()/access() map it once, through the hooks */
  char buf[PATH_MAX];
  check_binary(search ? search_path(path, buf, sizeof buf) : path);
  return with_env(envp, do_exec, &x);
}

KJ_EXPORT int execve(const char *path, char *const argv[], char *const envp[]) {
  return exec_common(path, argv, envp, 0);
}
KJ_EXPORT int execv(const char *path, char *const argv[]) { return exec_common(path, argv, environ, 0); }
KJ_EXPORT int execvp(const char *file, char *const argv[]) { return exec_common(file, argv, environ, 1); }
KJ_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]) {
  return exec_common(file, argv, envp, 1);
}

static size_t count_args(va_list ap) {
  size_t n = 1;
  while (va_arg(ap, char *) != NULL) n++;
  return n;
}

#define COLLECT_ARGS(arg0, argv_name, after_null)                   \
  va_list ap, ap2;                                                  \
  va_start(ap, arg0);                                               \
  va_copy(ap2, ap);                                                 \
  size_t nargs_ = count_args(ap2);                                  \
  va_end(ap2);                                                      \
  if (nargs_ > 1u << 20) { va_end(ap); errno = E2BIG; return -1; }  \
  char *argv_name[nargs_ + 1];                                      \
  argv_name[0] = (char *)arg0;                                      \
  for (size_t i_ = 1; i_ < nargs_; i_++) argv_name[i_] = va_arg(ap, char *); \
  argv_name[nargs_] = NULL;                                         \
  (void)va_arg(ap, char *);                                         \
  after_null;                                                       \
  va_end(ap)

KJ_EXPORT int execl(const char *path, const char *arg, ...) {
  COLLECT_ARGS(arg, argv, (void)0);
  return exec_common(path, argv, environ, 0);
}

KJ_EXPORT int execlp(const char *file, const char *arg, ...) {
  COLLECT_ARGS(arg, argv, (void)0);
  return exec_common(file, argv, environ, 1);
}

KJ_EXPORT int execle(const char *path, const char *arg, ...) {
  char *const *envp;
  va_list ap, ap2;
  va_start(ap, arg);
  va_copy(ap2, ap);
  size_t nargs = count_args(ap2);
  va_end(ap2);
  if (nargs > 1u << 20) { va_end(ap); errno = E2BIG; return -1; }
  char *argv[nargs + 1];
  argv[0] = (char *)arg;
  for (size_t i = 1; i < nargs; i++) argv[i] = va_arg(ap, char *);
  argv[nargs] = NULL;
  (void)va_arg(ap, char *); /* the NULL */
  envp = va_arg(ap, char *const *);
  va_end(ap);
  return exec_common(path, argv, envp, 0);
}

/* ---- posix_spawn ---- */

struct spawn_ctx {
  pid_t *pid;
  const char *path;
  const posix_spawn_file_actions_t *fa;
  const posix_spawnattr_t *attr;
  char *const *argv;
  int search;
};

static int do_spawn(void *p, char *const envp[]) {
  struct spawn_ctx *s = p;
  if (s->search) return kj_real()->posix_spawnp(s->pid, s->path, s->fa, s->attr, s->argv, envp);
  return kj_real()->posix_spawn(s->pid, s->path, s->fa, s->attr, s->argv, envp);
}

static int spawn_common(struct spawn_ctx *s, char *const envp[]) {
  if (!kj_enabled() || !kj_guard_free()) return do_spawn(s, envp); /* the guard: as exec_common */
  char mapped[KJ_PATH_MAX]; /* KINJECT_PATH_MAP: a program or script in a volume */
  const char *given = s->path; /* for the check: its open()/access() map it once, through the hooks */
  if (s->path && (!s->search || strchr(s->path, '/'))) {
    const char *m = kinject_map_path(s->path, mapped);
    if (!m) return ENAMETOOLONG;
    s->path = m;
  }
  char buf[PATH_MAX];
  check_binary(s->search ? search_path(given, buf, sizeof buf) : given);
  return with_env(envp ? envp : environ, do_spawn, s);
}

KJ_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                          const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
  struct spawn_ctx s = {pid, path, fa, attr, argv, 0};
  return spawn_common(&s, envp);
}

KJ_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
  struct spawn_ctx s = {pid, file, fa, attr, argv, 1};
  return spawn_common(&s, envp);
}

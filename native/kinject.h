/* kinject.h - declarations shared by the preload shim's files (the .c files in native/).
 * The shim is built with -fvisibility=hidden: only functions marked KJ_EXPORT
 * (the hooked libc symbols and the test entry points) leave the library. */
#ifndef KINJECT_H
#define KINJECT_H

#include <stddef.h>
#include <stdint.h>
#include <netdb.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/types.h>

#define KJ_EXPORT __attribute__((visibility("default")))

/* ---- libc.c: the real functions, resolved once ---- */
struct kj_libc {
  int (*connect)(int, const struct sockaddr *, socklen_t);
  int (*getpeername)(int, struct sockaddr *, socklen_t *);
  int (*close)(int);
  int (*dup)(int);
  int (*dup2)(int, int);
  int (*dup3)(int, int, int);
  int (*fcntl)(int, int, ...);
  int (*fcntl64)(int, int, ...);
  int (*getaddrinfo)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
  void (*freeaddrinfo)(struct addrinfo *);
  struct hostent *(*gethostbyname)(const char *);
  struct hostent *(*gethostbyname2)(const char *, int);
  int (*gethostbyname_r)(const char *, struct hostent *, char *, size_t, struct hostent **, int *);
  int (*gethostbyname2_r)(const char *, int, struct hostent *, char *, size_t, struct hostent **, int *);
  int (*getnameinfo)(const struct sockaddr *, socklen_t, char *, socklen_t, char *, socklen_t, int);
  struct hostent *(*gethostbyaddr)(const void *, socklen_t, int);
  int (*gethostbyaddr_r)(const void *, socklen_t, int, struct hostent *, char *, size_t, struct hostent **, int *);
  ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
  ssize_t (*sendmsg)(int, const struct msghdr *, int);
  ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
  ssize_t (*recvmsg)(int, struct msghdr *, int);
  /* glibc's DNS client (res_dns.c): stored untyped, resolv.h is not included here */
  void *res_nquery, *res_nsearch, *res_nquerydomain, *res_nsend, *res_ninit;
  void *res_query, *res_search, *res_querydomain, *res_send;
  int (*execve)(const char *, char *const[], char *const[]);
  int (*execvpe)(const char *, char *const[], char *const[]);
  int (*posix_spawn)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
                     char *const[], char *const[]);
  int (*posix_spawnp)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
                      char *const[], char *const[]);
  int (*openat)(int, const char *, int, ...);  /* unmapped: exec.c's warning marks */
};
const struct kj_libc *kj_real(void);
/* the next definition of name (the libc function, not a hook), looked up now, uncached */
void *kj_libc_sym(const char *name);
/* a lazily looked-up function pointer (file_hooks.h's KJ_REAL), resolved in advance by
 * kj_libc_resolve_all() (config.c's constructor) along with kj_real()'s table */
struct kj_real_slot {
  void **fn;
  const char *name;
};
void kj_libc_resolve_all(void);

/* ---- config.c: the environment, read once, and the hook guard ---- */
#define KJ_MAX_NAMESERVERS 8
#define KJ_MAX_SAVED_ENV 32
struct kj_config {
  int enabled;                         /* KINJECT_SOCKS set and valid */
  char socks_str[160];                 /* as given, for messages */
  struct sockaddr_storage socks_addr;
  socklen_t socks_len;
  char token[256];
  int has_token;
  int front; /* KINJECT_FRONT=1: the proxy is kinject's own front (socks5.c: pipelined handshake, pid) */
  int dns_enabled;
  struct sockaddr_storage dns_addr;
  socklen_t dns_len;
  const char *local_names;             /* comma-separated, may be NULL (a copy in config.c) */
  int verbose;
  char lib[4096];                      /* KINJECT_LIB or our own path */
  char warn_dir[4096];                 /* KINJECT_WARN_DIR: marks of warnings already shown, "" = none */
  int connect_timeout_ms;
  char hostname[256];
  int n_nameservers;
  struct sockaddr_storage nameservers[KJ_MAX_NAMESERVERS];
  int n_saved_env;
  char *saved_env[KJ_MAX_SAVED_ENV];   /* "KINJECT_X=value" copies for exec (static storage) */
};
/* never NULL; ->enabled is 0 until config.c's constructor has finished (hooks pass through) */
const struct kj_config *kj_cfg(void);
int kj_enabled(void);                  /* initialised and KINJECT_SOCKS valid */

/* The hook guard (native/README.md, "Hooks never recurse"). A hook acts only once config.c's
 * constructor has finished and while no hook of the shim runs on this thread; otherwise it is
 * the plain libc call. kj_guard_frame is per thread, initial-exec TLS: reading it never calls
 * __tls_get_addr, so it never allocates. It holds the stack frame of the hook that took the guard
 * (0: none): a call from inside that hook runs deeper, at a lower address, and is refused; a hook
 * left by longjmp (a signal handler jumping out of a blocking connect) does not block the
 * thread's later calls made from its caller's depth or above. */
extern int kj_initialised __attribute__((visibility("hidden")));
extern __thread uintptr_t kj_guard_frame __attribute__((tls_model("initial-exec"), visibility("hidden")));
/* 1 when a hook may act now (initialised, no hook of ours running on this thread) */
static inline __attribute__((always_inline)) int kj_guard_free(void) {
  uintptr_t f = kj_guard_frame;
  return __atomic_load_n(&kj_initialised, __ATOMIC_ACQUIRE) && (f == 0 || (uintptr_t)__builtin_frame_address(0) >= f);
}
struct kj_guard { int held; };
static inline __attribute__((always_inline)) struct kj_guard kj_guard_take(void) {
  struct kj_guard g = {0};
  if (kj_guard_free()) {
    kj_guard_frame = (uintptr_t)__builtin_frame_address(0);
    g.held = 1;
  }
  return g;
}
static inline void kj_guard_drop(struct kj_guard *g) {
  if (g->held) {
    g->held = 0;
    kj_guard_frame = 0;
  }
}
/* First line of a hook that holds the guard for all its work: when it cannot act, runs
 * passthrough (a return of libc's call); otherwise the guard is dropped when the hook returns. */
#define KJ_GUARD_OR(passthrough)                                                              \
  struct kj_guard kj_guard_ __attribute__((cleanup(kj_guard_drop))) = kj_guard_take(); \
  if (!kj_guard_.held) passthrough
int kj_parse_hostport(const char *s, struct sockaddr_storage *out, socklen_t *len);

/* ---- thread_buf.c: per-thread scratch memory (mmap'd, zeroed at first use; no TLS, no heap) ---- */
enum { KJ_TBUF_DLOPEN, KJ_TBUF_RES, KJ_TBUF_HOSTENT, KJ_TBUF_HOSTENT_ADDR, KJ_TBUF_COUNT };
#define KJ_TBUF_SIZE 4096
void kj_thread_buf_init(void);     /* config.c's constructor */
void *kj_thread_buf(int which);    /* KJ_TBUF_SIZE bytes of this thread's, or NULL */

/* ---- log.c ---- */
void kj_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));   /* KINJECT_VERBOSE only */
void kj_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));  /* always, one line */
void kj_warn_proxy_unreachable(void);                                        /* once per process */

/* ---- classify.c ---- */
enum { KJ_CLASS_OTHER = -1, KJ_CLASS_LOCAL = 0, KJ_CLASS_PROXY = 1 };
int kj_classify_addr(const struct sockaddr *sa, socklen_t len);
int kj_name_is_local(const char *name);
int kj_name_is_local_with(const char *name, const char *local_names, const char *hostname);
int kj_name_is_numeric(const char *name);
int kj_sockaddr_to_v4(const struct sockaddr *sa, socklen_t len, struct sockaddr_in *out); /* AF_INET or v4-mapped */
void kj_sockaddr_v4mapped(const struct sockaddr_in *a, struct sockaddr_in6 *out); /* ::ffff:a, same port */
/* a configured address (KINJECT_SOCKS, KINJECT_DNS) for a socket of the given family: as it is, or
 * v4-mapped for an IPv4 address and an AF_INET6 socket. 0, or -1 when that family cannot reach it. */
int kj_sockaddr_for_family(const struct sockaddr_storage *addr, socklen_t len, int family,
                           struct sockaddr_storage *out, socklen_t *out_len);
int kj_sockaddr_equal(const struct sockaddr *a, const struct sockaddr *b); /* addr+port, v4-mapped aware */
void kj_sockaddr_str(const struct sockaddr *sa, char *buf, size_t n);

/* ---- connect.c ---- */
/* the connect() hook's work (classify -> libc / UDP DNS / SOCKS), for callers holding the guard */
int kj_connect(int fd, const struct sockaddr *addr, socklen_t len);

/* ---- fd_registry.c ---- */
enum { KJ_FD_NONE = 0, KJ_FD_TCP_PROXIED = 1, KJ_FD_UDP_DNS = 2, KJ_FD_TCP_PENDING = 3, KJ_FD_TCP_SETTLING = 4 };
void kj_fd_set(int fd, int kind, const struct sockaddr *orig, socklen_t len);
int kj_fd_get(int fd, struct sockaddr_storage *orig, socklen_t *len); /* returns kind */
void kj_fd_clear(int fd);      /* async-signal-safe */
void kj_fd_copy(int from, int to);
/* another fd of the same socket (a dup the shim did not see): copies its entry to fd */
int kj_fd_adopt(int fd, struct sockaddr_storage *orig, socklen_t *len);
/* a connect whose SOCKS reply is unread (TCP_PENDING/SETTLING): lock-free, no fstat, a hint */
int kj_fd_pending(int fd);
int kj_fd_state(int fd);                               /* the raw state, no checks */
int kj_fd_transition(int fd, int from, int to);        /* atomic compare-and-set of the state: 1 done */
void kj_fd_set_result(int fd, int result);             /* a settled connect's errno, for waiters */
int kj_fd_result(int fd);

/* ---- connect_settle.c ---- */
/* A pending connect (socks5.c sent the request, the reply is unread) finished now: reads the
 * reply, blocking at most KINJECT_CONNECT_TIMEOUT_MS. 0: connected (or nothing pending); else the
 * connect's errno, once (the socket is left unconnected, as after a failed connect). */
int kj_connect_settle(int fd);
/* the same for a caller that holds the guard (connect, getpeername) */
int kj_settle_pending(int fd);
/* For a hook's first line: 1 when fd's connect settled now and failed (errno is its error: the
 * hook fails with it), else 0 with errno untouched. Takes the guard itself: call it before KJ_GUARD_OR. */
int kj_settle_failed(int fd);

/* ---- socks5.c ---- */
/* Connects fd (a TCP socket of the program) through the proxy to dst. Returns 0 or an errno.
 * *pending (may be NULL: always wait) is set when the request went out and the reply was left
 * unread: kinject's front, a non-blocking socket (kj_socks_settle reads it later). */
int kj_socks_connect_fd(int fd, const struct sockaddr *dst, socklen_t len, int *pending);
/* reads the reply of a pending CONNECT: 0, or the errno the connect failed with (fd disconnected) */
int kj_socks_settle(int fd);
long long kj_now_ms(void); /* CLOCK_MONOTONIC in ms: the shim's deadlines and answer lives */
/* RESOLVE: 0 ok (out filled), >0 SOCKS reply code, -1 proxy not reachable / protocol error. */
int kj_socks_resolve(const char *name, struct sockaddr_storage *out);
/* name_cache.c: RESOLVE answers kept for as long as the front says they are good */
int kj_name_cache_get(const char *name, size_t len, struct sockaddr_storage *out);
void kj_name_cache_put(const char *name, size_t len, const struct sockaddr_storage *addr, unsigned ttl_ms);
/* RESOLVE_PTR: 0 ok (name filled), >0 reply code, -1 not reachable / protocol error. */
int kj_socks_resolve_ptr(const struct sockaddr *sa, socklen_t len, char *name, size_t n);
int kj_socks_reply_errno(int rep);

/* ---- dns.c ---- */
/* lays out a hostent with name and addr's address (AF_INET or AF_INET6) in buf: 0, or ERANGE */
int kj_fill_hostent(const char *name, const struct sockaddr_storage *addr, struct hostent *he, char *buf,
                    size_t buflen);

/* ---- udp_dns.c ---- */
/* For a UDP socket: if dst is a nameserver:53 and KINJECT_DNS is set, fills repl with the
 * KINJECT_DNS address in the fd's family and returns 1. */
int kj_udp_dns_target(int fd, const struct sockaddr *dst, socklen_t len, struct sockaddr_storage *repl,
                      socklen_t *repl_len);
int kj_udp_dns_connect(int fd, const struct sockaddr *addr, socklen_t len, int *handled);

/* ---- path_map.c: KINJECT_PATH_MAP (volumes at their in-cluster paths) ---- */
#define KJ_PATH_MAX 4096
void kj_path_map_init(const char *spec);  /* config.c's constructor, only when the shim is on */
void kj_path_map_log(void);               /* KINJECT_VERBOSE: the pairs, after init */
void kj_path_map_env(void);               /* config.c's constructor: UV_USE_IO_URING=0 when a map is active */
int kj_path_map_active(void);             /* hooks may act, shim on and at least one pair */
/* An in-cluster path -> its local path, written into buf (KJ_PATH_MAX bytes). Returns path itself
 * when it is not mapped (relative, outside the map, shim off), buf when mapped, NULL with
 * errno ENAMETOOLONG when the mapped path does not fit. Never allocates; errno otherwise kept. */
const char *kinject_map_path(const char *path, char *buf);
/* The reverse (for realpath/getcwd results): a local path under a mapped local dir -> its
 * in-cluster path in out (may be in). 1 done, 0 not under a mapped dir, -1 does not fit in size. */
int kj_unmap_path(const char *in, char *out, size_t size);

#endif

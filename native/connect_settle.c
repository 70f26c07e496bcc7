/* connect_settle.c - finishing a non-blocking connect through kinject's front.
 * connect.c sends the SOCKS request on a non-blocking socket and returns EINPROGRESS at once (a
 * program opening 50 connections no longer waits for the cluster 50 times in a row); the reply
 * is read here, the first time the program asks how the connect went, writes or reads:
 *   getsockopt(SO_ERROR)          the connect's errno, as the kernel would give it (0: connected)
 *   read, readv, recv, __read_chk, __recv_chk, __recvfrom_chk (recvfrom, recvmsg: udp_dns.c)
 *   write, writev, send (sendto, sendmsg: udp_dns.c)
 *                                 the SOCKS reply never reaches the program; a failed connect
 *                                 fails the call with its errno. A program that writes first
 *                                 (wrk does, and takes a read of nothing after a readable wake-up
 *                                 for an error) waits in its first write, as it would have in
 *                                 connect(); one that reads first may see the reply's arrival
 *                                 as one readable wake-up with nothing to read (EAGAIN).
 *   connect again, getpeername, dup (connect.c, getpeername.c, close.c)
 * Each hook is classify (pending? one atomic load, no lock) -> settle (at most
 * KINJECT_CONNECT_TIMEOUT_MS) -> libc. One thread settles an fd; others wait. */
#include "file_hooks.h" /* first: the same libc declarations as the file hooks (no fortify renames) */
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* glibc's fortify entry points (declared by its headers only under _FORTIFY_SOURCE) */
extern ssize_t __read_chk(int, void *, size_t, size_t);
extern ssize_t __recv_chk(int, void *, size_t, size_t, int);
extern ssize_t __recvfrom_chk(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);

int kj_settle_pending(int fd) {
  if (!kj_fd_pending(fd)) return 0;
  if (kj_fd_transition(fd, KJ_FD_TCP_PENDING, KJ_FD_TCP_SETTLING)) {
    struct sockaddr_storage orig;
    socklen_t olen = 0;
    /* still the socket connect() saw? (a stale entry: the number now names something else) */
    if (kj_fd_get(fd, &orig, &olen) != KJ_FD_TCP_SETTLING) return 0;
    int e = kj_socks_settle(fd);
    kj_fd_set_result(fd, e);
    char dst[80];
    kj_sockaddr_str((struct sockaddr *)&orig, dst, sizeof dst);
    if (e) {
      kj_log("connect %s via proxy: %s", dst, strerror(e));
      kj_fd_clear(fd);
    } else {
      kj_log("connect %s via proxy: ok", dst); /* as a connect that waited says it */
      kj_fd_transition(fd, KJ_FD_TCP_SETTLING, KJ_FD_TCP_PROXIED);
    }
    return e;
  }
  /* another thread reads the reply: wait for its outcome */
  long long deadline = kj_now_ms() + kj_cfg()->connect_timeout_ms + 1000;
  while (kj_fd_state(fd) == KJ_FD_TCP_SETTLING && kj_now_ms() < deadline) {
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
  return kj_fd_state(fd) == KJ_FD_TCP_PROXIED ? 0 : kj_fd_result(fd);
}

int kj_connect_settle(int fd) {
  if (!kj_fd_pending(fd)) return 0;
  struct kj_guard g = kj_guard_take();
  if (!g.held) return 0; /* inside a hook of ours (the shim's own reads): libc's */
  int saved = errno;
  int e = kj_settle_pending(fd);
  errno = saved;
  kj_guard_drop(&g);
  return e;
}

int kj_settle_failed(int fd) {
  if (!kj_fd_pending(fd)) return 0;
  int e = kj_connect_settle(fd);
  if (!e) return 0;
  errno = e;
  return 1;
}

KJ_EXPORT int getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen) {
  if (level == SOL_SOCKET && optname == SO_ERROR && optval && optlen && *optlen >= (socklen_t)sizeof(int) &&
      kj_fd_pending(fd)) {
    int e = kj_connect_settle(fd);
    if (e) {
      *(int *)optval = e;
      *optlen = sizeof(int);
      return 0;
    }
  }
  return KJ_REAL(getsockopt)(fd, level, optname, optval, optlen);
}

/* read() runs before the shim's constructor too (an allocator reading its settings): until the
 * constructor has looked it up, glibc's public alias __read, never dlsym */
extern ssize_t __read(int, void *, size_t);
static ssize_t (*real_read)(int, void *, size_t);
static struct kj_real_slot read_slot __attribute__((used, section("kj_real_slots"), aligned(sizeof(void *)))) = {
    (void **)&real_read, "read"};

KJ_EXPORT ssize_t read(int fd, void *buf, size_t n) {
  if (kj_settle_failed(fd)) return -1;
  ssize_t (*f)(int, void *, size_t) = __atomic_load_n(&real_read, __ATOMIC_ACQUIRE);
  return f ? f(fd, buf, n) : __read(fd, buf, n);
}

KJ_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen) {
  if (kj_settle_failed(fd)) return -1;
  return KJ_REAL(__read_chk)(fd, buf, n, buflen);
}

KJ_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt) {
  if (kj_settle_failed(fd)) return -1;
  return KJ_REAL(readv)(fd, iov, iovcnt);
}

KJ_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags) {
  if (kj_settle_failed(fd)) return -1;
  return KJ_REAL(recv)(fd, buf, n, flags);
}

KJ_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags) {
  if (kj_settle_failed(fd)) return -1;
  return KJ_REAL(__recv_chk)(fd, buf, n, buflen, flags);
}

KJ_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *src,
                                 socklen_t *srclen) {
  if (kj_settle_failed(fd)) return -1;
  return KJ_REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, src, srclen);
}

/* write() too (a library's constructor writing to stderr): __write until it is looked up */
extern ssize_t __write(int, const void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static struct kj_real_slot write_slot __attribute__((used, section("kj_real_slots"), aligned(sizeof(void *)))) = {
    (void **)&real_write, "write"};

KJ_EXPORT ssize_t write(int fd, const void *buf, size_t n) {
  if (kj_settle_failed(fd)) return -1;
  ssize_t (*f)(int, const void *, size_t) = __atomic_load_n(&real_write, __ATOMIC_ACQUIRE);
  return f ? f(fd, buf, n) : __write(fd, buf, n);
}

KJ_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt) {
  if (kj_settle_failed(fd)) return -1;
  return KJ_REAL(writev)(fd, iov, iovcnt);
}

KJ_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags) {
  if (kj_settle_failed(fd)) return -1;
  return KJ_REAL(send)(fd, buf, n, flags);
}

/* file_hooks_sys.c - KINJECT_PATH_MAP for libc's generic syscall() wrapper.
 * libuv (node) calls statx as syscall(__NR_statx, ...) rather than through libc's statx(), so
 * fs.stat / fs.statSync would miss the map. On x86-64 syscall() is a small trampoline (below) that
 * jumps straight to libc's syscall() unless the number takes a path and a map is active; then the
 * C wrapper reads six longs (passed in registers, so reading six is harmless even when the caller
 * passed fewer), maps the path argument(s) and calls libc's syscall(), which sets errno. */
#include "file_hooks.h"
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

/* which argument holds a path: bit i set = argument i (0-based) */
static unsigned path_args(long nr) {
  switch (nr) {
#ifdef SYS_open
    case SYS_open:
#endif
#ifdef SYS_creat
    case SYS_creat:
#endif
#ifdef SYS_stat
    case SYS_stat:
#endif
#ifdef SYS_lstat
    case SYS_lstat:
#endif
#ifdef SYS_access
    case SYS_access:
#endif
#ifdef SYS_readlink
    case SYS_readlink:
#endif
#ifdef SYS_mkdir
    case SYS_mkdir:
#endif
#ifdef SYS_rmdir
    case SYS_rmdir:
#endif
#ifdef SYS_unlink
    case SYS_unlink:
#endif
#ifdef SYS_chmod
    case SYS_chmod:
#endif
#ifdef SYS_chown
    case SYS_chown:
#endif
#ifdef SYS_lchown
    case SYS_lchown:
#endif
#ifdef SYS_utime
    case SYS_utime:
#endif
#ifdef SYS_utimes
    case SYS_utimes:
#endif
#ifdef SYS_mknod
    case SYS_mknod:
#endif
    case SYS_chdir:
    case SYS_truncate:
    case SYS_statfs:
    case SYS_getxattr:
    case SYS_lgetxattr:
    case SYS_listxattr:
    case SYS_llistxattr:
    case SYS_setxattr:
    case SYS_lsetxattr:
    case SYS_removexattr:
    case SYS_lremovexattr:
      return 1u << 0;
    case SYS_openat:
#ifdef SYS_openat2
    case SYS_openat2:
#endif
#ifdef SYS_newfstatat
    case SYS_newfstatat:
#endif
#ifdef SYS_statx
    case SYS_statx:
#endif
    case SYS_faccessat:
#ifdef SYS_faccessat2
    case SYS_faccessat2:
#endif
    case SYS_mkdirat:
    case SYS_mknodat:
    case SYS_unlinkat:
    case SYS_readlinkat:
    case SYS_fchmodat:
    case SYS_fchownat:
    case SYS_utimensat:
#ifdef SYS_futimesat
    case SYS_futimesat:
#endif
    case SYS_inotify_add_watch:
      return 1u << 1;
#ifdef SYS_rename
    case SYS_rename:
#endif
#ifdef SYS_link
    case SYS_link:
#endif
      return (1u << 0) | (1u << 1);
#ifdef SYS_symlink
    case SYS_symlink: /* target as given, linkpath mapped */
      return 1u << 1;
#endif
    case SYS_symlinkat:
      return 1u << 2;
#ifdef SYS_renameat
    case SYS_renameat:
#endif
    case SYS_renameat2:
    case SYS_linkat:
      return (1u << 1) | (1u << 3);
    default:
      return 0;
  }
}

/* the mapping wrapper: reads six longs, maps the path argument(s), calls libc's syscall() */
__attribute__((used)) long kj_syscall_mapped(long nr, ...) {
  va_list ap;
  long a[6];
  va_start(ap, nr);
  for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
  va_end(ap);
  long (*real)(long, ...) = KJ_REAL(syscall);
  unsigned which = path_args(nr);
  if (which && kj_path_map_active()) {
    char b0[KJ_PATH_MAX], b1[KJ_PATH_MAX];
    char *bufs[2] = {b0, b1};
    int used = 0;
    for (int i = 0; i < 6 && used < 2; i++) {
      if (!(which & (1u << i))) continue;
      const char *p = kinject_map_path((const char *)a[i], bufs[used]);
      if (!p) return -1; /* ENAMETOOLONG */
      if (p != (const char *)a[i]) {
        a[i] = (long)p;
        used++;
      }
    }
  }
  return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

#if defined(__x86_64__)
/* Where syscall(nr, ...) goes: libc's own syscall() for every number that takes no path (and for
 * all of them while no map is active), the mapping wrapper otherwise. */
__attribute__((used)) void *kj_syscall_route(long nr) {
  if (path_args(nr) && kj_path_map_active()) return (void *)kj_syscall_mapped;
  return (void *)KJ_REAL(syscall);
}

/* syscall() itself is a register-preserving trampoline: it asks kj_syscall_route where to go and
 * jumps there with the caller's registers, stack and return address untouched. So a call that is
 * not mapped runs exactly as without the shim (this matters for syscall(SYS_vfork/SYS_clone, ...),
 * where a C wrapper's stack frame would be reused by the child). At entry %rsp is 8 mod 16; six
 * pushes plus 8 bytes realign it for the call. */
__asm__(
    ".text\n"
    ".globl syscall\n"
    ".type syscall, @function\n"
    "syscall:\n"
    "  .cfi_startproc\n"
    "  endbr64\n"
    "  pushq %rdi\n  .cfi_adjust_cfa_offset 8\n"
    "  pushq %rsi\n  .cfi_adjust_cfa_offset 8\n"
    "  pushq %rdx\n  .cfi_adjust_cfa_offset 8\n"
    "  pushq %rcx\n  .cfi_adjust_cfa_offset 8\n"
    "  pushq %r8\n  .cfi_adjust_cfa_offset 8\n"
    "  pushq %r9\n  .cfi_adjust_cfa_offset 8\n"
    "  subq $8, %rsp\n  .cfi_adjust_cfa_offset 8\n"
    "  call kj_syscall_route\n"
    "  addq $8, %rsp\n  .cfi_adjust_cfa_offset -8\n"
    "  popq %r9\n  .cfi_adjust_cfa_offset -8\n"
    "  popq %r8\n  .cfi_adjust_cfa_offset -8\n"
    "  popq %rcx\n  .cfi_adjust_cfa_offset -8\n"
    "  popq %rdx\n  .cfi_adjust_cfa_offset -8\n"
    "  popq %rsi\n  .cfi_adjust_cfa_offset -8\n"
    "  popq %rdi\n  .cfi_adjust_cfa_offset -8\n"
    "  jmp *%rax\n"
    "  .cfi_endproc\n"
    ".size syscall, .-syscall\n");
#else
/* other architectures: syscall() is the mapping wrapper itself (a number without a path, or no
 * active map, goes straight on to libc's syscall() with the six longs) */
KJ_EXPORT long syscall(long nr, ...) __attribute__((alias("kj_syscall_mapped")));
#endif

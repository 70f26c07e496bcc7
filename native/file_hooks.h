/* file_hooks.h - shared by file_hooks*.c (the KINJECT_PATH_MAP hooks) and connect_settle.c (KJ_REAL).
 * Include it FIRST: node-gyp defines _FILE_OFFSET_BITS=64, which would make glibc's headers
 * rename open() to open64() etc., so that defining "open" would really define "open64".
 * The hooks must define every symbol under its own name, hence the #undefs. */
#ifndef KINJECT_FILE_HOOKS_H
#define KINJECT_FILE_HOOKS_H

#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include "kinject.h"

/* the next definition of name (libc), looked up once: the slot is listed in the section
 * kj_real_slots, so config.c's constructor resolves every one of them in advance (libc.c) */
#define KJ_REAL(name)                                                            \
  ({                                                                             \
    static __typeof__(&name) kj_p_;                                              \
    static struct kj_real_slot kj_slot_                                          \
        __attribute__((used, section("kj_real_slots"), aligned(sizeof(void *)))) = {(void **)&kj_p_, #name}; \
    (void)kj_slot_;                                                              \
    __typeof__(&name) kj_f_ = __atomic_load_n(&kj_p_, __ATOMIC_ACQUIRE);         \
    if (!kj_f_) {                                                                \
      kj_f_ = (__typeof__(&name))kj_libc_sym(#name);                             \
      __atomic_store_n(&kj_p_, kj_f_, __ATOMIC_RELEASE);                         \
    }                                                                            \
    kj_f_;                                                                       \
  })

/* a missing libc function (an old glibc): fail like the kernel would for an unknown call */
#define KJ_NOSYS(f, errval)  \
  do {                       \
    if (!(f)) {              \
      errno = ENOSYS;        \
      return errval;         \
    }                        \
  } while (0)

/* Every file hook is: classify (map the path) -> refuse (a mapped path that does not fit) or pass
 * (libc's function with the local path). KJ_MAP does the first two steps for the path argument
 * path: afterwards it points at the local path in a stack buffer, or is unchanged (relative, not
 * mapped, NULL, shim off); when the mapped path does not fit KJ_PATH_MAX the hook returns errval
 * with errno ENAMETOOLONG. errno is otherwise untouched. */
#define KJ_MAP(path, errval)                             \
  char path##_buf_[KJ_PATH_MAX];                         \
  if (!((path) = kinject_map_path((path), path##_buf_))) \
  return errval

/* The whole hook for the common case: one path argument, named path, mapped, then libc's function
 * of the same name called with args. */
#define KJ_PATH_HOOK(ret, errval, name, params, args) \
  KJ_EXPORT ret name params {                         \
    KJ_MAP(path, errval);                             \
    return KJ_REAL(name) args;                        \
  }

#endif

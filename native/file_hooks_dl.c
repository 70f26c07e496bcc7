/* file_hooks_dl.c - KINJECT_PATH_MAP for dlopen() of a library in a volume (a node addon, a
 * python extension, System.load in java, found under an in-cluster path).
 *
 * glibc's dlopen looks at its caller (the return address): a name without '/' is searched in the
 * calling object's RUNPATH/RPATH, and $ORIGIN means the caller's directory. A C wrapper would make
 * libkinject.so the caller and break both. So on x86-64 dlopen is a trampoline: it asks
 * kj_dlopen_route for the target and the file name, then jumps to libc's dlopen with the caller's
 * return address untouched. The mapped name lives in a per-thread buffer (thread_buf.c; dlopen
 * copies it).
 * Other architectures: dlopen is not hooked (see README). */
#include "file_hooks.h"
#include <dlfcn.h>

#if defined(__x86_64__)
struct kj_dl_route {
  void *fn;
  const char *file;
};

extern char kj_dlopen_tramp[] __attribute__((visibility("hidden"))); /* the trampoline below */

/* libc's dlopen. Not kj_libc_sym: its libc.so.6 fallback calls dlopen, which is us. */
static void *real_dlopen(void) {
  static void *p;
  void *f = __atomic_load_n(&p, __ATOMIC_ACQUIRE);
  if (f) return f;
  f = dlsym(RTLD_NEXT, "dlopen");
  if (!f || f == (void *)kj_dlopen_tramp) f = dlsym(RTLD_DEFAULT, "dlopen");
  if (f == (void *)kj_dlopen_tramp) f = NULL;
  if (f) __atomic_store_n(&p, f, __ATOMIC_RELEASE);
  return f;
}

static void *dlopen_unavailable(const char *file, int flags) {
  (void)file;
  (void)flags;
  return NULL;
}

__attribute__((used)) struct kj_dl_route kj_dlopen_route(const char *file) {
  void *f = real_dlopen();
  struct kj_dl_route r = {f ? f : (void *)dlopen_unavailable, file};
  char *dl_buf;
  if (file && file[0] == '/' && kj_path_map_active() && (dl_buf = kj_thread_buf(KJ_TBUF_DLOPEN))) {
    _Static_assert(KJ_TBUF_SIZE >= KJ_PATH_MAX, "a mapped path must fit");
    const char *m = kinject_map_path(file, dl_buf);
    if (m) r.file = m; /* too long: libc reports the original name's error */
  }
  return r;
}

/* entry %rsp is 8 mod 16; two pushes plus 8 bytes realign it for the call. The route's struct
 * comes back in %rax (function) and %rdx (file name). */
__asm__(
    ".text\n"
    ".globl dlopen\n"
    ".type dlopen, @function\n"
    ".hidden kj_dlopen_tramp\n"
    "dlopen:\n"
    "kj_dlopen_tramp:\n"
    "  .cfi_startproc\n"
    "  endbr64\n"
    "  pushq %rdi\n  .cfi_adjust_cfa_offset 8\n"
    "  pushq %rsi\n  .cfi_adjust_cfa_offset 8\n"
    "  subq $8, %rsp\n  .cfi_adjust_cfa_offset 8\n"
    "  call kj_dlopen_route\n"
    "  addq $8, %rsp\n  .cfi_adjust_cfa_offset -8\n"
    "  popq %rsi\n  .cfi_adjust_cfa_offset -8\n"
    "  popq %rdi\n  .cfi_adjust_cfa_offset -8\n"
    "  movq %rdx, %rdi\n"
    "  jmp *%rax\n"
    "  .cfi_endproc\n"
    ".size dlopen, .-dlopen\n");
#endif

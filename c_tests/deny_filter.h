/* deny_filter.h — the seccomp filter of deny.c, also for programs that
 * refuse themselves a way of trapping pages after start-up (forkdeny.c). */
#ifndef DENY_FILTER_H
#define DENY_FILTER_H
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* With `uffd`, userfaultfd(2) fails with EPERM; with `markers`,
 * madvise(MADV_GUARD_INSTALL = 102 / MADV_GUARD_REMOVE = 103) fails with
 * EINVAL. Everything else is allowed. Returns 0, or -1 with errno set. */
static int deny_now(int uffd, int markers) {
    unsigned allow = SECCOMP_RET_ALLOW;
    struct sock_filter f[] = {
        /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 8),
        /* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_userfaultfd, 0, 1),
        /* 4 */ BPF_STMT(BPF_RET | BPF_K, uffd ? SECCOMP_RET_ERRNO | EPERM : allow),
        /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_madvise, 0, 4),
        /* 6 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
        /* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 102, 1, 0),
        /* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 103, 0, 1),
        /* 9 */ BPF_STMT(BPF_RET | BPF_K, markers ? SECCOMP_RET_ERRNO | EINVAL : allow),
        /* 10 */ BPF_STMT(BPF_RET | BPF_K, allow),
    };
    struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}
#endif

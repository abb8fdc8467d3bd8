/* deny.c — run a command where the kernel refuses some ways of trapping
 * pages, as a container's seccomp profile or an older kernel would.
 *
 * Usage: deny [uffd] [markers] -- COMMAND [ARGS...]
 *   uffd     userfaultfd(2) fails with EPERM (seccomp profile, or
 *            vm.unprivileged_userfaultfd=0 before Linux 5.11)
 *   markers  madvise(MADV_GUARD_INSTALL / MADV_GUARD_REMOVE) fails with
 *            EINVAL (a kernel before 6.13)
 * Installs a seccomp filter (with no_new_privs) and execs COMMAND, so the
 * library under test meets the refusal at start-up. Also usable from a
 * program: deny_now() in deny.h-less form is the same filter. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "deny_filter.h"

int main(int argc, char **argv) {
    int uffd = 0, markers = 0, i = 1;
    for (; i < argc && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "uffd"))
            uffd = 1;
        else if (!strcmp(argv[i], "markers"))
            markers = 1;
        else {
            fprintf(stderr, "deny: unknown refusal '%s' (uffd, markers)\n", argv[i]);
            return 2;
        }
    }
    if (i + 1 >= argc) {
        fprintf(stderr, "usage: deny [uffd] [markers] -- COMMAND [ARGS...]\n");
        return 2;
    }
    if (deny_now(uffd, markers) != 0) {
        perror("deny: seccomp");
        return 2;
    }
    execvp(argv[i + 1], argv + i + 1);
    perror("deny: exec");
    return 127;
}

/* syscalls.c — the libc calls that hand a buffer to the kernel, on valid
 * buffers and on errors, behave exactly as natively (issue 14, item 1).
 *
 * Usage: syscalls [CHECK...]   (no CHECK: run every check)
 *        syscalls --list       (the check names)
 * Each check prints "check NAME" then "ok NAME" or "FAIL NAME: why".
 * Exit status: 0 if every check passed, 1 otherwise.
 *
 * libpooldbg checks these calls' buffers against its heap and reports a
 * freed block or a range past a block's end (c_tests/detect/syscalls.c).
 * Here nothing is wrong, so nothing may be reported, and every call must
 * return what it returns without the library, with the same errno: on heap
 * blocks of exactly the size given, a block's last byte, size 0 (also in a
 * freed block: nothing is transferred), on stack, global and mmap'ed
 * buffers, on iovec arrays and msghdrs wherever they are, and on the errors
 * the kernel gives before or while copying (EBADF with a bad descriptor,
 * EFAULT for a bad pointer outside the heap, EINVAL for counts it refuses).
 * Must pass under plain glibc too (run_c_tests.sh --glibc). */
#define _GNU_SOURCE
/* Freed blocks are handed over with a length of 0 on purpose. */
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wuse-after-free"
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

extern int __xstat(int, const char *, struct stat *);
extern int __xstat64(int, const char *, struct stat64 *);
extern int __lxstat(int, const char *, struct stat *);
extern int __lxstat64(int, const char *, struct stat64 *);
extern int __fxstat(int, int, struct stat *);
extern int __fxstat64(int, int, struct stat64 *);
extern int __fxstatat(int, int, const char *, struct stat *, int);
extern int __fxstatat64(int, int, const char *, struct stat64 *, int);
extern ssize_t __read_chk(int, void *, size_t, size_t);
extern ssize_t __pread_chk(int, void *, size_t, off_t, size_t);
extern ssize_t __pread64_chk(int, void *, size_t, off64_t, size_t);
extern ssize_t __recv_chk(int, void *, size_t, size_t, int);
extern ssize_t __recvfrom_chk(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
extern int __poll_chk(struct pollfd *, nfds_t, int, size_t);
extern int __ppoll_chk(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *, size_t);

/* Counts the compiler must not see (it warns about the refused ones). */
static volatile size_t vsize_max = SIZE_MAX;
static volatile int vminus1 = -1;

static int failures;
static const char *current;

#define FAIL(...)                                                              \
    do {                                                                       \
        printf("FAIL %s: ", current);                                          \
        printf(__VA_ARGS__);                                                   \
        printf("  [%s:%d]\n", __FILE__, __LINE__);                             \
        fflush(stdout);                                                        \
        failures++;                                                            \
        return;                                                                \
    } while (0)

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond))                                                           \
            FAIL(__VA_ARGS__);                                                 \
    } while (0)

/* A call's result: its return value and errno (untouched: ERRNO_MARK). */
#define ERRNO_MARK 4242
#define EXPECT(what, got, want_ret, want_errno)                                \
    CHECK((got).ret == (want_ret) && (got).err == (want_errno),                \
          "%s: returned %ld errno %d, want %ld errno %d", what, (got).ret,     \
          (got).err, (long)(want_ret), want_errno)

struct res {
    long ret;
    int err;
};

static void *opaque(void *p) {
    __asm__ volatile("" : "+r"(p) : : "memory");
    return p;
}

static char *heap(size_t n) { return opaque(malloc(n)); }

/* A block that was freed: a size-0 range in it transfers nothing. */
static char *freed_block(void) {
    char *p = heap(64);
    free(p);
    return opaque(p);
}

static char *mapped(void) {
    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Truly bad pointers outside the heap: an inaccessible page, a hole. */
static char *inaccessible(void) {
    char *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Below vm.mmap_min_addr: nothing is ever mapped there. */
static char *unmapped(void) { return opaque((char *)4096); }

/* ---------------------------------------------------------------- descriptors */

static const char DATA[] = "0123456789abc"; /* 13 bytes: what every source holds */
#define NDATA 13

struct fds {
    int pipe_r, pipe_w, file, dg, peer;
};

static int open_fds(struct fds *f) {
    int pp[2], dg[2];
    if (pipe(pp) || socketpair(AF_UNIX, SOCK_DGRAM, 0, dg))
        return 0;
    f->pipe_r = pp[0], f->pipe_w = pp[1], f->dg = dg[0], f->peer = dg[1];
    f->file = memfd_create("syscalls", 0);
    return f->file >= 0 && write(f->pipe_w, DATA, NDATA) == NDATA && send(f->peer, DATA, NDATA, 0) == NDATA &&
           pwrite(f->file, DATA, NDATA, 0) == NDATA;
}

static void close_fds(struct fds *f) {
    close(f->pipe_r), close(f->pipe_w), close(f->file), close(f->dg), close(f->peer);
}

/* ---------------------------------------------------------------- byte transfers */

/* One call moving LEN bytes to or from BUF on fresh descriptors (BADFD: a
 * descriptor that is not open instead). Messages count as their bytes. */
typedef long (*xfer_fn)(struct fds *f, int badfd, char *buf, size_t len);

#define FD(x) (badfd ? -1 : f->x)

static long x_read(struct fds *f, int badfd, char *b, size_t n) { return read(FD(pipe_r), b, n); }
static long x_read_chk(struct fds *f, int badfd, char *b, size_t n) { return __read_chk(FD(pipe_r), b, n, n); }
static long x_pread(struct fds *f, int badfd, char *b, size_t n) { return pread(FD(file), b, n, 0); }
static long x_pread64(struct fds *f, int badfd, char *b, size_t n) { return pread64(FD(file), b, n, 0); }
static long x_pread_chk(struct fds *f, int badfd, char *b, size_t n) { return __pread_chk(FD(file), b, n, 0, n); }
static long x_pread64_chk(struct fds *f, int badfd, char *b, size_t n) { return __pread64_chk(FD(file), b, n, 0, n); }
#define IOV1 struct iovec v[1] = {{b, n}}
static long x_readv(struct fds *f, int badfd, char *b, size_t n) { IOV1; return readv(FD(pipe_r), v, 1); }
static long x_preadv(struct fds *f, int badfd, char *b, size_t n) { IOV1; return preadv(FD(file), v, 1, 0); }
static long x_preadv64(struct fds *f, int badfd, char *b, size_t n) { IOV1; return preadv64(FD(file), v, 1, 0); }
static long x_preadv2(struct fds *f, int badfd, char *b, size_t n) { IOV1; return preadv2(FD(file), v, 1, 0, 0); }
static long x_preadv64v2(struct fds *f, int badfd, char *b, size_t n) { IOV1; return preadv64v2(FD(file), v, 1, 0, 0); }
static long x_recv(struct fds *f, int badfd, char *b, size_t n) { return recv(FD(dg), b, n, 0); }
static long x_recv_chk(struct fds *f, int badfd, char *b, size_t n) { return __recv_chk(FD(dg), b, n, n, 0); }
static long x_recvfrom(struct fds *f, int badfd, char *b, size_t n) { return recvfrom(FD(dg), b, n, 0, NULL, NULL); }
static long x_recvfrom_chk(struct fds *f, int badfd, char *b, size_t n) {
    return __recvfrom_chk(FD(dg), b, n, n, 0, NULL, NULL);
}
static long x_recvmsg(struct fds *f, int badfd, char *b, size_t n) {
    IOV1;
    struct msghdr m = {.msg_iov = v, .msg_iovlen = 1};
    return recvmsg(FD(dg), &m, 0);
}
static long x_recvmmsg(struct fds *f, int badfd, char *b, size_t n) {
    IOV1;
    struct mmsghdr m = {.msg_hdr = {.msg_iov = v, .msg_iovlen = 1}};
    int r = recvmmsg(FD(dg), &m, 1, 0, NULL);
    return r == 1 ? (long)m.msg_len : r;
}
static long x_write(struct fds *f, int badfd, char *b, size_t n) { return write(FD(pipe_w), b, n); }
static long x_pwrite(struct fds *f, int badfd, char *b, size_t n) { return pwrite(FD(file), b, n, 0); }
static long x_pwrite64(struct fds *f, int badfd, char *b, size_t n) { return pwrite64(FD(file), b, n, 0); }
static long x_writev(struct fds *f, int badfd, char *b, size_t n) { IOV1; return writev(FD(pipe_w), v, 1); }
static long x_pwritev(struct fds *f, int badfd, char *b, size_t n) { IOV1; return pwritev(FD(file), v, 1, 0); }
static long x_pwritev64(struct fds *f, int badfd, char *b, size_t n) { IOV1; return pwritev64(FD(file), v, 1, 0); }
static long x_pwritev2(struct fds *f, int badfd, char *b, size_t n) { IOV1; return pwritev2(FD(file), v, 1, 0, 0); }
static long x_pwritev64v2(struct fds *f, int badfd, char *b, size_t n) {
    IOV1;
    return pwritev64v2(FD(file), v, 1, 0, 0);
}
static long x_send(struct fds *f, int badfd, char *b, size_t n) { return send(FD(peer), b, n, 0); }
static long x_sendto(struct fds *f, int badfd, char *b, size_t n) { return sendto(FD(peer), b, n, 0, NULL, 0); }
static long x_sendmsg(struct fds *f, int badfd, char *b, size_t n) {
    IOV1;
    struct msghdr m = {.msg_iov = v, .msg_iovlen = 1};
    return sendmsg(FD(peer), &m, 0);
}
static long x_sendmmsg(struct fds *f, int badfd, char *b, size_t n) {
    IOV1;
    struct mmsghdr m = {.msg_hdr = {.msg_iov = v, .msg_iovlen = 1}};
    int r = sendmmsg(FD(peer), &m, 1, 0);
    return r == 1 ? (long)m.msg_len : r;
}

static const struct xfer {
    const char *name;
    int reads; /* the call fills the buffer (else it sends what it holds) */
    xfer_fn fn;
} xfers[] = {
    {"read", 1, x_read},
    {"__read_chk", 1, x_read_chk},
    {"pread", 1, x_pread},
    {"pread64", 1, x_pread64},
    {"__pread_chk", 1, x_pread_chk},
    {"__pread64_chk", 1, x_pread64_chk},
    {"readv", 1, x_readv},
    {"preadv", 1, x_preadv},
    {"preadv64", 1, x_preadv64},
    {"preadv2", 1, x_preadv2},
    {"preadv64v2", 1, x_preadv64v2},
    {"recv", 1, x_recv},
    {"__recv_chk", 1, x_recv_chk},
    {"recvfrom", 1, x_recvfrom},
    {"__recvfrom_chk", 1, x_recvfrom_chk},
    {"recvmsg", 1, x_recvmsg},
    {"recvmmsg", 1, x_recvmmsg},
    {"write", 0, x_write},
    {"pwrite", 0, x_pwrite},
    {"pwrite64", 0, x_pwrite64},
    {"writev", 0, x_writev},
    {"pwritev", 0, x_pwritev},
    {"pwritev64", 0, x_pwritev64},
    {"pwritev2", 0, x_pwritev2},
    {"pwritev64v2", 0, x_pwritev64v2},
    {"send", 0, x_send},
    {"sendto", 0, x_sendto},
    {"sendmsg", 0, x_sendmsg},
    {"sendmmsg", 0, x_sendmmsg},
};

/* One transfer on fresh descriptors; errno is ERRNO_MARK before. */
static struct res transfer(const struct xfer *x, int badfd, char *buf, size_t len) {
    struct fds f;
    struct res r = {-2, -2};
    if (!open_fds(&f))
        return r;
    errno = ERRNO_MARK;
    r.ret = x->fn(&f, badfd, buf, len);
    r.err = errno;
    close_fds(&f);
    return r;
}

static char global_buf[NDATA];

/* Every transfer, on every kind of valid buffer and on the errors. */
static void transfers(void) {
    char *bad = inaccessible(), *hole = unmapped(), *map = mapped();
    CHECK(bad && hole && map, "mmap failed");
    for (size_t i = 0; i < sizeof xfers / sizeof *xfers; i++) {
        const struct xfer *x = &xfers[i];
        char what[96], stack_buf[NDATA];
        struct {
            const char *kind;
            char *buf;
        } valid[] = {{"an exactly-sized heap block", heap(NDATA)},
                     {"a stack buffer", stack_buf},
                     {"a global buffer", global_buf},
                     {"an mmap'ed page", map}};
        for (size_t k = 0; k < sizeof valid / sizeof *valid; k++) {
            char *b = valid[k].buf;
            CHECK(b, "no buffer");
            if (x->reads)
                memset(b, '-', NDATA);
            else
                memcpy(b, DATA, NDATA);
            snprintf(what, sizeof what, "%s of %d bytes into %s", x->name, NDATA, valid[k].kind);
            struct res r = transfer(x, 0, b, NDATA);
            EXPECT(what, r, NDATA, ERRNO_MARK);
            if (x->reads)
                CHECK(!memcmp(b, DATA, NDATA), "%s: wrong bytes", what);
        }
        /* The block's last byte. */
        char *p = valid[0].buf;
        snprintf(what, sizeof what, "%s of a heap block's last byte", x->name);
        struct res r = transfer(x, 0, p + NDATA - 1, 1);
        EXPECT(what, r, 1, ERRNO_MARK);
        if (x->reads)
            CHECK(p[NDATA - 1] == '0', "%s: wrong byte %c", what, p[NDATA - 1]);
        /* Size 0: a malloc(0) block, and a freed block (nothing moves). */
        char *zero = heap(0);
        snprintf(what, sizeof what, "%s of 0 bytes into malloc(0)", x->name);
        r = transfer(x, 0, zero, 0);
        EXPECT(what, r, 0, ERRNO_MARK);
        snprintf(what, sizeof what, "%s of 0 bytes into a freed block", x->name);
        r = transfer(x, 0, freed_block(), 0);
        EXPECT(what, r, 0, ERRNO_MARK);
        /* Errors: a bad descriptor (a valid heap buffer), bad pointers
         * outside the heap. */
        snprintf(what, sizeof what, "%s on descriptor -1", x->name);
        r = transfer(x, 1, p, NDATA);
        EXPECT(what, r, -1, EBADF);
        snprintf(what, sizeof what, "%s on a PROT_NONE page", x->name);
        r = transfer(x, 0, bad, NDATA);
        EXPECT(what, r, -1, EFAULT);
        snprintf(what, sizeof what, "%s on an unmapped address", x->name);
        r = transfer(x, 0, hole, NDATA);
        EXPECT(what, r, -1, EFAULT);
        free(zero);
        free(p);
    }
}

/* A count the kernel refuses before touching memory: no check, no report,
 * even into a freed block (read: EFAULT from the range check on a count
 * past the address space; iovecs: EINVAL). */
static void refused_counts(void) {
    struct fds f;
    CHECK(open_fds(&f), "descriptors");
    char *gone = freed_block();
    errno = 0;
    long r = read(f.pipe_r, gone, vsize_max);
    CHECK(r == -1 && errno == EFAULT, "read of SIZE_MAX bytes: %ld errno %d, want -1 EFAULT", r, errno);
    struct iovec *iov = (struct iovec *)freed_block();
    errno = 0;
    r = readv(f.pipe_r, iov, vminus1);
    CHECK(r == -1 && errno == EINVAL, "readv of -1 iovecs: %ld errno %d, want -1 EINVAL", r, errno);
    errno = 0;
    r = writev(f.pipe_w, iov, 1025);
    CHECK(r == -1 && errno == EINVAL, "writev of 1025 iovecs: %ld errno %d, want -1 EINVAL", r, errno);
    struct iovec huge[2] = {{gone, 16}, {gone, (size_t)SSIZE_MAX + 1}};
    errno = 0;
    r = readv(f.pipe_r, huge, 2);
    CHECK(r == -1 && errno == EINVAL, "readv with an iov_len past SSIZE_MAX: %ld errno %d, want -1 EINVAL", r, errno);
    errno = ERRNO_MARK;
    r = readv(f.pipe_r, iov, 0);
    CHECK(r == 0 && errno == ERRNO_MARK, "readv of 0 iovecs: %ld errno %d, want 0", r, errno);
    close_fds(&f);
}

/* ---------------------------------------------------------------- iovec arrays */

static struct iovec global_iov[2];

/* The iovec array itself on the heap, the stack, in a global, in a mapping;
 * and a bad array pointer outside the heap. */
static void iovec_arrays(void) {
    char *map = mapped(), *bad = inaccessible(), *hole = unmapped();
    CHECK(map && bad && hole, "mmap failed");
    struct iovec stack_iov[2];
    struct {
        const char *kind;
        struct iovec *iov;
    } where[] = {{"heap", (struct iovec *)heap(2 * sizeof(struct iovec))},
                 {"stack", stack_iov},
                 {"global", global_iov},
                 {"mmap", (struct iovec *)map}};
    for (size_t k = 0; k < sizeof where / sizeof *where; k++) {
        struct iovec *iov = where[k].iov;
        char *a = heap(5), *b = heap(8);
        struct fds f;
        CHECK(open_fds(&f), "descriptors");
        iov[0] = (struct iovec){a, 5}, iov[1] = (struct iovec){b, 8};
        errno = ERRNO_MARK;
        long r = readv(f.pipe_r, iov, 2);
        CHECK(r == NDATA && errno == ERRNO_MARK, "readv with a %s iovec array: %ld errno %d", where[k].kind, r, errno);
        CHECK(!memcmp(a, DATA, 5) && !memcmp(b, DATA + 5, 8), "readv with a %s iovec array: wrong bytes",
              where[k].kind);
        r = writev(f.pipe_w, iov, 2);
        CHECK(r == NDATA, "writev with a %s iovec array: %ld errno %d", where[k].kind, r, errno);
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
        r = sendmsg(f.peer, &m, 0);
        CHECK(r == NDATA, "sendmsg with a %s iovec array: %ld errno %d", where[k].kind, r, errno);
        r = recvmsg(f.dg, &m, 0);
        CHECK(r == NDATA, "recvmsg with a %s iovec array: %ld errno %d", where[k].kind, r, errno);
        /* An iovec of length 0 in a freed block moves nothing. */
        iov[1] = (struct iovec){freed_block(), 0};
        r = readv(f.pipe_r, iov, 2);
        CHECK(r == 5, "readv with an empty iovec in a freed block: %ld errno %d", r, errno);
        close_fds(&f);
        free(a), free(b);
    }
    free(where[0].iov);
    struct {
        const char *kind;
        void *iov;
    } wrong[] = {{"PROT_NONE", bad}, {"unmapped", hole}, {"small", (void *)16}};
    for (size_t k = 0; k < sizeof wrong / sizeof *wrong; k++) {
        struct fds f;
        CHECK(open_fds(&f), "descriptors");
        errno = 0;
        long r = readv(f.pipe_r, wrong[k].iov, 2);
        CHECK(r == -1 && errno == EFAULT, "readv with a %s iovec pointer: %ld errno %d, want EFAULT", wrong[k].kind,
              r, errno);
        errno = 0;
        r = writev(f.pipe_w, wrong[k].iov, 2);
        CHECK(r == -1 && errno == EFAULT, "writev with a %s iovec pointer: %ld errno %d, want EFAULT",
              wrong[k].kind, r, errno);
        errno = 0;
        r = preadv2(f.file, wrong[k].iov, 1, 0, 0);
        CHECK(r == -1 && errno == EFAULT, "preadv2 with a %s iovec pointer: %ld errno %d, want EFAULT",
              wrong[k].kind, r, errno);
        struct msghdr m = {.msg_iov = wrong[k].iov, .msg_iovlen = 1};
        errno = 0;
        r = sendmsg(f.peer, &m, 0);
        CHECK(r == -1 && errno == EFAULT, "sendmsg with a %s msg_iov: %ld errno %d, want EFAULT", wrong[k].kind, r,
              errno);
        errno = 0;
        r = recvmsg(f.dg, wrong[k].iov, 0);
        CHECK(r == -1 && errno == EFAULT, "recvmsg with a %s msghdr: %ld errno %d, want EFAULT", wrong[k].kind, r,
              errno);
        errno = 0;
        r = sendmmsg(f.peer, wrong[k].iov, 1, 0);
        CHECK(r == -1 && errno == EFAULT, "sendmmsg with a %s msgvec: %ld errno %d, want EFAULT", wrong[k].kind, r,
              errno);
        close_fds(&f);
    }
}

/* ---------------------------------------------------------------- messages */

/* msghdr, its name and control buffers, and mmsghdr arrays, all on the heap
 * and exactly sized. */
static void messages(void) {
    struct fds f;
    CHECK(open_fds(&f), "descriptors");
    struct msghdr *m = (struct msghdr *)heap(sizeof *m);
    struct iovec *iov = (struct iovec *)heap(sizeof *iov);
    char *buf = heap(NDATA);
    struct sockaddr_un *name = (struct sockaddr_un *)heap(sizeof *name);
    char *control = heap(CMSG_SPACE(sizeof(int)));
    *iov = (struct iovec){buf, NDATA};
    *m = (struct msghdr){.msg_name = name, .msg_namelen = sizeof *name, .msg_iov = iov, .msg_iovlen = 1,
                         .msg_control = control, .msg_controllen = CMSG_SPACE(sizeof(int))};
    errno = ERRNO_MARK;
    long r = recvmsg(f.dg, m, 0);
    CHECK(r == NDATA && errno == ERRNO_MARK, "recvmsg into heap msghdr, name, control: %ld errno %d", r, errno);
    CHECK(m->msg_controllen == 0 && m->msg_namelen <= sizeof *name, "recvmsg: controllen %zu namelen %u",
          (size_t)m->msg_controllen, m->msg_namelen);
    /* Send a descriptor: a control message read from the heap. */
    m->msg_name = NULL, m->msg_namelen = 0, m->msg_controllen = CMSG_SPACE(sizeof(int));
    struct cmsghdr *c = CMSG_FIRSTHDR(m);
    c->cmsg_level = SOL_SOCKET, c->cmsg_type = SCM_RIGHTS, c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &f.pipe_r, sizeof(int));
    r = sendmsg(f.peer, m, 0);
    CHECK(r == NDATA, "sendmsg with heap control data: %ld errno %d", r, errno);
    m->msg_controllen = CMSG_SPACE(sizeof(int));
    r = recvmsg(f.dg, m, 0);
    CHECK(r == NDATA && m->msg_controllen == CMSG_SPACE(sizeof(int)), "recvmsg of a descriptor: %ld controllen %zu",
          r, (size_t)m->msg_controllen);
    int passed;
    memcpy(&passed, CMSG_DATA(CMSG_FIRSTHDR(m)), sizeof passed);
    close(passed);
    /* Two messages at once from a heap mmsghdr array; vlen 0. */
    struct mmsghdr *vec = (struct mmsghdr *)heap(2 * sizeof *vec);
    char *b2 = heap(NDATA);
    struct iovec *iov2 = (struct iovec *)heap(sizeof *iov2);
    *iov2 = (struct iovec){b2, NDATA};
    memset(vec, 0, 2 * sizeof *vec);
    vec[0].msg_hdr.msg_iov = iov, vec[0].msg_hdr.msg_iovlen = 1;
    vec[1].msg_hdr.msg_iov = iov2, vec[1].msg_hdr.msg_iovlen = 1;
    r = sendmmsg(f.peer, vec, 2, 0);
    CHECK(r == 2 && vec[0].msg_len == NDATA && vec[1].msg_len == NDATA, "sendmmsg of 2: %ld", r);
    struct timespec *t = (struct timespec *)heap(sizeof *t);
    *t = (struct timespec){1, 0};
    r = recvmmsg(f.dg, vec, 2, 0, t);
    CHECK(r == 2 && vec[1].msg_len == NDATA, "recvmmsg of 2 with a heap timeout: %ld errno %d", r, errno);
    errno = ERRNO_MARK;
    r = recvmmsg(f.dg, (struct mmsghdr *)freed_block(), 0, MSG_DONTWAIT, NULL);
    CHECK(r == 0 || (r == -1 && errno == EAGAIN), "recvmmsg of 0 messages: %ld errno %d", r, errno);
    /* Addresses: sendto a named socket from a heap sockaddr; recvfrom one. */
    int a = socket(AF_UNIX, SOCK_DGRAM, 0), b = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un *to = (struct sockaddr_un *)heap(sizeof *to);
    memset(to, 0, sizeof *to);
    to->sun_family = AF_UNIX;
    snprintf(to->sun_path + 1, sizeof to->sun_path - 1, "pooldbg-contract-%d", (int)getpid());
    socklen_t tolen = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(to->sun_path + 1);
    CHECK(bind(a, (struct sockaddr *)to, tolen) == 0, "bind: errno %d", errno);
    r = sendto(b, DATA, NDATA, 0, (struct sockaddr *)to, tolen);
    CHECK(r == NDATA, "sendto a heap address: %ld errno %d", r, errno);
    socklen_t *fromlen = (socklen_t *)heap(sizeof *fromlen);
    *fromlen = sizeof *name;
    r = recvfrom(a, buf, NDATA, 0, (struct sockaddr *)name, fromlen);
    CHECK(r == NDATA && *fromlen <= sizeof *name, "recvfrom into a heap address: %ld len %u", r, *fromlen);
    errno = 0;
    r = sendto(b, DATA, NDATA, 0, (struct sockaddr *)inaccessible(), tolen);
    CHECK(r == -1 && errno == EFAULT, "sendto from a PROT_NONE address: %ld errno %d, want EFAULT", r, errno);
    errno = 0;
    r = sendto(-1, DATA, NDATA, 0, (struct sockaddr *)to, tolen);
    CHECK(r == -1 && errno == EBADF, "sendto on descriptor -1: %ld errno %d", r, errno);
    close(a), close(b);
    close_fds(&f);
}

/* getsockopt's optval and optlen, accept's address and its length: heap,
 * stack, and the errors. */
static void socket_out_params(void) {
    struct fds f;
    CHECK(open_fds(&f), "descriptors");
    int *val = (int *)heap(sizeof *val);
    socklen_t *len = (socklen_t *)heap(sizeof *len);
    *len = sizeof *val;
    errno = ERRNO_MARK;
    int r = getsockopt(f.dg, SOL_SOCKET, SO_TYPE, val, len);
    CHECK(r == 0 && errno == ERRNO_MARK && *val == SOCK_DGRAM && *len == sizeof(int), "getsockopt into heap: %d", r);
    int sval;
    socklen_t slen = sizeof sval;
    r = getsockopt(f.dg, SOL_SOCKET, SO_TYPE, &sval, &slen);
    CHECK(r == 0 && sval == SOCK_DGRAM, "getsockopt into the stack: %d", r);
    errno = 0;
    r = getsockopt(-1, SOL_SOCKET, SO_TYPE, val, len);
    CHECK(r == -1 && errno == EBADF, "getsockopt on -1: %d errno %d", r, errno);
    errno = 0;
    r = getsockopt(f.pipe_r, SOL_SOCKET, SO_TYPE, val, len);
    CHECK(r == -1 && errno == ENOTSOCK, "getsockopt on a pipe: %d errno %d", r, errno);
    errno = 0;
    *len = sizeof *val;
    r = getsockopt(f.dg, SOL_SOCKET, SO_TYPE, inaccessible(), len);
    CHECK(r == -1 && errno == EFAULT, "getsockopt into a PROT_NONE page: %d errno %d", r, errno);
    errno = 0;
    r = getsockopt(f.dg, SOL_SOCKET, SO_TYPE, val, (socklen_t *)unmapped());
    CHECK(r == -1 && errno == EFAULT, "getsockopt with an unmapped optlen: %d errno %d", r, errno);

    for (int four = 0; four < 2; four++) {
        const char *call = four ? "accept4" : "accept";
        struct sockaddr_un where = {.sun_family = AF_UNIX};
        snprintf(where.sun_path + 1, sizeof where.sun_path - 1, "pooldbg-accept-%d-%d", (int)getpid(), four);
        socklen_t wlen = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(where.sun_path + 1);
        int l = socket(AF_UNIX, SOCK_STREAM, 0);
        CHECK(bind(l, (struct sockaddr *)&where, wlen) == 0 && listen(l, 8) == 0, "listen: errno %d", errno);
        int c1 = socket(AF_UNIX, SOCK_STREAM, 0), c2 = socket(AF_UNIX, SOCK_STREAM, 0);
        CHECK(connect(c1, (struct sockaddr *)&where, wlen) == 0 && connect(c2, (struct sockaddr *)&where, wlen) == 0,
              "connect: errno %d", errno);
        struct sockaddr_un *peer = (struct sockaddr_un *)heap(sizeof *peer);
        socklen_t *plen = (socklen_t *)heap(sizeof *plen);
        *plen = sizeof *peer;
        errno = ERRNO_MARK;
        int fd = four ? accept4(l, (struct sockaddr *)peer, plen, SOCK_CLOEXEC)
                      : accept(l, (struct sockaddr *)peer, plen);
        CHECK(fd >= 0 && errno == ERRNO_MARK && *plen == offsetof(struct sockaddr_un, sun_path),
              "%s into heap: %d len %u", call, fd, *plen);
        close(fd);
        struct sockaddr_un speer;
        socklen_t splen = sizeof speer;
        fd = four ? accept4(l, (struct sockaddr *)&speer, &splen, 0) : accept(l, (struct sockaddr *)&speer, &splen);
        CHECK(fd >= 0, "%s into the stack: %d errno %d", call, fd, errno);
        close(fd);
        errno = 0;
        fd = four ? accept4(-1, (struct sockaddr *)peer, plen, 0) : accept(-1, (struct sockaddr *)peer, plen);
        CHECK(fd == -1 && errno == EBADF, "%s on -1: %d errno %d", call, fd, errno);
        fcntl(l, F_SETFL, O_NONBLOCK);
        errno = 0;
        fd = four ? accept4(l, NULL, NULL, 0) : accept(l, NULL, NULL);
        CHECK(fd == -1 && errno == EAGAIN, "%s with nothing pending: %d errno %d", call, fd, errno);
        close(c1), close(c2), close(l);
        free(peer), free(plen);
    }
    close_fds(&f);
}

/* ---------------------------------------------------------------- stat */

typedef int (*stat_fn)(struct fds *f, int bad, void *buf);
static int s_stat(struct fds *f, int bad, void *b) { (void)f; return stat(bad ? "/nonexistent" : "/", b); }
static int s_stat64(struct fds *f, int bad, void *b) { (void)f; return stat64(bad ? "/nonexistent" : "/", b); }
static int s_lstat(struct fds *f, int bad, void *b) { (void)f; return lstat(bad ? "/nonexistent" : "/", b); }
static int s_lstat64(struct fds *f, int bad, void *b) { (void)f; return lstat64(bad ? "/nonexistent" : "/", b); }
static int s_fstat(struct fds *f, int bad, void *b) { return fstat(bad ? -1 : f->file, b); }
static int s_fstat64(struct fds *f, int bad, void *b) { return fstat64(bad ? -1 : f->file, b); }
static int s_fstatat(struct fds *f, int bad, void *b) { (void)f; return fstatat(AT_FDCWD, bad ? "/nonexistent" : "/", b, 0); }
static int s_fstatat64(struct fds *f, int bad, void *b) {
    (void)f;
    return fstatat64(AT_FDCWD, bad ? "/nonexistent" : "/", b, 0);
}
static int s_xstat(struct fds *f, int bad, void *b) { (void)f; return __xstat(1, bad ? "/nonexistent" : "/", b); }
static int s_xstat64(struct fds *f, int bad, void *b) { (void)f; return __xstat64(1, bad ? "/nonexistent" : "/", b); }
static int s_lxstat(struct fds *f, int bad, void *b) { (void)f; return __lxstat(1, bad ? "/nonexistent" : "/", b); }
static int s_lxstat64(struct fds *f, int bad, void *b) { (void)f; return __lxstat64(1, bad ? "/nonexistent" : "/", b); }
static int s_fxstat(struct fds *f, int bad, void *b) { return __fxstat(1, bad ? -1 : f->file, b); }
static int s_fxstat64(struct fds *f, int bad, void *b) { return __fxstat64(1, bad ? -1 : f->file, b); }
static int s_fxstatat(struct fds *f, int bad, void *b) {
    (void)f;
    return __fxstatat(1, AT_FDCWD, bad ? "/nonexistent" : "/", b, 0);
}
static int s_fxstatat64(struct fds *f, int bad, void *b) {
    (void)f;
    return __fxstatat64(1, AT_FDCWD, bad ? "/nonexistent" : "/", b, 0);
}
static int s_statx(struct fds *f, int bad, void *b) {
    (void)f;
    return statx(AT_FDCWD, bad ? "/nonexistent" : "/", 0, STATX_BASIC_STATS, b);
}

static const struct statcall {
    const char *name;
    stat_fn fn;
    int by_fd;   /* the error case is EBADF (else ENOENT) */
    int is_statx;
} statcalls[] = {
    {"stat", s_stat, 0, 0},         {"stat64", s_stat64, 0, 0},     {"lstat", s_lstat, 0, 0},
    {"lstat64", s_lstat64, 0, 0},   {"fstat", s_fstat, 1, 0},       {"fstat64", s_fstat64, 1, 0},
    {"fstatat", s_fstatat, 0, 0},   {"fstatat64", s_fstatat64, 0, 0}, {"__xstat", s_xstat, 0, 0},
    {"__xstat64", s_xstat64, 0, 0}, {"__lxstat", s_lxstat, 0, 0},   {"__lxstat64", s_lxstat64, 0, 0},
    {"__fxstat", s_fxstat, 1, 0},   {"__fxstat64", s_fxstat64, 1, 0}, {"__fxstatat", s_fxstatat, 0, 0},
    {"__fxstatat64", s_fxstatat64, 0, 0}, {"statx", s_statx, 0, 1},
};

static char global_stat[sizeof(struct statx)];

static void stats(void) {
    struct fds f;
    CHECK(open_fds(&f), "descriptors");
    struct stat ref;
    CHECK(stat("/", &ref) == 0, "stat /");
    char *map = mapped();
    for (size_t i = 0; i < sizeof statcalls / sizeof *statcalls; i++) {
        const struct statcall *s = &statcalls[i];
        size_t size = s->is_statx ? sizeof(struct statx) : sizeof(struct stat);
        char stack_buf[sizeof(struct statx)];
        char *where[] = {heap(size), stack_buf, global_stat, map};
        const char *kinds[] = {"heap", "stack", "global", "mmap"};
        for (int k = 0; k < 4; k++) {
            errno = ERRNO_MARK;
            int r = s->fn(&f, 0, where[k]);
            CHECK(r == 0 && errno == ERRNO_MARK, "%s into a %s buffer: %d errno %d", s->name, kinds[k], r, errno);
            unsigned long long ino = s->is_statx ? ((struct statx *)where[k])->stx_ino : ((struct stat *)where[k])->st_ino;
            CHECK(s->by_fd || ino == (unsigned long long)ref.st_ino, "%s into a %s buffer: inode %llu, want %llu",
                  s->name, kinds[k], ino, (unsigned long long)ref.st_ino);
        }
        errno = 0;
        int r = s->fn(&f, 1, where[0]);
        CHECK(r == -1 && errno == (s->by_fd ? EBADF : ENOENT), "%s failing: %d errno %d", s->name, r, errno);
        errno = 0;
        r = s->fn(&f, 0, inaccessible());
        CHECK(r == -1 && errno == EFAULT, "%s into a PROT_NONE page: %d errno %d", s->name, r, errno);
        free(where[0]);
    }
    /* A version __xstat does not know: EINVAL, nothing written (into a
     * freed block: no report either). */
    errno = 0;
    int r = __xstat(99, "/", (struct stat *)freed_block());
    CHECK(r == -1 && errno == EINVAL, "__xstat version 99: %d errno %d, want EINVAL", r, errno);
    close_fds(&f);
}

static void directory_entries(void) {
    int d = open("/", O_RDONLY | O_DIRECTORY);
    CHECK(d >= 0, "open /");
    char *buf = heap(4096);
    errno = ERRNO_MARK;
    long r = getdents64(d, buf, 4096);
    CHECK(r > 0 && errno == ERRNO_MARK, "getdents64 into 4096 heap bytes: %ld errno %d", r, errno);
    lseek(d, 0, SEEK_SET);
    char stack_buf[4096];
    long r2 = getdents64(d, stack_buf, sizeof stack_buf);
    CHECK(r2 == r, "getdents64 into the stack: %ld, heap %ld", r2, r);
    lseek(d, 0, SEEK_SET);
    errno = 0;
    r = getdents64(d, freed_block(), 0);
    CHECK(r == -1 && errno == EINVAL, "getdents64 of 0 bytes: %ld errno %d, want EINVAL", r, errno);
    errno = 0;
    r = getdents64(-1, buf, 4096);
    CHECK(r == -1 && errno == EBADF, "getdents64 on -1: %ld errno %d", r, errno);
    lseek(d, 0, SEEK_SET);
    errno = 0;
    r = getdents64(d, inaccessible(), 4096);
    CHECK(r == -1 && errno == EFAULT, "getdents64 into a PROT_NONE page: %ld errno %d", r, errno);
    close(d);
    free(buf);
}

/* glibc 2.33's stat names and 2.30's getdents64, looked up by name: before
 * those versions glibc has none of them (programs call __xstat), and only
 * libpooldbg defines them; they must work there as glibc's own inline
 * wrappers did (c_tests run this on the host; scripts/compat.sh on glibc
 * 2.31, where the lookup finds ours). Where nothing defines one it is
 * skipped, with a note. */
static void by_name(void) {
    struct fds f;
    CHECK(open_fds(&f), "descriptors");
    struct stat ref, fref;
    CHECK(stat("/", &ref) == 0 && fstat(f.file, &fref) == 0, "stat");
    static const char *const names[] = {"stat", "stat64", "lstat", "lstat64", "fstat", "fstat64", "fstatat",
                                        "fstatat64"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        void *fn = dlsym(RTLD_DEFAULT, names[i]);
        if (!fn) {
            printf("note: nothing defines %s here\n", names[i]);
            continue;
        }
        int at = !strncmp(names[i], "fstatat", 7);
        int by_fd = !at && !strncmp(names[i], "fstat", 5);
        struct stat *st = (struct stat *)heap(sizeof *st);
        int r;
        errno = ERRNO_MARK;
        if (by_fd)
            r = ((int (*)(int, struct stat *))fn)(f.file, st);
        else if (at)
            r = ((int (*)(int, const char *, struct stat *, int))fn)(AT_FDCWD, "/", st, 0);
        else
            r = ((int (*)(const char *, struct stat *))fn)("/", st);
        CHECK(r == 0 && errno == ERRNO_MARK, "%s by name: %d errno %d", names[i], r, errno);
        CHECK(st->st_ino == (by_fd ? fref : ref).st_ino, "%s by name: inode %llu", names[i],
              (unsigned long long)st->st_ino);
        errno = 0;
        if (by_fd)
            r = ((int (*)(int, struct stat *))fn)(-1, st);
        else if (at)
            r = ((int (*)(int, const char *, struct stat *, int))fn)(AT_FDCWD, "/nonexistent", st, 0);
        else
            r = ((int (*)(const char *, struct stat *))fn)("/nonexistent", st);
        CHECK(r == -1 && errno == (by_fd ? EBADF : ENOENT), "%s by name, failing: %d errno %d", names[i], r, errno);
        free(st);
    }
    ssize_t (*gd)(int, void *, size_t) = (ssize_t(*)(int, void *, size_t))dlsym(RTLD_DEFAULT, "getdents64");
    if (!gd) {
        printf("note: nothing defines getdents64 here\n");
    } else {
        char *buf = heap(4096);
        int d = open("/", O_RDONLY | O_DIRECTORY);
        errno = ERRNO_MARK;
        ssize_t r = gd(d, buf, 4096);
        CHECK(r > 0 && errno == ERRNO_MARK, "getdents64 by name: %zd errno %d", r, errno);
        errno = 0;
        r = gd(-1, buf, 4096);
        CHECK(r == -1 && errno == EBADF, "getdents64 by name on -1: %zd errno %d", r, errno);
        close(d);
        free(buf);
    }
    close_fds(&f);
}

/* ---------------------------------------------------------------- waiting */

static void waiting(void) {
    struct fds f;
    CHECK(open_fds(&f), "descriptors");
    struct pollfd *fds = (struct pollfd *)heap(2 * sizeof *fds);
    fds[0] = (struct pollfd){.fd = f.dg, .events = POLLIN};
    fds[1] = (struct pollfd){.fd = f.pipe_w, .events = POLLIN};
    struct timespec *t = (struct timespec *)heap(sizeof *t);
    *t = (struct timespec){0, 0};
    sigset_t *mask = (sigset_t *)heap(sizeof *mask);
    sigemptyset(mask);
    errno = ERRNO_MARK;
    int r = poll(fds, 2, 0);
    CHECK(r == 1 && fds[0].revents == POLLIN && errno == ERRNO_MARK, "poll on heap fds: %d errno %d", r, errno);
    r = __poll_chk(fds, 2, 0, 2 * sizeof *fds);
    CHECK(r == 1, "__poll_chk: %d errno %d", r, errno);
    r = ppoll(fds, 2, t, mask);
    CHECK(r == 1, "ppoll with heap timeout and mask: %d errno %d", r, errno);
    r = __ppoll_chk(fds, 2, t, mask, 2 * sizeof *fds);
    CHECK(r == 1, "__ppoll_chk: %d errno %d", r, errno);
    r = poll(fds + 1, 1, 0);
    CHECK(r == 0, "poll on the heap block's last pollfd: %d errno %d", r, errno);
    r = poll((struct pollfd *)freed_block(), 0, 0);
    CHECK(r == 0, "poll of 0 fds in a freed block: %d errno %d", r, errno);
    errno = 0;
    r = poll((struct pollfd *)inaccessible(), 1, 0);
    CHECK(r == -1 && errno == EFAULT, "poll on a PROT_NONE page: %d errno %d", r, errno);
    /* (A bad timeout is no EFAULT: glibc copies it in user space, and faults.) */
    errno = 0;
    r = ppoll(fds, 2, t, (sigset_t *)inaccessible());
    CHECK(r == -1 && errno == EFAULT, "ppoll with a PROT_NONE sigmask: %d errno %d", r, errno);

    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = f.dg};
    CHECK(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, f.dg, &ev) == 0, "epoll: errno %d", errno);
    struct epoll_event *events = (struct epoll_event *)heap(sizeof *events);
    errno = ERRNO_MARK;
    r = epoll_wait(ep, events, 1, 0);
    CHECK(r == 1 && events->data.fd == f.dg && errno == ERRNO_MARK, "epoll_wait into heap: %d errno %d", r, errno);
    r = epoll_pwait(ep, events, 1, 0, mask);
    CHECK(r == 1, "epoll_pwait into heap: %d errno %d", r, errno);
    errno = 0;
    r = epoll_wait(ep, (struct epoll_event *)freed_block(), 0, 0);
    CHECK(r == -1 && errno == EINVAL, "epoll_wait for 0 events: %d errno %d, want EINVAL", r, errno);
    errno = 0;
    r = epoll_wait(-1, events, 1, 0);
    CHECK(r == -1 && errno == EBADF, "epoll_wait on -1: %d errno %d", r, errno);
    errno = 0;
    r = epoll_wait(ep, (struct epoll_event *)inaccessible(), 1, 0);
    CHECK(r == -1 && errno == EFAULT, "epoll_wait into a PROT_NONE page: %d errno %d", r, errno);
    close(ep);

    fd_set *rs = (fd_set *)heap(sizeof *rs);
    struct timeval *tv = (struct timeval *)heap(sizeof *tv);
    FD_ZERO(rs);
    FD_SET(f.dg, rs);
    *tv = (struct timeval){0, 0};
    errno = ERRNO_MARK;
    r = select(f.dg + 1, rs, NULL, NULL, tv);
    CHECK(r == 1 && FD_ISSET(f.dg, rs) && errno == ERRNO_MARK, "select on a heap fd_set: %d errno %d", r, errno);
    FD_ZERO(rs);
    FD_SET(f.dg, rs);
    r = pselect(f.dg + 1, rs, NULL, NULL, t, mask);
    CHECK(r == 1, "pselect on heap fd_set, timeout, mask: %d errno %d", r, errno);
    errno = 0;
    r = select(-1, rs, NULL, NULL, tv);
    CHECK(r == -1 && errno == EINVAL, "select of -1 descriptors: %d errno %d", r, errno);
    int closed = dup(f.dg);
    close(closed);
    FD_ZERO(rs);
    FD_SET(closed, rs);
    errno = 0;
    r = select(closed + 1, rs, NULL, NULL, tv);
    CHECK(r == -1 && errno == EBADF, "select on a closed descriptor: %d errno %d", r, errno);
    errno = 0;
    r = select(f.dg + 1, (fd_set *)inaccessible(), NULL, NULL, tv);
    CHECK(r == -1 && errno == EFAULT, "select on a PROT_NONE fd_set: %d errno %d", r, errno);
    close_fds(&f);
}

/* ---------------------------------------------------------------- main */

static const struct check {
    const char *name;
    void (*fn)(void);
} checks[] = {
    {"transfers", transfers},
    {"refused_counts", refused_counts},
    {"iovec_arrays", iovec_arrays},
    {"messages", messages},
    {"socket_out_params", socket_out_params},
    {"stats", stats},
    {"by_name", by_name},
    {"directory_entries", directory_entries},
    {"waiting", waiting},
};

int main(int argc, char **argv) {
    size_t n = sizeof checks / sizeof *checks;
    if (argc == 2 && !strcmp(argv[1], "--list")) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", checks[i].name);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < n; i++) {
        int wanted = argc < 2;
        for (int a = 1; a < argc; a++)
            if (strcmp(argv[a], checks[i].name) == 0)
                wanted = 1;
        if (!wanted)
            continue;
        current = checks[i].name;
        printf("check %s\n", current);
        fflush(stdout);
        int before = failures;
        checks[i].fn();
        if (failures == before)
            printf("ok %s\n", current);
        fflush(stdout);
    }
    return failures ? 1 : 0;
}

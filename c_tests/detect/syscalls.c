/* Heap buffers handed to the kernel (issue 14, item 1): a freed block, or a
 * range past a live block's end, given to a libc call that passes it to the
 * kernel. The kernel's copy does not fault (the call would fail with EFAULT
 * or transfer less): libpooldbg must report it before the call, naming it.
 *
 * usage: syscalls CALL PARAM MODE BLOCK BYTES
 *   CALL   the libc function called (read, __read_chk, recvmmsg, __xstat, …)
 *   PARAM  which of its buffers is the heap block: buf, iov, iov[1], msg,
 *          msg->msg_name, msg->msg_iov, msg->msg_iov[1], msg->msg_control,
 *          msgvec, msgvec[1].msg_hdr.msg_iov[0], addr, addrlen, dest_addr,
 *          optval, optlen, statbuf, statxbuf, dirp, fds, events, readfds,
 *          writefds, exceptfds, timeout, tmo_p, sigmask
 *   MODE   uaf        the block is freed before the call
 *          overflow   the block is live, BLOCK bytes, shorter than the range
 *          underflow  the range starts 16 bytes before the live block
 *          wild       the range starts three slots above the live block (a
 *                     32-byte block: in our heap, near no block)
 *   BLOCK  the block's size
 *   BYTES  the range the call is given there: a count, a length, or (for an
 *          array or a fixed-size struct) its size in bytes, from which the
 *          count is derived (iovecs: BYTES/16, pollfds: BYTES/8, epoll
 *          events: BYTES/12, mmsghdrs: BYTES/64, fd_sets: BYTES*8 bits)
 * Every other buffer of the call is valid memory on the stack; descriptors
 * are ready, so an undetected call returns. Prints "ADDR 0x<block>" before
 * the call, and "RETURNED ret=R errno=E" if the call returned (undetected,
 * or with on_error=continue).
 * The block itself is never written: the check must come before any read.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#define NOINLINE __attribute__((noinline))

/* glibc's entry points that no header declares as such. */
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

/* Everything a call may be given; PARAM replaces one of these with the block. */
struct ctx {
    int pipe_r, pipe_w, file, dir, dgram, peer, listener, epfd;
    void *buf;
    size_t len;
    struct iovec *iov;
    int iovcnt;
    struct msghdr *msg;
    struct mmsghdr *vec;
    unsigned vlen;
    void *addr;
    socklen_t *addrlen;
    void *optval;
    socklen_t *optlen;
    void *statbuf;
    struct pollfd *fds;
    nfds_t nfds;
    struct epoll_event *events;
    int maxevents;
    fd_set *sets[3];
    int nfds_select;
    void *timeout;
    sigset_t *sigmask;
};

NOINLINE char *alloc_block(size_t size) { return malloc(size); }

NOINLINE void release_block(char *p) { free(p); }

/* The call under test, from one function that the report's stack names. */
NOINLINE long do_call(const char *call, struct ctx *c)
{
    const char *path = "/";
    size_t big = (size_t)-1; /* _FORTIFY_SOURCE's buffer length: unknown */
#define IS(name) (!strcmp(call, name))
    if (IS("read"))
        return read(c->pipe_r, c->buf, c->len);
    if (IS("__read_chk"))
        return __read_chk(c->pipe_r, c->buf, c->len, big);
    if (IS("pread"))
        return pread(c->file, c->buf, c->len, 0);
    if (IS("pread64"))
        return pread64(c->file, c->buf, c->len, 0);
    if (IS("__pread_chk"))
        return __pread_chk(c->file, c->buf, c->len, 0, big);
    if (IS("__pread64_chk"))
        return __pread64_chk(c->file, c->buf, c->len, 0, big);
    if (IS("readv"))
        return readv(c->pipe_r, c->iov, c->iovcnt);
    if (IS("preadv"))
        return preadv(c->file, c->iov, c->iovcnt, 0);
    if (IS("preadv64"))
        return preadv64(c->file, c->iov, c->iovcnt, 0);
    if (IS("preadv2"))
        return preadv2(c->file, c->iov, c->iovcnt, 0, 0);
    if (IS("preadv64v2"))
        return preadv64v2(c->file, c->iov, c->iovcnt, 0, 0);
    if (IS("write"))
        return write(c->pipe_w, c->buf, c->len);
    if (IS("pwrite"))
        return pwrite(c->file, c->buf, c->len, 0);
    if (IS("pwrite64"))
        return pwrite64(c->file, c->buf, c->len, 0);
    if (IS("writev"))
        return writev(c->pipe_w, c->iov, c->iovcnt);
    if (IS("pwritev"))
        return pwritev(c->file, c->iov, c->iovcnt, 0);
    if (IS("pwritev64"))
        return pwritev64(c->file, c->iov, c->iovcnt, 0);
    if (IS("pwritev2"))
        return pwritev2(c->file, c->iov, c->iovcnt, 0, 0);
    if (IS("pwritev64v2"))
        return pwritev64v2(c->file, c->iov, c->iovcnt, 0, 0);
    if (IS("recv"))
        return recv(c->dgram, c->buf, c->len, MSG_DONTWAIT);
    if (IS("__recv_chk"))
        return __recv_chk(c->dgram, c->buf, c->len, big, MSG_DONTWAIT);
    if (IS("recvfrom"))
        return recvfrom(c->dgram, c->buf, c->len, MSG_DONTWAIT, c->addr, c->addrlen);
    if (IS("__recvfrom_chk"))
        return __recvfrom_chk(c->dgram, c->buf, c->len, big, MSG_DONTWAIT, c->addr, c->addrlen);
    if (IS("recvmsg"))
        return recvmsg(c->dgram, c->msg, MSG_DONTWAIT);
    if (IS("recvmmsg"))
        return recvmmsg(c->dgram, c->vec, c->vlen, MSG_DONTWAIT, c->timeout);
    if (IS("send"))
        return send(c->peer, c->buf, c->len, MSG_DONTWAIT);
    if (IS("sendto"))
        return sendto(c->peer, c->buf, c->len, MSG_DONTWAIT, c->addr, c->addrlen ? *c->addrlen : 0);
    if (IS("sendmsg"))
        return sendmsg(c->peer, c->msg, MSG_DONTWAIT);
    if (IS("sendmmsg"))
        return sendmmsg(c->peer, c->vec, c->vlen, MSG_DONTWAIT);
    if (IS("getsockopt"))
        return getsockopt(c->dgram, SOL_SOCKET, SO_RCVBUF, c->optval, c->optlen);
    if (IS("accept"))
        return accept(c->listener, c->addr, c->addrlen);
    if (IS("accept4"))
        return accept4(c->listener, c->addr, c->addrlen, SOCK_CLOEXEC);
    if (IS("stat"))
        return stat(path, c->statbuf);
    if (IS("stat64"))
        return stat64(path, c->statbuf);
    if (IS("lstat"))
        return lstat(path, c->statbuf);
    if (IS("lstat64"))
        return lstat64(path, c->statbuf);
    if (IS("fstat"))
        return fstat(c->file, c->statbuf);
    if (IS("fstat64"))
        return fstat64(c->file, c->statbuf);
    if (IS("fstatat"))
        return fstatat(AT_FDCWD, path, c->statbuf, 0);
    if (IS("fstatat64"))
        return fstatat64(AT_FDCWD, path, c->statbuf, 0);
    if (IS("__xstat"))
        return __xstat(1, path, c->statbuf);
    if (IS("__xstat64"))
        return __xstat64(1, path, c->statbuf);
    if (IS("__lxstat"))
        return __lxstat(1, path, c->statbuf);
    if (IS("__lxstat64"))
        return __lxstat64(1, path, c->statbuf);
    if (IS("__fxstat"))
        return __fxstat(1, c->file, c->statbuf);
    if (IS("__fxstat64"))
        return __fxstat64(1, c->file, c->statbuf);
    if (IS("__fxstatat"))
        return __fxstatat(1, AT_FDCWD, path, c->statbuf, 0);
    if (IS("__fxstatat64"))
        return __fxstatat64(1, AT_FDCWD, path, c->statbuf, 0);
    if (IS("statx"))
        return statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, c->statbuf);
    if (IS("getdents64"))
        return getdents64(c->dir, c->buf, c->len);
    if (IS("poll"))
        return poll(c->fds, c->nfds, 0);
    if (IS("__poll_chk"))
        return __poll_chk(c->fds, c->nfds, 0, big);
    if (IS("ppoll"))
        return ppoll(c->fds, c->nfds, c->timeout, c->sigmask);
    if (IS("__ppoll_chk"))
        return __ppoll_chk(c->fds, c->nfds, c->timeout, c->sigmask, big);
    if (IS("epoll_wait"))
        return epoll_wait(c->epfd, c->events, c->maxevents, 0);
    if (IS("epoll_pwait"))
        return epoll_pwait(c->epfd, c->events, c->maxevents, 0, c->sigmask);
    if (IS("select"))
        return select(c->nfds_select, c->sets[0], c->sets[1], c->sets[2], c->timeout);
    if (IS("pselect"))
        return pselect(c->nfds_select, c->sets[0], c->sets[1], c->sets[2], c->timeout, c->sigmask);
#undef IS
    fprintf(stderr, "unknown call %s\n", call);
    exit(2);
}

static int die(const char *what)
{
    perror(what);
    exit(3);
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s CALL PARAM MODE BLOCK BYTES\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *call = argv[1], *param = argv[2], *mode = argv[3];
    size_t block = strtoull(argv[4], NULL, 0), bytes = strtoull(argv[5], NULL, 0);

    /* Descriptors, each ready for its call. */
    struct ctx c;
    memset(&c, 0, sizeof c);
    int pp[2], dg[2];
    if (pipe(pp) || socketpair(AF_UNIX, SOCK_DGRAM, 0, dg))
        die("pipe/socketpair");
    c.pipe_r = pp[0], c.pipe_w = pp[1], c.dgram = dg[0], c.peer = dg[1];
    if (write(pp[1], "pipe data", 9) != 9 || send(dg[1], "datagram", 8, 0) != 8 || send(dg[1], "again", 5, 0) != 5)
        die("write");
    if ((c.file = memfd_create("syscalls", 0)) < 0 || write(c.file, "file contents", 13) != 13)
        die("memfd_create");
    if ((c.dir = open(".", O_RDONLY | O_DIRECTORY)) < 0)
        die("open .");
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path + 1, sizeof sun.sun_path - 1, "pooldbg-syscalls-%d", (int)getpid());
    socklen_t sunlen = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sun.sun_path + 1);
    int client = socket(AF_UNIX, SOCK_STREAM, 0);
    c.listener = socket(AF_UNIX, SOCK_STREAM, 0);
    if (c.listener < 0 || bind(c.listener, (struct sockaddr *)&sun, sunlen) || listen(c.listener, 4) ||
        connect(client, (struct sockaddr *)&sun, sunlen))
        die("listen/connect");
    if ((c.epfd = epoll_create1(0)) < 0)
        die("epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = dg[0]};
    if (epoll_ctl(c.epfd, EPOLL_CTL_ADD, dg[0], &ev))
        die("epoll_ctl");

    /* Valid stack buffers for everything. */
    char buf[256], small[4], name[128], optval[64], statbuf[512];
    static char spare[256];
    socklen_t addrlen = sizeof name, optlen = sizeof optval;
    struct iovec iov[2] = {{small, sizeof small}, {buf, sizeof buf}};
    struct iovec msg_iov[2] = {{small, sizeof small}, {buf, sizeof buf}};
    struct msghdr msg = {.msg_iov = msg_iov, .msg_iovlen = 2};
    struct iovec vec_iov[2][1] = {{{small, sizeof small}}, {{spare, sizeof spare}}};
    struct mmsghdr vec[2];
    memset(vec, 0, sizeof vec);
    for (int i = 0; i < 2; i++)
        vec[i].msg_hdr.msg_iov = vec_iov[i], vec[i].msg_hdr.msg_iovlen = 1;
    struct pollfd fds[2] = {{.fd = dg[0], .events = POLLIN}, {.fd = pp[0], .events = POLLIN}};
    struct epoll_event events[4];
    fd_set sets[3];
    for (int i = 0; i < 3; i++)
        FD_ZERO(&sets[i]);
    FD_SET(dg[0], &sets[0]);
    struct timespec ts = {0, 0};
    sigset_t mask;
    sigemptyset(&mask);
    c.buf = buf, c.len = sizeof buf, c.iov = iov, c.iovcnt = 2, c.msg = &msg, c.vec = vec, c.vlen = 2;
    c.addr = name, c.addrlen = &addrlen, c.optval = optval, c.optlen = &optlen, c.statbuf = statbuf;
    c.fds = fds, c.nfds = 2, c.events = events, c.maxevents = 4;
    c.sets[0] = &sets[0], c.sets[1] = &sets[1], c.sets[2] = &sets[2], c.nfds_select = dg[0] + 1;
    c.timeout = &ts, c.sigmask = &mask;
    if (!strcmp(call, "select") && c.nfds_select > 64)
        die("descriptor numbers too high for one fd_set word");

    /* The block, and the range the call is given in it. */
    char *p = alloc_block(block);
    if (!p)
        die("malloc");
    printf("ADDR %p\n", (void *)p);
    char *at = p;
    if (!strcmp(mode, "uaf"))
        release_block(p);
    else if (!strcmp(mode, "underflow"))
        at = p - 16;
    else if (!strcmp(mode, "wild"))
        at = p + 3 * 8192;
    else if (strcmp(mode, "overflow"))
        die("MODE");

#define PARAM(s) (!strcmp(param, s))
    if (PARAM("buf") || PARAM("dirp"))
        c.buf = at, c.len = bytes;
    else if (PARAM("iov"))
        c.iov = (struct iovec *)at, c.iovcnt = bytes / sizeof(struct iovec);
    else if (PARAM("iov[1]"))
        iov[1].iov_base = at, iov[1].iov_len = bytes;
    else if (PARAM("msg"))
        c.msg = (struct msghdr *)at;
    else if (PARAM("msg->msg_name"))
        msg.msg_name = at, msg.msg_namelen = bytes;
    else if (PARAM("msg->msg_iov"))
        msg.msg_iov = (struct iovec *)at, msg.msg_iovlen = bytes / sizeof(struct iovec);
    else if (PARAM("msg->msg_iov[1]"))
        msg_iov[1].iov_base = at, msg_iov[1].iov_len = bytes;
    else if (PARAM("msg->msg_control"))
        msg.msg_control = at, msg.msg_controllen = bytes;
    else if (PARAM("msgvec"))
        c.vec = (struct mmsghdr *)at, c.vlen = bytes / sizeof(struct mmsghdr);
    else if (PARAM("msgvec[1].msg_hdr.msg_iov[0]"))
        vec_iov[1][0].iov_base = at, vec_iov[1][0].iov_len = bytes;
    else if (PARAM("addr") || PARAM("dest_addr"))
        c.addr = at, addrlen = bytes;
    else if (PARAM("addrlen"))
        c.addrlen = (socklen_t *)at;
    else if (PARAM("optval"))
        c.optval = at, optlen = bytes;
    else if (PARAM("optlen"))
        c.optlen = (socklen_t *)at;
    else if (PARAM("statbuf") || PARAM("statxbuf"))
        c.statbuf = at;
    else if (PARAM("fds"))
        c.fds = (struct pollfd *)at, c.nfds = bytes / sizeof(struct pollfd);
    else if (PARAM("events"))
        c.events = (struct epoll_event *)at, c.maxevents = bytes / sizeof(struct epoll_event);
    else if (PARAM("readfds") || PARAM("writefds") || PARAM("exceptfds"))
        c.sets[PARAM("readfds") ? 0 : PARAM("writefds") ? 1 : 2] = (fd_set *)at, c.nfds_select = bytes * 8;
    else if (PARAM("timeout") || PARAM("tmo_p"))
        c.timeout = at;
    else if (PARAM("sigmask"))
        c.sigmask = (sigset_t *)at;
    else
        die("PARAM");
#undef PARAM
    if (!strcmp(call, "sendto") && strcmp(param, "dest_addr"))
        c.addr = NULL, addrlen = 0; /* the peer is connected */

    errno = 0;
    long r = do_call(call, &c);
    printf("RETURNED ret=%ld errno=%d\n", r, errno);
    return 0;
}

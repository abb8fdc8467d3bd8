#!/usr/bin/env bash
# check_exports.sh LIB — does the built library interpose everything it must?
#
#  1. every libc malloc-family name, every C++ operator new/delete variant
#     and pthread_create, every function that sets a signal's action and every
#     libc call that hands a buffer to the kernel (src/front/syscalls.rs) are
#     exported (nm -D --defined-only); missing ones are listed; nothing else is;
#  1b. each of those calls forwards to libc with a tail jump (objdump -d):
#     no frame of ours stays under a blocking call or a cancellation;
#  2. no general-dynamic TLS: glibc requires initial-exec TLS in a malloc
#     replacement, so neither an undefined __tls_get_addr nor an
#     R_X86_64_DTPMOD64 relocation may appear;
#  3. glibc 2.28 and newer can load it: no symbol version newer than
#     GLIBC_2.28 in objdump -T (README, "Supported systems");
#  4. the library loads: LD_PRELOAD=LIB /bin/true exits 0.
# Exit 0 when all hold, 1 otherwise. Run from the repository root.
set -u

lib=${1:-${LIB:-target/release/libpooldbg.so}}

if ! command -v nm >/dev/null || ! command -v readelf >/dev/null || ! command -v objdump >/dev/null; then
    echo "check_exports: installing binutils (nm, readelf, objdump)"
    (apt-get update -qq && apt-get install -y -qq binutils) >/dev/null 2>&1 || {
        echo "check_exports: FAIL: nm/readelf/objdump missing and binutils would not install"
        exit 1
    }
fi

if [ ! -f "$lib" ]; then
    echo "check_exports: FAIL: $lib not found (run 'make lib' first)"
    exit 1
fi

required=(
    malloc free calloc realloc reallocarray posix_memalign aligned_alloc
    memalign valloc pvalloc malloc_usable_size cfree
    __libc_malloc __libc_free __libc_calloc __libc_realloc __libc_memalign
    __posix_memalign
    # thread creation, so that reports say who created each thread (libc's
    # pthread_create is found without dlsym: front/thread.rs, sys/thread.rs)
    pthread_create
    # glibc's heap introspection, answered with libpooldbg's figures
    mallinfo mallinfo2 malloc_stats malloc_info mallopt malloc_trim
    # operator new / new[]: plain, nothrow, aligned, aligned nothrow
    _Znwm _Znam
    _ZnwmRKSt9nothrow_t _ZnamRKSt9nothrow_t
    _ZnwmSt11align_val_t _ZnamSt11align_val_t
    _ZnwmSt11align_val_tRKSt9nothrow_t _ZnamSt11align_val_tRKSt9nothrow_t
    # operator delete / delete[]: plain, sized, aligned, sized aligned,
    # nothrow, aligned nothrow
    _ZdlPv _ZdaPv
    _ZdlPvm _ZdaPvm
    _ZdlPvSt11align_val_t _ZdaPvSt11align_val_t
    _ZdlPvmSt11align_val_t _ZdaPvmSt11align_val_t
    _ZdlPvRKSt9nothrow_t _ZdaPvRKSt9nothrow_t
    _ZdlPvSt11align_val_tRKSt9nothrow_t _ZdaPvSt11align_val_tRKSt9nothrow_t
    # every way glibc offers to set a signal's action: SIGSEGV and SIGBUS
    # are recorded behind our fault handler, other signals passed to glibc
    # (src/front/signals.rs); __sigaction is the name we call glibc's by
    sigaction signal bsd_signal ssignal sysv_signal __sysv_signal sigset
    sigignore siginterrupt
)
# The libc calls that hand a buffer to the kernel (src/front/syscalls.rs):
# checked, then forwarded to the next definition.
syscalls=(
    read pread pread64 readv preadv preadv64 preadv2 preadv64v2
    write pwrite pwrite64 writev pwritev pwritev64 pwritev2 pwritev64v2
    recv recvfrom recvmsg recvmmsg send sendto sendmsg sendmmsg
    getsockopt accept accept4
    stat stat64 lstat lstat64 fstat fstat64 fstatat fstatat64 statx
    __xstat __xstat64 __lxstat __lxstat64 __fxstat __fxstat64 __fxstatat __fxstatat64
    getdents64 poll ppoll epoll_wait epoll_pwait select pselect
    # _FORTIFY_SOURCE's checked forms of the same calls
    __read_chk __pread_chk __pread64_chk __recv_chk __recvfrom_chk __poll_chk __ppoll_chk
)
required+=("${syscalls[@]}")

fail=0
defined=$(nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' | sort -u)

missing=()
for sym in "${required[@]}"; do
    grep -qxF "$sym" <<<"$defined" || missing+=("$sym")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "check_exports: FAIL: ${#missing[@]} of ${#required[@]} required symbols not exported by $lib:"
    printf '  %s\n' "${missing[@]}"
    fail=1
else
    echo "check_exports: ok: all ${#required[@]} required symbols exported"
fi

# Each interposed call ends in a tail jump to the next definition
# (sys/next.rs): the wrapper's frame is gone before libc's function runs,
# so a blocking call, a cancellation or a debugger's backtrace see what
# they would without us. An indirect call instead means the compiler kept a
# frame (a Param built on the stack, say): see front/syscalls.rs.
framed=()
disasm=$(objdump -d --no-show-raw-insn "$lib")
for sym in "${syscalls[@]}"; do
    body=$(awk -v s="<$sym>:" '$2 == s { on = 1; next } on && NF == 0 { exit } on' <<<"$disasm")
    if ! grep -q 'jmp  *\*%' <<<"$body" || grep -q 'call  *\*%' <<<"$body"; then
        framed+=("$sym")
    fi
done
if [ ${#framed[@]} -gt 0 ]; then
    echo "check_exports: FAIL: these wrappers call libc instead of jumping to it: ${framed[*]}"
    fail=1
else
    echo "check_exports: ok: all ${#syscalls[@]} interposed calls forward with a tail jump"
fi

extras=$(grep '^pooldbg_' <<<"$defined" | tr '\n' ' ')
echo "check_exports: pooldbg extras: ${extras:-(none)}"

# Nothing else: a symbol we export interposes on every library in the
# process (rustc aborted on a compile error when our empty
# rust_eh_personality stood in for its own).
unexpected=()
while read -r sym; do
    [ -n "$sym" ] || continue
    case " ${required[*]} " in *" $sym "*) continue ;; esac
    case $sym in pooldbg_* | __libc_valloc | __libc_pvalloc) continue ;; esac
    unexpected+=("$sym")
done <<<"$defined"
if [ ${#unexpected[@]} -gt 0 ]; then
    echo "check_exports: FAIL: exports symbols outside the allocator API: ${unexpected[*]}"
    fail=1
else
    echo "check_exports: ok: nothing exported but the API above"
fi

# Initial-exec TLS only.
tls_ok=1
if nm -D "$lib" | grep -qw '__tls_get_addr'; then
    echo "check_exports: FAIL: $lib references __tls_get_addr (general-dynamic TLS; use initial-exec)"
    nm -D "$lib" | grep -w '__tls_get_addr' | sed 's/^/  /'
    tls_ok=0
fi
if readelf -rW "$lib" | grep -q 'R_X86_64_DTPMOD64'; then
    echo "check_exports: FAIL: $lib has R_X86_64_DTPMOD64 relocations (general-dynamic TLS; use initial-exec)"
    readelf -rW "$lib" | grep 'R_X86_64_DTPMOD64' | head -5 | sed 's/^/  /'
    tls_ok=0
fi
if [ $tls_ok -eq 1 ]; then
    echo "check_exports: ok: no __tls_get_addr / DTPMOD64 (initial-exec TLS only)"
else
    fail=1
fi

# The oldest glibc we support is 2.28 (RHEL 8): a newer symbol version
# (the default one of a symbol glibc changed since, say fstat@GLIBC_2.33)
# makes the loader refuse the library there. src/sys/symver.c binds old ones.
newer=$(objdump -T "$lib" | awk '{
    for (i = 1; i <= NF; i++) {
        v = $i
        gsub(/[()]/, "", v)
        if (v !~ /^GLIBC_[0-9]+\.[0-9]+/) continue
        split(substr(v, 7), n, ".")
        if (n[1] > 2 || (n[1] == 2 && n[2] > 28)) print $NF "@" v
    }
}' | sort -u | tr '\n' ' ')
if [ -n "$newer" ]; then
    echo "check_exports: FAIL: needs a glibc newer than 2.28 (oldest supported): ${newer% }"
    fail=1
else
    echo "check_exports: ok: no symbol version newer than GLIBC_2.28 ($(objdump -T "$lib" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1) is the newest)"
fi

# It must load (an undefined rust_eh_personality, say, shows up only here).
abs=$(readlink -f "$lib")
if out=$(LD_PRELOAD="$abs" timeout 20 /bin/true 2>&1); then
    echo "check_exports: ok: LD_PRELOAD=$lib /bin/true runs"
else
    echo "check_exports: FAIL: LD_PRELOAD=$lib /bin/true failed:"
    printf '%s\n' "$out" | tail -5 | sed 's/^/  /'
    fail=1
fi

if [ $fail -ne 0 ]; then
    echo "check_exports: FAILED"
    exit 1
fi
echo "check_exports: passed"

//! libc's string and memory functions, by the address of the implementation
//! this process runs. glibc picks a vector variant of each at load time
//! (`__strlen_avx2`, `__memmove_avx_unaligned_erms`, …) whose names are not
//! in its dynamic symbol table, so a fault inside one showed as `??`.
//! Taking a function's address makes the loader resolve it to that variant
//! (an IFUNC GLOB_DAT relocation), so the table costs nothing to build and
//! is safe to read in a signal handler.

macro_rules! table {
    ($($name:ident),* $(,)?) => {
        extern "C" {
            $(fn $name();)*
        }
        /// Every function's name and the address of its implementation here.
        pub fn each(mut f: impl FnMut(&'static str, usize)) {
            $(f(stringify!($name), $name as *const () as usize);)*
        }
    };
}

// Most used first: where several share one implementation (memmove and
// memcpy), the first named is said first.
table!(
    memcpy,
    memmove,
    mempcpy,
    memset,
    memcmp,
    bcmp,
    memchr,
    memrchr,
    rawmemchr,
    memmem,
    strlen,
    strnlen,
    strcpy,
    stpcpy,
    strncpy,
    stpncpy,
    strcat,
    strncat,
    strcmp,
    strncmp,
    strcasecmp,
    strncasecmp,
    strchr,
    strchrnul,
    strrchr,
    strstr,
    strcasestr,
    strspn,
    strcspn,
    strpbrk,
    wcslen,
    wcsnlen,
    wcscpy,
    wcscmp,
    wcsncmp,
    wcschr,
    wcsrchr,
    wmemchr,
    wmemcmp,
    wmemset,
);

//! The environment, read without allocating (before or without libc's
//! `getenv` being safe to call).

extern "C" {
    static environ: *const *const libc::c_char;
}

/// The value of the first environment entry that starts with `prefix`
/// (e.g. `b"POOLDBG_OPTIONS="`).
pub fn get(prefix: &[u8]) -> Option<&'static [u8]> {
    // SAFETY: environ is a NULL-terminated array of NUL-terminated strings
    // (or NULL very early, before libc set it up); entries live as long as
    // the program does not change them, which it cannot do while it is
    // still starting.
    unsafe {
        let mut e = environ;
        if e.is_null() {
            return None;
        }
        while !(*e).is_null() {
            let entry = core::ffi::CStr::from_ptr(*e).to_bytes();
            if let Some(value) = entry.strip_prefix(prefix) {
                return Some(value);
            }
            e = e.add(1);
        }
    }
    None
}

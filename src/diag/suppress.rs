//! Suppressions (`suppressions=FILE`), in the shape LeakSanitizer and
//! valgrind users know: one entry per line, `KIND:PATTERN`, where KIND is
//! `leak`, a bug kind (`heap-use-after-free`, `double-free`, …) or `*`, and
//! PATTERN a glob (`*`, `?`) matched against each frame of the relevant
//! stack: its function name (mangled, and a plain `ns::Class::method` form
//! read from an Itanium mangling), and its module's path. The relevant
//! stack is the allocation stack for a leak, the stack of the bug for the
//! others. `#` starts a comment; blank lines are skipped.
//!
//! A suppressed report prints nothing and changes no exit status (the
//! program goes on as with `on_error=continue`); at exit one NOTICE line
//! says how many reports and leaked bytes each entry took.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use crate::heap::depot::{self, MAX_FRAMES};
use crate::out::say;
use crate::sys::elf::{self, ModulePath};
use crate::sys::{mem, PAGE};
use crate::util::fmt::{Bytes, Line};
use crate::util::global::Global;

const MAX_ENTRIES: usize = 256;
const MAX_FILE: usize = 256 * 1024;

#[derive(Clone, Copy)]
struct Entry {
    /// Offsets into the file's text.
    kind: (usize, usize),
    pattern: (usize, usize),
}

struct Table {
    text: usize,
    entries: [Entry; MAX_ENTRIES],
    n: usize,
}

static TABLE: Global<Table> =
    Global::new(Table { text: 0, entries: [Entry { kind: (0, 0), pattern: (0, 0) }; MAX_ENTRIES], n: 0 });
/// Per entry: reports it suppressed, leak groups, and their leaked bytes.
static HITS: [AtomicU64; MAX_ENTRIES] = [const { AtomicU64::new(0) }; MAX_ENTRIES];
static LEAKS: [AtomicU64; MAX_ENTRIES] = [const { AtomicU64::new(0) }; MAX_ENTRIES];
static BYTES: [AtomicU64; MAX_ENTRIES] = [const { AtomicU64::new(0) }; MAX_ENTRIES];
/// The summary line is printed once (before a leak exit, or at the end).
static SUMMARY_DONE: AtomicBool = AtomicBool::new(false);

/// Every bug kind a report's first line names (the leak report aside):
/// the kinds an entry may name, with `leak` and `*`, and the reports that
/// end with a SUMMARY line (diag/report.rs).
pub const BUG_KINDS: [&str; 13] = [
    "heap-buffer-overflow",
    "heap-buffer-underflow",
    "heap-use-after-free",
    "heap-wild-access",
    "double-free",
    "invalid-free",
    "interior-pointer-free",
    "corrupted-owner-link",
    "alloc-dealloc-mismatch",
    "new-delete-type-mismatch",
    "SEGV",
    "BUS",
    "stack-overflow",
];

/// What was wrong with the file, for the one-line start-up error.
pub enum LoadError {
    Unreadable(i32),
    TooBig,
    TooMany,
    BadLine(usize),
}

/// Reads and parses the suppressions file `path`.
///
/// # Safety
/// Start-up only (writes a `Global`).
pub unsafe fn load(path: &[u8]) -> Result<(), LoadError> {
    let Some(text) = mem::map_rw(MAX_FILE + PAGE) else { return Err(LoadError::Unreadable(libc::ENOMEM)) };
    // SAFETY: the mapping is ours, MAX_FILE + PAGE bytes.
    let buf = core::slice::from_raw_parts_mut(text as *mut u8, MAX_FILE + PAGE);
    let len = match crate::sys::io::read_file(path, &mut buf[..MAX_FILE + 1]) {
        Ok(n) if n > MAX_FILE => return Err(LoadError::TooBig),
        Ok(n) => n,
        Err(e) => return Err(LoadError::Unreadable(e)),
    };
    let t = TABLE.init_mut();
    t.text = text;
    let mut start = 0;
    for (no, line) in buf[..len].split(|&c| c == b'\n').enumerate() {
        let (a, b) = (start, start + line.len());
        start = b + 1;
        let body = line.split(|&c| c == b'#').next().unwrap_or(&[]).trim_ascii();
        if body.is_empty() {
            continue;
        }
        let off = a + (body.as_ptr() as usize - line.as_ptr() as usize);
        let Some(colon) = body.iter().position(|&c| c == b':') else { return Err(LoadError::BadLine(no + 1)) };
        let (kind, pattern) = (&body[..colon], body[colon + 1..].trim_ascii());
        if pattern.is_empty() || !(kind == b"*" || kind == b"leak" || BUG_KINDS.iter().any(|k| k.as_bytes() == kind)) {
            return Err(LoadError::BadLine(no + 1));
        }
        if t.n == MAX_ENTRIES {
            return Err(LoadError::TooMany);
        }
        let p_off = off + (pattern.as_ptr() as usize - body.as_ptr() as usize);
        t.entries[t.n] = Entry { kind: (off, off + colon), pattern: (p_off, p_off + pattern.len()) };
        t.n += 1;
        let _ = b;
    }
    Ok(())
}

impl LoadError {
    pub fn describe(&self, out: &mut Line<160>) {
        let _ = match self {
            LoadError::Unreadable(e) => write!(out, "cannot be read (errno {})", e),
            LoadError::TooBig => write!(out, "is larger than {} KiB", MAX_FILE >> 10),
            LoadError::TooMany => write!(out, "has more than {} entries", MAX_ENTRIES),
            LoadError::BadLine(n) => write!(out, "line {}: not KIND:PATTERN with KIND leak, a bug kind or *", n),
        };
    }
}

fn text(r: (usize, usize)) -> &'static [u8] {
    // SAFETY: the ranges lie in the loaded file's mapping, never unmapped.
    unsafe { core::slice::from_raw_parts((TABLE.get().text + r.0) as *const u8, r.1 - r.0) }
}

/// True when a suppressions file was loaded.
pub fn active() -> bool {
    TABLE.get().n > 0
}

/// The entry that suppresses a report of `kind` whose relevant stack is
/// `frames` (return addresses but the first), if any.
pub fn matching(kind: &str, frames: &[usize]) -> Option<usize> {
    let t = TABLE.get();
    if t.n == 0 {
        return None;
    }
    for (i, &pc) in frames.iter().enumerate() {
        let probe = if i == 0 { pc } else { pc - 1 };
        let Some(sym) = elf::lookup(probe) else { continue };
        let mut module: Line<1024> = Line::new();
        let _ = write!(module, "{}", ModulePath(&sym));
        let mut plain: Line<512> = Line::new();
        if let Some((name, _)) = sym.name {
            plain_name(name, &mut plain);
        }
        for (k, e) in t.entries[..t.n].iter().enumerate() {
            let ek = text(e.kind);
            if ek != b"*" && ek != kind.as_bytes() {
                continue;
            }
            let p = text(e.pattern);
            let hit = glob(p, module.as_bytes())
                || sym.name.is_some_and(|(name, _)| glob(p, name))
                || (!plain.as_bytes().is_empty() && glob(p, plain.as_bytes()));
            if hit {
                return Some(k);
            }
        }
    }
    None
}

/// The entry that suppresses a report of `kind` made here (the caller's
/// stack, libpooldbg's own frames skipped).
pub fn matching_here(kind: &str) -> Option<usize> {
    if !active() {
        return None;
    }
    let mut frames = [0usize; MAX_FRAMES];
    let n = depot::capture(&mut frames, true);
    matching(kind, &frames[..n])
}

/// Counts a suppressed report for entry `k`.
pub fn count_report(k: usize) {
    HITS[k].fetch_add(1, Relaxed);
}

/// Counts a suppressed leak group of `bytes` for entry `k`.
pub fn count_leak(k: usize, bytes: u64) {
    LEAKS[k].fetch_add(1, Relaxed);
    BYTES[k].fetch_add(bytes, Relaxed);
}

/// At exit: one line, when anything was suppressed (once).
pub fn print_summary() {
    let t = TABLE.get();
    let sum = |a: &[AtomicU64; MAX_ENTRIES]| (0..t.n).map(|k| a[k].load(Relaxed)).sum::<u64>();
    let (reports, leaks, bytes) = (sum(&HITS), sum(&LEAKS), sum(&BYTES));
    if reports + leaks == 0 || SUMMARY_DONE.swap(true, Relaxed) {
        return;
    }
    let mut by: Line<768> = Line::new();
    for (k, e) in t.entries[..t.n].iter().enumerate() {
        let hits = HITS[k].load(Relaxed) + LEAKS[k].load(Relaxed);
        if hits > 0 {
            let sep = if by.as_bytes().is_empty() { "" } else { ", " };
            let _ = write!(by, "{}{} by '{}:{}'", sep, hits, Bytes(text(e.kind)), Bytes(text(e.pattern)));
        }
    }
    say!(
        "libpooldbg: NOTICE: suppressed {} report(s) and {} leak(s) of {} byte(s): {}",
        reports,
        leaks,
        bytes,
        Bytes(by.as_bytes())
    );
}

/// `*` any run, `?` any one byte, the rest literally.
pub fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let (mut star, mut mark) = (usize::MAX, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = pi;
            mark = si;
            pi += 1;
        } else if star != usize::MAX {
            pi = star + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// The qualified name an Itanium mangling spells (`_ZN3foo3barEv` →
/// `foo::bar`, `_Z4quuxi` → `quux`); nothing for anything else. Names only:
/// no templates, arguments or substitutions, which patterns rarely need.
pub fn plain_name(m: &[u8], out: &mut Line<512>) {
    let Some(mut rest) = m.strip_prefix(b"_Z") else { return };
    let nested = rest.first() == Some(&b'N');
    if nested {
        rest = &rest[1..];
        while let Some((&c, r)) = rest.split_first() {
            if matches!(c, b'K' | b'V' | b'r') {
                rest = r;
            } else {
                break;
            }
        }
    }
    let mut first = true;
    loop {
        let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            break;
        }
        let n: usize = core::str::from_utf8(&rest[..digits]).ok().and_then(|d| d.parse().ok()).unwrap_or(usize::MAX);
        if n > rest.len() - digits {
            break;
        }
        if !first {
            out.push_bytes(b"::");
        }
        out.push_bytes(&rest[digits..digits + n]);
        first = false;
        rest = &rest[digits + n..];
        if !nested {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob(b"*", b"anything"));
        assert!(glob(b"libfoo*", b"libfoo.so.1"));
        assert!(glob(b"*/libfoo.so*", b"/usr/lib/libfoo.so.1"));
        assert!(glob(b"make_?ode", b"make_node"));
        assert!(!glob(b"make_node", b"make_nodes"));
        assert!(glob(b"*foo::bar*", b"ns::foo::bar"));
        assert!(!glob(b"", b"x"));
    }

    #[test]
    fn plain_names_from_manglings() {
        let name = |m: &[u8]| {
            let mut l: Line<512> = Line::new();
            plain_name(m, &mut l);
            core::str::from_utf8(l.as_bytes()).unwrap().to_string()
        };
        assert_eq!(name(b"_ZN3foo3barEv"), "foo::bar");
        assert_eq!(name(b"_ZNK2ns5Class6methodEi"), "ns::Class::method");
        assert_eq!(name(b"_Z4quuxi"), "quux");
        assert_eq!(name(b"main"), "");
    }
}

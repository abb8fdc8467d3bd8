//! Readers of /proc and /proc/sys files, without allocating: one buffered
//! line reader serves them all.

use core::ffi::CStr;

use super::io::{close, open_dir, open_read, read, read_dir};
use super::mem::PAGE;
use crate::util::fmt::Line;
use crate::util::parse::{leading_u64, parse_u64};

/// Calls `f` with each line of the file at `path` (without its newline).
/// A line longer than the buffer is dropped. Returns false if the file
/// cannot be opened.
pub fn for_each_line(path: &CStr, mut f: impl FnMut(&[u8])) -> bool {
    let fd = open_read(path);
    if fd < 0 {
        return false;
    }
    let mut buf = [0u8; 4096];
    let mut have = 0;
    loop {
        let n = read(fd, &mut buf[have..]);
        if n <= 0 {
            break;
        }
        have += n as usize;
        let mut consumed = 0;
        while let Some(nl) = buf[consumed..have].iter().position(|&c| c == b'\n') {
            f(&buf[consumed..consumed + nl]);
            consumed += nl + 1;
        }
        buf.copy_within(consumed..have, 0);
        have -= consumed;
        if have == buf.len() {
            have = 0; // a line longer than the buffer: drop it
        }
    }
    if have > 0 {
        f(&buf[..have]);
    }
    close(fd);
    true
}

/// The first line of a small file (up to 128 bytes), into `buf`.
fn first_line<'a>(path: &CStr, buf: &'a mut [u8; 128]) -> &'a [u8] {
    let mut n = 0;
    for_each_line(path, |l| {
        if n == 0 {
            n = l.len().min(buf.len());
            buf[..n].copy_from_slice(&l[..n]);
        }
    });
    &buf[..n]
}

/// Lines of /proc/self/maps: the memory maps (VMAs) of this process.
pub fn count_maps() -> usize {
    let mut lines = 0;
    for_each_line(c"/proc/self/maps", |_| lines += 1);
    lines
}

/// A mapping of /proc/self/maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    pub start: usize,
    pub end: usize,
    /// Readable and writable.
    pub writable: bool,
    /// [vvar], [vsyscall], [vdso]: never to be read by us.
    pub special: bool,
    /// [stack]: the main thread's stack.
    pub main_stack: bool,
}

/// Parses one line of /proc/self/maps.
pub fn parse_maps_line(line: &[u8]) -> Option<Mapping> {
    let dash = line.iter().position(|&c| c == b'-')?;
    let sp = line.iter().position(|&c| c == b' ')?;
    let hex = |s: &[u8]| -> Option<usize> {
        let mut v: usize = 0;
        for &c in s {
            v = v.checked_mul(16)?.checked_add((c as char).to_digit(16)? as usize)?;
        }
        Some(v)
    };
    let start = hex(&line[..dash])?;
    let end = hex(line.get(dash + 1..sp)?)?;
    let perms = line.get(sp + 1..sp + 5)?;
    let special = line.ends_with(b"[vvar]") || line.ends_with(b"[vsyscall]") || line.ends_with(b"[vdso]");
    let main_stack = line.ends_with(b"[stack]");
    Some(Mapping { start, end, writable: perms[0] == b'r' && perms[1] == b'w', special, main_stack })
}

/// Calls `f` for each mapping of this process.
pub fn for_each_mapping(mut f: impl FnMut(Mapping)) {
    for_each_line(c"/proc/self/maps", |l| {
        if let Some(m) = parse_maps_line(l) {
            f(m)
        }
    });
}

/// Resident set size from /proc/self/statm, KiB.
pub fn rss_kib() -> u64 {
    statm_field(1) * (PAGE as u64 / 1024)
}

/// Virtual size of the process from /proc/self/statm, bytes.
pub fn vm_bytes() -> usize {
    statm_field(0) as usize * PAGE
}

fn statm_field(i: usize) -> u64 {
    let mut buf = [0u8; 128];
    let text = first_line(c"/proc/self/statm", &mut buf);
    text.split(|&c| c == b' ').nth(i).and_then(parse_u64).unwrap_or(0)
}

/// vm.max_map_count, if readable.
pub fn max_map_count() -> Option<usize> {
    let mut buf = [0u8; 128];
    leading_u64(first_line(c"/proc/sys/vm/max_map_count", &mut buf)).map(|v| v as usize)
}

/// The largest single private mapping the kernel's overcommit policy
/// (vm.overcommit_memory) would grant a program now, as glibc's malloc of a
/// large block meets it: 0 (heuristic) refuses more than RAM + swap, 2
/// (strict) more than CommitLimit (less what is committed, which we do not
/// count: an upper bound), 1 (always) nothing. None if unreadable.
pub fn overcommit_single_max() -> Option<usize> {
    let mut buf = [0u8; 128];
    let mode = leading_u64(first_line(c"/proc/sys/vm/overcommit_memory", &mut buf))?;
    let kib = |key: &[u8]| {
        let mut v = None;
        for_each_line(c"/proc/meminfo", |l| {
            if l.starts_with(key) {
                v = leading_u64(l[key.len()..].trim_ascii_start());
            }
        });
        v
    };
    match mode {
        1 => Some(usize::MAX),
        2 => kib(b"CommitLimit:").map(|k| (k as usize).saturating_mul(1024)),
        _ => Some((kib(b"MemTotal:")? + kib(b"SwapTotal:")?) as usize * 1024),
    }
}

/// Calls `f` with the id of each thread of this process (/proc/self/task).
/// Returns false if the directory cannot be read.
pub fn for_each_thread(mut f: impl FnMut(u32)) -> bool {
    let fd = open_dir(c"/proc/self/task");
    if fd < 0 {
        return false;
    }
    let mut buf = [0u8; 2048];
    loop {
        let n = read_dir(fd, &mut buf);
        if n <= 0 {
            break;
        }
        for_each_dirent_name(&buf[..n as usize], |name| {
            if let Some(tid) = parse_u64(name).filter(|&t| t > 0 && t <= u32::MAX as u64) {
                f(tid as u32);
            }
        });
    }
    close(fd);
    true
}

/// The names in a buffer of `linux_dirent64` records (getdents64).
fn for_each_dirent_name(mut buf: &[u8], mut f: impl FnMut(&[u8])) {
    // struct linux_dirent64 { u64 ino; i64 off; u16 reclen; u8 type; char name[]; }
    while buf.len() >= 19 {
        let reclen = u16::from_ne_bytes([buf[16], buf[17]]) as usize;
        if reclen < 19 || reclen > buf.len() {
            return;
        }
        let name = &buf[19..reclen];
        f(&name[..name.iter().position(|&c| c == 0).unwrap_or(name.len())]);
        buf = &buf[reclen..];
    }
}

/// What the leak check needs to know of another thread before stopping it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadInfo {
    /// The state letter of /proc/…/stat: R running, S sleeping, D
    /// uninterruptible, T stopped, t traced, Z zombie, X dead…
    pub state: u8,
    /// The kernel's PF_* flags.
    pub flags: u32,
    /// Its blocked signals: bit N-1 for signal N.
    pub blocked: u64,
}

/// The kernel's threads of a process that never run its code: io_uring
/// workers (PF_IO_WORKER) and user workers such as vhost (PF_USER_WORKER).
pub const PF_IO_WORKER: u32 = 0x10;
pub const PF_USER_WORKER: u32 = 0x4000;

/// State, flags and blocked signals of thread `tid` of this process; None
/// if it is gone.
pub fn thread_info(tid: u32) -> Option<ThreadInfo> {
    let mut path: Line<48> = Line::new();
    let _ = core::fmt::Write::write_fmt(&mut path, format_args!("/proc/self/task/{}/stat\0", tid));
    let mut stat = None;
    let cpath = CStr::from_bytes_until_nul(path.as_bytes()).ok()?;
    for_each_line(cpath, |l| stat = parse_stat_line(l));
    let (state, flags) = stat?;
    let mut path: Line<48> = Line::new();
    let _ = core::fmt::Write::write_fmt(&mut path, format_args!("/proc/self/task/{}/status\0", tid));
    let mut blocked = None;
    let cpath = CStr::from_bytes_until_nul(path.as_bytes()).ok()?;
    for_each_line(cpath, |l| {
        if let Some(hex) = l.strip_prefix(b"SigBlk:") {
            blocked = parse_hex(hex.trim_ascii());
        }
    });
    Some(ThreadInfo { state, flags, blocked: blocked? })
}

/// The state letter and the flags (fields 3 and 9) of a /proc/…/stat line.
/// The command name (field 2) is in parentheses and may hold anything:
/// the fields after it start after its last ')'.
pub fn parse_stat_line(line: &[u8]) -> Option<(u8, u32)> {
    let close = line.iter().rposition(|&c| c == b')')?;
    let mut fields = line[close + 1..].split(|&c| c == b' ').filter(|f| !f.is_empty());
    let state = *fields.next()?.first()?;
    let flags = parse_u64(fields.nth(5)?)?;
    Some((state, flags as u32))
}

fn parse_hex(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    s.iter().try_fold(0u64, |v, &c| Some(v << 4 | (c as char).to_digit(16)? as u64))
}

/// kernel.yama.ptrace_scope, if the Yama module is there.
pub fn yama_ptrace_scope() -> Option<u64> {
    let mut buf = [0u8; 128];
    leading_u64(first_line(c"/proc/sys/kernel/yama/ptrace_scope", &mut buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_lines() {
        let m = parse_maps_line(b"7f0000000000-7f0000021000 rw-p 00000000 00:00 0 ").unwrap();
        assert_eq!((m.start, m.end, m.writable, m.special), (0x7f0000000000, 0x7f0000021000, true, false));
        assert!(overcommit_single_max().is_some_and(|n| n > 1 << 20));
        let m = parse_maps_line(b"55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 123 /usr/bin/x").unwrap();
        assert!(!m.writable && !m.special);
        assert!(
            parse_maps_line(b"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]").unwrap().special
        );
        assert!(
            parse_maps_line(b"7ffd1000-7ffd3000 rw-p 00000000 00:00 0                          [stack]")
                .unwrap()
                .main_stack
        );
        assert!(!m.main_stack);
        assert_eq!(parse_maps_line(b"garbage"), None);
        assert_eq!(parse_maps_line(b""), None);
    }

    #[test]
    fn stat_lines() {
        let line = b"4242 (a) b) c) S 1 4242 4242 0 -1 4194624 100 0 0 0 1 2 0 0 20 0 1 0";
        assert_eq!(parse_stat_line(line), Some((b'S', 4194624)));
        assert_eq!(parse_stat_line(b"1 (x) R 0 1 1 0 -1 16 0"), Some((b'R', 16)));
        assert_eq!(parse_stat_line(b"1 (x) R 0"), None);
        assert_eq!(parse_stat_line(b"garbage"), None);
        assert_eq!(parse_hex(b"0000000000010000"), Some(1 << 16));
        assert_eq!(parse_hex(b"fffffffe7ffbfeff"), Some(0xfffffffe7ffbfeff));
        assert_eq!(parse_hex(b""), None);
        assert_eq!(parse_hex(b"12x"), None);
    }

    #[test]
    fn dirent_names() {
        let mut buf = [0u8; 64];
        for (at, name) in [(0usize, &b"."[..]), (24, b"1234")] {
            let reclen = 24u16;
            buf[at + 16..at + 18].copy_from_slice(&reclen.to_ne_bytes());
            buf[at + 19..at + 19 + name.len()].copy_from_slice(name);
        }
        let mut seen = [[0u8; 8]; 2];
        let mut n = 0;
        for_each_dirent_name(&buf[..48], |name| {
            seen[n][..name.len()].copy_from_slice(name);
            n += 1;
        });
        assert_eq!(n, 2);
        assert_eq!(&seen[0][..2], b".\0");
        assert_eq!(&seen[1][..5], b"1234\0");
    }

    #[test]
    fn lists_this_process_threads() {
        let me = unsafe { libc::syscall(libc::SYS_gettid) } as u32;
        let mut found = false;
        assert!(for_each_thread(|t| found |= t == me));
        assert!(found, "our own thread is listed");
        let info = thread_info(me).expect("our own thread");
        assert_eq!(info.state, b'R');
    }

    #[test]
    fn reads_this_process() {
        assert!(count_maps() > 5);
        assert!(vm_bytes() > 0 && rss_kib() > 0);
        let mut found = false;
        let here = &found as *const bool as usize;
        for_each_mapping(|m| found |= m.writable && here >= m.start && here < m.end);
        assert!(found, "the stack is a writable mapping");
    }
}

//! Readers of /proc and /proc/sys files, without allocating: one buffered
//! line reader serves them all.

use core::ffi::CStr;

use super::io::{close, open_read, read};
use super::mem::PAGE;
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
    Some(Mapping { start, end, writable: perms[0] == b'r' && perms[1] == b'w', special })
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
        assert_eq!(parse_maps_line(b"garbage"), None);
        assert_eq!(parse_maps_line(b""), None);
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

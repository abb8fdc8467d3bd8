//! `POOLDBG_OPTIONS="key=value:key=value"`: one table, parsed once, no heap.
//!
//! Every option is a row of `TABLE` (name, accepted values, default, help).
//! Parsing is a pure function over bytes so it is unit-tested; the caller
//! turns a `ParseError` into the one-line start-up error.

use crate::util::parse::parse_u64;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum GuardMode {
    /// The first mechanism this kernel offers: userfaultfd, guard markers, mprotect.
    Auto,
    /// userfaultfd in SIGBUS mode (Linux 5.11+; 4.14+ privileged).
    Uffd,
    /// MADV_GUARD_INSTALL / MADV_GUARD_REMOVE (Linux 6.13+).
    Marker,
    /// mprotect guards and PROT_NONE remaps; one VMA per live object or so.
    Mprotect,
}

impl GuardMode {
    /// The mechanism this names (heap/guard), or None for auto.
    pub fn name(self) -> Option<&'static str> {
        match self {
            GuardMode::Auto => None,
            GuardMode::Uffd => Some("uffd"),
            GuardMode::Marker => Some("marker"),
            GuardMode::Mprotect => Some("mprotect"),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum OnError {
    Abort,
    Exit,
    Continue,
}

pub const PATH_MAX: usize = 256;

#[derive(Clone, Copy)]
pub struct Options {
    pub help: bool,
    pub guard: GuardMode,
    pub quarantine_mb: u64,
    pub quarantine_slots: u64,
    pub dense_quarantine_slots: u64,
    pub alloc_fill: Option<u8>,
    pub prefault: bool,
    pub prefault_kb: u64,
    pub serialize: bool,
    pub on_error: OnError,
    pub exitcode: u8,
    pub error_exitcode: u8,
    pub log_path: [u8; PATH_MAX],
    pub log_path_len: usize,
    pub suppressions: [u8; PATH_MAX],
    pub suppressions_len: usize,
    pub print_suppressions: bool,
    pub report_json: bool,
    pub stack_depth: usize,
    pub protect_below: bool,
    pub alignment: usize,
    pub leaks: bool,
    pub free_fill: u8,
    pub map_limit: u64,
    pub stats: bool,
    pub stats_signal: i32,
    pub sample: u64,
    pub color: Color,
    pub alloc_dealloc_mismatch: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Color {
    /// Only when reports go to a terminal.
    Auto,
    Always,
    Never,
}

impl Options {
    /// Bytes at the start of a new block's run that are populated before it
    /// is returned (0 with `prefault=0`).
    pub fn prefault_bytes(&self) -> usize {
        if self.prefault {
            (self.prefault_kb as usize) << 10
        } else {
            0
        }
    }

    pub const fn defaults() -> Options {
        Options {
            help: false,
            guard: GuardMode::Auto,
            quarantine_mb: 256,
            quarantine_slots: 65536,
            dense_quarantine_slots: 1024,
            alloc_fill: Some(0xbe),
            prefault: true,
            prefault_kb: 1024,
            serialize: true,
            on_error: OnError::Abort,
            exitcode: 23,
            error_exitcode: 1,
            log_path: [0; PATH_MAX],
            log_path_len: 0,
            suppressions: [0; PATH_MAX],
            suppressions_len: 0,
            print_suppressions: false,
            report_json: false,
            stack_depth: 30,
            protect_below: false,
            alignment: 16,
            leaks: false,
            free_fill: 0xfd,
            map_limit: 0,
            stats: false,
            stats_signal: 0,
            sample: 0,
            color: Color::Auto,
            alloc_dealloc_mismatch: true,
        }
    }

    pub fn log_path(&self) -> &[u8] {
        &self.log_path[..self.log_path_len]
    }

    pub fn suppressions(&self) -> &[u8] {
        &self.suppressions[..self.suppressions_len]
    }
}

type Setter = fn(&mut Options, &[u8]) -> bool;

pub struct OptionRow {
    pub name: &'static str,
    /// The accepted values, as shown in errors and in `help=1`.
    pub accepts: &'static str,
    pub default: &'static str,
    pub help: &'static str,
    /// Names a file: ignored in setuid/setgid programs (AT_SECURE).
    pub names_file: bool,
    set: Setter,
}

pub const TABLE: &[OptionRow] = &[
    OptionRow {
        name: "help",
        accepts: "0|1",
        default: "0",
        help: "print this table to stderr at start-up",
        names_file: false,
        set: |o, v| set_bool(&mut o.help, v),
    },
    OptionRow {
        name: "guard",
        accepts: "auto|uffd|marker|mprotect",
        default: "auto",
        help: "how pages are trapped: userfaultfd (Linux 5.11+), guard markers (6.13+) or mprotect; auto takes the first this kernel offers",
        names_file: false,
        set: |o, v| {
            o.guard = match v {
                b"auto" => GuardMode::Auto,
                b"uffd" => GuardMode::Uffd,
                b"marker" => GuardMode::Marker,
                b"mprotect" => GuardMode::Mprotect,
                _ => return false,
            };
            true
        },
    },
    OptionRow {
        name: "quarantine_mb",
        accepts: "0..1048576",
        default: "256",
        help: "freed page runs (MiB) kept trapped before their addresses are reused",
        names_file: false,
        set: |o, v| set_u64(&mut o.quarantine_mb, v, 0, 1 << 20),
    },
    OptionRow {
        name: "quarantine_slots",
        accepts: "0..16777216",
        default: "65536",
        help: "freed blocks per pool kept trapped before their slots are reused",
        names_file: false,
        set: |o, v| set_u64(&mut o.quarantine_slots, v, 0, 1 << 24),
    },
    OptionRow {
        name: "dense_quarantine_slots",
        accepts: "0..16777216",
        default: "1024",
        help: "freed blocks per dense pool kept poisoned before reuse (at most quarantine_slots; dense pages stay resident, so this is shorter)",
        names_file: false,
        set: |o, v| set_u64(&mut o.dense_quarantine_slots, v, 0, 1 << 24),
    },
    OptionRow {
        name: "alloc_fill",
        accepts: "0..255|none",
        default: "190 (0xbe)",
        help: "byte written over the first 4 KiB of each malloc'd block (calloc still zeroes)",
        names_file: false,
        set: |o, v| {
            if v == b"none" {
                o.alloc_fill = None;
                return true;
            }
            let mut b = 0;
            if !set_u64(&mut b, v, 0, 255) {
                return false;
            }
            o.alloc_fill = Some(b as u8);
            true
        },
    },
    OptionRow {
        name: "prefault",
        accepts: "0|1",
        default: "1",
        help: "touch the first pages of a new block before returning it (outside the pool lock)",
        names_file: false,
        set: |o, v| set_bool(&mut o.prefault, v),
    },
    OptionRow {
        name: "prefault_kb",
        accepts: "0..1073741824",
        default: "1024",
        help: "KiB at the start of a new block that prefault touches; the rest faults in when the program touches it, as with mmap",
        names_file: false,
        set: |o, v| set_u64(&mut o.prefault_kb, v, 0, 1 << 30),
    },
    OptionRow {
        name: "serialize",
        accepts: "0|1",
        default: "1",
        help: "guarded allocations and frees change page tables one thread at a time (no TLB-shootdown IPIs)",
        names_file: false,
        set: |o, v| set_bool(&mut o.serialize, v),
    },
    OptionRow {
        name: "on_error",
        accepts: "abort|exit|continue",
        default: "abort",
        help: "after a report: abort() (core dump), _exit(exitcode), or go on (each block reported once)",
        names_file: false,
        set: |o, v| {
            o.on_error = match v {
                b"abort" => OnError::Abort,
                b"exit" => OnError::Exit,
                b"continue" => OnError::Continue,
                _ => return false,
            };
            true
        },
    },
    OptionRow {
        name: "exitcode",
        accepts: "1..255",
        default: "23",
        help: "exit status used with on_error=exit",
        names_file: false,
        set: |o, v| {
            let mut n = 0;
            if !set_u64(&mut n, v, 1, 255) {
                return false;
            }
            o.exitcode = n as u8;
            true
        },
    },
    OptionRow {
        name: "error_exitcode",
        accepts: "1..255",
        default: "1",
        help: "exit status of a program that printed reports with on_error=continue and then exited 0 (ASan's exitcode, valgrind's --error-exitcode)",
        names_file: false,
        set: |o, v| {
            let mut n = 0;
            if !set_u64(&mut n, v, 1, 255) {
                return false;
            }
            o.error_exitcode = n as u8;
            true
        },
    },
    OptionRow {
        name: "log_path",
        accepts: "a file path; %p becomes the pid",
        default: "stderr",
        help: "write reports to this file (one per process) instead of stderr",
        names_file: true,
        set: |o, v| {
            if v.is_empty() || v.len() >= PATH_MAX {
                return false;
            }
            o.log_path[..v.len()].copy_from_slice(v);
            o.log_path_len = v.len();
            true
        },
    },
    OptionRow {
        name: "suppressions",
        accepts: "a file of KIND:PATTERN lines",
        default: "none",
        help: "reports and leaks to keep quiet: KIND is leak, a bug kind or *, PATTERN a glob on a function or module of the stack",
        names_file: true,
        set: |o, v| {
            if v.is_empty() || v.len() >= PATH_MAX {
                return false;
            }
            o.suppressions[..v.len()].copy_from_slice(v);
            o.suppressions_len = v.len();
            true
        },
    },
    OptionRow {
        name: "report_format",
        accepts: "text|json",
        default: "text",
        help: "json: each report as one JSON object on one line (schema in docs/REPORT-FORMAT.md)",
        names_file: false,
        set: |o, v| {
            o.report_json = match v {
                b"text" => false,
                b"json" => true,
                _ => return false,
            };
            true
        },
    },
    OptionRow {
        name: "print_suppressions",
        accepts: "0|1",
        default: "0",
        help: "after each report (and each leak group), print a suppression entry ready to paste into a suppressions file",
        names_file: false,
        set: |o, v| set_bool(&mut o.print_suppressions, v),
    },
    OptionRow {
        name: "stack_depth",
        accepts: "0..64",
        default: "30",
        help: "frames recorded per allocation and free, as ASan (0: no stacks, fastest); a deeper stack ends with a line saying it was cut",
        names_file: false,
        set: |o, v| {
            let mut n = 0;
            if !set_u64(&mut n, v, 0, 64) {
                return false;
            }
            o.stack_depth = n as usize;
            true
        },
    },
    OptionRow {
        name: "protect_below",
        accepts: "0|1",
        default: "0",
        help: "put plain blocks against a guard page below them (underflows fault at once; overflows into the tail slack are found at free)",
        names_file: false,
        set: |o, v| set_bool(&mut o.protect_below, v),
    },
    OptionRow {
        name: "alignment",
        accepts: "1|2|4|8|16",
        default: "16",
        help: "alignment of plain malloc/calloc/realloc/new blocks; 1 ends each exactly at its guard page (like EF_ALIGNMENT=1); explicit alignments are honoured",
        names_file: false,
        set: |o, v| {
            let mut n = 0;
            if !set_u64(&mut n, v, 1, 16) || !n.is_power_of_two() {
                return false;
            }
            o.alignment = n as usize;
            true
        },
    },
    OptionRow {
        name: "leaks",
        accepts: "0|1",
        default: "0",
        help: "at exit, report blocks still allocated and unreachable, grouped by allocation stack",
        names_file: false,
        set: |o, v| set_bool(&mut o.leaks, v),
    },
    OptionRow {
        name: "alloc_dealloc_mismatch",
        accepts: "0|1",
        default: "1",
        help: "report blocks released by the wrong family (malloc/free, new/delete, new[]/delete[]), unless another library's operator new or delete explains it; 0: never (as in ASan)",
        names_file: false,
        set: |o, v| set_bool(&mut o.alloc_dealloc_mismatch, v),
    },
    OptionRow {
        name: "free_fill",
        accepts: "0..255",
        default: "253 (0xfd)",
        help: "poison byte of freed blocks in dense pools, checked when the slot is reused",
        names_file: false,
        set: |o, v| {
            let mut b = 0;
            if !set_u64(&mut b, v, 0, 255) {
                return false;
            }
            o.free_fill = b as u8;
            true
        },
    },
    OptionRow {
        name: "map_limit",
        accepts: "0 (read vm.max_map_count)|1000..2147483647",
        default: "0",
        help: "memory-map limit to plan for with guard=mprotect (a lower value simulates running out)",
        names_file: false,
        set: |o, v| {
            let mut n = 0;
            if !(set_u64(&mut n, v, 0, 0) || set_u64(&mut n, v, 1000, i32::MAX as u64)) {
                return false;
            }
            o.map_limit = n;
            true
        },
    },
    OptionRow {
        name: "stats",
        accepts: "0|1",
        default: "0",
        help: "print the pool statistics table at exit",
        names_file: false,
        set: |o, v| set_bool(&mut o.stats, v),
    },
    OptionRow {
        name: "stats_signal",
        accepts: "0|SIGUSR1|SIGUSR2|1..64",
        default: "0 (none)",
        help: "print the pool statistics whenever this signal arrives (for running servers)",
        names_file: false,
        set: |o, v| {
            o.stats_signal = match v {
                b"SIGUSR1" | b"USR1" => libc::SIGUSR1,
                b"SIGUSR2" | b"USR2" => libc::SIGUSR2,
                _ => {
                    let mut n = 0;
                    if !set_u64(&mut n, v, 0, 64) {
                        return false;
                    }
                    // Signals the kernel or our fault handler own are refused.
                    if [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, libc::SIGBUS].contains(&(n as i32)) {
                        return false;
                    }
                    n as i32
                }
            };
            true
        },
    },
    OptionRow {
        name: "sample",
        accepts: "0..1000000",
        default: "0 (guard every block)",
        help: "guard one block in N at random (up to 64 KiB; larger ones always); the rest go to dense pools with canaries, owner links and poisoned quarantine, and record stacks only when guarded",
        names_file: false,
        set: |o, v| set_u64(&mut o.sample, v, 0, 1_000_000),
    },
    OptionRow {
        name: "color",
        accepts: "auto|always|never",
        default: "auto",
        help: "highlight the first line of each report (auto: only when reports go to a terminal)",
        names_file: false,
        set: |o, v| {
            o.color = match v {
                b"auto" => Color::Auto,
                b"always" => Color::Always,
                b"never" => Color::Never,
                _ => return false,
            };
            true
        },
    },
];

fn set_bool(dst: &mut bool, v: &[u8]) -> bool {
    *dst = match v {
        b"1" | b"true" | b"yes" => true,
        b"0" | b"false" | b"no" => false,
        _ => return false,
    };
    true
}

/// Decimal (or 0x hex) in `lo..=hi`.
fn set_u64(dst: &mut u64, v: &[u8], lo: u64, hi: u64) -> bool {
    match parse_u64(v) {
        Some(n) if n >= lo && n <= hi => {
            *dst = n;
            true
        }
        _ => false,
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum ParseError<'a> {
    /// No row has this name.
    UnknownKey(&'a [u8]),
    /// The row exists but rejected the value.
    BadValue { row: usize, value: &'a [u8] },
    /// An entry without `=`.
    MissingValue(&'a [u8]),
}

/// Parses `key=value` entries separated by `:` or `,` into `opts`.
/// `secure` (AT_SECURE) drops options that name files; their names are
/// reported through `ignored`.
pub fn parse<'a>(
    text: &'a [u8],
    opts: &mut Options,
    secure: bool,
    ignored: &mut dyn FnMut(&'static str),
) -> Result<(), ParseError<'a>> {
    for entry in text.split(|&c| c == b':' || c == b',') {
        let entry = trim(entry);
        if entry.is_empty() {
            continue;
        }
        let Some(eq) = entry.iter().position(|&c| c == b'=') else {
            return Err(ParseError::MissingValue(entry));
        };
        let (key, value) = (trim(&entry[..eq]), trim(&entry[eq + 1..]));
        let Some(row) = TABLE.iter().position(|r| r.name.as_bytes() == key) else {
            return Err(ParseError::UnknownKey(key));
        };
        if secure && TABLE[row].names_file {
            ignored(TABLE[row].name);
            continue;
        }
        if !(TABLE[row].set)(opts, value) {
            return Err(ParseError::BadValue { row, value });
        }
    }
    Ok(())
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(s.len());
    let end = s.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(s: &str) -> Options {
        let mut o = Options::defaults();
        parse(s.as_bytes(), &mut o, false, &mut |_| {}).unwrap();
        o
    }

    #[test]
    fn defaults_are_the_detecting_ones() {
        let o = Options::defaults();
        assert_eq!(o.guard, GuardMode::Auto);
        assert_eq!(o.on_error, OnError::Abort);
        assert!(o.prefault);
        assert_eq!(o.prefault_bytes(), 1 << 20);
        assert!(o.quarantine_mb > 0);
    }

    #[test]
    fn parses_several_keys() {
        let o = parse_ok("guard=mprotect:quarantine_mb=0x10, alloc_fill=none:on_error=exit:exitcode=7");
        assert_eq!(o.guard, GuardMode::Mprotect);
        assert_eq!(o.quarantine_mb, 16);
        assert_eq!(o.alloc_fill, None);
        assert_eq!(o.on_error, OnError::Exit);
        assert_eq!(o.exitcode, 7);
        assert_eq!(o.error_exitcode, 1);
        assert_eq!(parse_ok("error_exitcode=9").error_exitcode, 9);
    }

    #[test]
    fn detection_options() {
        let o = parse_ok("stack_depth=0:protect_below=1:alignment=1:leaks=1:alloc_dealloc_mismatch=0");
        assert_eq!(o.stack_depth, 0);
        assert!(o.protect_below && o.leaks);
        assert!(!o.alloc_dealloc_mismatch && Options::defaults().alloc_dealloc_mismatch);
        assert_eq!(o.alignment, 1);
        let mut o = Options::defaults();
        assert!(parse(b"alignment=3", &mut o, false, &mut |_| {}).is_err());
        assert!(parse(b"alignment=32", &mut o, false, &mut |_| {}).is_err());
        assert!(parse(b"stack_depth=65", &mut o, false, &mut |_| {}).is_err());
    }

    #[test]
    fn stats_signal_names_and_numbers() {
        assert_eq!(parse_ok("stats_signal=SIGUSR2").stats_signal, libc::SIGUSR2);
        assert_eq!(parse_ok("stats_signal=10").stats_signal, 10);
        let mut o = Options::defaults();
        assert!(parse(b"stats_signal=11", &mut o, false, &mut |_| {}).is_err());
        assert!(parse(b"stats_signal=SIGFOO", &mut o, false, &mut |_| {}).is_err());
    }

    #[test]
    fn empty_entries_are_skipped() {
        let o = parse_ok("::guard=marker::");
        assert_eq!(o.guard, GuardMode::Marker);
    }

    #[test]
    fn unknown_key_and_bad_values_are_named() {
        let mut o = Options::defaults();
        assert_eq!(parse(b"bogus=1", &mut o, false, &mut |_| {}), Err(ParseError::UnknownKey(b"bogus")));
        match parse(b"guard=sideways", &mut o, false, &mut |_| {}) {
            Err(ParseError::BadValue { row, value }) => {
                assert_eq!(TABLE[row].name, "guard");
                assert_eq!(value, b"sideways");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse(b"exitcode=0", &mut o, false, &mut |_| {}), Err(ParseError::BadValue { .. })));
        assert!(matches!(parse(b"exitcode=256", &mut o, false, &mut |_| {}), Err(ParseError::BadValue { .. })));
        assert!(matches!(
            parse(b"quarantine_mb=99999999999999999999999", &mut o, false, &mut |_| {}),
            Err(ParseError::BadValue { .. })
        ));
        assert_eq!(parse(b"guard", &mut o, false, &mut |_| {}), Err(ParseError::MissingValue(b"guard")));
    }

    #[test]
    fn file_options_are_ignored_when_secure() {
        let mut o = Options::defaults();
        let mut seen = None;
        parse(b"log_path=/tmp/x.%p", &mut o, true, &mut |n| seen = Some(n)).unwrap();
        assert_eq!(seen, Some("log_path"));
        assert_eq!(o.log_path(), b"");
        parse(b"log_path=/tmp/x.%p", &mut o, false, &mut |_| {}).unwrap();
        assert_eq!(o.log_path(), b"/tmp/x.%p");
    }

    #[test]
    fn every_row_accepts_its_default_shape() {
        // A row whose documented default it cannot parse would be a lie in help=1.
        for row in TABLE {
            let name = row.name;
            assert!(!row.help.is_empty(), "{name} has no help");
            assert!(!row.accepts.is_empty(), "{name} has no accepted values");
        }
    }

    #[test]
    fn hostile_input_never_panics() {
        let mut seed = 0x1234_5678u64;
        let alphabet = b"=:,0123456789abcdefghijklmnopqrstuvwxyz_x% \xff";
        for _ in 0..20000 {
            let mut s = [0u8; 24];
            for b in s.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = alphabet[(seed % alphabet.len() as u64) as usize];
            }
            let mut o = Options::defaults();
            let _ = parse(&s, &mut o, false, &mut |_| {});
        }
    }
}

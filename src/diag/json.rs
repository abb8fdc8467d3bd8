//! `report_format=json`: each report as one JSON object on one line, for
//! programs that read reports (CI, the wrapper's SARIF writer). The
//! schema is in docs/REPORT-FORMAT.md.
//!
//! Every line a report prints goes through here instead of the log
//! (out::set_report_sink), so every report site keeps its one wording and
//! the JSON follows it: the first line gives kind, address, access, size,
//! pc and thread; the location line the block; frame lines, under the
//! header they follow, the stacks; the rest are details. The object is
//! built in our own mapping and written at the report's end line.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

use crate::out;
use crate::sys::mem;

const BUF: usize = 4 << 20;
/// The mapping holds three parts: the object, its details, its summary.
const DETAILS_AT: usize = 3 * (BUF / 4);
const SUMMARY_AT: usize = BUF - 4096;

/// Our mapping, and how much of each part is used.
static BASE: AtomicUsize = AtomicUsize::new(0);
static LEN: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];
/// The part `push` writes to: 0 object, 1 details, 2 summary.
static PART: AtomicUsize = AtomicUsize::new(0);
/// Something did not fit: the object says so ("cut").
static FULL: AtomicBool = AtomicBool::new(false);
/// Where the current report is: 0 not in one, 1 in it, 2 in a stack's frames.
static PHASE: AtomicUsize = AtomicUsize::new(0);
/// Stacks, frames and details written so far (for commas).
static STACKS: AtomicUsize = AtomicUsize::new(0);
static FRAMES: AtomicUsize = AtomicUsize::new(0);
static DETAILS: AtomicUsize = AtomicUsize::new(0);
/// The current stack went deeper than stack_depth.
static TRUNCATED: AtomicBool = AtomicBool::new(false);

/// Makes `out` send report lines here. Start-up, with report_format=json.
pub fn enable() {
    out::set_report_sink(line);
}

struct Buf;

impl Write for Buf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        push(s.as_bytes());
        Ok(())
    }
}

fn bounds(part: usize) -> (usize, usize) {
    match part {
        0 => (0, DETAILS_AT),
        1 => (DETAILS_AT, SUMMARY_AT),
        _ => (SUMMARY_AT, BUF),
    }
}

fn push(b: &[u8]) {
    let base = BASE.load(Relaxed);
    let part = PART.load(Relaxed);
    let (lo, hi) = bounds(part);
    let len = LEN[part].load(Relaxed);
    if base == 0 || lo + len + b.len() > hi - 64 {
        FULL.store(true, Relaxed);
        return;
    }
    // SAFETY: [base + lo, base + hi) is our mapping's part; checked above.
    unsafe { core::ptr::copy_nonoverlapping(b.as_ptr(), (base + lo + len) as *mut u8, b.len()) };
    LEN[part].store(len + b.len(), Relaxed);
}

fn part(p: usize) -> &'static [u8] {
    let (lo, _) = bounds(p);
    // SAFETY: the part's first LEN bytes were written by push.
    unsafe { core::slice::from_raw_parts((BASE.load(Relaxed) + lo) as *const u8, LEN[p].load(Relaxed)) }
}

/// A JSON string of `s` (escaped; bytes that are not UTF-8 as \u00XX).
fn string(s: &[u8]) {
    push(b"\"");
    for &c in s {
        match c {
            b'"' => push(b"\\\""),
            b'\\' => push(b"\\\\"),
            b'\n' => push(b"\\n"),
            0..=0x1f | 0x7f..=0xff => {
                let _ = write!(Buf, "\\u{:04x}", c);
            }
            _ => push(&[c]),
        }
    }
    push(b"\"");
}

fn key(k: &str) {
    let _ = write!(Buf, ",\"{}\":", k);
}

/// Text after `pat` in `s`, if any.
fn after<'a>(s: &'a [u8], pat: &[u8]) -> Option<&'a [u8]> {
    s.windows(pat.len()).position(|w| w == pat).map(|i| &s[i + pat.len()..])
}

fn until(s: &[u8], stop: u8) -> &[u8] {
    &s[..s.iter().position(|&c| c == stop).unwrap_or(s.len())]
}

fn number(s: &[u8]) -> Option<u64> {
    let d = s.iter().take_while(|c| c.is_ascii_digit()).count();
    core::str::from_utf8(&s[..d]).ok()?.parse().ok()
}

fn hex_word(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|c| c.is_ascii_hexdigit() || **c == b'x').count();
    &s[..n]
}

fn begin() {
    if BASE.load(Relaxed) == 0 {
        match mem::map_rw(BUF) {
            Some(b) => BASE.store(b, Relaxed),
            None => return,
        }
    }
    for l in &LEN {
        l.store(0, Relaxed);
    }
    PART.store(0, Relaxed);
    FULL.store(false, Relaxed);
    STACKS.store(0, Relaxed);
    FRAMES.store(0, Relaxed);
    DETAILS.store(0, Relaxed);
    TRUNCATED.store(false, Relaxed);
    PHASE.store(1, Relaxed);
}

/// The first line: kind and what it names.
fn first(what: &[u8]) {
    // The fixed-phrase reports get the parser's labels (REPORT-FORMAT.md).
    let kind: &[u8] = if what.starts_with(b"detected memory leaks") {
        b"memory-leaks"
    } else if what.starts_with(b"out-of-memory") {
        b"out-of-memory"
    } else if what.starts_with(b"allocator re-entered") {
        b"allocator-reentered"
    } else {
        until(what, b' ')
    };
    push(b"{\"kind\":");
    string(kind);
    key("headline");
    string(what);
    if let Some(rest) = after(what, b" address ") {
        key("address");
        string(hex_word(rest));
        let access = if after(what, b"(WRITE").is_some() { "WRITE" } else { "READ" };
        let _ = write!(Buf, ",\"access\":\"{}\"", access);
        key("size");
        match after(what, b" of size ").and_then(number) {
            Some(n) => {
                let _ = write!(Buf, "{}", n);
            }
            None => push(b"null"),
        }
    } else if let Some(rest) = after(what, b" on ") {
        // KIND on FUNC(0xADDR)
        let func = until(rest, b'(');
        if let Some(addr) = rest.get(func.len() + 1..).map(hex_word).filter(|a| a.starts_with(b"0x")) {
            key("function");
            string(func);
            key("address");
            string(addr);
        }
    }
    if let Some(pc) = after(what, b" at pc ") {
        key("pc");
        string(hex_word(pc));
    }
    if let Some(t) = after(what, b" thread T").and_then(number) {
        let _ = write!(Buf, ",\"thread\":{}", t);
    }
}

/// "  0xA is located N bytes REL [freed ]SIZE-byte block [S,E) in pool P"
fn location(l: &[u8]) -> bool {
    let Some(rest) = after(l, b" is located ") else { return false };
    let Some(block) = after(rest, b"-byte block [") else { return false };
    let distance = number(rest);
    let relation = after(rest, b" bytes ").map(|r| until(r, b' ')).unwrap_or(b"");
    let relation: &[u8] = match relation {
        b"to" if after(rest, b"to the right").is_some() => b"right",
        b"to" => b"left",
        _ => b"inside",
    };
    let before_size = &rest[..rest.len() - block.len() - b"-byte block [".len()];
    let size = before_size.rsplit(|&c| c == b' ').next().and_then(number);
    key("block");
    push(b"{\"start\":");
    string(hex_word(block));
    let _ = write!(Buf, ",\"size\":{}", size.unwrap_or(0));
    key("pool");
    string(after(l, b" in pool ").unwrap_or(b""));
    let freed = after(rest, b" freed ").is_some();
    let _ = write!(Buf, ",\"state\":\"{}\"", if freed { "freed" } else { "live" });
    key("relation");
    string(relation);
    let _ = write!(Buf, ",\"distance\":{}}}", distance.unwrap_or(0));
    true
}

/// "    #N 0xPC in FUNC+0xOFF (MODULE+0xOFF) (BuildId: X)" or "… in ??".
fn frame(l: &[u8]) {
    if FRAMES.fetch_add(1, Relaxed) > 0 {
        push(b",");
    }
    let rest = after(l, b" 0x").unwrap_or(b"");
    push(b"{\"pc\":\"0x");
    push(hex_word(rest));
    push(b"\"");
    let body = after(l, b" in ").unwrap_or(b"");
    let (body, build_id) = match after(body, b" (BuildId: ") {
        Some(id) => (&body[..body.len() - id.len() - b" (BuildId: ".len()], Some(until(id, b')'))),
        None => (body, None),
    };
    // The module part is the last "(…+0x…)".
    let (func, module) = match body.iter().rposition(|&c| c == b'(').filter(|_| body.ends_with(b")")) {
        Some(open) if open > 0 => (&body[..open - 1], Some(&body[open + 1..body.len() - 1])),
        _ => (body, None),
    };
    if func != b"??" {
        let (name, off) = match func.iter().rposition(|&c| c == b'+') {
            Some(p) => (&func[..p], Some(&func[p + 1..])),
            None => (func, None),
        };
        key("function");
        string(name);
        if let Some(off) = off {
            key("function_offset");
            string(off);
        }
    }
    if let Some(m) = module {
        let p = m.iter().rposition(|&c| c == b'+').unwrap_or(m.len());
        key("module");
        string(&m[..p]);
        key("offset");
        string(m.get(p + 1..).unwrap_or(b""));
    }
    if let Some(id) = build_id {
        key("build_id");
        string(id);
    }
    push(b"}");
}

/// A stack's header line, or the first frame of the stack of the bug.
fn open_stack(section: &str, header: Option<&[u8]>) {
    close_stack();
    push(if STACKS.fetch_add(1, Relaxed) == 0 { b",\"stacks\":[" } else { b"," });
    let _ = write!(Buf, "{{\"section\":\"{}\"", section);
    if let Some(h) = header {
        key("header");
        string(h.trim_ascii());
        if let Some(t) = after(h, b"thread T").and_then(number) {
            let _ = write!(Buf, ",\"thread\":{}", t);
        }
        // "  Direct leak of N byte(s) in M object(s) allocated from:"
        if section == "leak" {
            let direct = h.trim_ascii_start().starts_with(b"Direct");
            let _ = write!(Buf, ",\"leak\":\"{}\"", if direct { "direct" } else { "indirect" });
            if let Some(n) = after(h, b" leak of ").and_then(number) {
                let _ = write!(Buf, ",\"bytes\":{}", n);
            }
            if let Some(n) = after(h, b" byte(s) in ").and_then(number) {
                let _ = write!(Buf, ",\"objects\":{}", n);
            }
        }
    }
    push(b",\"frames\":[");
    FRAMES.store(0, Relaxed);
    TRUNCATED.store(false, Relaxed);
    PHASE.store(2, Relaxed);
}

fn close_stack() {
    if PHASE.load(Relaxed) == 2 {
        push(if TRUNCATED.load(Relaxed) { b"],\"truncated\":true}" } else { b"]}" });
        PHASE.store(1, Relaxed);
    }
}

/// Any other line: a detail, kept in order in its own part.
fn detail(l: &[u8]) {
    PART.store(1, Relaxed);
    if DETAILS.fetch_add(1, Relaxed) > 0 {
        push(b",");
    }
    string(l.trim_ascii_end());
    PART.store(0, Relaxed);
}

/// One line of the current report.
fn line(l: &[u8]) {
    let l = l.strip_suffix(b"\n").unwrap_or(l);
    if let Some(what) = l.strip_prefix(b"libpooldbg: ERROR: ") {
        begin();
        first(what);
        return;
    }
    if PHASE.load(Relaxed) == 0 {
        out::emit_line(l); // not a report's: as text
        return;
    }
    if let Some(pid) = after(l, b"libpooldbg: end of report (pid ") {
        finish(number(pid));
        return;
    }
    if l.starts_with(b"    #") {
        if PHASE.load(Relaxed) != 2 {
            open_stack(if STACKS.load(Relaxed) == 0 { "here" } else { "other" }, None);
        }
        frame(l);
        return;
    }
    if l.starts_with(b"    <no stack recorded") {
        if PHASE.load(Relaxed) != 2 {
            open_stack("here", None);
        }
        return;
    }
    if l.starts_with(b"    ... stack truncated") {
        TRUNCATED.store(true, Relaxed);
        return;
    }
    if let Some(summary) = l.strip_prefix(b"SUMMARY: ") {
        PART.store(2, Relaxed);
        string(summary);
        PART.store(0, Relaxed);
        return;
    }
    let section = if l.starts_with(b"  freed by thread") {
        Some("freed")
    } else if l.starts_with(b"  allocated by ") {
        Some("alloc")
    } else if l.starts_with(b"  Direct leak") || l.starts_with(b"  Indirect leak") {
        Some("leak")
    } else if l.starts_with(b"  thread T") && after(l, b" created by ").is_some() {
        Some("thread")
    } else {
        None
    };
    if let Some(s) = section {
        open_stack(s, Some(l));
        return;
    }
    if STACKS.load(Relaxed) == 0 && DETAILS.load(Relaxed) == 0 && location(l) {
        return;
    }
    detail(l);
}

fn finish(pid: Option<u64>) {
    close_stack();
    if STACKS.load(Relaxed) > 0 {
        push(b"]");
    }
    push(b",\"details\":[");
    push(part(1));
    push(b"]");
    if LEN[2].load(Relaxed) > 0 {
        key("summary");
        push(part(2));
    }
    if let Some(p) = pid {
        let _ = write!(Buf, ",\"pid\":{}", p);
    }
    if FULL.load(Relaxed) {
        push(b",\"cut\":true");
    }
    PHASE.store(0, Relaxed);
    let mut obj = part(0);
    // Room for the closing brace was kept by push's margin.
    let end = LEN[0].load(Relaxed);
    // SAFETY: within the object's part (push keeps 64 bytes spare).
    unsafe { ((BASE.load(Relaxed) + end) as *mut u8).write(b'}') };
    unsafe { ((BASE.load(Relaxed) + end + 1) as *mut u8).write(b'\n') };
    // SAFETY: the two bytes just written follow the object.
    obj = unsafe { core::slice::from_raw_parts(obj.as_ptr(), end + 2) };
    out::emit(obj);
}

//! Stacks in reports: each frame as `#n 0xADDR in function+0xOFF
//! (module+0xOFF)`, named with `dladdr` (no allocation).

use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use crate::config::state;
use crate::heap::depot::{self, MAX_DEPTH, MAX_FRAMES};
use crate::heap::unwind;
use crate::out::say;
use crate::sys::elf::{self, ModulePath};
use crate::sys::strfns;
use crate::util::fmt::Bytes;

/// The frame the current report's SUMMARY line names: the first frame of
/// its first stack that lies in the program's own code (not in the C or C++
/// runtime), or that stack's first frame. Written only by the thread that
/// holds the report token.
static SUMMARY_PC: AtomicUsize = AtomicUsize::new(0);
/// Stacks printed in the current report.
static STACKS: AtomicUsize = AtomicUsize::new(0);

/// A new report begins: no stack printed yet.
pub fn summary_reset() {
    SUMMARY_PC.store(0, Relaxed);
    STACKS.store(0, Relaxed);
}

/// The runtime libraries whose frames a SUMMARY line skips.
const RUNTIME: [&[u8]; 8] =
    [b"libc.so", b"libc-", b"ld-linux", b"libstdc++", b"libgcc_s", b"libpthread", b"libm.so", b"libpooldbg"];

fn in_runtime(pc: usize) -> bool {
    depot::is_own(pc)
        || elf::lookup(pc).is_some_and(|sym| {
            let base = sym.module.rsplit(|&c| c == b'/').next().unwrap_or(sym.module);
            RUNTIME.iter().any(|r| base.starts_with(r))
        })
}

/// `SUMMARY: libpooldbg: KIND (module+0xOFF) in function`, as ASan ends a
/// report: one line for editors, problem matchers and grep. The wrapper's
/// symbolizer turns the location into file:line.
pub fn print_summary(kind: &str) {
    let pc = SUMMARY_PC.load(Relaxed);
    let Some(sym) = (pc != 0).then(|| elf::lookup(pc)).flatten() else { return };
    let (module, off) = (ModulePath(&sym), pc - sym.base);
    match (sym.name, string_function(pc)) {
        (Some((name, _)), _) => say!("SUMMARY: libpooldbg: {} ({}+{:#x}) in {}", kind, module, off, Bytes(name)),
        (None, Some(f)) => say!("SUMMARY: libpooldbg: {} ({}+{:#x}) in {}", kind, module, off, f),
        (None, None) => say!("SUMMARY: libpooldbg: {} ({}+{:#x})", kind, module, off),
    }
}

/// With `print_suppressions=1`: an entry that would keep this report quiet,
/// ready to paste into a suppressions file (the SUMMARY line's function,
/// or its module when the function has no name).
pub fn print_suppression(kind: &str) {
    let pc = SUMMARY_PC.load(Relaxed);
    let Some(sym) = (pc != 0).then(|| elf::lookup(pc)).flatten() else { return };
    match sym.name {
        Some((name, _)) => say!("libpooldbg: suppression for this report: {}:{}", kind, Bytes(name)),
        None => say!("libpooldbg: suppression for this report: {}:{}", kind, ModulePath(&sym)),
    }
}

/// The frame of `frames` a summary or a suppression entry names: the first
/// in the program's own code (looked up as its frame line is), or the first.
pub fn first_own(frames: &[usize]) -> usize {
    let pick = frames.iter().enumerate().find(|&(i, &pc)| !in_runtime(if i == 0 { pc } else { pc - 1 }));
    match pick {
        Some((0, &pc)) => pc,
        Some((_, &pc)) => pc - 1,
        None => frames.first().copied().unwrap_or(0),
    }
}

/// Prints frames, innermost first: at most `limit`, then a line saying the
/// stack was cut there when `frames` holds more.
fn print_limited(frames: &[usize], limit: usize) {
    if STACKS.fetch_add(1, Relaxed) == 0 {
        SUMMARY_PC.store(first_own(&frames[..frames.len().min(limit)]), Relaxed);
    }
    if frames.is_empty() {
        say!("    <no stack recorded (stack_depth=0, or the depot is full)>");
    }
    for (i, &pc) in frames.iter().take(limit).enumerate() {
        print_frame(i, pc);
    }
    if frames.len() > limit {
        say!("    ... stack truncated at stack_depth={}", state::options().stack_depth);
    }
}

/// Prints frames, innermost first.
pub fn print(frames: &[usize]) {
    print_limited(frames, usize::MAX);
}

/// Prints the depot's stack `id` (a caller-only id as no stack).
pub fn print_id(id: u32) {
    let mut f = [0usize; MAX_FRAMES];
    let n = depot::frames_of(depot::printable(id), &mut f);
    print_limited(&f[..n], state::options().stack_depth);
}

/// The caller's stack, from the first frame outside libpooldbg.
pub fn print_here() {
    let mut frames = [0usize; MAX_FRAMES];
    let depth = state::options().stack_depth.clamp(1, MAX_DEPTH);
    let n = depot::capture(&mut frames[..depth + 1], true);
    print_limited(&frames[..n], depth);
}

/// The stack of a faulting thread from the faulting instruction on, walked
/// from the interrupted registers (`pc`, `sp`, `fp`: the handler may run on
/// another stack than its own frames); `print_from` where our walker
/// cannot.
pub fn print_from_context(pc: usize, sp: usize, fp: usize) {
    let mut frames = [0usize; MAX_FRAMES];
    let want = state::options().stack_depth.clamp(1, MAX_DEPTH);
    frames[0] = pc;
    // One frame more than shown: the mark of a cut stack.
    match unwind::capture_from(&mut frames[1..want + 1], pc, sp, fp) {
        Some(n) => print_limited(&frames[..1 + n], want),
        None if want == 1 => print_limited(&frames[..1], want),
        None => print_from(pc),
    }
}

/// The stack of a faulting thread from the faulting instruction `pc` on (the
/// signal handler's own frames and the signal trampoline are dropped),
/// found in the handler's own stack by libgcc's unwinder, which follows the
/// signal frame and a switch to our stack.
fn print_from(pc: usize) {
    let mut frames = [0usize; MAX_FRAMES + 8];
    let want = state::options().stack_depth.clamp(1, MAX_DEPTH);
    let n = depot::capture_with_libgcc(&mut frames[..want + 9], true);
    match frames[..n].iter().position(|&f| f == pc) {
        Some(s) => print_limited(&frames[s..n.min(s + want + 1)], want),
        None => print(&[pc]),
    }
}

fn print_frame(i: usize, pc: usize) {
    // A return address may point just past the call, into the next
    // function: look up pc-1 for every frame but the faulting one.
    let probe = if i == 0 { pc } else { pc - 1 };
    let Some(sym) = elf::lookup(probe) else {
        say!("    #{} {:#x} in ??", i, pc);
        return;
    };
    let (module, off, id) = (ModulePath(&sym), pc - sym.base, BuildId(elf::build_id(sym.base)));
    match (sym.name, string_function(probe)) {
        (Some((name, addr)), _) => {
            say!("    #{} {:#x} in {}+{:#x} ({}+{:#x}){}", i, pc, Bytes(name), pc - addr, module, off, id)
        }
        (None, Some(f)) => say!("    #{} {:#x} in {}+{:#x} ({}+{:#x}){}", i, pc, f, pc - f.start, module, off, id),
        (None, None) => say!("    #{} {:#x} in ?? ({}+{:#x}){}", i, pc, module, off, id),
    }
}

/// " (BuildId: 0123…)" after a frame's module, as ASan prints it, so that a
/// saved log can be matched with the binary and its debug info; nothing
/// when the module has none.
struct BuildId(Option<&'static [u8]>);

impl core::fmt::Display for BuildId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let Some(id) = self.0 else { return Ok(()) };
        f.write_str(" (BuildId: ")?;
        for b in id {
            write!(f, "{:02x}", b)?;
        }
        f.write_str(")")
    }
}

/// A libc string or memory function, named by the implementation it runs
/// (several names may share one: `memcpy/memmove`).
#[derive(Clone, Copy)]
pub struct StringFunction {
    names: [&'static str; 2],
    n: usize,
    /// Where its implementation starts.
    pub start: usize,
}

impl core::fmt::Display for StringFunction {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, name) in self.names[..self.n].iter().enumerate() {
            write!(f, "{}{}", if i > 0 { "/" } else { "" }, name)?;
        }
        Ok(())
    }
}

/// The libc string or memory function whose implementation holds `pc`: its
/// bounds come from libc's `.eh_frame`, its names from the addresses the
/// loader resolved them to (sys/strfns.rs). Safe in the fault handler.
pub fn string_function(pc: usize) -> Option<StringFunction> {
    let (start, end) = unwind::function_bounds(pc)?;
    let mut f = StringFunction { names: [""; 2], n: 0, start };
    strfns::each(|name, addr| {
        if addr >= start && addr < end && f.n < f.names.len() {
            f.names[f.n] = name;
            f.n += 1;
        }
    });
    (f.n > 0).then_some(f)
}

//! Stacks in reports: each frame as `#n 0xADDR in function+0xOFF
//! (module+0xOFF)`, named with `dladdr` (no allocation).

use crate::config::state;
use crate::heap::depot::{self, MAX_DEPTH, MAX_FRAMES};
use crate::heap::unwind;
use crate::out::say;
use crate::sys::{elf, strfns};
use crate::util::fmt::Bytes;

/// Prints frames, innermost first: at most `limit`, then a line saying the
/// stack was cut there when `frames` holds more.
fn print_limited(frames: &[usize], limit: usize) {
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

/// The stack of a faulting thread from the faulting instruction `pc` on (the
/// signal handler's own frames and the signal trampoline are dropped).
pub fn print_from(pc: usize) {
    let mut frames = [0usize; MAX_FRAMES + 8];
    let want = state::options().stack_depth.clamp(1, MAX_DEPTH);
    let n = depot::capture(&mut frames[..want + 9], true);
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
    match sym.name {
        None => match string_function(probe) {
            Some(f) => {
                say!("    #{} {:#x} in {}+{:#x} ({}+{:#x})", i, pc, f, pc - f.start, Bytes(sym.module), pc - sym.base)
            }
            None => say!("    #{} {:#x} in ?? ({}+{:#x})", i, pc, Bytes(sym.module), pc - sym.base),
        },
        Some((name, addr)) => say!(
            "    #{} {:#x} in {}+{:#x} ({}+{:#x})",
            i,
            pc,
            Bytes(name),
            pc - addr,
            Bytes(sym.module),
            pc - sym.base
        ),
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

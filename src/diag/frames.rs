//! Stacks in reports: each frame as `#n 0xADDR in function+0xOFF
//! (module+0xOFF)`, named with `dladdr` (no allocation).

use crate::config::state;
use crate::heap::depot::{self, MAX_DEPTH};
use crate::heap::unwind;
use crate::out::say;
use crate::sys::elf;
use crate::util::fmt::Bytes;

/// Prints frames, innermost first.
pub fn print(frames: &[usize]) {
    if frames.is_empty() {
        say!("    <no stack recorded (stack_depth=0, or the depot is full)>");
    }
    for (i, &pc) in frames.iter().enumerate() {
        print_frame(i, pc);
    }
}

/// Prints the depot's stack `id` (a caller-only id as no stack).
pub fn print_id(id: u32) {
    let mut f = [0usize; MAX_DEPTH];
    let n = depot::frames_of(depot::printable(id), &mut f);
    print(&f[..n]);
}

/// The caller's stack, from the first frame outside libpooldbg.
pub fn print_here() {
    let mut frames = [0usize; MAX_DEPTH];
    let depth = state::options().stack_depth.clamp(1, MAX_DEPTH);
    let n = depot::capture(&mut frames[..depth], true);
    print(&frames[..n]);
}

/// The stack of a faulting thread from the faulting instruction on, walked
/// from the interrupted registers (`pc`, `sp`, `fp`: the handler may run on
/// another stack than its own frames); `print_from` where our walker
/// cannot.
pub fn print_from_context(pc: usize, sp: usize, fp: usize) {
    let mut frames = [0usize; MAX_DEPTH];
    let want = state::options().stack_depth.clamp(1, MAX_DEPTH);
    frames[0] = pc;
    match unwind::capture_from(&mut frames[1..want], pc, sp, fp) {
        Some(n) => print(&frames[..1 + n]),
        None if want == 1 => print(&frames[..1]),
        None => print_from(pc),
    }
}

/// The stack of a faulting thread from the faulting instruction `pc` on (the
/// signal handler's own frames and the signal trampoline are dropped),
/// found in the handler's own stack by libgcc's unwinder, which follows the
/// signal frame and a switch to our stack.
fn print_from(pc: usize) {
    let mut frames = [0usize; MAX_DEPTH];
    let want = state::options().stack_depth;
    let n = depot::capture_with_libgcc(&mut frames[..(want + 8).min(MAX_DEPTH)], true);
    match frames[..n].iter().position(|&f| f == pc) {
        Some(s) => print(&frames[s..n.min(s + want.max(1))]),
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
        None => say!("    #{} {:#x} in ?? ({}+{:#x})", i, pc, Bytes(sym.module), pc - sym.base),
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

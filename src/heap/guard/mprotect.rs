//! mprotect, on every kernel: a run is opened with `mprotect(PROT_READ |
//! PROT_WRITE)` and trapped again by mapping fresh `PROT_NONE` pages over
//! it, which frees its pages and merges it back into the neighbouring
//! inaccessible range in one call. Every open run splits the reservation,
//! about two memory maps per live block, so live guarded blocks are bounded
//! by vm.max_map_count (the dense fallback, heap/dense.rs, watches that).

use super::mechanism::Mechanism;
use crate::sys::mem;

pub struct Mprotect;

impl Mechanism for Mprotect {
    fn name(&self) -> &'static str {
        "mprotect"
    }

    fn describe(&self) -> &'static str {
        "mprotect"
    }

    fn requirement(&self) -> &'static str {
        "mprotect is refused"
    }

    fn available(&self) -> bool {
        true
    }

    fn commits(&self) -> bool {
        false
    }

    fn trap_fresh(&self, _start: usize, _len: usize) -> bool {
        true // never called: runs are opened one by one
    }

    fn open(&self, start: usize, len: usize) -> bool {
        mem::protect(start, len, mem::PROT_RW).is_ok()
    }

    fn trap(&self, start: usize, len: usize) -> bool {
        mem::remap_none(start, len)
    }

    fn costs_maps(&self) -> bool {
        true
    }
}

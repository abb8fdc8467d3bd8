//! Guard markers (Linux 6.13+): `MADV_GUARD_INSTALL` writes a marker into
//! the page tables of an ordinary read-write mapping; touching a marked page
//! raises SIGSEGV (`SEGV_MAPERR`, exact address), and the mapping is never
//! split. Installing a marker over a populated page discards its contents,
//! so one call frees and traps. A million live guarded blocks fit in a few
//! dozen memory maps.

use super::mechanism::Mechanism;
use crate::sys::mem::{self, PAGE};

pub struct Marker;

impl Mechanism for Marker {
    fn name(&self) -> &'static str {
        "marker"
    }

    fn describe(&self) -> &'static str {
        "guard markers (MADV_GUARD_INSTALL)"
    }

    fn requirement(&self) -> &'static str {
        "this kernel has no MADV_GUARD_INSTALL (Linux 6.13+)"
    }

    /// Probes MADV_GUARD_INSTALL on a scratch mapping.
    fn available(&self) -> bool {
        let Some(p) = mem::map_rw(2 * PAGE) else { return false };
        let ok = mem::advise(p + PAGE, PAGE, mem::MADV_GUARD_INSTALL).is_ok();
        mem::unmap(p, 2 * PAGE);
        ok
    }

    fn commits(&self) -> bool {
        true
    }

    fn trap_fresh(&self, start: usize, len: usize) -> bool {
        mem::advise(start, len, mem::MADV_GUARD_INSTALL).is_ok()
    }

    fn open(&self, start: usize, len: usize) -> bool {
        mem::advise(start, len, mem::MADV_GUARD_REMOVE).is_ok()
    }

    fn trap(&self, start: usize, len: usize) -> bool {
        mem::advise(start, len, mem::MADV_GUARD_INSTALL).is_ok()
    }

    fn costs_maps(&self) -> bool {
        false
    }
}

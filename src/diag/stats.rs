//! Pool statistics, in the spirit of HAProxy's `show pools`: per pool its
//! slot size, slots allocated (ever carved), used (live), peak, failed,
//! allocations, frees and live bytes; then totals — live objects, memory
//! maps, RSS, quarantine, signals handed to the program's fault handlers,
//! guard mode. Printed at exit with `stats=1`, on a signal with
//! `stats_signal=N`, or by calling `pooldbg_print_stats()`.

use super::chain;
use super::heapcheck::{self, When};
use crate::config::state;
use crate::heap::layout::NPOOLS;
use crate::heap::pool::{self, arena};
use crate::heap::{budget, dense, guard, unwind};
use crate::out::say;
use crate::sys::{self, proc, signal};
use crate::util::fmt::Line;

pub fn print() {
    if !state::ready() {
        return;
    }
    let (states, q_bytes) = pool::snapshot();
    let a = arena();
    say!("libpooldbg: pools (pid {}):", sys::getpid());
    say!(
        "  {:<18} {:>9} {:>10} {:>9} {:>9} {:>7} {:>11} {:>11} {:>13} {:>8}",
        "pool",
        "slot",
        "allocated",
        "used",
        "peak",
        "failed",
        "allocs",
        "frees",
        "live bytes",
        "quar."
    );
    let (mut live, mut bytes, mut allocs, mut frees, mut q_slots, mut failed) = (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    for (i, st) in states.iter().enumerate().take(NPOOLS) {
        live += st.used;
        bytes += st.used_bytes;
        allocs += st.allocs;
        frees += st.frees;
        q_slots += st.q_len as u64;
        failed += st.failed;
        if st.allocs == 0 && st.failed == 0 {
            continue;
        }
        let mut name: Line<32> = Line::new();
        let _ = core::fmt::Write::write_fmt(&mut name, format_args!("{}", pool::name(i)));
        say!(
            "  {:<18} {:>9} {:>10} {:>9} {:>9} {:>7} {:>11} {:>11} {:>13} {:>8}",
            core::str::from_utf8(name.as_bytes()).unwrap_or("?"),
            a.pools[i].slot_bytes,
            st.bump,
            st.used,
            st.peak,
            st.failed,
            st.allocs,
            st.frees,
            st.used_bytes,
            st.q_len
        );
    }
    let mode = guard::describe();
    say!(
        "  totals: {} live objects, {} live bytes, {} allocations, {} frees, {} failed",
        live,
        bytes,
        allocs,
        frees,
        failed
    );
    say!(
        "  memory maps: {}, RSS: {} KiB, quarantine: {} blocks ({} KiB of address space)",
        proc::count_maps(),
        proc::rss_kib(),
        q_slots,
        q_bytes / 1024
    );
    say!("  signals handed to the program's SIGSEGV/SIGBUS handlers: {}", chain::passed());
    let (fallbacks, computed, truncated) = unwind::counters();
    say!(
        "  stack capture: {} unwind rules computed, {} captures by libgcc (fallback), {} stopped early",
        computed,
        fallbacks,
        truncated
    );
    if guard::costs_maps() {
        say!(
            "  guard mode: {}; live guarded runs: {}; dense pools for new blocks: {}",
            mode,
            dense::live_guarded_runs(),
            if dense::dense_on() { "on" } else { "off" }
        );
    } else {
        say!("  guard mode: {}", mode);
    }
}

extern "C" fn on_signal(_: i32) {
    print();
    heapcheck::check(When::Signal);
}

/// Installs the `stats_signal` handler.
///
/// # Safety
/// Constructor only.
pub unsafe fn install_signal(sig: i32) {
    signal::install_plain(sig, on_signal);
}

/// The whole heap's figures, for mallinfo, malloc_stats and malloc_info.
#[derive(Clone, Copy, Default)]
pub struct Totals {
    pub live_blocks: u64,
    pub live_bytes: u64,
    /// What the live blocks hold: their runs, roughly.
    pub footprint: u64,
    /// Freed blocks waiting in the quarantine (their pages are given back).
    pub quarantined: u64,
}

pub fn totals() -> Totals {
    if !state::ready() {
        return Totals::default();
    }
    let (states, _) = pool::snapshot();
    let mut t = Totals { footprint: budget::live_footprint() as u64, ..Totals::default() };
    for st in states.iter() {
        t.live_blocks += st.used;
        t.live_bytes += st.used_bytes;
        t.quarantined += st.q_len as u64;
    }
    t
}

/// malloc_stats(3): glibc's lines, on stderr.
pub fn print_malloc_stats() {
    let t = totals();
    let mut l: Line<512> = Line::new();
    let (sys_bytes, used) = (t.footprint, t.live_bytes);
    let _ = core::fmt::Write::write_fmt(
        &mut l,
        format_args!(
            "Arena 0:\nsystem bytes     = {:>10}\nin use bytes     = {:>10}\nTotal (incl. mmap):\n\
system bytes     = {:>10}\nin use bytes     = {:>10}\nmax mmap regions = {:>10}\nmax mmap bytes   = {:>10}\n",
            sys_bytes, used, sys_bytes, used, 0, 0
        ),
    );
    sys::io::write_all(2, l.as_bytes());
}

/// malloc_info(3)'s XML, in glibc's shape: one heap; free blocks are the
/// quarantined ones, which hold no memory (their pages were given back).
pub fn malloc_info_xml(out: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    let t = totals();
    let mut l: Line<1024> = Line::new();
    let q = t.quarantined;
    let s = t.footprint;
    let _ = core::fmt::Write::write_fmt(
        &mut l,
        format_args!(
            "<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n</sizes>\n\
<total type=\"fast\" count=\"0\" size=\"0\"/>\n<total type=\"rest\" count=\"{q}\" size=\"0\"/>\n\
<system type=\"current\" size=\"{s}\"/>\n<system type=\"max\" size=\"{s}\"/>\n\
<aspace type=\"total\" size=\"{s}\"/>\n<aspace type=\"mprotect\" size=\"{s}\"/>\n</heap>\n\
<total type=\"fast\" count=\"0\" size=\"0\"/>\n<total type=\"rest\" count=\"{q}\" size=\"0\"/>\n\
<total type=\"mmap\" count=\"0\" size=\"0\"/>\n<system type=\"current\" size=\"{s}\"/>\n\
<system type=\"max\" size=\"{s}\"/>\n<aspace type=\"total\" size=\"{s}\"/>\n\
<aspace type=\"mprotect\" size=\"{s}\"/>\n</malloc>\n"
        ),
    );
    !l.truncated() && out(l.as_bytes())
}

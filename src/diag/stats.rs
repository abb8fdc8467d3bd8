//! Pool statistics, in the spirit of HAProxy's `show pools`: per pool its
//! slot size, slots allocated (ever carved), used (live), peak, failed,
//! allocations, frees and live bytes; then totals — live objects, memory
//! maps, RSS, quarantine, guard mode. Printed at exit with `stats=1`, on a
//! signal with `stats_signal=N`, or by calling `pooldbg_print_stats()`.

use crate::config::state;
use crate::heap::layout::NPOOLS;
use crate::heap::pool::{self, arena};
use crate::heap::{dense, guard, unwind};
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
}

/// Installs the `stats_signal` handler.
///
/// # Safety
/// Constructor only.
pub unsafe fn install_signal(sig: i32) {
    signal::install_plain(sig, on_signal);
}

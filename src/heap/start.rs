//! Start-up: options, guard mechanism, address space, the stack depot and
//! the thread table. Runs once, lazily on the first allocator call (which
//! can come before our constructor: from the dynamic loader or other
//! libraries' constructors) or from the constructor.
//!
//! Start-up never calls anything that allocates. A recursive call from the
//! initialising thread gets "not ready" (the caller fails that allocation
//! with ENOMEM) instead of deadlocking; other threads wait for the result
//! (config/state.rs).

use super::quarantine::Bounds;
use super::{dense, depot, guard, pool, threads};
use crate::config::options::{self, OptionRow, Options, ParseError, TABLE};
use crate::config::state::{self, Setup};
use crate::out::{self, say};
use crate::sys::{self, elf, mem, PAGE};
use crate::util::fmt::Bytes;

/// True once the allocator can serve; initialises on first call.
#[inline]
pub fn ensure() -> bool {
    state::ready() || state::start_once(initialise)
}

fn initialise(setup: &mut Setup) -> bool {
    let opts = &mut *setup.options;
    read_options(opts);
    if !opts.log_path().is_empty() {
        out::set_log_path(opts.log_path());
    } else if opts.leaks || opts.stats {
        // Reports at exit: keep a copy of stderr in case the program closes it.
        out::save_stderr();
    }
    // Before the first stack capture that can use it (until then, and on
    // glibc < 2.35, the stack capture finds objects with dl_iterate_phdr).
    elf::resolve_find_object();
    // SAFETY: start-up, on the single initialising thread.
    unsafe { elf::remember_paths() };
    *setup.secret = sys::random_u64();
    *setup.base_vm = sys::proc::vm_bytes();
    // SAFETY: start-up, on the single initialising thread (reserve_arena,
    // select, init_depot, init_table and init_budget write `Global`s).
    unsafe {
        if !pool::reserve_arena() {
            say!(
                "libpooldbg: ERROR: cannot reserve address space for the heap (RLIMIT_AS?); every allocation will fail"
            );
            return false;
        }
        pool::span_notice();
        let (start, len) = pool::guarded_range();
        if let Err(missing) = guard::select(opts.guard, start, len) {
            fatal_startup(format_args!(
                "POOLDBG_OPTIONS: guard={}, but {}; use guard=auto or guard={}",
                missing.name,
                missing.requirement,
                guard::last_resort()
            ));
        }
        if !depot::init_depot() {
            say!("libpooldbg: WARNING: no memory for the stack depot; reports will have no allocation stacks");
        }
        // Without it reports say that no thread's creation was recorded.
        threads::init_table();
        if guard::costs_maps() {
            dense::init_budget(opts.map_limit as usize);
        }
    }
    let dense_slots = opts.dense_quarantine_slots.min(opts.quarantine_slots);
    pool::set_quarantine_bounds(Bounds { bytes: opts.quarantine_mb << 20, slots: opts.quarantine_slots, dense_slots });
    prefault_lock_state();
    true
}

/// The pages the pool lock's critical sections write must not fault under
/// the lock: touch them now.
fn prefault_lock_state() {
    for (addr, len) in pool::lock_state_ranges() {
        let start = addr & !(PAGE - 1);
        let end = (addr + len).next_multiple_of(PAGE);
        if mem::advise(start, end - start, mem::MADV_POPULATE_WRITE).is_err() {
            // Older kernel: a volatile read-modify-write of each page's first byte
            // of our own state (nobody else runs yet, so this cannot race).
            let mut a = addr;
            while a < addr + len {
                // SAFETY: a lies inside one of our statics.
                unsafe { core::ptr::write_volatile(a as *mut u8, core::ptr::read_volatile(a as *const u8)) };
                a = (a & !(PAGE - 1)) + PAGE;
            }
        }
    }
    // Our code runs under the lock too: map the library's text now, and
    // tell the stack capture where our own frames are.
    elf::own_segments(|start, end, flags| {
        if flags & elf::PF_X != 0 {
            let _ = mem::advise(start, end - start, mem::MADV_POPULATE_READ);
            // SAFETY: start-up, on the single initialising thread.
            unsafe { depot::set_own_text(start, end) };
        }
    });
}

const ENV_NAME: &[u8] = b"POOLDBG_OPTIONS=";

/// Reads `POOLDBG_OPTIONS` from the environment without allocating; stops the
/// program with a one-line error if it is malformed.
fn read_options(opts: &mut Options) {
    let Some(text) = sys::env::get(ENV_NAME) else { return };
    let r = options::parse(text, opts, sys::secure_mode(), &mut |name| {
        say!("libpooldbg: WARNING: option '{}' ignored in a setuid/setgid program", name)
    });
    if let Err(err) = r {
        bad_options(&err);
    }
}

/// Start-up error for `POOLDBG_OPTIONS`: one line, exit status 1.
fn bad_options(e: &ParseError<'_>) -> ! {
    match e {
        ParseError::UnknownKey(k) => {
            say!(
                "libpooldbg: ERROR: POOLDBG_OPTIONS: unknown option '{}' (POOLDBG_OPTIONS=help=1 lists them)",
                Bytes(k)
            )
        }
        ParseError::BadValue { row, value } => say!(
            "libpooldbg: ERROR: POOLDBG_OPTIONS: bad value '{}' for option '{}': accepted: {}",
            Bytes(value),
            TABLE[*row].name,
            TABLE[*row].accepts
        ),
        ParseError::MissingValue(k) => {
            say!("libpooldbg: ERROR: POOLDBG_OPTIONS: '{}' has no value (expected key=value)", Bytes(k))
        }
    }
    sys::exit_now(1)
}

/// Start-up error unrelated to options: one line, exit status 1.
fn fatal_startup(what: core::fmt::Arguments<'_>) -> ! {
    say!("libpooldbg: ERROR: {}", what);
    sys::exit_now(1)
}

/// `help=1`: the options table.
pub fn print_help() {
    say!(
        "libpooldbg {} {} options (POOLDBG_OPTIONS=\"key=value:key=value\"); guard mechanism in use here: {}:",
        env!("CARGO_PKG_VERSION"),
        concat!("(commit ", env!("POOLDBG_COMMIT"), ")"),
        guard::describe()
    );
    // Columns as wide as their widest entry, whatever the names.
    let width = |f: fn(&OptionRow) -> &str| TABLE.iter().map(|r| f(r).len()).max().unwrap_or(0);
    let (name, accepts, default) = (width(|r| r.name), width(|r| r.accepts), width(|r| r.default));
    for row in TABLE {
        say!(
            "  {:<name$} {:<accepts$} default {:<default$} {}",
            row.name,
            row.accepts,
            row.default,
            row.help,
            name = name,
            accepts = accepts,
            default = default
        );
    }
}

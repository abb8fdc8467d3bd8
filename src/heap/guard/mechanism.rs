//! The interface every way of trapping pages implements (heap/guard/mod.rs
//! picks one at start-up and answers for it).

pub trait Mechanism: Sync {
    /// Its value of the `guard` option.
    fn name(&self) -> &'static str;
    /// How statistics and help describe it.
    fn describe(&self) -> &'static str;
    /// Why this kernel may lack it, for the error when it is forced and missing.
    fn requirement(&self) -> &'static str;
    /// Whether this kernel offers it (probed at start-up).
    fn available(&self) -> bool;
    /// Prepares the guarded pools' address space `[start, start + len)`
    /// (reserved, inaccessible) once at start-up; false if it cannot be
    /// used after all.
    fn setup(&self, _start: usize, _len: usize) -> bool {
        true
    }
    /// True if guarded pools commit their address space in chunks with every
    /// page trapped (`trap_fresh`), so opening a run changes no mapping;
    /// false if each run is opened and trapped on its own.
    fn commits(&self) -> bool;
    /// Newly committed read-write address space of a guarded pool: trap
    /// every page of it. Only called when `commits()`.
    fn trap_fresh(&self, start: usize, len: usize) -> bool;
    /// Makes a block's run usable (read-write, reading as zeros).
    fn open(&self, start: usize, len: usize) -> bool;
    /// True if `open` populates the run as `prefault` would (its first
    /// `prefault_kb`, writable), so prefaulting it again would be a wasted
    /// system call.
    fn populates(&self) -> bool {
        false
    }
    /// Gives a freed run's pages back to the kernel and leaves them trapped,
    /// in one system call where possible.
    fn trap(&self, start: usize, len: usize) -> bool;
    /// True if every open run costs memory maps (VMAs), so that live blocks
    /// are bounded by vm.max_map_count and the dense fallback must watch them.
    fn costs_maps(&self) -> bool;
    /// In a fork child, before it returns to the program: set up again
    /// whatever the child did not inherit. False if that failed (the caller
    /// then moves the child to another mechanism). Nothing to do for a
    /// mechanism that lives in the page tables or the mappings, which a
    /// child inherits.
    fn after_fork_child(&self) -> bool {
        true
    }
}

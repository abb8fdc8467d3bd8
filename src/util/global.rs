//! `Global<T>`: a static written once during initialisation, read freely after.
//!
//! The start-up protocol (see `config/state.rs`) writes every `Global` before it publishes
//! "ready" with a release store; readers run only after observing it with an
//! acquire load. That ordering is what makes the shared reads sound.

use core::cell::UnsafeCell;

pub struct Global<T>(UnsafeCell<T>);

// SAFETY: written only by the single initialising thread before publication
// (or by a fork child, single-threaded), read-only afterwards.
unsafe impl<T> Sync for Global<T> {}

impl<T> Global<T> {
    pub const fn new(v: T) -> Self {
        Global(UnsafeCell::new(v))
    }

    /// Shared access after initialisation.
    pub fn get(&self) -> &T {
        // SAFETY: see the type's contract.
        unsafe { &*self.0.get() }
    }

    /// Exclusive access during initialisation.
    ///
    /// # Safety
    /// Only the initialising thread may call this, before "ready" is published.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn init_mut(&self) -> &mut T {
        &mut *self.0.get()
    }
}

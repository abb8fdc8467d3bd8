//! The run-time state start-up publishes: options, the owner-link secret,
//! the process's virtual size before our reservations, and whether the
//! allocator is ready. Written once by the initialising thread (see
//! `core::start`) before it publishes "ready" with a release store; read
//! freely after an acquire load of it (`util::global`).

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering::*};

use super::options::Options;
use crate::sys;
use crate::util::global::Global;

const UNINIT: u32 = 0;
const RUNNING: u32 = 1;
const READY: u32 = 2;
const FAILED: u32 = 3;

static STATE: AtomicU32 = AtomicU32::new(UNINIT);
static INIT_THREAD: AtomicUsize = AtomicUsize::new(0);

static OPTIONS: Global<Options> = Global::new(Options::defaults());
static SECRET: Global<u64> = Global::new(0);
/// The process's virtual size before our reservations (for RLIMIT_AS).
static BASE_VM: Global<usize> = Global::new(0);

pub fn options() -> &'static Options {
    OPTIONS.get()
}

pub fn secret() -> u64 {
    *SECRET.get()
}

pub fn base_vm() -> usize {
    *BASE_VM.get()
}

#[inline]
pub fn ready() -> bool {
    STATE.load(Acquire) == READY
}

/// Runs `initialise` once, on the first thread to get here, and publishes
/// its outcome. A recursive call from the initialising thread gets false
/// ("not ready": the caller fails that allocation with ENOMEM) instead of
/// deadlocking; other threads wait for the outcome.
#[cold]
pub fn start_once(initialise: fn(&mut Setup) -> bool) -> bool {
    let me = sys::thread::self_id();
    match STATE.compare_exchange(UNINIT, RUNNING, Acquire, Acquire) {
        Ok(_) => {
            INIT_THREAD.store(me, Relaxed);
            // SAFETY: we are the single initialising thread (the CAS above),
            // and nothing reads these before READY is published.
            let mut setup = unsafe {
                Setup { options: OPTIONS.init_mut(), secret: SECRET.init_mut(), base_vm: BASE_VM.init_mut() }
            };
            let ok = initialise(&mut setup);
            STATE.store(if ok { READY } else { FAILED }, Release);
            ok
        }
        Err(RUNNING) if INIT_THREAD.load(Relaxed) == me => false,
        Err(_) => loop {
            match STATE.load(Acquire) {
                READY => return true,
                FAILED => return false,
                _ => sys::yield_now(),
            }
        },
    }
}

/// What the initialising thread may write, and only it.
pub struct Setup {
    pub options: &'static mut Options,
    pub secret: &'static mut u64,
    pub base_vm: &'static mut usize,
}

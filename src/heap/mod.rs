//! Layer 4: the heap core. Pools and their address space, slots and
//! their records, the quarantine, the guard mechanisms, committing address
//! space, the RLIMIT_AS budget, the page-table turn, the dense fallback,
//! stack capture and the stack depot, the thread table, and start-up.
//! Prints only notices and fatal errors (through `out`); bug reports are
//! `diag`'s.

pub mod block;
pub mod budget;
pub mod canary;
pub mod commit;
pub mod dense;
pub mod depot;
pub mod guard;
pub mod layout;
pub mod lock;
pub mod pool;
pub mod quarantine;
pub mod slot;
pub mod start;
pub mod threads;
pub mod turn;
pub mod unwind;

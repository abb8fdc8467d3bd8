//! Layer 2: configuration. `options` parses `POOLDBG_OPTIONS` (pure);
//! `state` publishes what start-up decided (the options, the secret, the
//! process's size before our reservations, whether we are ready).

pub mod options;
pub mod state;

//! Layer 0: plain helpers with no kernel access and no dependency on the
//! rest of the crate: text formatting without a heap, write-once statics,
//! number parsing.

pub mod fmt;
pub mod global;
pub mod parse;

//! What lies in band around a block: the head canary, the 8-byte owner link
//! just before the block, and the tail canary after it (up to the end of its
//! run of pages, or of its dense slot). Written when the block is set up,
//! checked when it is freed or resized.

use super::block::Block;
use super::layout::Placement;
use crate::config::state;

/// Byte value of the canaries around a block.
pub const CANARY: u8 = 0xca;

/// The owner link stored in the 8 bytes before a block: ties the block's
/// address to its pool under a per-process secret, so a corrupted header, a
/// block of another pool or a forged copy elsewhere do not match.
pub fn owner_link(user: usize, pool: usize) -> u64 {
    link_for(state::secret(), user, pool)
}

fn link_for(secret: u64, user: usize, pool: usize) -> u64 {
    (secret ^ (user as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).rotate_left(29) ^ pool as u64
}

/// Head canary, owner link and tail canary of a block of `size` bytes in
/// `pool` (a block placed against the page below has neither head canary
/// nor in-band link; its metadata alone vouches for it).
///
/// # Safety
/// The block's run `[pl.run_start, pl.run_end)` is mapped read-write and
/// owned by the caller.
pub unsafe fn write(pl: &Placement, size: usize, pool: usize) {
    if pl.user >= pl.run_start + 8 {
        fill(pl.run_start, pl.user - 8);
        ((pl.user - 8) as *mut u64).write_unaligned(owner_link(pl.user, pool));
    }
    fill(pl.user + size, pl.run_end);
}

/// Fills `[a, end)` with the canary byte.
///
/// # Safety
/// The range is mapped read-write and owned by the caller.
pub unsafe fn fill(a: usize, end: usize) {
    if end > a {
        // memset: vector stores, a page in a few dozen cycles.
        core::ptr::write_bytes(a as *mut u8, CANARY, end - a);
    }
}

/// What a check found wrong with a block's in-band bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Damage {
    /// The tail canary: its first overwritten byte.
    Tail(usize),
    /// The head canary: its last overwritten byte (nearest the block).
    Head(usize),
    /// The owner link holds `found` instead of `expected`.
    Link { found: u64, expected: u64 },
}

/// Checks the tail canary, then the head canary, then the owner link of a
/// block whose run the caller owns (it is live and claimed).
pub fn check(b: &Block) -> Option<Damage> {
    let (run_start, run_end) = (b.pl.run_start, b.pl.run_end);
    let expected = owner_link(b.user(), b.pool);
    // SAFETY: the block is live and claimed by this thread: its run is mapped.
    unsafe {
        if let Some(bad) = first_mismatch(b.end(), run_end, CANARY) {
            return Some(Damage::Tail(bad));
        }
        if b.user() < run_start + 8 {
            return None; // no header (protect_below)
        }
        let found = ((b.user() - 8) as *const u64).read_unaligned();
        if let Some(bad) = last_mismatch(run_start, b.user() - 8, CANARY) {
            return Some(Damage::Head(bad));
        }
        (found != expected).then_some(Damage::Link { found, expected })
    }
}

/// `check`, the same answers, for a block another thread may free meanwhile: `read(addr, buf)`
/// copies the block's bytes into `buf` without faulting (through the
/// kernel), false if it could not (the pages were given back). None if the
/// block is intact or could not be read.
pub fn check_with(b: &Block, mut read: impl FnMut(usize, &mut [u8]) -> bool) -> Option<Damage> {
    const CHUNK: usize = 256;
    let mut buf = [0u8; CHUNK];
    let (run_start, run_end) = (b.pl.run_start, b.pl.run_end);
    // The first byte of [a, end) that is not a canary, `rev`: the last.
    let mut mismatch = |a: usize, end: usize, rev: bool| -> Result<Option<usize>, ()> {
        let mut found = None;
        let mut x = a;
        while x < end {
            let n = (end - x).min(CHUNK);
            if !read(x, &mut buf[..n]) {
                return Err(());
            }
            let base = buf.as_ptr() as usize;
            // SAFETY: [base, base + n) is our buffer.
            let bad = unsafe {
                if rev {
                    last_mismatch(base, base + n, CANARY)
                } else {
                    first_mismatch(base, base + n, CANARY)
                }
            };
            if let Some(at) = bad {
                found = Some(x + (at - base));
                if !rev {
                    break;
                }
            }
            x += n;
        }
        Ok(found)
    };
    if let Some(bad) = mismatch(b.end(), run_end, false).ok()? {
        return Some(Damage::Tail(bad));
    }
    if b.user() < run_start + 8 {
        return None; // no header (protect_below)
    }
    if let Some(bad) = mismatch(run_start, b.user() - 8, true).ok()? {
        return Some(Damage::Head(bad));
    }
    let mut link = [0u8; 8];
    if !read(b.user() - 8, &mut link) {
        return None;
    }
    let (found, expected) = (u64::from_ne_bytes(link), owner_link(b.user(), b.pool));
    (found != expected).then_some(Damage::Link { found, expected })
}

/// The first byte in `[a, end)` that is not `byte`.
///
/// # Safety
/// The range is mapped readable.
pub unsafe fn first_mismatch(a: usize, end: usize, byte: u8) -> Option<usize> {
    if all_bytes(a, end, byte) {
        return None; // the common case, at memory speed
    }
    (a..end).find(|&x| (x as *const u8).read() != byte)
}

/// The last byte in `[a, end)` that is not `byte`.
unsafe fn last_mismatch(a: usize, end: usize, byte: u8) -> Option<usize> {
    if all_bytes(a, end, byte) {
        return None;
    }
    (a..end).rev().find(|&x| (x as *const u8).read() != byte)
}

/// True if every byte of `[a, end)` is `byte`: 64 bytes per step with SSE2
/// compares (part of the x86-64 baseline), the ragged ends a byte at a time.
/// A free checks up to a page of head canary, so this is on the hot path.
unsafe fn all_bytes(a: usize, end: usize, byte: u8) -> bool {
    use core::arch::x86_64::*;
    let mut x = a;
    while x < end && !x.is_multiple_of(16) {
        if (x as *const u8).read() != byte {
            return false;
        }
        x += 1;
    }
    let want = _mm_set1_epi8(byte as i8);
    while x + 64 <= end {
        let p = x as *const __m128i;
        let e0 = _mm_cmpeq_epi8(_mm_load_si128(p), want);
        let e1 = _mm_cmpeq_epi8(_mm_load_si128(p.add(1)), want);
        let e2 = _mm_cmpeq_epi8(_mm_load_si128(p.add(2)), want);
        let e3 = _mm_cmpeq_epi8(_mm_load_si128(p.add(3)), want);
        let all = _mm_and_si128(_mm_and_si128(e0, e1), _mm_and_si128(e2, e3));
        if _mm_movemask_epi8(all) != 0xffff {
            return false;
        }
        x += 64;
    }
    while x < end {
        if (x as *const u8).read() != byte {
            return false;
        }
        x += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatches_are_found_at_every_offset() {
        let mut buf = [0u8; 200];
        let (a, end) = (buf.as_mut_ptr() as usize + 3, buf.as_mut_ptr() as usize + 197);
        // SAFETY: [a, end) lies in buf.
        unsafe {
            fill(a, end);
            assert_eq!(first_mismatch(a, end, CANARY), None);
            for off in [0usize, 1, 7, 8, 63, 64, 100, 193] {
                fill(a, end);
                ((a + off) as *mut u8).write(0);
                assert_eq!(first_mismatch(a, end, CANARY), Some(a + off), "offset {off}");
                assert_eq!(last_mismatch(a, end, CANARY), Some(a + off), "offset {off}");
            }
            ((a + 5) as *mut u8).write(1);
            assert_eq!(first_mismatch(a, end, CANARY), Some(a + 5));
            assert_eq!(last_mismatch(a, end, CANARY), Some(a + 193));
        }
        assert_eq!(buf[2], 0, "fill stays inside its range");
        assert_eq!(buf[197], 0, "fill stays inside its range");
    }

    #[test]
    fn links_depend_on_secret_address_and_pool() {
        let l = link_for(0x1234, 0x7000_0000_1000, 3);
        assert_ne!(l, link_for(0x1235, 0x7000_0000_1000, 3));
        assert_ne!(l, link_for(0x1234, 0x7000_0000_1010, 3));
        assert_ne!(l, link_for(0x1234, 0x7000_0000_1000, 4));
        assert_eq!(l, link_for(0x1234, 0x7000_0000_1000, 3));
    }
}

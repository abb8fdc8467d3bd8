//! Whether a block allocated by one family and released by another went
//! through somebody else's operator new or operator delete, which is no
//! alloc-dealloc mismatch: such operators are built on malloc and free. A
//! program may define its own `operator new` over malloc (groff's troff does,
//! and then its `delete[]` reaches ours); a library may carry a private copy
//! that it binds to itself (libLLVM links libstdc++ statically, with
//! `-Bsymbolic`): its blocks reach us as malloc'd and are deleted through our
//! `operator delete`, and blocks from our `operator new` are deleted by its
//! `operator delete`, which calls `free`. Asked only on the error path,
//! before a mismatch is reported; nothing here allocates, and no lock of
//! ours is held.
//!
//! Either answer suffices:
//!
//! 1. **Binding.** The process binds an operator of the family the block
//!    came from (or is released to) to another object: the main program, or
//!    a library preloaded before us. Without us, that family *is* its
//!    operators, on top of malloc and free; the defaults we replace forward
//!    to it (`new[]` calls `new`, `delete[]` calls `delete`). So in that
//!    family every malloc/new pairing is the program's own arrangement.
//!    Found once, by reading the `.dynsym` of the objects listed before ours
//!    (not `dlsym`, which allocates when a name is missing).
//! 2. **The stack.** The frame that called malloc (allocation stack `#0`)
//!    or free (the caller of this free), or the function its call
//!    instruction called (an operator that tail-called malloc or free, as
//!    libstdc++'s `operator delete` does), is an operator of the family in
//!    another object — by its `.dynsym` name (`dladdr`) — or lies in an
//!    object with a private operator of the family:
//!    * one it defines and binds to itself (`DF_SYMBOLIC`, or no dynamic
//!      relocation refers to it: `-Bsymbolic-functions`, protected
//!      visibility; libLLVM), or
//!    * one it hides: the object is C++ (its `.dynsym` holds a `_Z` name)
//!      yet neither imports nor exports any operator of the family, so its
//!      new-expressions can reach no operator but one inside it (libstdc++
//!      linked statically with `--exclude-libs`, or its own, hidden).
//!
//!    A stripped object keeps no name for a hidden function — `.dynsym`
//!    lists only exported and imported names, `.eh_frame` gives a
//!    function's bounds but no name — so the second test is per object, not
//!    per function, and it is what survives tail calls (a function ending in
//!    `delete p` jumps to the operator, leaving no frame of its own). What
//!    it cannot see: a malloc/delete or new/free pairing made by code inside
//!    such an object with a neighbour's block (its own pairings are
//!    invisible anyway: its private operators are malloc and free), and one
//!    made by a C++ object that uses no `new` (or no `delete`) at all.
//!
//!    Where no allocation stack is recorded (`stack_depth=0`, a block
//!    `sample=N` leaves unguarded, a full depot), malloc, aligned_alloc and
//!    posix_memalign — what operators are built on — still record their
//!    caller (a `CALLER_ONLY` depot id, printed as no stack); a block from
//!    another entry (calloc, memalign, realloc) then has only the binding.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use crate::heap::block::Block;
use crate::heap::depot::{self, MAX_FRAMES};
use crate::heap::slot::AllocKind;
use crate::sys::elf;

/// Every replaceable operator new and delete (x86-64 mangling), in families:
/// bit `i` of a mask stands for `NAMES[i]`.
const NAMES: [&[u8]; 20] = [
    // operator new: 0..4
    b"_Znwm",
    b"_ZnwmRKSt9nothrow_t",
    b"_ZnwmSt11align_val_t",
    b"_ZnwmSt11align_val_tRKSt9nothrow_t",
    // operator new[]: 4..8
    b"_Znam",
    b"_ZnamRKSt9nothrow_t",
    b"_ZnamSt11align_val_t",
    b"_ZnamSt11align_val_tRKSt9nothrow_t",
    // operator delete: 8..14
    b"_ZdlPv",
    b"_ZdlPvm",
    b"_ZdlPvRKSt9nothrow_t",
    b"_ZdlPvSt11align_val_t",
    b"_ZdlPvmSt11align_val_t",
    b"_ZdlPvSt11align_val_tRKSt9nothrow_t",
    // operator delete[]: 14..20
    b"_ZdaPv",
    b"_ZdaPvm",
    b"_ZdaPvRKSt9nothrow_t",
    b"_ZdaPvSt11align_val_t",
    b"_ZdaPvmSt11align_val_t",
    b"_ZdaPvSt11align_val_tRKSt9nothrow_t",
];
const NEW: u64 = 0xf;
const NEW_ARRAY: u64 = 0xf << 4;
const DELETE: u64 = 0x3f << 8;
const DELETE_ARRAY: u64 = 0x3f << 14;
const NEW_NAMES: &[&[u8]] = NAMES.split_at(8).0;
const DELETE_NAMES: &[&[u8]] = NAMES.split_at(8).1;

/// The operators a block of this mismatch may have passed through: for a
/// malloc'd block released by delete (delete[]), the operator new (new[])
/// that may have made it; for a new'd block released by free, the operator
/// delete that may have called free. The defaults forward `new[]` to `new`
/// and `delete[]` to `delete`, so replacing the scalar one covers both.
/// None: no operator of another library can explain the pair (new/delete[]
/// between our own operators, or realloc).
fn family(allocated: AllocKind, released_as: AllocKind) -> Option<u64> {
    match (allocated, released_as) {
        (AllocKind::Malloc, AllocKind::New) => Some(NEW),
        (AllocKind::Malloc, AllocKind::NewArray) => Some(NEW | NEW_ARRAY),
        (AllocKind::New, AllocKind::Malloc) => Some(DELETE),
        (AllocKind::NewArray, AllocKind::Malloc) => Some(DELETE | DELETE_ARRAY),
        _ => None,
    }
}

/// True when the block `b`, released by a function of family `released_as`
/// (free, delete or delete[]; not realloc), went through another object's
/// operator new or operator delete: then it is no mismatch.
pub fn foreign_operator(b: &Block, released_as: AllocKind) -> bool {
    let Some(family) = family(b.kind(), released_as) else { return false };
    if bound_elsewhere() & family != 0 {
        return true;
    }
    let mut frames = [0usize; MAX_FRAMES];
    if b.kind() == AllocKind::Malloc {
        let n = depot::frames_of(b.meta.alloc_stack.load(Relaxed), &mut frames);
        n > 0 && in_operator(frames[0], NEW_NAMES)
    } else {
        let n = depot::capture(&mut frames[..1], true);
        n > 0 && in_operator(frames[0], DELETE_NAMES)
    }
}

/// Bit 63: `BOUND` holds the answer.
const KNOWN: u64 = 1 << 63;
static BOUND: AtomicU64 = AtomicU64::new(0);

/// The operators (bits of `NAMES`) the process binds to another object.
/// The objects before ours never change, so one look is enough; two threads
/// that look at once find the same.
fn bound_elsewhere() -> u64 {
    let v = BOUND.load(Relaxed);
    if v & KNOWN != 0 {
        return v;
    }
    let v = elf::defined_before(bound_elsewhere as *const () as usize, &NAMES) | KNOWN;
    BOUND.store(v, Relaxed);
    v
}

/// The return address `ret` is in one of `names` (an operator, not ours), or
/// follows a call to one (which then tail-called malloc or free).
fn in_operator(ret: usize, names: &[&[u8]]) -> bool {
    ret > 0 && (is_operator(ret - 1, names) || call_target(ret).is_some_and(|t| is_operator(t, names)))
}

/// The function at `addr` lies in an object with a private operator of the
/// family (the module comment), or is one of `names` in another object (by
/// its `.dynsym` name). The object's answer first: it is remembered, while
/// `dladdr` scans the object's symbols on every call.
fn is_operator(addr: usize, names: &[&[u8]]) -> bool {
    if depot::is_own(addr) {
        return false;
    }
    if has_private_operator(addr, names) {
        return true;
    }
    matches!(elf::lookup(addr), Some(elf::Symbol { name: Some((name, _)), .. }) if names.contains(&name))
}

/// Answers of `has_private_operator`, one word each: the object's load bias
/// (page-aligned) | `CACHED` | `DELETE_FAMILY` if it is about operator delete
/// | `PRIVATE` if the answer is yes. A program that passes many blocks between
/// such a library and its own code asks again and again, and an object's
/// `.dynsym` may hold tens of thousands of names.
static PRIVATE_CACHE: [AtomicUsize; 16] = [const { AtomicUsize::new(0) }; 16];
/// The loader's unload count the cache is valid for: an unload may put
/// another object at a remembered address.
static CACHE_UNLOADS: AtomicU64 = AtomicU64::new(0);
const CACHED: usize = 1;
const DELETE_FAMILY: usize = 2;
const PRIVATE: usize = 4;

/// The object holding `addr` has a private operator of the family `names`:
/// one it binds to itself, or, being C++, one it neither imports nor exports.
fn has_private_operator(addr: usize, names: &[&[u8]]) -> bool {
    let Some((bias, unloads)) = elf::object_key(addr) else { return false };
    if CACHE_UNLOADS.swap(unloads, Relaxed) != unloads {
        PRIVATE_CACHE.iter().for_each(|e| e.store(0, Relaxed));
    }
    let key = (bias & !0xfff) | CACHED | if names == DELETE_NAMES { DELETE_FAMILY } else { 0 };
    for e in &PRIVATE_CACHE {
        let v = e.load(Relaxed);
        if v & !PRIVATE == key {
            return v & PRIVATE != 0;
        }
    }
    let private = elf::mentions(addr, names).is_some_and(|m| m.self_bound || (m.cxx && !m.defines && !m.imports));
    let value = key | if private { PRIVATE } else { 0 };
    // The first free entry, else a pseudo-random one.
    let slot = PRIVATE_CACHE.iter().position(|e| e.load(Relaxed) == 0).unwrap_or(bias >> 12 & 15);
    PRIVATE_CACHE[slot].store(value, Relaxed);
    private
}

/// The function that the call instruction ending at `ret` called, through
/// its PLT entry if it went through one; None if the bytes before `ret` are
/// no call we can decode (an indirect call through a register, say).
fn call_target(ret: usize) -> Option<usize> {
    let mut code = [0u8; 6];
    if !elf::read_loaded(ret.checked_sub(6)?, &mut code) {
        return None;
    }
    let target = match decode_call(&code, ret)? {
        Call::Direct(t) => t,
        Call::Through(slot) => read_word(slot)?,
    };
    let mut stub = [0u8; 11];
    if !elf::read_loaded(target, &mut stub) {
        return Some(target);
    }
    Some(plt_slot(&stub, target).and_then(read_word).unwrap_or(target))
}

fn read_word(addr: usize) -> Option<usize> {
    let mut w = [0u8; 8];
    elf::read_loaded(addr, &mut w).then(|| usize::from_le_bytes(w))
}

#[derive(Debug, PartialEq, Eq)]
enum Call {
    /// `call rel32`: the target.
    Direct(usize),
    /// `call *disp32(%rip)` (`-fno-plt`): the GOT slot holding the target.
    Through(usize),
}

fn rel32(b: &[u8]) -> isize {
    i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as isize
}

/// The call whose last byte precedes `ret`, from the 6 bytes before it.
fn decode_call(code: &[u8; 6], ret: usize) -> Option<Call> {
    match code {
        [_, 0xe8, r @ ..] => Some(Call::Direct(ret.wrapping_add_signed(rel32(r)))),
        [0xff, 0x15, r @ ..] => Some(Call::Through(ret.wrapping_add_signed(rel32(r)))),
        _ => None,
    }
}

/// The GOT slot a PLT entry at `at` jumps through: `jmp *disp32(%rip)`,
/// after an `endbr64` and a `bnd` prefix when the entry has them (`.plt.sec`).
fn plt_slot(code: &[u8; 11], at: usize) -> Option<usize> {
    let mut i = 0;
    if code[..4] == [0xf3, 0x0f, 0x1e, 0xfa] {
        i = 4;
    }
    if code[i] == 0xf2 {
        i += 1;
    }
    if code[i..i + 2] != [0xff, 0x25] {
        return None;
    }
    Some(at.wrapping_add(i + 6).wrapping_add_signed(rel32(&code[i + 2..i + 6])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_the_operators_a_pair_can_pass() {
        assert_eq!(family(AllocKind::Malloc, AllocKind::New), Some(NEW));
        assert_eq!(family(AllocKind::Malloc, AllocKind::NewArray), Some(NEW | NEW_ARRAY));
        assert_eq!(family(AllocKind::NewArray, AllocKind::Malloc), Some(DELETE | DELETE_ARRAY));
        assert_eq!(family(AllocKind::New, AllocKind::NewArray), None);
        assert_eq!(family(AllocKind::NewArray, AllocKind::New), None);
        for (i, name) in NAMES.iter().enumerate() {
            let bit = 1u64 << i;
            let want = if name.starts_with(b"_Znw") {
                NEW
            } else if name.starts_with(b"_Zna") {
                NEW_ARRAY
            } else if name.starts_with(b"_Zdl") {
                DELETE
            } else {
                DELETE_ARRAY
            };
            assert_ne!(want & bit, 0, "{}", core::str::from_utf8(name).unwrap());
        }
        assert_eq!((NEW | NEW_ARRAY | DELETE | DELETE_ARRAY).count_ones() as usize, NAMES.len());
    }

    #[test]
    fn calls_are_decoded() {
        let ret = 0x1000;
        // call rel32 -0x100 (five bytes; the byte before is another instruction's)
        assert_eq!(decode_call(&[0x90, 0xe8, 0x00, 0xff, 0xff, 0xff], ret), Some(Call::Direct(0xf00)));
        // call *0x2000(%rip)
        assert_eq!(decode_call(&[0xff, 0x15, 0x00, 0x20, 0, 0], ret), Some(Call::Through(0x3000)));
        // call *%rax
        assert_eq!(decode_call(&[0x90, 0x90, 0x90, 0x90, 0xff, 0xd0], ret), None);
    }

    #[test]
    fn plt_entries_are_followed() {
        // jmp *0x10(%rip)
        let classic = [0xff, 0x25, 0x10, 0, 0, 0, 0x68, 0, 0, 0, 0];
        assert_eq!(plt_slot(&classic, 0x100), Some(0x100 + 6 + 0x10));
        // endbr64; bnd jmp *0x10(%rip)   (.plt.sec)
        let ibt = [0xf3, 0x0f, 0x1e, 0xfa, 0xf2, 0xff, 0x25, 0x10, 0, 0, 0];
        assert_eq!(plt_slot(&ibt, 0x100), Some(0x100 + 11 + 0x10));
        // an ordinary function start: push %rbx; ...
        assert_eq!(plt_slot(&[0x53, 0x48, 0x85, 0xff, 0, 0, 0, 0, 0, 0, 0], 0x100), None);
    }
}

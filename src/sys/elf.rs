//! Loaded ELF objects: program header tables (ours, the main program's, a
//! library's) and symbol look-up with `dladdr`. Reads only memory the
//! loader mapped readable, every read bounded; never allocates.

use core::ffi::c_void;

pub const PT_LOAD: u32 = 1;
pub const PT_PHDR: u32 = 6;
pub const PT_GNU_EH_FRAME: u32 = 0x6474_e550;
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

/// Size of one Elf64_Phdr.
const PHDR_BYTES: usize = 56;
/// Size of the Elf64_Ehdr.
const EHDR_BYTES: usize = 64;

/// One program header.
#[derive(Clone, Copy, Debug)]
pub struct Phdr {
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
}

/// A program header table in memory.
#[derive(Clone, Copy)]
pub struct Table {
    addr: usize,
    n: usize,
}

impl Table {
    /// # Safety
    /// `[addr, addr + n * 56)` is mapped readable for as long as the table is used.
    pub unsafe fn new(addr: usize, n: usize) -> Table {
        Table { addr, n }
    }

    pub fn addr(&self) -> usize {
        self.addr
    }

    pub fn iter(&self) -> impl Iterator<Item = Phdr> + '_ {
        (0..self.n).map(move |i| {
            let p = self.addr + i * PHDR_BYTES;
            // SAFETY: entry i lies inside the table (the constructor's contract).
            unsafe {
                Phdr {
                    p_type: read_u32(p),
                    flags: read_u32(p + 4),
                    offset: read_u64(p + 8),
                    vaddr: read_u64(p + 16),
                    filesz: read_u64(p + 32),
                    memsz: read_u64(p + 40),
                }
            }
        })
    }
}

unsafe fn read_u16(a: usize) -> u16 {
    (a as *const u16).read_unaligned()
}

unsafe fn read_u32(a: usize) -> u32 {
    (a as *const u32).read_unaligned()
}

unsafe fn read_u64(a: usize) -> u64 {
    (a as *const u64).read_unaligned()
}

/// The program header table of the ELF object whose header starts at
/// `start`, when the header is a 64-bit little-endian one with 56-byte
/// entries and the whole table lies in `[start, limit)`.
///
/// # Safety
/// `[start, limit)` is mapped readable.
pub unsafe fn table_at(start: usize, limit: usize) -> Option<Table> {
    if limit.checked_sub(start)? < EHDR_BYTES {
        return None;
    }
    let ident = core::slice::from_raw_parts(start as *const u8, 16);
    if ident[..4] != *b"\x7fELF" || ident[4] != 2 || ident[5] != 1 {
        return None;
    }
    let phoff = usize::try_from(read_u64(start + 32)).ok()?;
    let (phentsize, phnum) = (usize::from(read_u16(start + 54)), usize::from(read_u16(start + 56)));
    if phentsize != PHDR_BYTES {
        return None;
    }
    let table = start.checked_add(phoff)?;
    if table.checked_add(phnum.checked_mul(PHDR_BYTES)?)? > limit {
        return None;
    }
    Some(Table::new(table, phnum))
}

/// The main program's program header table, from the auxiliary vector.
pub fn main_program_table() -> Option<Table> {
    // SAFETY: getauxval reads the auxiliary vector; no allocation, no locks.
    let (phdr, phnum) = unsafe { (libc::getauxval(libc::AT_PHDR) as usize, libc::getauxval(libc::AT_PHNUM) as usize) };
    if phdr == 0 || phnum == 0 || phnum > 256 {
        return None;
    }
    // SAFETY: the kernel's AT_PHDR points at the main program's mapped table
    // of AT_PHNUM entries.
    Some(unsafe { Table::new(phdr, phnum) })
}

/// What the loader knows of the object containing an address.
#[derive(Clone, Copy, Debug)]
pub struct Object {
    pub map_start: usize,
    pub map_end: usize,
    /// Its `.eh_frame_hdr` (PT_GNU_EH_FRAME), 0 if it has none.
    pub eh_frame: usize,
}

#[repr(C)]
struct DlFindObject {
    flags: u64,
    map_start: usize,
    map_end: usize,
    link_map: *mut c_void,
    eh_frame: usize,
    reserved: [u64; 7],
}

extern "C" {
    /// glibc 2.35+; lock-free and async-signal-safe.
    fn _dl_find_object(address: *mut c_void, result: *mut DlFindObject) -> libc::c_int;
}

/// The loaded object containing `addr` (lock-free, no allocation, safe in
/// a signal handler), or None if there is none.
pub fn find_object(addr: usize) -> Option<Object> {
    // SAFETY: a plain out-parameter; the function neither locks nor allocates.
    let mut obj: DlFindObject = unsafe { core::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { _dl_find_object(addr as *mut c_void, &mut obj) } != 0 {
        return None;
    }
    Some(Object { map_start: obj.map_start, map_end: obj.map_end, eh_frame: obj.eh_frame })
}

/// What `dladdr` knows about an address.
pub struct Symbol {
    /// The object's path as the loader has it (may be empty for the main program).
    pub module: &'static [u8],
    /// The object's load address.
    pub base: usize,
    /// The nearest symbol at or below the address, and its address.
    pub name: Option<(&'static [u8], usize)>,
}

/// The object and symbol containing `addr`, or None if no loaded object does.
pub fn lookup(addr: usize) -> Option<Symbol> {
    // SAFETY: dladdr fills a plain struct; the strings it returns belong to
    // the loader and live as long as the module is loaded.
    unsafe {
        let mut info: libc::Dl_info = core::mem::zeroed();
        if libc::dladdr(addr as *const c_void, &mut info) == 0 {
            return None;
        }
        let name = (!info.dli_sname.is_null()).then(|| (cstr(info.dli_sname), info.dli_saddr as usize));
        Some(Symbol { module: cstr(info.dli_fname), base: info.dli_fbase as usize, name })
    }
}

unsafe fn cstr(p: *const libc::c_char) -> &'static [u8] {
    if p.is_null() {
        return b"??";
    }
    core::ffi::CStr::from_ptr(p).to_bytes()
}

/// Calls `f(start, end, flags)` for each PT_LOAD segment of libpooldbg
/// itself, widened to whole pages.
pub fn own_segments(mut f: impl FnMut(usize, usize, u32)) {
    let Some(me) = lookup(lookup as *const () as usize) else { return };
    if me.base == 0 {
        return;
    }
    let page = super::mem::PAGE;
    // SAFETY: our own ELF header and program headers, mapped by the loader
    // in our first (readable) page.
    let Some(table) = (unsafe { table_at(me.base, me.base + page) }) else { return };
    for ph in table.iter().filter(|ph| ph.p_type == PT_LOAD) {
        let start = (me.base + ph.vaddr as usize) & !(page - 1);
        let end = (me.base + (ph.vaddr + ph.memsz) as usize).next_multiple_of(page);
        f(start, end, ph.flags);
    }
}

//! Loaded ELF objects: program header tables (ours, the main program's, a
//! library's), the object holding an address (`_dl_find_object`, or
//! `dl_iterate_phdr` before glibc 2.35), symbol look-up with `dladdr`, the
//! dynamic symbol tables and relocations (what an object defines, imports,
//! and binds to itself). Reads only memory the loader mapped readable,
//! every read bounded; never allocates.

use core::ffi::c_void;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The page size (not mem::PAGE: mem uses thread, which uses us).
const PAGE: usize = 4096;
use crate::util::global::Global;

pub const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
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

/// glibc 2.35+: lock-free and async-signal-safe.
type DlFindObjectFn = unsafe extern "C" fn(address: *mut c_void, result: *mut DlFindObject) -> libc::c_int;

/// `_dl_find_object`, or 0: before `resolve_find_object` ran, or on a glibc
/// older than 2.35 (linked directly, it would be a GLIBC_2.35 symbol
/// version and the library would not load there).
static DL_FIND_OBJECT: AtomicUsize = AtomicUsize::new(0);

/// The loaded object containing `addr`, or None if there is none. With
/// `_dl_find_object` (glibc 2.35+, once `resolve_find_object` found it):
/// lock-free, no allocation, safe in a signal handler. Otherwise
/// `dl_iterate_phdr`, which takes the loader's lock: not async-signal-safe
/// (a handler that interrupted another thread's dlopen waits for it), and a
/// walk over every loaded object. That is the fallback only, and it is what
/// libgcc's own unwinder does on those glibc versions.
pub fn find_object(addr: usize) -> Option<Object> {
    // Relaxed: the value is the whole message (libc's code is mapped
    // before our first call).
    let f = DL_FIND_OBJECT.load(Relaxed);
    if f == 0 {
        return find_object_by_iteration(addr);
    }
    // SAFETY: a non-zero value is the address of libc's `_dl_find_object`
    // (resolve_find_object), whose type is DlFindObjectFn.
    let f: DlFindObjectFn = unsafe { core::mem::transmute::<usize, DlFindObjectFn>(f) };
    // SAFETY: a plain out-parameter; the function neither locks nor allocates.
    let mut obj: DlFindObject = unsafe { core::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { f(addr as *mut c_void, &mut obj) } != 0 {
        return None;
    }
    Some(Object { map_start: obj.map_start, map_end: obj.map_end, eh_frame: obj.eh_frame })
}

/// Finds `_dl_find_object` for `find_object`; start-up calls it once.
/// Not with `dlsym`: a failing look-up (glibc before 2.35) allocates its
/// error message through us, and before 2.34 dlsym allocates its
/// per-thread error state on first use. Instead the symbol is looked up in
/// libc's own dynamic symbol table (GNU hash), through `dl_iterate_phdr`.
pub fn resolve_find_object() {
    if DL_FIND_OBJECT.load(Relaxed) != 0 {
        return;
    }
    let mut found = 0usize;
    // SAFETY: the callback only reads what the loader hands it, through
    // bounded reads (`Image`); `found` outlives the call.
    unsafe { libc::dl_iterate_phdr(Some(visit_for_symbol), &mut found as *mut usize as *mut c_void) };
    DL_FIND_OBJECT.store(found, Relaxed);
}

const LIBC_SONAME: &[u8] = b"libc.so.6";
const FIND_OBJECT_NAME: &[u8] = b"_dl_find_object";

unsafe extern "C" fn visit_for_symbol(info: *mut libc::dl_phdr_info, _size: usize, data: *mut c_void) -> libc::c_int {
    let info = &*info;
    let Some(image) = Image::of(info) else { return 0 };
    let Some(dynamic) = image.dynamic() else { return 0 };
    if !dynamic.soname.is_some_and(|off| image.str_eq(&dynamic, off, LIBC_SONAME)) {
        return 0;
    }
    if let Some(addr) = image.lookup_function(&dynamic, FIND_OBJECT_NAME) {
        *(data as *mut usize) = addr;
    }
    1 // libc: stop, found or not
}

/// `find_object` without `_dl_find_object`: the object whose map range (its
/// first PT_LOAD page to its last PT_LOAD's end, as glibc's
/// `l_map_start`/`l_map_end`) holds `addr`, and its PT_GNU_EH_FRAME.
fn find_object_by_iteration(addr: usize) -> Option<Object> {
    let mut search = (addr, None::<Object>);
    // SAFETY: the callback reads the program headers the loader hands it
    // (mapped while the loader's lock is held); `search` outlives the call.
    unsafe {
        libc::dl_iterate_phdr(Some(visit_for_address), &mut search as *mut (usize, Option<Object>) as *mut c_void)
    };
    search.1
}

unsafe extern "C" fn visit_for_address(info: *mut libc::dl_phdr_info, _size: usize, data: *mut c_void) -> libc::c_int {
    let info = &*info;
    let search = &mut *(data as *mut (usize, Option<Object>));
    if info.dlpi_phdr.is_null() {
        return 0;
    }
    let table = Table::new(info.dlpi_phdr as usize, usize::from(info.dlpi_phnum));
    let bias = info.dlpi_addr as usize;
    let (mut start, mut end, mut eh_frame) = (usize::MAX, 0usize, 0usize);
    for ph in table.iter() {
        let at = bias.wrapping_add(ph.vaddr as usize);
        match ph.p_type {
            PT_LOAD => {
                start = start.min(at & !(PAGE - 1));
                end = end.max(at.wrapping_add(ph.memsz as usize));
            }
            PT_GNU_EH_FRAME => eh_frame = at,
            _ => {}
        }
    }
    if search.0 < start || search.0 >= end {
        return 0;
    }
    search.1 = Some(Object { map_start: start, map_end: end, eh_frame });
    1
}

const DT_NULL: u64 = 0;
const DT_PLTRELSZ: u64 = 2;
const DT_HASH: u64 = 4;
const DT_STRTAB: u64 = 5;
const DT_SYMTAB: u64 = 6;
const DT_RELA: u64 = 7;
const DT_RELASZ: u64 = 8;
const DT_STRSZ: u64 = 10;
const DT_SONAME: u64 = 14;
const DT_SYMBOLIC: u64 = 16;
const DT_JMPREL: u64 = 23;
const DT_FLAGS: u64 = 30;
const DF_SYMBOLIC: u64 = 2;
/// Size of one Elf64_Rela.
const RELA_BYTES: usize = 24;
const DT_GNU_HASH: u64 = 0x6fff_fef5;
const STT_FUNC: u8 = 2;
/// Size of one Elf64_Sym.
const SYM_BYTES: usize = 24;

/// A loaded object's readable PT_LOAD segments: every read is checked
/// against them, so a malformed table reads nothing unmapped.
struct Image {
    bias: usize,
    ranges: [(usize, usize); 8],
    n: usize,
    dynamic: (usize, usize),
}

/// What the symbol look-up needs from the dynamic section (addresses).
struct Dynamic {
    strtab: usize,
    strsz: usize,
    symtab: usize,
    gnu_hash: usize,
    /// The SysV hash table (DT_HASH), 0 if none: its chain count is the
    /// number of symbols.
    hash: usize,
    soname: Option<usize>,
    /// DT_SYMBOLIC, or DF_SYMBOLIC in DT_FLAGS.
    symbolic: bool,
    /// The relocation tables with symbols (RELA on x86-64): `.rela.dyn`, `.rela.plt`.
    rela: [(usize, usize); 2],
}

impl Image {
    /// # Safety
    /// `info` is what `dl_iterate_phdr` handed its callback.
    unsafe fn of(info: &libc::dl_phdr_info) -> Option<Image> {
        if info.dlpi_phdr.is_null() {
            return None;
        }
        let table = Table::new(info.dlpi_phdr as usize, usize::from(info.dlpi_phnum));
        let bias = info.dlpi_addr as usize;
        let mut image = Image { bias, ranges: [(0, 0); 8], n: 0, dynamic: (0, 0) };
        for ph in table.iter() {
            let lo = bias.wrapping_add(ph.vaddr as usize);
            match ph.p_type {
                PT_LOAD if ph.flags & PF_R != 0 && image.n < image.ranges.len() => {
                    image.ranges[image.n] = (lo, lo.checked_add(ph.filesz as usize)?);
                    image.n += 1;
                }
                PT_DYNAMIC => image.dynamic = (lo, ph.memsz as usize / 16),
                _ => {}
            }
        }
        Some(image)
    }

    /// `len` bytes at `addr`, if they lie in one readable segment.
    fn bytes(&self, addr: usize, len: usize) -> Option<&[u8]> {
        let end = addr.checked_add(len)?;
        self.ranges[..self.n].iter().find(|&&(lo, hi)| addr >= lo && end <= hi)?;
        // SAFETY: [addr, end) lies in a PT_LOAD segment the loader mapped readable.
        Some(unsafe { core::slice::from_raw_parts(addr as *const u8, len) })
    }

    fn u32(&self, addr: usize) -> Option<u32> {
        Some(u32::from_le_bytes(self.bytes(addr, 4)?.try_into().ok()?))
    }

    fn u64(&self, addr: usize) -> Option<u64> {
        Some(u64::from_le_bytes(self.bytes(addr, 8)?.try_into().ok()?))
    }

    /// A dynamic-section address: the loader has added the bias in place
    /// on x86-64, except where the section is read-only (the vDSO).
    fn address(&self, d_ptr: u64) -> usize {
        let p = d_ptr as usize;
        if p < self.bias {
            p.wrapping_add(self.bias)
        } else {
            p
        }
    }

    fn dynamic(&self) -> Option<Dynamic> {
        let (at, n) = self.dynamic;
        let mut d = Dynamic {
            strtab: 0,
            strsz: 0,
            symtab: 0,
            gnu_hash: 0,
            hash: 0,
            soname: None,
            symbolic: false,
            rela: [(0, 0); 2],
        };
        for i in 0..n.min(256) {
            let entry = at.checked_add(i * 16)?;
            let (tag, value) = (self.u64(entry)?, self.u64(entry + 8)?);
            match tag {
                DT_NULL => break,
                DT_STRTAB => d.strtab = self.address(value),
                DT_STRSZ => d.strsz = value as usize,
                DT_SYMTAB => d.symtab = self.address(value),
                DT_GNU_HASH => d.gnu_hash = self.address(value),
                DT_HASH => d.hash = self.address(value),
                DT_SYMBOLIC => d.symbolic = true,
                DT_FLAGS => d.symbolic |= value & DF_SYMBOLIC != 0,
                DT_RELA => d.rela[0].0 = self.address(value),
                DT_RELASZ => d.rela[0].1 = value as usize,
                DT_JMPREL => d.rela[1].0 = self.address(value),
                DT_PLTRELSZ => d.rela[1].1 = value as usize,
                DT_SONAME => d.soname = Some(value as usize),
                _ => {}
            }
        }
        (d.strtab != 0 && d.symtab != 0 && (d.gnu_hash != 0 || d.hash != 0)).then_some(d)
    }

    /// The string at offset `off` of the string table is `name`.
    fn str_eq(&self, d: &Dynamic, off: usize, name: &[u8]) -> bool {
        let len = name.len() + 1; // with its NUL
        off.checked_add(len).is_some_and(|end| end <= d.strsz)
            && self.bytes(d.strtab + off, len).is_some_and(|b| b[..name.len()] == *name && b[name.len()] == 0)
    }

    /// The address of the defined function `name`, by the GNU hash table.
    fn lookup_function(&self, d: &Dynamic, name: &[u8]) -> Option<usize> {
        let h = name.iter().fold(5381u32, |h, &c| h.wrapping_mul(33).wrapping_add(u32::from(c)));
        if d.gnu_hash == 0 {
            return None;
        }
        let (nbuckets, symoffset, bloom_words) =
            (self.u32(d.gnu_hash)?, self.u32(d.gnu_hash + 4)?, self.u32(d.gnu_hash + 8)?);
        if nbuckets == 0 {
            return None;
        }
        let buckets = d.gnu_hash.checked_add(16 + bloom_words as usize * 8)?;
        let chains = buckets.checked_add(nbuckets as usize * 4)?;
        let mut i = self.u32(buckets + (h % nbuckets) as usize * 4)?;
        if i < symoffset {
            return None; // empty bucket
        }
        // A chain ends at an entry with bit 0 set; bounded in case it does not.
        for _ in 0..4096 {
            let ch = self.u32(chains.checked_add((i - symoffset) as usize * 4)?)?;
            if ch | 1 == h | 1 {
                let sym = d.symtab.checked_add(i as usize * SYM_BYTES)?;
                // Elf64_Sym: st_name u32, st_info u8, st_other u8, st_shndx u16, st_value u64.
                let (st_name, st_info) = (self.u32(sym)?, *self.bytes(sym + 4, 1)?.first()?);
                let (st_shndx, st_value) = (self.u32(sym + 4)? >> 16, self.u64(sym + 8)?);
                if st_shndx != 0 && st_value != 0 && st_info & 0xf == STT_FUNC && self.str_eq(d, st_name as usize, name)
                {
                    return Some(self.bias.wrapping_add(st_value as usize));
                }
            }
            if ch & 1 != 0 {
                return None;
            }
            i = i.checked_add(1)?;
        }
        None
    }
}

impl Image {
    /// `addr` lies in one of the object's readable segments.
    fn holds(&self, addr: usize) -> bool {
        self.bytes(addr, 1).is_some()
    }

    /// The number of `.dynsym` entries: DT_HASH's chain count, or past the
    /// last chain of the GNU hash table (entries below its `symoffset`,
    /// the undefined ones among them, are not hashed but are counted).
    fn symbol_count(&self, d: &Dynamic) -> Option<usize> {
        if d.hash != 0 {
            return Some(self.u32(d.hash + 4)? as usize);
        }
        let (nbuckets, symoffset, bloom_words) =
            (self.u32(d.gnu_hash)?, self.u32(d.gnu_hash + 4)?, self.u32(d.gnu_hash + 8)?);
        let buckets = d.gnu_hash.checked_add(16 + bloom_words as usize * 8)?;
        let chains = buckets.checked_add(nbuckets as usize * 4)?;
        let mut last = 0u32;
        for b in 0..nbuckets.min(1 << 22) as usize {
            last = last.max(self.u32(buckets + b * 4)?);
        }
        if last < symoffset {
            return Some(symoffset as usize);
        }
        for _ in 0..MAX_SYMBOLS {
            if self.u32(chains.checked_add((last - symoffset) as usize * 4)?)? & 1 != 0 {
                return Some(last as usize + 1);
            }
            last = last.checked_add(1)?;
        }
        None
    }

    /// The string at offset `off` of the string table, up to its NUL (at
    /// most 128 bytes: the names looked for are shorter).
    fn name(&self, d: &Dynamic, off: usize) -> Option<&[u8]> {
        let len = d.strsz.checked_sub(off)?.min(128);
        let b = self.bytes(d.strtab.checked_add(off)?, len)?;
        Some(&b[..b.iter().position(|&c| c == 0).unwrap_or(len)])
    }

    /// Calls `f(index, name, defined)` for each `.dynsym` function or
    /// undefined symbol until it returns false.
    fn for_each_symbol(&self, d: &Dynamic, mut f: impl FnMut(usize, &[u8], bool) -> bool) {
        let Some(n) = self.symbol_count(d) else { return };
        for i in 1..n.min(MAX_SYMBOLS) {
            let Some(sym) = d.symtab.checked_add(i * SYM_BYTES) else { return };
            let (Some(st_name), Some(info)) = (self.u32(sym), self.u32(sym + 4)) else { return };
            let (st_info, st_shndx) = (info as u8, info >> 16);
            let defined = st_shndx != 0;
            if defined && st_info & 0xf != STT_FUNC {
                continue;
            }
            if let Some(name) = self.name(d, st_name as usize) {
                if !f(i, name, defined) {
                    return;
                }
            }
        }
    }

    fn mentions(&self, d: &Dynamic, names: &[&[u8]]) -> Mentions {
        let mut m = Mentions::default();
        // The .dynsym indices of the names defined here (a name may be
        // defined twice, under two versions).
        let mut defined = [0usize; 32];
        let mut n = 0;
        self.for_each_symbol(d, |i, name, is_defined| {
            m.cxx |= name.starts_with(b"_Z");
            if names.contains(&name) {
                if is_defined {
                    m.defines = true;
                    if n < defined.len() {
                        defined[n] = i;
                        n += 1;
                    }
                } else {
                    m.imports = true;
                }
            }
            true
        });
        m.self_bound = m.defines && (d.symbolic || !self.relocates(d, &defined[..n]));
        m
    }

    /// Some dynamic relocation refers to one of the `.dynsym` entries
    /// `symbols` (or the tables cannot be read: then it is assumed).
    fn relocates(&self, d: &Dynamic, symbols: &[usize]) -> bool {
        for &(table, size) in &d.rela {
            for k in 0..(size / RELA_BYTES).min(MAX_SYMBOLS) {
                let Some(info) = table.checked_add(k * RELA_BYTES + 8).and_then(|a| self.u64(a)) else {
                    return true;
                };
                if symbols.contains(&((info >> 32) as usize)) {
                    return true;
                }
            }
        }
        false
    }
}

/// A bound on the symbols scanned in one table (libLLVM has about 40,000
/// dynamic ones, 250,000 static ones).
const MAX_SYMBOLS: usize = 1 << 22;

/// Walks the loader's list of objects (`dl_iterate_phdr`: the main program
/// first, then the `LD_PRELOAD` libraries, then the rest in load order),
/// calling `f(info, image)` until it returns true. The loader's lock is held
/// meanwhile, so no object is unloaded under the reads.
fn for_each_image<F: FnMut(&libc::dl_phdr_info, &Image) -> bool>(mut f: F) {
    unsafe extern "C" fn visit<G: FnMut(&libc::dl_phdr_info, &Image) -> bool>(
        info: *mut libc::dl_phdr_info,
        _size: usize,
        data: *mut c_void,
    ) -> libc::c_int {
        let info = &*info;
        let Some(image) = Image::of(info) else { return 0 };
        (*(data as *mut G))(info, &image) as libc::c_int
    }
    // SAFETY: the callback reads only through `Image`'s bounded reads; `f`
    // outlives the call.
    unsafe { libc::dl_iterate_phdr(Some(visit::<F>), &mut f as *mut F as *mut c_void) };
}

/// Bit `i` is set when `names[i]` is a function defined by an object the
/// loader lists before the one holding `own`: the main program, or an
/// `LD_PRELOAD` library named before ours. Global symbol look-up finds that
/// definition before ours, so every module's reference binds to it. (Not
/// `dlsym`: a look-up that fails allocates its error message.)
pub fn defined_before(own: usize, names: &[&[u8]]) -> u64 {
    let mut found = 0u64;
    for_each_image(|_, image| {
        if image.holds(own) {
            return true;
        }
        if let Some(d) = image.dynamic() {
            image.for_each_symbol(&d, |_, name, defined| {
                if let Some(i) = names.iter().position(|n| *n == name) {
                    if defined {
                        found |= 1 << i;
                    }
                }
                true
            });
        }
        false
    });
    found
}

/// The function `name` as `dlsym(RTLD_NEXT, name)` called from the object
/// holding `own` would find it: its definition in the first object the
/// loader lists after that one (libc's, or another preload's). Not with
/// `dlsym`, which allocates (its error message on a failed look-up; its
/// per-thread state before glibc 2.34): this reads the objects' GNU hash
/// tables. None if no object after ours defines it, or none has such a table.
pub fn next_function(own: usize, name: &[u8]) -> Option<usize> {
    let (mut after_own, mut found) = (false, None);
    for_each_image(|_, image| {
        if !after_own {
            after_own = image.holds(own);
            return false;
        }
        found = image.dynamic().and_then(|d| image.lookup_function(&d, name));
        found.is_some()
    });
    found
}

/// What the dynamic section of the object holding `addr` says about `names`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Mentions {
    /// Some name is defined in its `.dynsym`.
    pub defines: bool,
    /// Some name is imported (an undefined `.dynsym` entry).
    pub imports: bool,
    /// It defines some name and binds its own calls to its definitions:
    /// `DF_SYMBOLIC` (`-Bsymbolic`), or no dynamic relocation refers to any
    /// of them (resolved at link time: `-Bsymbolic-functions`, protected
    /// visibility, or the main program).
    pub self_bound: bool,
    /// Some C++ name (`_Z…`) is defined or imported: the object is C++.
    pub cxx: bool,
}

/// The object holding `addr`, as (its load bias, the loader's count of
/// objects unloaded so far): the pair names it until the next unload.
/// None if no object holds `addr`.
pub fn object_key(addr: usize) -> Option<(usize, u64)> {
    let mut key = None;
    for_each_image(|info, image| {
        if !image.holds(addr) {
            return false;
        }
        key = Some((info.dlpi_addr as usize, info.dlpi_subs));
        true
    });
    key
}

/// `Mentions` for the object holding `addr`; None if no object does.
pub fn mentions(addr: usize, names: &[&[u8]]) -> Option<Mentions> {
    let mut m = None;
    for_each_image(|_, image| {
        if !image.holds(addr) {
            return false;
        }
        m = Some(image.dynamic().map_or(Mentions::default(), |d| image.mentions(&d, names)));
        true
    });
    m
}

/// Copies the `buf.len()` bytes at `addr` when they lie in one readable
/// segment of a loaded object; false otherwise (nothing is read).
pub fn read_loaded(addr: usize, buf: &mut [u8]) -> bool {
    let mut ok = false;
    for_each_image(|_, image| match image.bytes(addr, buf.len()) {
        Some(b) => {
            buf.copy_from_slice(b);
            ok = true;
            true
        }
        None => false,
    });
    ok
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

extern "C" {
    /// symver.c: dladdr@GLIBC_2.2.5 (the default version is 2.34's).
    fn pooldbg_sys_dladdr(addr: *const c_void, info: *mut libc::Dl_info) -> libc::c_int;
}

/// The object and symbol containing `addr`, or None if no loaded object does.
pub fn lookup(addr: usize) -> Option<Symbol> {
    // SAFETY: dladdr fills a plain struct; the strings it returns belong to
    // the loader and live as long as the module is loaded.
    unsafe {
        let mut info: libc::Dl_info = core::mem::zeroed();
        if pooldbg_sys_dladdr(addr as *const c_void, &mut info) == 0 {
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
    let page = PAGE;
    // SAFETY: our own ELF header and program headers, mapped by the loader
    // in our first (readable) page.
    let Some(table) = (unsafe { table_at(me.base, me.base + page) }) else { return };
    for ph in table.iter().filter(|ph| ph.p_type == PT_LOAD) {
        let start = (me.base + ph.vaddr as usize) & !(page - 1);
        let end = (me.base + (ph.vaddr + ph.memsz) as usize).next_multiple_of(page);
        f(start, end, ph.flags);
    }
}

// ---- module paths and build-ids, for frames that survive the trip ----

const PATH_BYTES: usize = 1024;

/// Start-up's view of where the program is: its executable's absolute path
/// (/proc/self/exe) and the working directory, for naming modules the
/// loader knows by a relative path (the main program is known by argv[0]).
struct Paths {
    exe: [u8; PATH_BYTES],
    exe_len: usize,
    cwd: [u8; PATH_BYTES],
    cwd_len: usize,
    /// The main program's load address.
    main_base: usize,
}

static PATHS: Global<Paths> =
    Global::new(Paths { exe: [0; PATH_BYTES], exe_len: 0, cwd: [0; PATH_BYTES], cwd_len: 0, main_base: usize::MAX });

/// Records the executable's path, the working directory and the main
/// program's load address.
///
/// # Safety
/// Start-up only (writes a `Global`).
pub unsafe fn remember_paths() {
    let p = PATHS.init_mut();
    let n = libc::readlink(c"/proc/self/exe".as_ptr(), p.exe.as_mut_ptr() as *mut libc::c_char, PATH_BYTES);
    p.exe_len = if n > 0 && (n as usize) < PATH_BYTES { n as usize } else { 0 };
    if !libc::getcwd(p.cwd.as_mut_ptr() as *mut libc::c_char, PATH_BYTES).is_null() {
        p.cwd_len = p.cwd.iter().position(|&c| c == 0).unwrap_or(0);
    }
    if let Some(t) = main_program_table() {
        let phdr_vaddr = t.iter().find(|h| h.p_type == libc::PT_PHDR).map(|h| h.vaddr as usize);
        let first_load = t.iter().filter(|h| h.p_type == libc::PT_LOAD).map(|h| h.vaddr as usize).min();
        if let (Some(v), Some(load)) = (phdr_vaddr, first_load) {
            p.main_base = t.addr().wrapping_sub(v).wrapping_add(load & !(PAGE - 1));
        }
    }
}

/// A module's path as reports print it: absolute. The main program (which
/// the loader names by argv[0]) by its executable's path; another relative
/// name joined to the directory the program started in.
pub struct ModulePath<'a>(pub &'a Symbol);

impl core::fmt::Display for ModulePath<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (sym, p) = (self.0, PATHS.get());
        let show = |b: &[u8], f: &mut core::fmt::Formatter<'_>| f.write_str(core::str::from_utf8(b).unwrap_or("??"));
        if sym.base == p.main_base && p.exe_len > 0 {
            return show(&p.exe[..p.exe_len], f);
        }
        if sym.module.first() != Some(&b'/') && !sym.module.is_empty() && p.cwd_len > 0 && sym.module != b"??" {
            show(&p.cwd[..p.cwd_len], f)?;
            f.write_str("/")?;
            return show(sym.module.strip_prefix(b"./").unwrap_or(sym.module), f);
        }
        show(sym.module, f)
    }
}

/// The GNU build-id of the object loaded at `base` (its NT_GNU_BUILD_ID
/// note), read from its mapped headers; None if it has none.
pub fn build_id(base: usize) -> Option<&'static [u8]> {
    // SAFETY: an object's first page holds its ELF header and program
    // headers, mapped readable for as long as it is loaded.
    let t = unsafe { table_at(base, base + PAGE)? };
    let first_load = t.iter().filter(|h| h.p_type == libc::PT_LOAD).map(|h| h.vaddr as usize).min()?;
    let bias = base.wrapping_sub(first_load & !(PAGE - 1));
    for h in t.iter().filter(|h| h.p_type == libc::PT_NOTE) {
        let (mut a, end) = (bias.wrapping_add(h.vaddr as usize), bias.wrapping_add((h.vaddr + h.filesz) as usize));
        while a + 12 <= end {
            // SAFETY: the note segment is mapped (PT_NOTE lies in a PT_LOAD).
            let (namesz, descsz, kind) = unsafe { (read_u32(a) as usize, read_u32(a + 4) as usize, read_u32(a + 8)) };
            let name = a + 12;
            let desc = name + namesz.next_multiple_of(4);
            if desc + descsz > end {
                break;
            }
            // SAFETY: as above, inside the note.
            if kind == 3 && namesz == 4 && unsafe { core::slice::from_raw_parts(name as *const u8, 4) } == b"GNU\0" {
                // SAFETY: as above.
                return Some(unsafe { core::slice::from_raw_parts(desc as *const u8, descsz) });
            }
            a = desc + descsz.next_multiple_of(4);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the test binary's own dlsym says `_dl_find_object` is (0 before glibc 2.35).
    fn dlsym_find_object() -> usize {
        // SAFETY: a NUL-terminated name; the test binary may allocate.
        unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"_dl_find_object".as_ptr()) as usize }
    }

    #[test]
    fn resolves_the_same_function_as_dlsym() {
        resolve_find_object();
        assert_eq!(DL_FIND_OBJECT.load(Relaxed), dlsym_find_object());
    }

    #[test]
    fn next_function_is_what_dlsym_rtld_next_finds() {
        let me = next_function_is_what_dlsym_rtld_next_finds as *const () as usize;
        // SAFETY: a NUL-terminated name; the test binary may allocate.
        let next = unsafe { libc::dlsym(libc::RTLD_NEXT, c"pthread_create".as_ptr()) } as usize;
        assert_ne!(next, 0);
        assert_eq!(next_function(me, b"pthread_create"), Some(next));
        assert_eq!(next_function(me, b"pooldbg_no_such_name"), None);
    }

    #[test]
    fn definitions_before_an_object_are_found() {
        // The loader's list: this program, its libraries, ld.so last. Before
        // ld.so, libc defines malloc and write; nothing defines the third.
        // SAFETY: a NUL-terminated name; the test binary may allocate.
        let ld_so = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"__tls_get_addr".as_ptr()) } as usize;
        assert_ne!(ld_so, 0);
        assert_eq!(defined_before(ld_so, &[b"malloc", b"write", b"pooldbg_no_such_name"]), 0b11);
        // Nothing is listed before the program itself.
        let me = definitions_before_an_object_are_found as *const () as usize;
        assert_eq!(defined_before(me, &[b"malloc", b"write"]), 0);
    }

    #[test]
    fn what_an_object_mentions() {
        let me = what_an_object_mentions as *const () as usize;
        // This program calls malloc from libc: an import, nothing defined.
        let m = mentions(me, &[b"malloc"]).unwrap();
        assert!(m.imports && !m.defines && !m.self_bound, "{m:?}");
        // libc defines malloc and lets it be interposed: its own calls go
        // through relocations.
        let m = mentions(libc::write as *const () as usize, &[b"malloc"]).unwrap();
        assert!(m.defines && !m.self_bound && !m.cxx, "{m:?}");
        assert!(mentions(16, &[b"malloc"]).is_none());
    }

    #[test]
    fn loaded_bytes_are_read_and_holes_refused() {
        let f = libc::write as *const () as usize;
        let mut buf = [0u8; 8];
        assert!(read_loaded(f, &mut buf));
        // SAFETY: libc's text is mapped readable.
        assert_eq!(buf, unsafe { *(f as *const [u8; 8]) });
        assert!(!read_loaded(16, &mut buf));
    }

    #[test]
    fn iteration_agrees_with_dl_find_object() {
        resolve_find_object();
        if DL_FIND_OBJECT.load(Relaxed) == 0 {
            return; // glibc < 2.35: nothing to compare with
        }
        extern "C" {
            fn _Unwind_FindEnclosingFunction(pc: *mut c_void) -> *mut c_void;
        }
        let addrs = [
            iteration_agrees_with_dl_find_object as *const () as usize, // the main program
            libc::write as *const () as usize,                          // libc
            _Unwind_FindEnclosingFunction as *const () as usize,        // libgcc_s
            &DL_FIND_OBJECT as *const AtomicUsize as usize,             // data, not text
        ];
        for addr in addrs {
            let (a, b) = (find_object(addr).unwrap(), find_object_by_iteration(addr).unwrap());
            assert_eq!((a.map_start, a.map_end, a.eh_frame), (b.map_start, b.map_end, b.eh_frame), "{addr:#x}");
            assert!(a.eh_frame != 0);
        }
        for addr in [16usize, &addrs as *const _ as usize] {
            assert!(find_object(addr).is_none() && find_object_by_iteration(addr).is_none(), "{addr:#x}");
        }
    }
}

//! How many bytes an x86-64 instruction accesses in memory: enough decoding
//! to say "WRITE of size 4" for the instructions compilers and libc string
//! functions use (mov, ALU, movzx/movsx, SSE/AVX/AVX-512 moves and compares,
//! string instructions). Pure; None when unsure, and the report says so.

/// Access size of the instruction starting at `code[0]`.
pub fn access_size(code: &[u8]) -> Option<usize> {
    let mut i = 0;
    let mut opsize16 = false;
    let mut rep_f3 = false;
    let mut rep_f2 = false;
    // Legacy prefixes.
    loop {
        match *code.get(i)? {
            0x66 => opsize16 = true,
            0xf3 => rep_f3 = true,
            0xf2 => rep_f2 = true,
            0x67 | 0xf0 | 0x2e | 0x3e | 0x26 | 0x36 | 0x64 | 0x65 => {}
            _ => break,
        }
        i += 1;
    }
    let mut rex_w = false;
    let b = *code.get(i)?;
    if (0x40..=0x4f).contains(&b) {
        rex_w = b & 8 != 0;
        i += 1;
    }
    let op_size = if rex_w {
        8
    } else if opsize16 {
        2
    } else {
        4
    };
    let op = *code.get(i)?;
    match op {
        0xc5 => {
            // Two-byte VEX: R vvvv L pp; map 0F.
            let p = *code.get(i + 1)?;
            let l = p & 4 != 0;
            vex_size(*code.get(i + 2)?, l, p & 3, false)
        }
        0xc4 => {
            // Three-byte VEX: RXB mmmmm, W vvvv L pp.
            let p2 = *code.get(i + 2)?;
            let map = *code.get(i + 1)? & 0x1f;
            let op = *code.get(i + 3)?;
            if map == 1 {
                vex_size(op, p2 & 4 != 0, p2 & 3, p2 & 0x80 != 0)
            } else {
                Some(if p2 & 4 != 0 { 32 } else { 16 })
            }
        }
        0x62 => {
            // EVEX: the vector length is L'L in the third payload byte.
            let p2 = *code.get(i + 3)?;
            Some(match (p2 >> 5) & 3 {
                0 => 16,
                1 => 32,
                _ => 64,
            })
        }
        0x0f => two_byte(*code.get(i + 1)?, op_size, opsize16, rep_f3, rep_f2, rex_w),
        // ALU r/m forms: even opcodes are byte-sized.
        _ if op < 0x40 && op & 7 < 4 => Some(if op & 1 == 0 { 1 } else { op_size }),
        0x88 | 0x8a | 0xc6 | 0x80 | 0x82 | 0x84 | 0x86 | 0xf6 | 0xfe | 0xc0 | 0xd0 | 0xd2 => Some(1),
        0x89 | 0x8b | 0xc7 | 0x81 | 0x83 | 0x85 | 0x87 | 0xf7 | 0xc1 | 0xd1 | 0xd3 => Some(op_size),
        0x8f => Some(8), // pop r/m
        // inc/dec r/m, or call/jmp/push through memory (8 bytes).
        0xff => Some(match code.get(i + 1).map(|m| (m >> 3) & 7) {
            Some(2 | 4 | 6) => 8,
            _ => op_size,
        }),
        // String instructions (movs, cmps, stos, lods, scas): per element.
        0xa4 | 0xa6 | 0xaa | 0xac | 0xae => Some(1),
        0xa5 | 0xa7 | 0xab | 0xad | 0xaf => Some(op_size),
        _ => None,
    }
}

/// VEX-encoded map-0F instructions: scalar moves and movd/movq have their own
/// sizes; everything else moves or compares a whole vector.
fn vex_size(op: u8, l: bool, pp: u8, w: bool) -> Option<usize> {
    let vector = if l { 32 } else { 16 };
    Some(match (op, pp) {
        (0x10 | 0x11, 2) => 4, // vmovss
        (0x10 | 0x11, 3) => 8, // vmovsd
        (0x6e | 0x7e, 1) => {
            if w {
                8
            } else {
                4
            }
        }
        (0x7e, 2) | (0xd6, 1) => 8,
        (0x12 | 0x13 | 0x16 | 0x17, _) => 8,
        _ => vector,
    })
}

fn two_byte(op: u8, op_size: usize, p66: bool, f3: bool, f2: bool, w: bool) -> Option<usize> {
    Some(match op {
        0xb6 | 0xbe | 0xb0 | 0xc0 => 1,
        0xb7 | 0xbf => 2,
        0xb1 | 0xc1 | 0x40..=0x4f | 0xaf => op_size,
        0x10 | 0x11 if f3 => 4,
        0x10 | 0x11 if f2 => 8,
        0x10 | 0x11 | 0x28 | 0x29 | 0x2b | 0xe7 => 16,
        0x12 | 0x13 | 0x16 | 0x17 | 0xd6 => 8,
        0x6f | 0x7f => {
            if p66 || f3 {
                16
            } else {
                8
            }
        }
        0x6e | 0x7e if f3 => 8,
        0x6e | 0x7e => {
            if w {
                8
            } else {
                4
            }
        }
        0x38 | 0x3a => 16,
        _ if p66 => 16,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::access_size;

    #[test]
    fn common_moves() {
        assert_eq!(access_size(&[0xc6, 0x00, 0x01]), Some(1)); // movb $1,(%rax)
        assert_eq!(access_size(&[0x88, 0x10]), Some(1)); // mov %dl,(%rax)
        assert_eq!(access_size(&[0x89, 0x10]), Some(4)); // mov %edx,(%rax)
        assert_eq!(access_size(&[0x48, 0x89, 0x10]), Some(8)); // mov %rdx,(%rax)
        assert_eq!(access_size(&[0x66, 0x89, 0x10]), Some(2)); // mov %dx,(%rax)
        assert_eq!(access_size(&[0x8b, 0x00]), Some(4)); // mov (%rax),%eax
        assert_eq!(access_size(&[0x0f, 0xb6, 0x00]), Some(1)); // movzbl (%rax),%eax
        assert_eq!(access_size(&[0x48, 0x0f, 0xbf, 0x00]), Some(2)); // movswq
        assert_eq!(access_size(&[0xc7, 0x00, 1, 0, 0, 0]), Some(4)); // movl $1,(%rax)
        assert_eq!(access_size(&[0x80, 0x38, 0x00]), Some(1)); // cmpb $0,(%rax)
        assert_eq!(access_size(&[0x83, 0x00, 0x01]), Some(4)); // addl $1,(%rax)
        assert_eq!(access_size(&[0x01, 0x10]), Some(4)); // add %edx,(%rax)
        assert_eq!(access_size(&[0x00, 0x10]), Some(1)); // add %dl,(%rax)
    }

    #[test]
    fn vector_and_string_moves() {
        assert_eq!(access_size(&[0x0f, 0x11, 0x00]), Some(16)); // movups
        assert_eq!(access_size(&[0xf2, 0x0f, 0x11, 0x00]), Some(8)); // movsd
        assert_eq!(access_size(&[0xf3, 0x0f, 0x6f, 0x00]), Some(16)); // movdqu
        assert_eq!(access_size(&[0xc5, 0xfe, 0x7f, 0x00]), Some(32)); // vmovdqu %ymm0,(%rax)
        assert_eq!(access_size(&[0xc5, 0xfa, 0x6f, 0x00]), Some(16)); // vmovdqu (%rax),%xmm0
        assert_eq!(access_size(&[0xc5, 0xfd, 0x74, 0x0f]), Some(32)); // vpcmpeqb (%rdi),%ymm0,%ymm1
        assert_eq!(access_size(&[0x62, 0xe1, 0xfe, 0x28, 0x6f, 0x06]), Some(32)); // vmovdqu64 (%rsi),%ymm16
        assert_eq!(access_size(&[0xf3, 0xa4]), Some(1)); // rep movsb
        assert_eq!(access_size(&[0xf3, 0x48, 0xab]), Some(8)); // rep stosq
    }

    #[test]
    fn unknown_or_truncated_is_none() {
        assert_eq!(access_size(&[]), None);
        assert_eq!(access_size(&[0x66]), None);
        assert_eq!(access_size(&[0x0f]), None);
        assert_eq!(access_size(&[0xe8, 0, 0, 0, 0]), None); // call: not a data access we size
    }
}

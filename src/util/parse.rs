//! Numbers from bytes (option values, /proc files): no heap, no panics.

/// Decimal, or hexadecimal after `0x`; None when empty, malformed or too large.
pub fn parse_u64(v: &[u8]) -> Option<u64> {
    let (digits, radix) = match v {
        [b'0', b'x' | b'X', rest @ ..] => (rest, 16),
        _ => (v, 10),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &c in digits {
        let d = (c as char).to_digit(radix)? as u64;
        n = n.checked_mul(radix as u64)?.checked_add(d)?;
    }
    Some(n)
}

/// The leading decimal digits of `v` as a number (`"65530\n"` → 65530).
pub fn leading_u64(v: &[u8]) -> Option<u64> {
    let end = v.iter().position(|c| !c.is_ascii_digit()).unwrap_or(v.len());
    parse_u64(&v[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_hex_and_garbage() {
        assert_eq!(parse_u64(b"42"), Some(42));
        assert_eq!(parse_u64(b"0x1F"), Some(31));
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"0x"), None);
        assert_eq!(parse_u64(b"12a"), None);
        assert_eq!(parse_u64(b"99999999999999999999999"), None);
        assert_eq!(leading_u64(b"65530\n"), Some(65530));
        assert_eq!(leading_u64(b"\n"), None);
    }
}

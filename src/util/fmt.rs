//! A fixed-capacity text buffer for messages: formatting never allocates.
//!
//! `core::fmt` formats into it without touching the heap; text past the
//! capacity is dropped and the line is marked truncated, never overrun.

use core::fmt;

pub struct Line<const N: usize> {
    buf: [u8; N],
    len: usize,
    truncated: bool,
}

impl<const N: usize> Line<N> {
    pub const fn new() -> Self {
        Line { buf: [0; N], len: 0, truncated: false }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Drops the last byte (to make room for a newline in a full line).
    pub fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
    }

    pub fn push_bytes(&mut self, s: &[u8]) {
        let room = N - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
        if n < s.len() {
            self.truncated = true;
        }
    }

    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

impl<const N: usize> fmt::Write for Line<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_bytes(s.as_bytes());
        Ok(())
    }
}

/// Displays a byte string (e.g. an option key from the environment) lossily.
pub struct Bytes<'a>(pub &'a [u8]);

impl fmt::Display for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.0 {
            let c = if (0x20..0x7f).contains(&b) { b as char } else { '?' };
            fmt::Write::write_char(f, c)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn formats_and_truncates_without_overrun() {
        let mut l: Line<8> = Line::new();
        write!(l, "{:#x}", 0xabcdu32).unwrap();
        assert_eq!(l.as_bytes(), b"0xabcd");
        write!(l, "{}", 12345).unwrap();
        assert_eq!(l.as_bytes(), b"0xabcd12");
        assert!(l.truncated());
    }

    #[test]
    fn bytes_are_shown_printable() {
        let mut l: Line<16> = Line::new();
        write!(l, "{}", Bytes(b"a\x01b")).unwrap();
        assert_eq!(l.as_bytes(), b"a?b");
    }
}

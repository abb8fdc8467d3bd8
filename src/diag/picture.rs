//! The block drawn on one line under a fault's location, with a caret under
//! the faulting byte: what ASan's shadow map shows for "2 bytes past the
//! end", in words a reader takes in at a glance.
//!
//! ```text
//!   [hdr][fffffffff freed 32-byte block fffffffff][guard page]
//!                  ^ 5 bytes inside
//!   [hdr][============ 13-byte block =============][slack 3][guard page]
//!                                                              ^ 3 bytes past the end
//! ```
//!
//! Pure text: no kernel, no allocation (fixed-size lines).

use core::fmt::Write;

use crate::util::fmt::Line;

/// Width of the block's segment, brackets included.
const BLOCK: usize = 44;

/// Where a block's bytes lie and what follows them.
pub struct Shape {
    pub user: usize,
    pub size: usize,
    /// End of the block's accessible bytes (its slack ends here); past it,
    /// a trapped page, or (`dense`) the next slot's canary.
    pub run_end: usize,
    pub freed: bool,
    pub dense: bool,
}

/// The two lines: the block, and the caret under `addr` with what it is.
pub fn draw(addr: usize, s: &Shape) -> (Line<160>, Line<160>) {
    let mut top: Line<160> = Line::new();
    let end = s.user + s.size;
    let slack = s.run_end.saturating_sub(end);
    let _ = top.write_str("  [hdr]");
    let block_col = top.as_bytes().len();
    let fill = if s.freed { 'f' } else { '=' };
    let mut label: Line<48> = Line::new();
    let _ = write!(label, " {}{}-byte block ", if s.freed { "freed " } else { "" }, s.size);
    let inner = BLOCK - 2;
    let label_len = label.as_bytes().len().min(inner);
    let left = (inner - label_len) / 2;
    let _ = top.write_char('[');
    for _ in 0..left {
        let _ = top.write_char(fill);
    }
    top.push_bytes(&label.as_bytes()[..label_len]);
    for _ in 0..inner - label_len - left {
        let _ = top.write_char(fill);
    }
    let _ = top.write_char(']');
    let slack_col = top.as_bytes().len();
    if slack > 0 {
        let _ = write!(top, "[slack {}]", slack);
    }
    let after_col = top.as_bytes().len();
    let _ = top.write_str(if s.dense { "[next slot]" } else { "[guard page]" });

    let (col, what) = if addr < s.user {
        (3, Where::Before(s.user - addr))
    } else if addr < end {
        (block_col + 1 + (addr - s.user) * (inner - 1) / (s.size - 1).max(1), Where::Inside(addr - s.user))
    } else if addr < s.run_end {
        (slack_col + 1 + (addr - end).min(slack.saturating_sub(1)) * 7 / slack.max(1), Where::Past(addr - end))
    } else {
        (after_col + 1, Where::Past(addr - end))
    };
    let mut caret: Line<160> = Line::new();
    for _ in 0..col {
        let _ = caret.write_char(' ');
    }
    let _ = match what {
        Where::Before(n) => write!(caret, "^ {} bytes before the block", n),
        Where::Inside(n) => write!(caret, "^ {} bytes inside", n),
        Where::Past(0) => write!(caret, "^ just past the end"),
        Where::Past(n) => write!(caret, "^ {} bytes past the end", n),
    };
    (top, caret)
}

enum Where {
    Before(usize),
    Inside(usize),
    Past(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(l: &Line<160>) -> &str {
        core::str::from_utf8(l.as_bytes()).unwrap()
    }

    fn caret_col(l: &Line<160>) -> usize {
        text(l).find('^').unwrap()
    }

    #[test]
    fn the_caret_sits_under_the_faulting_byte() {
        let live = Shape { user: 0x1000, size: 13, run_end: 0x1010, freed: false, dense: false };
        let (top, caret) = draw(0x1010, &live);
        assert_eq!(text(&top), "  [hdr][============= 13-byte block ==============][slack 3][guard page]");
        assert_eq!(&text(&top)[caret_col(&caret)..][..5], "guard", "past the slack: the guard page");
        assert!(text(&caret).ends_with("^ 3 bytes past the end"));
        let (top, caret) = draw(0x100d, &live);
        assert_eq!(&text(&top)[caret_col(&caret)..][..5], "slack");
        assert!(text(&caret).ends_with("^ just past the end"));
        let (top, caret) = draw(0x0ff8, &live);
        assert_eq!(&text(&top)[caret_col(&caret)..][..3], "hdr");
        assert!(text(&caret).ends_with("^ 8 bytes before the block"));
    }

    #[test]
    fn a_freed_block_is_drawn_as_freed_and_the_caret_scales() {
        let freed = Shape { user: 0x2000, size: 32, run_end: 0x2020, freed: true, dense: false };
        let (top, first) = draw(0x2000, &freed);
        assert!(text(&top).contains(" freed 32-byte block f"), "{}", text(&top));
        assert!(text(&top).ends_with("f][guard page]"));
        let (_, last) = draw(0x201f, &freed);
        let (block_start, block_end) = (text(&top).find("][f").unwrap() + 2, text(&top).find("][guard").unwrap());
        assert_eq!(caret_col(&first), block_start);
        assert!(caret_col(&last) < block_end && caret_col(&last) > block_end - 3);
        assert!(text(&last).ends_with("^ 31 bytes inside"));
        let dense = Shape { dense: true, ..freed };
        assert!(text(&draw(0x2020, &dense).0).ends_with("[next slot]"));
    }
}

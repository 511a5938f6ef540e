//! The `tail` container: `aws logs tail` output. Detailed format
//! `2025-03-14T09:12:03.412000+00:00 <stream> <message>` and short format
//! `2025-03-14T09:12:03 <message>`, decided per line; lines without either prefix continue
//! the previous event's message, as in `s3-export`. ANSI colour codes (`--color on`, a TTY)
//! are stripped. `tail` has already `rstrip()`ped every message (the REPORT line's trailing
//! tab is gone); nothing here can bring that back.

use std::io::{self, BufRead};

use super::linereader::{LineItem, LineReader};
use super::s3_export::{orphan_line, Pending};
use super::timestamp::{tail_detailed, tail_short};
use super::{Ctx, Frame};

/// `text` without ANSI CSI sequences (`ESC [ params final`).
pub(crate) fn strip_ansi(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == 0x1b && text.get(i + 1) == Some(&b'[') {
            let mut j = i + 2;
            while j < text.len() && (0x20..=0x3f).contains(&text[j]) {
                j += 1;
            }
            if j < text.len() && (0x40..=0x7e).contains(&text[j]) {
                j += 1;
            }
            i = j;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

/// A parsed tail line: time, stream (detailed format only) and message.
fn parse(line: &str) -> Option<(i64, Option<&str>, &str)> {
    let b = line.as_bytes();
    if let Some((t, n)) = tail_detailed(b) {
        if let Some(rest) = line[n..].strip_prefix(' ') {
            return Some(match rest.split_once(' ') {
                Some((stream, msg)) => (t, Some(stream), msg),
                None => (t, Some(rest), ""),
            });
        }
    }
    tail_short(b).map(|t| (t, None, &line[20..]))
}

/// Frames `aws logs tail` output.
pub(crate) fn frame<R: BufRead>(
    r: R,
    ctx: &mut Ctx,
    on: &mut dyn FnMut(Frame<'_>),
) -> io::Result<()> {
    let mut lr = LineReader::new(r, ctx.file);
    let group = ctx.path_group.clone();
    let mut pending = Pending::default();
    let mut plain = String::new();
    let result = loop {
        match lr.next_item() {
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
            Ok(Some(LineItem::Reject(rej))) => on(Frame::Reject(rej)),
            Ok(Some(LineItem::Line(line))) => {
                let mut text = line.text;
                if memchr::memchr(0x1b, text.as_bytes()).is_some() {
                    // Removing ASCII escape sequences keeps the text UTF-8.
                    plain.clear();
                    plain.push_str(std::str::from_utf8(&strip_ansi(text.as_bytes())).unwrap_or(""));
                    text = &plain;
                }
                match parse(text) {
                    Some((t, stream, msg)) => {
                        pending.flush(ctx, group.as_deref(), on);
                        pending.start(Some(t), stream, msg, line.origin);
                    }
                    None if pending.is_active() => pending.push(text),
                    None => on(Frame::Reject(orphan_line(line.origin, text, "tail"))),
                }
            }
        }
    };
    pending.flush(ctx, group.as_deref(), on);
    ctx.lines = lr.lines();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_colour_codes() {
        let s = b"\x1b[32m2025-03-14T09:12:03.412000+00:00\x1b[0m \x1b[36ms\x1b[0m m\x1b[1;31mx";
        assert_eq!(strip_ansi(s), b"2025-03-14T09:12:03.412000+00:00 s mx");
        assert_eq!(strip_ansi(b"\x1b["), b"");
        assert_eq!(strip_ansi(b"a\x1bb"), b"a\x1bb");
    }

    #[test]
    fn parses_both_formats() {
        assert_eq!(
            parse("2025-10-14T14:06:20.051000+00:00 2025/10/14/[$LATEST]ab START x"),
            Some((1_760_450_780_051, Some("2025/10/14/[$LATEST]ab"), "START x"))
        );
        assert_eq!(
            parse("2025-10-14T14:06:20 START x"),
            Some((1_760_450_780_000, None, "START x"))
        );
        assert_eq!(parse("  at Runtime.handler (/var/task/index.js:3:9)"), None);
    }
}

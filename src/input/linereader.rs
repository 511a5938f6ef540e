//! The bounded line reader every line-based container uses: `\n`-terminated lines from a
//! `BufRead`, found with memchr, `\r\n` stripped, a UTF-8 BOM at the start of the stream
//! dropped, each line checked for UTF-8. A line is borrowed straight from the reader's buffer
//! when it lies inside it, else assembled in one reusable buffer that never grows past
//! [`MAX_LINE_BYTES`]: a longer line is discarded as it streams past and reported once
//! (`line_too_long`), and reading goes on. It knows nothing about timestamps or containers;
//! binary-file and gzip checks happen before it (see `mod.rs`).

use std::io::{self, BufRead};

use memchr::memchr;

use crate::model::{excerpt, Origin, Reject, RejectReason};

/// The longest line (or assembled multi-line record) the input stage keeps: 8 MiB.
pub const MAX_LINE_BYTES: usize = 8 << 20;

/// One physical line, without its terminator.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    /// The text.
    pub text: &'a str,
    /// Where it starts (line number and byte offset of its first byte).
    pub origin: Origin,
}

/// What the reader yields: a usable line or the reason one was not usable.
#[derive(Debug)]
pub(crate) enum LineItem<'a> {
    /// A UTF-8 line within the limit.
    Line(Line<'a>),
    /// A line that is too long or not UTF-8; it has been skipped.
    Reject(Reject),
}

/// Reads bounded lines from `R`; see the module doc.
pub(crate) struct LineReader<R> {
    inner: R,
    file: u32,
    /// The assembled line when it spans buffer refills (never over the cap).
    buf: Vec<u8>,
    /// Bytes of `inner`'s buffer lent out by the last call, consumed on the next.
    pending_consume: usize,
    /// Number of lines started so far (the 1-based number of the last line returned).
    line_no: u64,
    /// Byte offset of the next line's first byte.
    offset: u64,
}

impl<R: BufRead> LineReader<R> {
    /// A reader over `inner`, whose first byte is offset 0, for input file `file`.
    pub(crate) fn new(inner: R, file: u32) -> Self {
        LineReader {
            inner,
            file,
            buf: Vec::new(),
            pending_consume: 0,
            line_no: 0,
            offset: 0,
        }
    }

    /// Starts the numbering mid-file: the first line read is line `line0 + 1`, at byte
    /// `offset0` (a chunk of a file read in parallel).
    pub(crate) fn at(mut self, line0: u64, offset0: u64) -> Self {
        self.line_no = line0;
        self.offset = offset0;
        self
    }

    /// Physical lines read so far.
    pub(crate) fn lines(&self) -> u64 {
        self.line_no
    }

    /// The next line, `None` at the end of the stream. An I/O error (a gzip stream that
    /// ends early, a failing disk) is returned as is; the partial line before it is dropped.
    pub(crate) fn next_item(&mut self) -> io::Result<Option<LineItem<'_>>> {
        if self.pending_consume > 0 {
            self.inner.consume(self.pending_consume);
            self.pending_consume = 0;
        }
        self.buf.clear();
        // Length of the current line seen so far (may exceed what `buf` holds).
        let mut len: u64 = 0;
        // Where the line's terminator was found in the current buffer, if at all.
        let mut fast_end: Option<usize> = None;
        let mut terminated = false;
        loop {
            let avail = match self.inner.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                break;
            }
            match memchr(b'\n', avail) {
                Some(i) => {
                    if len == 0 {
                        fast_end = Some(i);
                    } else {
                        push_capped(&mut self.buf, &avail[..i]);
                        self.inner.consume(i + 1);
                    }
                    len += i as u64;
                    terminated = true;
                    break;
                }
                None => {
                    let n = avail.len();
                    push_capped(&mut self.buf, avail);
                    self.inner.consume(n);
                    len += n as u64;
                }
            }
        }
        if len == 0 && !terminated {
            return Ok(None);
        }
        self.line_no += 1;
        let origin = Origin {
            file: self.file,
            line: self.line_no,
            offset: self.offset,
        };
        self.offset += len + u64::from(terminated);
        let bytes: &[u8] = match fast_end {
            Some(i) => {
                self.pending_consume = i + 1;
                // `fill_buf` on a non-empty buffer returns the same bytes without reading.
                &self.inner.fill_buf()?[..i]
            }
            None => &self.buf,
        };
        if len > MAX_LINE_BYTES as u64 {
            return Ok(Some(LineItem::Reject(Reject {
                origin,
                reason: RejectReason::LineTooLong,
                detail: format!(
                    "line {} is {:.1} MB, over the 8 MiB limit; skipped",
                    origin.line,
                    len as f64 / 1e6
                ),
                excerpt: excerpt(bytes),
            })));
        }
        let mut bytes = bytes;
        let mut skipped = 0u64;
        if origin.offset == 0 {
            if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
                bytes = rest;
                skipped = 3;
            }
        }
        if let [head @ .., b'\r'] = bytes {
            bytes = head;
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Some(LineItem::Line(Line { text, origin }))),
            Err(e) => {
                let bad = origin.offset + skipped + e.valid_up_to() as u64;
                Ok(Some(LineItem::Reject(invalid_utf8(origin, bad, bytes))))
            }
        }
    }
}

/// The reject for a line that is not UTF-8; `at` is the byte offset of the first bad byte.
pub(crate) fn invalid_utf8(origin: Origin, at: u64, bytes: &[u8]) -> Reject {
    Reject {
        origin,
        reason: RejectReason::InvalidUtf8,
        detail: format!(
            "line {} is not UTF-8 (first bad byte at offset {at}); skipped. If the file is in \
             another encoding, convert it with iconv first",
            origin.line
        ),
        excerpt: excerpt(bytes),
    }
}

/// Appends as much of `src` as fits under the cap.
fn push_capped(buf: &mut Vec<u8>, src: &[u8]) {
    let room = (MAX_LINE_BYTES + 1).saturating_sub(buf.len());
    buf.extend_from_slice(&src[..src.len().min(room)]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::testutil::OneByte;
    use std::io::BufReader;

    type Item = Result<(String, u64, u64), (RejectReason, u64, String)>;

    fn collect<R: BufRead>(r: R) -> Vec<Item> {
        let mut lr = LineReader::new(r, 3);
        let mut out = Vec::new();
        while let Some(item) = lr.next_item().unwrap() {
            out.push(match item {
                LineItem::Line(l) => Ok((l.text.to_string(), l.origin.line, l.origin.offset)),
                LineItem::Reject(r) => Err((r.reason, r.origin.line, r.detail)),
            });
        }
        out
    }

    #[test]
    fn lines_crlf_bom_and_last_line() {
        let data = b"\xEF\xBB\xBFa\r\nbb\n\nccc";
        let want = vec![
            Ok(("a".to_string(), 1, 0)),
            Ok(("bb".to_string(), 2, 6)),
            Ok(("".to_string(), 3, 9)),
            Ok(("ccc".to_string(), 4, 10)),
        ];
        assert_eq!(collect(&data[..]), want);
        assert_eq!(collect(BufReader::with_capacity(1, OneByte(data))), want);
        assert_eq!(collect(BufReader::with_capacity(2, &data[..])), want);
    }

    #[test]
    fn empty_and_single_newline() {
        assert!(collect(&b""[..]).is_empty());
        assert_eq!(collect(&b"\n"[..]), vec![Ok((String::new(), 1, 0))]);
    }

    #[test]
    fn invalid_utf8_is_rejected_and_reading_goes_on() {
        let data = b"ok\nbad \xff\xfe here\nfine\n";
        let got = collect(BufReader::with_capacity(4, &data[..]));
        assert_eq!(got[0], Ok(("ok".into(), 1, 0)));
        match &got[1] {
            Err((RejectReason::InvalidUtf8, 2, d)) => assert!(d.contains("offset 7"), "{d}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(got[2], Ok(("fine".into(), 3, 15)));
    }

    #[test]
    fn overlong_line_is_skipped_with_bounded_memory() {
        let mut data = vec![b'x'; 10_000_000];
        data.extend_from_slice(b"\ngood\n");
        let mut lr = LineReader::new(BufReader::with_capacity(64 << 10, &data[..]), 0);
        match lr.next_item().unwrap().unwrap() {
            LineItem::Reject(r) => {
                assert_eq!(r.reason, RejectReason::LineTooLong);
                assert_eq!(r.detail, "line 1 is 10.0 MB, over the 8 MiB limit; skipped");
                assert!(r.excerpt.len() < 300);
            }
            other => panic!("{other:?}"),
        }
        assert!(lr.buf.capacity() <= 2 * MAX_LINE_BYTES);
        match lr.next_item().unwrap().unwrap() {
            LineItem::Line(l) => {
                assert_eq!(l.text, "good");
                assert_eq!((l.origin.line, l.origin.offset), (2, 10_000_001));
            }
            other => panic!("{other:?}"),
        }
        assert!(lr.next_item().unwrap().is_none());
    }

    #[test]
    fn a_line_at_exactly_the_limit_is_kept() {
        let mut data = vec![b'y'; MAX_LINE_BYTES];
        data.push(b'\n');
        let got = collect(BufReader::with_capacity(1 << 16, &data[..]));
        assert!(matches!(&got[0], Ok((s, 1, 0)) if s.len() == MAX_LINE_BYTES));
    }
}

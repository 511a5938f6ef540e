//! A small streaming JSON *splitter* for the JSON containers (cli-json, firehose,
//! insights-json): it walks a `BufRead` byte by byte outside strings and with memchr inside
//! them, tracking string, escape and bracket state, and copies one value at a time into a
//! caller's reusable buffer (or skips it), so that a multi-GB document is never held in
//! memory. It counts lines and byte offsets for origins. It does not validate JSON: the
//! containers parse each copied value with a real parser (serde_json or simd-json), which
//! reports what is malformed.

use std::io::{self, BufRead};

use memchr::{memchr, memchr3};

/// How copying or skipping one value ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The whole value was read (and copied, when asked).
    Complete,
    /// The value was read to its end, but it is longer than the cap: only its first
    /// bytes were copied. The length is given.
    TooLong(u64),
    /// The stream ended inside the value (after this many bytes).
    Eof(u64),
}

/// A position-tracking byte walker over `R`; see the module doc.
pub(crate) struct JsonScanner<R> {
    r: R,
    offset: u64,
    newlines: u64,
    line_start: u64,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

impl<R: BufRead> JsonScanner<R> {
    /// A scanner whose first byte is at `offset` of the decompressed stream (3 after a BOM).
    pub(crate) fn new(r: R, offset: u64) -> Self {
        JsonScanner {
            r,
            offset,
            newlines: 0,
            line_start: offset,
        }
    }

    /// Byte offset of the next byte.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// 1-based line of the next byte.
    pub(crate) fn line(&self) -> u64 {
        self.newlines + 1
    }

    /// Physical lines seen so far (a last line without `\n` counts).
    pub(crate) fn lines(&self) -> u64 {
        self.newlines + u64::from(self.offset > self.line_start)
    }

    fn fill(&mut self) -> io::Result<&[u8]> {
        loop {
            match self.r.fill_buf() {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        self.r.fill_buf()
    }

    /// Skips whitespace and returns the next byte without consuming it; `None` at the end.
    pub(crate) fn peek(&mut self) -> io::Result<Option<u8>> {
        loop {
            let base = self.offset;
            let buf = self.fill()?;
            if buf.is_empty() {
                return Ok(None);
            }
            let mut nl = 0;
            let mut last_nl = None;
            let mut found = None;
            for (i, &b) in buf.iter().enumerate() {
                if b == b'\n' {
                    nl += 1;
                    last_nl = Some(i);
                } else if !is_ws(b) {
                    found = Some((i, b));
                    break;
                }
            }
            let used = found.map_or(buf.len(), |(i, _)| i);
            self.r.consume(used);
            self.offset += used as u64;
            self.newlines += nl;
            if let Some(i) = last_nl {
                self.line_start = base + i as u64 + 1;
            }
            if let Some((_, b)) = found {
                return Ok(Some(b));
            }
        }
    }

    /// Consumes one byte that `peek` returned (never a newline).
    pub(crate) fn bump(&mut self) {
        self.r.consume(1);
        self.offset += 1;
    }

    /// Reads one value starting at the next byte (call `peek` first), copying it into `out`
    /// when given, at most `cap + 1` bytes of it. A value that starts with a delimiter
    /// (`,` `:` `]` `}`) is taken to be that single byte, so callers always make progress.
    pub(crate) fn value(&mut self, mut out: Option<&mut Vec<u8>>, cap: usize) -> io::Result<Scan> {
        let mut depth = 0u32;
        let mut in_str = false;
        let mut esc = false;
        let mut scalar = false;
        let mut started = false;
        let mut len = 0u64;
        loop {
            let base = self.offset;
            let buf = match self.r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok(if scalar && len > 0 {
                    Scan::Complete
                } else {
                    Scan::Eof(len)
                });
            }
            let n = buf.len();
            let mut i = 0;
            let mut done = false;
            let mut nl = 0u64;
            let mut last_nl = None;
            while i < n && !done {
                if esc {
                    esc = false;
                    if buf[i] == b'\n' {
                        nl += 1;
                        last_nl = Some(i);
                    }
                    i += 1;
                } else if in_str {
                    match memchr3(b'"', b'\\', b'\n', &buf[i..]) {
                        None => i = n,
                        Some(k) => {
                            let j = i + k;
                            i = j + 1;
                            match buf[j] {
                                b'"' => {
                                    in_str = false;
                                    done = depth == 0;
                                }
                                b'\\' => esc = true,
                                _ => {
                                    nl += 1;
                                    last_nl = Some(j);
                                }
                            }
                        }
                    }
                } else if scalar {
                    if matches!(buf[i], b',' | b':' | b']' | b'}' | b'{' | b'[' | b'"')
                        || is_ws(buf[i])
                    {
                        done = true;
                    } else {
                        i += 1;
                    }
                } else if !started {
                    started = true;
                    match buf[i] {
                        b'{' | b'[' => depth = 1,
                        b'"' => in_str = true,
                        b',' | b':' | b']' | b'}' => done = true,
                        _ => {
                            scalar = true;
                            continue;
                        }
                    }
                    i += 1;
                } else {
                    let b = buf[i];
                    i += 1;
                    match b {
                        b'"' => in_str = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            done = depth == 0;
                        }
                        b'\n' => {
                            nl += 1;
                            last_nl = Some(i - 1);
                        }
                        _ => {}
                    }
                }
            }
            if let Some(o) = out.as_deref_mut() {
                let room = (cap + 1).saturating_sub(o.len());
                o.extend_from_slice(&buf[..i.min(room)]);
            }
            self.r.consume(i);
            self.offset += i as u64;
            self.newlines += nl;
            if let Some(j) = last_nl {
                self.line_start = base + j as u64 + 1;
            }
            len += i as u64;
            if done {
                return Ok(if len > cap as u64 {
                    Scan::TooLong(len)
                } else {
                    Scan::Complete
                });
            }
        }
    }

    /// Skips to the next line that starts with `first` (used to re-synchronise after a
    /// damaged document) and returns whether one was found.
    pub(crate) fn skip_to_line_starting(&mut self, first: u8) -> io::Result<bool> {
        // Whether the byte before the buffer's start was a newline.
        let mut after_nl = self.offset == self.line_start;
        loop {
            let base = self.offset;
            let buf = self.fill()?;
            if buf.is_empty() {
                return Ok(false);
            }
            if after_nl && buf[0] == first {
                return Ok(true);
            }
            let n = buf.len();
            let mut i = 0;
            let mut hit = None;
            let mut nl = 0;
            let mut last_nl = None;
            while let Some(k) = memchr(b'\n', &buf[i..]) {
                let j = i + k;
                nl += 1;
                last_nl = Some(j);
                i = j + 1;
                if i < n && buf[i] == first {
                    hit = Some(i);
                    break;
                }
            }
            let used = hit.unwrap_or(n);
            after_nl = hit.is_none() && last_nl == Some(n - 1);
            self.r.consume(used);
            self.offset += used as u64;
            self.newlines += nl;
            if let Some(j) = last_nl {
                self.line_start = base + j as u64 + 1;
            }
            if hit.is_some() {
                return Ok(true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::testutil::OneByte;
    use std::io::BufReader;

    fn split(data: &[u8], one_byte: bool) -> Vec<(String, u64, u64, Scan)> {
        let r: Box<dyn BufRead> = if one_byte {
            Box::new(BufReader::with_capacity(1, OneByte(data)))
        } else {
            Box::new(data)
        };
        let mut sc = JsonScanner::new(r, 0);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while let Some(_b) = sc.peek().unwrap() {
            let (line, off) = (sc.line(), sc.offset());
            buf.clear();
            let s = sc.value(Some(&mut buf), 20).unwrap();
            out.push((String::from_utf8_lossy(&buf).into_owned(), line, off, s));
        }
        out
    }

    #[test]
    fn splits_values_with_strings_escapes_and_nesting() {
        let data = b" {\"a\":\"}\\\"{\"}\n[1,{\"b\":[]}] \"x\\\\\" 12,true}";
        for one in [false, true] {
            let got = split(data, one);
            assert_eq!(got[0], ("{\"a\":\"}\\\"{\"}".into(), 1, 1, Scan::Complete));
            assert_eq!(got[1], ("[1,{\"b\":[]}]".into(), 2, 14, Scan::Complete));
            assert_eq!(got[2], ("\"x\\\\\"".into(), 2, 27, Scan::Complete));
            assert_eq!(got[3], ("12".into(), 2, 33, Scan::Complete));
            assert_eq!(got[4], (",".into(), 2, 35, Scan::Complete));
            assert_eq!(got[5], ("true".into(), 2, 36, Scan::Complete));
            assert_eq!(got[6], ("}".into(), 2, 40, Scan::Complete));
            assert_eq!(got.len(), 7);
        }
    }

    #[test]
    fn too_long_and_eof() {
        let got = split(b"{\"k\":\"0123456789012345678901234\"} {\"open\":", false);
        assert_eq!(got[0].3, Scan::TooLong(33));
        assert_eq!(got[0].0.len(), 21);
        assert_eq!(got[1].3, Scan::Eof(8));
    }

    #[test]
    fn resync_to_next_line_starting_with_brace() {
        let data = b"garbage { x\n  {nope\n{\"ok\":1}";
        let mut sc = JsonScanner::new(&data[..], 0);
        assert!(sc.skip_to_line_starting(b'{').unwrap());
        assert_eq!((sc.line(), sc.offset()), (3, 20));
        sc.bump();
        assert!(!sc.skip_to_line_starting(b'{').unwrap());
        assert_eq!(sc.lines(), 3);
    }

    #[test]
    fn line_counting() {
        let mut sc = JsonScanner::new(&b"{}\n{}\n"[..], 0);
        while sc.peek().unwrap().is_some() {
            sc.value(None, 10).unwrap();
        }
        assert_eq!(sc.lines(), 2);
        let mut sc = JsonScanner::new(&b"{}\n{}"[..], 0);
        while sc.peek().unwrap().is_some() {
            sc.value(None, 10).unwrap();
        }
        assert_eq!(sc.lines(), 2);
    }
}

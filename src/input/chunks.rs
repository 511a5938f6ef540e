//! Reading one large plain file on several threads: the file is cut into byte ranges that
//! start on a record boundary, and each range is framed on its own with its line numbers and
//! offsets counted from the file's start, so every event's origin is what reading the whole
//! file would give.
//!
//! Only the containers whose records are lines (`lines`, `s3-export`) of an uncompressed
//! file are cut, and only where a record cannot span lines: an `s3-export` range starts on a
//! line that begins with a timestamp, so a multi-line message stays in one range. Lambda and
//! execution logs are never cut (their events about one invocation or request belong
//! together).

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};

use super::{
    detect, lines, s3_export, ContainerKind, Ctx, Frame, FrameStats, InputError, InputFile,
};
use super::{path_names_stateful_log, SNIFF_BYTES};

/// One byte range of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    /// The container of the whole file.
    pub kind: ContainerKind,
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// Lines before `start`.
    pub line0: u64,
}

/// Whether `line` can start a record of `kind`.
fn starts_record(kind: ContainerKind, line: &[u8]) -> bool {
    match kind {
        // `2025-10-14T14:05:02.118Z message`
        ContainerKind::S3Export => {
            line.len() > 5 && line[..4].iter().all(u8::is_ascii_digit) && line[4] == b'-'
        }
        _ => true,
    }
}

/// The first record start after `from`: just after a newline, on a line that starts a
/// record. `None` when there is none before `limit`.
fn next_boundary(f: &File, kind: ContainerKind, from: u64, limit: u64) -> io::Result<Option<u64>> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; 1 << 20];
    let mut at = from;
    while at < limit {
        let n = f.read_at(&mut buf, at)?;
        if n == 0 {
            return Ok(None);
        }
        for nl in memchr::memchr_iter(b'\n', &buf[..n]) {
            let start = at + nl as u64 + 1;
            if start >= limit {
                return Ok(None);
            }
            let mut peek = [0u8; 32];
            let k = if nl + 1 + 32 <= n {
                peek.copy_from_slice(&buf[nl + 1..nl + 1 + 32]);
                32
            } else {
                f.read_at(&mut peek, start)?
            };
            if k > 0 && starts_record(kind, &peek[..k]) {
                return Ok(Some(start));
            }
        }
        at += n as u64;
    }
    Ok(None)
}

/// Counts the newlines in `[start, end)`.
fn count_lines(path: &std::path::Path, start: u64, end: u64) -> io::Result<u64> {
    let mut f = File::open(path)?;
    f.seek(SeekFrom::Start(start))?;
    let mut r = f.take(end - start);
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            return Ok(n);
        }
        n += memchr::memchr_iter(b'\n', &buf[..k]).count() as u64;
    }
}

/// The container of a file, when its records can be read in independent pieces: from its
/// first bytes `head`, a `lines` or `s3-export` file (detected or `forced`) whose first line
/// is not a Lambda or execution-log line, not binary and without a BOM. Such a file's pieces
/// each start on a record and need nothing read before them (Lambda and execution logs keep
/// state from line to line; a file named as one is refused by its path before it is read).
fn cuttable(head: &[u8], forced: Option<ContainerKind>) -> Option<ContainerKind> {
    if head.is_empty() || memchr::memchr(0, head).is_some() || head.starts_with(b"\xEF\xBB\xBF") {
        return None;
    }
    let kind = forced.unwrap_or_else(|| detect(head));
    if !matches!(kind, ContainerKind::Lines | ContainerKind::S3Export) {
        return None;
    }
    let first = &head[..memchr::memchr(b'\n', head).unwrap_or(head.len())];
    let first = std::str::from_utf8(first).unwrap_or("");
    let msg = match kind {
        ContainerKind::S3Export => first.split_once(' ').map_or(first, |(_, m)| m),
        _ => first,
    };
    if crate::records::authorizer::looks_like_lambda(msg)
        || crate::records::execution::split_line(msg).is_some()
    {
        return None;
    }
    Some(kind)
}

/// Plans the ranges of `file` for `parts` threads, each at least `min_bytes`; an empty plan
/// when the file is not worth cutting or cannot be cut safely (compressed, JSON containers,
/// Lambda or execution logs, too small, unreadable — reading it whole then reports why).
pub fn plan_chunks(
    file: &InputFile,
    forced: Option<ContainerKind>,
    parts: usize,
    min_bytes: u64,
) -> Vec<Chunk> {
    plan(file, forced, parts, min_bytes).unwrap_or_default()
}

fn plan(
    file: &InputFile,
    forced: Option<ContainerKind>,
    parts: usize,
    min_bytes: u64,
) -> io::Result<Vec<Chunk>> {
    let (Some(path), Some(size)) = (&file.path, file.size) else {
        return Ok(Vec::new());
    };
    let parts = parts.min((size / min_bytes.max(1)) as usize);
    if parts < 2 || path_names_stateful_log(&file.display) {
        return Ok(Vec::new());
    }
    let mut f = File::open(path)?;
    let mut head = vec![0u8; SNIFF_BYTES];
    let n = f.read(&mut head)?;
    // Gzip is never cut (it may be read in blocks, see `blocks`).
    if head[..n].starts_with(&[0x1f, 0x8b]) {
        return Ok(Vec::new());
    }
    let Some(kind) = cuttable(&head[..n], forced) else {
        return Ok(Vec::new());
    };
    let mut bounds = vec![0u64];
    for k in 1..parts {
        let target = size * k as u64 / parts as u64;
        let from = target.max(*bounds.last().unwrap_or(&0));
        match next_boundary(&f, kind, from, size)? {
            Some(b) if b > *bounds.last().unwrap_or(&0) => bounds.push(b),
            _ => {}
        }
    }
    bounds.push(size);
    if bounds.len() < 3 {
        return Ok(Vec::new());
    }
    use rayon::prelude::*;
    let counts: Vec<io::Result<u64>> = bounds
        .par_windows(2)
        .map(|w| count_lines(path, w[0], w[1]))
        .collect();
    let mut line0 = 0u64;
    let mut out = Vec::with_capacity(bounds.len() - 1);
    for (w, c) in bounds.windows(2).zip(counts) {
        out.push(Chunk {
            kind,
            start: w[0],
            end: w[1],
            line0,
        });
        line0 += c?;
    }
    Ok(out)
}

/// Frames one range of a file planned by [`plan_chunks`]: events and rejects exactly as
/// [`super::read_file`] gives them for these bytes.
pub fn read_chunk(
    file: &InputFile,
    chunk: &Chunk,
    on: &mut dyn FnMut(Frame<'_>),
) -> Result<FrameStats, InputError> {
    let path = file.path.clone().unwrap_or_default();
    let io_err = |source: io::Error| InputError::Io {
        path: path.clone(),
        source,
    };
    let mut f = File::open(&path).map_err(io_err)?;
    f.seek(SeekFrom::Start(chunk.start)).map_err(io_err)?;
    let len = chunk.end - chunk.start;
    let r = BufReader::with_capacity(256 << 10, crate::interrupt::guard(f.take(len)));
    let mut ctx = Ctx {
        base_line: chunk.line0,
        base_offset: chunk.start,
        ..Ctx::of(file)
    };
    let result = match chunk.kind {
        ContainerKind::S3Export => s3_export::frame(r, &mut ctx, on),
        _ => lines::frame(r, &mut ctx, on),
    };
    let stats = FrameStats {
        container: Some(chunk.kind),
        lines: ctx.lines.saturating_sub(chunk.line0),
        events: ctx.events,
        duplicates: ctx.duplicates,
        bytes_in: len,
        bytes_out: len,
        ..FrameStats::default()
    };
    match result {
        Ok(()) => Ok(stats),
        Err(e) if crate::interrupt::is_interrupt(&e) => Ok(stats),
        Err(e) => Err(io_err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::testutil::{input_at, s3_export_text};
    use crate::model::Origin;

    fn collect(file: &InputFile, chunks: &[Chunk]) -> Vec<(String, Origin)> {
        let mut v = Vec::new();
        for c in chunks {
            read_chunk(file, c, &mut |f| match f {
                Frame::Event(ev) => v.push((ev.message.to_string(), ev.origin)),
                Frame::Reject(r) => v.push((format!("reject {}", r.reason.as_str()), r.origin)),
                Frame::Skip { origin, .. } => v.push(("skip".into(), origin)),
            })
            .unwrap();
        }
        v
    }

    fn whole(file: &InputFile) -> Vec<(String, Origin)> {
        let mut v = Vec::new();
        super::super::read_file(file, None, &mut |f| match f {
            Frame::Event(ev) => v.push((ev.message.to_string(), ev.origin)),
            Frame::Reject(r) => v.push((format!("reject {}", r.reason.as_str()), r.origin)),
            Frame::Skip { origin, .. } => v.push(("skip".into(), origin)),
        })
        .unwrap();
        v
    }

    #[test]
    fn chunks_give_the_events_and_origins_of_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("access.log");
        let mut text = String::new();
        for i in 0..5000 {
            if i % 97 == 0 {
                text.push('\n'); // blank lines count as lines
            }
            text.push_str(&format!(
                r#"{{"requestId":"{i:08}-0000-4000-8000-000000000000","ip":"198.51.100.{}","status":"403"}}"#,
                i % 250
            ));
            text.push_str(if i % 5 == 0 { "\r\n" } else { "\n" });
        }
        text.push_str("last line without newline");
        std::fs::write(&p, &text).unwrap();
        let f = input_at(&p, "exports/aws/apigateway/abc/prod/access.log");
        let chunks = plan_chunks(&f, None, 4, 1);
        assert_eq!(chunks.len(), 4, "{chunks:?}");
        assert_eq!(chunks[0].start, 0);
        assert_eq!(chunks.last().unwrap().end, text.len() as u64);
        assert_eq!(collect(&f, &chunks), whole(&f));
    }

    #[test]
    fn s3_export_chunks_keep_multi_line_messages_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("000000");
        let text = s3_export_text(3000, "  continued line one\n  continued line two\n");
        std::fs::write(&p, &text).unwrap();
        let f = input_at(&p, "exports/aws/apigateway/abc/prod/000000");
        let chunks = plan_chunks(&f, Some(ContainerKind::S3Export), 3, 1);
        assert_eq!(chunks.len(), 3);
        for c in &chunks[1..] {
            let mut fh = File::open(&p).unwrap();
            fh.seek(SeekFrom::Start(c.start)).unwrap();
            let mut b = [0u8; 4];
            fh.read_exact(&mut b).unwrap();
            assert_eq!(&b, b"2025", "chunk starts on a record");
        }
        let mut got = Vec::new();
        for c in &chunks {
            read_chunk(&f, c, &mut |fr| {
                if let Frame::Event(ev) = fr {
                    got.push((ev.message.to_string(), ev.origin));
                }
            })
            .unwrap();
        }
        let mut want = Vec::new();
        super::super::read_file(&f, Some(ContainerKind::S3Export), &mut |fr| {
            if let Frame::Event(ev) = fr {
                want.push((ev.message.to_string(), ev.origin));
            }
        })
        .unwrap();
        assert_eq!(got.len(), 3000);
        assert_eq!(got, want);
    }

    #[test]
    fn lambda_gzip_and_small_files_are_not_cut() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.log");
        let mut text = String::new();
        for i in 0..2000 {
            text.push_str(&format!(
                "START RequestId: {i:08}-aaaa-4bbb-8ccc-000000000000 Version: $LATEST\n"
            ));
        }
        std::fs::write(&p, &text).unwrap();
        assert!(plan_chunks(&input_at(&p, "x/f.log"), None, 4, 1).is_empty());
        assert!(plan_chunks(&input_at(&p, "aws/lambda/fn/f.log"), None, 4, 1).is_empty());
        std::fs::write(&p, "{\"requestId\":\"a\"}\n".repeat(10)).unwrap();
        assert!(plan_chunks(&input_at(&p, "x/access.log"), None, 4, 1 << 20).is_empty());
        let mut gz = vec![0x1f, 0x8b];
        gz.extend(std::iter::repeat_n(b'a', 4096));
        std::fs::write(&p, &gz).unwrap();
        assert!(plan_chunks(&input_at(&p, "x/access.log.gz"), None, 4, 1).is_empty());
    }
}

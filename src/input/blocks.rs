//! Reading one large file that cannot be cut on several threads: a gzip stream cannot be
//! entered in the middle, and a JSON container (`cli-json`, Firehose, Insights) has no line
//! where a record surely starts, so neither can be cut like a plain line file
//! ([`super::chunks`]). Instead one thread decompresses and frames the file exactly as
//! [`read_file`] does, and hands the frames over in blocks of about [`BLOCK_BYTES`] of
//! messages, which the caller may handle on other threads when the file's records need
//! nothing from the records before them (an access log; a Lambda or execution log keeps
//! state from line to line, and its blocks are handled in order by one reader).
//!
//! The blocks are cut at frame boundaries by the bytes of their messages alone, so what a
//! block holds does not depend on the thread count; every frame keeps the origin the whole
//! file's reading gives it, and the frames of all blocks, in order, are the frames of
//! [`read_file`] (rejects and skips included).

use std::fs::File;

use super::{
    decompress, path_names_stateful_log, read_file, ContainerKind, Frame, FrameStats, InputError,
    InputFile, SNIFF_BYTES,
};
use crate::model::{Event, Origin, Reject};

/// Message bytes after which a block is handed over (small in unit tests, so that the
/// sample data makes many).
pub const BLOCK_BYTES: usize = if cfg!(test) { 16 << 10 } else { 4 << 20 };

/// A string of the block: a byte range of its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn of(self, text: &str) -> &str {
        &text[self.start as usize..(self.start + self.len) as usize]
    }
}

#[derive(Debug)]
enum Item {
    Event {
        message: Span,
        log_time_ms: Option<i64>,
        log_group: Option<Span>,
        log_stream: Option<Span>,
        event_id: Option<Span>,
        origin: Origin,
    },
    Reject(Box<Reject>),
    Skip {
        origin: Origin,
        reason: &'static str,
    },
}

/// A run of consecutive frames of one file, their strings copied into one buffer.
#[derive(Debug, Default)]
pub struct FrameBlock {
    text: String,
    items: Vec<Item>,
    /// The last group and stream stored, reused while the events repeat them.
    last_group: Option<Span>,
    last_stream: Option<Span>,
}

impl FrameBlock {
    /// Bytes of strings held.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// Whether it holds no frame.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The (log group, message) of each event held, in order.
    pub fn events(&self) -> impl Iterator<Item = (Option<&str>, &str)> + '_ {
        self.items.iter().filter_map(|item| match item {
            Item::Event {
                message, log_group, ..
            } => Some((log_group.map(|g| self.get(g)), self.get(*message))),
            _ => None,
        })
    }

    fn put(&mut self, s: &str) -> Span {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        Span {
            start,
            len: s.len() as u32,
        }
    }

    /// `s`, stored once while consecutive events repeat it.
    fn put_repeated(
        &mut self,
        s: Option<&str>,
        last: fn(&mut Self) -> &mut Option<Span>,
    ) -> Option<Span> {
        let s = s?;
        if let Some(span) = *last(self) {
            if self.get(span) == s {
                return Some(span);
            }
        }
        let span = self.put(s);
        *last(self) = Some(span);
        Some(span)
    }

    fn get(&self, s: Span) -> &str {
        s.of(&self.text)
    }

    /// Appends a frame.
    pub fn push(&mut self, frame: Frame<'_>) {
        let item = match frame {
            Frame::Event(ev) => {
                let message = self.put(ev.message);
                let log_group = self.put_repeated(ev.log_group, |b| &mut b.last_group);
                let log_stream = self.put_repeated(ev.log_stream, |b| &mut b.last_stream);
                let event_id = ev.event_id.map(|id| self.put(id));
                Item::Event {
                    message,
                    log_time_ms: ev.log_time_ms,
                    log_group,
                    log_stream,
                    event_id,
                    origin: ev.origin,
                }
            }
            Frame::Reject(r) => Item::Reject(Box::new(r)),
            Frame::Skip { origin, reason } => Item::Skip { origin, reason },
        };
        self.items.push(item);
    }

    /// Hands the frames to `on`, in the order they were pushed, and empties the block
    /// (keeping its buffers for the next one).
    pub fn replay(&mut self, on: &mut dyn FnMut(Frame<'_>)) {
        let text = &self.text;
        let get = |s: Span| s.of(text);
        for item in self.items.drain(..) {
            match item {
                Item::Event {
                    message,
                    log_time_ms,
                    log_group,
                    log_stream,
                    event_id,
                    origin,
                } => on(Frame::Event(Event {
                    log_time_ms,
                    log_group: log_group.map(get),
                    log_stream: log_stream.map(get),
                    event_id: event_id.map(get),
                    message: get(message),
                    origin,
                })),
                Item::Reject(r) => on(Frame::Reject(*r)),
                Item::Skip { origin, reason } => on(Frame::Skip { origin, reason }),
            }
        }
        self.text.clear();
        self.last_group = None;
        self.last_stream = None;
    }
}

/// Whether `file` is worth reading in blocks: at least `min_bytes` on disk, not a Lambda or
/// execution log by its path, and text once decompressed (anything else, including a file
/// that cannot be opened or whose gzip stream fails at once, is read whole, and
/// [`read_file`] then reports why). Whether its blocks may be handled in parallel is
/// decided from its first block's events.
pub fn plan_blocks(file: &InputFile, min_bytes: u64) -> bool {
    let (Some(path), Some(size)) = (&file.path, file.size) else {
        return false;
    };
    if size < min_bytes || path_names_stateful_log(&file.display) {
        return false;
    }
    let Ok(f) = File::open(path) else {
        return false;
    };
    // The first bytes as `read_file` looks at them: gzip undone, as many layers as it does.
    let head = decompress::Prefixed::read(decompress::open(f).reader, SNIFF_BYTES);
    !head.has_error() && !head.prefix().is_empty() && memchr::memchr(0, head.prefix()).is_none()
}

/// Reads `file` as [`read_file`] does, handing its frames to `on_block` in blocks of about
/// `block_bytes` of strings each (the last one smaller), in order. Blocks are taken from
/// `spare` when it has one (put a replayed block back there to reuse its memory: a fresh
/// block's pages cost the kernel's clearing again).
pub fn read_file_in_blocks(
    file: &InputFile,
    forced: Option<ContainerKind>,
    block_bytes: usize,
    spare: &std::sync::Mutex<Vec<FrameBlock>>,
    on_block: &mut dyn FnMut(FrameBlock),
) -> Result<FrameStats, InputError> {
    let next = || {
        let reused = spare.lock().unwrap_or_else(|e| e.into_inner()).pop();
        reused.unwrap_or_else(|| FrameBlock {
            // The last message may pass the mark: some room beyond it.
            text: String::with_capacity(block_bytes + block_bytes / 8),
            ..FrameBlock::default()
        })
    };
    let mut block = next();
    let stats = read_file(file, forced, &mut |frame| {
        block.push(frame);
        if block.text_len() >= block_bytes {
            on_block(std::mem::replace(&mut block, next()));
        }
    });
    if !block.is_empty() {
        on_block(block);
    }
    stats
}

/// For tests: every frame of `file` read in blocks, with the block each came from.
#[cfg(test)]
fn frames_in_blocks(
    file: &InputFile,
    forced: Option<ContainerKind>,
    block_bytes: usize,
) -> std::io::Result<(Vec<(usize, String)>, FrameStats)> {
    let mut out = Vec::new();
    let mut k = 0;
    let spare = std::sync::Mutex::new(Vec::new());
    let stats = read_file_in_blocks(file, forced, block_bytes, &spare, &mut |mut b| {
        b.replay(&mut |f| out.push((k, super::testutil::describe(&f))));
        assert!(b.is_empty() && b.text_len() == 0);
        k += 1;
        // Every other block is reused.
        if k % 2 == 0 {
            spare.lock().unwrap().push(b);
        }
    })
    .map_err(std::io::Error::other)?;
    Ok((out, stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::testutil::{input_at, s3_export_text};
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn whole(file: &InputFile, forced: Option<ContainerKind>) -> (Vec<String>, FrameStats) {
        let mut v = Vec::new();
        let stats = read_file(file, forced, &mut |f| {
            v.push(super::super::testutil::describe(&f))
        })
        .unwrap();
        (v, stats)
    }

    /// An access log with blank lines, CRLF, a line of invalid UTF-8 and one past the line
    /// limit, and no newline at the end.
    fn awkward_access_log() -> Vec<u8> {
        let mut text = Vec::new();
        for i in 0..20_000 {
            if i % 997 == 0 {
                text.extend_from_slice(b"\n");
            }
            if i == 7_000 {
                text.extend_from_slice(b"{\"requestId\":\"bad \xff utf8\"}\n");
            }
            if i == 12_000 {
                text.extend(std::iter::repeat_n(b'x', super::super::MAX_LINE_BYTES + 10));
                text.push(b'\n');
            }
            text.extend_from_slice(
                format!(
                    r#"{{"requestId":"{i:08}-0000-4000-8000-000000000000","ip":"198.51.100.{}","status":"403"}}"#,
                    i % 250
                )
                .as_bytes(),
            );
            text.extend_from_slice(if i % 5 == 0 { b"\r\n" } else { b"\n" });
        }
        text.extend_from_slice(b"last line without newline");
        text
    }

    #[test]
    fn blocks_in_order_give_the_frames_and_stats_of_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("access.log.gz");
        std::fs::write(&p, gzip(&awkward_access_log())).unwrap();
        let f = input_at(&p, "exports/aws/apigateway/abc/prod/access.log.gz");
        let (want, want_stats) = whole(&f, None);
        let (got, stats) = frames_in_blocks(&f, None, 64 << 10).unwrap();
        let blocks = got.last().unwrap().0 + 1;
        assert!(blocks > 20, "{blocks} blocks");
        assert_eq!(got.into_iter().map(|(_, s)| s).collect::<Vec<_>>(), want);
        assert_eq!(stats, want_stats);
        assert!(
            want.iter().any(|s| s.contains("invalid_utf8")),
            "{:?}",
            &want[..3]
        );
        assert!(want.iter().any(|s| s.contains("line_too_long")));
    }

    #[test]
    fn a_truncated_stream_ends_the_last_block_with_its_reject() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("access.log.gz");
        let gz = gzip(&awkward_access_log());
        std::fs::write(&p, &gz[..gz.len() * 2 / 3]).unwrap();
        let f = input_at(&p, "exports/aws/apigateway/abc/prod/access.log.gz");
        let (want, want_stats) = whole(&f, None);
        let (got, stats) = frames_in_blocks(&f, None, 64 << 10).unwrap();
        assert!(
            want.last().unwrap().contains("corrupt_gzip"),
            "{:?}",
            want.last()
        );
        assert_eq!(got.into_iter().map(|(_, s)| s).collect::<Vec<_>>(), want);
        assert_eq!(stats, want_stats);
    }

    #[test]
    fn s3_export_blocks_keep_times_and_the_path_group() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("000000.gz");
        let text = s3_export_text(3000, "  continued line\n");
        std::fs::write(&p, gzip(text.as_bytes())).unwrap();
        let f = input_at(
            &p,
            "exports/API-Gateway-Access-Logs_abc/prod/aws-logs/000000.gz",
        );
        let (want, _) = whole(&f, Some(ContainerKind::S3Export));
        let (got, _) = frames_in_blocks(&f, Some(ContainerKind::S3Export), 4 << 10).unwrap();
        assert!(got.last().unwrap().0 > 5);
        assert_eq!(got.into_iter().map(|(_, s)| s).collect::<Vec<_>>(), want);
    }

    #[test]
    fn large_text_files_are_read_in_blocks_but_not_lambda_or_execution_logs_by_path() {
        let dir = tempfile::tempdir().unwrap();
        let access = awkward_access_log();
        let gz = dir.path().join("access.log.gz");
        std::fs::write(&gz, gzip(&access)).unwrap();
        let plain = dir.path().join("events.json");
        std::fs::write(&plain, br#"{"events":[{"message":"x","timestamp":1}]}"#).unwrap();
        let access_gz = input_at(&gz, "exports/aws/apigateway/abc/prod/access.log.gz");
        assert!(plan_blocks(&access_gz, 1));
        // Firehose objects stored with S3 compression are gzip twice: undone as read_file does.
        let twice = dir.path().join("firehose.gz");
        std::fs::write(&twice, gzip(&gzip(&access))).unwrap();
        assert!(
            plan_blocks(&input_at(&twice, "x/firehose.gz"), 1),
            "gzip twice"
        );
        assert!(!plan_blocks(&access_gz, u64::MAX), "too small");
        assert!(
            plan_blocks(&input_at(&plain, "x/events.json"), 1),
            "plain JSON"
        );
        let by_path = input_at(&gz, "exports/aws/lambda/authorizer/function.log.gz");
        assert!(!plan_blocks(&by_path, 1), "a Lambda log by its path");
        let exec = input_at(&gz, "x/API-Gateway-Execution-Logs_abc/prod/000000.gz");
        assert!(!plan_blocks(&exec, 1), "an execution log by its path");
        let binary = dir.path().join("blob.gz");
        std::fs::write(&binary, gzip(&[0u8; 64])).unwrap();
        assert!(!plan_blocks(&input_at(&binary, "x/blob.gz"), 1), "binary");
        let broken = dir.path().join("broken.gz");
        std::fs::write(&broken, [0x1f, 0x8b, 0, 1, 2, 3]).unwrap();
        assert!(
            !plan_blocks(&input_at(&broken, "x/broken.gz"), 1),
            "a gzip stream that fails"
        );
    }

    #[test]
    fn a_block_lists_its_events_group_and_message() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.json");
        std::fs::write(
            &p,
            br#"{"events":[{"logStreamName":"s","timestamp":1,"message":"one","eventId":"1"},{"logStreamName":"s","timestamp":2,"message":"two","eventId":"2"}]}"#,
        )
        .unwrap();
        let f = input_at(&p, "exports/aws/apigateway/abc/prod/events.json");
        let spare = std::sync::Mutex::new(Vec::new());
        let mut seen = Vec::new();
        read_file_in_blocks(&f, None, 1 << 20, &spare, &mut |b| {
            seen.extend(
                b.events()
                    .map(|(g, m)| (g.map(str::to_string), m.to_string())),
            );
        })
        .unwrap();
        let mut want = Vec::new();
        read_file(&f, None, &mut |fr| {
            if let Frame::Event(ev) = fr {
                want.push((ev.log_group.map(str::to_string), ev.message.to_string()));
            }
        })
        .unwrap();
        assert_eq!(seen, want);
        assert_eq!(
            seen.iter().map(|x| x.1.as_str()).collect::<Vec<_>>(),
            ["one", "two"]
        );
    }
}

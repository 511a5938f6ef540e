//! The `input` stage: everything from the paths a user gives to framed CloudWatch
//! [`Event`]s. It finds the files ([`discover()`]), opens them, undoes gzip by magic bytes
//! (multi-member), recognises the export container from the first bytes ([`detect()`]) and
//! streams every event to a callback ([`read_file()`]), turning damaged content into
//! [`Frame::Reject`]s instead of errors. Memory stays bounded whatever the file size: lines
//! are capped at [`MAX_LINE_BYTES`], JSON documents are split one element at a time.
//!
//! It does not know what a message says (access record, Lambda line, execution line): that
//! is the records stage. It does not decide the log kind either; it only passes on the log
//! group and stream where the container or the path carries them.
//!
//! One file per container: `s3_export` (CreateExportTask objects), `cli_json`
//! (`aws logs filter-log-events` / `get-log-events` output), `lines` (bare messages),
//! `firehose` (subscription filter → Firehose → S3, and API Gateway's direct Firehose
//! records), `tail` (`aws logs tail`), `insights` (Logs Insights CSV and JSON exports).

mod blocks;
mod chunks;
mod cli_json;
mod decompress;
mod detect;
mod discover;
mod firehose;
mod insights;
mod jsonscan;
mod linereader;
mod lines;
mod s3_export;
mod tail;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;
mod timestamp;

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::PathBuf;

use crate::model::{Event, Origin, Reject, RejectReason};

pub use blocks::{plan_blocks, read_file_in_blocks, FrameBlock, BLOCK_BYTES};
pub use chunks::{plan_chunks, read_chunk, Chunk};
pub use detect::detect;
pub(crate) use discover::path_names_stateful_log;
pub use discover::{discover, log_group_from_path, s3_export_stream_from_path};
pub use linereader::MAX_LINE_BYTES;

/// The largest single JSON element (a `filter-log-events` event, a Firehose record, an
/// Insights row) the JSON containers copy out of a stream: 64 MiB. A longer one is skipped
/// with a `line_too_long` reject.
pub const MAX_RECORD_BYTES: usize = 64 << 20;

/// How many decompressed bytes [`read_file`] looks at to detect the container and to tell a
/// binary file from a text log.
pub const SNIFF_BYTES: usize = 8 << 10;

/// How CloudWatch events are wrapped by the export route the user took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContainerKind {
    /// CreateExportTask objects: `2025-10-14T14:05:02.129Z <message>` lines, continuation
    /// lines without a timestamp.
    S3Export,
    /// `aws logs filter-log-events` / `get-log-events` JSON, pages possibly concatenated.
    CliJson,
    /// Bare messages, one per line.
    Lines,
    /// Subscription filter → Firehose → S3: `DATA_MESSAGE` objects run together (or API
    /// Gateway's direct-to-Firehose access records run together).
    Firehose,
    /// `aws logs tail` output, detailed or short format.
    Tail,
    /// Logs Insights console export, CSV.
    InsightsCsv,
    /// Logs Insights console export, JSON array.
    InsightsJson,
}

impl ContainerKind {
    /// Every container, in a fixed order.
    pub const ALL: [ContainerKind; 7] = [
        ContainerKind::S3Export,
        ContainerKind::CliJson,
        ContainerKind::Lines,
        ContainerKind::Firehose,
        ContainerKind::Tail,
        ContainerKind::InsightsCsv,
        ContainerKind::InsightsJson,
    ];

    /// The name used by `--container`, `generate` and the reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerKind::S3Export => "s3-export",
            ContainerKind::CliJson => "cli-json",
            ContainerKind::Lines => "lines",
            ContainerKind::Firehose => "firehose",
            ContainerKind::Tail => "tail",
            ContainerKind::InsightsCsv => "insights-csv",
            ContainerKind::InsightsJson => "insights-json",
        }
    }

    /// The container called `s` (as [`as_str`](Self::as_str) spells it), if any.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for ContainerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One input of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// Index in the run's sorted file list (the `file` of every [`Origin`] from it).
    pub id: u32,
    /// The file, or `None` for standard input.
    pub path: Option<PathBuf>,
    /// How reports name it: the path as found, or `-` for standard input.
    pub display: String,
    /// Size on disk, when known.
    pub size: Option<u64>,
}

/// Why the input stage could not go on. Damaged content inside a readable file is never an
/// error: it becomes [`Frame::Reject`].
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A path given on the command line does not exist.
    #[error(
        "input {} does not exist; check the path (quote paths that contain `$` or `[`, \
         such as Lambda's `[$LATEST]` folders, so the shell leaves them alone)",
        path.display()
    )]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// A file or directory could not be opened or listed.
    #[error(
        "cannot read {}: {source}; check that it exists and that this user may read it",
        path.display()
    )]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The paths named no file at all.
    #[error(
        "no input files: give log files, directories (searched recursively; hidden entries \
         and *.md are skipped) or `-` for standard input"
    )]
    NoInputs,
}

/// What a container yields for each piece of its content.
#[derive(Debug)]
pub enum Frame<'a> {
    /// A CloudWatch event.
    Event(Event<'a>),
    /// Content that could not be used, and why.
    Reject(Reject),
    /// Content that is not a log event by design (a Firehose `CONTROL_MESSAGE`, the S3
    /// permission probe, a blank line).
    Skip {
        /// Where it was.
        origin: Origin,
        /// Why it was skipped (a short stable phrase).
        reason: &'static str,
    },
}

/// What reading one file took and gave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameStats {
    /// The container read (detected or forced); `None` when the file had no content to
    /// detect one from (empty, binary, or a gzip stream that failed at once).
    pub container: Option<ContainerKind>,
    /// Whether the file was gzip-compressed.
    pub gzip: bool,
    /// Bytes read from the file.
    pub bytes_in: u64,
    /// Decompressed bytes (equal to `bytes_in` for plain files).
    pub bytes_out: u64,
    /// Physical lines in the decompressed content.
    pub lines: u64,
    /// Events yielded.
    pub events: u64,
    /// Events dropped because their event id was already seen in the file (Firehose
    /// at-least-once delivery).
    pub duplicates: u64,
}

/// The reasons [`Frame::Skip`] uses.
pub mod skip {
    /// The CreateExportTask permission probe `aws-logs-write-test`.
    pub const WRITE_TEST_PROBE: &str = "s3_export_write_test_probe";
    /// A Firehose `CONTROL_MESSAGE` record.
    pub const CONTROL_MESSAGE: &str = "firehose_control_message";
    /// A Firehose record with a `messageType` other than `DATA_MESSAGE`.
    pub const UNKNOWN_MESSAGE_TYPE: &str = "firehose_unknown_message_type";
    /// An empty line where a message was expected.
    pub const BLANK_LINE: &str = "blank_line";
}

/// The body of the CreateExportTask permission probe.
const PROBE_BODY: &[u8] = b"Permission Check Successful";

/// Opens, decompresses (gzip by magic bytes, multi-member), detects the container from the
/// first bytes unless `forced`, and streams every event to `on`.
///
/// Damaged content becomes [`Frame::Reject`] and reading goes on where possible; a corrupt
/// or truncated gzip stream ends the file after the events already yielded, with one
/// `corrupt_gzip` reject; a read error later in the file likewise ends it with one
/// `unreadable` reject. A file that cannot be opened, or of which not one byte can be read
/// (a directory), is an `Err`. Memory stays bounded whatever the file size. Once Ctrl-C
/// raised [`crate::interrupt`]'s flag, reading stops at the next buffer fill, quietly.
pub fn read_file(
    file: &InputFile,
    forced: Option<ContainerKind>,
    on: &mut dyn FnMut(Frame<'_>),
) -> Result<FrameStats, InputError> {
    match &file.path {
        None => read_stream(
            file,
            crate::interrupt::guard(io::stdin().lock()),
            forced,
            on,
        ),
        Some(path) => {
            let f = File::open(path).map_err(|source| {
                if source.kind() == io::ErrorKind::NotFound {
                    InputError::NotFound { path: path.clone() }
                } else {
                    InputError::Io {
                        path: path.clone(),
                        source,
                    }
                }
            })?;
            read_stream(file, crate::interrupt::guard(f), forced, on)
        }
    }
}

/// [`read_file`] over an already open reader (standard input, a test's bytes, an object
/// stream); `file` gives the id, display name and path-derived log group.
pub fn read_stream<R: Read>(
    file: &InputFile,
    reader: R,
    forced: Option<ContainerKind>,
    on: &mut dyn FnMut(Frame<'_>),
) -> Result<FrameStats, InputError> {
    let opened = decompress::open(reader);
    let gzip = opened.gzip;
    let counters = opened.counters.clone();
    let head = decompress::Prefixed::read(opened.reader, SNIFF_BYTES);
    let mut stats = FrameStats {
        gzip,
        ..FrameStats::default()
    };
    let origin0 = Origin {
        file: file.id,
        line: 1,
        offset: 0,
    };
    let prefix = head.prefix();
    let finish = |mut stats: FrameStats| {
        stats.bytes_in = counters.bytes_in();
        stats.bytes_out = counters.bytes_out();
        stats
    };

    if let Some(pos) = memchr::memchr(0, prefix) {
        let detail = match decompress::foreign_format(prefix) {
            Some((name, cmd)) => format!(
                "{} is {name}, which gatelog does not read; skipped (unpack it first with {cmd})",
                file.display
            ),
            None => format!(
                "{} is not a text log (NUL bytes at offset {pos}); skipped",
                file.display
            ),
        };
        on(Frame::Reject(Reject {
            origin: origin0,
            reason: RejectReason::BinaryFile,
            detail,
            excerpt: String::new(),
        }));
        return Ok(finish(stats));
    }
    if head.at_eof() && !head.has_error() {
        if prefix.is_empty() {
            return Ok(finish(stats));
        }
        if prefix.trim_ascii() == PROBE_BODY {
            stats.container = Some(ContainerKind::S3Export);
            stats.lines = 1;
            on(Frame::Skip {
                origin: origin0,
                reason: skip::WRITE_TEST_PROBE,
            });
            return Ok(finish(stats));
        }
    }
    let bom = prefix.starts_with(b"\xEF\xBB\xBF");
    let sniff = if bom { &prefix[3..] } else { prefix };
    let kind = if prefix.is_empty() {
        None
    } else {
        Some(forced.unwrap_or_else(|| detect(sniff)))
    };
    stats.container = kind;

    let mut ctx = Ctx::of(file);
    let mut head = head;
    let result = match kind {
        None => head.take_error().map_or(Ok(()), Err),
        Some(kind) => {
            let json = matches!(
                kind,
                ContainerKind::CliJson | ContainerKind::Firehose | ContainerKind::InsightsJson
            );
            let start = if json && bom {
                head.skip(3);
                3
            } else {
                0
            };
            let r = BufReader::with_capacity(256 << 10, head);
            match kind {
                ContainerKind::Lines => lines::frame(r, &mut ctx, on),
                ContainerKind::S3Export => s3_export::frame(r, &mut ctx, on),
                ContainerKind::Tail => tail::frame(r, &mut ctx, on),
                ContainerKind::InsightsCsv => insights::frame_csv(r, &mut ctx, on),
                ContainerKind::InsightsJson => insights::frame_json(r, start, &mut ctx, on),
                ContainerKind::CliJson => cli_json::frame(r, start, &mut ctx, on),
                ContainerKind::Firehose => firehose::frame(r, start, &mut ctx, on),
            }
        }
    };
    stats.lines = ctx.lines;
    stats.events = ctx.events;
    stats.duplicates = ctx.duplicates;
    if let Err(e) = result {
        if crate::interrupt::is_interrupt(&e) {
            // Ctrl-C: the run is being abandoned, the file is not damaged.
            return Ok(finish(stats));
        }
        if counters.source_failed() && counters.bytes_in() == 0 {
            // Nothing could be read at all (a directory, a file the disk refuses): the file
            // cannot be used, as if it could not be opened.
            return Err(InputError::Io {
                path: file
                    .path
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(&file.display)),
                source: e,
            });
        }
        let out = counters.bytes_out();
        let origin = Origin {
            file: file.id,
            line: ctx.lines.max(1),
            offset: out,
        };
        let (reason, detail) = if counters.source_failed() || !gzip {
            (
                RejectReason::Unreadable,
                format!(
                    "file {}: read error after {} bytes ({e}); the {} events before it were \
                     kept; check the disk or copy the file again",
                    file.display,
                    counters.bytes_in(),
                    ctx.events
                ),
            )
        } else {
            (
                RejectReason::CorruptGzip,
                format!(
                    "file {}: gzip stream ends early after {out} decompressed bytes ({e}); the \
                     {} events before it were kept; re-download the object",
                    file.display, ctx.events
                ),
            )
        };
        on(Frame::Reject(Reject {
            origin,
            reason,
            detail,
            excerpt: String::new(),
        }));
    }
    Ok(finish(stats))
}

/// What a container framer needs to know about its file and what it reports back.
pub(crate) struct Ctx {
    /// The input file's id.
    pub file: u32,
    /// The log group the path names, for containers that carry none.
    pub path_group: Option<String>,
    /// The log stream an S3-export key names.
    pub path_stream: Option<String>,
    /// Physical lines read.
    pub lines: u64,
    /// Events yielded.
    pub events: u64,
    /// Duplicate events dropped.
    pub duplicates: u64,
    /// Lines before the part being read (a chunk of a file read in parallel), else 0.
    pub base_line: u64,
    /// Byte offset of the part being read, else 0.
    pub base_offset: u64,
}

impl Ctx {
    /// The context of reading `file` from its start.
    pub(crate) fn of(file: &InputFile) -> Ctx {
        Ctx {
            file: file.id,
            path_group: log_group_from_path(&file.display),
            path_stream: s3_export_stream_from_path(&file.display),
            lines: 0,
            events: 0,
            duplicates: 0,
            base_line: 0,
            base_offset: 0,
        }
    }

    /// Yields one event and counts it.
    pub(crate) fn emit(&mut self, on: &mut dyn FnMut(Frame<'_>), ev: Event<'_>) {
        self.events += 1;
        on(Frame::Event(ev));
    }

    /// An origin in this file.
    pub(crate) fn origin(&self, line: u64, offset: u64) -> Origin {
        Origin {
            file: self.file,
            line,
            offset,
        }
    }
}

/// A message without its one trailing newline (`\n` or `\r\n`), as [`Event::message`] wants.
pub(crate) fn strip_newline(m: &str) -> &str {
    match m.strip_suffix('\n') {
        Some(m) => m.strip_suffix('\r').unwrap_or(m),
        None => m,
    }
}

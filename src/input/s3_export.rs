//! The `s3-export` container: CreateExportTask objects, `2025-10-14T14:05:02.129Z <message>`
//! per line, a message's further lines following without a timestamp. The framer therefore
//! holds one event back until the next timestamped line (or the end) shows it is complete;
//! [`Pending`] does that for `tail` as well. The permission probe `aws-logs-write-test` is
//! recognised before framing (`mod.rs`). Decompression is `decompress.rs`'s; the log stream
//! comes from the object key when it has the export layout.

use std::io::{self, BufRead};

use super::linereader::{LineItem, LineReader, MAX_LINE_BYTES};
use super::timestamp::{s3_export_prefix, s3_export_shape, S3_PREFIX_LEN};
use super::{Ctx, Frame};
use crate::model::{excerpt, Event, Origin, Reject, RejectReason};

/// One event being assembled from a timestamped line and its continuation lines.
#[derive(Default)]
pub(crate) struct Pending {
    active: bool,
    message: String,
    stream: String,
    has_stream: bool,
    time: Option<i64>,
    origin: Origin,
    /// Length the message would have, continuation lines included.
    len: u64,
}

impl Pending {
    /// Starts a new event (the caller has flushed the previous one).
    pub(crate) fn start(
        &mut self,
        time: Option<i64>,
        stream: Option<&str>,
        first: &str,
        origin: Origin,
    ) {
        self.active = true;
        self.message.clear();
        self.message.push_str(first);
        self.stream.clear();
        self.has_stream = stream.is_some();
        if let Some(s) = stream {
            self.stream.push_str(s);
        }
        self.time = time;
        self.origin = origin;
        self.len = first.len() as u64;
    }

    /// Whether an event is being assembled.
    pub(crate) fn is_active(&self) -> bool {
        self.active
    }

    /// Appends a continuation line (joined with `\n`); past [`MAX_LINE_BYTES`] the text is
    /// dropped and the event will be rejected.
    pub(crate) fn push(&mut self, text: &str) {
        self.len += 1 + text.len() as u64;
        if self.len <= MAX_LINE_BYTES as u64 {
            self.message.push('\n');
            self.message.push_str(text);
        }
    }

    /// Yields the event (or a reject if it grew too long) and clears it.
    pub(crate) fn flush(
        &mut self,
        ctx: &mut Ctx,
        group: Option<&str>,
        on: &mut dyn FnMut(Frame<'_>),
    ) {
        if !self.active {
            return;
        }
        self.active = false;
        if self.len > MAX_LINE_BYTES as u64 {
            on(Frame::Reject(Reject {
                origin: self.origin,
                reason: RejectReason::LineTooLong,
                detail: format!(
                    "the event starting at line {} is {:.1} MB with its continuation lines, over \
                     the 8 MiB limit; skipped",
                    self.origin.line,
                    self.len as f64 / 1e6
                ),
                excerpt: excerpt(self.message.as_bytes()),
            }));
            return;
        }
        let stream = if self.has_stream {
            Some(self.stream.as_str())
        } else {
            ctx.path_stream.as_deref()
        };
        let ev = Event {
            log_time_ms: self.time,
            log_group: group,
            log_stream: stream,
            event_id: None,
            message: &self.message,
            origin: self.origin,
        };
        ctx.events += 1;
        on(Frame::Event(ev));
    }
}

/// The reject for a line without the expected timestamp that continues no event.
pub(crate) fn orphan_line(origin: Origin, text: &str, container: &str) -> Reject {
    Reject {
        origin,
        reason: RejectReason::MalformedContainer,
        detail: format!(
            "line {} has no {container} timestamp prefix and follows no event; skipped (if \
             the file holds bare messages, read it with --container lines)",
            origin.line
        ),
        excerpt: excerpt(text.as_bytes()),
    }
}

/// The reject for a line whose CreateExportTask timestamp prefix holds no valid time.
fn bad_timestamp(origin: Origin, text: &str) -> Reject {
    Reject {
        origin,
        reason: RejectReason::MalformedContainer,
        detail: format!(
            "line {} starts with an invalid timestamp `{}`; skipped (the object is damaged: \
             re-download it)",
            origin.line,
            &text[..S3_PREFIX_LEN - 1]
        ),
        excerpt: excerpt(text.as_bytes()),
    }
}

/// Frames a CreateExportTask object.
pub(crate) fn frame<R: BufRead>(
    r: R,
    ctx: &mut Ctx,
    on: &mut dyn FnMut(Frame<'_>),
) -> io::Result<()> {
    let mut lr = LineReader::new(r, ctx.file).at(ctx.base_line, ctx.base_offset);
    let group = ctx.path_group.clone();
    let mut pending = Pending::default();
    let result = loop {
        match lr.next_item() {
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
            Ok(Some(LineItem::Reject(rej))) => on(Frame::Reject(rej)),
            Ok(Some(LineItem::Line(line))) => match s3_export_prefix(line.text.as_bytes()) {
                Some(t) => {
                    pending.flush(ctx, group.as_deref(), on);
                    pending.start(Some(t), None, &line.text[S3_PREFIX_LEN..], line.origin);
                }
                // A damaged timestamp starts a damaged event: glued onto the previous event as
                // a continuation line, it would spoil that one too.
                None if s3_export_shape(line.text.as_bytes()) => {
                    pending.flush(ctx, group.as_deref(), on);
                    on(Frame::Reject(bad_timestamp(line.origin, line.text)));
                }
                None if pending.is_active() => pending.push(line.text),
                None => on(Frame::Reject(orphan_line(
                    line.origin,
                    line.text,
                    "s3-export",
                ))),
            },
        }
    };
    // The event held back is complete as far as the stream goes, even when it broke off.
    pending.flush(ctx, group.as_deref(), on);
    ctx.lines = lr.lines();
    result
}

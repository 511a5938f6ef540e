//! The `lines` container: bare messages, one per line (a stage's access log saved as is,
//! `execution.log`, a Lambda log copied out of the console). Every non-empty line is one
//! event with no time, group or stream of its own; the log group comes from the path when
//! it names one. Blank lines are skipped. Line limits and UTF-8 checks are the line
//! reader's.

use std::io::{self, BufRead};

use super::linereader::{LineItem, LineReader};
use super::{skip, Ctx, Frame};
use crate::model::Event;

/// Frames every line of `r` as one event.
pub(crate) fn frame<R: BufRead>(
    r: R,
    ctx: &mut Ctx,
    on: &mut dyn FnMut(Frame<'_>),
) -> io::Result<()> {
    let mut lr = LineReader::new(r, ctx.file).at(ctx.base_line, ctx.base_offset);
    let group = ctx.path_group.clone();
    let result = loop {
        match lr.next_item() {
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
            Ok(Some(LineItem::Reject(rej))) => on(Frame::Reject(rej)),
            Ok(Some(LineItem::Line(line))) => {
                if line.text.trim_ascii().is_empty() {
                    on(Frame::Skip {
                        origin: line.origin,
                        reason: skip::BLANK_LINE,
                    });
                    continue;
                }
                ctx.emit(
                    on,
                    Event {
                        log_time_ms: None,
                        log_group: group.as_deref(),
                        log_stream: None,
                        event_id: None,
                        message: line.text,
                        origin: line.origin,
                    },
                );
            }
        }
    };
    ctx.lines = lr.lines();
    result
}

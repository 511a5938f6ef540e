//! The Logs Insights console exports: `insights-csv` (header row naming `@timestamp`,
//! `@message` and optionally `@log` = `account:group` and `@logStream`; RFC 4180 quoting,
//! so a quoted newline makes one record span several physical lines; an optional UTF-8 BOM)
//! and `insights-json` (an array of objects with those keys, streamed one element at a
//! time). `@timestamp` is `YYYY-MM-DD HH:MM:SS.mmm` UTC. Other columns are ignored. The
//! trailing newline Lambda messages keep inside the quoted field is removed, as for every
//! container.

use std::borrow::Cow;
use std::io::{self, BufRead};

use memchr::{memchr, memchr2};
use serde::Deserialize;

use super::cli_json::{damage, decode_element, for_each_element, missing_field, Damage};
use super::jsonscan::JsonScanner;
use super::linereader::{LineItem, LineReader, MAX_LINE_BYTES};
use super::{skip, strip_newline, timestamp, Ctx, Frame};
use crate::model::{excerpt, Event, Origin, Reject, RejectReason};

/// Column positions found in the header.
#[derive(Debug, Clone, Copy)]
struct Columns {
    timestamp: Option<usize>,
    message: usize,
    log: Option<usize>,
    stream: Option<usize>,
    count: usize,
}

/// An RFC 4180 record being assembled from one or more physical lines.
#[derive(Default)]
struct Record {
    text: String,
    fields: Vec<(usize, usize)>,
    field_start: usize,
    in_quotes: bool,
    /// Inside a field that was quoted, after its closing quote.
    after_quote: bool,
    origin: Origin,
    active: bool,
    too_long: bool,
}

impl Record {
    fn begin(&mut self, origin: Origin) {
        self.text.clear();
        self.fields.clear();
        self.field_start = 0;
        self.in_quotes = false;
        self.after_quote = false;
        self.origin = origin;
        self.active = true;
        self.too_long = false;
    }

    /// Feeds one physical line; returns whether the record is complete.
    fn feed(&mut self, line: &str) -> bool {
        if self.text.len() + line.len() > MAX_LINE_BYTES {
            self.too_long = true;
        }
        let b = line.as_bytes();
        let mut i = 0;
        loop {
            if self.in_quotes {
                match memchr(b'"', &b[i..]) {
                    None => {
                        if !self.too_long {
                            self.text.push_str(&line[i..]);
                            self.text.push('\n');
                        }
                        return false;
                    }
                    Some(k) => {
                        if !self.too_long {
                            self.text.push_str(&line[i..i + k]);
                        }
                        i += k + 1;
                        if b.get(i) == Some(&b'"') {
                            if !self.too_long {
                                self.text.push('"');
                            }
                            i += 1;
                        } else {
                            self.in_quotes = false;
                            self.after_quote = true;
                        }
                    }
                }
            } else {
                let at_field_start = self.text.len() == self.field_start && !self.after_quote;
                if at_field_start && b.get(i) == Some(&b'"') {
                    self.in_quotes = true;
                    i += 1;
                    continue;
                }
                // Unquoted text (or text after a closing quote, kept leniently) up to `,`.
                let end = match memchr2(b',', b'"', &b[i..]) {
                    Some(k) if b[i + k] == b'"' => {
                        // A stray quote inside an unquoted field: keep it literally.
                        if !self.too_long {
                            self.text.push_str(&line[i..=i + k]);
                        }
                        i += k + 1;
                        continue;
                    }
                    Some(k) => Some(i + k),
                    None => None,
                };
                let stop = end.unwrap_or(b.len());
                if !self.too_long {
                    self.text.push_str(&line[i..stop]);
                }
                self.fields.push((self.field_start, self.text.len()));
                self.field_start = self.text.len();
                self.after_quote = false;
                match end {
                    Some(e) => i = e + 1,
                    None => return true,
                }
            }
        }
    }

    fn field(&self, i: usize) -> &str {
        let (a, b) = self.fields[i];
        &self.text[a..b]
    }
}

/// The group of an `@log` value `account:group`.
fn group_of(log: &str) -> &str {
    match log.split_once(':') {
        Some((acct, group)) if acct.bytes().all(|b| b.is_ascii_digit()) => group,
        _ => log,
    }
}

/// Frames a Logs Insights CSV export.
pub(crate) fn frame_csv<R: BufRead>(
    r: R,
    ctx: &mut Ctx,
    on: &mut dyn FnMut(Frame<'_>),
) -> io::Result<()> {
    let mut lr = LineReader::new(r, ctx.file);
    let mut cols: Option<Columns> = None;
    let mut rec = Record::default();
    let result = loop {
        let item = match lr.next_item() {
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
            Ok(Some(item)) => item,
        };
        let line = match item {
            LineItem::Reject(rej) => {
                if rec.active {
                    // The record this line belonged to cannot be completed.
                    rec.active = false;
                    on(Frame::Reject(broken_record(
                        &rec,
                        "one of its lines was unusable",
                    )));
                }
                on(Frame::Reject(rej));
                continue;
            }
            LineItem::Line(line) => line,
        };
        let Some(c) = cols else {
            let mut header = Record::default();
            header.begin(line.origin);
            header.feed(line.text);
            let names: Vec<&str> = (0..header.fields.len())
                .map(|i| header.field(i).trim())
                .collect();
            let find = |n: &str| names.iter().position(|h| *h == n);
            match find("@message") {
                Some(message) => {
                    cols = Some(Columns {
                        timestamp: find("@timestamp"),
                        message,
                        log: find("@log"),
                        stream: find("@logStream"),
                        count: names.len(),
                    })
                }
                None => {
                    on(Frame::Reject(Reject {
                        origin: line.origin,
                        reason: RejectReason::MalformedContainer,
                        detail: "the Insights CSV header has no `@message` column; the file was \
                                 not read (add @message to the query's fields, or use \
                                 --container lines)"
                            .to_string(),
                        excerpt: excerpt(line.text.as_bytes()),
                    }));
                    break Ok(());
                }
            }
            continue;
        };
        if !rec.active {
            if line.text.is_empty() {
                on(Frame::Skip {
                    origin: line.origin,
                    reason: skip::BLANK_LINE,
                });
                continue;
            }
            rec.begin(line.origin);
        }
        if !rec.feed(line.text) {
            continue;
        }
        rec.active = false;
        if rec.too_long {
            on(Frame::Reject(Reject {
                origin: rec.origin,
                reason: RejectReason::LineTooLong,
                detail: format!(
                    "the Insights CSV record starting at line {} is over the 8 MiB limit; skipped",
                    rec.origin.line
                ),
                excerpt: excerpt(rec.text.as_bytes()),
            }));
            continue;
        }
        if rec.fields.len() != c.count {
            on(Frame::Reject(broken_record(
                &rec,
                &format!("it has {} fields, the header {}", rec.fields.len(), c.count),
            )));
            continue;
        }
        let opt = |i: Option<usize>| i.map(|i| rec.field(i)).filter(|s| !s.is_empty());
        ctx.emit(
            on,
            Event {
                log_time_ms: opt(c.timestamp).and_then(|t| timestamp::insights(t.as_bytes())),
                log_group: opt(c.log).map(group_of),
                log_stream: opt(c.stream),
                event_id: None,
                message: strip_newline(rec.field(c.message)),
                origin: rec.origin,
            },
        );
    };
    if result.is_ok() && rec.active {
        on(Frame::Reject(broken_record(
            &rec,
            "the file ends inside a quoted field (it is cut off, or a quote is unbalanced)",
        )));
    }
    ctx.lines = lr.lines();
    result
}

fn broken_record(rec: &Record, why: &str) -> Reject {
    Reject {
        origin: rec.origin,
        reason: RejectReason::MalformedContainer,
        detail: format!(
            "the Insights CSV record starting at line {} was skipped: {why}",
            rec.origin.line
        ),
        excerpt: excerpt(rec.text.as_bytes()),
    }
}

/// One element of an Insights JSON export.
#[derive(Deserialize)]
struct Row<'a> {
    #[serde(rename = "@timestamp", borrow, default)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "@message", borrow, default)]
    message: Option<Cow<'a, str>>,
    #[serde(rename = "@log", borrow, default)]
    log: Option<Cow<'a, str>>,
    #[serde(rename = "@logStream", borrow, default)]
    stream: Option<Cow<'a, str>>,
}

/// Frames a Logs Insights JSON export; `start` is the offset of its first byte.
pub(crate) fn frame_json<R: BufRead>(
    r: R,
    start: u64,
    ctx: &mut Ctx,
    on: &mut dyn FnMut(Frame<'_>),
) -> io::Result<()> {
    let mut sc = JsonScanner::new(r, start);
    let mut buf = Vec::new();
    let result = (|| -> io::Result<()> {
        while let Some(b) = sc.peek()? {
            let origin = ctx.origin(sc.line(), sc.offset());
            let outcome = if b == b'[' {
                sc.bump();
                for_each_element(&mut sc, &mut buf, ctx, on, &mut row)?
            } else {
                sc.bump();
                Err(damage(
                    origin,
                    format!(
                        "line {}: unexpected {:?} outside the Insights JSON array; skipped to \
                         the next line that starts with `[`",
                        origin.line,
                        char::from(b)
                    ),
                ))
            };
            if let Err(Damage(rej)) = outcome {
                on(Frame::Reject(rej));
                sc.skip_to_line_starting(b'[')?;
            }
        }
        Ok(())
    })();
    ctx.lines = sc.lines();
    result
}

/// The value, unless missing or empty.
fn nonempty<'a>(s: &'a Option<Cow<'_, str>>) -> Option<&'a str> {
    s.as_deref().filter(|s| !s.is_empty())
}

fn row(bytes: &mut [u8], origin: Origin, ctx: &mut Ctx, on: &mut dyn FnMut(Frame<'_>)) {
    let bytes: &[u8] = bytes;
    let Some(row) = decode_element::<Row<'_>>(bytes, origin, "Insights JSON row", on) else {
        return;
    };
    let Some(message) = row.message.as_deref() else {
        on(Frame::Reject(missing_field(
            origin,
            "Insights JSON row",
            "@message",
            bytes,
        )));
        return;
    };
    let time = nonempty(&row.timestamp).and_then(|t| timestamp::insights(t.as_bytes()));
    ctx.emit(
        on,
        Event {
            log_time_ms: time,
            log_group: nonempty(&row.log).map(group_of),
            log_stream: nonempty(&row.stream),
            event_id: None,
            message: strip_newline(message),
            origin,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(lines: &[&str]) -> (Vec<String>, bool) {
        let mut r = Record::default();
        r.begin(Origin::default());
        let mut done = false;
        for l in lines {
            done = r.feed(l);
        }
        (
            (0..r.fields.len())
                .map(|i| r.field(i).to_string())
                .collect(),
            done,
        )
    }

    #[test]
    fn rfc4180_fields() {
        assert_eq!(
            fields(&["a,b,,c"]),
            (vec!["a".into(), "b".into(), "".into(), "c".into()], true)
        );
        assert_eq!(
            fields(&["\"x,\"\"y\"\"\",z"]),
            (vec!["x,\"y\"".into(), "z".into()], true)
        );
        assert_eq!(
            fields(&["t,\"REPORT\tDuration: 1 ms\t", "\""]),
            (vec!["t".into(), "REPORT\tDuration: 1 ms\t\n".into()], true)
        );
        assert!(!fields(&["a,\"open"]).1);
        assert_eq!(fields(&["a,b\"c"]), (vec!["a".into(), "b\"c".into()], true));
        assert_eq!(fields(&[""]), (vec!["".into()], true));
        assert_eq!(fields(&["a,"]), (vec!["a".into(), "".into()], true));
        assert_eq!(fields(&["\"\""]), (vec!["".into()], true));
    }

    #[test]
    fn log_group_of_at_log() {
        assert_eq!(group_of("210987654321:/aws/lambda/f"), "/aws/lambda/f");
        assert_eq!(group_of("/aws/lambda/f"), "/aws/lambda/f");
        assert_eq!(
            group_of("API-Gateway-Execution-Logs_k3/live"),
            "API-Gateway-Execution-Logs_k3/live"
        );
    }
}

//! The `cli-json` container: `aws logs filter-log-events` / `get-log-events` output, one
//! page or several concatenated, possibly one multi-GB document. The document is never
//! loaded: the JSON splitter walks it, finds the `events` array of each top-level document
//! and copies one element at a time into a reusable buffer, which serde_json then parses
//! (`logStreamName`, `timestamp`, `message`, `eventId`; everything else ignored). The CLI
//! prints no `logGroupName`, so the group comes from the path, if at all. Lambda messages
//! keep their trailing `\n` in this format; it is removed as for every container.

use std::borrow::Cow;
use std::io::{self, BufRead};

use serde::Deserialize;

use super::jsonscan::{JsonScanner, Scan};
use super::linereader::invalid_utf8;
use super::{strip_newline, Ctx, Frame, MAX_RECORD_BYTES};
use crate::model::{excerpt, Event, Origin, Reject, RejectReason};

/// One element of `events[]`.
#[derive(Deserialize)]
struct CliEvent<'a> {
    #[serde(rename = "logStreamName", borrow, default)]
    log_stream: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient_ms")]
    timestamp: Option<i64>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
    #[serde(rename = "eventId", borrow, default)]
    event_id: Option<Cow<'a, str>>,
}

/// `timestamp` as the CLI writes it (integer epoch ms), and also as a float or a numeric
/// string (a file that went through another tool); any other value is no time rather than a
/// reason to drop the event and its message.
pub(crate) fn lenient_ms<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("epoch milliseconds")
        }
        fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
            Ok(i64::try_from(v).ok())
        }
        fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
            Ok((v.is_finite() && v.abs() < 9.0e15).then_some(v as i64))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(v.trim().parse().ok())
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: serde::Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(self)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut m: A,
        ) -> Result<Self::Value, A::Error> {
            while m
                .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                .is_some()
            {}
            Ok(None)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut s: A,
        ) -> Result<Self::Value, A::Error> {
            while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// A damaged container: reading the current document stops with this reject.
pub(crate) struct Damage(pub Reject);

pub(crate) fn damage(origin: Origin, detail: String) -> Damage {
    Damage(Reject {
        origin,
        reason: RejectReason::MalformedContainer,
        detail,
        excerpt: String::new(),
    })
}

/// Frames CLI JSON output; `start` is the offset of its first byte (3 after a BOM).
pub(crate) fn frame<R: BufRead>(
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
            let outcome = if b == b'{' {
                document(&mut sc, &mut buf, ctx, on)?
            } else {
                Err(damage(
                    origin,
                    format!(
                        "line {}: unexpected {:?} between CLI JSON documents; skipped to the next \
                         line that starts with `{{`",
                        origin.line,
                        char::from(b)
                    ),
                ))
            };
            if let Err(Damage(rej)) = outcome {
                on(Frame::Reject(rej));
                if b != b'{' {
                    sc.bump();
                }
                sc.skip_to_line_starting(b'{')?;
            }
        }
        Ok(())
    })();
    ctx.lines = sc.lines();
    result
}

/// One top-level document, from its `{`.
fn document<R: BufRead>(
    sc: &mut JsonScanner<R>,
    buf: &mut Vec<u8>,
    ctx: &mut Ctx,
    on: &mut dyn FnMut(Frame<'_>),
) -> io::Result<Result<(), Damage>> {
    let doc_line = sc.line();
    sc.bump();
    let mut key = Vec::new();
    loop {
        let peeked = sc.peek()?;
        let here = ctx.origin(sc.line(), sc.offset());
        let eof = || {
            damage(
                here,
                format!(
                    "the CLI JSON document starting at line {doc_line} ends early (the file is \
                     cut off); the events before were kept"
                ),
            )
        };
        let Some(b) = peeked else {
            return Ok(Err(eof()));
        };
        match b {
            b'}' => {
                sc.bump();
                return Ok(Ok(()));
            }
            b',' => {
                sc.bump();
                continue;
            }
            b'"' => {}
            _ => {
                return Ok(Err(damage(
                    here,
                    format!(
                        "line {}: expected a key in the CLI JSON document, found {:?}; skipped \
                         to the next document",
                        here.line,
                        char::from(b)
                    ),
                )))
            }
        }
        key.clear();
        if let Scan::Eof(_) = sc.value(Some(&mut key), 64)? {
            return Ok(Err(eof()));
        }
        if sc.peek()? != Some(b':') {
            return Ok(Err(damage(
                here,
                format!(
                    "line {}: a key without `:` in the CLI JSON document",
                    here.line
                ),
            )));
        }
        sc.bump();
        let Some(v) = sc.peek()? else {
            return Ok(Err(eof()));
        };
        if key == b"\"events\"" && v == b'[' {
            sc.bump();
            if let Err(d) = for_each_element(sc, buf, ctx, on, &mut element)? {
                return Ok(Err(d));
            }
        } else if let Scan::Eof(_) = sc.value(None, 0)? {
            return Ok(Err(eof()));
        }
    }
}

/// The callback [`for_each_element`] calls with each element's bytes and origin.
pub(crate) type ElementFn<'f> =
    dyn FnMut(&mut [u8], Origin, &mut Ctx, &mut dyn FnMut(Frame<'_>)) + 'f;

/// Walks an array whose `[` has been consumed, copying each element into `buf` and handing
/// it to `each`; oversized elements become `line_too_long` rejects.
pub(crate) fn for_each_element<R: BufRead>(
    sc: &mut JsonScanner<R>,
    buf: &mut Vec<u8>,
    ctx: &mut Ctx,
    on: &mut dyn FnMut(Frame<'_>),
    each: &mut ElementFn<'_>,
) -> io::Result<Result<(), Damage>> {
    loop {
        let peeked = sc.peek()?;
        let origin = ctx.origin(sc.line(), sc.offset());
        let Some(b) = peeked else {
            return Ok(Err(damage(
                origin,
                "the file ends inside a JSON array (it is cut off); the elements before were \
                 kept"
                    .to_string(),
            )));
        };
        match b {
            b']' => {
                sc.bump();
                return Ok(Ok(()));
            }
            b',' => {
                sc.bump();
                continue;
            }
            _ => {}
        }
        buf.clear();
        match sc.value(Some(buf), MAX_RECORD_BYTES)? {
            Scan::Complete => each(buf, origin, ctx, on),
            Scan::TooLong(len) => on(Frame::Reject(Reject {
                origin,
                reason: RejectReason::LineTooLong,
                detail: format!(
                    "the JSON element at line {} is {:.1} MB, over the {} MiB record limit; \
                     skipped",
                    origin.line,
                    len as f64 / 1e6,
                    MAX_RECORD_BYTES >> 20
                ),
                excerpt: excerpt(buf),
            })),
            Scan::Eof(_) => {
                return Ok(Err(Damage(Reject {
                    origin,
                    reason: RejectReason::MalformedContainer,
                    detail: format!(
                        "the file ends inside the JSON element at line {} (it is cut off); the \
                         elements before were kept",
                        origin.line
                    ),
                    excerpt: excerpt(buf),
                })))
            }
        }
    }
}

/// Parses one `events[]` element and yields it.
fn element(bytes: &mut [u8], origin: Origin, ctx: &mut Ctx, on: &mut dyn FnMut(Frame<'_>)) {
    let bytes: &[u8] = bytes;
    let Some(ev) = decode_element::<CliEvent<'_>>(bytes, origin, "CLI JSON event", on) else {
        return;
    };
    let Some(message) = ev.message.as_deref() else {
        on(Frame::Reject(missing_field(
            origin,
            "CLI JSON event",
            "message",
            bytes,
        )));
        return;
    };
    let group = ctx.path_group.clone();
    ctx.emit(
        on,
        Event {
            log_time_ms: ev.timestamp,
            log_group: group.as_deref(),
            log_stream: ev.log_stream.as_deref(),
            event_id: ev.event_id.as_deref(),
            message: strip_newline(message),
            origin,
        },
    );
}

/// Decodes one element of a JSON container (`what` names it in rejects). Invalid UTF-8 or
/// JSON becomes a reject and `None`.
pub(crate) fn decode_element<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
    origin: Origin,
    what: &str,
    on: &mut dyn FnMut(Frame<'_>),
) -> Option<T> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = origin.offset + e.valid_up_to() as u64;
            on(Frame::Reject(invalid_utf8(origin, at, bytes)));
            return None;
        }
    };
    match serde_json::from_str(text) {
        Ok(v) => Some(v),
        Err(e) => {
            on(Frame::Reject(malformed_json(origin, what, &e, bytes)));
            None
        }
    }
}

/// The reject for a JSON element that lacks the field holding the message.
pub(crate) fn missing_field(origin: Origin, what: &str, field: &str, bytes: &[u8]) -> Reject {
    Reject {
        origin,
        reason: RejectReason::MalformedContainer,
        detail: format!(
            "the {what} at line {} has no `{field}`; skipped",
            origin.line
        ),
        excerpt: excerpt(bytes),
    }
}

/// The reject for a JSON element that does not parse.
pub(crate) fn malformed_json(
    origin: Origin,
    what: &str,
    err: &dyn std::fmt::Display,
    bytes: &[u8],
) -> Reject {
    Reject {
        origin,
        reason: RejectReason::MalformedJson,
        detail: format!(
            "the {what} at line {} is not valid JSON ({err}); skipped",
            origin.line
        ),
        excerpt: excerpt(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::testutil::OneByte;
    use std::io::BufReader;

    pub(crate) fn run(data: &[u8], one_byte: bool) -> (Vec<String>, Vec<(RejectReason, u64)>, Ctx) {
        let mut ctx = Ctx {
            file: 0,
            path_group: None,
            path_stream: None,
            lines: 0,
            events: 0,
            duplicates: 0,
            base_line: 0,
            base_offset: 0,
        };
        let mut msgs = Vec::new();
        let mut rejects = Vec::new();
        let mut on = |f: Frame<'_>| match f {
            Frame::Event(e) => msgs.push(format!(
                "{}|{:?}|{:?}|{:?}|{}:{}",
                e.message, e.log_time_ms, e.log_stream, e.event_id, e.origin.line, e.origin.offset
            )),
            Frame::Reject(r) => rejects.push((r.reason, r.origin.line)),
            Frame::Skip { .. } => {}
        };
        let res = if one_byte {
            frame(
                BufReader::with_capacity(1, OneByte(data)),
                0,
                &mut ctx,
                &mut on,
            )
        } else {
            frame(data, 0, &mut ctx, &mut on)
        };
        res.unwrap();
        (msgs, rejects, ctx)
    }

    const PAGES: &[u8] = br#"{
    "events": [
        {
            "logStreamName": "s1",
            "timestamp": 1760450780051,
            "message": "REPORT RequestId: x\tDuration: 1 ms\t\n",
            "ingestionTime": 1760450780885,
            "eventId": "350"
        },
        {"logStreamName": "s\"2", "timestamp": 2, "message": "{\"a\":\"}]\"}", "eventId": "351"}
    ],
    "searchedLogStreams": [{"logStreamName": "s1", "searchedCompletely": true}],
    "nextToken": "abc"
}
{"nextToken": "n", "events": [{"timestamp": 3, "message": "third"}], "x": {"events": [1]}}
{"events": []}"#;

    #[test]
    fn multi_page_and_one_byte_reader_agree() {
        let (a, ra, ctx) = run(PAGES, false);
        let (b, rb, _) = run(PAGES, true);
        assert_eq!(a, b);
        assert_eq!(ra, rb);
        assert!(ra.is_empty(), "{ra:?}");
        assert_eq!(
            a,
            vec![
                "REPORT RequestId: x\tDuration: 1 ms\t|Some(1760450780051)|Some(\"s1\")|Some(\"350\")|3:26"
                    .to_string(),
                "{\"a\":\"}]\"}|Some(2)|Some(\"s\\\"2\")|Some(\"351\")|10:261".to_string(),
                "third|Some(3)|None|None|15:493".to_string(),
            ]
        );
        assert_eq!(ctx.events, 3);
        assert_eq!(ctx.lines, 16);
    }

    #[test]
    fn an_odd_timestamp_costs_the_time_not_the_event() {
        let data = br#"{"events": [
            {"timestamp": "1760450780051", "message": "string"},
            {"timestamp": 1760450780051.7, "message": "float"},
            {"timestamp": {"ms": 1}, "message": "object"},
            {"timestamp": [1, 2], "message": "array"},
            {"timestamp": null, "message": "null"},
            {"timestamp": true, "message": "bool"},
            {"timestamp": "soon", "message": "word"},
            {"timestamp": 1e300, "message": "huge"},
            {"timestamp": 18446744073709551615, "message": "u64"}
        ]}"#;
        let (msgs, rejects, _) = run(data, false);
        assert!(rejects.is_empty(), "{rejects:?}");
        let got: Vec<String> = msgs
            .iter()
            .map(|m| m.split('|').take(2).collect::<Vec<_>>().join("|"))
            .collect();
        assert_eq!(
            got,
            [
                "string|Some(1760450780051)",
                "float|Some(1760450780051)",
                "object|None",
                "array|None",
                "null|None",
                "bool|None",
                "word|None",
                "huge|None",
                "u64|None",
            ]
        );
    }

    #[test]
    fn damaged_documents_are_rejected_and_reading_goes_on() {
        let data = b"{\"events\": [{\"message\": \"a\"}, {\"message\": 5}, {\"nomsg\": 1}, {\"message\": \"b\"}]}\n\
                     garbage here\n\
                     {\"events\": [{\"message\": \"c\"}, {\"message\": \"d\"";
        let (msgs, rejects, _) = run(data, false);
        let msgs: Vec<_> = msgs
            .iter()
            .map(|m| m.split('|').next().unwrap().to_string())
            .collect();
        assert_eq!(msgs, ["a", "b", "c"]);
        assert_eq!(
            rejects,
            vec![
                (RejectReason::MalformedJson, 1),
                (RejectReason::MalformedContainer, 1),
                (RejectReason::MalformedContainer, 2),
                (RejectReason::MalformedContainer, 3),
            ]
        );
    }
}

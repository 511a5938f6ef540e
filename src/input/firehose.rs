//! The `firehose` container: subscription filter → Firehose → S3 objects. Once the gzip
//! members are undone (`decompress.rs`) the content is CloudWatch envelopes
//! `{"messageType":"DATA_MESSAGE","logGroup":…,"logStream":…,"logEvents":[{"id","timestamp",
//! "message"}]}` run together with no separator. The JSON splitter copies one envelope at a
//! time into a reusable buffer (bounded by [`MAX_RECORD_BYTES`]), which serde_json parses.
//! serde_json, not simd-json: measured on the sample (`bench_serde_vs_simd`, test profile,
//! best of 25), serde_json parsed 818 MB/s against simd-json's 745 MB/s on the sample's
//! ~2 KB envelopes and 872 against 729 MB/s on 1 MB envelopes; the whole framer ran at
//! 434 / 451 MB/s against 419 / 403 MB/s. The messages are mostly escaped JSON, so both
//! parsers must unescape into new strings and simd-json's SIMD structure pass does not pay
//! for its extra tape. The simd-json path is kept in test builds only, for the benchmark.
//! `CONTROL_MESSAGE` records are skipped; Firehose delivers at least once, so an event id seen
//! before in the same file is dropped and counted as a duplicate.
//!
//! API Gateway's direct-to-Firehose objects hold raw access records (JSON objects) run
//! together with no envelope; each such object's own text is the message.
//!
//! Origins: all of a Firehose object is usually one physical line, so `line` is the 1-based
//! number of the event in the file (a record number, as [`Origin`] allows for line-less
//! containers) and `offset` is the byte offset of the record (envelope) that holds it.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, BufRead};

use memchr::memmem;
use serde::Deserialize;

use super::cli_json::{damage, malformed_json, Damage};
use super::jsonscan::{JsonScanner, Scan};
use super::linereader::invalid_utf8;
use super::{skip, strip_newline, Ctx, Frame, MAX_RECORD_BYTES};
use crate::model::{excerpt, Event, Origin, Reject, RejectReason};

/// One CloudWatch Logs subscription record.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "messageType", borrow, default)]
    message_type: Option<Cow<'a, str>>,
    #[serde(rename = "logGroup", borrow, default)]
    log_group: Option<Cow<'a, str>>,
    #[serde(rename = "logStream", borrow, default)]
    log_stream: Option<Cow<'a, str>>,
    #[serde(rename = "logEvents", borrow, default)]
    log_events: Vec<LogEvent<'a>>,
}

/// One entry of `logEvents`.
#[derive(Deserialize)]
struct LogEvent<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "super::cli_json::lenient_ms")]
    timestamp: Option<i64>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
}

/// Which JSON parser reads the envelopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parser {
    /// serde_json over the validated `&str` (faster here; see the module doc).
    Serde,
    /// simd-json in place over the buffer (test builds: the benchmark's contender).
    #[cfg(test)]
    Simd,
}

/// The parser [`frame`] uses.
pub(crate) const DEFAULT_PARSER: Parser = Parser::Serde;

/// Frames a Firehose object; `start` is the offset of its first byte.
pub(crate) fn frame<R: BufRead>(
    r: R,
    start: u64,
    ctx: &mut Ctx,
    on: &mut dyn FnMut(Frame<'_>),
) -> io::Result<()> {
    frame_with(DEFAULT_PARSER, r, start, ctx, on)
}

/// Per-file state: the parser, its buffers and the event ids seen.
struct State {
    parser: Parser,
    #[cfg(test)]
    simd: simd_json::Buffers,
    /// 128-bit hashes of the event ids seen (16 bytes each, not the 56-digit strings).
    seen: HashSet<u128>,
    hasher: std::hash::RandomState,
    /// Events met so far, duplicates included (the `line` of origins).
    ordinal: u64,
}

impl State {
    /// A 128-bit fingerprint of an event id (two independently keyed SipHashes).
    fn fingerprint(&self, id: &str) -> u128 {
        let mut a = self.hasher.build_hasher();
        a.write(id.as_bytes());
        let mut b = self.hasher.build_hasher();
        b.write_u8(0xa5);
        b.write(id.as_bytes());
        (u128::from(a.finish()) << 64) | u128::from(b.finish())
    }
}

/// [`frame`] with a chosen parser (the benchmark compares both).
pub(crate) fn frame_with<R: BufRead>(
    parser: Parser,
    r: R,
    start: u64,
    ctx: &mut Ctx,
    on: &mut dyn FnMut(Frame<'_>),
) -> io::Result<()> {
    let mut sc = JsonScanner::new(r, start);
    let mut buf = Vec::new();
    let mut st = State {
        parser,
        #[cfg(test)]
        simd: simd_json::Buffers::default(),
        seen: HashSet::new(),
        hasher: std::hash::RandomState::new(),
        ordinal: 0,
    };
    let result = (|| -> io::Result<()> {
        while let Some(b) = sc.peek()? {
            let origin = ctx.origin(sc.line(), sc.offset());
            if b != b'{' {
                sc.bump();
                let Damage(rej) = damage(
                    origin,
                    format!(
                        "byte offset {}: unexpected {:?} between Firehose records; skipped to the \
                         next line that starts with `{{`",
                        origin.offset,
                        char::from(b)
                    ),
                );
                on(Frame::Reject(rej));
                sc.skip_to_line_starting(b'{')?;
                continue;
            }
            buf.clear();
            match sc.value(Some(&mut buf), MAX_RECORD_BYTES)? {
                Scan::Complete => record(&mut buf, origin, &mut st, ctx, on),
                Scan::TooLong(len) => on(Frame::Reject(Reject {
                    origin,
                    reason: RejectReason::LineTooLong,
                    detail: format!(
                        "the Firehose record at byte offset {} is {:.1} MB, over the {} MiB \
                         record limit; skipped",
                        origin.offset,
                        len as f64 / 1e6,
                        MAX_RECORD_BYTES >> 20
                    ),
                    excerpt: excerpt(&buf),
                })),
                Scan::Eof(_) => on(Frame::Reject(Reject {
                    origin,
                    reason: RejectReason::MalformedContainer,
                    detail: format!(
                        "the file ends inside the Firehose record at byte offset {} (it is cut \
                         off); the records before were kept",
                        origin.offset
                    ),
                    excerpt: excerpt(&buf),
                })),
            }
        }
        Ok(())
    })();
    ctx.lines = sc.lines();
    result
}

/// One complete top-level object: an envelope, or a direct access record.
fn record(
    buf: &mut [u8],
    origin: Origin,
    st: &mut State,
    ctx: &mut Ctx,
    on: &mut dyn FnMut(Frame<'_>),
) {
    if memmem::find(buf, b"\"messageType\"").is_none() {
        direct(buf, origin, st, ctx, on);
        return;
    }
    // Keep a copy of the head for rejects (simd-json rewrites the buffer as it parses).
    let head = excerpt(buf);
    let parsed: Result<Envelope<'_>, String> = match st.parser {
        #[cfg(test)]
        Parser::Simd => {
            simd_json::serde::from_slice_with_buffers(buf, &mut st.simd).map_err(|e| e.to_string())
        }
        Parser::Serde => match std::str::from_utf8(buf) {
            Ok(text) => serde_json::from_str(text).map_err(|e| e.to_string()),
            Err(e) => {
                let at = origin.offset + e.valid_up_to() as u64;
                on(Frame::Reject(invalid_utf8(origin, at, buf)));
                return;
            }
        },
    };
    let env = match parsed {
        Ok(env) => env,
        Err(e) => {
            let mut rej = malformed_json(origin, "Firehose record", &e, b"");
            rej.detail = format!(
                "the Firehose record at byte offset {} is not valid JSON ({e}); skipped",
                origin.offset
            );
            rej.excerpt = head;
            on(Frame::Reject(rej));
            return;
        }
    };
    match env.message_type.as_deref() {
        Some("DATA_MESSAGE") => {}
        Some("CONTROL_MESSAGE") => {
            on(Frame::Skip {
                origin: ctx.origin(st.ordinal + 1, origin.offset),
                reason: skip::CONTROL_MESSAGE,
            });
            return;
        }
        _ => {
            on(Frame::Skip {
                origin: ctx.origin(st.ordinal + 1, origin.offset),
                reason: skip::UNKNOWN_MESSAGE_TYPE,
            });
            return;
        }
    }
    let group = env.log_group.as_deref().filter(|g| !g.is_empty());
    let stream = env.log_stream.as_deref().filter(|s| !s.is_empty());
    for ev in &env.log_events {
        st.ordinal += 1;
        let ev_origin = ctx.origin(st.ordinal, origin.offset);
        let id = ev.id.as_deref().filter(|i| !i.is_empty());
        if let Some(id) = id {
            if !st.seen.insert(st.fingerprint(id)) {
                ctx.duplicates += 1;
                continue;
            }
        }
        let Some(message) = ev.message.as_deref() else {
            on(Frame::Reject(Reject {
                origin: ev_origin,
                reason: RejectReason::MalformedContainer,
                detail: format!(
                    "a log event in the Firehose record at byte offset {} has no `message`; \
                     skipped",
                    origin.offset
                ),
                excerpt: head.clone(),
            }));
            continue;
        };
        on(Frame::Event(Event {
            log_time_ms: ev.timestamp,
            log_group: group.or(ctx.path_group.as_deref()),
            log_stream: stream,
            event_id: id,
            message: strip_newline(message),
            origin: ev_origin,
        }));
        ctx.events += 1;
    }
}

/// A direct-to-Firehose access record: its own text is the message.
fn direct(
    buf: &[u8],
    origin: Origin,
    st: &mut State,
    ctx: &mut Ctx,
    on: &mut dyn FnMut(Frame<'_>),
) {
    st.ordinal += 1;
    let ev_origin = ctx.origin(st.ordinal, origin.offset);
    match std::str::from_utf8(buf) {
        Ok(text) => {
            let group = ctx.path_group.clone();
            ctx.emit(
                on,
                Event {
                    log_time_ms: None,
                    log_group: group.as_deref(),
                    log_stream: None,
                    event_id: None,
                    message: text.trim(),
                    origin: ev_origin,
                },
            )
        }
        Err(e) => {
            let at = origin.offset + e.valid_up_to() as u64;
            on(Frame::Reject(invalid_utf8(ev_origin, at, buf)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::testutil::sample;
    use std::io::Read;
    use std::time::Instant;

    fn ctx() -> Ctx {
        Ctx {
            file: 0,
            path_group: None,
            path_stream: None,
            lines: 0,
            events: 0,
            duplicates: 0,
            base_line: 0,
            base_offset: 0,
        }
    }

    /// The decompressed content of both Firehose samples.
    fn sample_json() -> Vec<u8> {
        let mut out = Vec::new();
        for name in [
            "payments-live-cwl-to-s3-1-2025-10-14-14-04-52-103d1d95-932f-4b5d-8e6e-7dc1324490df",
            "payments-live-cwl-to-s3-1-2025-10-14-14-19-53-8a9a9849-1402-41f6-b8af-bbaf7561001e",
        ] {
            let raw = std::fs::read(sample(&format!(
                "firehose/cwl-subscription/2025/10/14/14/{name}"
            )))
            .unwrap();
            flate2::read::MultiGzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .unwrap();
        }
        out
    }

    fn run(parser: Parser, data: &[u8]) -> (Vec<String>, Ctx) {
        let mut c = ctx();
        let mut out = Vec::new();
        frame_with(parser, data, 0, &mut c, &mut |f| {
            out.push(match f {
                Frame::Event(e) => format!(
                    "{:?}|{:?}|{:?}|{:?}|{}|{}",
                    e.log_time_ms, e.log_group, e.log_stream, e.event_id, e.message, e.origin.line
                ),
                Frame::Reject(r) => format!("reject {} {}", r.reason, r.origin.offset),
                Frame::Skip { origin, reason } => format!("skip {reason} {}", origin.offset),
            })
        })
        .unwrap();
        (out, c)
    }

    #[test]
    fn both_parsers_agree() {
        let data = sample_json();
        let (a, ca) = run(Parser::Serde, &data);
        let (b, cb) = run(Parser::Simd, &data);
        assert_eq!(a, b);
        assert_eq!((ca.events, ca.duplicates), (cb.events, cb.duplicates));
        assert_eq!(ca.events, 517);
        // Damaged input too.
        let mut bad = data[..data.len() / 3].to_vec();
        bad.extend_from_slice(
            b"{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[{\"message\":\"\xff\"}]}",
        );
        bad.extend_from_slice(
            b"{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[{\"message\":1}]}",
        );
        bad.extend_from_slice(&data[data.len() / 2..]);
        let (a, _) = run(Parser::Serde, &bad);
        let (b, _) = run(Parser::Simd, &bad);
        // The same events and the same number of rejects (simd-json reports bad UTF-8 as a
        // JSON error, serde_json's path as invalid_utf8).
        let kind = |v: &[String]| -> Vec<String> {
            v.iter()
                .map(|s| {
                    if s.starts_with("reject") {
                        "reject".to_string()
                    } else {
                        s.clone()
                    }
                })
                .collect()
        };
        let (ka, kb) = (kind(&a), kind(&b));
        if let Some(i) = (0..ka.len().min(kb.len())).find(|&i| ka[i] != kb[i]) {
            panic!("frame {i} differs: {:.200} vs {:.200}", ka[i], kb[i]);
        }
        assert_eq!(ka.len(), kb.len());
    }

    #[test]
    fn an_odd_timestamp_costs_the_time_not_the_envelope() {
        let data = br#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":"17","message":"a"},{"id":"2","timestamp":{"x":1},"message":"b"},{"id":"3","timestamp":3,"message":"c"}]}"#;
        for parser in [Parser::Serde, Parser::Simd] {
            let (out, c) = run(parser, data);
            assert_eq!(c.events, 3, "{out:?}");
            let times: Vec<&str> = out.iter().map(|l| l.split('|').next().unwrap()).collect();
            assert_eq!(times, ["Some(17)", "None", "Some(3)"]);
        }
    }

    /// Parses one envelope with `parser` and returns the message bytes seen (work to keep).
    fn parse_only(parser: Parser, rec: &mut [u8], simd: &mut simd_json::Buffers) -> usize {
        let env: Envelope<'_> = match parser {
            Parser::Serde => serde_json::from_str(std::str::from_utf8(rec).unwrap()).unwrap(),
            Parser::Simd => simd_json::serde::from_slice_with_buffers(rec, simd).unwrap(),
        };
        env.log_events
            .iter()
            .map(|e| e.message.as_deref().map_or(0, str::len))
            .sum()
    }

    /// The sample's envelopes with distinct event ids, `copies` times over.
    fn replicate(one: &[u8], copies: usize) -> Vec<u8> {
        let mut data = Vec::new();
        for k in 0..copies {
            let tag = format!("\"id\":\"{k:03}");
            let mut rest = one;
            while let Some(i) = memmem::find(rest, b"\"id\":\"") {
                data.extend_from_slice(&rest[..i]);
                data.extend_from_slice(tag.as_bytes());
                rest = &rest[i + 6..];
            }
            data.extend_from_slice(rest);
        }
        data
    }

    /// Envelopes of about `size` bytes: the sample's log events regrouped into big batches.
    fn big_records(one: &[u8], size: usize) -> Vec<u8> {
        let mut events = Vec::new();
        let mut sc = JsonScanner::new(one, 0);
        let mut buf = Vec::new();
        while sc.peek().unwrap().is_some() {
            buf.clear();
            sc.value(Some(&mut buf), usize::MAX >> 1).unwrap();
            let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
            for e in v["logEvents"].as_array().unwrap() {
                events.push(serde_json::to_string(e).unwrap());
            }
        }
        let mut out = Vec::new();
        let mut k = 0usize;
        while out.len() < 12_000_000 {
            let mut rec = String::from(
                "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"1\",\"logGroup\":\"g\",\
                 \"logStream\":\"s\",\"subscriptionFilters\":[\"f\"],\"logEvents\":[",
            );
            let mut first = true;
            while rec.len() < size {
                if !first {
                    rec.push(',');
                }
                first = false;
                let e = &events[k % events.len()];
                rec.push_str(&e.replacen("\"id\":\"", &format!("\"id\":\"{k:07}"), 1));
                k += 1;
            }
            rec.push_str("]}");
            out.extend_from_slice(rec.as_bytes());
        }
        out
    }

    /// `cargo test bench_serde_vs_simd -- --ignored --nocapture` (test profile, opt-level 2).
    /// Parse-only and whole-framer throughput of both parsers, on the sample's envelopes
    /// (about 2 KB each) and on the same events batched into 1 MB envelopes; the parsers
    /// alternate, and the best of 25 rounds counts (the machine is shared).
    #[test]
    #[ignore]
    fn bench_serde_vs_simd() {
        let one = sample_json();
        for (label, data) in [
            ("sample envelopes (~2 KB)", replicate(&one, 60)),
            ("1 MB envelopes", big_records(&one, 1 << 20)),
        ] {
            let mb = data.len() as f64 / 1e6;
            let mut records = Vec::new();
            let mut sc = JsonScanner::new(&data[..], 0);
            while sc.peek().unwrap().is_some() {
                let mut buf = Vec::new();
                sc.value(Some(&mut buf), usize::MAX >> 1).unwrap();
                records.push(buf);
            }
            let mut best = [[f64::MAX; 2]; 2];
            let mut simd = simd_json::Buffers::default();
            for _ in 0..25 {
                for (p, parser) in [Parser::Serde, Parser::Simd].into_iter().enumerate() {
                    let mut copies = records.clone();
                    let t = Instant::now();
                    let n: usize = copies
                        .iter_mut()
                        .map(|r| parse_only(parser, r, &mut simd))
                        .sum();
                    best[p][0] = best[p][0].min(t.elapsed().as_secs_f64());
                    assert!(n > 0);
                    let t = Instant::now();
                    let mut c = ctx();
                    frame_with(parser, &data[..], 0, &mut c, &mut |_| {}).unwrap();
                    best[p][1] = best[p][1].min(t.elapsed().as_secs_f64());
                    assert!(c.events > 0);
                }
            }
            for (p, name) in ["serde_json", "simd-json"].iter().enumerate() {
                println!(
                    "{label}, {mb:.1} MB, {} records: {name}: parse {:.0} MB/s, framer {:.0} MB/s",
                    records.len(),
                    mb / best[p][0],
                    mb / best[p][1]
                );
            }
        }
    }
}

//! serde_json vs simd-json vs sonic-rs, where each one should shine.
//!
//! (a) short access lines (~300–1,100 B, the enhanced and troubleshooting layouts from a
//!     `gatelog generate` export): each parser fills the same borrowed flat key/value list
//!     through serde (what `records::access` does), plus each library's DOM, plus gatelog's own
//!     `AccessParser` on the same lines for reference;
//! (b) large documents: a multi-MB `aws logs filter-log-events` page (`{"events":[…]}`, every
//!     message an escaped JSON string) and a ~1 MB Firehose `DATA_MESSAGE`, deserialised into a
//!     borrowed typed struct, and into each library's DOM.
//!
//! simd-json parses in place: its inputs are copied into a fresh mutable buffer in the
//! batch setup, outside the timed region (a streaming reader hands it an owned buffer anyway).
//!
//! `cargo bench --bench json`. Throughput is MB/s of JSON text per core.

mod common;

use std::borrow::Cow;
use std::fmt;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use gatelog::generate::Container;
use gatelog::model::Origin;
use gatelog::records::access::AccessParser;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use common::*;

/// A JSON scalar as text (what an access-record value becomes).
#[allow(dead_code)]
enum Scalar<'a> {
    Str(Cow<'a, str>),
    Num(f64),
    Bool(bool),
    Null,
    Nested,
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Num(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::Num(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Scalar::Num(v))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Null)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                while m.next_entry::<de::IgnoredAny, de::IgnoredAny>()?.is_some() {}
                Ok(Scalar::Nested)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
                while s.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Scalar::Nested)
            }
        }
        d.deserialize_any(V)
    }
}

/// A flat JSON object: borrowed keys and scalar values in document order.
struct Flat<'a>(#[allow(dead_code)] Vec<(Cow<'a, str>, Scalar<'a>)>);

impl<'de> Deserialize<'de> for Flat<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Flat<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(m.size_hint().unwrap_or(40));
                while let Some(k) = m.next_key::<Cow<'de, str>>()? {
                    out.push((k, m.next_value::<Scalar<'de>>()?));
                }
                Ok(Flat(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// One `filter-log-events` page.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Page<'a> {
    #[serde(borrow)]
    events: Vec<CliEvent<'a>>,
    #[serde(rename = "nextToken", borrow, default)]
    next_token: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct CliEvent<'a> {
    #[serde(rename = "logStreamName", borrow, default)]
    log_stream_name: Option<Cow<'a, str>>,
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(borrow)]
    message: Cow<'a, str>,
    #[serde(rename = "ingestionTime", default)]
    ingestion_time: Option<i64>,
    #[serde(rename = "eventId", borrow, default)]
    event_id: Option<Cow<'a, str>>,
}

/// One CloudWatch Logs subscription `DATA_MESSAGE`.
#[derive(Deserialize)]
#[allow(dead_code)]
struct DataMessage<'a> {
    #[serde(rename = "messageType", borrow)]
    message_type: Cow<'a, str>,
    #[serde(borrow)]
    owner: Cow<'a, str>,
    #[serde(rename = "logGroup", borrow)]
    log_group: Cow<'a, str>,
    #[serde(rename = "logStream", borrow)]
    log_stream: Cow<'a, str>,
    #[serde(rename = "subscriptionFilters", borrow)]
    subscription_filters: Vec<Cow<'a, str>>,
    #[serde(rename = "logEvents", borrow)]
    log_events: Vec<LogEvent<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct LogEvent<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    timestamp: i64,
    #[serde(borrow)]
    message: Cow<'a, str>,
}

/// How many strings a parse had to unescape (sanity check: the large documents must exercise
/// the escaped-string path).
fn owned_messages(p: &Page) -> usize {
    p.events
        .iter()
        .filter(|e| matches!(e.message, Cow::Owned(_)))
        .count()
}

/// Short lines: the access logs of a generated `lines` export.
fn access_lines() -> Vec<String> {
    let ex = Export::new(Container::Lines, requests(), false);
    let mut out = Vec::new();
    for f in ex.matching("/aws/apigateway/") {
        let text = String::from_utf8(read(f)).unwrap();
        out.extend(lines(&text).into_iter().map(str::to_string));
    }
    out
}

/// Copies `lines` into one mutable buffer (newline separated) and returns their ranges.
fn packed(lines: &[String]) -> (Vec<u8>, Vec<(usize, usize)>) {
    let mut buf = Vec::new();
    let mut ranges = Vec::new();
    for l in lines {
        let s = buf.len();
        buf.extend_from_slice(l.as_bytes());
        ranges.push((s, buf.len()));
        buf.push(b'\n');
    }
    (buf, ranges)
}

fn short_lines(c: &mut Criterion) {
    let lines = access_lines();
    let bytes: u64 = lines.iter().map(|l| l.len() as u64 + 1).sum();
    eprintln!(
        "json/short: {} access lines, {} bytes, {:.0} B/line",
        lines.len(),
        bytes,
        bytes as f64 / lines.len() as f64
    );
    let (buf, ranges) = packed(&lines);
    let mut g = c.benchmark_group("json_short_access_lines");
    g.throughput(Throughput::Bytes(bytes));

    g.bench_function("serde_json_from_str_flat", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(serde_json::from_str::<Flat>(l).unwrap());
            }
        })
    });
    g.bench_function("serde_json_from_slice_flat", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(serde_json::from_slice::<Flat>(l.as_bytes()).unwrap());
            }
        })
    });
    g.bench_function("sonic_rs_from_str_flat", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(sonic_rs::from_str::<Flat>(l).unwrap());
            }
        })
    });
    g.bench_function("simd_json_in_place_flat", |b| {
        let mut bufs = simd_json::Buffers::default();
        b.iter_batched_ref(
            || buf.clone(),
            |data| {
                for &(s, e) in &ranges {
                    black_box(
                        simd_json::serde::from_slice_with_buffers::<Flat>(
                            &mut data[s..e],
                            &mut bufs,
                        )
                        .unwrap(),
                    );
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("serde_json_value_dom", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(serde_json::from_str::<serde_json::Value>(l).unwrap());
            }
        })
    });
    g.bench_function("sonic_rs_value_dom", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(sonic_rs::from_str::<sonic_rs::Value>(l).unwrap());
            }
        })
    });
    g.bench_function("simd_json_borrowed_value_dom", |b| {
        let mut bufs = simd_json::Buffers::default();
        b.iter_batched_ref(
            || buf.clone(),
            |data| {
                for &(s, e) in &ranges {
                    black_box(
                        simd_json::to_borrowed_value_with_buffers(&mut data[s..e], &mut bufs)
                            .unwrap(),
                    );
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("simd_json_tape_only", |b| {
        let mut bufs = simd_json::Buffers::default();
        b.iter_batched_ref(
            || buf.clone(),
            |data| {
                for &(s, e) in &ranges {
                    let tape = simd_json::Deserializer::from_slice_with_buffers(
                        &mut data[s..e],
                        &mut bufs,
                    )
                    .unwrap();
                    black_box(tape);
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("gatelog_access_parser", |b| {
        let mut p = AccessParser::new(None);
        b.iter(|| {
            for l in &lines {
                black_box(p.parse(l, Origin::default()).ok());
            }
        })
    });
    g.finish();
}

/// A large `filter-log-events` page: the generated cli-json access log (all stages), its
/// events concatenated into one `events` array of at least `GATELOG_BENCH_MB` MB.
fn large_cli_page() -> Vec<u8> {
    let ex = Export::new(Container::CliJson, requests(), false);
    let mut events: Vec<serde_json::Value> = Vec::new();
    for f in ex.matching("/aws/apigateway/") {
        // A file may hold several pages run together.
        let data = read(f);
        for page in serde_json::Deserializer::from_slice(&data).into_iter::<serde_json::Value>() {
            let page = page.unwrap();
            if let Some(ev) = page.get("events").and_then(|e| e.as_array()) {
                events.extend(ev.iter().cloned());
            }
        }
    }
    assert!(!events.is_empty());
    let unit = events.len();
    let mut out;
    loop {
        out = serde_json::to_vec_pretty(&serde_json::json!({ "events": events })).unwrap();
        if out.len() >= target_bytes() {
            break;
        }
        let more: Vec<_> = events[..unit].to_vec();
        events.extend(more);
    }
    out
}

/// A large Firehose `DATA_MESSAGE`: access lines of the generated export as `logEvents`,
/// about 1 MB (CloudWatch subscription batches go up to about that size).
fn large_firehose_record() -> Vec<u8> {
    let lines = access_lines();
    let mut events = Vec::new();
    let mut size = 0;
    for (i, l) in lines.iter().cycle().enumerate() {
        size += l.len() + 80;
        events.push(serde_json::json!({
            "id": format!("{:056}", 38_000_000_000_000_000u64 + i as u64),
            "timestamp": 1_762_160_400_000i64 + i as i64 * 37,
            "message": l,
        }));
        if size >= 1_000_000 {
            break;
        }
    }
    serde_json::to_vec(&serde_json::json!({
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/aws/apigateway/ed6jxj1uly/prod",
        "logStream": "7186c04fbfa7b528e9068a43f055dc6d",
        "subscriptionFilters": ["to-firehose"],
        "logEvents": events,
    }))
    .unwrap()
}

fn large_docs(c: &mut Criterion) {
    let page = large_cli_page();
    let record = large_firehose_record();
    {
        let p: Page = serde_json::from_slice(&page).unwrap();
        eprintln!(
            "json/large: cli-json page {} bytes, {} events ({} unescaped); firehose record {} bytes",
            page.len(),
            p.events.len(),
            owned_messages(&p),
            record.len()
        );
    }
    let page_str = std::str::from_utf8(&page).unwrap();
    let record_str = std::str::from_utf8(&record).unwrap();

    let mut g = c.benchmark_group("json_large_cli_page");
    g.throughput(Throughput::Bytes(page.len() as u64));
    g.bench_function("serde_json_from_str_struct", |b| {
        b.iter(|| black_box(serde_json::from_str::<Page>(page_str).unwrap().events.len()))
    });
    g.bench_function("serde_json_from_slice_struct", |b| {
        b.iter(|| black_box(serde_json::from_slice::<Page>(&page).unwrap().events.len()))
    });
    g.bench_function("sonic_rs_from_str_struct", |b| {
        b.iter(|| black_box(sonic_rs::from_str::<Page>(page_str).unwrap().events.len()))
    });
    g.bench_function("simd_json_in_place_struct", |b| {
        let mut bufs = simd_json::Buffers::default();
        b.iter_batched_ref(
            || page.clone(),
            |data| {
                black_box(
                    simd_json::serde::from_slice_with_buffers::<Page>(data, &mut bufs)
                        .unwrap()
                        .events
                        .len(),
                )
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("serde_json_value_dom", |b| {
        b.iter(|| black_box(serde_json::from_str::<serde_json::Value>(page_str).unwrap()))
    });
    g.bench_function("sonic_rs_value_dom", |b| {
        b.iter(|| black_box(sonic_rs::from_str::<sonic_rs::Value>(page_str).unwrap()))
    });
    g.bench_function("simd_json_borrowed_value_dom", |b| {
        let mut bufs = simd_json::Buffers::default();
        b.iter_batched_ref(
            || page.clone(),
            |data| black_box(simd_json::to_borrowed_value_with_buffers(data, &mut bufs).is_ok()),
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("json_large_firehose_record");
    g.throughput(Throughput::Bytes(record.len() as u64));
    g.bench_function("serde_json_from_str_struct", |b| {
        b.iter(|| {
            black_box(
                serde_json::from_str::<DataMessage>(record_str)
                    .unwrap()
                    .log_events
                    .len(),
            )
        })
    });
    g.bench_function("sonic_rs_from_str_struct", |b| {
        b.iter(|| {
            black_box(
                sonic_rs::from_str::<DataMessage>(record_str)
                    .unwrap()
                    .log_events
                    .len(),
            )
        })
    });
    g.bench_function("simd_json_in_place_struct", |b| {
        let mut bufs = simd_json::Buffers::default();
        b.iter_batched_ref(
            || record.clone(),
            |data| {
                black_box(
                    simd_json::serde::from_slice_with_buffers::<DataMessage>(data, &mut bufs)
                        .unwrap()
                        .log_events
                        .len(),
                )
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = short_lines, large_docs
}
criterion_main!(benches);

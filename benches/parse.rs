//! Parser and classifier throughput: access records (enhanced JSON, troubleshooting JSON, CLF,
//! CSV, XML), Lambda authorizer lines, and join + classify per request. Run with
//! `cargo bench --bench parse`; figures are MB/s of message bytes per core.

use std::hint::black_box;

mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use gatelog::classify::{classify, Facts};
use gatelog::model::{Event, Origin};
use gatelog::records::access::{AccessParser, Parsed};
use gatelog::records::authorizer::AuthorizerLog;

const ENHANCED: &str = include_str!("../tests/fixtures/samples/access/enhanced.jsonl");
const TROUBLESHOOTING: &str =
    include_str!("../tests/fixtures/samples/access/troubleshooting.jsonl");
const CLF: &str = include_str!("../tests/fixtures/samples/access/console-clf.log");
const CSV: &str = include_str!("../tests/fixtures/samples/access/console-csv.csv");
const XML: &str = include_str!("../tests/fixtures/samples/access/console-xml.xml");
const LAMBDA: &str =
    include_str!("../tests/fixtures/samples/lambda/payments-live-request-authorizer.text.log");

fn access(c: &mut Criterion) {
    let mut g = c.benchmark_group("access_record");
    for (name, text) in [
        ("enhanced_json", ENHANCED),
        ("troubleshooting_json", TROUBLESHOOTING),
        ("console_clf", CLF),
        ("console_csv", CSV),
        ("console_xml", XML),
    ] {
        let lines: Vec<&str> = text.lines().collect();
        g.throughput(Throughput::Bytes(
            lines.iter().map(|l| l.len() as u64 + 1).sum(),
        ));
        g.bench_function(name, |b| {
            let mut p = AccessParser::new(None);
            b.iter(|| {
                for l in &lines {
                    black_box(p.parse(l, Origin::default()).ok());
                }
            })
        });
    }
    g.finish();
}

fn authorizer(c: &mut Criterion) {
    let mut g = c.benchmark_group("authorizer_log");
    let lines: Vec<&str> = LAMBDA.lines().collect();
    g.throughput(Throughput::Bytes(
        lines.iter().map(|l| l.len() as u64 + 1).sum(),
    ));
    g.bench_function("text_format", |b| {
        b.iter(|| {
            let mut log = AuthorizerLog::new();
            for (i, l) in lines.iter().enumerate() {
                let ev = Event {
                    log_time_ms: None,
                    log_group: None,
                    log_stream: None,
                    event_id: None,
                    message: l,
                    origin: Origin {
                        file: 0,
                        line: i as u64 + 1,
                        offset: 0,
                    },
                };
                log.push(&ev, Some("fn"));
            }
            black_box(log.finish())
        })
    });
    g.finish();
}

fn classify_bench(c: &mut Criterion) {
    let mut p = AccessParser::new(None);
    let recs: Vec<_> = ENHANCED
        .lines()
        .chain(TROUBLESHOOTING.lines())
        .filter_map(|l| match p.parse(l, Origin::default()) {
            Ok(Parsed::Record(r)) => Some(*r),
            _ => None,
        })
        .collect();
    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Elements(recs.len() as u64));
    g.bench_function("enhanced_and_troubleshooting", |b| {
        b.iter(|| {
            for r in &recs {
                black_box(classify(&Facts {
                    access: r,
                    invocation: None,
                    authorizer_log_covers: false,
                    exec: None,
                }));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, access, authorizer, classify_bench);
criterion_main!(benches);

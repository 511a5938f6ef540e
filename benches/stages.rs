//! The stages after framing, on a `gatelog generate` export (so on realistic volumes and
//! mixes, not only the hand-written fixtures `benches/parse.rs` uses):
//!
//! - `records`: the access-record parser (enhanced and troubleshooting JSON), the Lambda
//!   authorizer-log parser (REQUEST and TOKEN authorizers) and the execution-log parser,
//!   MB/s of message bytes;
//! - `join_classify`: `gatelog::join::join` + `gatelog::classify::classify` over every request,
//!   requests/s (`Throughput::Elements`), and each half alone;
//! - `parquet_sink`: `gatelog::sink::parquet::request_batch` + `ArrowWriter` (gatelog's writer
//!   properties, zstd 1) into `std::io::sink()`, MB/s of the access-log JSON the rows came from;
//! - `spill`: parsed access records to the spill encoding (postcard, as `gatelog::spill` writes
//!   them) and back, MB/s of the access-log JSON they came from.
//!
//! `cargo bench --bench stages`. `GATELOG_BENCH_REQUESTS` (default 4000) sets the export size;
//! the join and the sink use 5× that, so that row groups and hash maps have a realistic size.

mod common;

use std::borrow::Cow;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use gatelog::classify::{classify, Facts};
use gatelog::generate::Container;
use gatelog::join::{join, JoinOutput};
use gatelog::model::{Event, Invocation, Origin, RequestRow};
use gatelog::pipeline::request_row;
use gatelog::records::access::{AccessParser, AccessRecord, Parsed};
use gatelog::records::authorizer::AuthorizerLog;
use gatelog::records::execution::{ExecFacts, ExecutionLog};
use gatelog::records::vars::Var;
use gatelog::sink::parquet::{request_batch, table_writer_properties, Compression, Table};
use parquet::arrow::ArrowWriter;

use common::*;

/// The messages of one generated file, with the log group its path names.
struct Source {
    group: String,
    text: String,
}

impl Source {
    fn lines(&self) -> Vec<&str> {
        lines(&self.text)
    }
    fn bytes(&self) -> u64 {
        self.lines().iter().map(|l| l.len() as u64 + 1).sum()
    }
}

/// The `lines` export's files of one kind (`/aws/apigateway/`, `/aws/lambda/`,
/// `API-Gateway-Execution-Logs_`), by path.
fn sources(ex: &Export, needle: &str) -> Vec<Source> {
    ex.matching(needle)
        .into_iter()
        .map(|p| {
            let display = p.to_string_lossy();
            let at = display.find(needle.trim_end_matches('/')).unwrap_or(0);
            let group = display[at..]
                .rsplit_once('/')
                .map(|(g, _)| g.to_string())
                .unwrap_or_default();
            let group = if group.starts_with("aws/") || group.starts_with("/aws/") {
                format!("/{}", group.trim_start_matches('/'))
            } else {
                group
            };
            Source {
                group,
                text: String::from_utf8(read(p)).unwrap(),
            }
        })
        .collect()
}

fn event<'a>(message: &'a str, group: &'a str, line: u64) -> Event<'a> {
    Event {
        log_time_ms: None,
        log_group: Some(group),
        log_stream: None,
        event_id: None,
        message,
        origin: Origin {
            file: 0,
            line,
            offset: 0,
        },
    }
}

/// `(api, stage)` of `/aws/apigateway/API/STAGE` or `API-Gateway-Execution-Logs_API/STAGE`.
fn api_stage(group: &str) -> Option<(&str, &str)> {
    let rest = group
        .strip_prefix("API-Gateway-Execution-Logs_")
        .or_else(|| group.strip_prefix("/aws/apigateway/"))?;
    rest.split_once('/')
}

/// Everything the join needs, parsed from a generated `lines` export.
struct Parsed3 {
    access: Vec<AccessRecord>,
    access_bytes: u64,
    invocations: Vec<Invocation>,
    exec: Vec<(String, ExecFacts)>,
}

fn parse_export(ex: &Export) -> Parsed3 {
    let mut access = Vec::new();
    let mut access_bytes = 0;
    for s in sources(ex, "/aws/apigateway/") {
        let mut p = AccessParser::new(None);
        let api = api_stage(&s.group).map(|(a, st)| {
            (
                Cow::<'static, str>::Owned(a.to_string()),
                Cow::<'static, str>::Owned(st.to_string()),
            )
        });
        for (i, l) in s.lines().into_iter().enumerate() {
            if let Ok(Parsed::Record(mut r)) = p.parse(
                l,
                Origin {
                    file: 0,
                    line: i as u64 + 1,
                    offset: 0,
                },
            ) {
                if r.get(Var::ApiId).is_none() || r.get(Var::Stage).is_none() {
                    r.group_api = api.clone();
                }
                access_bytes += l.len() as u64 + 1;
                access.push(*r);
            }
        }
    }
    let mut invocations = Vec::new();
    for s in sources(ex, "/aws/lambda/") {
        let mut log = AuthorizerLog::new();
        let function = s
            .group
            .strip_prefix("/aws/lambda/")
            .unwrap_or("fn")
            .to_string();
        for (i, l) in s.lines().into_iter().enumerate() {
            log.push(&event(l, &s.group, i as u64 + 1), Some(&function));
        }
        invocations.extend(log.finish());
    }
    let mut exec = Vec::new();
    for s in sources(ex, "API-Gateway-Execution-Logs_") {
        let mut log = ExecutionLog::new();
        for (i, l) in s.lines().into_iter().enumerate() {
            log.push(
                l,
                None,
                Origin {
                    file: 0,
                    line: i as u64 + 1,
                    offset: 0,
                },
                api_stage(&s.group),
            );
        }
        exec.extend(log.finish());
    }
    Parsed3 {
        access,
        access_bytes,
        invocations,
        exec,
    }
}

fn records(c: &mut Criterion) {
    let ex = Export::new(Container::Lines, requests(), false);
    let mut g = c.benchmark_group("records");

    for s in sources(&ex, "/aws/apigateway/") {
        let name = if s.group.ends_with("/prod") {
            "access_enhanced_json"
        } else {
            "access_troubleshooting_json"
        };
        let lines = s.lines();
        g.throughput(Throughput::Bytes(s.bytes()));
        g.bench_function(name, |b| {
            let mut p = AccessParser::new(None);
            b.iter(|| {
                for l in &lines {
                    black_box(p.parse(l, Origin::default()).ok());
                }
            })
        });
    }

    for s in sources(&ex, "/aws/lambda/") {
        let function = s.group.strip_prefix("/aws/lambda/").unwrap_or("fn");
        let name = if function.contains("token") {
            "authorizer_token_text"
        } else {
            "authorizer_request_text"
        };
        let lines = s.lines();
        g.throughput(Throughput::Bytes(s.bytes()));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut log = AuthorizerLog::new();
                for (i, l) in lines.iter().enumerate() {
                    log.push(&event(l, &s.group, i as u64 + 1), Some(function));
                }
                black_box(log.finish())
            })
        });
    }

    for s in sources(&ex, "API-Gateway-Execution-Logs_") {
        if !s.group.ends_with("/prod") {
            continue;
        }
        let lines = s.lines();
        let api = api_stage(&s.group);
        g.throughput(Throughput::Bytes(s.bytes()));
        g.bench_function("execution_log", |b| {
            b.iter(|| {
                let mut log = ExecutionLog::new();
                for (i, l) in lines.iter().enumerate() {
                    log.push(
                        l,
                        None,
                        Origin {
                            file: 0,
                            line: i as u64 + 1,
                            offset: 0,
                        },
                        api,
                    );
                }
                black_box(log.finish())
            })
        });
    }
    g.finish();
}

fn classify_all(out: &JoinOutput) -> usize {
    let mut denied = 0;
    for j in &out.requests {
        let c = classify(&Facts {
            access: &j.access,
            invocation: j.invocation.map(|(i, m)| (&out.invocations[i], m)),
            authorizer_log_covers: j.authorizer_log_covers,
            exec: j.exec.as_ref(),
        });
        denied += c.denied as usize;
    }
    denied
}

fn join_classify(c: &mut Criterion) {
    let ex = Export::new(Container::Lines, 5 * requests(), false);
    let p = parse_export(&ex);
    let n = p.access.len() as u64;
    {
        let out = join(p.access.clone(), p.invocations.clone(), p.exec.clone());
        let linked = out
            .requests
            .iter()
            .filter(|j| j.invocation.is_some())
            .count();
        eprintln!(
            "join_classify: {n} access records, {} invocations, {} execution ids → {} requests, {linked} linked, {} denied",
            p.invocations.len(),
            p.exec.len(),
            out.requests.len(),
            classify_all(&out)
        );
    }
    let mut g = c.benchmark_group("join_classify");
    g.throughput(Throughput::Elements(n));
    g.bench_function("join_then_classify", |b| {
        b.iter_batched(
            || (p.access.clone(), p.invocations.clone(), p.exec.clone()),
            |(a, i, e)| {
                let out = join(a, i, e);
                black_box(classify_all(&out));
                out
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("join_only", |b| {
        b.iter_batched(
            || (p.access.clone(), p.invocations.clone(), p.exec.clone()),
            |(a, i, e)| join(a, i, e),
            BatchSize::LargeInput,
        )
    });
    let out = join(p.access.clone(), p.invocations.clone(), p.exec.clone());
    g.bench_function("classify_only", |b| {
        b.iter(|| black_box(classify_all(&out)))
    });
    // Classify and build the output rows (`pipeline::request_row`), then free them: the
    // per-request work between the join and the Arrow batches.
    g.bench_function("request_rows", |b| b.iter(|| rows_of(&out).len()));
    g.finish();
}

/// The output rows, built by `pipeline::request_row` as `analyze` builds them.
fn rows_of(out: &JoinOutput) -> Vec<RequestRow<'_>> {
    static FILES: std::sync::LazyLock<[Arc<str>; 1]> =
        std::sync::LazyLock::new(|| ["aws/apigateway/ed6jxj1uly/prod/access.log".into()]);
    let api = gatelog::apiconfig::ApiConfig::default();
    out.requests
        .iter()
        .map(|j| {
            let inv = j.invocation.map(|(i, m)| (&out.invocations[i], m));
            request_row(j, inv, &*FILES, &api)
        })
        .collect()
}

fn write_parquet(batch: &arrow_array::RecordBatch) -> usize {
    let props = table_writer_properties(Table::Requests, Compression::default());
    let mut w = ArrowWriter::try_new(std::io::sink(), batch.schema(), Some(props)).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
    batch.num_rows()
}

fn parquet_sink(c: &mut Criterion) {
    let ex = Export::new(Container::Lines, 5 * requests(), false);
    let p = parse_export(&ex);
    let bytes = p.access_bytes;
    let out = join(p.access, p.invocations, p.exec);
    let rows = rows_of(&out);
    let batch = request_batch(&rows).unwrap();
    {
        let props = table_writer_properties(Table::Requests, Compression::default());
        let mut buf = Vec::new();
        let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        eprintln!(
            "parquet_sink: {} rows from {bytes} bytes of access JSON → {} bytes of Parquet (zstd 1), Arrow {} bytes",
            rows.len(),
            buf.len(),
            batch.get_array_memory_size()
        );
    }
    let mut g = c.benchmark_group("parquet_sink");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("request_batch_plus_arrow_writer_zstd1", |b| {
        b.iter(|| {
            let batch = request_batch(black_box(&rows)).unwrap();
            write_parquet(&batch)
        })
    });
    g.bench_function("request_batch_only", |b| {
        b.iter(|| request_batch(black_box(&rows)).unwrap().num_rows())
    });
    g.bench_function("arrow_writer_zstd1_only", |b| {
        b.iter(|| write_parquet(black_box(&batch)))
    });
    g.finish();
}

fn spill(c: &mut Criterion) {
    let ex = Export::new(Container::Lines, requests(), false);
    let p = parse_export(&ex);
    let bytes = p.access_bytes;
    let encode = |records: &[AccessRecord]| {
        let mut out = Vec::new();
        for r in records {
            out = postcard::to_extend(r, out).unwrap();
        }
        out
    };
    let encoded: Vec<Vec<u8>> = p
        .access
        .iter()
        .map(|r| postcard::to_allocvec(r).unwrap())
        .collect();
    eprintln!(
        "spill: {} records from {bytes} bytes of access JSON → {} bytes encoded",
        p.access.len(),
        encoded.iter().map(Vec::len).sum::<usize>()
    );
    let mut g = c.benchmark_group("spill");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("encode_access_records", |b| {
        b.iter(|| encode(black_box(&p.access)).len())
    });
    g.bench_function("decode_access_records", |b| {
        b.iter(|| {
            encoded.iter().fold(0u64, |h, e| {
                let r = postcard::from_bytes::<AccessRecord>(black_box(e)).unwrap();
                h.wrapping_add(r.content_hash)
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = records, join_classify, parquet_sink, spill
}
criterion_main!(benches);

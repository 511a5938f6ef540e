//! The input stage: every container framer through the public entry point
//! (`gatelog::input::read_stream` over in-memory bytes, container detected from content as in a
//! real run), and gzip decoding (flate2 with the zlib-rs backend alone, against the input stage's
//! own decode + frame path).
//!
//! `cargo bench --bench input`. Throughput is MB/s of **decompressed** input per core.
//! Inputs: a `gatelog generate` export per container (all its log groups concatenated: access,
//! Lambda authorizer and execution logs), the bundled `tail` and Insights CSV samples, each
//! replicated to at least `GATELOG_BENCH_MB` (default 4) MB.

mod common;

use std::hint::black_box;
use std::io::Read;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gatelog::generate::Container;
use gatelog::input::{read_stream, ContainerKind, Frame, InputFile};

use common::*;

/// Frames `data` (detecting the container), returning events + rejects + skips seen.
fn frame_all(file: &InputFile, data: &[u8]) -> (u64, Option<ContainerKind>) {
    let mut n = 0u64;
    let mut msg_bytes = 0usize;
    let stats = read_stream(file, data, None, &mut |f| match f {
        Frame::Event(ev) => {
            n += 1;
            msg_bytes += ev.message.len();
        }
        Frame::Reject(_) | Frame::Skip { .. } => n += 1,
    })
    .expect("read_stream");
    black_box(msg_bytes);
    (n, stats.container)
}

/// Every generated file of `container`, decompressed and concatenated, in file order.
fn generated(container: Container) -> Vec<u8> {
    let ex = Export::new(container, requests(), false);
    let mut all = Vec::new();
    for f in &ex.files {
        let name = f.to_string_lossy();
        if name.ends_with(".json") && name.contains(".expected") {
            continue;
        }
        if name.ends_with("aws-logs-write-test") {
            continue;
        }
        let mut d = read_plain(f);
        if !d.ends_with(b"\n") {
            d.push(b'\n');
        }
        all.extend_from_slice(&d);
    }
    all
}

/// The bundled tail sample: all four files' lines, replicated.
fn tail_sample() -> Vec<u8> {
    let mut unit = Vec::new();
    for f in [
        "access.txt",
        "execution.txt",
        "payments-live-request-authorizer.txt",
        "payments-live-token-authorizer.txt",
    ] {
        unit.extend_from_slice(&read(&std::path::Path::new(SAMPLES).join("tail").join(f)));
        if !unit.ends_with(b"\n") {
            unit.push(b'\n');
        }
    }
    replicate(&unit, target_bytes())
}

/// The bundled Insights CSV sample: the header once, the rows replicated.
fn insights_sample() -> Vec<u8> {
    let raw = read(
        &std::path::Path::new(SAMPLES)
            .join("insights")
            .join("logs-insights-results.csv"),
    );
    let split = memchr::memchr(b'\n', &raw).expect("header") + 1;
    let mut out = raw[..split].to_vec();
    out.extend_from_slice(&replicate(&raw[split..], target_bytes()));
    out
}

fn framers(c: &mut Criterion) {
    let inputs: Vec<(&str, ContainerKind, Vec<u8>)> = vec![
        (
            "s3-export",
            ContainerKind::S3Export,
            replicate(&generated(Container::S3Export), target_bytes()),
        ),
        (
            "cli-json",
            ContainerKind::CliJson,
            replicate(&generated(Container::CliJson), target_bytes()),
        ),
        (
            "lines",
            ContainerKind::Lines,
            replicate(&generated(Container::Lines), target_bytes()),
        ),
        (
            "firehose",
            ContainerKind::Firehose,
            replicate(&generated(Container::Firehose), target_bytes()),
        ),
        ("tail", ContainerKind::Tail, tail_sample()),
        (
            "insights-csv",
            ContainerKind::InsightsCsv,
            insights_sample(),
        ),
    ];
    let mut g = c.benchmark_group("framer");
    for (name, kind, data) in &inputs {
        let file = input_file(&format!("bench/{name}.log"));
        let (n, detected) = frame_all(&file, data);
        assert_eq!(
            detected,
            Some(*kind),
            "{name}: container detected as {detected:?}"
        );
        eprintln!("framer/{name}: {} bytes, {n} frames", data.len());
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_function(*name, |b| b.iter(|| frame_all(&file, black_box(data))));
    }
    g.finish();
}

fn gzip_decode(c: &mut Criterion) {
    // The generated `lines` export (access, authorizer, execution logs), gzip level 6.
    let plain = replicate(&generated(Container::Lines), 4 * target_bytes());
    let gz = gzip(&plain);
    // CreateExportTask objects exactly as generated (CloudWatch's own gzip), concatenated.
    let s3 = Export::new(Container::S3Export, requests(), false);
    let mut s3_gz = Vec::new();
    for f in s3.matching("000000.gz") {
        s3_gz.extend_from_slice(&read(f));
    }
    let s3_plain = gunzip_all(&s3_gz);
    eprintln!(
        "gzip: lines {} -> {} bytes (ratio {:.2}); s3-export {} -> {} bytes",
        plain.len(),
        gz.len(),
        plain.len() as f64 / gz.len() as f64,
        s3_plain.len(),
        s3_gz.len()
    );

    let mut g = c.benchmark_group("gzip");
    g.throughput(Throughput::Bytes(plain.len() as u64));
    g.bench_function("flate2_zlib-rs_bufread_multigz_256k", |b| {
        let mut buf = vec![0u8; 256 << 10];
        b.iter(|| {
            let mut d = flate2::bufread::MultiGzDecoder::new(black_box(&gz[..]));
            let mut n = 0usize;
            loop {
                match d.read(&mut buf).unwrap() {
                    0 => break n,
                    k => n += k,
                }
            }
        })
    });
    g.bench_function("flate2_zlib-rs_read_multigz_default", |b| {
        // flate2::read wraps the source in its own 32 KiB BufReader.
        let mut buf = vec![0u8; 256 << 10];
        b.iter(|| {
            let mut d = flate2::read::MultiGzDecoder::new(black_box(&gz[..]));
            let mut n = 0usize;
            loop {
                match d.read(&mut buf).unwrap() {
                    0 => break n,
                    k => n += k,
                }
            }
        })
    });
    let file = input_file("bench/lines.log.gz");
    assert_eq!(frame_all(&file, &gz).1, Some(ContainerKind::Lines));
    g.bench_function("input_stage_read_stream_lines_gz", |b| {
        b.iter(|| frame_all(&file, black_box(&gz)))
    });
    g.bench_function("input_stage_read_stream_lines_plain", |b| {
        b.iter(|| frame_all(&file, black_box(&plain)))
    });
    g.throughput(Throughput::Bytes(s3_plain.len() as u64));
    let s3_file = input_file("bench/000000.gz");
    g.bench_function("input_stage_read_stream_s3_export_gz", |b| {
        b.iter(|| frame_all(&s3_file, black_box(&s3_gz)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = framers, gzip_decode
}
criterion_main!(benches);

//! Tests of the whole input stage: the sample containers (counts from
//! `samples/README.md`, the same messages through every export route) and damaged,
//! odd-shaped and hostile files through [`read_file`] / [`read_stream`].

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

use super::testutil::{sample, OneByte};
use super::*;
use crate::model::RejectReason;

/// An event with owned fields, for comparisons.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Ev {
    time: Option<i64>,
    group: Option<String>,
    stream: Option<String>,
    id: Option<String>,
    message: String,
    line: u64,
    offset: u64,
}

#[derive(Debug, Default)]
struct Got {
    events: Vec<Ev>,
    rejects: Vec<Reject>,
    skips: Vec<(&'static str, Origin)>,
    stats: FrameStats,
}

fn collect(run: impl FnOnce(&mut dyn FnMut(Frame<'_>)) -> FrameStats) -> Got {
    let mut got = Got::default();
    let stats = run(&mut |f| match f {
        Frame::Event(e) => got.events.push(Ev {
            time: e.log_time_ms,
            group: e.log_group.map(str::to_string),
            stream: e.log_stream.map(str::to_string),
            id: e.event_id.map(str::to_string),
            message: e.message.to_string(),
            line: e.origin.line,
            offset: e.origin.offset,
        }),
        Frame::Reject(r) => got.rejects.push(r),
        Frame::Skip { origin, reason } => got.skips.push((reason, origin)),
    });
    got.stats = stats;
    got
}

fn file(path: &Path) -> InputFile {
    InputFile {
        id: 7,
        path: Some(path.to_path_buf()),
        display: path.display().to_string(),
        size: None,
    }
}

fn read(path: &Path, forced: Option<ContainerKind>) -> Got {
    collect(|on| read_file(&file(path), forced, on).unwrap())
}

fn read_bytes(data: &[u8], forced: Option<ContainerKind>) -> Got {
    let f = InputFile {
        id: 1,
        path: None,
        display: "mem.log".into(),
        size: None,
    };
    collect(|on| read_stream(&f, data, forced, on).unwrap())
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

const EXPORT: &str = "s3-export/gatelog-incident-20251014";
const ACCESS_TASK: &str = "0d77edd8-9813-4ed9-99fb-b7a9c4cbde9f";
const EXEC_TASK: &str = "fcd0c973-1e10-44ed-9621-c21f3aafc33a";
const REQ_TASK: &str = "bd35132a-401f-48a5-9b6c-e677d95b5add";
const TOK_TASK: &str = "44c8701f-3727-4995-97f6-c07c794d0648";
const ACCESS: &str = "/aws/apigateway/k3vq8zt1pw/live";
const EXEC: &str = "API-Gateway-Execution-Logs_k3vq8zt1pw/live";
const REQ: &str = "/aws/lambda/payments-live-request-authorizer";
const TOK: &str = "/aws/lambda/payments-live-token-authorizer";

/// The S3-export objects: (path under containers/, log group, events).
fn s3_objects() -> Vec<(String, &'static str, u64)> {
    vec![
        (format!("{EXPORT}/{ACCESS_TASK}/e5ca669b811b3102481db1503ab343a1/000000.gz"), ACCESS, 15),
        (format!("{EXPORT}/{ACCESS_TASK}/94e6cbefe7efcc35014628491a5c7ad0/000000.gz"), ACCESS, 25),
        (format!("{EXPORT}/{EXEC_TASK}/23b6d5f401cbc28da07ddd28d786e869/000000.gz"), EXEC, 159),
        (format!("{EXPORT}/{EXEC_TASK}/9557c61f34f6163259738e49ab2d1d77/000000.gz"), EXEC, 260),
        (
            format!("{EXPORT}/{REQ_TASK}/2025/10/14/[$LATEST]ece69e1643e61d7c8723003d2f851a79/000000.gz"),
            REQ,
            36,
        ),
        (
            format!("{EXPORT}/{TOK_TASK}/2025/10/14/[$LATEST]2dc3764eaab308d4f658105b5d5fddfa/000000.gz"),
            TOK,
            22,
        ),
    ]
}

/// (file stem, log group, events) of the filter-log-events and tail samples.
const PER_GROUP: [(&str, &str, u64); 4] = [
    ("access", ACCESS, 40),
    ("execution", EXEC, 419),
    ("payments-live-request-authorizer", REQ, 36),
    ("payments-live-token-authorizer", TOK, 22),
];

const FIREHOSE_1: &str = "firehose/cwl-subscription/2025/10/14/14/\
     payments-live-cwl-to-s3-1-2025-10-14-14-04-52-103d1d95-932f-4b5d-8e6e-7dc1324490df";
const FIREHOSE_2: &str = "firehose/cwl-subscription/2025/10/14/14/\
     payments-live-cwl-to-s3-1-2025-10-14-14-19-53-8a9a9849-1402-41f6-b8af-bbaf7561001e";

fn assert_clean(g: &Got, what: &str) {
    assert!(g.rejects.is_empty(), "{what}: {:?}", g.rejects);
}

/// Messages per log group, sorted (a multiset).
type ByGroup = BTreeMap<String, Vec<(Option<i64>, String)>>;

fn by_group(evs: impl IntoIterator<Item = (String, Ev)>) -> ByGroup {
    let mut m = ByGroup::new();
    for (g, e) in evs {
        m.entry(g).or_default().push((e.time, e.message));
    }
    for v in m.values_mut() {
        v.sort();
    }
    m
}

fn s3_all() -> ByGroup {
    by_group(s3_objects().into_iter().flat_map(|(p, g, _)| {
        read(&sample(&p), None)
            .events
            .into_iter()
            .map(move |e| (g.to_string(), e))
    }))
}

fn cli_all() -> ByGroup {
    by_group(PER_GROUP.iter().flat_map(|(stem, g, _)| {
        read(&sample(&format!("filter-log-events/{stem}.json")), None)
            .events
            .into_iter()
            .map(move |e| (g.to_string(), e))
    }))
}

#[test]
fn s3_export_objects_have_the_documented_counts() {
    for (p, _, n) in s3_objects() {
        let g = read(&sample(&p), None);
        assert_clean(&g, &p);
        assert_eq!(g.stats.container, Some(ContainerKind::S3Export), "{p}");
        assert!(g.stats.gzip);
        assert_eq!(g.stats.events, n, "{p}");
        assert_eq!(g.events.len() as u64, n, "{p}");
        assert!(g.stats.bytes_out > g.stats.bytes_in);
        assert_eq!(
            Some(g.stats.bytes_in),
            std::fs::metadata(sample(&p)).ok().map(|m| m.len())
        );
        // The stream comes from the object key; the group is not in it.
        let dir = p.rsplit_once('/').unwrap().0;
        assert!(g
            .events
            .iter()
            .all(|e| e.group.is_none() && e.time.is_some()));
        assert!(
            g.events[0]
                .stream
                .as_deref()
                .is_some_and(|s| dir.ends_with(&format!("/{s}"))),
            "{p}"
        );
        assert_eq!(
            g.events.iter().map(|e| e.line).collect::<Vec<_>>(),
            (1..=n).collect::<Vec<_>>()
        );
    }
}

#[test]
fn write_test_probe_is_skipped() {
    let g = read(&sample(&format!("{EXPORT}/aws-logs-write-test")), None);
    assert!(g.events.is_empty());
    assert_clean(&g, "probe");
    assert_eq!(g.skips.len(), 1);
    assert_eq!(g.skips[0].0, skip::WRITE_TEST_PROBE);
}

#[test]
fn filter_log_events_have_the_documented_counts() {
    for (stem, _, n) in PER_GROUP {
        let g = read(&sample(&format!("filter-log-events/{stem}.json")), None);
        assert_clean(&g, stem);
        assert_eq!(g.stats.container, Some(ContainerKind::CliJson));
        assert_eq!(g.stats.events, n, "{stem}");
        assert!(g
            .events
            .iter()
            .all(|e| e.id.is_some() && e.stream.is_some() && e.group.is_none()));
        assert!(g.events.iter().all(|e| !e.message.ends_with('\n')));
    }
}

#[test]
fn tail_files_have_the_documented_counts() {
    for (stem, _, n) in PER_GROUP {
        let g = read(&sample(&format!("tail/{stem}.txt")), None);
        assert_clean(&g, stem);
        assert_eq!(g.stats.container, Some(ContainerKind::Tail));
        assert_eq!(g.stats.events, n, "{stem}");
        assert_eq!(g.stats.lines, n);
        assert!(g
            .events
            .iter()
            .all(|e| e.stream.is_some() && e.time.is_some()));
    }
}

#[test]
fn firehose_objects_dedupe_and_skip_control() {
    let a = read(&sample(FIREHOSE_1), None);
    let b = read(&sample(FIREHOSE_2), None);
    assert_clean(&a, "firehose 1");
    assert_clean(&b, "firehose 2");
    assert_eq!(a.stats.container, Some(ContainerKind::Firehose));
    assert!(a.stats.gzip);
    assert_eq!(
        (a.stats.events + a.stats.duplicates, a.stats.duplicates),
        (456, 1)
    );
    assert_eq!((b.stats.events, b.stats.duplicates), (62, 0));
    assert_eq!(a.skips.len(), 1);
    assert_eq!(a.skips[0].0, skip::CONTROL_MESSAGE);
    assert!(b.skips.is_empty());
    let dup = "37943517931492081247157656378078351027548403135785123350";
    assert_eq!(
        a.events
            .iter()
            .filter(|e| e.id.as_deref() == Some(dup))
            .count(),
        1
    );
    assert!(a
        .events
        .iter()
        .all(|e| e.group.is_some() && e.stream.is_some() && e.id.is_some()));
    // Origins: event ordinal in the file, offset of the enclosing record.
    assert!(a
        .events
        .windows(2)
        .all(|w| w[0].line < w[1].line && w[0].offset <= w[1].offset));
}

#[test]
fn insights_csv_has_the_documented_count() {
    let g = read(&sample("insights/logs-insights-results.csv"), None);
    assert_clean(&g, "insights");
    assert_eq!(g.stats.container, Some(ContainerKind::InsightsCsv));
    assert_eq!(g.stats.events, 517);
    assert_eq!(g.stats.lines, 576);
    assert!(g
        .events
        .iter()
        .all(|e| e.time.is_some() && e.group.is_some() && e.stream.is_some()));
}

#[test]
fn the_same_messages_come_through_every_route() {
    let cli = cli_all();
    let s3 = s3_all();
    assert_eq!(cli.values().map(Vec::len).sum::<usize>(), 517);
    assert_eq!(s3, cli, "s3-export vs filter-log-events");

    let fh = by_group(
        [FIREHOSE_1, FIREHOSE_2]
            .iter()
            .flat_map(|p| read(&sample(p), None).events)
            .map(|e| (e.group.clone().unwrap(), e)),
    );
    assert_eq!(fh, cli, "firehose vs filter-log-events");

    let ins = by_group(
        read(&sample("insights/logs-insights-results.csv"), None)
            .events
            .into_iter()
            .map(|e| (e.group.clone().unwrap(), e)),
    );
    assert_eq!(ins, cli, "insights csv vs filter-log-events");

    // `aws logs tail` rstrip()s every message (and keeps µs, so the ms agree).
    let trimmed = |m: &ByGroup| -> ByGroup {
        m.iter()
            .map(|(g, v)| {
                let mut v: Vec<_> = v
                    .iter()
                    .map(|(t, s)| (*t, s.trim_end().to_string()))
                    .collect();
                v.sort();
                (g.clone(), v)
            })
            .collect()
    };
    let tail = by_group(PER_GROUP.iter().flat_map(|(stem, g, _)| {
        read(&sample(&format!("tail/{stem}.txt")), None)
            .events
            .into_iter()
            .map(move |e| (g.to_string(), e))
    }));
    assert_eq!(tail, trimmed(&cli), "tail vs filter-log-events");

    // The REPORT line keeps its trailing tab in the S3 export.
    let report = s3[REQ]
        .iter()
        .find(|(_, m)| m.starts_with("REPORT "))
        .unwrap();
    assert!(report.1.ends_with(" ms\t"), "{:?}", report.1);
}

#[test]
fn firehose_ids_are_the_cli_event_ids() {
    let cli: Vec<Ev> = PER_GROUP
        .iter()
        .flat_map(|(stem, _, _)| {
            read(&sample(&format!("filter-log-events/{stem}.json")), None).events
        })
        .collect();
    let fh: Vec<Ev> = [FIREHOSE_1, FIREHOSE_2]
        .iter()
        .flat_map(|p| read(&sample(p), None).events)
        .collect();
    let key = |e: &Ev| (e.id.clone(), e.time, e.stream.clone(), e.message.clone());
    let mut a: Vec<_> = cli.iter().map(key).collect();
    let mut b: Vec<_> = fh.iter().map(key).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn detect_names_every_sample_container() {
    let cases = [
        (s3_objects()[0].0.clone(), ContainerKind::S3Export),
        (
            "filter-log-events/access.json".to_string(),
            ContainerKind::CliJson,
        ),
        ("tail/execution.txt".to_string(), ContainerKind::Tail),
        (FIREHOSE_2.to_string(), ContainerKind::Firehose),
        (
            "insights/logs-insights-results.csv".to_string(),
            ContainerKind::InsightsCsv,
        ),
    ];
    for (p, want) in cases {
        assert_eq!(read(&sample(&p), None).stats.container, Some(want), "{p}");
    }
}

#[test]
fn container_names_round_trip() {
    for k in ContainerKind::ALL {
        assert_eq!(ContainerKind::from_name(k.as_str()), Some(k));
        assert_eq!(k.to_string(), k.as_str());
    }
    assert_eq!(ContainerKind::from_name("zip"), None);
}

#[test]
fn s3_export_continuation_lines_crlf_and_bom() {
    let data = b"\xEF\xBB\xBF2025-10-14T14:05:02.129Z first\r\n\
                 2025-10-14T14:05:03.000Z Error: boom\r\n\
                 \x20   at handler (index.js:3:9)\r\n\
                 \r\n\
                 2025-10-14T14:05:04.000Z last";
    let g = read_bytes(&gz(data), None);
    assert_clean(&g, "continuation");
    assert_eq!(g.stats.container, Some(ContainerKind::S3Export));
    let msgs: Vec<_> = g
        .events
        .iter()
        .map(|e| (e.message.as_str(), e.line))
        .collect();
    assert_eq!(
        msgs,
        [
            ("first", 1),
            ("Error: boom\n    at handler (index.js:3:9)\n", 2),
            ("last", 5)
        ]
    );
    assert_eq!(g.events[0].time, Some(1_760_450_702_129));
    assert_eq!(g.events[1].offset, 35);
}

#[test]
fn s3_export_orphan_line_is_rejected() {
    let g = read_bytes(
        b"no prefix\n2025-10-14T14:05:02.129Z ok\n",
        Some(ContainerKind::S3Export),
    );
    assert_eq!(g.events.len(), 1);
    assert_eq!(g.rejects.len(), 1);
    assert_eq!(g.rejects[0].reason, RejectReason::MalformedContainer);
    assert_eq!(g.rejects[0].origin.line, 1);
}

#[test]
fn s3_export_damaged_timestamp_is_rejected_without_spoiling_its_neighbours() {
    let g = read_bytes(
        b"2025-10-14T14:05:02.129Z one\n  continued\n2025-10-14T25:05:02.129Z two\n2025-10-14T14:05:03.000Z three\n",
        Some(ContainerKind::S3Export),
    );
    let messages: Vec<&str> = g.events.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages, ["one\n  continued", "three"]);
    assert_eq!(g.rejects.len(), 1);
    assert_eq!(g.rejects[0].reason, RejectReason::MalformedContainer);
    assert_eq!(g.rejects[0].origin.line, 3);
    assert!(g.rejects[0].detail.contains("2025-10-14T25:05:02.129Z"));
}

#[test]
fn invalid_utf8_mid_file_is_rejected_and_reading_goes_on() {
    let g = read_bytes(b"one\ntwo \xc3\x28 bad\nthree\n", None);
    assert_eq!(
        g.events
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>(),
        ["one", "three"]
    );
    assert_eq!(g.rejects.len(), 1);
    let r = &g.rejects[0];
    assert_eq!(r.reason, RejectReason::InvalidUtf8);
    assert_eq!((r.origin.file, r.origin.line, r.origin.offset), (1, 2, 4));
    assert!(r.detail.contains("offset 8"), "{}", r.detail);
}

fn many_lines(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| {
            format!("2025-10-14T14:05:02.129Z message number {i} {}\n", i * 7919).into_bytes()
        })
        .collect()
}

#[test]
fn truncated_gzip_keeps_the_earlier_events() {
    let dir = tempfile::tempdir().unwrap();
    let body = many_lines(50_000);
    let full = gz(&body);
    let path = dir.path().join("000000.gz");
    std::fs::write(&path, &full[..full.len() / 2]).unwrap();
    let g = read(&path, None);
    assert!(g.stats.gzip);
    let n = g.events.len();
    assert!(n > 1000 && n < 50_000, "{n}");
    // Every event kept is whole and in order.
    for (i, e) in g.events.iter().enumerate() {
        assert_eq!(e.message, format!("message number {i} {}", i * 7919));
    }
    assert_eq!(g.rejects.len(), 1);
    let r = &g.rejects[0];
    assert_eq!(r.reason, RejectReason::CorruptGzip);
    let want = format!(
        "file {}: gzip stream ends early after {} decompressed bytes",
        path.display(),
        g.stats.bytes_out
    );
    assert!(r.detail.starts_with(&want), "{}", r.detail);
    assert!(r.detail.contains(&format!(
        "the {n} events before it were kept; re-download the object"
    )));
    assert_eq!(g.stats.events, n as u64);
}

#[test]
fn random_bytes_behind_gzip_magic() {
    let mut data = vec![0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03];
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..5000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.push(x as u8);
    }
    let g = read_bytes(&data, None);
    assert!(g.stats.gzip);
    assert_eq!(g.rejects.len(), 1, "{:?}", g.rejects);
    assert!(matches!(
        g.rejects[0].reason,
        RejectReason::CorruptGzip | RejectReason::BinaryFile
    ));
    // Just the magic.
    let g = read_bytes(&[0x1f, 0x8b], None);
    assert_eq!(g.rejects.len(), 1);
    assert_eq!(g.rejects[0].reason, RejectReason::CorruptGzip);
    assert!(g.events.is_empty());
}

#[test]
fn a_plain_file_named_gz_is_read_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000000.gz");
    std::fs::write(&path, "2025-10-14T14:05:02.129Z hello\n").unwrap();
    let g = read(&path, None);
    assert!(!g.stats.gzip);
    assert_eq!(g.events.len(), 1);
    assert_eq!(g.events[0].message, "hello");
    assert_eq!(g.stats.bytes_in, g.stats.bytes_out);
}

#[test]
fn zero_byte_files_yield_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.log");
    std::fs::write(&path, "").unwrap();
    let g = read(&path, None);
    assert!(g.events.is_empty() && g.rejects.is_empty() && g.skips.is_empty());
    assert_eq!(g.stats.container, None);
    assert_eq!(g.stats.lines, 0);
    // An empty gzip member too.
    let g = read_bytes(&gz(b""), None);
    assert!(g.events.is_empty() && g.rejects.is_empty());
    for k in ContainerKind::ALL {
        let g = read_bytes(b"", Some(k));
        assert!(g.events.is_empty() && g.rejects.is_empty(), "{k}");
    }
}

#[test]
fn a_10_mb_line_then_a_good_line() {
    let mut data = vec![b'a'; 10_000_000];
    data.extend_from_slice(b"\n{\"requestId\":\"x\"}\n");
    let g = read_bytes(&gz(&data), None);
    assert_eq!(g.events.len(), 1);
    assert_eq!(g.events[0].message, "{\"requestId\":\"x\"}");
    assert_eq!(g.events[0].line, 2);
    assert_eq!(g.rejects.len(), 1);
    assert_eq!(g.rejects[0].reason, RejectReason::LineTooLong);
    assert_eq!(
        g.rejects[0].detail,
        "line 1 is 10.0 MB, over the 8 MiB limit; skipped"
    );
}

#[test]
fn nul_bytes_make_a_binary_file() {
    let g = read_bytes(b"\x7fELF\x02\x01\x01\x00binary", None);
    assert!(g.events.is_empty());
    assert_eq!(g.rejects.len(), 1);
    assert_eq!(g.rejects[0].reason, RejectReason::BinaryFile);
    assert_eq!(
        g.rejects[0].detail,
        "mem.log is not a text log (NUL bytes at offset 7); skipped"
    );
    // A known archive format is named, with the command that unpacks it.
    let g = read_bytes(b"PK\x03\x04\x14\x00\x00\x00", None);
    assert_eq!(
        g.rejects[0].detail,
        "mem.log is a zip archive, which gatelog does not read; skipped (unpack it first with unzip)"
    );
    // Compressed binary content too.
    let g = read_bytes(&gz(b"\x00\x01\x02"), None);
    assert_eq!(g.rejects[0].reason, RejectReason::BinaryFile);
}

#[test]
fn cli_json_through_a_one_byte_reader() {
    let data = std::fs::read(sample(
        "filter-log-events/payments-live-request-authorizer.json",
    ))
    .unwrap();
    let whole = read_bytes(&data, None);
    let f = InputFile {
        id: 1,
        path: None,
        display: "mem.log".into(),
        size: None,
    };
    let slow = collect(|on| read_stream(&f, OneByte(&data), None, on).unwrap());
    assert_eq!(whole.events.len(), 36);
    assert_eq!(whole.events, slow.events);
    assert_eq!(whole.stats, slow.stats);
    // Gzip-compressed, one byte at a time.
    let z = gz(&data);
    let slow_gz = collect(|on| read_stream(&f, OneByte(&z), None, on).unwrap());
    assert_eq!(whole.events, slow_gz.events);
}

#[test]
fn every_sample_reads_the_same_through_a_one_byte_reader() {
    for f in discover(&[sample("")]).unwrap() {
        let data = std::fs::read(f.path.as_ref().unwrap()).unwrap();
        let a = read(f.path.as_ref().unwrap(), None);
        let b = collect(|on| read_stream(&f, OneByte(&data), None, on).unwrap());
        assert_eq!(a.events, b.events, "{}", f.display);
        assert_eq!(a.stats, b.stats, "{}", f.display);
    }
}

#[test]
fn multi_page_cli_json_concatenated() {
    let page = std::fs::read(sample(
        "filter-log-events/payments-live-token-authorizer.json",
    ))
    .unwrap();
    let mut data = page.clone();
    data.push(b'\n');
    data.extend_from_slice(&page);
    let g = read_bytes(&data, None);
    assert_clean(&g, "pages");
    assert_eq!(g.events.len(), 44);
    assert_eq!(
        g.events[..22]
            .iter()
            .map(|e| &e.message)
            .collect::<Vec<_>>(),
        g.events[22..]
            .iter()
            .map(|e| &e.message)
            .collect::<Vec<_>>()
    );
    assert!(g.events[22].line > g.events[21].line);
}

#[test]
fn firehose_direct_records_and_forced_container() {
    let data = b"{\"requestId\":\"a\",\"status\":\"403\"}{\"requestId\":\"b\",\"status\":\"200\"}";
    let g = read_bytes(&gz(data), None);
    assert_eq!(g.stats.container, Some(ContainerKind::Firehose));
    let msgs: Vec<_> = g.events.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "{\"requestId\":\"a\",\"status\":\"403\"}",
            "{\"requestId\":\"b\",\"status\":\"200\"}"
        ]
    );
    // Newline-separated direct records are plain lines unless forced.
    let data = b"{\"requestId\":\"a\"}\n{\"requestId\":\"b\"}\n";
    assert_eq!(
        read_bytes(data, None).stats.container,
        Some(ContainerKind::Lines)
    );
    let g = read_bytes(data, Some(ContainerKind::Firehose));
    assert_eq!(g.events.len(), 2);
    assert_eq!(g.events[1].message, "{\"requestId\":\"b\"}");
}

#[test]
fn firehose_damaged_records() {
    let good = br#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":5,"message":"m1\n"}]}"#;
    let mut data = good.to_vec();
    data.extend_from_slice(
        br#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"2","timestamp":1,"message":5}]}"#,
    );
    data.extend_from_slice(br#"{"messageType":"OTHER"}"#);
    data.extend_from_slice(good);
    data.extend_from_slice(br#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"3""#);
    let g = read_bytes(&data, None);
    assert_eq!(g.events.len(), 1);
    assert_eq!(g.events[0].message, "m1");
    assert_eq!(g.events[0].group.as_deref(), Some("g"));
    assert_eq!(g.stats.duplicates, 1);
    let reasons: Vec<_> = g.rejects.iter().map(|r| r.reason).collect();
    assert_eq!(
        reasons,
        [
            RejectReason::MalformedJson,
            RejectReason::MalformedContainer
        ]
    );
    assert_eq!(
        g.skips.iter().map(|s| s.0).collect::<Vec<_>>(),
        [skip::UNKNOWN_MESSAGE_TYPE]
    );
}

#[test]
fn insights_csv_with_bom_crlf_and_quoted_newlines() {
    let data = "\u{feff}@timestamp,@message\r\n\
                2025-10-14 14:05:02.122,\"REPORT RequestId: x\tDuration: 1 ms\t\r\n\
                \"\r\n\
                2025-10-14 14:05:03.000,\"say \"\"hi\"\", twice\"\r\n\
                2025-10-14 14:05:04.000,plain\r\n\
                bad,row,extra\r\n\
                2025-10-14 14:05:05.000,\"never closed\r\n";
    let g = read_bytes(data.as_bytes(), None);
    assert_eq!(g.stats.container, Some(ContainerKind::InsightsCsv));
    let msgs: Vec<_> = g
        .events
        .iter()
        .map(|e| (e.message.as_str(), e.line, e.time))
        .collect();
    assert_eq!(
        msgs,
        [
            (
                "REPORT RequestId: x\tDuration: 1 ms\t",
                2,
                Some(1_760_450_702_122)
            ),
            ("say \"hi\", twice", 4, Some(1_760_450_703_000)),
            ("plain", 5, Some(1_760_450_704_000)),
        ]
    );
    assert_eq!(g.rejects.len(), 2);
    assert!(g
        .rejects
        .iter()
        .all(|r| r.reason == RejectReason::MalformedContainer));
    assert_eq!(g.rejects[1].origin.line, 7);
}

#[test]
fn insights_json_is_streamed() {
    let data = br#"[
  {"@timestamp": "2025-10-14 14:05:02.122", "@log": "210987654321:/aws/lambda/f", "@logStream": "s", "@message": "START\n"},
  {"@timestamp": "2025-10-14 14:05:03.000", "@message": "{\"x\": [1, 2]}", "count": 3},
  {"@timestamp": "2025-10-14 14:05:03.000"}
]"#;
    for one_byte in [false, true] {
        let f = InputFile {
            id: 0,
            path: None,
            display: "-".into(),
            size: None,
        };
        let g = if one_byte {
            collect(|on| read_stream(&f, OneByte(data), None, on).unwrap())
        } else {
            collect(|on| read_stream(&f, &data[..], None, on).unwrap())
        };
        assert_eq!(g.stats.container, Some(ContainerKind::InsightsJson));
        assert_eq!(g.events.len(), 2);
        assert_eq!(g.events[0].message, "START");
        assert_eq!(g.events[0].group.as_deref(), Some("/aws/lambda/f"));
        assert_eq!(g.events[1].message, "{\"x\": [1, 2]}");
        assert_eq!(g.events[1].line, 3);
        assert_eq!(g.rejects.len(), 1);
        assert_eq!(g.stats.lines, 5);
    }
}

#[test]
fn tail_with_colours_and_short_format() {
    let data = b"\x1b[32m2025-10-14T14:06:20.051000+00:00\x1b[0m \x1b[36m2025/10/14/[$LATEST]ab\x1b[0m START x\n\
                 2025-10-14T14:06:20.052000+00:00 2025/10/14/[$LATEST]ab Error\n\
                 \x20   at line 2\n";
    let g = read_bytes(data, None);
    assert_eq!(g.stats.container, Some(ContainerKind::Tail));
    let evs: Vec<_> = g
        .events
        .iter()
        .map(|e| (e.message.as_str(), e.stream.as_deref(), e.time))
        .collect();
    assert_eq!(
        evs,
        [
            (
                "START x",
                Some("2025/10/14/[$LATEST]ab"),
                Some(1_760_450_780_051)
            ),
            (
                "Error\n    at line 2",
                Some("2025/10/14/[$LATEST]ab"),
                Some(1_760_450_780_052)
            ),
        ]
    );
    let g = read_bytes(
        b"2025-10-14T14:06:20 START x\n2025-10-14T14:06:21 END x\n",
        None,
    );
    assert_eq!(g.events.len(), 2);
    assert_eq!(g.events[1].time, Some(1_760_450_781_000));
    assert_eq!(g.events[1].stream, None);
}

#[test]
fn log_group_from_the_path_reaches_events() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("aws/lambda/my-fn");
    std::fs::create_dir_all(&d).unwrap();
    let path = d.join("out.json");
    std::fs::copy(
        sample("filter-log-events/payments-live-token-authorizer.json"),
        &path,
    )
    .unwrap();
    let g = read(&path, None);
    assert!(g
        .events
        .iter()
        .all(|e| e.group.as_deref() == Some("/aws/lambda/my-fn")));
}

#[test]
fn open_errors_are_errors() {
    let f = InputFile {
        id: 0,
        path: Some(PathBuf::from("/nonexistent/gatelog/x.gz")),
        display: "x".into(),
        size: None,
    };
    let err = read_file(&f, None, &mut |_| {}).unwrap_err();
    assert!(matches!(err, InputError::NotFound { .. }));
    let dir = tempfile::tempdir().unwrap();
    let f = InputFile {
        id: 0,
        path: Some(dir.path().to_path_buf()),
        display: "d".into(),
        size: None,
    };
    // A directory opens on Linux but cannot be read.
    let err = read_file(&f, None, &mut |_| {}).unwrap_err();
    assert!(matches!(err, InputError::Io { .. }), "{err}");
    assert!(err.to_string().starts_with("cannot read "), "{err}");
}

#[test]
fn a_read_error_mid_file_keeps_the_events_before_it() {
    struct FailsAfter<'a>(&'a [u8]);
    impl std::io::Read for FailsAfter<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::other("device error"));
            }
            let n = out.len().min(self.0.len()).min(10);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let f = InputFile {
        id: 2,
        path: None,
        display: "-".into(),
        size: None,
    };
    let g = collect(|on| {
        read_stream(
            &f,
            FailsAfter(
                b"one
two
thr",
            ),
            None,
            on,
        )
        .unwrap()
    });
    assert_eq!(
        g.events
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>(),
        ["one", "two"]
    );
    assert_eq!(g.rejects.len(), 1);
    assert_eq!(g.rejects[0].reason, RejectReason::Unreadable);
    assert!(g.rejects[0].detail.contains("device error"));
    assert!(g.rejects[0]
        .detail
        .contains("the 2 events before it were kept"));
}

/// A deterministic xorshift generator.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn never_panics_on_damaged_samples() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for f in discover(&[sample("")]).unwrap() {
        let raw = std::fs::read(f.path.unwrap()).unwrap();
        let mut plain = Vec::new();
        let mut d = flate2::read::MultiGzDecoder::new(&raw[..]);
        if std::io::Read::read_to_end(&mut d, &mut plain).is_err() || plain.is_empty() {
            plain = raw.clone();
        }
        inputs.push(raw);
        inputs.push(plain[..plain.len().min(20_000)].to_vec());
    }
    let structural = b"{}[]\",:\\\n\r\x1b\xff\xc3 @T0Z";
    let f = InputFile {
        id: 0,
        path: None,
        display: "fuzz".into(),
        size: None,
    };
    for round in 0..12 {
        for base in &inputs {
            let mut data = base.clone();
            let edits = 1 + rng.below(8);
            for _ in 0..edits {
                if data.is_empty() {
                    break;
                }
                let at = rng.below(data.len());
                match rng.below(4) {
                    0 => data[at] = structural[rng.below(structural.len())],
                    1 => data.truncate(at),
                    2 => {
                        data.remove(at);
                    }
                    _ => data.insert(at, structural[rng.below(structural.len())]),
                }
            }
            let forced = if round % 2 == 0 {
                None
            } else {
                Some(ContainerKind::ALL[rng.below(7)])
            };
            let mut events = 0u64;
            let stats = read_stream(&f, &data[..], forced, &mut |fr| {
                if let Frame::Event(_) = fr {
                    events += 1;
                }
            })
            .unwrap();
            assert_eq!(stats.events, events);
        }
    }
}

/// `cargo test bench_containers -- --ignored --nocapture`: framer throughput per container
/// on the samples repeated to about 50 MB (plain, in memory; best of 5).
#[test]
#[ignore]
fn bench_containers() {
    use std::time::Instant;
    let cases = [
        (s3_objects()[3].0.clone(), true),
        ("filter-log-events/execution.json".to_string(), false),
        ("tail/execution.txt".to_string(), false),
        ("insights/logs-insights-results.csv".to_string(), false),
    ];
    for (p, zipped) in cases {
        let raw = std::fs::read(sample(&p)).unwrap();
        let mut plain = Vec::new();
        if zipped {
            std::io::Read::read_to_end(
                &mut flate2::read::MultiGzDecoder::new(&raw[..]),
                &mut plain,
            )
            .unwrap();
        } else {
            plain = raw;
        }
        let mut data = Vec::new();
        if p.ends_with(".csv") {
            let header_end = plain.iter().position(|&b| b == b'\n').unwrap() + 1;
            data.extend_from_slice(&plain[..header_end]);
            while data.len() < 50_000_000 {
                data.extend_from_slice(&plain[header_end..]);
            }
        } else {
            while data.len() < 50_000_000 {
                data.extend_from_slice(&plain);
                if p.ends_with(".json") {
                    data.push(b'\n');
                }
            }
        }
        let z = gz(&data);
        for (label, bytes) in [("plain", &data), ("gzip", &z)] {
            let mut best = f64::MAX;
            let mut events = 0;
            for _ in 0..5 {
                let t = Instant::now();
                let g = read_stream(
                    &InputFile {
                        id: 0,
                        path: None,
                        display: "b".into(),
                        size: None,
                    },
                    &bytes[..],
                    None,
                    &mut |_| {},
                )
                .unwrap();
                best = best.min(t.elapsed().as_secs_f64());
                events = g.events;
            }
            println!(
                "{p} ({label}): {:.0} MB decompressed, {events} events, {:.0} MB/s",
                data.len() as f64 / 1e6,
                data.len() as f64 / 1e6 / best
            );
        }
    }
}

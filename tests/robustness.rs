//! Robustness (issue 7): the bad-input corpus of `tests/fixtures/bad/` (large cases are made
//! here, in a temp dir), one test per case, each checking the exit status, the skipped and
//! rejected counts of `summary.json` and that the rest of the input was processed; then
//! SIGKILL at several points of a run (the dataset is always the previous one or the new one,
//! partition by partition, and the next run cleans up) and SIGINT / SIGTERM.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::util::{self, analyze, fixtures, get, rows, tmp, Row};

/// `tests/fixtures/bad/NAME`.
fn bad(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bad")
        .join(name)
}

/// The 40 good enhanced-format records of the sample incident.
fn good_lines() -> Vec<String> {
    std::fs::read_to_string(fixtures().join("access/enhanced.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// What a run wrote.
struct Run {
    out: PathBuf,
    output: Output,
    summary: serde_json::Value,
}

impl Run {
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// `input.skipped` or `input.rejected` of summary.json.
    fn counts(&self, which: &str) -> BTreeMap<String, u64> {
        self.summary["input"][which]
            .as_object()
            .unwrap_or_else(|| panic!("no input.{which} in {}", self.summary))
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
            .collect()
    }

    fn requests(&self) -> Vec<Row> {
        rows(&self.out, "requests")
    }

    /// The request row with this id (exactly one).
    fn request(&self, id: &str) -> Row {
        let all: Vec<Row> = self
            .requests()
            .into_iter()
            .filter(|r| get(r, "request_id") == Some(id))
            .collect();
        assert_eq!(all.len(), 1, "rows with request_id {id}");
        all.into_iter().next().unwrap()
    }

    /// Asserts exit 0, the skipped and rejected counts by reason, and the request rows.
    fn expect(&self, requests: usize, skipped: &[(&str, u64)], rejected: &[(&str, u64)]) {
        assert_eq!(self.code(), Some(0), "{}", self.stderr());
        let want = |v: &[(&str, u64)]| -> BTreeMap<String, u64> {
            v.iter().map(|(k, n)| (k.to_string(), *n)).collect()
        };
        assert_eq!(self.counts("skipped"), want(skipped), "skipped");
        assert_eq!(self.counts("rejected"), want(rejected), "rejected");
        assert_eq!(self.requests().len(), requests, "request rows");
        assert_eq!(self.summary["requests"], requests as u64);
    }
}

/// `gatelog analyze INPUTS --out DIR/out --quiet --max-reject-rate 1`.
fn run(dir: &Path, inputs: &[PathBuf]) -> Run {
    run_with(dir, inputs, &[])
}

fn run_with(dir: &Path, inputs: &[PathBuf], extra: &[&str]) -> Run {
    let out = dir.join("out");
    let mut args = vec!["--quiet", "--max-reject-rate", "1"];
    args.extend_from_slice(extra);
    let output = analyze(inputs, &out, &args);
    let summary = std::fs::read_to_string(out.join("summary.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    Run {
        out,
        output,
        summary,
    }
}

// ---------------------------------------------------------------------------------------------
// Compression and framing.

#[test]
fn truncated_gzip_keeps_the_complete_lines_before_the_cut() {
    let dir = tmp();
    let r = run(dir.path(), &[bad("truncated.gz")]);
    r.expect(5, &[], &[("corrupt_gzip", 1)]);
    // The rows are the first records of the stream, in order, none of them half a line.
    let good = good_lines();
    let mut ids: Vec<String> = r
        .requests()
        .iter()
        .map(|row| get(row, "source_line").unwrap().to_string())
        .collect();
    ids.sort_by_key(|l| l.parse::<u32>().unwrap());
    assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    let first: serde_json::Value = serde_json::from_str(&good[0]).unwrap();
    r.request(first["requestId"].as_str().unwrap());
    assert!(r.stderr().contains("truncated.gz"), "{}", r.stderr());
}

#[test]
fn random_bytes_behind_gzip_magic_are_one_reject_and_the_other_files_are_read() {
    let dir = tmp();
    let r = run(
        dir.path(),
        &[
            bad("random-after-gzip-magic.gz"),
            fixtures().join("access/enhanced.jsonl"),
        ],
    );
    r.expect(40, &[], &[("corrupt_gzip", 1)]);
    // Alone, it is an input without any log: exit 1 (a cron job must not publish nothing).
    let alone = run(
        &dir.path().join("alone"),
        &[bad("random-after-gzip-magic.gz")],
    );
    assert_eq!(alone.code(), Some(1), "{}", alone.stderr());
}

#[test]
fn a_plain_text_file_named_gz_is_read_as_text() {
    let dir = tmp();
    let r = run(dir.path(), &[bad("plain-text-named.gz")]);
    r.expect(10, &[], &[]);
    assert_eq!(
        r.summary["input"]["bytes_in"],
        r.summary["input"]["bytes_out"]
    );
}

#[test]
fn a_zero_byte_file_adds_nothing_and_takes_nothing_away() {
    let dir = tmp();
    let r = run(
        dir.path(),
        &[bad("empty.log"), fixtures().join("access/enhanced.jsonl")],
    );
    r.expect(40, &[], &[]);
    assert_eq!(r.summary["input"]["files"], 2);
    let alone = run(&dir.path().join("alone"), &[bad("empty.log")]);
    assert_eq!(alone.code(), Some(1), "{}", alone.stderr());
    let allowed = run_with(
        &dir.path().join("allowed"),
        &[bad("empty.log")],
        &["--allow-empty"],
    );
    assert_eq!(allowed.code(), Some(0), "{}", allowed.stderr());
    assert!(allowed.requests().is_empty());
}

#[test]
fn a_50_mb_line_is_one_reject_and_the_lines_around_it_are_read() {
    let dir = tmp();
    let input = dir.path().join("huge.log");
    let good = good_lines();
    let mut f = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    writeln!(f, "{}", good[0]).unwrap();
    // An access record whose user agent is 50 MB: JSON-looking all the way.
    write!(f, "{{\"requestId\":\"huge\",\"userAgent\":\"").unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..50 {
        f.write_all(&chunk).unwrap();
    }
    writeln!(f, "\"}}").unwrap();
    for l in &good[1..10] {
        writeln!(f, "{l}").unwrap();
    }
    drop(f);
    let r = run(dir.path(), &[input]);
    r.expect(10, &[], &[("line_too_long", 1)]);
    let rejects = std::fs::read_to_string(r.out.join("rejects.ndjson")).unwrap();
    assert!(rejects.len() < 4096, "the reject excerpt is bounded");
    let line: serde_json::Value = serde_json::from_str(rejects.lines().next().unwrap()).unwrap();
    assert_eq!(line["line"], 2);
    // The rows after the long line keep their own line numbers.
    let lines: Vec<i64> = r
        .requests()
        .iter()
        .map(|row| get(row, "source_line").unwrap().parse().unwrap())
        .collect();
    assert_eq!(lines.iter().max(), Some(&11));
}

// ---------------------------------------------------------------------------------------------
// Bytes inside lines.

#[test]
fn invalid_utf8_inside_a_json_string_rejects_that_line_only() {
    let dir = tmp();
    let r = run(dir.path(), &[bad("invalid-utf8-in-json-string.log")]);
    r.expect(9, &[], &[("invalid_utf8", 1)]);
    let rejects = std::fs::read_to_string(r.out.join("rejects.ndjson")).unwrap();
    let first: serde_json::Value = serde_json::from_str(rejects.lines().next().unwrap()).unwrap();
    assert_eq!(first["line"], 2);
    assert_eq!(first["reason"], "invalid_utf8");
}

#[test]
fn nul_bytes_past_the_first_8_kib_reject_their_line_only() {
    // Line 11 has a NUL inside a JSON string (not valid JSON), line 12 is NUL padding (not a
    // log line at all); the 13 good records around them are read.
    let dir = tmp();
    let r = run(dir.path(), &[bad("nul-bytes.log")]);
    r.expect(13, &[("unrelated_line", 1)], &[("malformed_json", 1)]);
}

#[test]
fn a_nul_byte_in_the_first_8_kib_marks_the_file_binary_and_the_others_are_read() {
    // Documented behaviour: a NUL in the sniffed head means a binary file, skipped whole with
    // one `binary_file` reject (see the report on issue 7 for the trade-off).
    let dir = tmp();
    let r = run(
        dir.path(),
        &[
            bad("nul-in-first-line.log"),
            fixtures().join("access/troubleshooting.jsonl"),
        ],
    );
    r.expect(40, &[], &[("binary_file", 1)]);
    assert!(r.stderr().contains("not a text log"), "{}", r.stderr());
}

#[test]
fn crlf_line_endings_read_like_lf() {
    let dir = tmp();
    let json = run(&dir.path().join("json"), &[bad("crlf.jsonl")]);
    json.expect(10, &[], &[]);
    let clf = run(&dir.path().join("clf"), &[bad("crlf-clf.log")]);
    clf.expect(10, &[], &[]);
    // Nothing keeps a stray `\r`: the last field of each layout reads clean.
    for r in [&json, &clf] {
        for row in r.requests() {
            for (k, v) in &row {
                assert!(
                    !v.as_deref().unwrap_or("").contains('\r'),
                    "{k} keeps a CR: {v:?}"
                );
            }
            assert!(get(&row, "status").is_some());
        }
    }
    let ext: Vec<Row> = clf.requests();
    assert!(ext
        .iter()
        .all(|r| get(r, "extended_request_id").is_some_and(|e| e.ends_with('='))));
}

#[test]
fn a_utf8_bom_is_not_part_of_the_first_record() {
    let dir = tmp();
    let lines = run(&dir.path().join("lines"), &[bad("bom.jsonl")]);
    lines.expect(10, &[], &[]);
    let first: serde_json::Value = serde_json::from_str(&good_lines()[0]).unwrap();
    let row = lines.request(first["requestId"].as_str().unwrap());
    assert_eq!(get(&row, "source_line"), Some("1"));
    let cli = run(&dir.path().join("cli"), &[bad("bom-cli-json.json")]);
    cli.expect(40, &[], &[]);
}

// ---------------------------------------------------------------------------------------------
// JSON values.

#[test]
fn duplicate_json_keys_last_value_wins() {
    let dir = tmp();
    let r = run(dir.path(), &[bad("duplicate-keys.jsonl")]);
    r.expect(1, &[], &[]);
    let row = r.request("00000000-0000-4000-8000-0000000000d1");
    assert_eq!(get(&row, "status"), Some("403"));
    assert_eq!(get(&row, "http_method"), Some("POST"));
}

/// Regression (issue 7): a repeated key that no variable explains kept its first value in
/// `extra` (the parser pushed every occurrence and Parquet keeps the first of repeated map
/// keys), although a repeated known key keeps its last value.
#[test]
fn duplicate_json_keys_last_value_wins_in_extra_too() {
    let dir = tmp();
    let r = run(dir.path(), &[bad("duplicate-keys.jsonl")]);
    let row = r.request("00000000-0000-4000-8000-0000000000d1");
    assert_eq!(get(&row, "extra"), Some("foo=last"));
}

#[test]
fn numbers_where_strings_are_expected_and_the_reverse() {
    let dir = tmp();
    let r = run(dir.path(), &[bad("type-confusion.jsonl")]);
    r.expect(4, &[], &[]);
    // Numbers read as their text.
    let a = r.request("12345");
    assert_eq!(get(&a, "status"), Some("403"));
    assert_eq!(get(&a, "response_length"), Some("82"));
    assert_eq!(get(&a, "request_time"), Some("1760450702118"));
    assert_eq!(get(&a, "request_time_precision"), Some("ms"));
    r.request("1500");
    // Text where a number belongs is no number, and the row stays.
    let b = r.request("00000000-0000-4000-8000-0000000000e2");
    assert_eq!(get(&b, "status"), None);
    assert_eq!(get(&b, "response_length"), None);
    assert_eq!(get(&b, "request_time"), None);
    assert_eq!(get(&b, "source_ip"), Some("1234"));
    assert_eq!(get(&b, "http_method"), Some("true"));
    assert_eq!(get(&b, "identity_user"), Some(r#"{"name":"x"}"#));
    assert_eq!(get(&b, "identity_caller"), Some("[1,2]"));
    assert_eq!(get(&b, "identity_user_arn"), None);
    // A null request id falls back to the extended request id.
    let c = r.request("e4jEWkWFMue8Sk7=");
    assert_eq!(get(&c, "status"), Some("401"));
}

#[test]
fn dash_and_empty_string_are_absence_for_every_field() {
    let dir = tmp();
    let r = run(
        dir.path(),
        &[bad("dash-and-empty.jsonl"), bad("dash-clf.log")],
    );
    // Without a request id a record cannot be joined: rejected, not guessed.
    r.expect(3, &[], &[("missing_request_id", 2)]);
    let keep = [
        "request_id",
        "access_format",
        "sources",
        "source_file",
        "source_line",
        "source_offset",
        "refused",
        "denied",
        "candidates",
        "advice",
        "evidence",
        "extra",
        "access_vars",
        "authorizer_log_covers",
        "exec_facts",
    ];
    for n in [0xf1u32, 0xf2, 0xf3] {
        let id = format!("00000000-0000-4000-8000-{n:012}");
        let row = r.request(&id);
        for (k, v) in &row {
            if keep.contains(&k.as_str()) {
                continue;
            }
            assert_eq!(v.as_deref(), None, "{id}: {k} should be null");
        }
        assert_eq!(get(&row, "extra"), Some(""), "{id}: no extra keys");
        assert_eq!(get(&row, "denied"), Some("false"));
    }
}

// ---------------------------------------------------------------------------------------------
// Timestamps.

#[test]
fn every_access_log_time_form_and_malformed_ones() {
    let dir = tmp();
    let r = run(dir.path(), &[bad("timestamps-access.jsonl")]);
    r.expect(21, &[], &[]);
    let id = |n: u32| format!("00000000-0000-4000-8000-{n:012}");
    let s = 1_760_450_702_000i64;
    // CLF (+0000 and +0200), ISO `Z`, with ms, `+00:00` (with µs), Insights' space form,
    // epoch ms, epoch s, epoch s with a fraction, and a CLF time beside a bad epoch.
    let valid: [(i64, &str); 11] = [
        (s, "s"),
        (s, "s"),
        (s, "s"),
        (s + 129, "s"),
        (s, "s"),
        (s + 129, "s"),
        (s + 129, "s"),
        (s + 129, "ms"),
        (s, "ms"),
        (s + 129, "ms"),
        (s, "s"),
    ];
    for (i, (ms, precision)) in valid.iter().enumerate() {
        let row = r.request(&id(0x100 + i as u32));
        let want = ms.to_string();
        assert_eq!(get(&row, "request_time"), Some(want.as_str()), "form {i}");
        assert_eq!(get(&row, "request_time_precision"), Some(*precision));
    }
    // Malformed: the row stays, without a request time, in the default partition.
    for i in 0..10 {
        let row = r.request(&id(0x200 + i));
        assert_eq!(get(&row, "request_time"), None, "malformed form {i}");
        assert_eq!(get(&row, "request_time_precision"), None);
    }
    assert!(r
        .out
        .join("requests/dt=__HIVE_DEFAULT_PARTITION__")
        .is_dir());
}

/// Regression (issue 7): `time::parse_epoch` took any 12- to 18-digit number as epoch
/// milliseconds, so a garbage `requestTimeEpoch` landed in a partition of the year 5138 or
/// 31690708 (which some readers cannot even represent).
#[test]
fn absurd_epoch_values_are_not_read_as_times() {
    let dir = tmp();
    let input = dir.path().join("epochs.jsonl");
    std::fs::write(
        &input,
        "{\"requestId\":\"a\",\"requestTimeEpoch\":\"99999999999999\"}\n\
         {\"requestId\":\"b\",\"requestTimeEpoch\":\"999999999999999999\"}\n",
    )
    .unwrap();
    let r = run(dir.path(), &[input]);
    r.expect(2, &[], &[]);
    for id in ["a", "b"] {
        assert_eq!(get(&r.request(id), "request_time"), None, "{id}");
    }
}

#[test]
fn every_container_time_form_and_malformed_ones() {
    let dir = tmp();
    let r = run(dir.path(), &[bad("timestamps-containers")]);
    // s3-export: a line whose timestamp prefix has the right shape but no valid time is
    // rejected alone (it used to be glued onto the event before it, spoiling both).
    r.expect(15, &[], &[("malformed_container", 1)]);
    let id = |n: u32| format!("00000000-0000-4000-8000-{n:012}");
    let s = 1_760_450_702_000i64;
    let want: [(u32, Option<i64>); 15] = [
        // s3-export `…Z `
        (0x301, Some(s + 129)),
        (0x303, Some(s + 1000)),
        // tail: `+00:00` with µs, `+02:00`, `Z`, short form
        (0x311, Some(s + 129)),
        (0x312, Some(s + 129)),
        (0x313, Some(s + 129)),
        (0x314, Some(s)),
        // Insights: `YYYY-MM-DD HH:MM:SS.mmm`, no fraction, ISO; hour 99 and empty: no time
        (0x321, Some(s + 129)),
        (0x322, Some(s)),
        (0x323, Some(s + 129)),
        (0x324, None),
        (0x325, None),
        // CLI JSON: epoch ms; a numeric string; none; a float (a file that went through
        // another tool): the event stays, with what time can be read
        (0x331, Some(s + 129)),
        (0x332, Some(s + 129)),
        (0x333, None),
        (0x334, Some(s + 129)),
    ];
    for (n, t) in want {
        let row = r.request(&id(n));
        let t = t.map(|t| t.to_string());
        assert_eq!(get(&row, "log_time"), t.as_deref(), "{:#x}", n);
        // The access record's own time is what partitions the row.
        assert_eq!(get(&row, "request_time"), Some(s.to_string().as_str()));
    }
    let rejects = std::fs::read_to_string(r.out.join("rejects.ndjson")).unwrap();
    assert!(
        rejects.contains("2025-10-14T25:05:02.129Z"),
        "the reject names the bad timestamp: {rejects}"
    );
}

// ---------------------------------------------------------------------------------------------
// Request ids.

#[test]
fn uuid_replaced_invalid_request_id_on_two_requests_keeps_both() {
    let dir = tmp();
    let r = run(dir.path(), &[bad("uuid-replaced.jsonl")]);
    r.expect(2, &[], &[]);
    assert_eq!(r.summary["conflicting_duplicate_ids"], 1);
    // The third line repeats the first byte for byte: one request, counted as a duplicate.
    assert_eq!(r.summary["duplicate_records"], 1);
    let mut ips: Vec<String> = r
        .requests()
        .iter()
        .map(|row| {
            assert_eq!(
                get(row, "request_id"),
                Some("UUID_REPLACED_INVALID_REQUEST_ID")
            );
            get(row, "source_ip").unwrap().to_string()
        })
        .collect();
    ips.sort();
    assert_eq!(ips, ["192.0.2.1", "192.0.2.2"]);
}

#[test]
fn one_request_id_on_two_different_requests_keeps_both() {
    let dir = tmp();
    let r = run(dir.path(), &[bad("same-id-two-requests.jsonl")]);
    r.expect(2, &[], &[]);
    assert_eq!(r.summary["conflicting_duplicate_ids"], 1);
    assert_eq!(r.summary["duplicate_records"], 0);
}

// ---------------------------------------------------------------------------------------------
// Which logs are there.

#[test]
fn authorizer_logs_without_access_logs() {
    let dir = tmp();
    let r = run(
        dir.path(),
        &[
            fixtures().join("lambda/payments-live-request-authorizer.text.log"),
            fixtures().join("lambda/payments-live-token-authorizer.text.log"),
        ],
    );
    r.expect(0, &[], &[]);
    assert_eq!(r.summary["input"]["authorizer_lines"], 58);
    assert_eq!(r.summary["authorizer"]["invocations"], 12);
    assert_eq!(r.summary["authorizer"]["unmatched"], 12);
    let invocations = rows(&r.out, "authorizer_invocations");
    assert_eq!(invocations.len(), 12);
    assert!(invocations.iter().all(|i| get(i, "request_id").is_none()));
}

#[test]
fn access_logs_without_authorizer_logs() {
    let dir = tmp();
    let r = run(dir.path(), &[fixtures().join("access/enhanced.jsonl")]);
    r.expect(40, &[], &[]);
    assert_eq!(r.summary["authorizer"]["invocations"], 0);
    assert!(rows(&r.out, "authorizer_invocations").is_empty());
    for row in r.requests() {
        assert_eq!(get(&row, "authorizer_lambda_request_id"), None);
        assert_eq!(get(&row, "sources"), Some("access"));
    }
}

#[test]
fn lines_of_another_log_group_are_skipped() {
    let dir = tmp();
    let r = run(
        dir.path(),
        &[
            bad("another-log-group/aws/ecs/web/app.log"),
            fixtures().join("access/enhanced.jsonl"),
        ],
    );
    r.expect(40, &[("blank_line", 1), ("unrelated_line", 4)], &[]);
}

/// Regression (issue 7): an nginx combined-log line of another log group fits the built-in
/// `console-clf` layout and became a request whose id is `"-"` (quotes included).
#[test]
fn an_nginx_line_of_another_log_group_is_not_a_request() {
    let dir = tmp();
    let r = run(
        dir.path(),
        &[
            bad("another-log-group/aws/ecs/web/nginx.log"),
            fixtures().join("access/enhanced.jsonl"),
        ],
    );
    r.expect(40, &[("unrelated_line", 1)], &[]);
}

/// An application's JSON log of another log group that carries a `requestId` (most do) is
/// not an access log: without `--access-format`, a JSON object naming a request id and
/// nothing else API Gateway logs (status, method, time, source IP…) should be skipped.
#[test]
fn application_json_logs_of_another_log_group_are_not_requests() {
    let dir = tmp();
    let r = run(
        dir.path(),
        &[
            bad("another-log-group/aws/ecs/web/app-json.log"),
            fixtures().join("access/enhanced.jsonl"),
        ],
    );
    r.expect(40, &[("unrelated_line", 2)], &[]);
}

// ---------------------------------------------------------------------------------------------
// Crashes and interrupts.

/// The partitions (`table/dt=…`) of a snapshot, each with its files.
fn partitions(snap: &BTreeMap<PathBuf, Vec<u8>>) -> BTreeMap<PathBuf, BTreeMap<PathBuf, Vec<u8>>> {
    let mut out: BTreeMap<PathBuf, BTreeMap<PathBuf, Vec<u8>>> = BTreeMap::new();
    for (p, b) in snap {
        if p.components().count() == 3 {
            let part = p.parent().unwrap().to_path_buf();
            out.entry(part)
                .or_default()
                .insert(p.file_name().unwrap().into(), b.clone());
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn spawn_analyze(inputs: &[PathBuf], out: &Path) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatelog"));
    cmd.arg("analyze")
        .args(inputs)
        .arg("--out")
        .arg(out)
        .args(["--quiet", "--max-reject-rate", "1"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd.spawn().expect("spawn gatelog")
}

/// A generated export of `requests` requests (one file per log, bare lines).
fn generate(dir: &Path, requests: u32, seed: u32) -> PathBuf {
    let out = dir.join(format!("gen-{seed}"));
    let o = crate::util::gatelog(&[
        "generate",
        "--requests",
        &requests.to_string(),
        "--container",
        "lines",
        "--seed",
        &seed.to_string(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// When to kill a run.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// After this share of a complete run's wall time.
    Fraction(f64),
    /// As soon as the staging directory holds a Parquet file (writing has begun).
    Writing,
    /// As soon as the previous manifest left its place (the commit has begun).
    Committing,
    /// As soon as a partition of the previous dataset was replaced by the new one.
    Swapping,
}

/// Waits until `at` is reached for the run writing into `out` (or it ends by itself).
fn wait_for(child: &mut Child, out: &Path, at: KillAt, full: Duration, prev_inode: u64) {
    use std::os::unix::fs::MetadataExt;
    let start = Instant::now();
    let limit = full * 4 + Duration::from_secs(10);
    loop {
        if child.try_wait().unwrap().is_some() || start.elapsed() > limit {
            return;
        }
        let reached = match at {
            KillAt::Fraction(f) => start.elapsed() >= full.mul_f64(f),
            KillAt::Writing => util::staging_dirs(out).iter().any(|s| {
                std::fs::read_dir(out.join(s).join("requests"))
                    .map(|d| d.flatten().next().is_some())
                    .unwrap_or(false)
            }),
            KillAt::Committing => !out.join("_manifest.json").exists(),
            // Only once the new partition is in place: between the two renames of a swap the
            // partition is briefly absent (see the issue 7 report).
            KillAt::Swapping => std::fs::metadata(out.join("requests/dt=2025-11-03"))
                .is_ok_and(|m| m.ino() != prev_inode),
        };
        if reached {
            return;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Checks the crash-safety promise on `out` after a killed run: every Parquet file under a
/// final name reads back whole, and each partition is the previous run's or the new run's,
/// and a manifest, if any, describes the partitions that are there.
fn assert_previous_or_new(
    out: &Path,
    prev: &BTreeMap<PathBuf, Vec<u8>>,
    new: &BTreeMap<PathBuf, Vec<u8>>,
    what: &str,
) {
    let now = util::snapshot(out);
    for p in now
        .keys()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
    {
        let batches = gatelog::sink::dataset::read_back(&out.join(p)).unwrap_or_else(|e| {
            panic!(
                "{what}: {} is not a complete Parquet file: {e}",
                p.display()
            )
        });
        assert!(batches.iter().map(|b| b.num_rows()).sum::<usize>() > 0);
    }
    let (np, pp, wp) = (partitions(&now), partitions(prev), partitions(new));
    let mut which = BTreeMap::new();
    for part in pp.keys().chain(wp.keys()) {
        let cur = np.get(part);
        let is_prev = cur == pp.get(part);
        let is_new = cur == wp.get(part);
        assert!(
            is_prev || is_new,
            "{what}: partition {} is neither the previous nor the new one ({:?})",
            part.display(),
            cur.map(|c| c.keys().collect::<Vec<_>>())
        );
        which.insert(part.clone(), (is_prev, is_new));
    }
    let state: Vec<String> = which
        .iter()
        .map(|(p, (old, _))| format!("{} {}", p.display(), if *old { "previous" } else { "new" }))
        .collect();
    eprintln!(
        "{what}: {}; manifest {}",
        state.join(", "),
        if now.contains_key(Path::new("_manifest.json")) {
            "present"
        } else {
            "absent"
        }
    );
    assert!(
        np.keys().all(|p| pp.contains_key(p) || wp.contains_key(p)),
        "{what}: a partition of neither run: {:?}",
        np.keys().collect::<Vec<_>>()
    );
    // A dataset has a manifest only while it describes the dataset.
    if let Some(m) = now.get(Path::new("_manifest.json")) {
        let m: serde_json::Value = serde_json::from_slice(m).expect("manifest is JSON");
        let of_prev = prev.get(Path::new("_manifest.json")).is_some_and(|p| {
            serde_json::from_slice::<serde_json::Value>(p).unwrap()["run_id"] == m["run_id"]
        });
        for (part, (is_prev, is_new)) in &which {
            assert!(
                if of_prev { *is_prev } else { *is_new },
                "{what}: the manifest is the {} run's but {} is not",
                if of_prev { "previous" } else { "new" },
                part.display()
            );
        }
    }
}

#[test]
fn sigkill_at_any_point_leaves_the_previous_or_the_new_dataset_and_the_next_run_cleans_up() {
    let dir = tmp();
    // Two partitions per run: the generated day and the sample incident's day, each different
    // between the previous and the new run.
    let prev_in = vec![
        generate(dir.path(), 20_000, 1),
        fixtures().join("access/enhanced.jsonl"),
    ];
    let new_in = vec![
        generate(dir.path(), 20_000, 2),
        fixtures().join("access/troubleshooting.jsonl"),
    ];
    let prev_out = dir.path().join("prev");
    let o = analyze(&prev_in, &prev_out, &["--quiet", "--max-reject-rate", "1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let prev = util::snapshot(&prev_out);
    let new_out = dir.path().join("new");
    let t0 = Instant::now();
    let o = analyze(&new_in, &new_out, &["--quiet", "--max-reject-rate", "1"]);
    let full = t0.elapsed();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut new = util::snapshot(&new_out);
    new.remove(Path::new("_manifest.json"));
    assert_eq!(partitions(&prev).len(), 3, "{:?}", partitions(&prev).keys());
    assert_ne!(partitions(&prev), partitions(&new));

    let points = [
        KillAt::Fraction(0.1),
        KillAt::Fraction(0.4),
        KillAt::Fraction(0.7),
        KillAt::Writing,
        KillAt::Committing,
        KillAt::Swapping,
        KillAt::Fraction(0.95),
    ];
    for (i, at) in points.into_iter().enumerate() {
        use std::os::unix::fs::MetadataExt;
        let what = format!("kill {i} at {at:?}");
        let out = dir.path().join(format!("kill-{i}"));
        copy_dir(&prev_out, &out);
        let inode = std::fs::metadata(out.join("requests/dt=2025-11-03"))
            .unwrap()
            .ino();
        let mut child = spawn_analyze(&new_in, &out);
        wait_for(&mut child, &out, at, full, inode);
        let _ = child.kill(); // SIGKILL; an error means it had already exited
        let status = child.wait().unwrap();
        assert!(
            status.success() || status.code().is_none(),
            "{what}: {status:?}"
        );
        assert_previous_or_new(&out, &prev, &new, &what);

        // The next run removes what the killed one left in staging, and succeeds.
        let left = util::staging_dirs(&out).len();
        let o = analyze(
            &[fixtures().join("access/console-clf.log")],
            &out,
            &["--quiet"],
        );
        assert!(
            o.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(util::staging_dirs(&out).is_empty(), "{what}: staging left");
        if left > 0 {
            assert!(
                String::from_utf8_lossy(&o.stderr).contains("staging"),
                "{what}: the cleanup is reported"
            );
        }
    }
}

/// A commit replaces a partition with two renames (the old one into `.staging-*/replaced/`,
/// then the new one into place) after moving the old manifest aside. A SIGKILL between the two
/// renames leaves the partition absent; the next run then deletes the stale staging directory
/// with the only copy of it. This builds that state by hand (the window is too short for the
/// SIGKILL test to hit it reliably) and checks the next run puts the previous partition back.
#[test]
fn a_kill_between_the_two_renames_of_a_partition_swap_loses_nothing() {
    let dir = tmp();
    let out = dir.path().join("out");
    let o = analyze(
        &[fixtures().join("access/enhanced.jsonl")],
        &out,
        &["--quiet"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let prev = partitions(&util::snapshot(&out));
    let part = Path::new("requests/dt=2025-10-14");
    assert!(prev.contains_key(part));

    // What a run killed mid-swap leaves: its staging directory (owner long gone), the old
    // manifest and the old partition moved aside, the new partition not yet in place.
    let staging = out.join(".staging-killed-run");
    std::fs::create_dir_all(staging.join("replaced/requests")).unwrap();
    std::fs::write(staging.join("owner"), "999999999\ngatelog\n").unwrap();
    std::fs::rename(
        out.join("_manifest.json"),
        staging.join("replaced/_manifest.json"),
    )
    .unwrap();
    std::fs::rename(out.join(part), staging.join("replaced").join(part)).unwrap();

    // The next run, on another day's requests, must not lose the 2025-10-14 partition.
    let input = dir.path().join("other-day.jsonl");
    std::fs::write(
        &input,
        "{\"requestId\":\"00000000-0000-4000-8000-000000000001\",\"status\":\"200\",\
         \"requestTime\":\"03/Nov/2025:09:00:00 +0000\"}\n",
    )
    .unwrap();
    let o = analyze(&[input], &out, &["--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("put back 1 partition"),
        "the restore is reported: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(util::staging_dirs(&out).is_empty());
    let now = partitions(&util::snapshot(&out));
    assert!(
        now.get(part) == prev.get(part),
        "the previous partition {} is {}",
        part.display(),
        if now.contains_key(part) {
            "changed"
        } else {
            "gone"
        }
    );
    assert_eq!(
        now.get(part),
        prev.get(part),
        "the previous partition {} is gone",
        part.display()
    );
}

/// Sends `signal` (`INT`, `TERM`) to a child with `kill -SIGNAL PID`. A child that already
/// finished makes `kill` fail; the caller then sees its exit status 0 and checks the finished
/// dataset instead.
fn send(child: &Child, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
}

// `main.rs` installs `gatelog::interrupt`, the pipeline checks it between files and stages
// (and `input::read_file` within a file), aborts the writer, says what was and was not
// written, and exits 130.
#[test]
fn sigint_and_sigterm_remove_staging_keep_the_previous_dataset_and_exit_130() {
    let dir = tmp();
    let input = vec![generate(dir.path(), 20_000, 3)];
    let base = dir.path().join("base");
    let o = analyze(
        &[fixtures().join("access/enhanced.jsonl")],
        &base,
        &["--quiet"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let prev = util::snapshot(&base);
    let full_out = dir.path().join("full");
    let t0 = Instant::now();
    let o = analyze(&input, &full_out, &["--quiet", "--max-reject-rate", "1"]);
    let full = t0.elapsed();
    assert!(o.status.success());
    let new = util::snapshot(&full_out);

    let cases = [
        ("INT", KillAt::Fraction(0.2)),
        ("INT", KillAt::Writing),
        ("TERM", KillAt::Fraction(0.3)),
    ];
    for (i, (signal, at)) in cases.into_iter().enumerate() {
        let what = format!("SIG{signal} at {at:?}");
        let out = dir.path().join(format!("int-{i}"));
        copy_dir(&base, &out);
        let mut child = spawn_analyze(&input, &out);
        wait_for(&mut child, &out, at, full, 0);
        send(&child, signal);
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(util::staging_dirs(&out).is_empty(), "{what}: staging left");
        match output.status.code() {
            Some(130) => {
                assert_eq!(
                    util::snapshot(&out),
                    prev,
                    "{what}: the previous dataset changed"
                );
                assert!(stderr.contains("interrupted"), "{what}: {stderr}");
                assert!(
                    stderr.contains("not written") || stderr.contains("nothing was written"),
                    "{what}: says what was not written: {stderr}"
                );
            }
            // Too late to stop: the run finished and its dataset is complete: the new run's
            // partitions, and the previous dataset's partitions it did not write.
            Some(0) => {
                let now = util::snapshot(&out);
                let mut expected = partitions(&prev);
                expected.extend(partitions(&new));
                assert_eq!(partitions(&now), expected, "{what}");
            }
            other => panic!("{what}: exit {other:?}: {stderr}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Nightly reruns with overlapping --since/--until windows.

/// Per partition (`table/dt=…`), the sorted values of one column (duplicates kept).
fn column_by_partition(out: &Path, table: &str, column: &str) -> BTreeMap<String, Vec<String>> {
    let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for part in crate::util::parts(out, table) {
        let dt = part
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy();
        let v = by.entry(format!("{table}/{dt}")).or_default();
        for b in gatelog::sink::dataset::read_back(&part).unwrap() {
            use arrow_array::cast::AsArray;
            let col = b
                .column(b.schema().index_of(column).unwrap())
                .as_string::<i32>();
            v.extend(col.iter().map(|s| s.unwrap_or("<null>").to_string()));
        }
    }
    for v in by.values_mut() {
        v.sort();
    }
    by
}

/// Request ids and authorizer invocation ids, per partition.
fn dataset_rows(out: &Path) -> BTreeMap<String, Vec<String>> {
    let mut all = column_by_partition(out, "requests", "request_id");
    all.extend(column_by_partition(
        out,
        "authorizer_invocations",
        "lambda_request_id",
    ));
    all
}

/// Asserts two [`dataset_rows`] are equal, naming the first partition and row that differ
/// (the rows themselves are too many to print).
fn assert_same_rows(
    got: &BTreeMap<String, Vec<String>>,
    want: &BTreeMap<String, Vec<String>>,
    what: &str,
) {
    let parts = |m: &BTreeMap<String, Vec<String>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(parts(got), parts(want), "{what}: partitions");
    for (part, ids) in want {
        let have = &got[part];
        let first = have.iter().zip(ids).find(|(a, b)| a != b);
        assert!(
            have == ids,
            "{what}: {part} has {} rows, want {}; first difference {first:?}",
            have.len(),
            ids.len()
        );
    }
}

/// The manifest entry of a partition.
fn manifest_entry(m: &serde_json::Value, path: &str) -> serde_json::Value {
    m["dataset"]["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"] == path)
        .unwrap_or_else(|| panic!("no {path} in the manifest"))
        .clone()
}

/// `analyze` over `inputs` into `out` with `--since SINCE --until UNTIL` (either may be "").
fn analyze_window(inputs: &[PathBuf], out: &Path, since: &str, until: &str) {
    let mut args = vec!["--quiet", "--max-reject-rate", "1"];
    if !since.is_empty() {
        args.extend(["--since", since]);
    }
    if !until.is_empty() {
        args.extend(["--until", until]);
    }
    let o = analyze(inputs, out, &args);
    assert!(
        o.status.success(),
        "{since}..{until}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The generated export (2025-11-03 from 09:00 to about 11:00 UTC) and the sample incident
/// (2025-10-14): two days, three partitions.
fn two_day_input(dir: &Path) -> Vec<PathBuf> {
    vec![
        generate(dir, 6_000, 7),
        fixtures().join("access/enhanced.jsonl"),
    ]
}

/// The start time (RFC 3339) of the first authorizer invocation whose request lies in
/// `[from, to)` and before it: a window starting there splits the request from its invocation.
fn split_point(out: &Path, from: &str, to: &str) -> String {
    let ms = |s: &str| gatelog::time::parse_iso(s).unwrap();
    let (from, to) = (ms(from), ms(to));
    let t = |r: &Row, c: &str| get(r, c).map(|v| v.parse::<i64>().unwrap());
    let requests: BTreeMap<String, i64> = rows(out, "requests")
        .iter()
        .filter_map(|r| Some((get(r, "request_id")?.to_string(), t(r, "request_time")?)))
        .collect();
    rows(out, "authorizer_invocations")
        .iter()
        .filter_map(|inv| {
            let at = requests.get(get(inv, "request_id")?)?;
            let start = t(inv, "start_time")?;
            (from <= *at && *at < to && *at < start).then_some(start)
        })
        .min()
        .map(gatelog::time::rfc3339_ms)
        .expect("a request with an authorizer invocation in the range")
}

#[test]
fn overlapping_windows_give_the_rows_of_one_run_over_their_union() {
    let dir = tmp();
    let input = two_day_input(dir.path());
    let union = dir.path().join("union");
    analyze_window(
        &input,
        &union,
        "2025-10-14T00:00:00Z",
        "2025-11-04T00:00:00Z",
    );
    let want = dataset_rows(&union);
    assert_eq!(want.len(), 3, "{:?}", want.keys());

    let out = dir.path().join("nightly");
    analyze_window(&input, &out, "2025-10-14T00:00:00Z", "2025-11-03T10:00:00Z");
    let first = util::manifest(&out);
    let first_rows = dataset_rows(&out);
    assert!(first_rows["requests/dt=2025-11-03"].len() < want["requests/dt=2025-11-03"].len());
    // Run 2 starts between a request (run 1's) and the start of its authorizer invocation,
    // which must stay with its request rather than be dropped by its own time.
    let since = split_point(
        &union,
        "2025-11-03T09:30:00.000Z",
        "2025-11-03T09:45:00.000Z",
    );
    analyze_window(&input, &out, &since, "2025-11-04T00:00:00Z");
    assert_same_rows(&dataset_rows(&out), &want, "two windows vs their union");

    // Run 2 kept run 1's rows of 09:00 to its start in the day it rewrote, and left the sample
    // incident's day (outside its window) as run 1 wrote it.
    let second = util::manifest(&out);
    let day = manifest_entry(&second, "requests/dt=2025-11-03");
    assert!(day["kept_rows"].as_u64().unwrap() > 0, "{day}");
    assert_eq!(day["run_id"], second["run_id"]);
    let old = manifest_entry(&second, "requests/dt=2025-10-14");
    assert_eq!(old, manifest_entry(&first, "requests/dt=2025-10-14"));
}

#[test]
fn the_same_input_twice_with_the_same_window_gives_the_same_bytes() {
    let dir = tmp();
    let input = two_day_input(dir.path());
    // On an empty dataset, and on a dataset holding rows outside the window.
    let fresh = dir.path().join("fresh");
    let full = dir.path().join("full");
    analyze_window(&input, &full, "", "");
    for out in [&fresh, &full] {
        analyze_window(&input, out, "2025-11-03T09:30:00Z", "2025-11-03T10:30:00Z");
        let once = partitions(&util::snapshot(out));
        let rows_once = dataset_rows(out);
        analyze_window(&input, out, "2025-11-03T09:30:00Z", "2025-11-03T10:30:00Z");
        let twice = partitions(&util::snapshot(out));
        assert_eq!(
            once.keys().collect::<Vec<_>>(),
            twice.keys().collect::<Vec<_>>()
        );
        for (part, files) in &once {
            assert!(
                twice[part] == *files,
                "{}: {} changed on the rerun",
                out.display(),
                part.display()
            );
        }
        assert_same_rows(&dataset_rows(out), &rows_once, "rerun");
        let kept = manifest_entry(&util::manifest(out), "requests/dt=2025-11-03")["kept_rows"]
            .as_u64()
            .unwrap();
        assert_eq!(
            kept > 0,
            out == &full,
            "{}: kept rows {kept}",
            out.display()
        );
    }
    // The windowed reruns over the full run kept every row of the full run, once.
    let all = dir.path().join("all");
    analyze_window(&input, &all, "", "");
    assert_same_rows(&dataset_rows(&full), &dataset_rows(&all), "windowed reruns");
}

#[test]
fn a_window_that_covers_nothing_of_a_partition_leaves_it_untouched() {
    let dir = tmp();
    let input = two_day_input(dir.path());
    let out = dir.path().join("out");
    analyze_window(&input, &out, "", "");
    let before = partitions(&util::snapshot(&out));
    let rows_before = dataset_rows(&out);
    let incident = Path::new("requests/dt=2025-10-14");
    assert!(before.contains_key(incident));

    // A window inside 2025-11-03: the incident's day is not written, the generated day is
    // rewritten with the same rows.
    analyze_window(&input, &out, "2025-11-03T10:00:00Z", "2025-11-03T10:30:00Z");
    let now = partitions(&util::snapshot(&out));
    assert!(
        now[incident] == before[incident],
        "the 2025-10-14 partition changed"
    );
    assert_same_rows(&dataset_rows(&out), &rows_before, "a window over a day");

    // A window over both days on an export holding only the generated day: the run has no
    // rows for 2025-10-14, so that partition is kept whole (an export missing a day does not
    // erase the day).
    analyze_window(
        &input[..1],
        &out,
        "2025-10-14T00:00:00Z",
        "2025-11-04T00:00:00Z",
    );
    let now = partitions(&util::snapshot(&out));
    assert!(
        now[incident] == before[incident],
        "the 2025-10-14 partition changed"
    );
    assert_same_rows(&dataset_rows(&out), &rows_before, "a window over a day");
}

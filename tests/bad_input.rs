//! Bad input never crashes the tool and never disappears silently.

use std::io::Write;

use crate::util::{analyze, fixtures, rows, tmp};

#[test]
fn malformed_lines_are_rejected_with_file_and_line_and_the_rest_is_processed() {
    let dir = tmp();
    let input = dir.path().join("mixed.log");
    let good = std::fs::read_to_string(fixtures().join("access/enhanced.jsonl")).unwrap();
    let mut f = std::fs::File::create(&input).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    writeln!(f, "{}", lines[0]).unwrap();
    writeln!(f, r#"{{"requestId":"broken","status":"4"#).unwrap();
    f.write_all(b"{\"requestId\":\"bad-\xff-utf8\"}\n").unwrap();
    writeln!(f, "an unrelated line from another log group").unwrap();
    writeln!(f, "{}", lines[1]).unwrap();
    drop(f);
    let out = dir.path().join("out");
    let o = analyze(
        std::slice::from_ref(&input),
        &out,
        &["--quiet", "--max-reject-rate", "1"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(rows(&out, "requests").len(), 2);
    let rejects = std::fs::read_to_string(out.join("rejects.ndjson")).unwrap();
    let r: Vec<serde_json::Value> = rejects
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(r.len(), 2, "{rejects}");
    assert_eq!(r[0]["line"], 2);
    assert_eq!(r[0]["reason"], "malformed_json");
    assert!(r[0]["detail"].as_str().unwrap().contains("mixed.log:2"));
    assert_eq!(r[1]["line"], 3);
    assert_eq!(r[1]["reason"], "invalid_utf8");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["input"]["skipped"]["unrelated_line"], 1);
}

#[test]
fn reject_rate_above_the_limit_exits_3_after_writing() {
    let dir = tmp();
    let input = dir.path().join("bad.log");
    std::fs::write(
        &input,
        "{\"requestId\":\"a\",\"status\":\"403\"}\n{\"requestId\":\"b\",\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = analyze(&[input], &out, &["--quiet"]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.join("_manifest.json").is_file());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--max-reject-rate"));
}

#[test]
fn a_directory_with_no_logs_exits_1_unless_allowed() {
    let dir = tmp();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(input.join("empty.log"), "").unwrap();
    std::fs::write(input.join("notes.txt"), "hello\nworld\n").unwrap();
    let o = analyze(
        std::slice::from_ref(&input),
        &dir.path().join("out"),
        &["--quiet"],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = analyze(
        &[input],
        &dir.path().join("out2"),
        &["--quiet", "--allow-empty"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn truncated_gzip_keeps_earlier_events_and_says_so() {
    let dir = tmp();
    let src = std::fs::read(fixtures().join("access/enhanced.jsonl")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&src).unwrap();
    let bytes = gz.finish().unwrap();
    let cut = dir.path().join("cut.gz");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let out = dir.path().join("out");
    let o = analyze(&[cut], &out, &["--quiet", "--max-reject-rate", "1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let n = rows(&out, "requests").len();
    assert!(n > 5 && n < 40, "{n}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("cut.gz"));
}

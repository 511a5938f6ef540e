//! `athena.sql` and `classify.sql` checked by an independent reader: DuckDB from PyPI (pinned in
//! `scripts/duckdb-requirements.txt`), not mocked. For each input set, `gatelog analyze` writes
//! the dataset; then `tests/athena_check.py` has DuckDB read the Parquet and checks that every
//! DDL type is the Parquet type, that `summary.json` agrees with the rows, and that
//! `classify.sql` gives every row the phase, class and candidates gatelog wrote. Inputs: the
//! bundled `sample-data/`, the golden fixtures in several combinations, and synthetic requests
//! aimed at every rule (`athena/synthetic.rs`). Without DuckDB the tests fail, never skip.

use std::path::{Path, PathBuf};
use std::process::Command;

use gatelog::sink::sql::{athena_ddl, classify_sql};

use crate::util::{analyze, fixtures, tmp};

mod synthetic;

const PIP: &str = "python3 -m pip install -r scripts/duckdb-requirements.txt";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Fails (never skips) when DuckDB is not there.
fn require_duckdb() {
    let ok = Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "DuckDB for Python is not installed (tests/athena.rs needs it as the independent reader): run `{PIP}`"
    );
}

/// Analyzes `inputs`, writes athena.sql and classify.sql next to the dataset, and runs the
/// DuckDB check; returns its JSON counts.
fn check(inputs: &[PathBuf]) -> serde_json::Value {
    check_with(inputs, &[], |_| {})
}

/// [`check`] with more `gatelog analyze` arguments; `inspect` sees the dataset first.
fn check_with(inputs: &[PathBuf], args: &[&str], inspect: impl Fn(&Path)) -> serde_json::Value {
    require_duckdb();
    let dir = tmp();
    let out = dir.path().join("out");
    // The files the run itself writes: classify.sql always, athena.sql on request.
    let mut all = vec!["--athena-location", "s3://example-bucket/gatelog"];
    all.extend_from_slice(args);
    let o = analyze(inputs, &out, &all);
    assert!(
        o.status.success(),
        "gatelog analyze {inputs:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    inspect(&out);
    let ddl = out.join("athena.sql");
    let sql = out.join("classify.sql");
    assert_eq!(
        std::fs::read_to_string(&ddl).unwrap(),
        athena_ddl("s3://example-bucket/gatelog", "gatelog").unwrap()
    );
    assert_eq!(std::fs::read_to_string(&sql).unwrap(), classify_sql());
    let o = Command::new("python3")
        .arg(root().join("tests/athena_check.py"))
        .arg("--out")
        .arg(&out)
        .arg("--ddl")
        .arg(&ddl)
        .arg("--classify")
        .arg(&sql)
        .arg("--requirements")
        .arg(root().join("scripts/duckdb-requirements.txt"))
        .output()
        .expect("run python3");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "DuckDB check of {inputs:?} failed:\n{stderr}"
    );
    eprintln!("{inputs:?}: {}", String::from_utf8_lossy(&o.stdout).trim());
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "athena_check.py printed no JSON ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

fn n(v: &serde_json::Value, k: &str) -> u64 {
    v[k].as_u64()
        .unwrap_or_else(|| panic!("{k} missing in {v}"))
}

fn sample(p: &str) -> PathBuf {
    fixtures().join(p)
}

#[test]
fn sample_data() {
    let v = check(&[root().join("sample-data")]);
    assert_eq!(n(&v, "requests"), 3000, "{v}");
    assert_eq!(n(&v, "classify_rows"), 3000, "{v}");
    assert_eq!(n(&v, "denied"), 755, "{v}");
    assert!(n(&v, "invocations") > 0, "{v}");
}

#[test]
fn enhanced_format_alone() {
    let v = check(&[sample("access/enhanced.jsonl")]);
    assert_eq!((n(&v, "requests"), n(&v, "denied")), (40, 16), "{v}");
    assert_eq!(n(&v, "decided_by_sql"), 16, "{v}");
}

#[test]
fn troubleshooting_format_alone() {
    let v = check(&[sample("access/troubleshooting.jsonl")]);
    assert_eq!((n(&v, "requests"), n(&v, "denied")), (40, 16), "{v}");
}

#[test]
fn console_clf_alone() {
    let v = check(&[sample("access/console-clf.log")]);
    assert_eq!(n(&v, "requests"), 40, "{v}");
}

#[test]
fn troubleshooting_with_api_config() {
    let cfg = |n: &str| root().join("tests/fixtures/api-config").join(n);
    let (export, customised) = (
        cfg("k3vq8zt1pw-live-oas30.json"),
        cfg("get-gateway-responses-customised.json"),
    );
    let v = check_with(
        &[sample("access/troubleshooting.jsonl")],
        &[
            "--api-config",
            export.to_str().unwrap(),
            "--api-config",
            customised.to_str().unwrap(),
        ],
        |_| {},
    );
    assert_eq!((n(&v, "requests"), n(&v, "denied")), (40, 16), "{v}");
}

#[test]
fn http_api_with_and_without_its_export() {
    let dir = root().join("tests/fixtures/http-api");
    let access = dir.join("access.jsonl");
    let export = dir.join("a1b2c3d4e5-export.json");
    let v = check(std::slice::from_ref(&access));
    assert_eq!((n(&v, "requests"), n(&v, "denied")), (11, 7), "{v}");
    let v = check_with(
        &[access],
        &["--api-config", export.to_str().unwrap()],
        |_| {},
    );
    assert_eq!(n(&v, "denied"), 7, "{v}");
}

#[test]
fn troubleshooting_with_execution_and_lambda_logs() {
    let v = check(&[
        sample("access/troubleshooting.jsonl"),
        sample("execution/execution.log"),
        sample("lambda"),
    ]);
    assert_eq!(n(&v, "denied"), 16, "{v}");
    assert!(n(&v, "invocations") > 0, "{v}");
}

#[test]
fn enhanced_with_execution_and_lambda_logs() {
    let v = check(&[
        sample("access/enhanced.jsonl"),
        sample("execution/execution.log"),
        sample("lambda"),
    ]);
    assert_eq!(n(&v, "denied"), 16, "{v}");
}

#[test]
fn clf_with_lambda_logs_and_execution_log_alone() {
    check(&[sample("access/console-clf.log"), sample("lambda")]);
    // Requests known only from their execution-log lines (no access variable known).
    let v = check(&[sample("execution/execution.log")]);
    assert!(n(&v, "requests") > 0, "{v}");
}

#[test]
fn every_access_format_at_once() {
    // The same request ids in five layouts: duplicates and conflicting ids included.
    check(&[
        sample("access"),
        sample("execution/execution.log"),
        sample("lambda"),
    ]);
}

#[test]
fn synthetic_requests_through_every_rule() {
    let dir = tmp();
    let files = synthetic::write(dir.path(), 20251014, 3000, false, true);
    let config = synthetic::write_config(dir.path());
    let mut args = Vec::new();
    for c in &config {
        args.push("--api-config");
        args.push(c.to_str().unwrap());
    }
    let v = check_with(&files, &args, |out| {
        // The configuration reached the rows and changed answers: facts filled, and rows whose
        // evidence names the configuration.
        let rows = crate::util::rows(out, "requests");
        let with = |k: &str| {
            rows.iter()
                .filter(|r| crate::util::get(r, k).is_some())
                .count()
        };
        assert!(
            with("method_auth_type") > 500,
            "{}",
            with("method_auth_type")
        );
        assert!(with("gateway_responses_default") > 500);
        let used = rows
            .iter()
            .filter(|r| crate::util::get(r, "evidence").is_some_and(|e| e.contains("api_config")))
            .count();
        assert!(used > 100, "{used} rows used the configuration");
    });
    assert_eq!(n(&v, "requests"), 3000, "{v}");
    assert!(n(&v, "denied") > 1000, "{v}");
    assert!(n(&v, "decided_by_sql") > 500, "{v}");
}

#[test]
fn synthetic_requests_with_authorizer_invocations() {
    let dir = tmp();
    let files = synthetic::write(dir.path(), 7, 3000, true, false);
    let v = check(&files);
    assert_eq!(n(&v, "requests"), 3000, "{v}");
    assert!(n(&v, "invocations") > 200, "{v}");
    assert!(n(&v, "decided_by_sql") > 500, "{v}");
}

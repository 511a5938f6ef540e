//! The analyze command as a user meets it: usage errors, the dataset layout, reruns.

use crate::util::{analyze, fixtures, gatelog, parts, rows, tmp};

#[test]
fn no_input_is_a_usage_error_that_suggests_the_sample() {
    let o = gatelog(&["analyze", "--out", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("gatelog analyze sample-data"));
}

#[test]
fn missing_path_is_a_usage_error() {
    let dir = tmp();
    let o = analyze(&[dir.path().join("nope")], &dir.path().join("out"), &[]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope"));
}

#[test]
fn unwritable_or_foreign_out_is_a_usage_error() {
    let dir = tmp();
    let foreign = dir.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("precious.txt"), "keep me").unwrap();
    let o = analyze(&[fixtures().join("access/enhanced.jsonl")], &foreign, &[]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(foreign.join("precious.txt")).unwrap(),
        "keep me"
    );
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let o = analyze(
        &[fixtures().join("access/enhanced.jsonl")],
        &file.join("out"),
        &[],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn dataset_layout_summary_and_rerun() {
    let dir = tmp();
    let out = dir.path().join("out");
    let inputs = [
        fixtures().join("access/enhanced.jsonl"),
        fixtures().join("lambda"),
    ];
    let o = analyze(&inputs, &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("40 requests, 16 denied (15 refused"),
        "{stdout}"
    );
    assert!(stdout.contains("authorizer_cached_deny"), "{stdout}");
    assert!(out.join("_manifest.json").is_file());
    assert!(out.join("rejects.ndjson").is_file());
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["requests"], 40);
    assert_eq!(summary["denied"], 16);
    assert_eq!(summary["authorizer"]["invocations"], 12);
    assert_eq!(summary["authorizer"]["matched"], 12);
    let p = parts(&out, "requests");
    assert_eq!(p.len(), 1);
    assert!(
        p[0].to_string_lossy()
            .contains("requests/dt=2025-10-14/part-"),
        "{p:?}"
    );
    // Rows are sorted by request time.
    let times: Vec<String> = rows(&out, "requests")
        .iter()
        .map(|r| r["request_time"].clone().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    // A partition of another day stays; this run's partition is replaced, not duplicated.
    let other = out.join("requests/dt=2020-01-01");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::copy(&p[0], other.join("part-00000.parquet")).unwrap();
    let o = analyze(&inputs, &out, &["--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(other.join("part-00000.parquet").is_file());
    assert_eq!(
        rows(&out, "requests").len(),
        80,
        "40 of this run + 40 in the untouched partition"
    );
    assert!(std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .all(|e| !e.file_name().to_string_lossy().starts_with(".staging")));
}

#[test]
fn json_flag_prints_the_summary_to_stdout() {
    let dir = tmp();
    let o = analyze(
        &[fixtures().join("access/enhanced.jsonl")],
        &dir.path().join("out"),
        &["--json"],
    );
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("stdout is JSON");
    assert_eq!(v["refused"], 15);
    assert_eq!(v["schema_version"], 1);
}

#[test]
fn explain_tells_the_story_of_one_request() {
    let dir = tmp();
    let out = dir.path().join("out");
    let o = analyze(
        &[fixtures().join("containers/s3-export")],
        &out,
        &["--quiet"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let data = out.to_str().unwrap();
    // By API Gateway request id.
    let o = gatelog(&[
        "explain",
        "b1042c08-f334-4bc5-adad-0fc8cc5c3120",
        "--data",
        data,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("authorizer_configuration_error"), "{text}");
    assert!(
        text.contains("TypeError"),
        "the authorizer's own error: {text}"
    );
    assert!(
        text.contains("\"requestId\":\"b1042c08"),
        "the original access line: {text}"
    );
    assert!(text.contains("what to check next"));
    // By the authorizer Lambda's request id, and by extended request id.
    let o = gatelog(&[
        "explain",
        "ce039721-550a-4772-925e-eaffe1a11aea",
        "--data",
        data,
    ]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("3e63d9a0-0376-4989-ad1b-e7156c9bf3e7"));
    let o = gatelog(&["explain", "MVv5lfMEjw0J/yo=", "--data", data]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("b1042c08"));
    // Unknown id: a clear error, exit 1.
    let o = gatelog(&["explain", "no-such-id", "--data", data]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no-such-id"));
}

#[test]
fn since_until_and_stage_filters_drop_requests_outside() {
    let dir = tmp();
    let out = dir.path().join("out");
    let input = fixtures().join("access/enhanced.jsonl");
    // The incident runs 14:05:02 to 14:24:21; keep 14:10 to 14:15.
    let o = analyze(
        std::slice::from_ref(&input),
        &out,
        &[
            "--quiet",
            "--since",
            "2025-10-14T14:10:00Z",
            "--until",
            "2025-10-14T14:15:00Z",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let n = rows(&out, "requests").len();
    assert_eq!(
        n, 14,
        "requests #16 (14:10:05) to #29 (14:14:57) fall in the window"
    );
    let o = analyze(
        &[input],
        &dir.path().join("o2"),
        &["--quiet", "--since", "yesterday"],
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn check_format_names_what_to_add() {
    let o = gatelog(&["check-format", "troubleshooting"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("add to the format: $context.error.message, $context.error.responseType"),
        "{text}"
    );
    assert!(
        text.contains("missing_authentication_token (routing)"),
        "resourcePath `-` decides routing: {text}"
    );
    let fmt = std::fs::read_to_string(fixtures().join("formats.txt")).unwrap();
    let enhanced = fmt
        .lines()
        .find(|l| l.contains("\"authorizer-requestId\":\"$context.authorizer.requestId\""))
        .unwrap();
    let o = gatelog(&["check-format", enhanced]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("decided from the access log alone (17)"));
    let o = gatelog(&["check-format", "not a format"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn access_format_per_stage_from_get_stage_json() {
    let dir = tmp();
    // Two stages whose access logs use different layouts, exported as bare lines under their
    // log groups; `get-stages` output gives each stage's format.
    let live = dir.path().join("in/aws/apigateway/k3vq8zt1pw/live");
    let beta = dir.path().join("in/aws/apigateway/k3vq8zt1pw/beta");
    std::fs::create_dir_all(&live).unwrap();
    std::fs::create_dir_all(&beta).unwrap();
    std::fs::copy(
        fixtures().join("access/console-csv.csv"),
        live.join("access.log"),
    )
    .unwrap();
    let custom = "$context.requestId|$context.status|$context.error.responseType";
    std::fs::write(
        beta.join("access.log"),
        "aaaa-1|403|WAF_FILTERED\nbbbb-2|200|-\n",
    )
    .unwrap();
    let fmt = |f: &str| serde_json::Value::String(f.to_string());
    let csv = std::fs::read_to_string(fixtures().join("formats.txt")).unwrap();
    let csv = csv
        .lines()
        .find(|l| l.starts_with("$context.identity.sourceIp,"))
        .unwrap();
    let stages = serde_json::json!({"item": [
        {"stageName": "live", "accessLogSettings": {"format": fmt(csv), "destinationArn": "arn:aws:logs:us-east-2:1:log-group:/aws/apigateway/k3vq8zt1pw/live"}},
        {"stageName": "beta", "accessLogSettings": {"format": fmt(custom)}},
    ]});
    let stages_file = dir.path().join("stages.json");
    std::fs::write(&stages_file, stages.to_string()).unwrap();
    let out = dir.path().join("out");
    let flag = format!("@{}", stages_file.display());
    let o = analyze(
        &[dir.path().join("in")],
        &out,
        &["--quiet", "--access-format", &flag],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = rows(&out, "requests");
    assert_eq!(rows.len(), 42);
    let waf = rows
        .iter()
        .find(|r| r["request_id"].as_deref() == Some("aaaa-1"))
        .unwrap();
    assert_eq!(waf["denial_class"].as_deref(), Some("waf_block"));
    assert_eq!(waf["stage"].as_deref(), Some("beta"));
    assert_eq!(waf["access_format"].as_deref(), Some("stage beta"));
    let live_rows = rows
        .iter()
        .filter(|r| r["access_format"].as_deref() == Some("stage live"))
        .count();
    assert_eq!(live_rows, 40);
    // The same with API/STAGE=FORMAT.
    let out2 = dir.path().join("out2");
    let per = format!("k3vq8zt1pw/beta={custom}");
    let o = analyze(
        std::slice::from_ref(&beta),
        &out2,
        &["--quiet", "--access-format", &per],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(crate::util::rows(&out2, "requests").len(), 2);
}

/// A 403 flood from 20,000 addresses, two of them heavy: the `top_*` counts stay bounded,
/// keep the heavy addresses first, say they are approximate, and come out the same on one
/// thread and on two.
#[test]
fn a_flood_from_many_addresses_keeps_the_top_lists_bounded_and_stable() {
    let dir = tmp();
    let template = std::fs::read_to_string(fixtures().join("access/enhanced.jsonl")).unwrap();
    let blocked: serde_json::Map<String, serde_json::Value> = template
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .find(|v: &serde_json::Map<String, serde_json::Value>| v["waf-response"] == "WAF_BLOCK")
        .expect("a WAF_BLOCK line in the sample");
    let mut text = String::new();
    for i in 0..20_000u32 {
        let mut v = blocked.clone();
        let ip = match i % 5 {
            0 => "198.51.100.7".to_string(),
            1 if i < 10_000 => "198.51.100.9".to_string(),
            _ => format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
        };
        v.insert("ip".into(), ip.into());
        v.insert("requestId".into(), format!("flood-{i:05}").into());
        let t = 1_760_450_702_118u64 + u64::from(i) * 50;
        v.insert("requestTimeEpoch".into(), t.to_string().into());
        text.push_str(&serde_json::to_string(&v).unwrap());
        text.push('\n');
    }
    let input = dir.path().join("flood.jsonl");
    std::fs::write(&input, text).unwrap();
    let mut summaries = Vec::new();
    for t in ["1", "2"] {
        let out = dir.path().join(format!("out{t}"));
        let o = analyze(
            std::slice::from_ref(&input),
            &out,
            &["--quiet", "--threads", t],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut s: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        s["run"] = serde_json::Value::Null;
        let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
        assert!(md.contains("more than 4,096 distinct values"), "{md}");
        summaries.push(s);
    }
    let s = &summaries[0];
    assert_eq!(s["denied"], 20_000);
    assert_eq!(s["tops_approximate"], true);
    let ips = s["top_callers"]["source_ip"].as_array().unwrap();
    assert_eq!(ips[0]["value"], "198.51.100.7");
    assert_eq!(ips[1]["value"], "198.51.100.9");
    let heavy = ips[0]["count"].as_u64().unwrap();
    assert!((4_000 - 20_000 / 4_097..=4_000).contains(&heavy), "{heavy}");
    assert_eq!(summaries[0], summaries[1], "--threads 1 and 2 differ");
}

//! The bundled `sample-data/`: produced by `gatelog generate`, reproducible byte for byte, and
//! analyzed to the counts its README and `.expected.json` give.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::util::{analyze, gatelog, get, rows, tmp};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data")
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn regeneration_is_byte_identical() {
    let dir = tmp();
    let out = dir.path().join("regen");
    let o = gatelog(&[
        "generate",
        "--requests",
        "3000",
        "--seed",
        "20251103",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = (walk(&sample()), walk(&out));
    assert_eq!(a, b, "file lists differ");
    for f in &a {
        assert!(
            std::fs::read(sample().join(f)).unwrap() == std::fs::read(out.join(f)).unwrap(),
            "{} differs from a fresh generation",
            f.display()
        );
    }
}

#[test]
fn analyze_matches_the_generated_truth() {
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sample().join(".expected.json")).unwrap())
            .unwrap();
    let dir = tmp();
    let out = dir.path().join("out");
    let o = analyze(&[sample()], &out, &["--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["requests"], truth["requests"]);
    assert_eq!(summary["refused"], truth["refused"]);
    assert_eq!(summary["denied"], truth["denied"]);
    assert_eq!(
        summary["input"]["rejected"]["malformed_json"],
        truth["malformed_lines"]
            .as_array()
            .map(|a| a.len())
            .unwrap_or(3)
    );
    assert_eq!(
        summary["authorizer"]["invocations"],
        truth["invocations"]["total"]
    );
    // The enhanced-format stage decides every class at high confidence, exactly as generated.
    let rows = rows(&out, "requests");
    let mut prod: BTreeMap<String, u64> = BTreeMap::new();
    for r in rows
        .iter()
        .filter(|r| get(r, "access_format").is_some_and(|f| f.starts_with("enhanced")))
    {
        if get(r, "denied") == Some("true") {
            assert_eq!(get(r, "confidence"), Some("high"), "{r:?}");
            *prod
                .entry(get(r, "denial_class").unwrap().to_string())
                .or_default() += 1;
        }
    }
    let want: BTreeMap<String, u64> = truth["per_stage"]["prod"]["per_class"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| v.as_u64() != Some(0))
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(prod, want);
    // The troubleshooting-format stage: every denial counted, none decided high without a log.
    let beta_denied = rows
        .iter()
        .filter(|r| {
            get(r, "access_format") == Some("troubleshooting") && get(r, "denied") == Some("true")
        })
        .count() as u64;
    assert_eq!(
        Some(beta_denied),
        truth["per_stage"]["beta"]["denied"].as_u64()
    );
    // The sample plants realistic bearer JWTs in authorizer events: none may leave the tool.
    assert!(truth["unredacted_tokens"].as_u64().unwrap_or(0) > 0);
    let invocations = crate::util::rows(&out, "authorizer_invocations");
    for r in rows.iter().chain(invocations.iter()) {
        for v in r.values().flatten() {
            assert!(!v.contains("eyJ"), "token in output: {v}");
        }
    }
    for f in ["rejects.ndjson", "summary.json", "_manifest.json"] {
        assert!(
            !std::fs::read_to_string(out.join(f))
                .unwrap()
                .contains("eyJ"),
            "{f}"
        );
    }
    assert!(!String::from_utf8_lossy(&o.stderr).contains("eyJ"));
    // report.html opens offline: no network reference of any kind.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for needle in [
        "http:", "https:", "src=", "<script", "<link", "@import", "url(",
    ] {
        assert!(
            !html.to_ascii_lowercase().contains(needle),
            "report.html contains {needle}"
        );
    }
    assert!(html.contains("authorizer_cached_deny") && html.contains("<svg"));
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("authorizer_cached_deny"));
}

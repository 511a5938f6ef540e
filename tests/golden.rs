//! Golden test on the shared sample incident (tests/fixtures/samples, EXPECTED.md): every
//! route of the same incident gives the same `requests` rows apart from provenance and
//! `log_time`, and the weaker inputs give exactly the documented limits.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::util::{analyze, fixtures, get, rows, tmp, Row};

/// A denied request's id, class and troubleshooting answer.
pub type Denied = (
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
);

/// Denied requests: id, class (enhanced format: high), troubleshooting answer
/// (class, confidence) or None where EXPECTED.md says undecidable.
pub const DENIED: &[Denied] = &[
    (
        "5ff31b8a-ec05-49b0-aa7c-89f82faca8b1",
        "resource_policy_explicit_deny",
        None,
    ),
    (
        "b8f6889a-674c-48af-a8f0-1f563833917e",
        "throttled",
        Some(("throttled", "low")),
    ),
    (
        "83fd0eaa-3423-495f-9137-5eee93ad70ce",
        "authorizer_policy_mismatch",
        Some(("authorizer_policy_mismatch", "low")),
    ),
    (
        "3e63d9a0-0376-4989-ad1b-e7156c9bf3e7",
        "authorizer_explicit_deny",
        Some(("authorizer_explicit_deny", "low")),
    ),
    (
        "5ca127f3-08c9-49e3-80f5-0029a0786f04",
        "authorizer_cached_deny",
        Some(("authorizer_cached_deny", "low")),
    ),
    (
        "330d71d3-48c2-435f-96fa-e11ecf22c6ae",
        "quota_exceeded",
        Some(("quota_exceeded", "low")),
    ),
    ("739b8b6d-84ed-48bd-baef-f93b4d9af042", "waf_block", None),
    (
        "8fcf46f5-5756-4136-9607-848ce6a41c8d",
        "iam_policy_deny",
        Some(("iam_policy_deny", "low")),
    ),
    (
        "279821e5-a487-44a3-b480-4e9b2b78e1af",
        "authorizer_identity_missing",
        Some(("authorizer_identity_missing", "medium")),
    ),
    (
        "e4a03d67-30ca-4afa-aebd-bb6e8a310f30",
        "authorizer_unauthorized",
        Some(("authorizer_unauthorized", "medium")),
    ),
    (
        "ca8b2100-92d5-423c-8f35-59bf83ba112f",
        "api_key_invalid",
        None,
    ),
    (
        "8ab7ea5b-85bb-4eb8-b9e7-21e217ab1cf7",
        "iam_signature_invalid",
        None,
    ),
    (
        "b1042c08-f334-4bc5-adad-0fc8cc5c3120",
        "authorizer_configuration_error",
        Some(("authorizer_configuration_error", "medium")),
    ),
    (
        "05bdcdb4-8409-419b-adc3-bcff3248e786",
        "missing_authentication_token",
        Some(("missing_authentication_token", "medium")),
    ),
    (
        "b3b45cc8-3c85-458f-a143-4e3b5a6a7c7f",
        "iam_token_expired",
        None,
    ),
    (
        "2537217f-d832-4a77-b984-81c8c8284b82",
        "backend_denied",
        Some(("backend_denied", "low")),
    ),
];

/// Invocation → request (EXPECTED.md §4).
const INVOCATIONS: &[(&str, &str, &str)] = &[
    (
        "60cd47f8-008d-4c59-9bf1-66ae535ca246",
        "c1d4f94e-a50e-42b3-8b32-945ded941995",
        "allow",
    ),
    (
        "b031d9da-0548-45d3-bf41-21d255e09fee",
        "25dbfaed-c5cd-4c61-ba93-1f964e72606c",
        "allow",
    ),
    (
        "ce039721-550a-4772-925e-eaffe1a11aea",
        "3e63d9a0-0376-4989-ad1b-e7156c9bf3e7",
        "deny",
    ),
    (
        "8d192761-38f8-4fcb-bc11-e941217ef79e",
        "def852b4-89ca-4b29-9468-e3dc2b436168",
        "allow",
    ),
    (
        "e6dc37d8-934b-4c57-b267-d53389bfc281",
        "66c309dd-6c8f-46bd-885d-05eda49789ba",
        "allow",
    ),
    (
        "eddbda3a-659a-4cde-9d8f-1dd060344159",
        "e4a03d67-30ca-4afa-aebd-bb6e8a310f30",
        "unauthorized",
    ),
    (
        "4ec5b0ef-2c05-446e-8787-3fbc122bf277",
        "b1042c08-f334-4bc5-adad-0fc8cc5c3120",
        "error",
    ),
    (
        "f2f96ef2-8fec-408b-96d9-15192665f3dd",
        "2537217f-d832-4a77-b984-81c8c8284b82",
        "allow",
    ),
    (
        "6b0e696c-dc23-42bd-933d-a0448928e48e",
        "a78e9e24-c0c6-4725-887d-c9b489018147",
        "allow",
    ),
    (
        "fe2a0483-0de7-4ffb-8f36-face5c6aec0f",
        "5acc71f0-2ffb-49ba-bc9e-8ed9bc792a97",
        "allow",
    ),
    (
        "b693658f-6205-4b8e-90d8-d623ae5569d6",
        "83c27810-cc0e-4072-b491-3b7e7ad3b8c7",
        "allow",
    ),
    (
        "d306db2f-7664-4e0f-9a44-8651cb2ee41a",
        "100e3b17-4b6b-49e6-a53d-3dcd45156ab7",
        "allow",
    ),
];

fn by_id(rows: &[Row]) -> BTreeMap<String, Row> {
    rows.iter()
        .map(|r| (get(r, "request_id").unwrap().to_string(), r.clone()))
        .collect()
}

/// The enhanced-format answer: every class at high confidence, the rest not denied.
fn check_enhanced(rows: &[Row], route: &str) {
    assert_eq!(rows.len(), 40, "{route}: 40 requests");
    let m = by_id(rows);
    for (id, r) in &m {
        match DENIED.iter().find(|(d, _, _)| d == id) {
            Some((_, class, _)) => {
                assert_eq!(get(r, "denial_class"), Some(*class), "{route} {id}");
                assert_eq!(get(r, "confidence"), Some("high"), "{route} {id}: {r:?}");
                assert_eq!(get(r, "denied"), Some("true"));
                let refused = if *class == "backend_denied" {
                    "false"
                } else {
                    "true"
                };
                assert_eq!(get(r, "refused"), Some(refused), "{route} {id}");
            }
            None => {
                assert_eq!(get(r, "denied"), Some("false"), "{route} {id}");
                assert_eq!(get(r, "denial_class"), None);
            }
        }
    }
    let refused = rows
        .iter()
        .filter(|r| get(r, "refused") == Some("true"))
        .count();
    let denied = rows
        .iter()
        .filter(|r| get(r, "denied") == Some("true"))
        .count();
    assert_eq!((refused, denied), (15, 16), "{route}");
}

fn check_invocations(out: &std::path::Path, route: &str, method: &str) {
    let inv = rows(out, "authorizer_invocations");
    assert_eq!(inv.len(), 12, "{route}");
    for (lid, rid, decision) in INVOCATIONS {
        let r = inv
            .iter()
            .find(|r| get(r, "lambda_request_id") == Some(*lid))
            .unwrap_or_else(|| panic!("{route}: invocation {lid} missing"));
        assert_eq!(get(r, "request_id"), Some(*rid), "{route} {lid}");
        assert_eq!(get(r, "decision"), Some(*decision), "{route} {lid}");
        assert_eq!(get(r, "match_method"), Some(method), "{route} {lid}");
    }
}

/// Request rows without provenance and CloudWatch event time, to compare routes.
fn comparable(rows: &[Row]) -> Vec<Row> {
    let mut v: Vec<Row> = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            for k in ["source_file", "source_line", "source_offset", "log_time"] {
                r.remove(k);
            }
            r
        })
        .collect();
    v.sort_by(|a, b| get(a, "request_id").cmp(&get(b, "request_id")));
    v
}

fn lambda_text() -> Vec<PathBuf> {
    vec![
        fixtures().join("lambda/payments-live-request-authorizer.text.log"),
        fixtures().join("lambda/payments-live-token-authorizer.text.log"),
    ]
}

#[test]
fn every_route_gives_the_same_answer() {
    let routes: Vec<(&str, Vec<PathBuf>)> = vec![
        (
            "lines",
            [
                vec![
                    fixtures().join("access/enhanced.jsonl"),
                    fixtures().join("execution/execution.log"),
                ],
                lambda_text(),
            ]
            .concat(),
        ),
        ("s3-export", vec![fixtures().join("containers/s3-export")]),
        (
            "cli-json",
            vec![fixtures().join("containers/filter-log-events")],
        ),
    ];
    let mut reference: Option<Vec<Row>> = None;
    for (route, inputs) in routes {
        let dir = tmp();
        let out = dir.path().join("out");
        let o = analyze(&inputs, &out, &["--quiet"]);
        assert!(
            o.status.success(),
            "{route}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let rows = rows(&out, "requests");
        check_enhanced(&rows, route);
        check_invocations(&out, route, "authorizer_request_id");
        let c = comparable(&rows);
        match &reference {
            None => reference = Some(c),
            Some(r) => {
                assert_eq!(r.len(), c.len(), "{route}");
                for (a, b) in r.iter().zip(&c) {
                    assert_eq!(a, b, "{route} differs from the lines route");
                }
            }
        }
    }
}

#[test]
fn troubleshooting_format_gives_documented_limits() {
    let dir = tmp();
    let out = dir.path().join("out");
    let o = analyze(
        &[fixtures().join("access/troubleshooting.jsonl")],
        &out,
        &["--quiet"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = by_id(&rows(&out, "requests"));
    assert_eq!(m.len(), 40);
    for (id, truth, t) in DENIED {
        let r = &m[*id];
        let cands = get(r, "candidates").unwrap_or_default();
        assert!(
            cands.split('|').any(|c| c == *truth),
            "{id}: {truth} not in {cands}"
        );
        match t {
            Some((class, conf)) => {
                assert_eq!(get(r, "denial_class"), Some(*class), "{id}");
                assert_eq!(get(r, "confidence"), Some(*conf), "{id}");
            }
            None => {
                assert_eq!(get(r, "denial_class"), None, "{id}: must not guess");
                assert_eq!(get(r, "denial_phase"), Some("unknown"), "{id}");
                assert!(
                    get(r, "advice")
                        .unwrap_or_default()
                        .contains("$context.error.responseType"),
                    "{id}"
                );
            }
        }
    }
}

#[test]
fn troubleshooting_plus_authorizer_logs_links_request_authorizer_exactly() {
    let dir = tmp();
    let out = dir.path().join("out");
    let inputs = [
        vec![fixtures().join("access/troubleshooting.jsonl")],
        lambda_text(),
    ]
    .concat();
    let o = analyze(&inputs, &out, &["--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = by_id(&rows(&out, "requests"));
    // The REQUEST authorizer logged the API Gateway id: its Deny decides, from its own log.
    let r = &m["3e63d9a0-0376-4989-ad1b-e7156c9bf3e7"];
    assert_eq!(get(r, "denial_class"), Some("authorizer_explicit_deny"));
    assert_eq!(get(r, "confidence"), Some("high"));
    assert_eq!(
        get(r, "authorizer_match_method"),
        Some("logged_request_context")
    );
    let r = &m["b1042c08-f334-4bc5-adad-0fc8cc5c3120"];
    assert_eq!(
        get(r, "denial_class"),
        Some("authorizer_configuration_error")
    );
    assert_eq!(get(r, "confidence"), Some("high"));
    assert!(get(r, "authorizer_invocation_error")
        .unwrap()
        .contains("TypeError"));
    // The TOKEN authorizer never sees the id: linked by time and route only, never high.
    let r = &m["e4a03d67-30ca-4afa-aebd-bb6e8a310f30"];
    assert_eq!(
        get(r, "authorizer_match_method"),
        Some("inferred_time_route")
    );
    assert_eq!(get(r, "denial_class"), Some("authorizer_unauthorized"));
    assert_ne!(get(r, "confidence"), Some("high"));
    let inv = rows(&out, "authorizer_invocations");
    let method = |m: &str| {
        inv.iter()
            .filter(|r| get(r, "match_method") == Some(m))
            .count()
    };
    assert_eq!(
        method("logged_request_context"),
        7,
        "all 7 REQUEST invocations carry requestContext.requestId"
    );
    assert_eq!(
        method("inferred_time_route"),
        5,
        "the 5 TOKEN invocations, by time and methodArn"
    );
    for (lid, rid, _) in INVOCATIONS {
        let r = inv
            .iter()
            .find(|r| get(r, "lambda_request_id") == Some(*lid))
            .unwrap();
        assert_eq!(get(r, "request_id"), Some(*rid), "{lid}");
    }
    for r in m
        .values()
        .filter(|r| get(r, "authorizer_match_method") == Some("inferred_time_route"))
    {
        assert_ne!(
            get(r, "confidence"),
            Some("high"),
            "an inferred link never gives high"
        );
    }
}

#[test]
fn thread_count_does_not_change_the_output() {
    let inputs = vec![
        fixtures().join("containers/s3-export"),
        fixtures().join("containers/filter-log-events"),
    ];
    let mut outs = Vec::new();
    let dir = tmp();
    for t in ["1", "2"] {
        let out = dir.path().join(format!("out{t}"));
        let o = analyze(&inputs, &out, &["--quiet", "--threads", t]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let bytes: Vec<Vec<u8>> = crate::util::parts(&out, "requests")
            .iter()
            .chain(crate::util::parts(&out, "authorizer_invocations").iter())
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        outs.push(bytes);
    }
    assert!(!outs[0].is_empty());
    assert_eq!(
        outs[0], outs[1],
        "Parquet differs between --threads 1 and 2"
    );
}

#[test]
fn console_clf_csv_and_xml_give_the_same_answers() {
    let mut answers = Vec::new();
    for f in ["console-clf.log", "console-csv.csv", "console-xml.xml"] {
        let dir = tmp();
        let out = dir.path().join("out");
        let o = analyze(&[fixtures().join("access").join(f)], &out, &["--quiet"]);
        assert!(
            o.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let m = by_id(&rows(&out, "requests"));
        assert_eq!(m.len(), 40, "{f}");
        let a: Vec<RowKey> = m
            .iter()
            .map(|(id, r)| {
                let g = |k: &str| get(r, k).map(str::to_string);
                (
                    id.clone(),
                    g("denial_class"),
                    g("confidence"),
                    g("candidates"),
                )
            })
            .collect();
        // Status only: never high, and #11 / #12 (identical records) get the same answer.
        assert!(a.iter().all(|x| x.2.as_deref() != Some("high")), "{f}");
        let find = |id: &str| a.iter().find(|x| x.0 == id).unwrap().clone();
        let (e, c) = (
            find("3e63d9a0-0376-4989-ad1b-e7156c9bf3e7"),
            find("5ca127f3-08c9-49e3-80f5-0029a0786f04"),
        );
        assert_eq!((e.1, e.3), (c.1, c.3), "{f}");
        assert_eq!(
            find("05bdcdb4-8409-419b-adc3-bcff3248e786").1.as_deref(),
            Some("missing_authentication_token")
        );
        answers.push(a);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], answers[2]);
}

#[test]
fn execution_log_alone_decides_what_its_lines_show() {
    let dir = tmp();
    let out = dir.path().join("out");
    let o = analyze(
        &[fixtures().join("execution/execution.log")],
        &out,
        &["--quiet"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = by_id(&rows(&out, "requests"));
    // 38 request ids have lines; the WAF block and the unknown route have none.
    assert_eq!(m.len(), 38);
    for (id, truth, _) in DENIED {
        let Some(r) = m.get(*id) else {
            assert!(
                ["waf_block", "missing_authentication_token"].contains(truth),
                "{id} missing"
            );
            continue;
        };
        assert_eq!(get(r, "sources"), Some("execution"), "{id}");
        assert!(get(r, "exec_facts").is_some(), "{id}");
        match *truth {
            // Explicit vs implicit is not in the execution log; the phase is.
            "resource_policy_explicit_deny" => {
                assert_eq!(get(r, "denial_class"), None, "{id}");
                assert_eq!(get(r, "denial_phase"), Some("resource_policy"), "{id}");
            }
            // A cache hit and a policy mismatch look alike in one request's lines.
            "authorizer_cached_deny" | "authorizer_policy_mismatch" => {
                assert_eq!(get(r, "denial_class"), None, "{id}");
                assert_eq!(get(r, "denial_phase"), Some("authorizer"), "{id}");
                assert_eq!(
                    get(r, "candidates"),
                    Some("authorizer_cached_deny|authorizer_policy_mismatch"),
                    "{id}"
                );
            }
            class => {
                assert_eq!(get(r, "denial_class"), Some(class), "{id}: {r:?}");
                assert_eq!(get(r, "confidence"), Some("high"), "{id}");
            }
        }
    }
    let denied = m
        .values()
        .filter(|r| get(r, "denied") == Some("true"))
        .count();
    assert_eq!(denied, 14);
}

#[test]
fn troubleshooting_plus_execution_log_decides_most_classes_high() {
    let dir = tmp();
    let out = dir.path().join("out");
    let inputs = [
        fixtures().join("access/troubleshooting.jsonl"),
        fixtures().join("execution/execution.log"),
    ];
    let o = analyze(&inputs, &out, &["--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = by_id(&rows(&out, "requests"));
    assert_eq!(m.len(), 40, "execution lines join the access records");
    for (id, truth, _) in DENIED {
        let r = &m[*id];
        let cands = get(r, "candidates").unwrap_or_default();
        assert!(
            cands.split('|').any(|c| c == *truth),
            "{id}: {truth} not in {cands}"
        );
        if get(r, "confidence") == Some("high") {
            assert_eq!(
                get(r, "denial_class"),
                Some(*truth),
                "{id}: wrong class at high confidence"
            );
        }
    }
    let high = m
        .values()
        .filter(|r| get(r, "confidence") == Some("high"))
        .count();
    assert_eq!(high, 11, "every class the execution log shows");
    let r = &m["3e63d9a0-0376-4989-ad1b-e7156c9bf3e7"];
    assert_eq!(get(r, "denial_class"), Some("authorizer_explicit_deny"));
    assert_eq!(get(r, "sources"), Some("access|execution"));
}

/// A row's id, class, confidence and candidates, as compared across routes.
type RowKey = (String, Option<String>, Option<String>, Option<String>);

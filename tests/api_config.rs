//! `--api-config`: the API's configuration, as the AWS CLI prints it, narrows the candidates of
//! the shared sample incident without ever dropping the true class, is named in the evidence,
//! fills the configuration columns, and a file that is none of the documents is a usage error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::golden::DENIED;
use crate::util::{analyze, fixtures, get, rows, tmp, Row};

fn config(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/api-config")
        .join(name)
        .display()
        .to_string()
}

/// The requests of the troubleshooting-format sample, analyzed with `args`, by request id.
fn troubleshooting(args: &[&str]) -> BTreeMap<String, Row> {
    let dir = tmp();
    let out = dir.path().join("out");
    let inputs: Vec<PathBuf> = vec![fixtures().join("access/troubleshooting.jsonl")];
    let mut all = vec!["--quiet"];
    all.extend_from_slice(args);
    let o = analyze(&inputs, &out, &all);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    rows(&out, "requests")
        .into_iter()
        .map(|r| (get(&r, "request_id").unwrap().to_string(), r))
        .collect()
}

fn candidates(r: &Row) -> Vec<String> {
    get(r, "candidates")
        .unwrap_or_default()
        .split('|')
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_export_narrows_candidates_and_never_drops_the_truth() {
    let export = config("k3vq8zt1pw-live-oas30.json");
    let authorizers = config("get-authorizers.json");
    let responses = config("get-gateway-responses.json");
    let plain = troubleshooting(&[]);
    let with = troubleshooting(&[
        "--api-config",
        &export,
        "--api-config",
        &authorizers,
        "--api-config",
        &responses,
    ]);
    let mut narrower = 0;
    for (id, truth, _) in DENIED {
        let (a, b) = (candidates(&plain[*id]), candidates(&with[*id]));
        assert!(b.iter().any(|c| c == truth), "{id}: {truth} dropped: {b:?}");
        assert!(
            b.iter().all(|c| a.contains(c)),
            "{id}: {b:?} not within {a:?}"
        );
        if b.len() < a.len() {
            narrower += 1;
            let ev = get(&with[*id], "evidence").unwrap_or_default();
            assert!(ev.contains("api_config="), "{id}: {ev}");
        }
    }
    assert!(narrower >= 8, "only {narrower} rows narrowed");
    // The WAF block on a Lambda method without an API key: its 23-byte body now fits one class.
    let waf = &with["739b8b6d-84ed-48bd-baef-f93b4d9af042"];
    assert_eq!(
        get(
            &plain["739b8b6d-84ed-48bd-baef-f93b4d9af042"],
            "denial_class"
        ),
        None
    );
    assert_eq!(get(waf, "denial_class"), Some("waf_block"));
    assert_eq!(get(waf, "confidence"), Some("low"));
    // The configuration columns.
    let r = &with["e4a03d67-30ca-4afa-aebd-bb6e8a310f30"];
    assert_eq!(get(r, "method_auth_type"), Some("CUSTOM"));
    assert_eq!(get(r, "authorizer_name"), Some("payments-token-authorizer"));
    assert_eq!(get(r, "authorizer_type"), Some("TOKEN"));
    assert_eq!(get(r, "authorizer_ttl_s"), Some("300"));
    assert_eq!(get(r, "api_key_required"), Some("false"));
    assert_eq!(get(r, "gateway_responses_default"), Some("true"));
    assert_eq!(get(r, "gateway_responses_customised"), Some(""));
    let r = &with["ca8b2100-92d5-423c-8f35-59bf83ba112f"];
    assert_eq!(get(r, "method_auth_type"), Some("NONE"));
    assert_eq!(get(r, "api_key_required"), Some("true"));
    // Without a configuration the columns are null.
    for c in [
        "method_auth_type",
        "api_key_required",
        "gateway_responses_default",
    ] {
        assert_eq!(get(&plain["ca8b2100-92d5-423c-8f35-59bf83ba112f"], c), None);
    }
    // The unknown route matches no method: no method facts, still the API's responses.
    let r = &with["05bdcdb4-8409-419b-adc3-bcff3248e786"];
    assert_eq!(get(r, "method_auth_type"), None);
    assert_eq!(get(r, "gateway_responses_default"), Some("true"));
}

#[test]
fn customised_gateway_responses_leave_the_body_length_unused() {
    let export = config("k3vq8zt1pw-live-oas30.json");
    let defaults = troubleshooting(&[
        "--api-config",
        &export,
        "--api-config",
        &config("get-gateway-responses.json"),
    ]);
    let custom = troubleshooting(&[
        "--api-config",
        &export,
        "--api-config",
        &config("get-gateway-responses-customised.json"),
    ]);
    for (id, class) in [
        (
            "3e63d9a0-0376-4989-ad1b-e7156c9bf3e7",
            "authorizer_explicit_deny",
        ),
        (
            "5ca127f3-08c9-49e3-80f5-0029a0786f04",
            "authorizer_cached_deny",
        ),
    ] {
        let d = &defaults[id];
        assert_eq!(get(d, "denial_class"), Some(class), "{id}");
        assert!(
            get(d, "evidence")
                .unwrap_or_default()
                .contains("gateway_responses=default: ACCESS_DENIED"),
            "{id}: {:?}",
            get(d, "evidence")
        );
        let c = &custom[id];
        assert_eq!(get(c, "denial_class"), None, "{id}");
        assert_eq!(get(c, "denial_phase"), Some("unknown"), "{id}");
        assert_eq!(candidates(c), candidates(d), "{id}");
        assert_eq!(
            get(c, "gateway_responses_customised"),
            Some("ACCESS_DENIED")
        );
        assert!(get(c, "evidence")
            .unwrap_or_default()
            .contains("gateway_responses=customised: ACCESS_DENIED"));
    }
    // Throttling's 429 bodies are still the defaults: still picked.
    assert_eq!(
        get(
            &custom["b8f6889a-674c-48af-a8f0-1f563833917e"],
            "denial_class"
        ),
        Some("throttled")
    );
}

#[test]
fn a_file_that_is_no_api_configuration_is_a_usage_error() {
    let dir = tmp();
    let out = dir.path().join("out");
    let bad = dir.path().join("events.json");
    std::fs::write(&bad, r#"{"events":[],"searchedLogStreams":[]}"#).unwrap();
    let o = analyze(
        &[fixtures().join("access/troubleshooting.jsonl")],
        &out,
        &["--quiet", "--api-config", bad.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("events.json"), "{err}");
    assert!(
        err.contains("get-export") && err.contains("get-gateway-responses"),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written");
}

//! HTTP APIs (v2): `routeKey`, non-UUID request ids, `$context.authorizer.error`, JWT and
//! Lambda (simple response) authorizers, and an unknown route's 404 that is no denial
//! (tests/fixtures/http-api, whose README is the answer key).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::util::{analyze, get, rows, tmp, Row};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/http-api")
        .join(name)
}

fn run(args: &[&str]) -> BTreeMap<String, Row> {
    let dir = tmp();
    let out = dir.path().join("out");
    let mut all = vec!["--quiet"];
    all.extend_from_slice(args);
    let o = analyze(&[fixture("access.jsonl")], &out, &all);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    rows(&out, "requests")
        .into_iter()
        .map(|r| (get(&r, "request_id").unwrap().to_string(), r))
        .collect()
}

fn class(r: &Row) -> Option<&str> {
    get(r, "denial_class")
}

fn candidates(r: &Row) -> Vec<&str> {
    get(r, "candidates")
        .unwrap_or_default()
        .split('|')
        .filter(|c| !c.is_empty())
        .collect()
}

#[test]
fn the_access_log_alone() {
    let m = run(&[]);
    assert_eq!(m.len(), 11, "every HTTP API request id is its own request");
    let r = &m["Jd2wEh8LoAMEb7Q="];
    assert_eq!(get(r, "route_key"), Some("GET /orders"));
    assert_eq!(class(r), Some("jwt_unauthorized"));
    assert_eq!(get(r, "denial_phase"), Some("authorizer"));
    assert_eq!(get(r, "confidence"), Some("medium"));
    assert!(get(r, "evidence")
        .unwrap_or_default()
        .contains("authorizer.error=JWT token is expired"));
    assert_eq!(
        class(&m["Jd2wIiXkIAMEbQw="]),
        Some("jwt_insufficient_scope")
    );
    let deny = &m["Jd2wKgF3oAMEbVg="];
    assert_eq!(class(deny), None);
    assert_eq!(
        candidates(deny),
        [
            "iam_unsigned",
            "authorizer_explicit_deny",
            "authorizer_cached_deny"
        ]
    );
    assert!(get(deny, "advice")
        .unwrap_or_default()
        .contains("--api-config"));
    assert_eq!(
        candidates(&m["Jd2wGj2poAMEbnA="]),
        ["authorizer_identity_missing", "authorizer_unauthorized"]
    );
    assert_eq!(
        class(&m["Jd2wOjmeIAMEbkg="]),
        Some("authorizer_configuration_error")
    );
    assert_eq!(class(&m["Jd2wSiOdIAMEbPg="]), Some("throttled"));
    // No route matched: 404 Not Found, not a denial.
    let r = &m["Jd2wQgcWoAMEbxQ="];
    assert_eq!(get(r, "denied"), Some("false"));
    assert_eq!(get(r, "denial_phase"), None);
    // REST-only classes never appear for an HTTP API.
    for r in m.values() {
        for c in candidates(r) {
            assert!(
                !matches!(
                    c,
                    "waf_block"
                        | "resource_policy_explicit_deny"
                        | "resource_policy_implicit_deny"
                        | "missing_authentication_token"
                        | "api_key_invalid"
                        | "quota_exceeded"
                        | "cognito_unauthorized"
                ),
                "{c} for an HTTP API"
            );
        }
    }
    let denied = m
        .values()
        .filter(|r| get(r, "denied") == Some("true"))
        .count();
    assert_eq!(denied, 7);
}

#[test]
fn with_the_exported_api() {
    let export = fixture("a1b2c3d4e5-export.json");
    let m = run(&["--api-config", export.to_str().unwrap()]);
    // The JWT route: a 401 without an authorizer error is still the JWT authorizer's.
    let r = &m["Jd2wGj2poAMEbnA="];
    assert_eq!(class(r), Some("jwt_unauthorized"));
    assert_eq!(get(r, "method_auth_type"), Some("JWT"));
    assert_eq!(get(r, "authorizer_name"), Some("orders-jwt"));
    assert_eq!(get(r, "authorizer_type"), Some("JWT"));
    assert_eq!(get(r, "authorizer_ttl_s"), None);
    assert!(get(r, "evidence")
        .unwrap_or_default()
        .contains("method_auth_type=JWT (authorizer orders-jwt, JWT)"));
    // The simple-response deny: a Lambda route without caching, so not a cached deny.
    let r = &m["Jd2wKgF3oAMEbVg="];
    assert_eq!(class(r), Some("authorizer_explicit_deny"));
    assert_eq!(get(r, "confidence"), Some("medium"));
    assert_eq!(get(r, "authorizer_ttl_s"), Some("0"));
    assert_eq!(get(r, "authorizer_type"), Some("REQUEST"));
    let ev = get(r, "evidence").unwrap_or_default();
    assert!(ev.contains("authorizer_ttl_s=0 (no caching"), "{ev}");
    assert!(ev.contains("api_config="), "{ev}");
    // What the configuration cannot split stays open.
    assert_eq!(
        candidates(&m["Jd2wMh1BIAMEb_A="]),
        ["authorizer_identity_missing", "authorizer_unauthorized"]
    );
    assert_eq!(
        get(&m["Jd2wUhHmoAMEbIA="], "method_auth_type"),
        Some("NONE")
    );
    assert_eq!(get(&m["Jd2wQgcWoAMEbxQ="], "method_auth_type"), None);
}

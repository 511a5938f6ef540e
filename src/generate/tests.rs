//! Tests of the generator: determinism, the shapes of every log line against the bundled
//! samples, the truth against what the files say, and the layout of every container.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde::de::{Deserializer, MapAccess, Visitor};

use super::*;

/// A fresh, empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "gatelog-generate-test-{}-{name}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn run(
    name: &str,
    requests: u64,
    seed: u64,
    container: Option<Container>,
    gzip: bool,
) -> (PathBuf, GenerateReport) {
    let out = scratch(name);
    let report = generate(&GenerateOptions {
        requests,
        out: out.clone(),
        seed,
        container,
        gzip,
    })
    .expect("generate");
    (out, report)
}

/// Every file under `dir`, relative, `/`-separated, sorted.
fn walk(dir: &Path) -> Vec<String> {
    fn go(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                go(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap();
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut v = Vec::new();
    go(dir, dir, &mut v);
    v.sort();
    v
}

/// The file's bytes, decompressed when they start with the gzip magic (all members).
fn content(path: &Path) -> Vec<u8> {
    let raw = fs::read(path).unwrap();
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        MultiGzDecoder::new(&raw[..]).read_to_end(&mut out).unwrap();
        out
    } else {
        raw
    }
}

fn text(path: &Path) -> String {
    String::from_utf8(content(path)).unwrap()
}

/// The keys of a JSON object, in order, with their string values.
struct Ordered(Vec<(String, String)>);

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ordered, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Ordered, A::Error> {
                let mut v = Vec::new();
                while let Some((k, val)) = m.next_entry::<String, String>()? {
                    v.push((k, val));
                }
                Ok(Ordered(v))
            }
        }
        d.deserialize_map(V)
    }
}

fn keys_of(format_line: &str) -> Vec<String> {
    let o: Ordered = serde_json::from_str(format_line).unwrap();
    o.0.into_iter().map(|(k, _)| k).collect()
}

/// The two access-log formats, copied from `samples/formats.txt`.
const ENHANCED_FORMAT: &str = r#"{"requestId":"$context.requestId","extendedRequestId":"$context.extendedRequestId","ip":"$context.identity.sourceIp","caller":"$context.identity.caller","user":"$context.identity.user","userArn":"$context.identity.userArn","apiKeyId":"$context.identity.apiKeyId","requestTime":"$context.requestTime","requestTimeEpoch":"$context.requestTimeEpoch","httpMethod":"$context.httpMethod","resourcePath":"$context.resourcePath","path":"$context.path","protocol":"$context.protocol","responseLength":"$context.responseLength","error-message":"$context.error.message","error-responseType":"$context.error.responseType","waf-error":"$context.waf.error","waf-status":"$context.waf.status","waf-latency":"$context.waf.latency","waf-response":"$context.wafResponseCode","authenticate-error":"$context.authenticate.error","authenticate-status":"$context.authenticate.status","authenticate-latency":"$context.authenticate.latency","authorizer-error":"$context.authorizer.error","authorizer-status":"$context.authorizer.status","authorizer-latency":"$context.authorizer.latency","authorizer-integrationStatus":"$context.authorizer.integrationStatus","authorizer-integrationLatency":"$context.authorizer.integrationLatency","authorizer-requestId":"$context.authorizer.requestId","authorizer-principalId":"$context.authorizer.principalId","authorize-error":"$context.authorize.error","authorize-status":"$context.authorize.status","authorize-latency":"$context.authorize.latency","integration-error":"$context.integration.error","integration-status":"$context.integration.status","integration-latency":"$context.integration.latency","integration-requestId":"$context.integration.requestId","integration-integrationStatus":"$context.integration.integrationStatus","response-latency":"$context.responseLatency","status":"$context.status"}"#;
const TROUBLESHOOTING_FORMAT: &str = r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","caller":"$context.identity.caller","user":"$context.identity.user","requestTime":"$context.requestTime","httpMethod":"$context.httpMethod","resourcePath":"$context.resourcePath","status":"$context.status","protocol":"$context.protocol","responseLength":"$context.responseLength","authenticate-status":"$context.authorizer.integrationStatus","authorize-status":"$context.authorizer.status"}"#;

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
        })
}

fn is_iso_ms(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && b[4] == b'-'
        && b[10] == b'T'
        && b[19] == b'.'
        && b[23] == b'Z'
        && b.iter()
            .enumerate()
            .all(|(i, &c)| matches!(i, 4 | 7 | 10 | 13 | 16 | 19 | 23) || c.is_ascii_digit())
}

/// `12.34 ms` → hundredths.
fn centi_ms(s: &str) -> u64 {
    let v = s.strip_suffix(" ms").unwrap();
    let (a, b) = v.split_once('.').unwrap();
    assert_eq!(b.len(), 2, "{s}");
    a.parse::<u64>().unwrap() * 100 + b.parse::<u64>().unwrap()
}

/// Checks one Lambda message (no trailing newline) against the sample shapes; returns the
/// START / REPORT request id when it is one.
fn check_lambda_line(line: &str, starts: &mut BTreeSet<String>, reports: &mut BTreeSet<String>) {
    if let Some(rest) = line.strip_prefix("START RequestId: ") {
        let (id, tail) = rest.split_once(' ').unwrap();
        assert!(is_uuid(id), "{line}");
        assert_eq!(tail, "Version: $LATEST", "{line}");
        assert!(starts.insert(id.to_string()));
    } else if let Some(rest) = line.strip_prefix("END RequestId: ") {
        assert!(is_uuid(rest), "{line}");
        assert!(starts.contains(rest), "END before START: {line}");
    } else if let Some(rest) = line.strip_prefix("REPORT RequestId: ") {
        let f: Vec<&str> = rest.split('\t').collect();
        assert!(f.len() == 6 || f.len() == 7, "{line:?}");
        assert!(is_uuid(f[0]));
        assert_eq!(
            *f.last().unwrap(),
            "",
            "REPORT keeps its trailing tab: {line:?}"
        );
        let dur = centi_ms(f[1].strip_prefix("Duration: ").unwrap());
        let billed: u64 = f[2]
            .strip_prefix("Billed Duration: ")
            .and_then(|s| s.strip_suffix(" ms"))
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            matches!(f[3], "Memory Size: 256 MB" | "Memory Size: 128 MB"),
            "{line}"
        );
        let used = f[4]
            .strip_prefix("Max Memory Used: ")
            .and_then(|s| s.strip_suffix(" MB"))
            .unwrap();
        assert!(used.parse::<u32>().unwrap() < 128);
        let init = if f.len() == 7 {
            centi_ms(f[5].strip_prefix("Init Duration: ").unwrap())
        } else {
            0
        };
        assert_eq!(
            billed,
            (dur + init).div_ceil(100),
            "billed includes init: {line}"
        );
        assert!(reports.insert(f[0].to_string()));
    } else if let Some(rest) = line.strip_prefix("INIT_START ") {
        assert!(rest.starts_with("Runtime Version: nodejs:20.v43\tRuntime Version ARN: arn:aws:lambda:eu-west-1::runtime:"));
    } else {
        let f: Vec<&str> = line.splitn(4, '\t').collect();
        assert_eq!(f.len(), 4, "{line}");
        assert!(is_iso_ms(f[0]), "{line}");
        assert!(is_uuid(f[1]) && starts.contains(f[1]), "{line}");
        match f[2] {
            "INFO" => assert!(
                f[3].starts_with("authorizer event {")
                    || f[3].starts_with("decision {")
                    || f[3].starts_with("authorizer decision="),
                "{line}"
            ),
            "ERROR" => assert!(f[3].starts_with("Invoke Error \t{\"errorType\":"), "{line}"),
            other => panic!("level {other}: {line}"),
        }
        if let Some(ev) = f[3].strip_prefix("authorizer event ") {
            let v: serde_json::Value = serde_json::from_str(ev).unwrap();
            assert!(is_uuid(v["requestContext"]["requestId"].as_str().unwrap()));
            let auth = v["headers"]["Authorization"].as_str().unwrap();
            assert!(
                auth == "Bearer [redacted]"
                    || auth == "[redacted]"
                    || auth.starts_with("Bearer eyJ"),
                "{auth}"
            );
        }
        if let Some(d) = f[3].strip_prefix("decision ") {
            let v: serde_json::Value = serde_json::from_str(d).unwrap();
            assert!(matches!(v["effect"].as_str(), Some("Allow" | "Deny")));
        }
    }
}

/// Classifies an enhanced access record the way the sample's answer key does (E column).
fn class_of_enhanced(r: &BTreeMap<String, String>) -> Option<&'static str> {
    let ty = r["error-responseType"].as_str();
    let msg = r["error-message"].as_str();
    let invoked = r["authorizer-requestId"] != "-";
    Some(match ty {
        "WAF_FILTERED" => "waf_block",
        "MISSING_AUTHENTICATION_TOKEN" => "missing_authentication_token",
        "INVALID_SIGNATURE" => "iam_signature_invalid",
        "EXPIRED_TOKEN" => "iam_token_expired",
        "INVALID_API_KEY" => "api_key_invalid",
        "THROTTLED" => "throttled",
        "QUOTA_EXCEEDED" => "quota_exceeded",
        "AUTHORIZER_CONFIGURATION_ERROR" => "authorizer_configuration_error",
        "UNAUTHORIZED" if invoked => "authorizer_unauthorized",
        "UNAUTHORIZED" => "authorizer_identity_missing",
        "ACCESS_DENIED" if msg.starts_with("User: anonymous") => "resource_policy_explicit_deny",
        "ACCESS_DENIED" if msg.starts_with("User: arn:") => "iam_policy_deny",
        "ACCESS_DENIED" if msg.ends_with("with an explicit deny") && invoked => {
            "authorizer_explicit_deny"
        }
        "ACCESS_DENIED" if msg.ends_with("with an explicit deny") => "authorizer_cached_deny",
        "ACCESS_DENIED" => "authorizer_policy_mismatch",
        "-" if r["status"] == "403" => "backend_denied",
        "-" => return None,
        other => panic!("unexpected response type {other}"),
    })
}

fn record(line: &str) -> (Vec<String>, BTreeMap<String, String>) {
    let o: Ordered = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let keys = o.0.iter().map(|(k, _)| k.clone()).collect();
    (keys, o.0.into_iter().collect())
}

#[test]
fn container_names_round_trip() {
    for c in Container::ALL {
        assert_eq!(Container::from_name(c.as_str()), Some(c));
        assert_eq!(c.as_str().parse::<Container>().unwrap(), c);
    }
    assert!(Container::from_name("tail").is_none());
    assert!(matches!(
        "zip".parse::<Container>(),
        Err(GenerateError::UnknownContainer(_))
    ));
}

#[test]
fn refuses_zero_requests_and_non_empty_directories() {
    let out = scratch("refuse");
    let opts = GenerateOptions {
        requests: 0,
        out: out.clone(),
        seed: 1,
        container: None,
        gzip: false,
    };
    assert!(matches!(generate(&opts), Err(GenerateError::NoRequests)));
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("keep.txt"), "x").unwrap();
    let opts = GenerateOptions {
        requests: 5,
        ..opts
    };
    assert!(matches!(
        generate(&opts),
        Err(GenerateError::OutDirNotEmpty(_))
    ));
    assert_eq!(fs::read_to_string(out.join("keep.txt")).unwrap(), "x");
    fs::remove_dir_all(&out).unwrap();
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    for (i, container) in [None, Some(Container::Firehose), Some(Container::S3Export)]
        .into_iter()
        .enumerate()
    {
        let (a, ra) = run(&format!("det-a{i}"), 700, 42, container, false);
        let (b, rb) = run(&format!("det-b{i}"), 700, 42, container, false);
        let (c, _) = run(&format!("det-c{i}"), 700, 43, container, false);
        let fa = walk(&a);
        assert_eq!(fa, walk(&b));
        for f in &fa {
            assert_eq!(
                fs::read(a.join(f)).unwrap(),
                fs::read(b.join(f)).unwrap(),
                "{f}"
            );
        }
        assert_eq!(ra.truth, rb.truth);
        assert_eq!(ra.bytes, rb.bytes);
        let fc = walk(&c);
        let differs = fa != fc
            || fa
                .iter()
                .any(|f| fs::read(a.join(f)).unwrap() != fs::read(c.join(f)).unwrap());
        assert!(differs, "seed 43 produced the same bytes as seed 42");
        for d in [a, b, c] {
            fs::remove_dir_all(d).unwrap();
        }
    }
}

#[test]
fn the_requests_do_not_depend_on_the_container() {
    let (a, ra) = run("same-a", 500, 9, Some(Container::Lines), false);
    let (b, rb) = run("same-b", 500, 9, Some(Container::CliJson), true);
    assert_eq!(ra.truth.per_stage, rb.truth.per_stage);
    assert_eq!(ra.truth.invocations, rb.truth.invocations);
    assert_eq!(ra.truth.log_groups, rb.truth.log_groups);
    // Lines and CLI JSON carry the same messages in the same order.
    for (la, lb) in walk(&a)
        .iter()
        .filter(|f| f.ends_with(".log"))
        .zip(walk(&b).iter().filter(|f| f.ends_with("events.json.gz")))
    {
        let lines = text(&a.join(la));
        let doc: serde_json::Value = serde_json::from_slice(&content(&b.join(lb))).unwrap();
        let msgs: Vec<String> = doc["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                e["message"]
                    .as_str()
                    .unwrap()
                    .trim_end_matches('\n')
                    .to_string()
            })
            .collect();
        assert_eq!(lines.lines().collect::<Vec<_>>(), msgs, "{la} vs {lb}");
    }
    fs::remove_dir_all(a).unwrap();
    fs::remove_dir_all(b).unwrap();
}

/// The full check of every line, on the `lines` container (every log group, no envelope).
#[test]
fn every_line_has_the_sample_shape_and_the_truth_adds_up() {
    let (out, rep) = run("shapes", 3000, 20251103, Some(Container::Lines), false);
    let t = &rep.truth;
    let api = &t.api_id;
    let enhanced = keys_of(ENHANCED_FORMAT);
    let trouble = keys_of(TROUBLESHOOTING_FORMAT);

    // Access logs: valid JSON with exactly the format's keys, in order.
    let prod = text(&out.join(format!("aws/apigateway/{api}/prod/access.log")));
    let beta = text(&out.join(format!("aws/apigateway/{api}/beta/access.log")));
    let mut prod_classes: BTreeMap<String, u64> = BTreeMap::new();
    let mut request_ids = BTreeSet::new();
    let mut cache_hits = 0;
    let mut invoked_ids = BTreeSet::new();
    for line in prod.lines() {
        let (keys, r) = record(line);
        assert_eq!(keys, enhanced);
        assert!(is_uuid(&r["requestId"]));
        assert!(
            request_ids.insert(r["requestId"].clone()),
            "duplicate request id"
        );
        let ext = &r["extendedRequestId"];
        assert!(ext.len() == 16 && ext.ends_with('='), "{ext}");
        if let Some(c) = class_of_enhanced(&r) {
            *prod_classes.entry(c.to_string()).or_insert(0) += 1;
        }
        let len: usize = r["responseLength"].parse().unwrap();
        match r["error-responseType"].as_str() {
            "ACCESS_DENIED"
            | "INVALID_SIGNATURE"
            | "EXPIRED_TOKEN"
            | "WAF_FILTERED"
            | "INVALID_API_KEY"
            | "MISSING_AUTHENTICATION_TOKEN"
            | "THROTTLED"
            | "QUOTA_EXCEEDED"
            | "UNAUTHORIZED" => {
                assert_eq!(len, r["error-message"].len() + 14, "{line}")
            }
            "AUTHORIZER_CONFIGURATION_ERROR" => {
                assert_eq!(len, 16);
                assert_eq!(r["error-message"], "-");
                assert_eq!(r["authorizer-status"], "500");
            }
            _ => {}
        }
        if r["error-message"].contains("execute-api:Invoke on resource") {
            assert!(r["error-message"].contains(":********9012:"), "{line}");
        }
        if r["authorizer-status"] == "200" && r["authorizer-requestId"] == "-" {
            cache_hits += 1;
            let lat: u32 = r["authorizer-latency"].parse().unwrap();
            assert!((1..=3).contains(&lat));
            assert_eq!(r["authorizer-integrationStatus"], "-");
        }
        if r["authorizer-requestId"] != "-" {
            assert_eq!(r["authorizer-integrationStatus"], "200");
            invoked_ids.insert(r["authorizer-requestId"].clone());
        }
        if r["authorize-status"] == "403" {
            assert_eq!(
                r["authorize-error"],
                "The client is not authorized to perform this operation."
            );
        }
        if r["error-responseType"] == "MISSING_AUTHENTICATION_TOKEN" {
            assert_eq!(r["resourcePath"], "-");
        }
        if r["status"] == "429" {
            assert_ne!(r["apiKeyId"], "-");
        }
    }
    let beta_lines = beta.lines().count() as u64;
    for line in beta.lines() {
        let (keys, r) = record(line);
        assert_eq!(keys, trouble);
        assert!(request_ids.insert(r["requestId"].clone()));
        // authenticate-status = authorizer.integrationStatus, authorize-status = authorizer.status.
        assert!(
            matches!(r["authenticate-status"].as_str(), "-" | "200"),
            "{line}"
        );
        assert!(
            matches!(r["authorize-status"].as_str(), "-" | "200" | "401" | "500"),
            "{line}"
        );
        if r["authorize-status"] == "200" && r["authenticate-status"] == "-" {
            cache_hits += 1;
        }
    }

    // The truth adds up.
    let sum = |m: &BTreeMap<String, u64>| m.values().sum::<u64>();
    assert_eq!(t.requests, 3000);
    assert_eq!(request_ids.len() as u64, t.requests);
    assert_eq!(t.per_stage["prod"].requests, prod.lines().count() as u64);
    assert_eq!(t.per_stage["beta"].requests, beta_lines);
    assert_eq!(sum(&t.per_class), t.denied);
    assert_eq!(sum(&t.per_phase), t.denied);
    assert_eq!(sum(&t.per_status), t.requests);
    assert_eq!(t.refused + t.per_class["backend_denied"], t.denied);
    assert_eq!(t.refused + t.not_refused, t.requests);
    for s in t.per_stage.values() {
        assert_eq!(sum(&s.per_class), s.denied);
        assert_eq!(s.refused + s.not_refused, s.requests);
    }
    assert!(
        t.per_class.values().all(|&n| n > 0),
        "every class occurs: {:?}",
        t.per_class
    );
    assert!(t.not_refused * 100 / t.requests >= 70, "mostly successes");
    let ok = t.per_status["200"] + t.per_status["201"];
    assert_eq!(ok + t.per_class["backend_denied"], t.not_refused);
    // The enhanced records alone decide every prod class, and agree with the truth.
    let prod_truth: BTreeMap<String, u64> = t.per_stage["prod"]
        .per_class
        .iter()
        .filter(|(_, &n)| n > 0)
        .map(|(k, &n)| (k.clone(), n))
        .collect();
    assert_eq!(prod_classes, prod_truth);
    assert_eq!(cache_hits, t.cache_hits.total);
    assert!(t.cache_hits.request_authorizer > 0 && t.cache_hits.token_authorizer > 0);

    // Lambda logs: sample shapes, one START/END/REPORT per invocation.
    let mut starts = BTreeSet::new();
    let mut reports = BTreeSet::new();
    let mut inits = 0;
    let mut bearer = 0;
    for f in ["payments-request-authorizer", "payments-token-authorizer"] {
        let log = text(&out.join(format!("aws/lambda/{f}/function.log")));
        assert_eq!(
            log.lines().count() as u64,
            t.log_groups[&format!("/aws/lambda/{f}")]
        );
        for line in log.lines() {
            check_lambda_line(line, &mut starts, &mut reports);
            inits += line.starts_with("INIT_START ") as u64;
            bearer += line.contains("\"Authorization\":\"Bearer eyJ") as u64;
        }
    }
    assert_eq!(starts.len() as u64, t.invocations.total);
    assert_eq!(starts, reports);
    assert_eq!(
        invoked_ids.len() as u64,
        t.invocations.total - beta_invocations(&out, api)
    );
    assert!(invoked_ids.is_subset(&starts));
    assert_eq!(inits, t.invocations.cold_starts);
    assert!(t.invocations.cold_starts >= 2);
    assert!(t.invocations.cold_starts * 100 < t.invocations.total * 5);
    assert_eq!(bearer, t.unredacted_tokens);
    assert!(t.cache_hits.total > 0);

    // Execution logs: `(requestId) ` prefix, each request closed by its X-ray line, none for
    // WAF blocks and unknown routes.
    for (stage, access) in [("prod", &prod), ("beta", &beta)] {
        let exec = text(&out.join(format!(
            "API-Gateway-Execution-Logs_{api}/{stage}/execution.log"
        )));
        let mut last: BTreeMap<&str, &str> = BTreeMap::new();
        for line in exec.lines() {
            let (id, msg) = line[1..].split_once(") ").unwrap();
            assert!(line.starts_with('(') && is_uuid(id), "{line}");
            assert!(request_ids.contains(id));
            last.insert(id, msg);
        }
        for msg in last.values() {
            assert!(msg.starts_with("X-ray Tracing ID : Root=1-"), "{msg}");
        }
        assert_eq!(
            last.len() as u64,
            access.lines().count() as u64
                - t.per_stage[stage].per_class["waf_block"]
                - t.per_stage[stage].per_class["missing_authentication_token"]
        );
    }

    // Secrets: API key values appear only masked.
    let everything: String = walk(&out).iter().map(|f| text(&out.join(f))).collect();
    assert!(
        !everything.contains("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.") || t.unredacted_tokens > 0
    );
    let w = world::World::new(20251103);
    for p in &w.partners {
        assert!(
            !everything.contains(&p.key_value),
            "API key {} in clear",
            p.name
        );
        let masked = format!("**********************************{}", &p.key_value[34..]);
        if p.name != "Umbrella" {
            assert!(everything.contains(&masked), "{masked}");
        }
    }
    fs::remove_dir_all(out).unwrap();
}

fn beta_invocations(out: &Path, api: &str) -> u64 {
    let beta = text(&out.join(format!("aws/apigateway/{api}/beta/access.log")));
    beta.lines()
        .filter(|l| l.contains("\"authenticate-status\":\"200\""))
        .count() as u64
}

#[test]
fn events_are_time_ordered_per_stream_and_requests_overlap_realistically() {
    let (out, rep) = run("order", 2000, 5, Some(Container::S3Export), false);
    let mut streams = 0;
    for f in walk(&out) {
        if !f.ends_with(".gz") {
            continue;
        }
        streams += 1;
        let body = text(&out.join(&f));
        let mut prev = "";
        for line in body.lines() {
            let (ts, msg) = line.split_once(' ').unwrap();
            assert!(is_iso_ms(ts), "{line}");
            assert!(ts >= prev, "{f}: {line}");
            assert!(!msg.ends_with('\n'));
            prev = ts;
        }
    }
    assert_eq!(
        streams as usize,
        rep.truth.files.iter().filter(|f| f.events > 0).count()
    );
    // Requests span roughly an hour per 3,000.
    let first = &rep.truth.first_request;
    let last = &rep.truth.last_request;
    assert!(first.starts_with("2025-11-03T09:00:"), "{first}");
    assert!(
        last.as_str() > "2025-11-03T09:30" && last.as_str() < "2025-11-03T09:50",
        "{last}"
    );
    fs::remove_dir_all(out).unwrap();
}

#[test]
fn mixed_layout_matches_the_documented_paths_and_dirty_lines() {
    let (out, rep) = run("mixed", 1200, 20251103, None, false);
    let t = &rep.truth;
    let api = &t.api_id;
    let files = walk(&out);
    assert!(files.contains(&"README.md".to_string()));
    assert!(files.contains(&".expected.json".to_string()));
    assert!(files.contains(&"exportedlogs/aws-logs-write-test".to_string()));
    assert!(files.contains(&format!("aws/apigateway/{api}/beta/events.json")));
    assert!(files.contains(&"aws/lambda/payments-token-authorizer/events.json".to_string()));
    let mut groups = BTreeMap::new();
    for f in &files {
        if f.starts_with("exportedlogs/") && f.ends_with(".gz") {
            let parts: Vec<&str> = f.split('/').collect();
            assert!(is_uuid(parts[1]), "{f}");
            assert_eq!(*parts.last().unwrap(), "000000.gz");
            let stream = parts[2..parts.len() - 1].join("/");
            let group = &t.files.iter().find(|r| &r.path == f).unwrap().log_group;
            *groups.entry(group.clone()).or_insert(0) += 1;
            if group.starts_with("/aws/lambda/") {
                assert_eq!(parts.len(), 7, "{f}");
                assert!(
                    stream.starts_with("2025/11/03/[$LATEST]") && stream.len() == 52,
                    "{stream}"
                );
            } else {
                assert_eq!(parts.len(), 4, "{f}");
                assert_eq!(stream.len(), 32);
            }
        }
    }
    assert_eq!(groups[&format!("/aws/apigateway/{api}/prod")], 2);
    assert_eq!(groups[&format!("API-Gateway-Execution-Logs_{api}/prod")], 2);
    assert!(groups.contains_key("/aws/lambda/payments-request-authorizer"));
    assert_eq!(
        groups.len(),
        3,
        "beta execution and TOKEN logs are not exported to S3"
    );
    assert!(!files
        .iter()
        .any(|f| f.contains("Execution-Logs") || f.starts_with("firehose/")));
    assert_eq!(
        fs::read_to_string(out.join("exportedlogs/aws-logs-write-test")).unwrap(),
        "Permission Check Successful"
    );

    // Dirty lines: exactly where the truth says.
    assert_eq!(t.malformed_lines.len(), 3);
    assert_eq!(t.unrelated_lines.len(), 2);
    for d in &t.malformed_lines {
        let body = text(&out.join(&d.file));
        let lines: Vec<&str> = body.lines().collect();
        let bad = lines[d.line as usize - 1].split_once(' ').unwrap().1;
        assert!(
            serde_json::from_str::<serde_json::Value>(bad).is_err(),
            "{bad}"
        );
        let next = lines[d.line as usize].split_once(' ').unwrap().1;
        assert!(next.starts_with(bad), "the complete record follows");
        assert!(next.contains(d.request_id.as_deref().unwrap()));
    }
    for d in &t.unrelated_lines {
        let body = text(&out.join(&d.file));
        let line = body.lines().nth(d.line as usize - 1).unwrap();
        assert!(
            line.split_once(' ')
                .unwrap()
                .1
                .starts_with("2 123456789012 eni-"),
            "{line}"
        );
        assert_eq!(d.log_group, "/aws/vpc/flowlogs/payments-vpc");
    }
    // The hidden truth and the README are the run's own.
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join(".expected.json")).unwrap()).unwrap();
    assert_eq!(json["requests"], 1200);
    assert_eq!(json["malformed_lines"].as_array().unwrap().len(), 3);
    assert_eq!(json, serde_json::to_value(t).unwrap());
    let readme = fs::read_to_string(out.join("README.md")).unwrap();
    assert!(readme.contains(&format!(
        "| `waf` | `waf_block` | {} |",
        t.per_stage["prod"].per_class["waf_block"]
    )));
    assert!(readme.contains(&format!(
        "| — | **requests** | {} | {} | 1200 |",
        t.per_stage["prod"].requests, t.per_stage["beta"].requests
    )));
    // The record counts of the file table are the files' own.
    for f in &t.files {
        if f.container == "cli-json" {
            let doc: serde_json::Value =
                serde_json::from_slice(&content(&out.join(&f.path))).unwrap();
            assert_eq!(doc["events"].as_array().unwrap().len() as u64, f.events);
        }
    }
    fs::remove_dir_all(out).unwrap();
}

#[test]
fn cli_json_has_the_filter_log_events_shape() {
    let (out, rep) = run("cli", 400, 3, Some(Container::CliJson), false);
    let api = &rep.truth.api_id;
    let mut expected: Vec<String> = vec![
        format!("API-Gateway-Execution-Logs_{api}/beta/events.json"),
        format!("API-Gateway-Execution-Logs_{api}/prod/events.json"),
        format!("aws/apigateway/{api}/beta/events.json"),
        format!("aws/apigateway/{api}/prod/events.json"),
        "aws/lambda/payments-request-authorizer/events.json".to_string(),
        "aws/lambda/payments-token-authorizer/events.json".to_string(),
        ".expected.json".to_string(),
    ];
    expected.sort();
    assert_eq!(walk(&out), expected);
    let mut ids = BTreeSet::new();
    for f in &expected[1..] {
        let raw = fs::read_to_string(out.join(f)).unwrap();
        assert!(
            raw.starts_with("{\n    \"events\": [\n        {\n            \"logStreamName\": \""),
            "{f}"
        );
        assert!(raw.ends_with("        }\n    ]\n}\n"));
        let doc: serde_json::Value = serde_json::from_str(&raw).unwrap();
        let events = doc["events"].as_array().unwrap();
        let group = rep.truth.files.iter().find(|r| &r.path == f).unwrap();
        assert_eq!(events.len() as u64, group.events);
        assert_eq!(rep.truth.log_groups[&group.log_group], group.events);
        let lambda = f.starts_with("aws/lambda/");
        let mut prev = 0;
        for e in events {
            let o = e.as_object().unwrap();
            let keys: Vec<&String> = o.keys().collect();
            assert_eq!(keys.len(), 5);
            let ts = e["timestamp"].as_u64().unwrap();
            assert!(ts >= prev);
            prev = ts;
            let ing = e["ingestionTime"].as_u64().unwrap();
            assert!((ts + 200..=ts + 1400).contains(&ing));
            let id = e["eventId"].as_str().unwrap();
            assert!(id.len() == 56 && id.bytes().all(|c| c.is_ascii_digit()));
            assert!(ids.insert(id.to_string()), "event ids are unique");
            let msg = e["message"].as_str().unwrap();
            assert_eq!(msg.ends_with('\n'), lambda, "{msg:?}");
        }
    }
    fs::remove_dir_all(out).unwrap();
}

#[test]
fn firehose_objects_are_concatenated_gzip_members() {
    let (out, rep) = run("firehose", 3000, 11, Some(Container::Firehose), false);
    let files: Vec<String> = walk(&out)
        .into_iter()
        .filter(|f| f.starts_with("firehose/"))
        .collect();
    assert!(files.len() >= 4, "an object per 900 s: {files:?}");
    let mut events_per_group: BTreeMap<String, u64> = BTreeMap::new();
    let mut controls = 0;
    for (i, f) in files.iter().enumerate() {
        let parts: Vec<&str> = f.split('/').collect();
        assert_eq!(parts.len(), 6, "{f}");
        assert_eq!(&parts[1..5], &["2025", "11", "03", parts[4]]);
        let name = parts[5];
        assert!(
            name.starts_with("payments-cwl-to-s3-1-2025-11-03-"),
            "{name}"
        );
        assert!(!name.ends_with(".gz"));
        assert!(is_uuid(&name[name.len() - 36..]), "{name}");
        let raw = fs::read(out.join(f)).unwrap();
        // Split the members by decoding one at a time.
        let mut rest = &raw[..];
        let mut k = 0;
        while !rest.is_empty() {
            let mut dec = flate2::bufread::GzDecoder::new(rest);
            let mut json = Vec::new();
            dec.read_to_end(&mut json).unwrap();
            rest = dec.into_inner();
            let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
            match v["messageType"].as_str().unwrap() {
                "CONTROL_MESSAGE" => {
                    assert_eq!((i, k), (0, 0), "only the first record of the first object");
                    controls += 1;
                }
                "DATA_MESSAGE" => {
                    assert_eq!(v["owner"], "123456789012");
                    let evs = v["logEvents"].as_array().unwrap();
                    let ts: Vec<u64> = evs
                        .iter()
                        .map(|e| e["timestamp"].as_u64().unwrap())
                        .collect();
                    assert!(ts.windows(2).all(|w| w[0] <= w[1]));
                    assert_eq!(
                        ts[0] / 5000,
                        ts[ts.len() - 1] / 5000,
                        "one 5 s window per record"
                    );
                    *events_per_group
                        .entry(v["logGroup"].as_str().unwrap().to_string())
                        .or_insert(0) += evs.len() as u64;
                }
                other => panic!("{other}"),
            }
            k += 1;
        }
    }
    assert_eq!(controls, 1);
    assert_eq!(events_per_group, rep.truth.log_groups);
    fs::remove_dir_all(out).unwrap();
}

#[test]
fn lines_layout_and_gzip_flag() {
    let (a, ra) = run("lines-a", 300, 8, Some(Container::Lines), false);
    let (b, _) = run("lines-b", 300, 8, Some(Container::Lines), true);
    let api = &ra.truth.api_id;
    let mut expected = vec![
        format!("API-Gateway-Execution-Logs_{api}/beta/execution.log"),
        format!("API-Gateway-Execution-Logs_{api}/prod/execution.log"),
        format!("aws/apigateway/{api}/beta/access.log"),
        format!("aws/apigateway/{api}/prod/access.log"),
        "aws/lambda/payments-request-authorizer/function.log".to_string(),
        "aws/lambda/payments-token-authorizer/function.log".to_string(),
        ".expected.json".to_string(),
    ];
    expected.sort();
    assert_eq!(walk(&a), expected);
    let gz: Vec<String> = expected
        .iter()
        .map(|f| {
            if f.ends_with(".log") {
                format!("{f}.gz")
            } else {
                f.clone()
            }
        })
        .collect();
    let mut gz_sorted = gz.clone();
    gz_sorted.sort();
    assert_eq!(walk(&b), gz_sorted);
    for (p, g) in expected.iter().zip(&gz) {
        if p.ends_with(".log") {
            let raw = fs::read(b.join(g)).unwrap();
            assert_eq!(&raw[..4], &[0x1f, 0x8b, 8, 0]);
            assert_eq!(&raw[4..8], &[0, 0, 0, 0], "gzip mtime 0");
            assert_eq!(content(&b.join(g)), fs::read(a.join(p)).unwrap());
        }
    }
    fs::remove_dir_all(a).unwrap();
    fs::remove_dir_all(b).unwrap();
}

#[test]
fn tiny_runs_still_have_their_dirty_lines() {
    let (out, rep) = run("tiny", 3, 1, None, false);
    assert_eq!(rep.truth.requests, 3);
    assert_eq!(rep.truth.malformed_lines.len(), 3);
    assert_eq!(rep.truth.unrelated_lines.len(), 2);
    assert!(rep.files.iter().all(|f| f.exists()));
    fs::remove_dir_all(out).unwrap();
}

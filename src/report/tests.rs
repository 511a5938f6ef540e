use super::svg::nice_axis;
use super::*;
use crate::model::{Decision, Invocation, InvocationRow, MatchMethod, RequestRow};
use crate::summary::{InputStats, MappingUse};

const T0: i64 = 1_762_160_400_000; // 2025-11-03T09:00:00Z

#[allow(clippy::too_many_arguments)]
fn row(
    id: &str,
    t: i64,
    class: Option<&'static str>,
    phase: &'static str,
    path: &str,
    ip: &str,
    refused: bool,
    conf: Option<&'static str>,
) -> RequestRow<'static> {
    RequestRow {
        request_id: id.to_string().into(),
        request_time_ms: Some(t),
        resource_path: Some(path.to_string().into()),
        source_ip: Some(ip.to_string().into()),
        status: Some(403),
        denied: true,
        refused,
        denial_phase: Some(phase),
        denial_class: class,
        confidence: conf,
        source_file: "access.json".into(),
        ..Default::default()
    }
}

/// 10 requests: 4 waf_block, 3 authorizer_explicit_deny, 1 undecided, 2 allowed.
fn rows() -> Vec<RequestRow<'static>> {
    let mut v = Vec::new();
    for i in 0..4 {
        v.push(row(
            &format!("w{i}"),
            T0 + i * 60_000,
            Some("waf_block"),
            "waf",
            "/orders",
            "192.0.2.1",
            true,
            Some("high"),
        ));
    }
    for i in 0..3 {
        let mut r = row(
            &format!("a{i}"),
            T0 + 600_000 + i * 1000,
            Some("authorizer_explicit_deny"),
            "authorizer",
            "/payments/{id}",
            "198.51.100.7",
            true,
            Some("high"),
        );
        r.authorizer_principal_id = Some("merchant:m_1".into());
        v.push(r);
    }
    v.push(row(
        "u0",
        T0 + 1_200_000,
        None,
        "unknown",
        "/orders",
        "192.0.2.1",
        true,
        None,
    ));
    for i in 0..2 {
        v.push(RequestRow {
            request_id: format!("ok{i}").into(),
            request_time_ms: Some(T0 + 30_000 * i),
            status: Some(200),
            source_file: "access.json".into(),
            ..Default::default()
        });
    }
    v
}

fn invocations() -> Vec<InvocationRow> {
    (0..5)
        .map(|i| InvocationRow {
            invocation: Invocation {
                lambda_request_id: format!("l{i}"),
                start_time_ms: Some(T0 + i * 1000),
                duration_ms: Some([3.0, 12.0, 12.5, 40.0, 900.0][i as usize]),
                init_duration_ms: (i == 0).then_some(200.0),
                decision: Some(if i == 4 {
                    Decision::Error
                } else {
                    Decision::Deny
                }),
                ..Default::default()
            },
            request_id: (i < 3).then(|| format!("a{i}")),
            match_method: (i < 3).then_some(MatchMethod::AuthorizerRequestId),
            source_file: "lambda.json".into(),
        })
        .collect()
}

fn summary_of(rows: &[RequestRow]) -> Summary {
    let mut s = Summary::default();
    s.count_rows(rows);
    s.count_invocations(&invocations(), 0);
    s.input = InputStats {
        files: 2,
        events: 20,
        access_records: 10,
        rejected: [("malformed_json".to_string(), 2)].into_iter().collect(),
        ..Default::default()
    };
    s.mappings = vec![MappingUse {
        source: "access.json".into(),
        mapping: "troubleshooting".into(),
        records: 10,
        ambiguous_keys: vec![],
    }];
    s
}

fn summary() -> Summary {
    summary_of(&rows())
}

/// Everything that would make a browser fetch something.
fn assert_offline(h: &str) {
    let lower = h.to_ascii_lowercase();
    for bad in [
        "http://",
        "https://",
        "http",
        "src=",
        "@import",
        "url(",
        "<script",
        "<link",
        "<img",
        "<iframe",
        "<object",
        "<embed",
        "href=\"//",
        "xlink:href",
    ] {
        assert!(!lower.contains(bad), "report contains {bad:?}");
    }
    // The only links are in-page anchors.
    for (i, _) in lower.match_indices("href=") {
        assert_eq!(&lower[i + 5..i + 7], "\"#", "non-anchor link at {i}");
    }
}

#[test]
fn markdown_has_classes_counts_and_quality() {
    let md = markdown(&summary());
    assert!(md.starts_with("# API Gateway denials\n"));
    assert!(md.contains("8 of 10 requests were denied (80.0%)"), "{md}");
    assert!(
        md.contains("| `waf` | `waf_block` | 4 | 50.0% | high 4 |"),
        "{md}"
    );
    assert!(md.contains("| `authorizer` | `authorizer_explicit_deny` | 3 | 37.5% | high 3 |"));
    assert!(md.contains("| `unknown` | *undecided* | 1 | 12.5% | none 1 |"));
    assert!(md.contains("`/orders` 5"), "{md}");
    assert!(md.contains("`192.0.2.1` 5"));
    assert!(md.contains("`merchant:m_1` 3"));
    assert!(md.contains("- `waf_block` (waf): `w0`, `w1`, `w2`, `w3`"));
    assert!(md.contains("2025-11-03 09:00:00Z"));
    assert!(md.contains("p50 12.5 ms, p95 900 ms, p99 900 ms, max 900 ms (5 invocations)"));
    assert!(md.contains("rejected"));
    assert!(md.contains("`malformed_json`"));
    assert!(md.contains("2 of 5 authorizer invocations could not be tied"));
    assert!(md.contains("| `access.json` | `troubleshooting` | 10 | – |"));
}

#[test]
fn html_has_classes_counts_and_charts() {
    let h = html(&summary());
    assert!(h.starts_with("<!DOCTYPE html>"));
    assert!(h.ends_with("</html>\n"));
    for class in ["waf_block", "authorizer_explicit_deny", "&#40;undecided)"] {
        assert!(h.contains(class), "{class}");
    }
    assert!(h.contains(">4  ·  50.0%</text>"), "class bar value");
    assert!(h.contains(">3  ·  37.5%</text>"));
    // One hover target per bucket of the time series (1-minute buckets over 20 minutes).
    assert_eq!(h.matches("class=\"hit\"").count(), 21);
    assert!(h.contains(class_colour("waf_block")));
    assert!(h.contains("Authorizer duration distribution"));
    assert!(h.contains("p50 12.5 ms"));
    assert!(h.contains("<svg"));
    assert_eq!(h.matches("<svg").count(), h.matches("</svg>").count());
    assert!(h.contains("What would decide") || s_has_no_advice(&summary()));
    assert_offline(&h);
}

fn s_has_no_advice(s: &Summary) -> bool {
    s.limiting_advice.is_empty()
}

#[test]
fn empty_summary_renders() {
    let s = Summary::default();
    let h = html(&s);
    assert_offline(&h);
    assert!(h.contains("No request was denied."));
    let md = markdown(&s);
    assert!(md.contains("0 of 0 requests were denied"));
}

#[test]
fn hostile_values_are_escaped() {
    let mut v = rows();
    let evil = "/x<script>alert('x')</script>\"<img src=http://evil.example/a.png>url(https://e/f) @import";
    for r in v.iter_mut().filter(|r| r.denied) {
        r.resource_path = Some(evil.into());
        r.identity_user_arn = Some("HTTPS://evil|`x`".into());
    }
    let mut s = summary_of(&v);
    s.limiting_advice
        .insert("add <b>$context.x</b> & http://y".into(), 3);
    s.mappings[0].source = "s3://bucket/<x>.gz".into();
    let h = html(&s);
    assert_offline(&h);
    assert!(h.contains("&lt;script&gt;alert&#40;&#39;x&#39;)&lt;/script&gt;&quot;"));
    assert!(h.contains("add &lt;b&gt;$context.x&lt;/b&gt; &amp; &#104;ttp://y"));
    assert!(!h.contains("<b>$context"));
    let md = markdown(&s);
    assert!(md.contains("`` HTTPS://evil\\|`x` ``"), "{md}");
    assert!(md.contains("add \\<b\\>$context.x\\</b\\> \\& http://y"));
}

#[test]
fn esc_breaks_every_network_spelling() {
    assert_eq!(esc("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
    assert_eq!(esc("http://x"), "&#104;ttp://x");
    assert_eq!(esc("HtTpS://x"), "&#72;tTpS://x");
    assert_eq!(
        esc("src=1 url(2) @import"),
        "src&#61;1 url&#40;2) &#64;import"
    );
    assert_eq!(esc("ht"), "ht");
    assert_eq!(esc("—ü"), "—ü");
}

#[test]
fn output_is_deterministic_whatever_the_row_order() {
    let a = summary();
    let mut rev = rows();
    rev.reverse();
    let b = summary_of(&rev);
    assert_eq!(a, b);
    assert_eq!(html(&a), html(&b));
    assert_eq!(markdown(&a), markdown(&b));
}

#[test]
fn colours_are_stable_and_distinct() {
    let mut seen = std::collections::BTreeSet::new();
    for c in Class::ALL {
        assert!(seen.insert(class_colour(c.as_str())), "{}", c.as_str());
    }
    assert_eq!(class_colour(UNDECIDED), UNDECIDED_COLOUR);
    assert_eq!(class_colour("new_class"), class_colour("new_class"));
}

#[test]
fn axes_and_numbers() {
    assert_eq!(nice_axis(0), (1, 1));
    assert_eq!(nice_axis(3), (3, 1));
    assert_eq!(nice_axis(17), (20, 5));
    assert_eq!(nice_axis(101), (150, 50));
    assert_eq!(group(0), "0");
    assert_eq!(group(1234567), "1,234,567");
    assert_eq!(pct_of(1, 3), "33.3%");
    assert_eq!(pct_of(1, 0), "–");
    assert_eq!(
        human_time("2025-11-03T09:01:23.962Z"),
        "2025-11-03 09:01:23Z"
    );
}

#[test]
fn coverage_gap_is_reported() {
    let mut s = summary();
    // The authorizer log ends at 09:00:04, the access log runs to 09:20.
    let n = notes(&s);
    assert!(
        n.iter()
            .any(|n| n.text.starts_with("The authorizer log covers")),
        "{n:?}"
    );
    s.coverage.retain(|c| c.log == "access");
    assert!(!notes(&s)
        .iter()
        .any(|n| n.text.starts_with("The authorizer log covers")));
}

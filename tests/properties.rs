//! Property tests (proptest, 64 cases each so CI stays fast): no parser panics on arbitrary or
//! mutated input, secrets never survive redaction, access records and Parquet rows round-trip
//! every field, and the output does not depend on thread count or input order.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use proptest::prelude::*;

use gatelog::input::{read_stream, ContainerKind, Frame, InputFile};
use gatelog::model::{Event, Origin, RequestRow, Text};
use gatelog::records::access::{AccessParser, Parsed};
use gatelog::records::authorizer::AuthorizerLog;
use gatelog::records::format::{self, Layout};
use gatelog::records::vars::Var;
use gatelog::sink::parquet::{request_batch, table_writer_properties, Compression, Table};

use crate::util::{analyze, fixtures, get, parts, rows, tmp};

/// 64 cases per property (`PROPTEST_CASES=N` runs more, for a longer local hunt).
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(64),
        // Regressions are kept as explicit tests in robustness.rs, not as seed files.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Seeds and mutations: real lines damaged at random reach far deeper than random bytes.

/// Lines of the sample fixtures under `rel` (one file or every file of a directory).
fn fixture_lines(rel: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for r in rel {
        let text = std::fs::read_to_string(fixtures().join(r)).expect("fixture");
        out.extend(text.lines().map(str::to_string));
    }
    out
}

fn lambda_lines() -> &'static [String] {
    static L: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    L.get_or_init(|| {
        fixture_lines(&[
            "lambda/payments-live-request-authorizer.text.log",
            "lambda/payments-live-token-authorizer.text.log",
            "lambda/payments-live-request-authorizer.json-format.log",
        ])
    })
}

fn access_lines() -> &'static [String] {
    static L: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    L.get_or_init(|| {
        fixture_lines(&[
            "access/enhanced.jsonl",
            "access/troubleshooting.jsonl",
            "access/console-clf.log",
            "access/console-csv.csv",
            "access/console-xml.xml",
        ])
    })
}

fn format_strings() -> &'static [String] {
    static L: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    L.get_or_init(|| {
        let mut v: Vec<String> = format::KNOWN.iter().map(|(_, f)| f.to_string()).collect();
        v.extend(
            std::fs::read_to_string(fixtures().join("formats.txt"))
                .unwrap()
                .lines()
                .filter(|l| l.contains("$context."))
                .map(str::to_string),
        );
        v
    })
}

/// One edit of a string: at a relative position, delete some characters and insert a piece.
#[derive(Debug, Clone)]
struct Edit {
    at: usize,
    delete: usize,
    insert: String,
}

fn edit() -> impl Strategy<Value = Edit> {
    let piece = prop_oneof![
        Just(String::new()),
        any::<String>(),
        "[\"{}\\[\\]:,\\\\\t -]{1,4}",
        Just("-".to_string()),
        Just("\n".to_string()),
        Just("\"requestId\":".to_string()),
        Just("RequestId: ".to_string()),
        Just("Bearer ".to_string()),
        Just("eyJhbGciOiJIUzI1NiJ9.e30.c2ln".to_string()),
        Just("$context.".to_string()),
        Just("\u{feff}".to_string()),
        Just("\u{0}".to_string()),
    ];
    (any::<usize>(), 0usize..8, piece).prop_map(|(at, delete, insert)| Edit { at, delete, insert })
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(mut s: String, edits: &[Edit]) -> String {
    for e in edits {
        let at = floor_boundary(&s, e.at % (s.len() + 1));
        let end = floor_boundary(&s, at + e.delete);
        s.replace_range(at..end.max(at), &e.insert);
    }
    s
}

/// A real line from `pool`, damaged by a few edits, or (one case in four) an arbitrary string.
fn mutated(pool: &'static [String]) -> impl Strategy<Value = String> {
    prop_oneof![
        1 => any::<String>(),
        3 => (0..pool.len(), prop::collection::vec(edit(), 0..4))
            .prop_map(move |(i, edits)| apply(pool[i].clone(), &edits)),
    ]
}

fn event(message: &str, log_time_ms: Option<i64>, line: u64) -> Event<'_> {
    Event {
        log_time_ms,
        log_group: Some("/aws/lambda/fuzz"),
        log_stream: Some("2025/10/14/[$LATEST]abc"),
        event_id: None,
        message,
        origin: Origin {
            file: 0,
            line,
            offset: 0,
        },
    }
}

fn input_file() -> InputFile {
    InputFile {
        id: 0,
        path: None,
        display: "/aws/apigateway/abc123/live/fuzz.log".into(),
        size: None,
    }
}

/// Runs `read_stream` over `bytes`; the stats must count the events yielded.
fn frame_all(bytes: &[u8], forced: Option<ContainerKind>) -> (u64, u64) {
    let mut events = 0u64;
    let mut other = 0u64;
    let stats = read_stream(
        &input_file(),
        Cursor::new(bytes),
        forced,
        &mut |f| match f {
            Frame::Event(_) => events += 1,
            Frame::Reject(_) | Frame::Skip { .. } => other += 1,
        },
    )
    .expect("a stream never fails to open");
    assert_eq!(
        stats.events, events,
        "stats.events counts the events yielded"
    );
    (events, other)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// Arbitrary bytes, often shaped like the start of a container so the framers get past
/// detection and into their loops.
fn container_bytes() -> impl Strategy<Value = Vec<u8>> {
    let head = prop_oneof![
        Just(Vec::new()),
        Just(b"{\"events\":[".to_vec()),
        Just(b"{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[{\"id\":\"1\",\"timestamp\":1,\"message\":\"".to_vec()),
        Just(b"[{\"@timestamp\":\"2025-10-14 14:05:02.129\",\"@message\":\"".to_vec()),
        Just(b"@timestamp,@message,@logStream,@log\n".to_vec()),
        Just(b"2025-10-14T14:05:02.129Z ".to_vec()),
        Just(b"2025-03-14T09:12:03.412000+00:00 stream ".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03".to_vec()),
    ];
    let body = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..2048),
        prop::collection::vec(
            prop_oneof![
                Just(b'{'),
                Just(b'}'),
                Just(b'['),
                Just(b']'),
                Just(b'"'),
                Just(b','),
                Just(b':'),
                Just(b'\\'),
                Just(b'\n'),
                Just(b'\r'),
                Just(b' '),
                Just(b'a'),
                Just(b'1'),
                Just(0xFF),
            ],
            0..512
        ),
    ];
    (head, body, any::<bool>()).prop_map(|(mut h, b, gz)| {
        h.extend(b);
        if gz {
            gzip(&h)
        } else {
            h
        }
    })
}

// ---------------------------------------------------------------------------------------------
// No panics.

proptest! {
    #![proptest_config(config())]

    #[test]
    fn read_stream_never_panics_on_arbitrary_bytes(bytes in container_bytes()) {
        frame_all(&bytes, None);
        for kind in ContainerKind::ALL {
            frame_all(&bytes, Some(kind));
        }
    }

    #[test]
    fn access_parser_never_panics(lines in prop::collection::vec(mutated(access_lines()), 1..8)) {
        // One parser over several lines, as a worker uses it (its mapping cache included).
        let mut p = AccessParser::new(None);
        let user = format::compile("user", format::KNOWN[5].1).unwrap();
        let mut q = AccessParser::new(Some(std::sync::Arc::new(user)));
        for (i, l) in lines.iter().enumerate() {
            let origin = Origin { file: 0, line: i as u64 + 1, offset: 0 };
            for parser in [&mut p, &mut q] {
                if let Ok(Parsed::Record(r)) = parser.parse(l, origin) {
                    // Every accessor of a record is total.
                    let _ = (r.request_id(), r.api_id(), r.stage(), r.request_time());
                    for (v, _) in gatelog::records::vars::VARS {
                        let _ = (r.get(v), r.int(v), r.is_dash(v));
                    }
                }
            }
        }
    }

    #[test]
    fn access_parser_with_a_fuzzed_user_format_never_panics(
        fmt in mutated(format_strings()),
        lines in prop::collection::vec(mutated(access_lines()), 1..4),
    ) {
        if let Ok(f) = format::compile("user", &fmt) {
            let mut p = AccessParser::new(Some(std::sync::Arc::new(f)));
            for l in &lines {
                let _ = p.parse(l, Origin::default());
            }
        }
    }

    #[test]
    fn authorizer_log_never_panics(
        lines in prop::collection::vec((mutated(lambda_lines()), any::<Option<i64>>()), 1..24),
    ) {
        let mut log = AuthorizerLog::new();
        for (i, (l, t)) in lines.iter().enumerate() {
            let ev = event(l, *t, i as u64 + 1);
            let _ = log.push(&ev, Some("fuzz"));
            let _ = log.push(&ev, None);
        }
        let n = log.len();
        let invs = log.finish();
        prop_assert_eq!(invs.len(), n);
    }

    #[test]
    fn format_compiler_never_panics(
        fmt in prop_oneof![
            any::<String>(),
            mutated(format_strings()),
        ],
    ) {
        if let Ok(f) = format::compile("user", &fmt) {
            let _ = format::layout_vars(&f.layout);
            if let Layout::Text(parts) = &f.layout {
                let _ = format::match_text(parts, &fmt);
            }
        }
    }

    #[test]
    fn scrub_and_time_parsers_never_panic(s in prop_oneof![
        any::<String>(),
        "[0-9]{1,19}(\\.[0-9]{0,12})?",
        "[0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2}( [+-][0-9:]{0,6})?.{0,3}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,10})?(Z|[+-][0-9:]{0,6})?.{0,3}",
        "(Bearer |authorization[\"':= ]{1,3}|x-api-key=|eyJ)[A-Za-z0-9._\\\\\"'=-]{0,40}",
    ]) {
        let scrubbed = gatelog::redact::scrub(&s);
        // Scrubbing is idempotent: a second pass finds nothing more to mask.
        let again = gatelog::redact::scrub(&scrubbed).into_owned();
        prop_assert_eq!(again.as_str(), scrubbed.as_ref());
        for t in [
            gatelog::time::parse_iso(&s),
            gatelog::time::parse_clf(&s),
            gatelog::time::parse_epoch(&s),
        ]
        .into_iter()
        .flatten()
        {
            // Whatever parses must be renderable as a partition date.
            let _ = gatelog::time::date_of_ms(t);
            let _ = gatelog::sink::dataset::dt_of(Some(t));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Redaction.

fn token_chars(min: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9_-]{{{min},40}}")).unwrap()
}

fn jwt() -> impl Strategy<Value = String> {
    (token_chars(4), token_chars(8), token_chars(8)).prop_map(|(a, b, c)| format!("eyJ{a}.{b}.{c}"))
}

fn planted_secret() -> impl Strategy<Value = (String, String)> {
    // (text to plant, the secret part that must not survive)
    prop_oneof![
        jwt().prop_map(|j| (j.clone(), j)),
        (
            token_chars(12),
            prop_oneof![Just("Bearer "), Just("bearer "), Just("BEARER ")]
        )
            .prop_map(|(t, b)| (format!("{b}{t}"), t)),
        jwt().prop_map(|j| (format!("Bearer {j}"), j)),
        (
            token_chars(12),
            prop_oneof![
                Just("\"Authorization\":\""),
                Just("authorizationToken="),
                Just("'x-api-key': '"),
                Just("\"apiKey\":\""),
                Just("Authorization: "),
            ]
        )
            .prop_map(|(t, k)| (format!("{k}{t}"), t)),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn scrub_removes_every_planted_token(
        before in any::<String>(),
        after in any::<String>(),
        (plant, secret) in planted_secret(),
    ) {
        // A separator keeps `before` from gluing onto a key (`xAuthorization` is not a key).
        let text = format!("{before} {plant}\t{after}");
        prop_assume!(!before.contains(&secret) && !after.contains(&secret));
        let out = gatelog::redact::scrub(&text);
        prop_assert!(!out.contains(&secret), "{:?} survived in {:?}", secret, out);
    }
}

// ---------------------------------------------------------------------------------------------
// Access record round trip.

/// The enhanced format of the sample fixtures (formats.txt): every key with its variable.
fn enhanced_keys() -> Vec<(String, Var)> {
    let text = std::fs::read_to_string(fixtures().join("formats.txt")).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("{\"requestId\"") && l.contains("authorizer-requestId"))
        .expect("enhanced format in formats.txt");
    let f = format::compile("enhanced", line).unwrap();
    let Layout::Json(keys) = f.layout else {
        panic!("enhanced is JSON")
    };
    keys.into_iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.unwrap_or_else(|| panic!("{k} maps a variable")),
            )
        })
        .collect()
}

fn field_value() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just("-".to_string()),
        1 => Just(String::new()),
        2 => any::<String>(),
        2 => "[0-9]{1,6}",
        1 => "[ -~]{1,30}",
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn enhanced_access_record_round_trips_every_variable(
        id in "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        values in prop::collection::vec(field_value(), 40),
        spaced in any::<bool>(),
    ) {
        let keys = enhanced_keys();
        prop_assert!(keys.len() <= values.len());
        let sep = if spaced { ", " } else { "," };
        let mut json = String::from("{");
        let mut expected = Vec::new();
        for (i, ((k, v), val)) in keys.iter().zip(&values).enumerate() {
            let val = if *v == Var::RequestId { id.clone() } else { val.clone() };
            if i > 0 {
                json.push_str(sep);
            }
            json.push_str(&serde_json::to_string(k).unwrap());
            json.push(':');
            json.push_str(&serde_json::to_string(&val).unwrap());
            expected.push((*v, val));
        }
        json.push('}');
        let mut p = AccessParser::new(None);
        let rec = match p.parse(&json, Origin::default()) {
            Ok(Parsed::Record(r)) => r,
            other => return Err(TestCaseError::fail(format!(
                "not a record: {:?}",
                other.map(|p| matches!(p, Parsed::Record(_)))
            ))),
        };
        prop_assert_eq!(&*rec.mapping, "enhanced+derived");
        prop_assert!(rec.extra.is_empty(), "{:?}", rec.extra);
        prop_assert_eq!(rec.request_id(), id.as_str());
        for (v, val) in &expected {
            let absent = val == "-" || val.is_empty();
            let want = (!absent).then_some(val.as_str());
            prop_assert_eq!(rec.get(*v), want, "{:?}", v);
            prop_assert_eq!(rec.is_dash(*v), absent, "{:?}", v);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parquet round trip.

/// A cell as both sides can state it.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Str(String),
    Int(i64),
    F64(u64),
    Bool(bool),
    List(Vec<String>),
    Map(Vec<(String, String)>),
}

fn cell(col: &dyn Array, i: usize) -> Cell {
    if col.is_null(i) {
        return Cell::Null;
    }
    match col.data_type() {
        DataType::Utf8 => Cell::Str(col.as_string::<i32>().value(i).to_string()),
        DataType::Int32 => Cell::Int(col.as_primitive::<Int32Type>().value(i).into()),
        DataType::Int64 => Cell::Int(col.as_primitive::<Int64Type>().value(i)),
        DataType::Timestamp(_, _) => {
            Cell::Int(col.as_primitive::<TimestampMillisecondType>().value(i))
        }
        DataType::Float64 => Cell::F64(col.as_primitive::<Float64Type>().value(i).to_bits()),
        DataType::Boolean => Cell::Bool(col.as_boolean().value(i)),
        DataType::List(_) => {
            let l = col.as_list::<i32>().value(i);
            let s = l.as_string::<i32>();
            Cell::List((0..s.len()).map(|j| s.value(j).to_string()).collect())
        }
        DataType::Map(_, _) => {
            let m = col.as_map().value(i);
            let (k, v) = (
                m.column(0).as_string::<i32>(),
                m.column(1).as_string::<i32>(),
            );
            Cell::Map(
                (0..m.len())
                    .map(|j| (k.value(j).to_string(), v.value(j).to_string()))
                    .collect(),
            )
        }
        other => panic!("unexpected column type {other}"),
    }
}

/// Every column of the `requests` table as the row states it. Keep in step with
/// `RequestRow`: the test fails on a column this list lacks.
fn expected_cells(r: &RequestRow) -> BTreeMap<&'static str, Cell> {
    fn s<S: AsRef<str>>(v: &Option<S>) -> Cell {
        v.as_ref()
            .map_or(Cell::Null, |v| Cell::Str(v.as_ref().to_string()))
    }
    fn names(v: &[&str]) -> Cell {
        Cell::List(v.iter().map(|n| n.to_string()).collect())
    }
    fn i(v: Option<i32>) -> Cell {
        v.map_or(Cell::Null, |x| Cell::Int(x.into()))
    }
    fn l(v: Option<i64>) -> Cell {
        v.map_or(Cell::Null, Cell::Int)
    }
    /// Maps keep the first value of a repeated key (Athena fails on repeated keys).
    fn m(v: &[(String, String)]) -> Cell {
        let mut out: Vec<(String, String)> = Vec::new();
        for (k, x) in v {
            if !out.iter().any(|(seen, _)| seen == k) {
                out.push((k.clone(), x.clone()));
            }
        }
        Cell::Map(out)
    }
    BTreeMap::from([
        ("request_id", Cell::Str(r.request_id.to_string())),
        ("extended_request_id", s(&r.extended_request_id)),
        ("api_id", s(&r.api_id)),
        ("stage", s(&r.stage)),
        ("request_time", l(r.request_time_ms)),
        ("request_time_precision", s(&r.request_time_precision)),
        ("log_time", l(r.log_time_ms)),
        ("domain_name", s(&r.domain_name)),
        ("http_method", s(&r.http_method)),
        ("resource_path", s(&r.resource_path)),
        ("path", s(&r.path)),
        ("route_key", s(&r.route_key)),
        ("protocol", s(&r.protocol)),
        ("status", i(r.status)),
        ("response_length", l(r.response_length)),
        ("source_ip", s(&r.source_ip)),
        ("identity_caller", s(&r.identity_caller)),
        ("identity_user", s(&r.identity_user)),
        ("identity_user_arn", s(&r.identity_user_arn)),
        ("api_key_id", s(&r.api_key_id)),
        ("user_agent", s(&r.user_agent)),
        ("error_message", s(&r.error_message)),
        ("error_response_type", s(&r.error_response_type)),
        ("authorizer_status", i(r.authorizer_status)),
        ("authorizer_error", s(&r.authorizer_error)),
        ("authorizer_latency_ms", i(r.authorizer_latency_ms)),
        (
            "authorizer_integration_status",
            i(r.authorizer_integration_status),
        ),
        (
            "authorizer_integration_latency_ms",
            i(r.authorizer_integration_latency_ms),
        ),
        ("authorizer_request_id", s(&r.authorizer_request_id)),
        ("authorizer_principal_id", s(&r.authorizer_principal_id)),
        ("authenticate_status", i(r.authenticate_status)),
        ("authenticate_error", s(&r.authenticate_error)),
        ("authenticate_latency_ms", i(r.authenticate_latency_ms)),
        ("authorize_status", i(r.authorize_status)),
        ("authorize_error", s(&r.authorize_error)),
        ("authorize_latency_ms", i(r.authorize_latency_ms)),
        ("waf_status", i(r.waf_status)),
        ("waf_error", s(&r.waf_error)),
        ("waf_latency_ms", i(r.waf_latency_ms)),
        ("waf_response_code", s(&r.waf_response_code)),
        ("integration_status", i(r.integration_status)),
        (
            "integration_integration_status",
            i(r.integration_integration_status),
        ),
        ("integration_error", s(&r.integration_error)),
        ("integration_latency_ms", i(r.integration_latency_ms)),
        ("integration_request_id", s(&r.integration_request_id)),
        ("response_latency_ms", i(r.response_latency_ms)),
        ("refused", Cell::Bool(r.refused)),
        ("denied", Cell::Bool(r.denied)),
        ("denial_phase", s(&r.denial_phase)),
        ("denial_class", s(&r.denial_class)),
        ("candidates", names(&r.candidates)),
        ("confidence", s(&r.confidence)),
        ("evidence", m(&r.evidence)),
        ("advice", Cell::List(r.advice.clone())),
        (
            "authorizer_lambda_request_id",
            s(&r.authorizer_lambda_request_id),
        ),
        ("authorizer_decision", s(&r.authorizer_decision)),
        (
            "authorizer_duration_ms",
            r.authorizer_duration_ms
                .map_or(Cell::Null, |f| Cell::F64(f.to_bits())),
        ),
        (
            "authorizer_cold_start",
            r.authorizer_cold_start.map_or(Cell::Null, Cell::Bool),
        ),
        (
            "authorizer_invocation_error",
            s(&r.authorizer_invocation_error),
        ),
        ("authorizer_match_method", s(&r.authorizer_match_method)),
        ("access_format", s(&r.access_format)),
        ("access_vars", Cell::Str(r.access_vars.to_string())),
        ("authorizer_log_covers", Cell::Bool(r.authorizer_log_covers)),
        ("exec_facts", names(&r.exec_facts)),
        ("exec_method_status", i(r.exec_method_status)),
        ("exec_lines", i(r.exec_lines)),
        ("method_auth_type", s(&r.method_auth_type)),
        ("authorizer_name", s(&r.authorizer_name)),
        ("authorizer_type", s(&r.authorizer_type)),
        ("authorizer_ttl_s", i(r.authorizer_ttl_s)),
        (
            "api_key_required",
            r.api_key_required.map_or(Cell::Null, Cell::Bool),
        ),
        (
            "gateway_responses_default",
            r.gateway_responses_default.map_or(Cell::Null, Cell::Bool),
        ),
        (
            "gateway_responses_customised",
            r.gateway_responses_customised
                .clone()
                .map_or(Cell::Null, Cell::List),
        ),
        ("sources", names(r.sources)),
        ("extra", m(&r.extra)),
        ("source_file", Cell::Str(r.source_file.to_string())),
        ("source_line", Cell::Int(r.source_line)),
        ("source_offset", Cell::Int(r.source_offset)),
    ])
}

fn opt<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Option<T>> {
    prop::option::of(s)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z_]{0,12}"]
}

fn strings() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(text(), 0..4)
}

fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((text(), text()), 0..4)
}

fn float() -> impl Strategy<Value = f64> {
    use prop::num::f64;
    f64::NORMAL | f64::SUBNORMAL | f64::ZERO | f64::INFINITE
}

/// A request row with every field random (`None` included).
/// The row holds names from fixed sets (classes, phases, sources, …) as `&'static str`; the
/// property still puts arbitrary text in them, leaked for the life of the test.
fn leak(s: Option<Text<'static>>) -> Option<&'static str> {
    s.map(|s| &*Box::leak(s.into_owned().into_boxed_str()))
}

fn leak_all(v: Vec<String>) -> Vec<&'static str> {
    v.into_iter()
        .map(|s| &*Box::leak(s.into_boxed_str()))
        .collect()
}

fn request_row() -> impl Strategy<Value = RequestRow<'static>> {
    (
        (
            text(),
            prop::collection::vec(opt(text()), 38),
            prop::collection::vec(opt(any::<i32>()), 18),
            prop::collection::vec(opt(any::<i64>()), 3),
            (any::<bool>(), any::<bool>(), any::<bool>()),
        ),
        (
            prop::collection::vec(strings(), 6),
            (pairs(), pairs()),
            opt(float()),
            opt(any::<bool>()),
            (text(), any::<i64>(), any::<i64>()),
        ),
    )
        .prop_map(|((id, s, i, l, b), (lists, maps, dur, cold, prov))| {
            let mut s = s.into_iter();
            let mut i = i.into_iter();
            let mut lists = lists.into_iter();
            let mut ns = || s.next().unwrap().map(Text::from);
            let mut ni = || i.next().unwrap();
            let mut nl = || lists.next().unwrap();
            RequestRow {
                request_id: id.into(),
                extended_request_id: ns(),
                api_id: ns(),
                stage: ns(),
                request_time_ms: l[0],
                request_time_precision: leak(ns()),
                log_time_ms: l[1],
                domain_name: ns(),
                http_method: ns(),
                resource_path: ns(),
                path: ns(),
                route_key: ns(),
                protocol: ns(),
                status: ni(),
                response_length: l[2],
                source_ip: ns(),
                identity_caller: ns(),
                identity_user: ns(),
                identity_user_arn: ns(),
                api_key_id: ns(),
                user_agent: ns(),
                error_message: ns(),
                error_response_type: ns(),
                authorizer_status: ni(),
                authorizer_error: ns(),
                authorizer_latency_ms: ni(),
                authorizer_integration_status: ni(),
                authorizer_integration_latency_ms: ni(),
                authorizer_request_id: ns(),
                authorizer_principal_id: ns(),
                authenticate_status: ni(),
                authenticate_error: ns(),
                authenticate_latency_ms: ni(),
                authorize_status: ni(),
                authorize_error: ns(),
                authorize_latency_ms: ni(),
                waf_status: ni(),
                waf_error: ns(),
                waf_latency_ms: ni(),
                waf_response_code: ns(),
                integration_status: ni(),
                integration_integration_status: ni(),
                integration_error: ns(),
                integration_latency_ms: ni(),
                integration_request_id: ns(),
                response_latency_ms: ni(),
                refused: b.0,
                denied: b.1,
                denial_phase: leak(ns()),
                denial_class: leak(ns()),
                candidates: leak_all(nl()),
                confidence: leak(ns()),
                evidence: maps.0,
                advice: nl(),
                authorizer_lambda_request_id: ns(),
                authorizer_decision: leak(ns()),
                authorizer_duration_ms: dur,
                authorizer_cold_start: cold,
                authorizer_invocation_error: ns(),
                authorizer_match_method: leak(ns()),
                access_format: ns(),
                access_vars: nl().join(",").into(),
                authorizer_log_covers: b.2,
                exec_facts: leak_all(nl()),
                exec_method_status: ni(),
                exec_lines: ni(),
                method_auth_type: leak(ns()),
                authorizer_name: ns(),
                authorizer_type: leak(ns()),
                authorizer_ttl_s: ni(),
                api_key_required: cold.map(|b| !b),
                gateway_responses_default: cold,
                gateway_responses_customised: cold.map(|_| nl()),
                sources: Box::leak(leak_all(nl()).into_boxed_slice()),
                extra: maps.1,
                source_file: prov.0.into(),
                source_line: prov.1,
                source_offset: prov.2,
            }
        })
}

fn write_parquet(path: &Path, batch: &RecordBatch) {
    let file = std::fs::File::create(path).unwrap();
    let props = table_writer_properties(Table::Requests, Compression::default());
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn request_rows_round_trip_through_parquet(rows in prop::collection::vec(request_row(), 1..4)) {
        let dir = tmp();
        let path = dir.path().join("part-00000.parquet");
        write_parquet(&path, &request_batch(&rows).unwrap());
        let back = gatelog::sink::dataset::read_back(&path).unwrap();
        let mut got: Vec<BTreeMap<String, Cell>> = Vec::new();
        for b in &back {
            for i in 0..b.num_rows() {
                got.push(
                    b.schema()
                        .fields()
                        .iter()
                        .zip(b.columns())
                        .map(|(f, c)| (f.name().clone(), cell(c.as_ref(), i)))
                        .collect(),
                );
            }
        }
        prop_assert_eq!(got.len(), rows.len());
        for (row, back) in rows.iter().zip(&got) {
            let want = expected_cells(row);
            let names: Vec<&str> = back.keys().map(String::as_str).collect();
            let listed: Vec<&str> = want.keys().copied().collect();
            prop_assert_eq!(names, listed, "the schema and this test list different columns");
            for (name, cell) in &want {
                prop_assert_eq!(&back[*name], cell, "column {}", name);
            }
        }
    }
}

/// parse → Parquet: generated enhanced records through the binary come back column by column.
#[test]
fn generated_access_records_survive_the_binary_column_by_column() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let keys = enhanced_keys();
    let col_of = |v: Var| -> Option<&'static str> {
        Some(match v {
            Var::ExtendedRequestId => "extended_request_id",
            Var::SourceIp => "source_ip",
            Var::Caller => "identity_caller",
            Var::User => "identity_user",
            Var::UserArn => "identity_user_arn",
            Var::ApiKeyId => "api_key_id",
            Var::HttpMethod => "http_method",
            Var::ResourcePath => "resource_path",
            Var::Path => "path",
            Var::Protocol => "protocol",
            Var::ErrorResponseType => "error_response_type",
            Var::WafError => "waf_error",
            Var::WafResponseCode => "waf_response_code",
            Var::AuthenticateError => "authenticate_error",
            Var::AuthorizeError => "authorize_error",
            Var::IntegrationError => "integration_error",
            Var::IntegrationRequestId => "integration_request_id",
            Var::AuthorizerRequestId => "authorizer_request_id",
            Var::AuthorizerPrincipalId => "authorizer_principal_id",
            _ => return None,
        })
    };
    let numeric = |v: Var| -> Option<&'static str> {
        Some(match v {
            Var::Status => "status",
            Var::ResponseLength => "response_length",
            Var::WafStatus => "waf_status",
            Var::WafLatency => "waf_latency_ms",
            Var::AuthorizerStatus => "authorizer_status",
            Var::AuthorizerLatency => "authorizer_latency_ms",
            Var::AuthenticateStatus => "authenticate_status",
            Var::AuthorizeStatus => "authorize_status",
            Var::IntegrationStatus => "integration_status",
            Var::ResponseLatency => "response_latency_ms",
            _ => return None,
        })
    };
    let value = prop_oneof![Just("-".to_string()), "[A-Za-z0-9 /._:{}()=+é☃-]{1,24}",];
    let number = prop_oneof![Just("-".to_string()), "[1-9][0-9]{0,3}"];
    let mut runner = TestRunner::deterministic();
    let dir = tmp();
    for case in 0..4 {
        let input = dir.path().join(format!("in{case}.jsonl"));
        let mut text = String::new();
        let mut expected = Vec::new();
        for n in 0..25 {
            let id = format!("00000000-0000-4000-8000-{case:04}{n:08}");
            let mut obj = String::from("{");
            let mut want: Vec<(&str, Option<String>)> = Vec::new();
            for (i, (k, v)) in keys.iter().enumerate() {
                let val = if *v == Var::RequestId {
                    id.clone()
                } else if *v == Var::RequestTime {
                    "14/Oct/2025:14:05:02 +0000".into()
                } else if *v == Var::RequestTimeEpoch {
                    format!("{}", 1_760_450_702_000i64 + n)
                } else if numeric(*v).is_some() {
                    number.new_tree(&mut runner).unwrap().current()
                } else {
                    value.new_tree(&mut runner).unwrap().current()
                };
                if let Some(c) = col_of(*v).or(numeric(*v)) {
                    want.push((c, (val != "-").then(|| val.clone())));
                }
                if i > 0 {
                    obj.push(',');
                }
                obj.push_str(&format!(
                    "{}:{}",
                    serde_json::to_string(k).unwrap(),
                    serde_json::to_string(&val).unwrap()
                ));
            }
            obj.push('}');
            text.push_str(&obj);
            text.push('\n');
            expected.push((id, 1_760_450_702_000i64 + n, want));
        }
        std::fs::write(&input, text).unwrap();
        let out = dir.path().join(format!("out{case}"));
        let o = analyze(&[input], &out, &["--quiet"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let got = rows(&out, "requests");
        assert_eq!(got.len(), expected.len());
        for (id, time, want) in expected {
            let r = got
                .iter()
                .find(|r| get(r, "request_id") == Some(id.as_str()))
                .unwrap_or_else(|| panic!("{id} missing"));
            assert_eq!(get(r, "request_time"), Some(time.to_string().as_str()));
            for (col, val) in want {
                assert_eq!(get(r, col), val.as_deref(), "{id} {col}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Determinism.

fn parquet_bytes(out: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    parts(out, "requests")
        .into_iter()
        .chain(parts(out, "authorizer_invocations"))
        .map(|p| {
            let rel = p.strip_prefix(out).unwrap().to_path_buf();
            (rel, std::fs::read(&p).unwrap())
        })
        .collect()
}

#[test]
fn parquet_is_byte_identical_whatever_the_threads_and_input_order() {
    let a = fixtures().join("containers/s3-export");
    let b = fixtures().join("containers/filter-log-events");
    let dir = tmp();
    let runs: [(&str, Vec<PathBuf>, &str); 4] = [
        ("t1", vec![a.clone(), b.clone()], "1"),
        ("t2", vec![a.clone(), b.clone()], "2"),
        ("rev-t1", vec![b.clone(), a.clone()], "1"),
        ("rev-t2", vec![b, a], "2"),
    ];
    let mut first: Option<Vec<(PathBuf, Vec<u8>)>> = None;
    for (name, inputs, threads) in runs {
        let out = dir.path().join(name);
        let o = analyze(&inputs, &out, &["--quiet", "--threads", threads]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let bytes = parquet_bytes(&out);
        assert!(bytes.len() >= 2, "{name}: no parquet written");
        match &first {
            None => first = Some(bytes),
            Some(f) => {
                let names =
                    |v: &[(PathBuf, Vec<u8>)]| v.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
                assert_eq!(names(f), names(&bytes), "{name}: other part files");
                for ((p, x), (_, y)) in f.iter().zip(&bytes) {
                    assert!(
                        x == y,
                        "{name}: {} differs from the --threads 1 run",
                        p.display()
                    );
                }
            }
        }
    }
}

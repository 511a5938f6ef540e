//! What the fuzz targets run, as plain functions: a crash found by `cargo fuzz` reproduces
//! with the same function from a unit test (see tests/robustness.rs for kept crash inputs).

use std::io::Cursor;
use std::sync::Arc;

use gatelog::input::{read_stream, ContainerKind, Frame, InputFile};
use gatelog::model::{Event, Origin};
use gatelog::records::access::{AccessParser, Parsed};
use gatelog::records::authorizer::AuthorizerLog;
use gatelog::records::execution::ExecutionLog;
use gatelog::records::format::{self, Layout};
use gatelog::records::vars::VARS;

/// Frames `data` as one input file with `forced` (or detected) container, plus its gzip.
pub fn frame(data: &[u8], forced: Option<ContainerKind>) {
    let file = InputFile {
        id: 0,
        path: None,
        display: "/aws/apigateway/abc123/live/000000.gz".into(),
        size: None,
    };
    let mut events = 0u64;
    let stats = read_stream(&file, Cursor::new(data), forced, &mut |f| {
        if let Frame::Event(ev) = f {
            events += 1;
            // Every event's text is usable as it is.
            let _ = ev.message.len();
        }
    })
    .expect("an in-memory stream always opens");
    assert_eq!(stats.events, events, "stats count the events yielded");
}

/// Each line of `data` through the access parser: without a format, then with the built-in
/// format the first byte picks as the stage's format.
pub fn access(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let user = format::KNOWN
        .get(pick as usize % (format::KNOWN.len() + 1))
        .map(|(name, f)| Arc::new(format::compile(name, f).expect("built-in formats compile")));
    let mut parsers = [AccessParser::new(None), AccessParser::new(user)];
    for (i, line) in text.split('\n').enumerate() {
        let origin = Origin {
            file: 0,
            line: i as u64 + 1,
            offset: 0,
        };
        for p in &mut parsers {
            if let Ok(Parsed::Record(r)) = p.parse(line, origin) {
                let _ = (r.request_id(), r.api_id(), r.stage(), r.request_time());
                for (v, _) in VARS {
                    let _ = (r.get(v), r.int(v), r.is_dash(v));
                }
            }
        }
    }
}

/// Lines of `data` (split at `\n`, NUL bytes starting a new log stream) as one Lambda log.
pub fn authorizer(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut log = AuthorizerLog::new();
    for (s, stream) in text.split('\0').enumerate() {
        let name = format!("2025/10/14/[$LATEST]{s:032x}");
        for (i, line) in stream.split('\n').enumerate() {
            let ev = Event {
                log_time_ms: Some(1_760_450_702_000 + i as i64 * 7),
                log_group: Some("/aws/lambda/fuzz"),
                log_stream: Some(&name),
                event_id: None,
                message: line,
                origin: Origin {
                    file: s as u32,
                    line: i as u64 + 1,
                    offset: 0,
                },
            };
            let _ = log.push(&ev, if i % 2 == 0 { Some("fuzz") } else { None });
        }
    }
    let n = log.len();
    assert_eq!(log.finish().len(), n);
}

/// Lines of `data` as one execution log.
pub fn execution(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut log = ExecutionLog::new();
    for (i, line) in text.split('\n').enumerate() {
        let origin = Origin {
            file: 0,
            line: i as u64 + 1,
            offset: 0,
        };
        let _ = log.push(line, Some(i as i64), origin, Some(("abc123", "live")));
    }
}

/// The first line of `data` as a format string; the other lines as records in that format.
pub fn format_compile(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (fmt, lines) = text.split_once('\n').unwrap_or((&text, ""));
    let Ok(f) = format::compile("user", fmt) else {
        return;
    };
    let _ = format::layout_vars(&f.layout);
    if let Layout::Text(parts) = &f.layout {
        let _ = format::match_text(parts, fmt);
    }
    let mut p = AccessParser::new(Some(Arc::new(f)));
    for line in lines.split('\n') {
        let _ = p.parse(line, Origin::default());
    }
}

/// Redaction: never panics, and a second pass changes nothing.
pub fn scrub(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let once = gatelog::redact::scrub(&text).into_owned();
    let twice = gatelog::redact::scrub(&once);
    assert_eq!(once, twice, "scrub is idempotent");
}

//! Lambda authorizer logs (`/aws/lambda/NAME`) → [`Invocation`]s.
//!
//! This module owns what one Lambda log message says: the platform lines (`START` / `END` /
//! `REPORT` / `INIT_*` in the text format, `platform.*` records in the JSON format), the runtime's
//! application lines (Node.js `ISO\tid\tLEVEL\t…`, Python `[LEVEL]\tISO\tid\t…`, JSON-format app
//! records), the runtime's error reports (`Invoke Error`, uncaught Python exceptions, timeouts),
//! and the facts an authorizer typically logs about itself (its decision or policy, `principalId`,
//! `methodArn`, and `requestContext.requestId/apiId/stage` of the event it received). It groups
//! them per Lambda request id; lines without an id (Python `print()`, continuations) go to the open
//! invocation of their log stream.
//!
//! It does not own the containers the messages arrive in (S3 export, CLI JSON, Firehose, …), the
//! sniffing of which log kind a file holds beyond [`looks_like_lambda`], nor the joining of
//! invocations to API Gateway requests. It never keeps the logged event, its headers or tokens:
//! only the ids, ARNs and error texts listed on [`Invocation`].

/// Hash maps with foldhash (fixed seed): faster than SipHash on short request-id keys. Output
/// order never depends on them (`finish` sorts).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
use std::fmt::Write as _;

use memchr::{memchr, memmem};
use serde_json::{Map, Value};

use crate::idindex::IdIndex;
use crate::intern::intern;
use crate::model::{is_uuid, Decision, Event, Invocation, Origin};

/// Longest error message kept on an invocation, in characters.
pub const MAX_ERROR_MESSAGE_CHARS: usize = 500;

/// Longest id (`requestContext.requestId`, `apiId`, `stage`, Lambda request id) accepted.
const MAX_ID_CHARS: usize = 128;

/// How many continuation lines after a `requestContext` without a `requestId` are still searched.
const CTX_PENDING_LINES: u8 = 32;

/// Node.js console levels.
const NODE_LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

/// Messages the Node.js runtime writes (with the error as JSON after a TAB) when the handler fails.
const NODE_ERROR_MARKERS: [&str; 3] = [
    "Invoke Error",
    "Uncaught Exception",
    "Unhandled Promise Rejection",
];

/// The text both runtimes write when an invocation runs out of time.
const TIMEOUT_PHRASE: &str = "Task timed out after ";

/// `error_type` of an invocation that timed out.
const TIMEOUT_ERROR_TYPE: &str = "Task timed out";

/// What one message turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LambdaLine {
    /// A line the Lambda platform wrote: `START`, `END`, `REPORT`, `INIT_START`, `INIT_REPORT`,
    /// `Task timed out after …`, or a JSON-format `platform.*` record.
    Platform,
    /// A line of the language runtime: a Node.js or Python logging line, a JSON-format
    /// application record, or an uncaught Python exception (`[ERROR] Exception: …`).
    Application,
    /// Anything else: the function's own output (Python `print()`, continuation lines) or input
    /// that is not a Lambda log line at all.
    Other,
}

/// Quick sniff used to tell a Lambda log message from other log kinds: true for
/// START/END/REPORT/INIT_START/INIT_REPORT lines, Node `ISO\tuuid\tLEVEL\t` lines, Python
/// `[LEVEL]\tISO\tuuid\t` lines, `... Task timed out after ...`, and Lambda JSON-format records
/// (`{"time":..,"type":"platform.` or `{"timestamp":..,"level":..,"requestId":..`).
pub fn looks_like_lambda(message: &str) -> bool {
    let msg = trim_eol(message);
    if msg.starts_with("START RequestId: ")
        || msg.starts_with("END RequestId: ")
        || msg.starts_with("REPORT RequestId: ")
        || msg.starts_with("INIT_START ")
        || msg.starts_with("INIT_REPORT ")
    {
        return true;
    }
    match msg.as_bytes().first() {
        Some(b'{') => json_record_kind(msg).is_some(),
        Some(b'[') => parse_python_line(msg).is_some(),
        Some(b'T') => msg.starts_with(TIMEOUT_PHRASE),
        Some(c) if c.is_ascii_digit() => {
            parse_node_line(msg).is_some() || parse_timeout_line(msg).is_some()
        }
        _ => false,
    }
}

/// Invocations per chunk of [`AuthorizerLog`]'s store.
const CHUNK: usize = 1 << 14;

/// An invocation none of whose lines is within this of the line being read is handed over
/// (Lambda runs an invocation for 15 minutes at most), so that a long log keeps only its
/// recent invocations in memory. A line of it that still comes (a log out of time order)
/// starts a part that the run merges with it.
const HAND_OVER_AFTER_MS: i64 = 3_600_000;

/// Invocations held before the first look for ones to hand over.
const HAND_OVER_CHECK_MIN: usize = CHUNK;

/// Invocations in chunks of [`CHUNK`] (all full but the last).
fn stored(invs: &[Vec<Acc>]) -> usize {
    invs.last()
        .map_or(0, |last| (invs.len() - 1) * CHUNK + last.len())
}

/// Adds `acc` after the invocations in `invs`, indexed in `by_id`; returns its index.
fn store_acc(invs: &mut Vec<Vec<Acc>>, by_id: &mut IdIndex, acc: Acc) -> usize {
    if invs.last().is_none_or(|c| c.len() == CHUNK) {
        invs.push(Vec::with_capacity(CHUNK));
    }
    by_id.push(&acc.inv.lambda_request_id);
    if let Some(chunk) = invs.last_mut() {
        chunk.push(acc);
    }
    stored(invs) - 1
}

/// Per-invocation state while the log is read.
#[derive(Debug)]
struct Acc {
    inv: Invocation,
    /// START / `platform.start` time.
    start_ms: Option<i64>,
    /// Earliest time of any other line of the invocation.
    app_ms: Option<i64>,
    /// Continuation lines still searched for `requestId` after a bare `requestContext`.
    ctx_pending: u8,
    /// Earliest and latest log time of the invocation's lines (`i64::MAX`, `i64::MIN` when
    /// none had one).
    seen_lo: i64,
    seen_hi: i64,
}

impl Acc {
    fn new(id: &str, origin: Origin) -> Self {
        Acc {
            inv: Invocation {
                lambda_request_id: id.to_owned(),
                origin,
                ..Default::default()
            },
            start_ms: None,
            app_ms: None,
            ctx_pending: 0,
            seen_lo: i64::MAX,
            seen_hi: i64::MIN,
        }
    }

    /// Whether no line of the invocation is within [`HAND_OVER_AFTER_MS`] of `now`.
    fn done_by(&self, now: i64) -> bool {
        self.seen_hi != i64::MIN
            && (now.saturating_sub(self.seen_hi) > HAND_OVER_AFTER_MS
                || self.seen_lo.saturating_sub(now) > HAND_OVER_AFTER_MS)
    }

    /// The invocation. Lines of one invocation from several inputs were already merged
    /// field by field (first value wins, worst decision, smallest origin, earliest start), as
    /// Invocation::merge does.
    fn finish(self) -> Invocation {
        let mut inv = self.inv;
        inv.start_time_ms = self.start_ms.or(self.app_ms);
        inv
    }

    fn decide(&mut self, d: Decision) {
        self.inv.decision = self.inv.decision.max(Some(d));
    }

    fn seen_at(&mut self, ms: Option<i64>) {
        self.app_ms = min_opt(self.app_ms, ms);
        self.saw(ms);
    }

    /// A line of the invocation has time `ms` (its log time or the time it states).
    fn saw(&mut self, ms: Option<i64>) {
        if let Some(t) = ms {
            self.seen_lo = self.seen_lo.min(t);
            self.seen_hi = self.seen_hi.max(t);
        }
    }

    /// The function failed: `Unauthorized` when the error message is exactly that.
    fn failed(&mut self, error_type: Option<&str>, error_message: Option<&str>) {
        let unauthorized = error_message.is_some_and(|m| m.trim() == "Unauthorized");
        self.decide(if unauthorized {
            Decision::Unauthorized
        } else {
            Decision::Error
        });
        self.fill_error(error_type, error_message);
    }

    fn timed_out(&mut self, error_type: Option<&str>, error_message: Option<&str>) {
        self.decide(Decision::Timeout);
        self.fill_error(error_type.or(Some(TIMEOUT_ERROR_TYPE)), error_message);
    }

    fn fill_error(&mut self, error_type: Option<&str>, error_message: Option<&str>) {
        if self.inv.error_type.is_none() {
            self.inv.error_type = error_type
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| intern(&cap_chars(t, MAX_ID_CHARS)));
        }
        if self.inv.error_message.is_none() {
            self.inv.error_message = error_message
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(|m| cap_chars(m, MAX_ERROR_MESSAGE_CHARS));
        }
    }

    /// A REPORT / `platform.report` / `platform.runtimeDone` status.
    fn status(&mut self, status: &str, error_type: Option<&str>) {
        if status.eq_ignore_ascii_case("timeout") {
            self.timed_out(error_type, None);
        } else if status.eq_ignore_ascii_case("error") || status.eq_ignore_ascii_case("failure") {
            // A thrown `Unauthorized` also ends in an error status; it stays Unauthorized.
            if self.inv.decision != Some(Decision::Unauthorized) {
                self.decide(Decision::Error);
            }
            self.fill_error(error_type, None);
        }
    }
}

/// Assembles invocations from the events of one or more Lambda log streams, fed in input order.
#[derive(Debug, Default)]
pub struct AuthorizerLog {
    /// The invocations in the order first seen, in chunks of [`CHUNK`]: no array of all of
    /// them is ever copied into a larger one while the log is read.
    invs: Vec<Vec<Acc>>,
    /// `invs` by Lambda request id.
    by_id: IdIndex,
    /// Log stream key → request id of its open invocation (last START without END).
    open: HashMap<String, String>,
    key_buf: String,
    /// Invocations handed over while reading (see [`HAND_OVER_AFTER_MS`]), not yet taken.
    done: Vec<Invocation>,
    /// Invocations handed over so far.
    done_total: usize,
    /// `invs` holds this many when it is next looked through for invocations to hand over.
    next_check: usize,
}

impl AuthorizerLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one event. `function_name` is the NAME of `/aws/lambda/NAME` when known.
    pub fn push(&mut self, ev: &Event<'_>, function_name: Option<&str>) -> LambdaLine {
        let msg = trim_eol(ev.message);
        let Some(&first) = msg.as_bytes().first() else {
            return LambdaLine::Other;
        };
        match first {
            b'S' | b'E' | b'R' | b'I' => {
                if let Some(kind) = self.push_platform_text(ev, msg, function_name) {
                    return kind;
                }
            }
            b'{' => {
                if let Some(kind) = self.push_json(ev, msg, function_name) {
                    return kind;
                }
            }
            b'[' => {
                if let Some(line) = parse_python_line(msg) {
                    self.push_app(ev, function_name, line);
                    return LambdaLine::Application;
                }
                if let Some(rest) = msg.strip_prefix("[ERROR] ") {
                    // Uncaught Python exception: `[ERROR] Exception: Unauthorized\nTraceback …`.
                    if let Some(acc) = self.target(None, ev, function_name) {
                        let head = first_line(rest);
                        let (ty, text) = match head.split_once(": ") {
                            Some((t, m)) => (t, Some(m)),
                            None => (head, None),
                        };
                        acc.seen_at(ev.log_time_ms);
                        acc.failed(Some(ty), text);
                    }
                    return LambdaLine::Application;
                }
            }
            c if c.is_ascii_digit() => {
                if let Some(line) = parse_node_line(msg) {
                    self.push_app(ev, function_name, line);
                    return LambdaLine::Application;
                }
            }
            _ => {}
        }
        if let Some(t) = parse_timeout_line(msg).or_else(|| {
            msg.starts_with(TIMEOUT_PHRASE).then_some(TimeoutLine {
                ts: None,
                id: None,
                text: msg,
            })
        }) {
            if let Some(acc) = self.target(t.id, ev, function_name) {
                acc.seen_at(t.ts.or(ev.log_time_ms));
                acc.timed_out(None, Some(first_line(t.text)));
            }
            return LambdaLine::Platform;
        }
        // The function's own output: attribute it to the stream's open invocation.
        if let Some(acc) = self.target(None, ev, function_name) {
            acc.seen_at(ev.log_time_ms);
            scan_body(acc, msg, true);
        }
        LambdaLine::Other
    }

    /// All invocations seen, sorted by lambda_request_id. Merge duplicates with Invocation::merge.
    pub fn finish(self) -> Vec<Invocation> {
        let mut out = Vec::new();
        self.finish_each(|v| out.push(v));
        out.sort_by(|a, b| a.lambda_request_id.cmp(&b.lambda_request_id));
        out
    }

    /// Hands each invocation not yet taken with [`AuthorizerLog::take_done`] to `f`: those
    /// handed over, then the others in the order first seen, freeing each as it goes.
    pub fn finish_each(self, mut f: impl FnMut(Invocation)) {
        self.done.into_iter().for_each(&mut f);
        self.invs
            .into_iter()
            .for_each(|chunk| chunk.into_iter().map(Acc::finish).for_each(&mut f));
    }

    /// Puts the invocations handed over since the last call (whole, as far as a log in time
    /// order goes, see [`HAND_OVER_AFTER_MS`]) in `out`, which must be empty; `out`'s
    /// capacity is kept for the next ones. Pass the same vector, drained, each time: the two
    /// vectors take turns, and neither grows again once large enough (growing touches fresh
    /// pages).
    pub fn take_done_into(&mut self, out: &mut Vec<Invocation>) {
        debug_assert!(out.is_empty());
        out.clear();
        std::mem::swap(&mut self.done, out);
    }

    /// Hands over the invocations done by `now` (a line's log time; without one, as in a
    /// bare text log, the latest time of the newest invocation that has one), keeping the
    /// others in the order first seen; looked through again when twice as many are held.
    fn hand_over(&mut self, now: Option<i64>) {
        let now = now.or_else(|| {
            self.invs
                .iter()
                .rev()
                .flat_map(|c| c.iter().rev())
                .find(|a| a.seen_hi != i64::MIN)
                .map(|a| a.seen_hi)
        });
        if let Some(now) = now {
            let held = std::mem::take(&mut self.invs);
            self.by_id = IdIndex::with_capacity(stored(&held));
            for acc in held.into_iter().flatten() {
                if acc.done_by(now) {
                    self.done.push(acc.finish());
                    self.done_total += 1;
                } else {
                    store_acc(&mut self.invs, &mut self.by_id, acc);
                }
            }
        }
        self.next_check = (stored(&self.invs) * 2).max(HAND_OVER_CHECK_MIN);
    }

    /// Number of distinct invocations seen so far (parts of one handed over before its last
    /// line count twice).
    pub fn len(&self) -> usize {
        stored(&self.invs) + self.done_total
    }

    /// Whether no invocation has been seen yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Text-format platform lines. `None` when the message is not one.
    fn push_platform_text(
        &mut self,
        ev: &Event<'_>,
        msg: &str,
        fname: Option<&str>,
    ) -> Option<LambdaLine> {
        if let Some(rest) = msg.strip_prefix("START RequestId: ") {
            if let Some(id) = first_token(rest).filter(|id| valid_id(id)) {
                self.set_open(ev, fname, id);
                if let Some(acc) = self.target(Some(id), ev, fname) {
                    acc.start_ms = min_opt(acc.start_ms, ev.log_time_ms);
                }
            }
            return Some(LambdaLine::Platform);
        }
        if let Some(rest) = msg.strip_prefix("END RequestId: ") {
            if let Some(id) = first_token(rest).filter(|id| valid_id(id)) {
                self.target(Some(id), ev, fname);
                self.close_open(ev, fname, id);
            }
            return Some(LambdaLine::Platform);
        }
        if let Some(rest) = msg.strip_prefix("REPORT RequestId: ") {
            if let Some(id) = first_token(rest).filter(|id| valid_id(id)) {
                if let Some(acc) = self.target(Some(id), ev, fname) {
                    apply_report_text(acc, rest);
                }
                self.close_open(ev, fname, id);
            }
            return Some(LambdaLine::Platform);
        }
        if let Some(rest) = msg.strip_prefix("INIT_REPORT ") {
            // An init that failed during an invoke (`Phase: invoke`) belongs to that invocation.
            let phase = report_field(rest, "Phase: ").and_then(first_token);
            let status = report_field(rest, "Status: ").and_then(first_token);
            if let (Some("invoke"), Some(status)) = (phase, status) {
                let error_type = report_field(rest, "Error Type: ").and_then(first_token);
                if let Some(acc) = self.target(None, ev, fname) {
                    acc.status(status, error_type);
                }
            }
            return Some(LambdaLine::Platform);
        }
        if msg.starts_with("INIT_START ")
            || msg.starts_with("INIT_RUNTIME_DONE ")
            || msg.starts_with("EXTENSION ")
            || msg.starts_with("RESTORE_START ")
            || msg.starts_with("RESTORE_REPORT ")
        {
            return Some(LambdaLine::Platform);
        }
        None
    }

    /// A Node.js or Python application line.
    fn push_app(&mut self, ev: &Event<'_>, fname: Option<&str>, line: AppLine<'_>) {
        if let Some(acc) = self.target(line.id, ev, fname) {
            acc.seen_at(line.ts.or(ev.log_time_ms));
            scan_body(acc, line.body, false);
        }
    }

    /// A Lambda JSON-format record. `None` when the message is not one (or does not parse).
    fn push_json(&mut self, ev: &Event<'_>, msg: &str, fname: Option<&str>) -> Option<LambdaLine> {
        json_record_kind(msg)?;
        let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(msg) else {
            return None;
        };
        let kind = obj.get("type").and_then(Value::as_str).unwrap_or("");
        if let Some(platform) = kind.strip_prefix("platform.") {
            self.push_platform_json(ev, fname, platform, &obj);
            return Some(LambdaLine::Platform);
        }
        if !obj.contains_key("timestamp")
            && !obj.contains_key("level")
            && !obj.contains_key("log_level")
        {
            return None;
        }
        let id = obj
            .get("requestId")
            .and_then(Value::as_str)
            .filter(|id| valid_id(id));
        let ts = obj
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(parse_iso_ms);
        let Some(acc) = self.target(id, ev, fname) else {
            return Some(LambdaLine::Application);
        };
        acc.seen_at(ts.or(ev.log_time_ms));
        apply_app_record(acc, &obj);
        Some(LambdaLine::Application)
    }

    fn push_platform_json(
        &mut self,
        ev: &Event<'_>,
        fname: Option<&str>,
        kind: &str,
        obj: &Map<String, Value>,
    ) {
        let Some(record) = obj.get("record").and_then(Value::as_object) else {
            return;
        };
        let Some(id) = record
            .get("requestId")
            .and_then(Value::as_str)
            .filter(|id| valid_id(id))
        else {
            return;
        };
        let time = obj
            .get("time")
            .and_then(Value::as_str)
            .and_then(parse_iso_ms);
        match kind {
            "start" => {
                self.set_open(ev, fname, id);
                let Some(acc) = self.target(Some(id), ev, fname) else {
                    return;
                };
                acc.start_ms = min_opt(acc.start_ms, time.or(ev.log_time_ms));
                acc.saw(time);
                if acc.inv.function_name.is_none() {
                    acc.inv.function_name = record
                        .get("functionArn")
                        .and_then(Value::as_str)
                        .and_then(function_from_arn)
                        .map(intern);
                }
            }
            "report" => {
                if let Some(acc) = self.target(Some(id), ev, fname) {
                    apply_report_json(acc, record);
                }
                self.close_open(ev, fname, id);
            }
            "runtimeDone" => {
                if let Some(acc) = self.target(Some(id), ev, fname) {
                    if let Some(status) = record.get("status").and_then(Value::as_str) {
                        let error_type = record.get("errorType").and_then(Value::as_str);
                        acc.status(status, error_type);
                    }
                }
            }
            _ => {
                self.target(Some(id), ev, fname);
            }
        }
    }

    /// The invocation a line belongs to: `explicit` when given, else the open invocation of the
    /// event's log stream. Creates the invocation on first sight and records the line's origin.
    fn target(
        &mut self,
        explicit: Option<&str>,
        ev: &Event<'_>,
        fname: Option<&str>,
    ) -> Option<&mut Acc> {
        if stored(&self.invs) >= self.next_check.max(HAND_OVER_CHECK_MIN) {
            self.hand_over(ev.log_time_ms);
        }
        let Self {
            invs,
            by_id,
            open,
            key_buf,
            ..
        } = self;
        let id: &str = match explicit {
            Some(id) => id,
            None => {
                stream_key(key_buf, ev, fname);
                open.get(key_buf.as_str())?.as_str()
            }
        };
        let found = by_id
            .get_by(id, |i| {
                Some(invs[i / CHUNK][i % CHUNK].inv.lambda_request_id.as_str())
            })
            .next();
        let i = match found {
            Some(i) => i,
            None => store_acc(invs, by_id, Acc::new(id, ev.origin)),
        };
        let acc = &mut invs[i / CHUNK][i % CHUNK];
        acc.inv.origin = acc.inv.origin.min(ev.origin);
        acc.saw(ev.log_time_ms);
        if acc.inv.function_name.is_none() {
            acc.inv.function_name = fname.map(intern);
        }
        if acc.inv.log_stream.is_none() {
            acc.inv.log_stream = ev.log_stream.map(intern);
        }
        Some(acc)
    }

    fn set_open(&mut self, ev: &Event<'_>, fname: Option<&str>, id: &str) {
        stream_key(&mut self.key_buf, ev, fname);
        match self.open.get_mut(self.key_buf.as_str()) {
            Some(cur) => {
                cur.clear();
                cur.push_str(id);
            }
            None => {
                self.open.insert(self.key_buf.clone(), id.to_owned());
            }
        }
    }

    fn close_open(&mut self, ev: &Event<'_>, fname: Option<&str>, id: &str) {
        stream_key(&mut self.key_buf, ev, fname);
        if self.open.get(self.key_buf.as_str()).map(String::as_str) == Some(id) {
            self.open.remove(self.key_buf.as_str());
        }
    }
}

/// Key of the log stream an event belongs to. Without a stream name, one input file of one
/// function is taken as one stream.
fn stream_key(buf: &mut String, ev: &Event<'_>, fname: Option<&str>) {
    buf.clear();
    buf.push_str(fname.unwrap_or(""));
    buf.push('\0');
    match ev.log_stream {
        Some(s) => {
            buf.push('s');
            buf.push_str(s);
        }
        None => {
            let _ = write!(buf, "f{}", ev.origin.file);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Line shapes

/// A runtime logging line: its own timestamp, its request id (when it names one) and the text.
#[derive(Debug, Clone, Copy, PartialEq)]
struct AppLine<'a> {
    ts: Option<i64>,
    id: Option<&'a str>,
    body: &'a str,
}

/// Node.js: `<ISO>\t<uuid|undefined>\t<LEVEL>\t<message>` (also the older level-less
/// `<ISO>\t<uuid>\t<message>`).
fn parse_node_line(msg: &str) -> Option<AppLine<'_>> {
    let b = msg.as_bytes();
    if b.get(10) != Some(&b'T') || !b.first()?.is_ascii_digit() {
        return None;
    }
    let t1 = memchr(b'\t', b.get(..40.min(b.len()))?)?;
    let ts = parse_iso_ms(msg.get(..t1)?)?;
    let rest = msg.get(t1 + 1..)?;
    let t2 = memchr(b'\t', rest.as_bytes().get(..40.min(rest.len()))?)?;
    let id = rest.get(..t2)?;
    let id = if is_uuid(id) {
        Some(id)
    } else if id == "undefined" {
        None
    } else {
        return None;
    };
    let rest = rest.get(t2 + 1..)?;
    let (level, body) = match rest.split_once('\t') {
        Some((l, body)) if NODE_LEVELS.contains(&l) => (true, body),
        _ if NODE_LEVELS.contains(&rest) => (true, ""),
        _ => (false, rest),
    };
    if !level && id.is_none() {
        return None;
    }
    Some(AppLine {
        ts: Some(ts),
        id,
        body,
    })
}

/// Python `logging`: `[<LEVEL>]\t<ISO>\t<uuid or empty>\t<message>`.
fn parse_python_line(msg: &str) -> Option<AppLine<'_>> {
    let b = msg.as_bytes();
    if b.first() != Some(&b'[') {
        return None;
    }
    let close = memchr(b']', b.get(..b.len().min(14))?)?;
    let level = b.get(1..close)?;
    if level.is_empty()
        || !level.iter().all(u8::is_ascii_uppercase)
        || b.get(close + 1) != Some(&b'\t')
    {
        return None;
    }
    let rest = msg.get(close + 2..)?;
    let t = memchr(b'\t', rest.as_bytes().get(..rest.len().min(40))?)?;
    let ts = parse_iso_ms(rest.get(..t)?)?;
    let rest = rest.get(t + 1..)?;
    let (id, body) = match rest.split_once('\t') {
        Some((id, body)) if is_uuid(id) => (Some(id), body),
        Some(("", body)) => (None, body),
        _ if is_uuid(rest) => (Some(rest), ""),
        _ => (None, rest),
    };
    Some(AppLine {
        ts: Some(ts),
        id,
        body,
    })
}

/// `<ISO> <uuid> Task timed out after 3.00 seconds`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct TimeoutLine<'a> {
    ts: Option<i64>,
    id: Option<&'a str>,
    /// From `Task timed out` on.
    text: &'a str,
}

fn parse_timeout_line(msg: &str) -> Option<TimeoutLine<'_>> {
    let b = msg.as_bytes();
    if !b.first()?.is_ascii_digit() || b.get(10) != Some(&b'T') {
        return None;
    }
    let head = b.get(..b.len().min(100))?;
    let at = memmem::find(head, TIMEOUT_PHRASE.as_bytes())?;
    let mut parts = msg.get(..at)?.split_ascii_whitespace();
    let ts = parse_iso_ms(parts.next()?)?;
    let id = parts.next().filter(|id| is_uuid(id));
    if id.is_none() || parts.next().is_some() {
        return None;
    }
    Some(TimeoutLine {
        ts: Some(ts),
        id,
        text: msg.get(at..)?,
    })
}

/// Which kind of Lambda JSON-format record `msg` looks like, without parsing it: `Platform`
/// (`{"time":…,"type":"platform.…`) or `Application` (`{"timestamp":…,"level":…,"requestId":…`).
fn json_record_kind(msg: &str) -> Option<LambdaLine> {
    let rest = msg.strip_prefix('{')?.trim_start();
    if !rest.starts_with("\"time") && !rest.starts_with("\"type\"") {
        return None;
    }
    let b = msg.as_bytes();
    if let Some(v) = json_key_value(b, b"\"type\"") {
        if v.starts_with(b"\"platform.") {
            return Some(LambdaLine::Platform);
        }
    }
    let has_level =
        json_key_value(b, b"\"level\"").is_some() || json_key_value(b, b"\"log_level\"").is_some();
    (has_level && json_key_value(b, b"\"requestId\"").is_some()).then_some(LambdaLine::Application)
}

/// The bytes after `"key"` + `:` (whitespace allowed), at its first occurrence as a key.
fn json_key_value<'b>(b: &'b [u8], quoted_key: &[u8]) -> Option<&'b [u8]> {
    for pos in find_iter(b, quoted_key) {
        let mut i = pos + quoted_key.len();
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if b.get(i) != Some(&b':') {
            continue;
        }
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        return b.get(i..);
    }
    None
}

/// Searchers for the needles the scanners look for on every line, built once: building a
/// `memmem` searcher costs more than searching a short line.
fn find_iter<'h>(hay: &'h [u8], needle: &'h [u8]) -> memmem::FindIter<'h, 'h> {
    macro_rules! cached {
        ($($k:expr),* $(,)?) => {{
            const NEEDLES: &[&[u8]] = &[$($k),*];
            static FINDERS: std::sync::LazyLock<Vec<memmem::Finder<'static>>> =
                std::sync::LazyLock::new(|| NEEDLES.iter().map(|n| memmem::Finder::new(*n)).collect());
            NEEDLES.iter().position(|n| *n == needle).map(|i| &FINDERS[i])
        }};
    }
    let finder = cached!(
        b"effect",
        b"Effect",
        b"isAuthorized",
        b"decision",
        b"principalId",
        b"methodArn",
        b"routeArn",
        b"requestContext",
        b"requestContext.",
        b"requestContext.requestId",
        b"requestContext.apiId",
        b"requestContext.stage",
        b"requestId",
        b"apiId",
        b"stage",
        b"errorType",
        b"errorMessage",
        b"\"type\"",
        b"\"level\"",
        b"\"log_level\"",
        b"\"requestId\"",
        b"Duration: ",
        b"Billed Duration: ",
        b"Memory Size: ",
        b"Max Memory Used: ",
        b"Init Duration: ",
        b"Status: ",
        b"Error Type: ",
        b"Phase: ",
    );
    match finder {
        Some(f) => f.find_iter(hay),
        None => memmem::find_iter(hay, needle),
    }
}

// ---------------------------------------------------------------------------------------------
// REPORT

fn apply_report_text(acc: &mut Acc, rest: &str) {
    let num = |label: &str| -> Option<f64> {
        report_field(rest, label)
            .and_then(first_token)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite())
    };
    let inv = &mut acc.inv;
    fill(&mut inv.duration_ms, num("Duration: "));
    fill(&mut inv.billed_duration_ms, num("Billed Duration: "));
    fill(
        &mut inv.memory_size_mb,
        num("Memory Size: ").and_then(to_i32),
    );
    fill(
        &mut inv.max_memory_used_mb,
        num("Max Memory Used: ").and_then(to_i32),
    );
    fill(&mut inv.init_duration_ms, num("Init Duration: "));
    if let Some(status) = report_field(rest, "Status: ").and_then(first_token) {
        let error_type = report_field(rest, "Error Type: ").and_then(first_token);
        acc.status(status, error_type);
    }
}

fn apply_report_json(acc: &mut Acc, record: &Map<String, Value>) {
    if let Some(m) = record.get("metrics").and_then(Value::as_object) {
        let num = |k: &str| m.get(k).and_then(Value::as_f64).filter(|v| v.is_finite());
        let inv = &mut acc.inv;
        fill(&mut inv.duration_ms, num("durationMs"));
        fill(&mut inv.billed_duration_ms, num("billedDurationMs"));
        fill(
            &mut inv.memory_size_mb,
            num("memorySizeMB").and_then(to_i32),
        );
        fill(
            &mut inv.max_memory_used_mb,
            num("maxMemoryUsedMB").and_then(to_i32),
        );
        fill(&mut inv.init_duration_ms, num("initDurationMs"));
    }
    if let Some(status) = record.get("status").and_then(Value::as_str) {
        let error_type = record.get("errorType").and_then(Value::as_str);
        acc.status(status, error_type);
    }
}

/// The value of a `Label: value` field of a REPORT / INIT_REPORT line, up to the next TAB. Works
/// without TABs too (trailing tab stripped, or TABs turned into spaces): callers take the first
/// token.
fn report_field<'a>(line: &'a str, label: &str) -> Option<&'a str> {
    let b = line.as_bytes();
    for pos in find_iter(b, label.as_bytes()) {
        if pos > 0 && !matches!(b.get(pos - 1), Some(b'\t' | b' ')) {
            continue;
        }
        let before = line.get(..pos).unwrap_or("");
        if label == "Duration: "
            && (before.ends_with("Billed ")
                || before.ends_with("Init ")
                || before.ends_with("Restore "))
        {
            continue;
        }
        let rest = line.get(pos + label.len()..)?;
        let end = memchr(b'\t', rest.as_bytes()).unwrap_or(rest.len());
        return rest.get(..end);
    }
    None
}

// ---------------------------------------------------------------------------------------------
// What a message says

/// Applies what an application message (or the function's own output) says to its invocation.
/// `continuation` marks unprefixed output, which may continue an event split over lines.
fn scan_body(acc: &mut Acc, body: &str, continuation: bool) {
    let trimmed = body.trim_start();
    for marker in NODE_ERROR_MARKERS {
        if let Some(rest) = trimmed.strip_prefix(marker) {
            let tail = memchr(b'{', rest.as_bytes()).and_then(|i| rest.get(i..));
            let (ty, msg) = tail.map(error_from_json_text).unwrap_or((None, None));
            acc.failed(ty.as_deref().or(Some(marker)), msg.as_deref());
            return;
        }
    }
    if trimmed.starts_with(TIMEOUT_PHRASE) {
        acc.timed_out(None, Some(first_line(trimmed)));
        return;
    }
    if is_error_document(trimmed) {
        // The error document older runtimes print: `{"errorMessage":"Unauthorized",…}`.
        let (ty, msg) = error_from_json_text(trimmed);
        if ty.is_some() || msg.is_some() {
            acc.failed(ty.as_deref(), msg.as_deref());
            return;
        }
    }
    scan_facts(acc, body, continuation);
}

/// Does `s` start like a Lambda error document (`{"errorType"` / `{"errorMessage"`)?
fn is_error_document(s: &str) -> bool {
    s.strip_prefix('{')
        .map(str::trim_start)
        .is_some_and(|r| r.starts_with("\"errorMessage\"") || r.starts_with("\"errorType\""))
}

/// `errorType` and `errorMessage` of a JSON error document; falls back to a tolerant key scan
/// when the JSON does not parse (truncated lines).
fn error_from_json_text(text: &str) -> (Option<String>, Option<String>) {
    let text = text.trim_end();
    if let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(text) {
        return error_fields(&obj);
    }
    let ty = first_value(text, "errorType", |v| !v.is_empty()).map(str::to_owned);
    let msg = first_value(text, "errorMessage", |v| !v.is_empty()).map(str::to_owned);
    (ty, msg)
}

fn error_fields(obj: &Map<String, Value>) -> (Option<String>, Option<String>) {
    let text = |k: &str| match obj.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    (text("errorType"), text("errorMessage"))
}

/// A JSON-format application record.
fn apply_app_record(acc: &mut Acc, obj: &Map<String, Value>) {
    let message = obj.get("message");
    let level = obj
        .get("level")
        .or_else(|| obj.get("log_level"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let top_error = obj.contains_key("errorType") || obj.contains_key("errorMessage");
    let marker = message
        .and_then(Value::as_str)
        .map(str::trim_start)
        .is_some_and(|m| NODE_ERROR_MARKERS.iter().any(|mk| m.starts_with(mk)));
    if top_error && (message.is_none() || marker) {
        // Node: `"message":"Invoke Error"` + top-level error; Python runtime: no message at all.
        let (ty, msg) = error_fields(obj);
        acc.failed(ty.as_deref(), msg.as_deref());
        return;
    }
    let error_level = ["ERROR", "FATAL", "CRITICAL"]
        .iter()
        .any(|l| level.eq_ignore_ascii_case(l));
    match message {
        Some(Value::String(s)) => scan_body(acc, s, false),
        Some(Value::Object(m))
            if error_level && (m.contains_key("errorType") || m.contains_key("errorMessage")) =>
        {
            let (ty, msg) = error_fields(m);
            acc.failed(ty.as_deref(), msg.as_deref());
            return;
        }
        Some(v @ (Value::Object(_) | Value::Array(_))) => {
            if let Ok(text) = serde_json::to_string(v) {
                scan_facts(acc, &text, false);
            }
        }
        _ => {}
    }
    // Python `extra=` keys and other fields next to the standard ones.
    const STANDARD: [&str; 11] = [
        "timestamp",
        "level",
        "log_level",
        "requestId",
        "message",
        "logger",
        "location",
        "stackTrace",
        "errorType",
        "errorMessage",
        "type",
    ];
    if obj.keys().any(|k| !STANDARD.contains(&k.as_str())) {
        let extras: Map<String, Value> = obj
            .iter()
            .filter(|(k, _)| !STANDARD.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Ok(text) = serde_json::to_string(&Value::Object(extras)) {
            scan_facts(acc, &text, false);
        }
    }
}

/// Decision, principal, methodArn and the logged event's `requestContext` ids in any of JSON,
/// Node `util.inspect`, Python repr or `key=value` text.
fn scan_facts(acc: &mut Acc, text: &str, continuation: bool) {
    if let Some(d) = find_decision(text) {
        acc.decide(d);
    }
    let inv = &mut acc.inv;
    if inv.principal_id.is_none() {
        inv.principal_id = first_value(text, "principalId", valid_principal).map(intern);
    }
    if inv.method_arn.is_none() {
        inv.method_arn = first_value(text, "methodArn", valid_arn)
            .or_else(|| first_value(text, "routeArn", valid_arn))
            .map(str::to_owned);
    }
    scan_request_context(acc, text, continuation);
}

fn scan_request_context(acc: &mut Acc, text: &str, continuation: bool) {
    let inv = &acc.inv;
    if inv.logged_request_id.is_some() && inv.logged_api_id.is_some() && inv.logged_stage.is_some()
    {
        acc.ctx_pending = 0;
        return;
    }
    let (region, anchored) = match key_hits(text, "requestContext").next() {
        Some((at, _)) => (text.get(at..).unwrap_or(""), true),
        None if continuation && acc.ctx_pending > 0 => {
            acc.ctx_pending -= 1;
            (text, false)
        }
        None => {
            // Flattened `requestContext.requestId=…` (key=value loggers, Insights fields).
            if find_iter(text.as_bytes(), b"requestContext.")
                .next()
                .is_some()
            {
                let inv = &mut acc.inv;
                fill(
                    &mut inv.logged_request_id,
                    first_value(text, "requestContext.requestId", valid_id).map(str::to_owned),
                );
                fill(
                    &mut inv.logged_api_id,
                    first_value(text, "requestContext.apiId", valid_id).map(intern),
                );
                fill(
                    &mut inv.logged_stage,
                    first_value(text, "requestContext.stage", valid_id).map(intern),
                );
            }
            return;
        }
    };
    let inv = &mut acc.inv;
    let rid = first_value(region, "requestId", valid_id);
    if inv.logged_request_id.is_none() {
        inv.logged_request_id = rid.map(str::to_owned);
    }
    if inv.logged_api_id.is_none() {
        inv.logged_api_id = first_value(region, "apiId", valid_id).map(intern);
    }
    if inv.logged_stage.is_none() {
        inv.logged_stage = first_value(region, "stage", valid_id).map(intern);
    }
    let complete = inv.logged_request_id.is_some()
        && inv.logged_api_id.is_some()
        && inv.logged_stage.is_some();
    if complete {
        acc.ctx_pending = 0;
    } else if anchored && rid.is_none() {
        // The event continues on the following lines (a message split by its container).
        acc.ctx_pending = CTX_PENDING_LINES;
    }
}

/// The worst decision the text states: `effect`/`Effect` Allow|Deny (a policy, also inside
/// `policyDocument.Statement[]`), `isAuthorized` true|false, `decision` Allow|Deny|Unauthorized.
fn find_decision(text: &str) -> Option<Decision> {
    let mut worst: Option<Decision> = None;
    let mut see = |d: Decision| worst = worst.max(Some(d));
    for key in ["effect", "Effect"] {
        for (at, q) in key_hits(text, key) {
            match value_at(text, at, q) {
                Some(v) if v.eq_ignore_ascii_case("allow") => see(Decision::Allow),
                Some(v) if v.eq_ignore_ascii_case("deny") => see(Decision::Deny),
                _ => {}
            }
        }
    }
    for (at, q) in key_hits(text, "isAuthorized") {
        match value_at(text, at, q) {
            Some(v) if v.eq_ignore_ascii_case("true") => see(Decision::Allow),
            Some(v) if v.eq_ignore_ascii_case("false") => see(Decision::Deny),
            _ => {}
        }
    }
    for (at, q) in key_hits(text, "decision") {
        match value_at(text, at, q) {
            Some(v) if v.eq_ignore_ascii_case("allow") => see(Decision::Allow),
            Some(v) if v.eq_ignore_ascii_case("deny") => see(Decision::Deny),
            Some(v) if v.eq_ignore_ascii_case("unauthorized") => see(Decision::Unauthorized),
            _ => {}
        }
    }
    worst
}

// ---------------------------------------------------------------------------------------------
// Tolerant key/value scanning (JSON, Node util.inspect, Python repr, key=value)

/// How the key was quoted; a quoted value of the same style is read the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    /// `key: v` / `key=v`.
    Bare,
    /// `"key": v`.
    Double,
    /// `'key': v`.
    Single,
    /// `\"key\": v` (JSON inside a JSON string, undecoded).
    Escaped,
}

/// Every place `key` appears as a key: yields the offset of its value (after `:`/`=` and
/// whitespace) and the key's quoting.
fn key_hits<'t>(text: &'t str, key: &'t str) -> impl Iterator<Item = (usize, Quote)> + 't {
    let b = text.as_bytes();
    find_iter(b, key.as_bytes()).filter_map(move |pos| {
        let prev = pos.checked_sub(1).and_then(|i| b.get(i)).copied();
        let quote = match prev {
            Some(b'"') => {
                if pos >= 2 && b.get(pos - 2) == Some(&b'\\') {
                    Quote::Escaped
                } else {
                    Quote::Double
                }
            }
            Some(b'\'') => Quote::Single,
            Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'$' | b'.') => {
                return None
            }
            _ => Quote::Bare,
        };
        let mut i = pos + key.len();
        let closing: &[u8] = match quote {
            Quote::Bare => b"",
            Quote::Double => b"\"",
            Quote::Single => b"'",
            Quote::Escaped => b"\\\"",
        };
        if !b.get(i..)?.starts_with(closing) {
            return None;
        }
        i += closing.len();
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if !matches!(b.get(i), Some(b':' | b'=')) {
            return None;
        }
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        Some((i, quote))
    })
}

/// The scalar value starting at `at`: a quoted string (without its quotes, escapes kept) or a
/// bare word. `None` when empty.
fn value_at(text: &str, at: usize, quote: Quote) -> Option<&str> {
    let rest = text.get(at..)?;
    let rb = rest.as_bytes();
    let (start, end) = if quote == Quote::Escaped || rest.starts_with("\\\"") {
        let body = rest.strip_prefix("\\\"")?;
        (2, 2 + memmem::find(body.as_bytes(), b"\\\"")?)
    } else if rb.first() == Some(&b'"') {
        let mut i = 1;
        loop {
            match rb.get(i)? {
                b'\\' => i += 2,
                b'"' => break,
                _ => i += 1,
            }
        }
        (1, i)
    } else if rb.first() == Some(&b'\'') {
        (1, 1 + memchr(b'\'', rb.get(1..)?)?)
    } else {
        let end = rb
            .iter()
            .position(|&c| {
                c.is_ascii_whitespace()
                    || matches!(
                        c,
                        b',' | b';' | b'}' | b']' | b')' | b'&' | b'"' | b'\'' | b'\\'
                    )
            })
            .unwrap_or(rb.len());
        (0, end)
    };
    rest.get(start..end).filter(|v| !v.is_empty())
}

/// The first value of `key` that passes `ok`.
fn first_value<'t>(text: &'t str, key: &'t str, ok: impl Fn(&str) -> bool) -> Option<&'t str> {
    key_hits(text, key)
        .filter_map(|(at, q)| value_at(text, at, q))
        .find(|v| ok(v))
}

// ---------------------------------------------------------------------------------------------
// Validation and small helpers

/// A plausible id: 1–128 characters, no whitespace or control characters, not a null literal.
fn valid_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= MAX_ID_CHARS
        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
        && !matches!(v, "null" | "None" | "undefined" | "-")
}

/// A principal id that is not a token: ≤ 256 characters, no control characters, not a JWT.
fn valid_principal(v: &str) -> bool {
    let jwt = v.starts_with("eyJ") && v.bytes().filter(|&c| c == b'.').count() >= 2;
    !v.is_empty()
        && v.len() <= 256
        && !jwt
        && !v.chars().any(char::is_control)
        && !matches!(v, "null" | "None" | "undefined")
}

fn valid_arn(v: &str) -> bool {
    v.starts_with("arn:")
        && v.len() <= 2048
        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]` → NAME.
fn function_from_arn(arn: &str) -> Option<&str> {
    let (_, rest) = arn.split_once(":function:")?;
    let name = rest.split(':').next()?;
    (!name.is_empty()).then_some(name)
}

fn trim_eol(s: &str) -> &str {
    s.trim_end_matches(['\n', '\r'])
}

fn first_line(s: &str) -> &str {
    let end = s.find(['\n', '\r']).unwrap_or(s.len());
    s.get(..end).unwrap_or(s).trim_end()
}

fn first_token(s: &str) -> Option<&str> {
    s.split_ascii_whitespace().next()
}

fn fill<T>(slot: &mut Option<T>, v: Option<T>) {
    if slot.is_none() {
        *slot = v;
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn to_i32(v: f64) -> Option<i32> {
    (v.is_finite() && v >= i32::MIN as f64 && v <= i32::MAX as f64).then_some(v.round() as i32)
}

/// At most `max` characters of `s`.
fn cap_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => s.get(..cut).unwrap_or(s).to_owned(),
        None => s.to_owned(),
    }
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z|±HH:MM|±HHMM]` → epoch milliseconds (no zone = UTC).
fn parse_iso_ms(s: &str) -> Option<i64> {
    crate::time::parse_iso(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQ_TEXT: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/samples/lambda/payments-live-request-authorizer.text.log"
    );
    const TOKEN_TEXT: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/samples/lambda/payments-live-token-authorizer.text.log"
    );
    const REQ_JSON: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/samples/lambda/payments-live-request-authorizer.json-format.log"
    );

    const REQ_FN: &str = "payments-live-request-authorizer";
    const TOKEN_FN: &str = "payments-live-token-authorizer";

    fn ev(message: &str, line: u64) -> Event<'_> {
        Event {
            log_time_ms: None,
            log_group: None,
            log_stream: None,
            event_id: None,
            message,
            origin: Origin {
                file: 0,
                line,
                offset: line * 100,
            },
        }
    }

    /// Feeds `lines` (one event each) as one bare stream and returns the invocations.
    fn run(lines: &[&str], fname: Option<&str>) -> Vec<Invocation> {
        let mut log = AuthorizerLog::new();
        for (i, l) in lines.iter().enumerate() {
            log.push(&ev(l, i as u64 + 1), fname);
        }
        log.finish()
    }

    fn run_file(path: &str, file: u32, fname: &str) -> Vec<Invocation> {
        let text = std::fs::read_to_string(path).expect("fixture");
        let mut log = AuthorizerLog::new();
        for (i, l) in text.lines().enumerate() {
            let mut e = ev(l, i as u64 + 1);
            e.origin.file = file;
            log.push(&e, Some(fname));
        }
        log.finish()
    }

    fn one(lines: &[&str]) -> Invocation {
        let mut v = run(lines, Some("fn"));
        assert_eq!(v.len(), 1, "{v:#?}");
        v.remove(0)
    }

    fn by_id<'a>(v: &'a [Invocation], prefix: &str) -> &'a Invocation {
        v.iter()
            .find(|i| i.lambda_request_id.starts_with(prefix))
            .unwrap_or_else(|| panic!("no invocation {prefix}"))
    }

    /// 2025-10-14T00:00:00Z.
    const DAY: i64 = 1_760_400_000_000;
    fn at(h: i64, m: i64, s: i64, ms: i64) -> i64 {
        DAY + ((h * 60 + m) * 60 + s) * 1000 + ms
    }

    // ----- timestamps -----------------------------------------------------------------------

    #[test]
    fn iso_timestamps() {
        assert_eq!(parse_iso_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso_ms("2025-10-14T00:00:00.000Z"), Some(DAY));
        assert_eq!(
            parse_iso_ms("2025-10-14T14:05:09.655Z"),
            Some(1_760_450_709_655)
        );
        assert_eq!(
            parse_iso_ms("2024-02-29T12:00:00.5Z"),
            Some(1_709_208_000_500)
        );
        assert_eq!(
            parse_iso_ms("2025-03-14T09:12:03.412000+00:00"),
            parse_iso_ms("2025-03-14T09:12:03.412Z")
        );
        assert_eq!(
            parse_iso_ms("2025-10-14T16:05:09.655+02:00"),
            Some(1_760_450_709_655)
        );
        assert_eq!(parse_iso_ms("2025-10-14 14:05:09"), Some(1_760_450_709_000));
        assert_eq!(parse_iso_ms("1969-12-31T23:59:59Z"), Some(-1000));
        for bad in [
            "",
            "2025-10-14",
            "2025-13-14T14:05:09Z",
            "2025-10-14T24:05:09Z",
            "2025-10-14T14:05:09.Z",
            "2025-10-14T14:05:09ZZ",
            "2025-10-14T14:05:09.655Zjunk",
            "20x5-10-14T14:05:09Z",
            "2025-10-14T14:05:09+2",
            "2025-10-14T14:05:09.655é",
        ] {
            assert_eq!(parse_iso_ms(bad), None, "{bad}");
        }
    }

    // ----- sniffing -------------------------------------------------------------------------

    #[test]
    fn sniff_lambda_messages() {
        let yes = [
            "START RequestId: b031d9da-0548-45d3-bf41-21d255e09fee Version: $LATEST",
            "END RequestId: b031d9da-0548-45d3-bf41-21d255e09fee",
            "REPORT RequestId: b031d9da-0548-45d3-bf41-21d255e09fee\tDuration: 112.50 ms\tBilled Duration: 337 ms\tMemory Size: 128 MB\tMax Memory Used: 69 MB\tInit Duration: 223.81 ms\t",
            "INIT_START Runtime Version: nodejs:20.v43\tRuntime Version ARN: arn:aws:lambda:us-east-2::runtime:436b",
            "INIT_REPORT Init Duration: 83.58 ms\tPhase: invoke\tStatus: error\tError Type: Runtime.ExitError",
            "2025-10-14T14:06:20.386Z\tb031d9da-0548-45d3-bf41-21d255e09fee\tINFO\tauthorizer decision=Allow",
            "2025-10-14T14:06:20.386Z\tundefined\tWARN\tcold start",
            "[INFO]\t2025-10-14T14:06:20.386Z\tb031d9da-0548-45d3-bf41-21d255e09fee\thello",
            "[WARNING]\t2025-10-14T14:06:20.386Z\t\tLAMBDA_WARNING: Unhandled exception.",
            "2025-10-14T14:06:23.400Z b031d9da-0548-45d3-bf41-21d255e09fee Task timed out after 3.00 seconds",
            "Task timed out after 3.00 seconds",
            r#"{"time":"2025-10-14T14:05:09.652Z","type":"platform.start","record":{"requestId":"60cd47f8-008d-4c59-9bf1-66ae535ca246"}}"#,
            r#"{"timestamp":"2025-10-14T14:05:09.692Z","level":"INFO","requestId":"60cd47f8-008d-4c59-9bf1-66ae535ca246","message":"x"}"#,
            r#"{"timestamp": "2025-10-14T14:05:09Z", "log_level": "ERROR", "errorMessage": "Unauthorized", "errorType": "Exception", "requestId": "60cd47f8-008d-4c59-9bf1-66ae535ca246", "stackTrace": []}"#,
        ];
        for m in yes {
            assert!(looks_like_lambda(m), "{m}");
        }
        let no = [
            "",
            "(c1d4f94e-a50e-42b3-8b32-945ded941995) Starting authorizer: 4fzq8e for request: c1d4f94e",
            r#"{"requestId":"c1d4f94e-a50e-42b3-8b32-945ded941995","ip":"203.0.113.24","status":"200"}"#,
            r#"{"time":"14/Oct/2025:14:05:09 +0000","requestId":"x","status":"403"}"#,
            "203.0.113.24 - - [14/Oct/2025:14:05:09 +0000] \"GET /live/payments HTTP/1.1\" 200 12 c1d4f94e",
            "2025-10-14T14:05:09.655Z some S3 export line",
            "[14/Oct/2025:14:05:09 +0000] hello",
            "hello world",
            "\u{1f600}\t\t",
        ];
        for m in no {
            assert!(!looks_like_lambda(m), "{m}");
        }
    }

    #[test]
    fn line_kinds() {
        let mut log = AuthorizerLog::new();
        let kinds: Vec<LambdaLine> = [
            "INIT_START Runtime Version: python:3.12.mainlinev2.v7\tRuntime Version ARN: arn:x",
            "START RequestId: c793869b-ee49-115b-a5b6-4fd21e8dedac Version: $LATEST",
            "[INFO]\t2025-10-14T14:06:20.386Z\tc793869b-ee49-115b-a5b6-4fd21e8dedac\tchecking token",
            "{'principalId': 'usr_1', 'policyDocument': {'Statement': [{'Effect': 'Deny'}]}}",
            "END RequestId: c793869b-ee49-115b-a5b6-4fd21e8dedac",
            "some stray output",
            r#"{"time":"2025-10-14T14:05:09.421Z","type":"platform.initStart","record":{"phase":"init"}}"#,
            r#"{"timestamp":"2025-10-14T14:05:09.655Z","level":"INFO","requestId":"60cd47f8-008d-4c59-9bf1-66ae535ca246","message":"x"}"#,
        ]
        .iter()
        .enumerate()
        .map(|(i, m)| log.push(&ev(m, i as u64 + 1), None))
        .collect();
        use LambdaLine::*;
        assert_eq!(
            kinds,
            [
                Platform,
                Platform,
                Application,
                Other,
                Platform,
                Other,
                Platform,
                Application
            ]
        );
        let invs = log.finish();
        assert_eq!(invs.len(), 2);
        assert_eq!(invs[1].decision, Some(Decision::Deny));
        assert_eq!(invs[1].principal_id.as_deref(), Some("usr_1"));
    }

    // ----- text platform lines --------------------------------------------------------------

    #[test]
    fn start_end_report_cold_start() {
        let inv = one(&[
            "INIT_START Runtime Version: nodejs:20.v43\tRuntime Version ARN: arn:aws:lambda:us-east-2::runtime:436b177a544370d366d6e19542b7b70735c8b2e1301de2e61422ea305c2445f4",
            "START RequestId: 60cd47f8-008d-4c59-9bf1-66ae535ca246 Version: $LATEST",
            "END RequestId: 60cd47f8-008d-4c59-9bf1-66ae535ca246",
            "REPORT RequestId: 60cd47f8-008d-4c59-9bf1-66ae535ca246\tDuration: 43.09 ms\tBilled Duration: 273 ms\tMemory Size: 256 MB\tMax Memory Used: 79 MB\tInit Duration: 229.90 ms\t",
        ]);
        assert_eq!(
            inv.lambda_request_id,
            "60cd47f8-008d-4c59-9bf1-66ae535ca246"
        );
        assert_eq!(inv.duration_ms, Some(43.09));
        assert_eq!(inv.billed_duration_ms, Some(273.0));
        assert_eq!(inv.memory_size_mb, Some(256));
        assert_eq!(inv.max_memory_used_mb, Some(79));
        assert_eq!(inv.init_duration_ms, Some(229.90));
        assert_eq!(inv.decision, None);
        assert_eq!(inv.function_name.as_deref(), Some("fn"));
        assert_eq!(
            inv.origin.line, 2,
            "INIT_START is not part of the invocation"
        );
    }

    #[test]
    fn report_without_trailing_tab_or_with_spaces() {
        // `aws logs tail` strips the trailing TAB; some copies turn TABs into spaces.
        for report in [
            "REPORT RequestId: ce039721-550a-4772-925e-eaffe1a11aea\tDuration: 14.74 ms\tBilled Duration: 15 ms\tMemory Size: 256 MB\tMax Memory Used: 82 MB",
            "REPORT RequestId: ce039721-550a-4772-925e-eaffe1a11aea Duration: 14.74 ms Billed Duration: 15 ms Memory Size: 256 MB Max Memory Used: 82 MB ",
            "REPORT RequestId: ce039721-550a-4772-925e-eaffe1a11aea\tDuration: 14.74 ms\tBilled Duration: 15 ms\tMemory Size: 256 MB\tMax Memory Used: 82 MB\t\r\n",
        ] {
            let inv = one(&[report]);
            assert_eq!(inv.duration_ms, Some(14.74), "{report}");
            assert_eq!(inv.billed_duration_ms, Some(15.0));
            assert_eq!(inv.memory_size_mb, Some(256));
            assert_eq!(inv.max_memory_used_mb, Some(82));
            assert_eq!(inv.init_duration_ms, None);
        }
    }

    #[test]
    fn report_status_error_and_xray() {
        let inv = one(&[
            "START RequestId: 4ce9340a-b765-490f-ad8a-02ab3415e2bf Version: 7",
            "REPORT RequestId: 4ce9340a-b765-490f-ad8a-02ab3415e2bf\tDuration: 26.73 ms\tBilled Duration: 27 ms\tMemory Size: 128 MB\tMax Memory Used: 75 MB\tInit Duration: 166.62 ms\tStatus: error\tError Type: Runtime.ExitError\tXRAY TraceId: 1-5e5e8b5a-1234\tSegmentId: 0e3d\tSampled: true\t",
        ]);
        assert_eq!(inv.decision, Some(Decision::Error));
        assert_eq!(inv.error_type.as_deref(), Some("Runtime.ExitError"));
        assert_eq!(inv.error_message, None);
        assert_eq!(inv.init_duration_ms, Some(166.62));
        assert_eq!(inv.duration_ms, Some(26.73));
    }

    #[test]
    fn report_status_timeout() {
        let inv = one(&[
            "REPORT RequestId: 4ce9340a-b765-490f-ad8a-02ab3415e2bf\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 75 MB\tStatus: timeout",
        ]);
        assert_eq!(inv.decision, Some(Decision::Timeout));
        assert_eq!(inv.error_type.as_deref(), Some("Task timed out"));
    }

    #[test]
    fn init_report_during_invoke() {
        let inv = one(&[
            "START RequestId: 4ce9340a-b765-490f-ad8a-02ab3415e2bf Version: $LATEST",
            "INIT_REPORT Init Duration: 83.58 ms\tPhase: invoke\tStatus: error\tError Type: Runtime.ImportModuleError",
            "END RequestId: 4ce9340a-b765-490f-ad8a-02ab3415e2bf",
        ]);
        assert_eq!(inv.decision, Some(Decision::Error));
        assert_eq!(inv.error_type.as_deref(), Some("Runtime.ImportModuleError"));
    }

    #[test]
    fn start_time_from_event_time_else_first_app_line() {
        let lines = [
            "START RequestId: b031d9da-0548-45d3-bf41-21d255e09fee Version: $LATEST",
            "2025-10-14T14:06:20.386Z\tb031d9da-0548-45d3-bf41-21d255e09fee\tINFO\tauthorizer decision=Allow principalId=usr_5DkQ2v",
            "END RequestId: b031d9da-0548-45d3-bf41-21d255e09fee",
        ];
        // Bare lines: the application line's own timestamp.
        assert_eq!(one(&lines).start_time_ms, Some(at(14, 6, 20, 386)));
        // With CloudWatch event times: the START event's.
        let mut log = AuthorizerLog::new();
        for (i, (l, t)) in lines
            .iter()
            .zip([at(14, 6, 20, 276), at(14, 6, 20, 386), at(14, 6, 20, 389)])
            .enumerate()
        {
            let mut e = ev(l, i as u64);
            e.log_time_ms = Some(t);
            log.push(&e, None);
        }
        assert_eq!(log.finish()[0].start_time_ms, Some(at(14, 6, 20, 276)));
    }

    // ----- Node.js --------------------------------------------------------------------------

    #[test]
    fn node_key_value_decision() {
        let inv = one(&[
            "START RequestId: b031d9da-0548-45d3-bf41-21d255e09fee Version: $LATEST",
            "2025-10-14T14:06:20.386Z\tb031d9da-0548-45d3-bf41-21d255e09fee\tINFO\tauthorizer decision=Allow principalId=usr_5DkQ2v resource=arn:aws:execute-api:us-east-2:210987654321:k3vq8zt1pw/live/GET/payouts methodArn=arn:aws:execute-api:us-east-2:210987654321:k3vq8zt1pw/live/GET/payouts",
        ]);
        assert_eq!(inv.decision, Some(Decision::Allow));
        assert_eq!(inv.principal_id.as_deref(), Some("usr_5DkQ2v"));
        assert_eq!(
            inv.method_arn.as_deref(),
            Some("arn:aws:execute-api:us-east-2:210987654321:k3vq8zt1pw/live/GET/payouts")
        );
        assert_eq!(inv.logged_request_id, None);
    }

    #[test]
    fn node_json_decision_line() {
        let inv = one(&[
            r#"2025-10-14T14:08:02.480Z	ce039721-550a-4772-925e-eaffe1a11aea	INFO	decision {"effect":"Deny","principalId":"merchant:m_2280","merchantId":"m_2280","resource":"arn:aws:execute-api:us-east-2:210987654321:k3vq8zt1pw/live/*","methodArn":"arn:aws:execute-api:us-east-2:210987654321:k3vq8zt1pw/live/GET/payments/pay_5Rk1wZpE","reason":"merchant_suspended"}"#,
        ]);
        assert_eq!(inv.decision, Some(Decision::Deny));
        assert_eq!(inv.principal_id.as_deref(), Some("merchant:m_2280"));
        assert_eq!(
            inv.method_arn.as_deref(),
            Some("arn:aws:execute-api:us-east-2:210987654321:k3vq8zt1pw/live/GET/payments/pay_5Rk1wZpE")
        );
        assert_eq!(inv.start_time_ms, Some(at(14, 8, 2, 480)));
    }

    #[test]
    fn node_policy_document_statement() {
        let inv = one(&[
            r#"2025-10-14T14:08:02.480Z	ce039721-550a-4772-925e-eaffe1a11aea	INFO	{"principalId":"user|a1b2","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/a"},{"Action":"execute-api:Invoke","Effect":"Deny","Resource":"arn:aws:execute-api:us-east-1:123456789012:abc/prod/*/admin"}]},"context":{"tier":"gold"}}"#,
        ]);
        assert_eq!(inv.decision, Some(Decision::Deny), "worst statement wins");
        assert_eq!(inv.principal_id.as_deref(), Some("user|a1b2"));
    }

    #[test]
    fn node_invoke_error_unauthorized() {
        let inv = one(&[
            "START RequestId: eddbda3a-659a-4cde-9d8f-1dd060344159 Version: $LATEST",
            "2025-10-14T14:11:52.788Z\teddbda3a-659a-4cde-9d8f-1dd060344159\tINFO\tauthorizer decision=Unauthorized reason=jwt_expired exp=2025-10-14T13:46:40Z methodArn=arn:aws:execute-api:us-east-2:210987654321:k3vq8zt1pw/live/GET/payouts",
            r#"2025-10-14T14:11:52.790Z	eddbda3a-659a-4cde-9d8f-1dd060344159	ERROR	Invoke Error 	{"errorType":"Error","errorMessage":"Unauthorized","stack":["Error: Unauthorized","    at verifyDashboardJwt (file:///var/task/index.mjs:41:15)","    at Runtime.handler (file:///var/task/index.mjs:22:24)"]}"#,
            "END RequestId: eddbda3a-659a-4cde-9d8f-1dd060344159",
            "REPORT RequestId: eddbda3a-659a-4cde-9d8f-1dd060344159\tDuration: 5.89 ms\tBilled Duration: 6 ms\tMemory Size: 128 MB\tMax Memory Used: 71 MB\t",
        ]);
        assert_eq!(inv.decision, Some(Decision::Unauthorized));
        assert_eq!(inv.error_type.as_deref(), Some("Error"));
        assert_eq!(inv.error_message.as_deref(), Some("Unauthorized"));
        assert_eq!(inv.principal_id, None);
    }

    #[test]
    fn unauthorized_survives_report_error_status() {
        let inv = one(&[
            r#"2025-10-14T14:11:52.790Z	eddbda3a-659a-4cde-9d8f-1dd060344159	ERROR	Invoke Error 	{"errorType":"Error","errorMessage":"Unauthorized","stack":[]}"#,
            "REPORT RequestId: eddbda3a-659a-4cde-9d8f-1dd060344159\tDuration: 5.89 ms\tBilled Duration: 6 ms\tMemory Size: 128 MB\tMax Memory Used: 71 MB\tStatus: error\tError Type: Error",
        ]);
        assert_eq!(inv.decision, Some(Decision::Unauthorized));
    }

    #[test]
    fn node_invoke_error_other_and_other_markers() {
        let inv = one(&[
            r#"2025-10-14T14:13:25.634Z	4ec5b0ef-2c05-446e-8787-3fbc122bf277	ERROR	Invoke Error 	{"errorType":"TypeError","errorMessage":"Cannot read properties of undefined (reading 'split')","stack":["TypeError: Cannot read properties of undefined (reading 'split')","    at parseMerchantToken (file:///var/task/index.mjs:14:27)"]}"#,
        ]);
        assert_eq!(inv.decision, Some(Decision::Error));
        assert_eq!(inv.error_type.as_deref(), Some("TypeError"));
        assert_eq!(
            inv.error_message.as_deref(),
            Some("Cannot read properties of undefined (reading 'split')")
        );

        let inv = one(&[
            r#"2023-05-30T12:33:40.149Z	883eb7bc-1111-4e93-a3db-cb3cebac38bc	ERROR	Unhandled Promise Rejection 	{"errorType":"Runtime.UnhandledPromiseRejection","errorMessage":"Error: boom","reason":{},"promise":{},"stack":[]}"#,
        ]);
        assert_eq!(inv.decision, Some(Decision::Error));
        assert_eq!(
            inv.error_type.as_deref(),
            Some("Runtime.UnhandledPromiseRejection")
        );

        // A truncated JSON tail still gives type and message.
        let inv = one(&[
            r#"2023-05-30T12:33:40.149Z	883eb7bc-1111-4e93-a3db-cb3cebac38bc	ERROR	Uncaught Exception 	{"errorType":"Error","errorMessage":"Unauthorized","stack":["Error: Unauth"#,
        ]);
        assert_eq!(inv.decision, Some(Decision::Unauthorized));
        assert_eq!(inv.error_type.as_deref(), Some("Error"));
    }

    #[test]
    fn node_string_callback_error() {
        // callback("Unauthorized") in older Node runtimes.
        let inv = one(&[
            r#"2020-01-01T00:00:00.000Z	883eb7bc-1111-4e93-a3db-cb3cebac38bc	ERROR	Invoke Error 	{"errorType":"string","errorMessage":"Unauthorized","trace":[]}"#,
        ]);
        assert_eq!(inv.decision, Some(Decision::Unauthorized));
        let inv = one(&[
            "START RequestId: 883eb7bc-1111-4e93-a3db-cb3cebac38bc Version: $LATEST",
            r#"{"errorMessage":"Unauthorized"}"#,
        ]);
        assert_eq!(inv.decision, Some(Decision::Unauthorized));
    }

    #[test]
    fn error_message_is_capped() {
        let long = "x".repeat(2000);
        let line = format!(
            "2023-05-30T12:33:40.149Z\t883eb7bc-1111-4e93-a3db-cb3cebac38bc\tERROR\tInvoke Error \t{{\"errorType\":\"Error\",\"errorMessage\":\"{long}\"}}"
        );
        let inv = one(&[&line]);
        assert_eq!(
            inv.error_message.as_ref().map(|m| m.chars().count()),
            Some(500)
        );
        let multibyte = "é".repeat(600);
        let line = format!(
            "2023-05-30T12:33:40.149Z\t883eb7bc-1111-4e93-a3db-cb3cebac38bc\tERROR\tInvoke Error \t{{\"errorType\":\"Error\",\"errorMessage\":\"{multibyte}\"}}"
        );
        let inv = one(&[&line]);
        assert_eq!(
            inv.error_message.as_ref().map(|m| m.chars().count()),
            Some(500)
        );
    }

    #[test]
    fn node_util_inspect_event_multiline() {
        let event = "2025-10-14T14:05:09.655Z\t60cd47f8-008d-4c59-9bf1-66ae535ca246\tINFO\tevent {\n  type: 'REQUEST',\n  methodArn: 'arn:aws:execute-api:us-east-2:210987654321:k3vq8zt1pw/live/GET/payments/pay_8QhT2mWc',\n  headers: {\n    Authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig',\n    requestId: 'not-this-one'\n  },\n  stageVariables: null,\n  requestContext: {\n    resourceId: 'c4ry8m',\n    stage: 'live',\n    requestId: 'c1d4f94e-a50e-42b3-8b32-945ded941995',\n    identity: { sourceIp: '203.0.113.24', apiKey: null },\n    apiId: 'k3vq8zt1pw'\n  }\n}";
        let inv = one(&[event]);
        assert_eq!(
            inv.logged_request_id.as_deref(),
            Some("c1d4f94e-a50e-42b3-8b32-945ded941995")
        );
        assert_eq!(inv.logged_api_id.as_deref(), Some("k3vq8zt1pw"));
        assert_eq!(inv.logged_stage.as_deref(), Some("live"));
        assert_eq!(
            inv.method_arn.as_deref(),
            Some("arn:aws:execute-api:us-east-2:210987654321:k3vq8zt1pw/live/GET/payments/pay_8QhT2mWc")
        );
        assert_eq!(inv.decision, None);
        assert_no_token(&inv);
    }

    #[test]
    fn util_inspect_split_over_events() {
        // A container that did not rejoin the continuation lines of one message.
        let inv = one(&[
            "START RequestId: 60cd47f8-008d-4c59-9bf1-66ae535ca246 Version: $LATEST",
            "2025-10-14T14:05:09.655Z\t60cd47f8-008d-4c59-9bf1-66ae535ca246\tINFO\tevent {",
            "  requestContext: {",
            "    resourceId: 'c4ry8m',",
            "    requestId: 'c1d4f94e-a50e-42b3-8b32-945ded941995',",
            "    apiId: 'k3vq8zt1pw',",
            "    stage: 'live'",
            "  }",
            "}",
        ]);
        assert_eq!(
            inv.logged_request_id.as_deref(),
            Some("c1d4f94e-a50e-42b3-8b32-945ded941995")
        );
        assert_eq!(inv.logged_api_id.as_deref(), Some("k3vq8zt1pw"));
        assert_eq!(inv.logged_stage.as_deref(), Some("live"));
    }

    #[test]
    fn http_api_v2_simple_response_and_route_arn() {
        let inv = one(&[
            "2025-10-14T14:05:09.655Z\t60cd47f8-008d-4c59-9bf1-66ae535ca246\tINFO\t{\n  version: '2.0',\n  type: 'REQUEST',\n  routeArn: 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/GET/items',\n  requestContext: {\n    accountId: '123456789012',\n    apiId: 'abcdef123',\n    domainName: 'abcdef123.execute-api.us-east-1.amazonaws.com',\n    http: { method: 'GET', path: '/items' },\n    requestId: 'JKJaXmPLvHcESHA=',\n    routeKey: 'GET /items',\n    stage: '$default'\n  }\n}",
            "2025-10-14T14:05:09.670Z\t60cd47f8-008d-4c59-9bf1-66ae535ca246\tINFO\tresponse { isAuthorized: false, context: { reason: 'expired' } }",
        ]);
        assert_eq!(inv.decision, Some(Decision::Deny));
        assert_eq!(inv.logged_request_id.as_deref(), Some("JKJaXmPLvHcESHA="));
        assert_eq!(inv.logged_api_id.as_deref(), Some("abcdef123"));
        assert_eq!(inv.logged_stage.as_deref(), Some("$default"));
        assert_eq!(
            inv.method_arn.as_deref(),
            Some("arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/GET/items")
        );
        let inv = one(&[
            r#"2025-10-14T14:05:09.670Z	60cd47f8-008d-4c59-9bf1-66ae535ca246	INFO	{"isAuthorized":true,"context":{"user":"u1"}}"#,
        ]);
        assert_eq!(inv.decision, Some(Decision::Allow));
    }

    #[test]
    fn undefined_request_id_goes_to_open_invocation() {
        let v = run(
            &[
                "2025-10-14T14:05:09.500Z\tundefined\tINFO\tloading keys",
                "START RequestId: 60cd47f8-008d-4c59-9bf1-66ae535ca246 Version: $LATEST",
                "2025-10-14T14:05:09.655Z\tundefined\tINFO\tdecision effect=Deny",
            ],
            None,
        );
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].decision, Some(Decision::Deny));
        assert_eq!(v[0].origin.line, 2);
    }

    #[test]
    fn request_id_values_are_validated() {
        let inv = one(&[
            r#"2025-10-14T14:05:09.655Z	60cd47f8-008d-4c59-9bf1-66ae535ca246	INFO	{"requestContext":{"requestId":"has a space","stage":null}}"#,
        ]);
        assert_eq!(inv.logged_request_id, None);
        assert_eq!(inv.logged_stage, None);
        let long = "a".repeat(129);
        let line = format!(
            "2025-10-14T14:05:09.655Z\t60cd47f8-008d-4c59-9bf1-66ae535ca246\tINFO\t{{\"requestContext\":{{\"requestId\":\"{long}\"}}}}"
        );
        assert_eq!(one(&[&line]).logged_request_id, None);
        // A requestId key before requestContext is not the API Gateway id.
        let inv = one(&[
            r#"2025-10-14T14:05:09.655Z	60cd47f8-008d-4c59-9bf1-66ae535ca246	INFO	{"requestId":"top-level-id","requestContext":{"stage":"live"}}"#,
        ]);
        assert_eq!(inv.logged_request_id, None);
        assert_eq!(inv.logged_stage.as_deref(), Some("live"));
    }

    #[test]
    fn flattened_request_context_keys() {
        let inv = one(&[
            "2025-10-14T14:05:09.655Z\t60cd47f8-008d-4c59-9bf1-66ae535ca246\tINFO\tevent requestContext.requestId=c1d4f94e-a50e-42b3-8b32-945ded941995 requestContext.apiId=k3vq8zt1pw requestContext.stage=live effect=Allow",
        ]);
        assert_eq!(
            inv.logged_request_id.as_deref(),
            Some("c1d4f94e-a50e-42b3-8b32-945ded941995")
        );
        assert_eq!(inv.logged_api_id.as_deref(), Some("k3vq8zt1pw"));
        assert_eq!(inv.logged_stage.as_deref(), Some("live"));
        assert_eq!(inv.decision, Some(Decision::Allow));
    }

    #[test]
    fn principal_that_is_a_token_is_not_kept() {
        let inv = one(&[
            r#"2025-10-14T14:05:09.655Z	60cd47f8-008d-4c59-9bf1-66ae535ca246	INFO	{"principalId":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln","policyDocument":{"Statement":[{"Effect":"Allow"}]}}"#,
        ]);
        assert_eq!(inv.principal_id, None);
        assert_eq!(inv.decision, Some(Decision::Allow));
    }

    // ----- Python ---------------------------------------------------------------------------

    #[test]
    fn python_logging_and_repr_event() {
        let inv = one(&[
            "START RequestId: c793869b-ee49-115b-a5b6-4fd21e8dedac Version: $LATEST",
            "[INFO]\t2025-10-14T14:05:09.655Z\tc793869b-ee49-115b-a5b6-4fd21e8dedac\tevent: {'type': 'REQUEST', 'methodArn': 'arn:aws:execute-api:us-east-2:210987654321:k3vq8zt1pw/live/GET/payments', 'headers': {'Authorization': 'Bearer abc.def.ghi'}, 'requestContext': {'resourceId': 'c4ry8m', 'stage': 'live', 'requestId': 'c1d4f94e-a50e-42b3-8b32-945ded941995', 'apiId': 'k3vq8zt1pw', 'identity': {'sourceIp': '203.0.113.24'}}}",
            "[INFO]\t2025-10-14T14:05:09.690Z\tc793869b-ee49-115b-a5b6-4fd21e8dedac\treturning {'principalId': 'merchant:m_4471', 'policyDocument': {'Version': '2012-10-17', 'Statement': [{'Action': 'execute-api:Invoke', 'Effect': 'Allow', 'Resource': 'arn:aws:execute-api:us-east-2:210987654321:k3vq8zt1pw/live/*'}]}}",
            "END RequestId: c793869b-ee49-115b-a5b6-4fd21e8dedac",
        ]);
        assert_eq!(
            inv.logged_request_id.as_deref(),
            Some("c1d4f94e-a50e-42b3-8b32-945ded941995")
        );
        assert_eq!(inv.logged_api_id.as_deref(), Some("k3vq8zt1pw"));
        assert_eq!(inv.logged_stage.as_deref(), Some("live"));
        assert_eq!(inv.decision, Some(Decision::Allow));
        assert_eq!(inv.principal_id.as_deref(), Some("merchant:m_4471"));
        assert_eq!(
            inv.method_arn.as_deref(),
            Some("arn:aws:execute-api:us-east-2:210987654321:k3vq8zt1pw/live/GET/payments")
        );
        assert_eq!(inv.start_time_ms, Some(at(14, 5, 9, 655)));
        assert_no_token(&inv);
    }

    #[test]
    fn python_print_lines_go_to_open_invocation() {
        let v = run(
            &[
                "START RequestId: c793869b-ee49-115b-a5b6-4fd21e8dedac Version: $LATEST",
                "checking token for {'requestContext': {'requestId': 'c1d4f94e-a50e-42b3-8b32-945ded941995'}}",
                "{'principalId': 'usr_1', 'policyDocument': {'Statement': [{'Effect': 'Deny', 'Resource': 'arn:x'}]}}",
                "END RequestId: c793869b-ee49-115b-a5b6-4fd21e8dedac",
                "print after END is nobody's {'Effect': 'Allow'}",
            ],
            None,
        );
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].decision, Some(Decision::Deny));
        assert_eq!(v[0].principal_id.as_deref(), Some("usr_1"));
        assert_eq!(
            v[0].logged_request_id.as_deref(),
            Some("c1d4f94e-a50e-42b3-8b32-945ded941995")
        );
    }

    #[test]
    fn python_uncaught_unauthorized() {
        let inv = one(&[
            "START RequestId: c793869b-ee49-115b-a5b6-4fd21e8dedac Version: $LATEST",
            "[WARNING]\t2025-10-14T14:05:09.700Z\t\tLAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. However, in rare cases, a Lambda runtime update can cause unexpected function behavior.",
            "[ERROR] Exception: Unauthorized\nTraceback (most recent call last):\n  File \"/var/task/lambda_function.py\", line 12, in lambda_handler\n    raise Exception('Unauthorized')",
            "END RequestId: c793869b-ee49-115b-a5b6-4fd21e8dedac",
        ]);
        assert_eq!(inv.decision, Some(Decision::Unauthorized));
        assert_eq!(inv.error_type.as_deref(), Some("Exception"));
        assert_eq!(inv.error_message.as_deref(), Some("Unauthorized"));

        let inv = one(&[
            "START RequestId: c793869b-ee49-115b-a5b6-4fd21e8dedac Version: $LATEST",
            "[ERROR] KeyError: 'authorizationToken'\rTraceback (most recent call last):\r  File \"/var/task/app.py\", line 3",
        ]);
        assert_eq!(inv.decision, Some(Decision::Error));
        assert_eq!(inv.error_type.as_deref(), Some("KeyError"));
        assert_eq!(inv.error_message.as_deref(), Some("'authorizationToken'"));
    }

    // ----- timeouts -------------------------------------------------------------------------

    #[test]
    fn timeouts() {
        let inv = one(&[
            "START RequestId: 8e7f0d2a-1b3c-4d5e-9f60-718293a4b5c6 Version: $LATEST",
            "2025-10-14T14:06:23.400Z 8e7f0d2a-1b3c-4d5e-9f60-718293a4b5c6 Task timed out after 3.00 seconds",
            "END RequestId: 8e7f0d2a-1b3c-4d5e-9f60-718293a4b5c6",
            "REPORT RequestId: 8e7f0d2a-1b3c-4d5e-9f60-718293a4b5c6\tDuration: 3003.26 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\t",
        ]);
        assert_eq!(inv.decision, Some(Decision::Timeout));
        assert_eq!(inv.error_type.as_deref(), Some("Task timed out"));
        assert_eq!(
            inv.error_message.as_deref(),
            Some("Task timed out after 3.00 seconds")
        );
        assert_eq!(inv.duration_ms, Some(3003.26));

        let mut log = AuthorizerLog::new();
        assert_eq!(
            log.push(
                &ev(
                    "START RequestId: 8e7f0d2a-1b3c-4d5e-9f60-718293a4b5c6 Version: $LATEST",
                    1
                ),
                None
            ),
            LambdaLine::Platform
        );
        log.push(
            &ev("2025-10-14T14:06:20.400Z\t8e7f0d2a-1b3c-4d5e-9f60-718293a4b5c6\tINFO\tdecision=Allow", 2),
            None,
        );
        assert_eq!(
            log.push(&ev("Task timed out after 3.00 seconds", 3), None),
            LambdaLine::Platform
        );
        let inv = log.finish().remove(0);
        assert_eq!(
            inv.decision,
            Some(Decision::Timeout),
            "timeout outranks Allow"
        );
        assert_eq!(inv.error_type.as_deref(), Some("Task timed out"));
    }

    // ----- JSON format ----------------------------------------------------------------------

    #[test]
    fn json_platform_and_app_records() {
        let mut log = AuthorizerLog::new();
        let lines = [
            r#"{"time":"2025-10-14T14:05:09.421Z","type":"platform.initStart","record":{"initializationType":"on-demand","phase":"init","runtimeVersion":"nodejs:20.v43","functionName":"payments-live-request-authorizer","functionVersion":"$LATEST"}}"#,
            r#"{"time":"2025-10-14T14:05:09.652Z","type":"platform.start","record":{"requestId":"60cd47f8-008d-4c59-9bf1-66ae535ca246","functionArn":"arn:aws:lambda:us-east-2:210987654321:function:payments-live-request-authorizer","version":"$LATEST"}}"#,
            r#"{"timestamp":"2025-10-14T14:05:09.655Z","level":"INFO","requestId":"60cd47f8-008d-4c59-9bf1-66ae535ca246","message":"authorizer event {\"type\":\"REQUEST\",\"methodArn\":\"arn:aws:execute-api:us-east-2:210987654321:k3vq8zt1pw/live/GET/payments/pay_8QhT2mWc\",\"headers\":{\"Authorization\":\"Bearer [redacted]\"},\"requestContext\":{\"stage\":\"live\",\"requestId\":\"c1d4f94e-a50e-42b3-8b32-945ded941995\",\"apiId\":\"k3vq8zt1pw\"}}"}"#,
            r#"{"timestamp":"2025-10-14T14:05:09.692Z","level":"INFO","requestId":"60cd47f8-008d-4c59-9bf1-66ae535ca246","message":"decision {\"effect\":\"Allow\",\"principalId\":\"merchant:m_4471\"}"}"#,
            r#"{"time":"2025-10-14T14:05:09.696Z","type":"platform.report","record":{"requestId":"60cd47f8-008d-4c59-9bf1-66ae535ca246","metrics":{"durationMs":43.09,"billedDurationMs":273,"memorySizeMB":256,"maxMemoryUsedMB":79,"initDurationMs":229.9},"status":"success"}}"#,
        ];
        let kinds: Vec<_> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| log.push(&ev(l, i as u64 + 1), None))
            .collect();
        use LambdaLine::*;
        assert_eq!(
            kinds,
            [Platform, Platform, Application, Application, Platform]
        );
        let inv = log.finish().remove(0);
        assert_eq!(inv.start_time_ms, Some(at(14, 5, 9, 652)));
        assert_eq!(
            inv.function_name.as_deref(),
            Some(REQ_FN),
            "from functionArn"
        );
        assert_eq!(inv.decision, Some(Decision::Allow));
        assert_eq!(inv.principal_id.as_deref(), Some("merchant:m_4471"));
        assert_eq!(
            inv.logged_request_id.as_deref(),
            Some("c1d4f94e-a50e-42b3-8b32-945ded941995")
        );
        assert_eq!(inv.logged_api_id.as_deref(), Some("k3vq8zt1pw"));
        assert_eq!(inv.logged_stage.as_deref(), Some("live"));
        assert_eq!(inv.duration_ms, Some(43.09));
        assert_eq!(inv.billed_duration_ms, Some(273.0));
        assert_eq!(inv.memory_size_mb, Some(256));
        assert_eq!(inv.max_memory_used_mb, Some(79));
        assert_eq!(inv.init_duration_ms, Some(229.9));
        assert_eq!(inv.origin.line, 2);
        assert_no_token(&inv);
    }

    #[test]
    fn json_top_level_request_id_is_not_the_logged_one() {
        let inv = one(&[
            r#"{"timestamp":"2025-10-14T14:05:09.655Z","level":"INFO","requestId":"60cd47f8-008d-4c59-9bf1-66ae535ca246","message":"requestContext is missing"}"#,
            r#"{"timestamp":"2025-10-14T14:05:09.656Z","level":"INFO","message":"no requestContext here","logger":"root","requestId":"60cd47f8-008d-4c59-9bf1-66ae535ca246"}"#,
        ]);
        assert_eq!(
            inv.lambda_request_id,
            "60cd47f8-008d-4c59-9bf1-66ae535ca246"
        );
        assert_eq!(inv.logged_request_id, None);
    }

    #[test]
    fn json_object_message_and_extras() {
        let inv = one(&[
            r#"{"timestamp":"2025-10-14T14:05:09.655Z","level":"INFO","requestId":"60cd47f8-008d-4c59-9bf1-66ae535ca246","message":{"type":"REQUEST","methodArn":"arn:aws:execute-api:us-east-2:210987654321:k3vq8zt1pw/live/GET/x","headers":{"Authorization":"Bearer secret"},"requestContext":{"requestId":"c1d4f94e-a50e-42b3-8b32-945ded941995","apiId":"k3vq8zt1pw","stage":"live"}}}"#,
            r#"{"timestamp":"2025-10-14T14:05:09.690Z","level":"INFO","message":"policy","logger":"root","requestId":"60cd47f8-008d-4c59-9bf1-66ae535ca246","principalId":"usr_9","policyDocument":{"Statement":[{"Effect":"Deny"}]}}"#,
        ]);
        assert_eq!(
            inv.logged_request_id.as_deref(),
            Some("c1d4f94e-a50e-42b3-8b32-945ded941995")
        );
        assert_eq!(inv.logged_stage.as_deref(), Some("live"));
        assert_eq!(inv.decision, Some(Decision::Deny));
        assert_eq!(inv.principal_id.as_deref(), Some("usr_9"));
        assert_no_token(&inv);
    }

    #[test]
    fn json_error_records() {
        // Node: the runtime's `Invoke Error` with the error at top level.
        let inv = one(&[
            r#"{"timestamp":"2025-10-14T14:13:25.634Z","level":"ERROR","requestId":"4ec5b0ef-2c05-446e-8787-3fbc122bf277","message":"Invoke Error","errorType":"TypeError","errorMessage":"Cannot read properties of undefined (reading 'split')","stackTrace":["TypeError: Cannot read properties of undefined (reading 'split')"]}"#,
            r#"{"time":"2025-10-14T14:13:25.636Z","type":"platform.report","record":{"requestId":"4ec5b0ef-2c05-446e-8787-3fbc122bf277","metrics":{"durationMs":11.63,"billedDurationMs":12,"memorySizeMB":256,"maxMemoryUsedMB":82},"status":"error","errorType":"TypeError"}}"#,
        ]);
        assert_eq!(inv.decision, Some(Decision::Error));
        assert_eq!(inv.error_type.as_deref(), Some("TypeError"));
        // Error inside `message`.
        let inv = one(&[
            r#"{"timestamp":"2025-10-14T14:13:25.634Z","level":"ERROR","requestId":"4ec5b0ef-2c05-446e-8787-3fbc122bf277","message":{"errorType":"Error","errorMessage":"Unauthorized","stackTrace":[]}}"#,
        ]);
        assert_eq!(inv.decision, Some(Decision::Unauthorized));
        // Python runtime: no message, `log_level`, spaces after separators.
        let inv = one(&[
            r#"{"timestamp": "2025-10-14T14:13:25Z", "log_level": "ERROR", "errorMessage": "Unauthorized", "errorType": "Exception", "requestId": "4ec5b0ef-2c05-446e-8787-3fbc122bf277", "stackTrace": ["  File \"/var/task/app.py\", line 9, in handler\n"]}"#,
        ]);
        assert_eq!(inv.decision, Some(Decision::Unauthorized));
        assert_eq!(inv.error_type.as_deref(), Some("Exception"));
        assert_eq!(inv.start_time_ms, Some(at(14, 13, 25, 0)));
        // A handled error logged by the app with other text is not a failure.
        let inv = one(&[
            r#"{"timestamp":"2025-10-14T14:13:25.634Z","level":"ERROR","message":"jwks fetch failed, using cache","logger":"root","requestId":"4ec5b0ef-2c05-446e-8787-3fbc122bf277","errorType":"URLError","errorMessage":"timed out"}"#,
        ]);
        assert_eq!(inv.decision, None);
        assert_eq!(inv.error_type, None);
    }

    #[test]
    fn json_report_timeout_and_runtime_done() {
        let inv = one(&[
            r#"{"time":"2025-10-14T14:13:28.636Z","type":"platform.runtimeDone","record":{"requestId":"4ec5b0ef-2c05-446e-8787-3fbc122bf277","status":"timeout","metrics":{"durationMs":3000.1}}}"#,
            r#"{"time":"2025-10-14T14:13:28.637Z","type":"platform.report","record":{"requestId":"4ec5b0ef-2c05-446e-8787-3fbc122bf277","metrics":{"durationMs":3000.5,"billedDurationMs":3000,"memorySizeMB":128,"maxMemoryUsedMB":70},"status":"timeout"}}"#,
        ]);
        assert_eq!(inv.decision, Some(Decision::Timeout));
        assert_eq!(inv.error_type.as_deref(), Some("Task timed out"));
        assert_eq!(
            inv.duration_ms,
            Some(3000.5),
            "runtimeDone duration is not the REPORT's"
        );
    }

    // ----- streams, merging -----------------------------------------------------------------

    #[test]
    fn interleaved_streams_keep_their_open_invocations() {
        let mut log = AuthorizerLog::new();
        let a = "2025/10/14/[$LATEST]aaaa";
        let b = "2025/10/14/[$LATEST]bbbb";
        let feed = [
            (
                a,
                "START RequestId: aaaaaaaa-0000-4000-8000-000000000001 Version: $LATEST",
            ),
            (
                b,
                "START RequestId: bbbbbbbb-0000-4000-8000-000000000002 Version: $LATEST",
            ),
            (a, "{'Effect': 'Allow'}"),
            (b, "{'Effect': 'Deny'}"),
            (a, "END RequestId: aaaaaaaa-0000-4000-8000-000000000001"),
            (b, "END RequestId: bbbbbbbb-0000-4000-8000-000000000002"),
        ];
        for (i, (stream, m)) in feed.iter().enumerate() {
            let mut e = ev(m, i as u64 + 1);
            e.log_stream = Some(stream);
            log.push(&e, Some("f"));
        }
        let v = log.finish();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].decision, Some(Decision::Allow));
        assert_eq!(v[0].log_stream.as_deref(), Some(a));
        assert_eq!(v[1].decision, Some(Decision::Deny));
        assert_eq!(v[1].log_stream.as_deref(), Some(b));
    }

    #[test]
    fn same_invocations_from_two_inputs_merge() {
        let text = std::fs::read_to_string(TOKEN_TEXT).expect("fixture");
        let mut log = AuthorizerLog::new();
        for file in [3u32, 1] {
            for (i, l) in text.lines().enumerate() {
                let mut e = ev(l, i as u64 + 1);
                e.origin.file = file;
                log.push(&e, Some(TOKEN_FN));
            }
        }
        let v = log.finish();
        assert_eq!(v.len(), 5);
        assert!(v.iter().all(|i| i.origin.file == 1));
        assert_eq!(by_id(&v, "eddbda3a").decision, Some(Decision::Unauthorized));
    }

    // ----- the sample files (EXPECTED.md §4) -----------------------------------------------

    /// id prefix, START (h, m, s, ms), cold, duration, decision, logged request id.
    type Row = (
        &'static str,
        (i64, i64, i64, i64),
        bool,
        f64,
        Decision,
        Option<&'static str>,
    );

    const REQUEST_ROWS: [Row; 7] = [
        (
            "60cd47f8-008d-4c59-9bf1-66ae535ca246",
            (14, 5, 9, 652),
            true,
            43.09,
            Decision::Allow,
            Some("c1d4f94e-a50e-42b3-8b32-945ded941995"),
        ),
        (
            "ce039721-550a-4772-925e-eaffe1a11aea",
            (14, 8, 2, 469),
            false,
            14.74,
            Decision::Deny,
            Some("3e63d9a0-0376-4989-ad1b-e7156c9bf3e7"),
        ),
        (
            "8d192761-38f8-4fcb-bc11-e941217ef79e",
            (14, 10, 5, 136),
            false,
            17.24,
            Decision::Allow,
            Some("def852b4-89ca-4b29-9468-e3dc2b436168"),
        ),
        (
            "e6dc37d8-934b-4c57-b267-d53389bfc281",
            (14, 10, 26, 953),
            false,
            9.94,
            Decision::Allow,
            Some("66c309dd-6c8f-46bd-885d-05eda49789ba"),
        ),
        (
            "4ec5b0ef-2c05-446e-8787-3fbc122bf277",
            (14, 13, 25, 624),
            false,
            11.63,
            Decision::Error,
            Some("b1042c08-f334-4bc5-adad-0fc8cc5c3120"),
        ),
        (
            "6b0e696c-dc23-42bd-933d-a0448928e48e",
            (14, 15, 20, 733),
            false,
            14.09,
            Decision::Allow,
            Some("a78e9e24-c0c6-4725-887d-c9b489018147"),
        ),
        (
            "b693658f-6205-4b8e-90d8-d623ae5569d6",
            (14, 18, 30, 679),
            false,
            17.31,
            Decision::Allow,
            Some("83c27810-cc0e-4072-b491-3b7e7ad3b8c7"),
        ),
    ];

    const TOKEN_ROWS: [Row; 5] = [
        (
            "b031d9da-0548-45d3-bf41-21d255e09fee",
            (14, 6, 20, 276),
            true,
            112.50,
            Decision::Allow,
            None,
        ),
        (
            "eddbda3a-659a-4cde-9d8f-1dd060344159",
            (14, 11, 52, 786),
            false,
            5.89,
            Decision::Unauthorized,
            None,
        ),
        (
            "f2f96ef2-8fec-408b-96d9-15192665f3dd",
            (14, 14, 57, 420),
            false,
            5.90,
            Decision::Allow,
            None,
        ),
        (
            "fe2a0483-0de7-4ffb-8f36-face5c6aec0f",
            (14, 15, 44, 128),
            false,
            7.83,
            Decision::Allow,
            None,
        ),
        (
            "d306db2f-7664-4e0f-9a44-8651cb2ee41a",
            (14, 21, 15, 465),
            false,
            6.33,
            Decision::Allow,
            None,
        ),
    ];

    /// Checks invocations against rows. `start_exact`: START time known (JSON format); else the
    /// first application line, a few ms after START.
    fn check(invs: &[Invocation], rows: &[Row], fname: &str, start_exact: bool) {
        let mut ids: Vec<&str> = rows.iter().map(|r| r.0).collect();
        ids.sort_unstable();
        let got: Vec<&str> = invs.iter().map(|i| i.lambda_request_id.as_str()).collect();
        assert_eq!(got, ids, "ids, sorted");
        for &(id, (h, m, s, ms), cold, dur, decision, logged) in rows {
            let inv = by_id(invs, id);
            assert_eq!(inv.function_name.as_deref(), Some(fname), "{id}");
            assert_eq!(inv.init_duration_ms.is_some(), cold, "{id} cold start");
            assert_eq!(inv.duration_ms, Some(dur), "{id} duration");
            assert_eq!(inv.decision, Some(decision), "{id} decision");
            assert_eq!(
                inv.logged_request_id.as_deref(),
                logged,
                "{id} logged request id"
            );
            assert!(
                inv.memory_size_mb.is_some() && inv.max_memory_used_mb.is_some(),
                "{id}"
            );
            assert!(inv.billed_duration_ms.is_some(), "{id}");
            let start = inv.start_time_ms.expect("start time");
            if start_exact {
                assert_eq!(start, at(h, m, s, ms), "{id} start");
            } else {
                let delta = start - at(h, m, s, ms);
                // Bare lines carry no START time: the first application line, which follows
                // START by a few ms (by the init time on a cold start).
                assert!((0..=200).contains(&delta), "{id} start off by {delta} ms");
            }
            if logged.is_some() {
                assert_eq!(inv.logged_api_id.as_deref(), Some("k3vq8zt1pw"), "{id}");
                assert_eq!(inv.logged_stage.as_deref(), Some("live"), "{id}");
            } else {
                assert_eq!(inv.logged_api_id, None, "{id}");
            }
            assert!(
                inv.method_arn.as_deref().is_some_and(|a| a
                    .starts_with("arn:aws:execute-api:us-east-2:210987654321:k3vq8zt1pw/live/")),
                "{id} methodArn {:?}",
                inv.method_arn
            );
            assert_no_token(inv);
        }
    }

    fn assert_no_token(inv: &Invocation) {
        let dump = format!("{inv:?}");
        for secret in ["Bearer", "Authorization", "eyJ", "headers", "redacted"] {
            assert!(!dump.contains(secret), "{secret} kept in {dump}");
        }
    }

    #[test]
    fn sample_request_authorizer_text() {
        let invs = run_file(REQ_TEXT, 0, REQ_FN);
        assert_eq!(invs.len(), 7);
        check(&invs, &REQUEST_ROWS, REQ_FN, false);
        let first = by_id(&invs, "60cd47f8");
        assert_eq!(
            first.start_time_ms,
            Some(at(14, 5, 9, 655)),
            "first app line"
        );
        assert_eq!(first.origin.line, 2);
        assert_eq!(first.principal_id.as_deref(), Some("merchant:m_4471"));
        assert_eq!(first.billed_duration_ms, Some(273.0));
        assert_eq!(first.init_duration_ms, Some(229.90));
        let crash = by_id(&invs, "4ec5b0ef");
        assert_eq!(crash.error_type.as_deref(), Some("TypeError"));
        assert_eq!(
            crash.error_message.as_deref(),
            Some("Cannot read properties of undefined (reading 'split')")
        );
        assert_eq!(crash.principal_id, None);
        let deny = by_id(&invs, "ce039721");
        assert_eq!(deny.principal_id.as_deref(), Some("merchant:m_2280"));
        assert_eq!(deny.error_type, None);
    }

    #[test]
    fn sample_token_authorizer_text() {
        let invs = run_file(TOKEN_TEXT, 1, TOKEN_FN);
        assert_eq!(invs.len(), 5);
        check(&invs, &TOKEN_ROWS, TOKEN_FN, false);
        let unauth = by_id(&invs, "eddbda3a");
        assert_eq!(unauth.error_type.as_deref(), Some("Error"));
        assert_eq!(unauth.error_message.as_deref(), Some("Unauthorized"));
        assert_eq!(unauth.principal_id, None);
        assert_eq!(
            by_id(&invs, "b031d9da").principal_id.as_deref(),
            Some("usr_5DkQ2v")
        );
        assert_eq!(by_id(&invs, "b031d9da").init_duration_ms, Some(223.81));
    }

    #[test]
    fn sample_request_authorizer_json_format() {
        let invs = run_file(REQ_JSON, 2, REQ_FN);
        assert_eq!(invs.len(), 7);
        check(&invs, &REQUEST_ROWS, REQ_FN, true);
        let crash = by_id(&invs, "4ec5b0ef");
        assert_eq!(crash.error_type.as_deref(), Some("TypeError"));
        assert_eq!(
            crash.error_message.as_deref(),
            Some("Cannot read properties of undefined (reading 'split')")
        );
        // Same answers as the text format, apart from start time and origin.
        let text = run_file(REQ_TEXT, 0, REQ_FN);
        for (j, t) in invs.iter().zip(&text) {
            let strip = |i: &Invocation| Invocation {
                start_time_ms: None,
                origin: Origin::default(),
                ..i.clone()
            };
            assert_eq!(strip(j), strip(t));
        }
    }

    #[test]
    fn sample_lines_are_all_recognised() {
        for path in [REQ_TEXT, TOKEN_TEXT, REQ_JSON] {
            let text = std::fs::read_to_string(path).expect("fixture");
            let mut log = AuthorizerLog::new();
            for (i, l) in text.lines().enumerate() {
                assert!(looks_like_lambda(l), "{path}:{}", i + 1);
                let kind = log.push(&ev(l, i as u64 + 1), None);
                assert_ne!(kind, LambdaLine::Other, "{path}:{}", i + 1);
            }
        }
    }

    // ----- robustness -----------------------------------------------------------------------

    /// Small deterministic generator (xorshift64*), no extra crates.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut samples: Vec<String> = Vec::new();
        for path in [REQ_TEXT, TOKEN_TEXT, REQ_JSON] {
            let text = std::fs::read_to_string(path).expect("fixture");
            samples.extend(text.lines().map(str::to_owned));
        }
        samples.extend(
            [
                "START RequestId: ",
                "START RequestId:  Version:",
                "REPORT RequestId: x\tDuration: NaN ms\tMemory Size: 99999999999999 MB\tDuration: ",
                "REPORT RequestId: x\tDuration: inf ms\tBilled Duration: -1e400 ms",
                "END RequestId: \u{0}",
                "[ERROR] ",
                "[",
                "[INFO]\t",
                "[INFO]\t2025-10-14T14:05:09.655Z\t",
                "2025-10-14T14:05:09.655Z\t",
                "2025-10-14T14:05:09.655Z\tundefined\t",
                "2025-10-14T14:05:09.655Z\tundefined\tINFO",
                "{",
                "{\"time\"",
                "{\"time\":\"x\",\"type\":\"platform.start\",\"record\":[]}",
                "{\"time\":\"x\",\"type\":\"platform.report\",\"record\":{\"requestId\":7}}",
                "{\"timestamp\":1,\"level\":2,\"requestId\":3,\"message\":4}",
                "{\"timestamp\":\"\",\"level\":\"ERROR\",\"requestId\":\"\",\"errorMessage\":{}}",
                "requestContext: { requestId: ",
                "requestContext='",
                "effect=\\\"",
                "\\\"effect\\\":\\\"Deny",
                "decision=",
                "isAuthorized:",
                "Invoke Error \t{",
                "Task timed out after ",
                "é\tü\t\u{1f600}\t[ERROR] \u{7f}",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        const PUNCT: &[u8] = b"\t\n\r \"'\\{}[]:=,0T-Z\x00\xff";
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut log = AuthorizerLog::new();
        let mut n = 0u64;
        for s in &samples {
            // Every prefix cut on a char boundary, and random byte mutations.
            let cuts: Vec<usize> = (0..=s.len()).filter(|&i| s.is_char_boundary(i)).collect();
            for &cut in cuts.iter().step_by(1 + s.len() / 200) {
                n += 1;
                let m = &s[..cut];
                looks_like_lambda(m);
                log.push(&ev(m, n), Some("f"));
            }
            for _ in 0..20 {
                let mut bytes = s.clone().into_bytes();
                for _ in 0..4 {
                    if bytes.is_empty() {
                        break;
                    }
                    let i = (rng.next() % bytes.len() as u64) as usize;
                    bytes[i] = PUNCT[(rng.next() % PUNCT.len() as u64) as usize];
                }
                let m = String::from_utf8_lossy(&bytes);
                n += 1;
                looks_like_lambda(&m);
                log.push(&ev(&m, n), None);
            }
        }
        for _ in 0..2000 {
            let len = (rng.next() % 300) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| (rng.next() % 256) as u8).collect();
            let m = String::from_utf8_lossy(&bytes);
            n += 1;
            looks_like_lambda(&m);
            log.push(&ev(&m, n), None);
        }
        let invs = log.finish();
        assert!(invs
            .windows(2)
            .all(|w| w[0].lambda_request_id < w[1].lambda_request_id));
        assert!(invs.iter().all(|i| i
            .error_message
            .as_ref()
            .is_none_or(|m| m.chars().count() <= 500)));
    }

    #[test]
    fn key_value_scanner_quotings() {
        let texts = [
            r#"{"requestId": "a1"}"#,
            "{'requestId': 'a1'}",
            "{ requestId: 'a1' }",
            "requestId=a1 next=2",
            r#"{\"requestId\":\"a1\"}"#,
        ];
        for t in texts {
            assert_eq!(first_value(t, "requestId", valid_id), Some("a1"), "{t}");
        }
        assert_eq!(first_value("xrequestId=a1", "requestId", valid_id), None);
        assert_eq!(first_value("requestIdx=a1", "requestId", valid_id), None);
        assert_eq!(first_value("requestId", "requestId", valid_id), None);
        assert_eq!(first_value("requestId=", "requestId", valid_id), None);
        assert_eq!(
            first_value(
                r#""m":"say \"hi\"","requestId":"a1""#,
                "requestId",
                valid_id
            ),
            Some("a1")
        );
        assert_eq!(find_decision("decision=deny"), Some(Decision::Deny));
        assert_eq!(find_decision("'isAuthorized': True"), Some(Decision::Allow));
        assert_eq!(
            find_decision("decision {\"effect\":\"Allow\"}"),
            Some(Decision::Allow)
        );
        assert_eq!(find_decision("sideEffect=Deny the effects"), None);
        assert_eq!(find_decision("effect: 'Maybe'"), None);
    }

    /// `n` invocations one a second (START, a Node.js decision line, END, REPORT), with
    /// their log times.
    fn long_log(n: usize) -> Vec<(String, i64)> {
        let t0 = 1_760_450_000_000i64;
        let mut lines = Vec::new();
        for k in 0..n {
            let id = format!("{k:08x}-0000-4000-8000-000000000000");
            let t = t0 + k as i64 * 1_000;
            let iso = crate::time::rfc3339_ms(t);
            lines.push((format!("START RequestId: {id} Version: $LATEST"), t));
            lines.push((
                format!("{iso}\t{id}\tINFO\t{{\"principalId\":\"u{k}\",\"policyDocument\":{{\"Statement\":[{{\"Effect\":\"Deny\"}}]}}}}"),
                t + 3,
            ));
            lines.push((format!("END RequestId: {id}"), t + 9));
            lines.push((
                format!("REPORT RequestId: {id}\tDuration: 8.50 ms\tBilled Duration: 9 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB"),
                t + 9,
            ));
        }
        lines
    }

    #[test]
    fn a_long_log_hands_over_the_invocations_it_has_moved_past_whole() {
        // With the events' log times (CloudWatch containers) and without (a bare text log,
        // where only the application lines state a time).
        for with_log_time in [true, false] {
            hands_over_whole(with_log_time);
        }
    }

    fn hands_over_whole(with_log_time: bool) {
        // Eleven hours of invocations: the log never holds much more than an hour of them.
        let n = 40_000;
        let lines = long_log(n);
        let mut log = AuthorizerLog::new();
        let mut out = Vec::new();
        let mut done = Vec::new();
        let mut most_held = 0;
        for (i, (msg, t)) in lines.iter().enumerate() {
            let mut e = ev(msg, i as u64 + 1);
            e.log_time_ms = with_log_time.then_some(*t);
            log.push(&e, Some(REQ_FN));
            log.take_done_into(&mut done);
            out.append(&mut done);
            most_held = most_held.max(stored(&log.invs));
        }
        assert!(out.len() > n / 2, "{} handed over while reading", out.len());
        assert!(most_held <= 2 * CHUNK, "{most_held} held at most");
        log.finish_each(|v| out.push(v));
        assert_eq!(out.len(), n);
        for (k, v) in out.iter().enumerate() {
            // In the order first seen, each whole.
            assert_eq!(
                v.lambda_request_id,
                format!("{k:08x}-0000-4000-8000-000000000000")
            );
            assert_eq!(v.principal_id.as_deref(), Some(format!("u{k}").as_str()));
            assert_eq!(v.decision, Some(Decision::Deny));
            assert_eq!(v.duration_ms, Some(8.5));
            // START's log time, else the time the application line states (the same here).
            assert_eq!(v.start_time_ms, Some(1_760_450_000_000 + k as i64 * 1_000));
        }
    }

    #[test]
    fn a_line_after_its_invocation_was_handed_over_starts_a_part() {
        let n = 20_000;
        let mut lines = long_log(n);
        // The first invocation's timeout line, three hours late.
        let (_, t_end) = lines[lines.len() - 1];
        lines.push((
            format!(
                "{} 00000000-0000-4000-8000-000000000000 Task timed out after 3.00 seconds",
                crate::time::rfc3339_ms(t_end)
            ),
            t_end,
        ));
        let mut log = AuthorizerLog::new();
        for (i, (msg, t)) in lines.iter().enumerate() {
            let mut e = ev(msg, i as u64 + 1);
            e.log_time_ms = Some(*t);
            log.push(&e, Some(REQ_FN));
        }
        let parts = log.finish();
        assert_eq!(parts.len(), n + 1);
        let first: Vec<&Invocation> = parts
            .iter()
            .filter(|v| v.lambda_request_id.starts_with("00000000-"))
            .collect();
        assert_eq!(first.len(), 2);
        assert_eq!(first[0].decision, Some(Decision::Deny));
        assert_eq!(first[1].decision, Some(Decision::Timeout));
        // The run merges the parts (the same file: not a duplicate).
        let out = crate::join::join(Vec::new(), parts, Vec::new());
        assert_eq!(out.invocations.len(), n);
        assert_eq!(out.duplicate_invocations, 0);
        let merged = &out.invocations[0];
        assert_eq!(merged.decision, Some(Decision::Timeout));
        assert_eq!(merged.duration_ms, Some(8.5));
    }
}

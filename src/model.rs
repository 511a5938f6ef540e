//! Plain data shared by the stages: where a line came from, the framed CloudWatch event, the
//! typed records parsers produce, and the rows the sinks write. No I/O and no parsing here.

use std::fmt;
use std::sync::Arc;

/// Where a piece of input came from: the input file (index into the run's file list), the
/// 1-based physical line (or record number for containers without lines) and the byte offset
/// in the decompressed stream.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Origin {
    /// Index of the input file in the run's sorted file list.
    pub file: u32,
    /// 1-based line number (record number for line-less containers).
    pub line: u64,
    /// Byte offset in the decompressed input.
    pub offset: u64,
}

/// One CloudWatch Logs event as a container yields it.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// CloudWatch event time, epoch milliseconds, when the container carries it.
    pub log_time_ms: Option<i64>,
    /// Log group, when the container carries it (Firehose, Insights, some paths).
    pub log_group: Option<&'a str>,
    /// Log stream, when the container carries it.
    pub log_stream: Option<&'a str>,
    /// CloudWatch event id, when the container carries it.
    pub event_id: Option<&'a str>,
    /// The message itself, without the trailing newline.
    pub message: &'a str,
    /// Where the event starts in the input.
    pub origin: Origin,
}

/// Which log an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogKind {
    /// The stage's access log.
    Access,
    /// A Lambda authorizer's function log.
    Authorizer,
    /// The stage's execution log.
    Execution,
}

impl LogKind {
    /// Name used in `sources`, reports and `--kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Access => "access",
            LogKind::Authorizer => "authorizer",
            LogKind::Execution => "execution",
        }
    }
}

/// Why a line could not be used. Stable snake_case names appear in `rejects.ndjson` and the
/// summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// A line longer than the line limit.
    LineTooLong,
    /// JSON that does not parse.
    MalformedJson,
    /// An access record without a request id.
    MissingRequestId,
    /// A line that does not fit the access-log layout.
    AccessLayoutMismatch,
    /// The container around the events is damaged (bad CLI JSON, missing timestamp prefix).
    MalformedContainer,
    /// A gzip stream that ends early or is corrupt.
    CorruptGzip,
    /// A file that is not text.
    BinaryFile,
    /// A file that could not be read.
    Unreadable,
}

impl RejectReason {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::InvalidUtf8 => "invalid_utf8",
            RejectReason::LineTooLong => "line_too_long",
            RejectReason::MalformedJson => "malformed_json",
            RejectReason::MissingRequestId => "missing_request_id",
            RejectReason::AccessLayoutMismatch => "access_layout_mismatch",
            RejectReason::MalformedContainer => "malformed_container",
            RejectReason::CorruptGzip => "corrupt_gzip",
            RejectReason::BinaryFile => "binary_file",
            RejectReason::Unreadable => "unreadable",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One unusable line or file, as written to `rejects.ndjson`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// Where it was.
    pub origin: Origin,
    /// Why it was rejected.
    pub reason: RejectReason,
    /// A sentence saying what was wrong and what to do.
    pub detail: String,
    /// A bounded, redacted excerpt of the offending bytes (lossy UTF-8).
    pub excerpt: String,
}

/// Maximum excerpt length kept in a reject, in bytes.
pub const EXCERPT_BYTES: usize = 240;

/// A bounded, lossy excerpt of raw bytes for a reject.
pub fn excerpt(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(EXCERPT_BYTES)];
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if bytes.len() > EXCERPT_BYTES {
        s.push('…');
    }
    s
}

/// A Lambda authorizer's decision as its log shows it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Decision {
    /// A policy with `Effect: Allow` (or `isAuthorized: true`).
    Allow,
    /// A policy with `Effect: Deny` (or `isAuthorized: false`).
    Deny,
    /// The function failed with exactly `Unauthorized`.
    Unauthorized,
    /// The function failed with any other error.
    Error,
    /// The invocation timed out.
    Timeout,
}

impl Decision {
    /// Stable lowercase name used in Parquet and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::Unauthorized => "unauthorized",
            Decision::Error => "error",
            Decision::Timeout => "timeout",
        }
    }
}

/// How an authorizer invocation was tied to its request, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatchMethod {
    /// `$context.authorizer.requestId` in the access record.
    AuthorizerRequestId,
    /// `requestContext.requestId` in an event the function logged.
    LoggedRequestContext,
    /// The execution log's `x-amzn-lambda-integration-tag` line.
    ExecutionIntegrationTag,
    /// Same route and time, one to one.
    InferredTimeRoute,
    /// Several requests fit; not used.
    Ambiguous,
}

impl MatchMethod {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchMethod::AuthorizerRequestId => "authorizer_request_id",
            MatchMethod::LoggedRequestContext => "logged_request_context",
            MatchMethod::ExecutionIntegrationTag => "execution_integration_tag",
            MatchMethod::InferredTimeRoute => "inferred_time_route",
            MatchMethod::Ambiguous => "ambiguous",
        }
    }

    /// Whether the link is exact (not inferred).
    pub fn is_exact(self) -> bool {
        matches!(
            self,
            MatchMethod::AuthorizerRequestId
                | MatchMethod::LoggedRequestContext
                | MatchMethod::ExecutionIntegrationTag
        )
    }
}

/// One Lambda authorizer invocation, assembled from its START / END / REPORT and
/// application lines (text format) or `platform.*` and application records (JSON format).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Invocation {
    /// The Lambda request id (START/END/REPORT `RequestId`).
    pub lambda_request_id: String,
    /// Function name from `/aws/lambda/NAME`, when the export route carries the log group.
    pub function_name: Option<Arc<str>>,
    /// Log stream, when the export route carries it.
    pub log_stream: Option<Arc<str>>,
    /// Start of the invocation (START event time, else the first application line), epoch ms.
    pub start_time_ms: Option<i64>,
    /// REPORT `Duration`.
    pub duration_ms: Option<f64>,
    /// REPORT `Billed Duration`.
    pub billed_duration_ms: Option<f64>,
    /// REPORT `Memory Size`.
    pub memory_size_mb: Option<i32>,
    /// REPORT `Max Memory Used`.
    pub max_memory_used_mb: Option<i32>,
    /// REPORT `Init Duration` (cold start).
    pub init_duration_ms: Option<f64>,
    /// The decision, where the function logged it or failed.
    pub decision: Option<Decision>,
    /// `principalId` of the returned policy, when logged.
    pub principal_id: Option<Arc<str>>,
    /// The `methodArn` the function was called with, when logged.
    pub method_arn: Option<String>,
    /// Error type (`TypeError`, `Runtime.ExitError`, `Task timed out`, …).
    pub error_type: Option<Arc<str>>,
    /// Error message.
    pub error_message: Option<String>,
    /// `requestContext.requestId` of an event the function logged: the API Gateway request id.
    pub logged_request_id: Option<String>,
    /// `requestContext.apiId` of a logged event.
    pub logged_api_id: Option<Arc<str>>,
    /// `requestContext.stage` of a logged event.
    pub logged_stage: Option<Arc<str>>,
    /// First line of the invocation seen in the input.
    pub origin: Origin,
}

/// Items of a run (authorizer invocations, their heads) kept in the chunks they were
/// assembled in (never copied into one array, which would hold them twice while it is
/// filled), and read by index like a slice.
#[derive(Debug)]
pub struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    /// Index of each chunk's first item.
    starts: Vec<usize>,
    len: usize,
}

/// The invocations of a run, in chunks.
pub type Invocations = Chunked<Invocation>;

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            chunks: Vec::new(),
            starts: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunked<T> {
    /// The items of `chunks`, one after another (empty chunks are dropped).
    pub fn from_chunks(chunks: Vec<Vec<T>>) -> Self {
        let mut out = Chunked::default();
        for c in chunks.into_iter().filter(|c| !c.is_empty()) {
            out.starts.push(out.len);
            out.len += c.len();
            out.chunks.push(c);
        }
        out
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The items in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.chunks.iter().flatten()
    }

    /// Keeps the items `keep` says yes to, in order, in place.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let chunks = std::mem::take(&mut self.chunks);
        *self = Chunked::from_chunks(
            chunks
                .into_iter()
                .map(|mut c| {
                    c.retain(&mut keep);
                    c
                })
                .collect(),
        );
    }

    /// Each item made into another, a chunk at a time: each chunk is freed as its
    /// replacement is made, so the two are never both held whole.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Chunked<U> {
        Chunked::from_chunks(
            self.chunks
                .into_iter()
                .map(|c| c.into_iter().map(&mut f).collect())
                .collect(),
        )
    }

    fn locate(&self, i: usize) -> (usize, usize) {
        assert!(i < self.len, "item {i} of {}", self.len);
        let c = self.starts.partition_point(|&s| s <= i) - 1;
        (c, i - self.starts[c])
    }
}

impl<T> From<Vec<T>> for Chunked<T> {
    fn from(v: Vec<T>) -> Self {
        Chunked::from_chunks(vec![v])
    }
}

impl<T> std::ops::Index<usize> for Chunked<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        let (c, k) = self.locate(i);
        &self.chunks[c][k]
    }
}

impl<T> std::ops::IndexMut<usize> for Chunked<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        let (c, k) = self.locate(i);
        &mut self.chunks[c][k]
    }
}

impl Invocation {
    /// Fills every field `self` lacks from `other` (the same invocation seen in another line,
    /// file or export route). The smaller origin wins, so the result does not depend on order.
    pub fn merge(&mut self, other: Invocation) {
        fn fill<T>(a: &mut Option<T>, b: Option<T>) {
            if a.is_none() {
                *a = b;
            }
        }
        fill(&mut self.function_name, other.function_name);
        fill(&mut self.log_stream, other.log_stream);
        self.start_time_ms = match (self.start_time_ms, other.start_time_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        fill(&mut self.duration_ms, other.duration_ms);
        fill(&mut self.billed_duration_ms, other.billed_duration_ms);
        fill(&mut self.memory_size_mb, other.memory_size_mb);
        fill(&mut self.max_memory_used_mb, other.max_memory_used_mb);
        fill(&mut self.init_duration_ms, other.init_duration_ms);
        self.decision = match (self.decision, other.decision) {
            // A failure outranks a logged intent: the function said Allow, then crashed.
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        fill(&mut self.principal_id, other.principal_id);
        fill(&mut self.method_arn, other.method_arn);
        fill(&mut self.error_type, other.error_type);
        fill(&mut self.error_message, other.error_message);
        fill(&mut self.logged_request_id, other.logged_request_id);
        fill(&mut self.logged_api_id, other.logged_api_id);
        fill(&mut self.logged_stage, other.logged_stage);
        self.origin = self.origin.min(other.origin);
    }
}

/// Is `s` a canonical lowercase or uppercase UUID (8-4-4-4-12 hex)?
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invocations_in_chunks_read_like_one_slice() {
        let inv = |id: &str| Invocation {
            lambda_request_id: id.into(),
            ..Default::default()
        };
        let mut v = Invocations::from_chunks(vec![
            vec![inv("a"), inv("b")],
            Vec::new(),
            vec![inv("c")],
            vec![inv("d"), inv("e"), inv("f")],
        ]);
        assert_eq!(v.len(), 6);
        let ids = |v: &Invocations| -> String {
            (0..v.len())
                .map(|i| v[i].lambda_request_id.clone())
                .collect()
        };
        assert_eq!(ids(&v), "abcdef");
        assert_eq!(
            v.iter()
                .map(|i| i.lambda_request_id.as_str())
                .collect::<String>(),
            "abcdef"
        );
        let m = Chunked::from_chunks(vec![vec![1, 2], vec![3]]).map(|x| x * 10);
        assert_eq!(m.iter().copied().collect::<Vec<_>>(), [10, 20, 30]);
        v[3].principal_id = Some("p".into());
        v.retain(|i| !matches!(i.lambda_request_id.as_str(), "b" | "c" | "f"));
        assert_eq!(ids(&v), "ade");
        assert_eq!(v[1].principal_id.as_deref(), Some("p"));
        assert!(
            std::panic::catch_unwind(|| v[3].origin).is_err(),
            "past the end"
        );
    }

    #[test]
    fn uuid_shape() {
        assert!(is_uuid("04ec2dfa-a7fe-4e93-a3db-cb3cebac38bc"));
        assert!(!is_uuid("UUID_REPLACED_INVALID_REQUEST_ID"));
        assert!(!is_uuid("04ec2dfa-a7fe-4e93-a3db-cb3cebac38b"));
    }

    #[test]
    fn merge_keeps_smallest_origin_and_worst_decision() {
        let mut a = Invocation {
            lambda_request_id: "x".into(),
            decision: Some(Decision::Allow),
            origin: Origin {
                file: 1,
                line: 5,
                offset: 0,
            },
            ..Default::default()
        };
        let b = Invocation {
            lambda_request_id: "x".into(),
            decision: Some(Decision::Error),
            duration_ms: Some(3.0),
            origin: Origin {
                file: 0,
                line: 9,
                offset: 0,
            },
            ..Default::default()
        };
        a.merge(b);
        assert_eq!(a.decision, Some(Decision::Error));
        assert_eq!(a.duration_ms, Some(3.0));
        assert_eq!(a.origin.file, 0);
    }
}

/// A key/value pair list kept in a stable order (Parquet `map<string,string>`).
pub type Pairs = Vec<(String, String)>;

/// Text of a [`RequestRow`]: borrowed from the joined record (or invocation) it was read from,
/// owned where gatelog made it (a redacted message, a composed error).
pub type Text<'a> = std::borrow::Cow<'a, str>;

/// Separates the variable names of [`RequestRow::access_vars`]; no `$context` variable name
/// holds it (`records::vars` tests that), so `split(access_vars, ',')` gives them back.
pub const ACCESS_VARS_SEPARATOR: &str = ",";

/// One row of the `requests` table: a request with everything joined to it and its
/// classification. Column order and types are documented in README.md ("Output columns").
///
/// The row borrows its text from the joined request it describes, which outlives it while the
/// row is tallied and written: building a row copies no value of the record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestRow<'a> {
    /// `$context.requestId`.
    pub request_id: Text<'a>,
    /// `$context.extendedRequestId`.
    pub extended_request_id: Option<Text<'a>>,
    /// `$context.apiId` (from the record, the log group or a logged event).
    pub api_id: Option<Text<'a>>,
    /// `$context.stage`.
    pub stage: Option<Text<'a>>,
    /// Request time, epoch ms (`requestTimeEpoch`, else `requestTime` at second precision).
    pub request_time_ms: Option<i64>,
    /// `ms` or `s`: which of the two gave `request_time`.
    pub request_time_precision: Option<&'static str>,
    /// The CloudWatch event time of the access record, epoch ms.
    pub log_time_ms: Option<i64>,
    /// `$context.domainName`.
    pub domain_name: Option<Text<'a>>,
    /// `$context.httpMethod`.
    pub http_method: Option<Text<'a>>,
    /// `$context.resourcePath` (the template).
    pub resource_path: Option<Text<'a>>,
    /// `$context.path` (the actual path, with the stage).
    pub path: Option<Text<'a>>,
    /// `$context.routeKey` (HTTP APIs).
    pub route_key: Option<Text<'a>>,
    /// `$context.protocol`.
    pub protocol: Option<Text<'a>>,
    /// `$context.status`.
    pub status: Option<i32>,
    /// `$context.responseLength`.
    pub response_length: Option<i64>,
    /// `$context.identity.sourceIp`.
    pub source_ip: Option<Text<'a>>,
    /// `$context.identity.caller`.
    pub identity_caller: Option<Text<'a>>,
    /// `$context.identity.user`.
    pub identity_user: Option<Text<'a>>,
    /// `$context.identity.userArn`.
    pub identity_user_arn: Option<Text<'a>>,
    /// `$context.identity.apiKeyId` (never the key itself).
    pub api_key_id: Option<Text<'a>>,
    /// `$context.identity.userAgent`.
    pub user_agent: Option<Text<'a>>,
    /// `$context.error.message`.
    pub error_message: Option<Text<'a>>,
    /// `$context.error.responseType`.
    pub error_response_type: Option<Text<'a>>,
    /// `$context.authorizer.status`.
    pub authorizer_status: Option<i32>,
    /// `$context.authorizer.error`.
    pub authorizer_error: Option<Text<'a>>,
    /// `$context.authorizer.latency`.
    pub authorizer_latency_ms: Option<i32>,
    /// `$context.authorizer.integrationStatus`.
    pub authorizer_integration_status: Option<i32>,
    /// `$context.authorizer.integrationLatency`.
    pub authorizer_integration_latency_ms: Option<i32>,
    /// `$context.authorizer.requestId` (the authorizer Lambda's request id).
    pub authorizer_request_id: Option<Text<'a>>,
    /// `$context.authorizer.principalId`.
    pub authorizer_principal_id: Option<Text<'a>>,
    /// `$context.authenticate.status`.
    pub authenticate_status: Option<i32>,
    /// `$context.authenticate.error`.
    pub authenticate_error: Option<Text<'a>>,
    /// `$context.authenticate.latency`.
    pub authenticate_latency_ms: Option<i32>,
    /// `$context.authorize.status`.
    pub authorize_status: Option<i32>,
    /// `$context.authorize.error`.
    pub authorize_error: Option<Text<'a>>,
    /// `$context.authorize.latency`.
    pub authorize_latency_ms: Option<i32>,
    /// `$context.waf.status`.
    pub waf_status: Option<i32>,
    /// `$context.waf.error`.
    pub waf_error: Option<Text<'a>>,
    /// `$context.waf.latency`.
    pub waf_latency_ms: Option<i32>,
    /// `$context.wafResponseCode`.
    pub waf_response_code: Option<Text<'a>>,
    /// `$context.integration.status`.
    pub integration_status: Option<i32>,
    /// `$context.integration.integrationStatus`.
    pub integration_integration_status: Option<i32>,
    /// `$context.integration.error`.
    pub integration_error: Option<Text<'a>>,
    /// `$context.integration.latency`.
    pub integration_latency_ms: Option<i32>,
    /// `$context.integration.requestId`.
    pub integration_request_id: Option<Text<'a>>,
    /// `$context.responseLatency`.
    pub response_latency_ms: Option<i32>,
    /// The gateway itself produced the refusal.
    pub refused: bool,
    /// Refused, or the backend's own 401/403/429 passed on.
    pub denied: bool,
    /// Phase all candidates share, `unknown` when they differ; null when not denied.
    pub denial_phase: Option<&'static str>,
    /// The class, when one candidate remains or a heuristic picked one.
    pub denial_class: Option<&'static str>,
    /// Every class the non-heuristic evidence leaves possible.
    pub candidates: Vec<&'static str>,
    /// `high`, `medium` or `low`; null when not denied or no class.
    pub confidence: Option<&'static str>,
    /// The facts that decided, by name.
    pub evidence: Pairs,
    /// What to add to the logs or the input to decide.
    pub advice: Vec<String>,
    /// The joined authorizer invocation's Lambda request id.
    pub authorizer_lambda_request_id: Option<Text<'a>>,
    /// The joined invocation's decision.
    pub authorizer_decision: Option<&'static str>,
    /// The joined invocation's duration.
    pub authorizer_duration_ms: Option<f64>,
    /// The joined invocation was a cold start (REPORT carried an Init Duration).
    pub authorizer_cold_start: Option<bool>,
    /// The joined invocation's error (`TypeError: Cannot read …`).
    pub authorizer_invocation_error: Option<Text<'a>>,
    /// How the invocation was joined.
    pub authorizer_match_method: Option<&'static str>,
    /// The access-log mapping the record was read with.
    pub access_format: Option<Text<'a>>,
    /// The `$context` variables the record's format carries (present or `-`), in declaration
    /// order, joined by `,` (one string per format, shared by its rows).
    pub access_vars: crate::intern::Name,
    /// The authorizer's log covers the request's time and shows no invocation for it.
    pub authorizer_log_covers: bool,
    /// What the execution log established (`client_not_authorized`, `authorizer_invoked`, …).
    pub exec_facts: Vec<&'static str>,
    /// `Method completed with status` from the execution log.
    pub exec_method_status: Option<i32>,
    /// Execution-log lines of the request; null when the execution log said nothing of it.
    pub exec_lines: Option<i32>,
    /// `--api-config`: the method's auth type (`NONE`, `AWS_IAM`, `CUSTOM`,
    /// `COGNITO_USER_POOLS`, `JWT`); null without a configuration naming the method.
    pub method_auth_type: Option<&'static str>,
    /// `--api-config`: the method's authorizer.
    pub authorizer_name: Option<Text<'a>>,
    /// `--api-config`: its type (`TOKEN`, `REQUEST`, `COGNITO_USER_POOLS`, `JWT`).
    pub authorizer_type: Option<&'static str>,
    /// `--api-config`: its result cache TTL in seconds (0: no caching).
    pub authorizer_ttl_s: Option<i32>,
    /// `--api-config`: the method requires an API key.
    pub api_key_required: Option<bool>,
    /// `--api-config`: every gateway response of the API is the default.
    pub gateway_responses_default: Option<bool>,
    /// `--api-config`: the customised gateway response types (status or body template changed,
    /// directly or through `DEFAULT_4XX` / `DEFAULT_5XX`); null when not known.
    pub gateway_responses_customised: Option<Vec<String>>,
    /// Which logs said something about the request: `access`, `authorizer`, `execution`.
    pub sources: &'static [&'static str],
    /// Access-record keys no known `$context` variable explains.
    pub extra: Pairs,
    /// Input file of the access record (display path).
    pub source_file: Text<'a>,
    /// 1-based line of the access record in that file.
    pub source_line: i64,
    /// Byte offset of the access record in the decompressed file.
    pub source_offset: i64,
}

/// One row of the `authorizer_invocations` table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InvocationRow {
    /// The invocation.
    pub invocation: Invocation,
    /// The matched API Gateway request id, or null.
    pub request_id: Option<String>,
    /// How it was matched, or null.
    pub match_method: Option<MatchMethod>,
    /// Input file of the invocation's first line (display path).
    pub source_file: Arc<str>,
}

//! The run summary: counts that every report renders (terminal table, `summary.json`,
//! `summary.md`, `report.html`). Built from the classified rows ([`Summary::count_rows`]), the
//! authorizer invocations ([`Summary::count_invocations`]) and the input statistics the pipeline
//! sets. Everything here is deterministic: maps are ordered, ties are broken by name, and the
//! same rows give the same summary whatever their order.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{Decision, InvocationRow, RequestRow, Text, ACCESS_VARS_SEPARATOR};
use crate::records::vars::Var;
use crate::time::rfc3339_ms;

/// Version of the `summary.json` layout. Fields are only ever added within a version.
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

/// How many values the `top_*` lists keep.
pub const TOP_N: usize = 5;

/// How many example request ids a class keeps.
pub const EXAMPLES: usize = 5;

/// Lower edges, in milliseconds, of the fixed log-spaced (1-2-5) buckets of
/// [`AuthorizerStats::duration_histogram`]; the last bucket is open-ended.
pub const DURATION_BUCKET_EDGES_MS: [f64; 16] = [
    0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1_000.0, 2_000.0, 5_000.0, 10_000.0,
    20_000.0, 30_000.0,
];

/// Key of denied requests without a class in [`TimeBucket::counts`].
pub const UNDECIDED: &str = "undecided";

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// Daily buckets are widened past this many buckets (a stray timestamp years away).
const MAX_DAY_BUCKETS: i64 = 1_000;

/// One value of a `top_*` list and how many denied requests carried it.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
#[serde(default)]
pub struct TopValue {
    /// The value (redacted like every report).
    pub value: String,
    /// Denied requests carrying it.
    pub count: u64,
}

/// The most frequent callers of a set of denied requests, each list most frequent first (ties
/// by value), at most [`TOP_N`] long. Requests without the field are not counted.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
#[serde(default)]
pub struct TopCallers {
    /// `$context.identity.sourceIp`.
    pub source_ip: Vec<TopValue>,
    /// `$context.identity.userArn`, else `$context.identity.caller`.
    pub caller: Vec<TopValue>,
    /// `$context.authorizer.principalId`.
    pub principal_id: Vec<TopValue>,
    /// `$context.identity.apiKeyId` (the id, never the key).
    pub api_key_id: Vec<TopValue>,
}

/// One denial class's line.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct ClassCount {
    /// Phase name.
    pub phase: String,
    /// Class name, or `null` for requests no class fits.
    pub class: Option<String>,
    /// Requests.
    pub count: u64,
    /// Share of denied requests.
    pub share: f64,
    /// Confidence mix: `high`/`medium`/`low`/`none` → count.
    pub confidence: BTreeMap<String, u64>,
    /// Up to five example request ids (smallest time first, then by id).
    pub examples: Vec<String>,
    /// Earliest request time (RFC 3339, UTC; the CloudWatch event time where the record has
    /// no request time); `null` when no request of the class has a time.
    pub first_seen: Option<String>,
    /// Latest request time, as `first_seen`.
    pub last_seen: Option<String>,
    /// Most frequent `$context.resourcePath` (else `$context.path`), at most [`TOP_N`].
    pub top_paths: Vec<TopValue>,
    /// Most frequent callers.
    pub top_callers: TopCallers,
    /// Some `top_*` field had more than [`TOP_KEEP`] distinct values: its list holds the
    /// most frequent ones with counts that may be low (see [`TOP_KEEP`]). Absent when exact.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tops_approximate: bool,
}

/// Input statistics, summed over files.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct InputStats {
    /// Files read.
    pub files: u64,
    /// Bytes read from disk.
    pub bytes_in: u64,
    /// Bytes after decompression.
    pub bytes_out: u64,
    /// Events framed.
    pub events: u64,
    /// Access records read.
    pub access_records: u64,
    /// Lambda log lines read.
    pub authorizer_lines: u64,
    /// Execution log lines read.
    pub execution_lines: u64,
    /// Lines skipped (another log's lines, container control records), by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Lines rejected, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Events dropped as duplicates by the container (Firehose at-least-once delivery).
    pub container_duplicates: u64,
}

impl InputStats {
    /// Adds `o` into `self`.
    pub fn add(&mut self, o: &InputStats) {
        self.files += o.files;
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
        self.events += o.events;
        self.access_records += o.access_records;
        self.authorizer_lines += o.authorizer_lines;
        self.execution_lines += o.execution_lines;
        self.container_duplicates += o.container_duplicates;
        for (k, v) in &o.skipped {
            *self.skipped.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.rejected {
            *self.rejected.entry(k.clone()).or_default() += v;
        }
    }

    /// All rejected lines.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// All skipped lines.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// The access-log mapping used for one source.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct MappingUse {
    /// Input file (display path).
    pub source: String,
    /// Mapping name (`enhanced+derived`, `troubleshooting`, `console-clf`, `user`, …).
    pub mapping: String,
    /// Records read with it.
    pub records: u64,
    /// Keys left unmapped because their meaning is ambiguous.
    pub ambiguous_keys: Vec<String>,
}

/// The time one source covers, from the rows it produced.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
#[serde(default)]
pub struct SourceCoverage {
    /// Input file (display path).
    pub source: String,
    /// `access` (requests) or `authorizer` (invocations). Execution-log lines produce no rows
    /// and have no entry here.
    pub log: String,
    /// Rows from this source (after deduplication, which keeps the smallest origin).
    pub records: u64,
    /// Earliest row time (RFC 3339, UTC), `null` when no row has one.
    pub first: Option<String>,
    /// Latest row time, as `first`.
    pub last: Option<String>,
}

/// A sample's distribution, in milliseconds. Percentiles are nearest-rank: always a value that
/// occurred. All `null` when there is no sample.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct Distribution {
    /// Values counted.
    pub samples: u64,
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
}

impl Distribution {
    /// The distribution of `values` (non-finite values are ignored).
    pub fn of(values: &[f64]) -> Distribution {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        Distribution {
            samples: v.len() as u64,
            p50: percentile(&v, 50.0),
            p95: percentile(&v, 95.0),
            p99: percentile(&v, 99.0),
            max: v.last().copied(),
        }
    }
}

/// Nearest-rank percentile `p` (0–100) of an ascending slice: the smallest value with at least
/// `p`% of the values at or below it. `None` for an empty slice.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// One bucket of [`AuthorizerStats::duration_histogram`]: `lower_ms <= duration < upper_ms`.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct HistogramBucket {
    /// Inclusive lower edge, ms.
    pub lower_ms: f64,
    /// Exclusive upper edge, ms; `null` for the last, open-ended bucket.
    pub upper_ms: Option<f64>,
    /// Invocations whose REPORT `Duration` falls in the bucket.
    pub count: u64,
}

/// Authorizer statistics. The invocation fields come from the `authorizer_invocations` rows
/// ([`Summary::count_invocations`]); the cache estimate from the requests
/// ([`Summary::count_rows`]).
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct AuthorizerStats {
    /// Invocations seen.
    pub invocations: u64,
    /// Matched to a request.
    pub matched: u64,
    /// Matched by each method.
    pub by_match_method: BTreeMap<String, u64>,
    /// Not matched (including `ambiguous`).
    pub unmatched: u64,
    /// Decisions (`allow`, `deny`, `unauthorized`, `error`, `timeout`, `unknown`) → count.
    pub decisions: BTreeMap<String, u64>,
    /// Cold starts (Init Duration present).
    pub cold_starts: u64,
    /// Invocations seen in more than one place and merged.
    pub duplicates: u64,
    /// Invocations that failed with an error other than `Unauthorized` (decision `error`).
    pub errors: u64,
    /// Invocations that timed out (decision `timeout`).
    pub timeouts: u64,
    /// REPORT `Duration` of the invocations that logged one.
    pub duration_ms: Distribution,
    /// REPORT `Init Duration` of the cold starts.
    pub init_duration_ms: Distribution,
    /// REPORT `Duration` counted in fixed log-spaced buckets ([`DURATION_BUCKET_EDGES_MS`]);
    /// every bucket is listed, empty ones too.
    pub duration_histogram: Vec<HistogramBucket>,
    /// Estimated share of authorizer results served from the authorizer's cache: among the
    /// requests with `$context.authorizer.status` 200 whose access-log format carries
    /// `$context.authorizer.requestId` or `$context.authorizer.integrationStatus`, the share
    /// where both are empty (the Lambda was not invoked). `null` when no request qualifies.
    pub estimated_cache_hit_ratio: Option<f64>,
    /// Requests the cache estimate is based on.
    pub cache_estimate_requests: u64,
}

/// One bucket of the time series.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct TimeBucket {
    /// Start of the bucket (RFC 3339, UTC); the bucket lasts [`TimeSeries::bucket_seconds`].
    pub start: String,
    /// All requests in the bucket, denied or not.
    pub requests: u64,
    /// Denied requests per class ([`UNDECIDED`] for those without a class); classes with none
    /// in the bucket are left out.
    pub counts: BTreeMap<String, u64>,
}

/// Denied requests over time, per class.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct TimeSeries {
    /// Bucket width: `1m` for a span up to 2 h, `5m` up to 12 h, `1h` up to 7 days, else `1d`
    /// (`Nd` past 1,000 days); empty when no request has a time.
    pub bucket: String,
    /// Bucket width in seconds (0 when no request has a time).
    pub bucket_seconds: u64,
    /// Start of the first bucket (RFC 3339, UTC).
    pub start: Option<String>,
    /// End of the last bucket (exclusive).
    pub end: Option<String>,
    /// Every bucket from `start` to `end`, empty ones included, aligned to UTC multiples of
    /// the width. The span is that of all requests, so calm periods show.
    pub buckets: Vec<TimeBucket>,
    /// Denied requests without any time, left out of the buckets.
    pub untimed_denied: u64,
}

/// Facts about the run itself; filled by the pipeline, not by counting.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct RunInfo {
    /// Wall-clock seconds per stage (`read_parse`, `join`, `classify`, `write`, `total`).
    pub timings_s: BTreeMap<String, f64>,
}

/// The whole summary.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct Summary {
    /// Layout version of this document.
    pub schema_version: u32,
    /// Requests (rows of the `requests` table).
    pub requests: u64,
    /// Requests the gateway refused.
    pub refused: u64,
    /// Refused plus the backend's own 401/403/429.
    pub denied: u64,
    /// Denied requests per phase.
    pub by_phase: BTreeMap<String, u64>,
    /// Denied requests per class (and `null` for open ones), most frequent first.
    pub by_class: Vec<ClassCount>,
    /// Requests per status code.
    pub by_status: BTreeMap<String, u64>,
    /// Authorizer invocations.
    pub authorizer: AuthorizerStats,
    /// Input statistics.
    pub input: InputStats,
    /// Access-log mapping per source.
    pub mappings: Vec<MappingUse>,
    /// Same record seen twice, counted once.
    pub duplicate_records: u64,
    /// Different records sharing a request key.
    pub conflicting_duplicate_ids: u64,
    /// `$context` variables / logs whose absence limited the answer → requests affected.
    pub limiting_advice: BTreeMap<String, u64>,
    /// Earliest request time of all requests (RFC 3339, UTC).
    pub first_request: Option<String>,
    /// Latest request time of all requests.
    pub last_request: Option<String>,
    /// Most frequent paths over all denied requests (as [`ClassCount::top_paths`]).
    pub top_paths: Vec<TopValue>,
    /// Most frequent callers over all denied requests.
    pub top_callers: TopCallers,
    /// As [`ClassCount::tops_approximate`], for the lists over all denied requests.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tops_approximate: bool,
    /// Denied requests over time, per class.
    pub time_series: TimeSeries,
    /// Time covered by each source, sorted by source then log.
    pub coverage: Vec<SourceCoverage>,
    /// Run facts (timings); not counts.
    pub run: RunInfo,
}

/// The time a row stands for: the request time, else the CloudWatch event time.
fn row_time(r: &RequestRow) -> Option<i64> {
    r.request_time_ms.or(r.log_time_ms)
}

/// Earliest and latest of a set of times, and how many were offered.
#[derive(Debug, Default, Clone, Copy)]
struct Span {
    n: u64,
    first: Option<i64>,
    last: Option<i64>,
}

impl Span {
    fn add(&mut self, t: Option<i64>) {
        self.n += 1;
        if let Some(t) = t {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }

    fn merge(&mut self, o: Span) {
        self.n += o.n;
        self.first = self.first.into_iter().chain(o.first).min();
        self.last = self.last.into_iter().chain(o.last).max();
    }
}

/// A hash map keyed by values borrowed from the rows, with [`FxHasher`]: counting is most of
/// what the summary does, and SipHash's DoS resistance buys nothing for a report.
type Map<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The multiply-rotate hash of rustc (`FxHasher`): a few cycles per 8 bytes.
#[derive(Debug, Default, Clone, Copy)]
struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap_or_default()));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Distinct values a `top_*` count keeps: past this (a scan or a flood from many addresses,
/// paths without a template) it keeps the most frequent, so that its memory is bounded.
pub const TOP_KEEP: usize = 4096;

/// Value counts of the `top_*` fields: exact while each has at most [`TOP_KEEP`] distinct
/// values; past that a Misra–Gries summary (the frequent values' counts, each at most
/// `denied / (TOP_KEEP + 1)` low), and `trimmed` says so.
#[derive(Debug, Default)]
struct Tops {
    paths: Map<String, u64>,
    source_ip: Map<String, u64>,
    caller: Map<String, u64>,
    principal_id: Map<String, u64>,
    api_key_id: Map<String, u64>,
    trimmed: bool,
}

/// Counts `v` in `m`; `true` when `m` had to be trimmed.
fn bump(m: &mut Map<String, u64>, v: Option<&str>) -> bool {
    if let Some(v) = v.filter(|v| !v.is_empty() && *v != "-") {
        match m.get_mut(v) {
            Some(n) => *n += 1,
            None => {
                m.insert(v.to_string(), 1);
                // Trimmed once it holds twice the kept values, so that trimming (a pass over
                // the map) happens once every `TOP_KEEP` new values at most.
                if m.len() > 2 * TOP_KEEP {
                    return trim(m);
                }
            }
        }
    }
    false
}

/// Misra–Gries: when `m` holds more than [`TOP_KEEP`] values, every count goes down by the
/// `TOP_KEEP + 1`-th largest and the values left at zero go. A value's count is then low by
/// at most the number of counted rows over `TOP_KEEP + 1`, and a value carried by more rows
/// than that is never dropped; merging two trimmed counts and trimming again keeps both
/// bounds. `true` when anything was subtracted.
fn trim(m: &mut Map<String, u64>) -> bool {
    if m.len() <= TOP_KEEP {
        return false;
    }
    let mut counts: Vec<u64> = m.values().copied().collect();
    let (_, &mut cut, _) = counts.select_nth_unstable_by(TOP_KEEP, |a, b| b.cmp(a));
    m.retain(|_, n| {
        *n -= cut;
        *n > 0
    });
    true
}

fn nonempty<'s>(v: &'s Option<Text<'_>>) -> Option<&'s str> {
    v.as_deref().filter(|v| !v.is_empty() && *v != "-")
}

/// Adds `from`'s counts to `into`.
fn add_map<K: std::hash::Hash + Eq>(into: &mut Map<K, u64>, from: Map<K, u64>) {
    for (k, n) in from {
        *into.entry(k).or_default() += n;
    }
}

/// Adds `from`'s counts to `into`.
fn add_btree<K: Ord>(into: &mut BTreeMap<K, u64>, from: BTreeMap<K, u64>) {
    for (k, n) in from {
        *into.entry(k).or_default() += n;
    }
}

impl Tops {
    fn add(&mut self, r: &RequestRow) {
        let trimmed = [
            bump(
                &mut self.paths,
                nonempty(&r.resource_path).or(nonempty(&r.path)),
            ),
            bump(&mut self.source_ip, r.source_ip.as_deref()),
            bump(
                &mut self.caller,
                nonempty(&r.identity_user_arn).or(nonempty(&r.identity_caller)),
            ),
            bump(&mut self.principal_id, r.authorizer_principal_id.as_deref()),
            bump(&mut self.api_key_id, r.api_key_id.as_deref()),
        ];
        self.trimmed |= trimmed.contains(&true);
    }

    /// The five counts, in a fixed order.
    fn maps_mut(&mut self) -> [&mut Map<String, u64>; 5] {
        [
            &mut self.paths,
            &mut self.source_ip,
            &mut self.caller,
            &mut self.principal_id,
            &mut self.api_key_id,
        ]
    }

    fn merge(&mut self, o: Tops) {
        self.trimmed |= o.trimmed;
        let from = [o.paths, o.source_ip, o.caller, o.principal_id, o.api_key_id];
        for (into, from) in self.maps_mut().into_iter().zip(from) {
            add_map(into, from);
        }
        self.settle();
    }

    /// Trims every count to [`TOP_KEEP`] values (the lists are read from these).
    fn settle(&mut self) {
        // Every map is trimmed (`|`, not `||`).
        let trimmed = self.maps_mut().into_iter().fold(false, |t, m| trim(m) | t);
        self.trimmed |= trimmed;
    }

    fn paths(&self) -> Vec<TopValue> {
        top(&self.paths)
    }

    fn callers(&self) -> TopCallers {
        TopCallers {
            source_ip: top(&self.source_ip),
            caller: top(&self.caller),
            principal_id: top(&self.principal_id),
            api_key_id: top(&self.api_key_id),
        }
    }
}

/// The [`TOP_N`] most frequent values, ties by value; values are redacted after counting.
fn top(m: &Map<String, u64>) -> Vec<TopValue> {
    let mut v: Vec<(&str, u64)> = m.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    v.truncate(TOP_N);
    v.into_iter()
        .map(|(k, n)| TopValue {
            value: crate::redact::scrub(k).into_owned(),
            count: n,
        })
        .collect()
}

/// Keeps the [`EXAMPLES`] smallest (time, id) of the rows offered, rows without time last.
#[derive(Debug, Default)]
struct Examples {
    v: Vec<(bool, i64, String)>,
    /// `v[..EXAMPLES]` is the sorted result of the last settle: a row not below `v[EXAMPLES
    /// - 1]` can never be an example, and is turned away without copying its id.
    full: bool,
}

impl Examples {
    fn offer(&mut self, r: &RequestRow) {
        let t = r.request_time_ms;
        let key = (t.is_none(), t.unwrap_or(0));
        if self.full {
            let (b, t0, id) = &self.v[EXAMPLES - 1];
            if (key, &*r.request_id) >= ((*b, *t0), id.as_str()) {
                return;
            }
        }
        self.v.push((key.0, key.1, r.request_id.to_string()));
        if self.v.len() >= 8 * EXAMPLES {
            self.settle();
        }
    }

    fn settle(&mut self) {
        self.v.sort_unstable();
        self.v.dedup();
        self.v.truncate(EXAMPLES);
        self.full = self.v.len() == EXAMPLES;
    }

    /// Keeps the smallest of both: the same as offering `o`'s rows here.
    fn merge(&mut self, o: Examples) {
        self.v.extend(o.v);
        if self.v.len() >= 8 * EXAMPLES {
            self.settle();
        }
    }

    fn finish(mut self) -> Vec<String> {
        self.settle();
        self.v.into_iter().map(|(_, _, id)| id).collect()
    }
}

/// Counts per minute (epoch minute → rows): the time series' raw material, whose size is
/// bounded by the time span, not by the rows.
type Minutes = BTreeMap<i64, u64>;

/// One class's counters while counting.
#[derive(Debug, Default)]
struct ClassAcc {
    line: ClassCount,
    span: Span,
    examples: Examples,
    tops: Tops,
    /// Requests of the class per minute, for the time series.
    minutes: Minutes,
}

impl ClassAcc {
    fn merge(&mut self, o: ClassAcc) {
        self.line.count += o.line.count;
        add_btree(&mut self.line.confidence, o.line.confidence);
        self.span.merge(o.span);
        self.examples.merge(o.examples);
        self.tops.merge(o.tops);
        add_btree(&mut self.minutes, o.minutes);
    }
}

/// Bucket width for a span, with its label.
fn bucket_for_span(span_ms: i64) -> (i64, String) {
    if span_ms <= 2 * HOUR_MS {
        (MINUTE_MS, "1m".into())
    } else if span_ms <= 12 * HOUR_MS {
        (5 * MINUTE_MS, "5m".into())
    } else if span_ms <= 7 * DAY_MS {
        (HOUR_MS, "1h".into())
    } else {
        // Unaligned ends can add a bucket to the span's whole days.
        let days = ((span_ms / DAY_MS + 2 + MAX_DAY_BUCKETS - 1) / MAX_DAY_BUCKETS).max(1);
        (days * DAY_MS, format!("{days}d"))
    }
}

/// The time series over `[first, last]`: every row's time counts in `requests`, each class's
/// minutes in its counts (classes sharing a name across phases add up). Buckets are whole
/// minutes, so counting per minute loses nothing.
fn time_series<'a>(
    all: &Minutes,
    classes: impl Iterator<Item = (&'a str, &'a Minutes)>,
    first: i64,
    last: i64,
    untimed_denied: u64,
) -> TimeSeries {
    let (width, label) = bucket_for_span(last - first);
    let start = first.div_euclid(width) * width;
    let n = ((last - start).div_euclid(width) + 1) as usize;
    let index =
        |minute: i64| ((minute * MINUTE_MS - start).div_euclid(width).max(0) as usize).min(n - 1);
    let mut requests = vec![0u64; n];
    for (&m, &c) in all {
        requests[index(m)] += c;
    }
    let mut per_class: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (class, minutes) in classes {
        let v = per_class.entry(class).or_insert_with(|| vec![0; n]);
        for (&m, &c) in minutes {
            v[index(m)] += c;
        }
    }
    TimeSeries {
        bucket: label,
        bucket_seconds: (width / 1000) as u64,
        start: Some(rfc3339_ms(start)),
        end: Some(rfc3339_ms(start + n as i64 * width)),
        buckets: requests
            .into_iter()
            .enumerate()
            .map(|(i, requests)| TimeBucket {
                start: rfc3339_ms(start + i as i64 * width),
                requests,
                counts: per_class
                    .iter()
                    .filter(|(_, v)| v[i] > 0)
                    .map(|(k, v)| (k.to_string(), v[i]))
                    .collect(),
            })
            .collect(),
        untimed_denied,
    }
}

fn coverage_of(source: &str, log: &str, s: Span) -> SourceCoverage {
    SourceCoverage {
        source: source.to_string(),
        log: log.to_string(),
        records: s.n,
        first: s.first.map(rfc3339_ms),
        last: s.last.map(rfc3339_ms),
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The authorizer invocation counts of [`Summary::count_invocations`], gathered a batch of
/// rows at a time.
#[derive(Debug)]
pub struct InvocationTally {
    s: AuthorizerStats,
    durations: Vec<f64>,
    inits: Vec<f64>,
    hist: Vec<u64>,
    coverage: BTreeMap<Arc<str>, Span>,
}

impl Default for InvocationTally {
    fn default() -> Self {
        InvocationTally {
            s: AuthorizerStats::default(),
            durations: Vec::new(),
            inits: Vec::new(),
            hist: vec![0; DURATION_BUCKET_EDGES_MS.len()],
            coverage: BTreeMap::new(),
        }
    }
}

impl InvocationTally {
    /// Counts one invocation row.
    pub fn add(&mut self, r: &InvocationRow) {
        let s = &mut self.s;
        let inv = &r.invocation;
        s.invocations += 1;
        match (&r.request_id, r.match_method) {
            (Some(_), Some(m)) => {
                s.matched += 1;
                *s.by_match_method.entry(m.as_str().to_string()).or_default() += 1;
            }
            _ => s.unmatched += 1,
        }
        let d = inv.decision.map(|d| d.as_str()).unwrap_or("unknown");
        match s.decisions.get_mut(d) {
            Some(n) => *n += 1,
            None => {
                s.decisions.insert(d.to_string(), 1);
            }
        }
        s.errors += (inv.decision == Some(Decision::Error)) as u64;
        s.timeouts += (inv.decision == Some(Decision::Timeout)) as u64;
        if let Some(init) = inv.init_duration_ms {
            s.cold_starts += 1;
            self.inits.push(init);
        }
        if let Some(ms) = inv.duration_ms.filter(|d| d.is_finite()) {
            self.durations.push(ms);
            let i = DURATION_BUCKET_EDGES_MS
                .iter()
                .rposition(|&lo| ms >= lo)
                .unwrap_or(0);
            self.hist[i] += 1;
        }
        if !r.source_file.is_empty() {
            match self.coverage.get_mut(&r.source_file) {
                Some(span) => span.add(inv.start_time_ms),
                None => {
                    let mut span = Span::default();
                    span.add(inv.start_time_ms);
                    self.coverage.insert(r.source_file.clone(), span);
                }
            }
        }
    }

    /// Writes the counts into `summary` (keeping its cache estimate); `duplicates` is the
    /// number of invocations merged because they were seen twice.
    pub fn finish(self, summary: &mut Summary, duplicates: u64) {
        let kept = &summary.authorizer;
        summary.authorizer = AuthorizerStats {
            duplicates,
            duration_ms: Distribution::of(&self.durations),
            init_duration_ms: Distribution::of(&self.inits),
            duration_histogram: self
                .hist
                .into_iter()
                .enumerate()
                .map(|(i, count)| HistogramBucket {
                    lower_ms: DURATION_BUCKET_EDGES_MS[i],
                    upper_ms: DURATION_BUCKET_EDGES_MS.get(i + 1).copied(),
                    count,
                })
                .collect(),
            // The cache estimate comes from the requests (`count_rows`).
            estimated_cache_hit_ratio: kept.estimated_cache_hit_ratio,
            cache_estimate_requests: kept.cache_estimate_requests,
            ..self.s
        };
        summary.coverage.retain(|c| c.log != "authorizer");
        summary.coverage.extend(
            self.coverage
                .iter()
                .map(|(src, s)| coverage_of(src, "authorizer", *s)),
        );
        summary
            .coverage
            .sort_by(|a, b| a.source.cmp(&b.source).then_with(|| a.log.cmp(&b.log)));
    }
}

/// The counters of [`Summary::count_rows`], fed one row at a time: its memory grows with
/// the classes, distinct callers and minutes of the time span, not with the rows.
#[derive(Debug, Default)]
pub struct RowTally {
    requests: u64,
    denied: u64,
    refused: u64,
    classes: Map<(&'static str, Option<&'static str>), ClassAcc>,
    by_status: Map<i32, u64>,
    advice: Map<String, u64>,
    untimed_denied: u64,
    all: Tops,
    span: Span,
    minutes: Minutes,
    coverage: Map<String, Span>,
    cache_basis: u64,
    cache_hits: u64,
    /// The `access_vars` of the last row [`RowTally::logs_invocation`] looked at, and its
    /// answer.
    last_vars: Option<(String, bool)>,
}

impl RowTally {
    /// Counts one row.
    pub fn add(&mut self, r: &RequestRow) {
        self.requests += 1;
        let t = row_time(r);
        self.span.add(t);
        if let Some(t) = t {
            *self.minutes.entry(t.div_euclid(MINUTE_MS)).or_default() += 1;
        }
        if !r.source_file.is_empty() {
            match self.coverage.get_mut(&*r.source_file) {
                Some(s) => s.add(t),
                None => {
                    let mut s = Span::default();
                    s.add(t);
                    self.coverage.insert(r.source_file.to_string(), s);
                }
            }
        }
        if let Some(s) = r.status {
            *self.by_status.entry(s).or_default() += 1;
        }
        if r.authorizer_status == Some(200) {
            // A logged value proves the Lambda ran; an empty one counts only where the
            // record's format carries the variable (the scan is left for that case).
            if r.authorizer_request_id.is_some() || r.authorizer_integration_status.is_some() {
                self.cache_basis += 1;
            } else if self.logs_invocation(&r.access_vars) {
                self.cache_basis += 1;
                self.cache_hits += 1;
            }
        }
        if !r.denied {
            return;
        }
        self.denied += 1;
        self.refused += r.refused as u64;
        let phase = r.denial_phase.unwrap_or("unknown");
        let e = self
            .classes
            .entry((phase, r.denial_class))
            .or_insert_with(|| ClassAcc {
                line: ClassCount {
                    phase: phase.to_string(),
                    class: r.denial_class.map(str::to_string),
                    ..Default::default()
                },
                ..Default::default()
            });
        e.line.count += 1;
        let conf = r.confidence.unwrap_or("none");
        match e.line.confidence.get_mut(conf) {
            Some(n) => *n += 1,
            None => {
                e.line.confidence.insert(conf.to_string(), 1);
            }
        }
        e.span.add(t);
        match t {
            Some(t) => *e.minutes.entry(t.div_euclid(MINUTE_MS)).or_default() += 1,
            None => self.untimed_denied += 1,
        }
        e.examples.offer(r);
        e.tops.add(r);
        self.all.add(r);
        for a in &r.advice {
            match self.advice.get_mut(a.as_str()) {
                Some(n) => *n += 1,
                None => {
                    self.advice.insert(a.clone(), 1);
                }
            }
        }
    }

    /// Whether a format with these `access_vars` logs the authorizer's request id or
    /// integration status (which an invocation fills); the answer for the last format asked
    /// about is kept, as rows come a source at a time.
    fn logs_invocation(&mut self, access_vars: &str) -> bool {
        if let Some((vars, yes)) = &self.last_vars {
            if vars == access_vars {
                return *yes;
            }
        }
        let (req_id, integ_status) = (
            Var::AuthorizerRequestId.name(),
            Var::AuthorizerIntegrationStatus.name(),
        );
        let yes = access_vars
            .split(ACCESS_VARS_SEPARATOR)
            .any(|v| v == req_id || v == integ_status);
        self.last_vars = Some((access_vars.to_string(), yes));
        yes
    }

    /// Counts `o`'s rows too: tallies of parts of the rows, merged in any order, equal the
    /// tally of all of them.
    pub fn merge(&mut self, o: RowTally) {
        self.requests += o.requests;
        self.denied += o.denied;
        self.refused += o.refused;
        for (k, acc) in o.classes {
            match self.classes.get_mut(&k) {
                Some(e) => e.merge(acc),
                None => {
                    self.classes.insert(k, acc);
                }
            }
        }
        add_map(&mut self.by_status, o.by_status);
        add_map(&mut self.advice, o.advice);
        self.untimed_denied += o.untimed_denied;
        self.all.merge(o.all);
        self.span.merge(o.span);
        add_btree(&mut self.minutes, o.minutes);
        for (k, sp) in o.coverage {
            self.coverage.entry(k).or_default().merge(sp);
        }
        self.cache_basis += o.cache_basis;
        self.cache_hits += o.cache_hits;
    }

    /// Writes the counts into `summary`.
    pub fn finish(self, summary: &mut Summary) {
        let RowTally {
            requests,
            denied,
            refused,
            classes,
            by_status,
            advice,
            untimed_denied,
            all,
            span,
            minutes,
            coverage,
            cache_basis,
            cache_hits,
            last_vars: _,
        } = self;
        let s = summary;
        s.schema_version = SUMMARY_SCHEMA_VERSION;
        s.requests = requests;
        s.denied = denied;
        s.refused = refused;
        for (k, v) in by_status {
            *s.by_status.entry(k.to_string()).or_default() += v;
        }
        for (k, v) in advice {
            *s.limiting_advice.entry(k).or_default() += v;
        }
        for c in classes.values() {
            *s.by_phase.entry(c.line.phase.clone()).or_default() += c.line.count;
        }
        s.time_series = match (span.first, span.last) {
            (Some(f), Some(l)) => time_series(
                &minutes,
                classes
                    .iter()
                    .map(|((_, class), acc)| (class.unwrap_or(UNDECIDED), &acc.minutes)),
                f,
                l,
                untimed_denied,
            ),
            _ => TimeSeries {
                untimed_denied,
                ..Default::default()
            },
        };
        let mut v: Vec<ClassCount> = classes
            .into_values()
            .map(|acc| {
                let mut c = acc.line;
                c.share = if denied == 0 {
                    0.0
                } else {
                    round4(c.count as f64 / denied as f64)
                };
                c.first_seen = acc.span.first.map(rfc3339_ms);
                c.last_seen = acc.span.last.map(rfc3339_ms);
                let mut tops = acc.tops;
                tops.settle();
                c.top_paths = tops.paths();
                c.top_callers = tops.callers();
                c.tops_approximate = tops.trimmed;
                c.examples = acc.examples.finish();
                c
            })
            .collect();
        v.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.phase.cmp(&b.phase))
                .then_with(|| a.class.cmp(&b.class))
        });
        s.by_class = v;
        let mut all = all;
        all.settle();
        s.top_paths = all.paths();
        s.top_callers = all.callers();
        s.tops_approximate = all.trimmed;
        s.first_request = span.first.map(rfc3339_ms);
        s.last_request = span.last.map(rfc3339_ms);
        s.coverage.retain(|c| c.log != "access");
        s.coverage.extend(
            coverage
                .into_iter()
                .map(|(src, sp)| coverage_of(&src, "access", sp)),
        );
        s.coverage
            .sort_by(|a, b| a.source.cmp(&b.source).then_with(|| a.log.cmp(&b.log)));
        s.authorizer.cache_estimate_requests = cache_basis;
        s.authorizer.estimated_cache_hit_ratio =
            (cache_basis > 0).then(|| round4(cache_hits as f64 / cache_basis as f64));
    }
}

impl Summary {
    /// Counts the classified rows: totals, classes (with their times, paths, callers and
    /// examples), the time series, access-log coverage per source and the authorizer cache
    /// estimate. Call once, before [`Summary::count_invocations`]; for rows that come in
    /// batches, use a [`RowTally`].
    pub fn count_rows(&mut self, rows: &[RequestRow]) {
        let mut t = RowTally::default();
        for r in rows {
            t.add(r);
        }
        t.finish(self);
    }

    /// Counts the authorizer invocations into [`Summary::authorizer`] (everything but the cache
    /// estimate, which [`Summary::count_rows`] sets) and their coverage per source.
    /// `duplicates` is the number of invocations merged because they were seen twice. For
    /// rows that come in batches, use an [`InvocationTally`].
    pub fn count_invocations(&mut self, rows: &[InvocationRow], duplicates: u64) {
        let mut t = InvocationTally::default();
        for r in rows {
            t.add(r);
        }
        t.finish(self, duplicates);
    }

    /// Denied requests that are not the gateway's own refusals (the backend's 401/403/429).
    pub fn backend_denied(&self) -> u64 {
        self.denied.saturating_sub(self.refused)
    }

    /// The terminal table (plain text; the caller adds colour when on a terminal).
    pub fn render_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} requests, {} denied ({} refused by the gateway, {} by the backend)",
            self.requests,
            self.denied,
            self.refused,
            self.backend_denied()
        );
        if let (Some(f), Some(l)) = (&self.first_request, &self.last_request) {
            let _ = writeln!(s, "from {f} to {l}");
        }
        if !self.by_class.is_empty() {
            let _ = writeln!(
                s,
                "\n  {:<16} {:<32} {:>7} {:>7}  confidence",
                "phase", "class", "count", "share"
            );
            for c in &self.by_class {
                let conf: Vec<String> = c
                    .confidence
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect();
                let _ = writeln!(
                    s,
                    "  {:<16} {:<32} {:>7} {:>6.1}%  {}",
                    c.phase,
                    c.class.as_deref().unwrap_or("(undecided)"),
                    c.count,
                    c.share * 100.0,
                    conf.join(", ")
                );
            }
            let top_list = |v: &[TopValue]| {
                v.iter()
                    .map(|t| format!("{} ({})", t.value, t.count))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let tc = &self.top_callers;
            let mut tops = vec![("paths", &self.top_paths)];
            tops.extend([
                ("source IPs", &tc.source_ip),
                ("callers", &tc.caller),
                ("principals", &tc.principal_id),
                ("API key ids", &tc.api_key_id),
            ]);
            let mut first = true;
            for (name, v) in tops {
                if v.is_empty() {
                    continue;
                }
                if first {
                    let _ = writeln!(s);
                    first = false;
                }
                let _ = writeln!(s, "top denied {name}: {}", top_list(v));
            }
        }
        let a = &self.authorizer;
        let _ = writeln!(
            s,
            "\nauthorizer invocations: {} ({} matched, {} unmatched, {} cold starts)",
            a.invocations, a.matched, a.unmatched, a.cold_starts
        );
        if a.invocations > 0 {
            let dec: Vec<String> = a
                .decisions
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = write!(
                s,
                "  decisions: {}; errors {}, timeouts {}",
                dec.join(", "),
                a.errors,
                a.timeouts
            );
            if let (Some(p50), Some(p95), Some(p99)) =
                (a.duration_ms.p50, a.duration_ms.p95, a.duration_ms.p99)
            {
                let _ = write!(
                    s,
                    "; duration p50 {} ms, p95 {} ms, p99 {} ms",
                    fmt_ms(p50),
                    fmt_ms(p95),
                    fmt_ms(p99)
                );
            }
            let _ = writeln!(s);
        }
        if let Some(r) = a.estimated_cache_hit_ratio {
            let _ = writeln!(
                s,
                "  estimated cache hits: {:.1}% of {} requests with authorizer status 200",
                r * 100.0,
                a.cache_estimate_requests
            );
        }
        let i = &self.input;
        let _ = writeln!(
            s,
            "input: {} files, {} events ({} access, {} authorizer, {} execution); {} skipped, {} rejected, {} duplicate records, {} conflicting ids",
            i.files,
            i.events,
            i.access_records,
            i.authorizer_lines,
            i.execution_lines,
            i.skipped_total(),
            i.rejected_total(),
            self.duplicate_records + i.container_duplicates,
            self.conflicting_duplicate_ids
        );
        for (k, v) in &i.rejected {
            let _ = writeln!(s, "  rejected {k}: {v}");
        }
        for m in &self.mappings {
            let amb = if m.ambiguous_keys.is_empty() {
                String::new()
            } else {
                format!(
                    "  AMBIGUOUS keys (no meaning given): {}",
                    m.ambiguous_keys.join(", ")
                )
            };
            let _ = writeln!(
                s,
                "access format: {} → {} ({} records){amb}",
                m.source, m.mapping, m.records
            );
        }
        if !self.limiting_advice.is_empty() {
            let _ = writeln!(s, "\nto decide the open cases:");
            for (k, v) in self.advice_by_count().iter().take(8) {
                let _ = writeln!(s, "  {k} ({v} requests)");
            }
        }
        s
    }

    /// [`Summary::limiting_advice`], most requests first (ties by text).
    pub fn advice_by_count(&self) -> Vec<(&str, u64)> {
        let mut adv: Vec<(&str, u64)> = self
            .limiting_advice
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        adv.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        adv
    }
}

/// A duration in ms for people: no trailing zeros, at most one decimal from 10 ms on.
pub fn fmt_ms(ms: f64) -> String {
    let s = if ms >= 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.2}")
    };
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Invocation, MatchMethod};

    const T0: i64 = 1_762_160_400_000; // 2025-11-03T09:00:00Z

    fn denied(id: &str, t: Option<i64>, class: Option<&'static str>) -> RequestRow<'static> {
        RequestRow {
            request_id: id.to_string().into(),
            request_time_ms: t,
            status: Some(403),
            denied: true,
            refused: true,
            denial_phase: Some(if class.is_some() { "waf" } else { "unknown" }),
            denial_class: class,
            confidence: class.map(|_| "high"),
            source_file: "a.log".into(),
            ..Default::default()
        }
    }

    fn inv(id: &str, dur: Option<f64>, decision: Option<Decision>) -> InvocationRow {
        InvocationRow {
            invocation: Invocation {
                lambda_request_id: id.into(),
                duration_ms: dur,
                decision,
                ..Default::default()
            },
            source_file: "l.log".into(),
            ..Default::default()
        }
    }

    #[test]
    fn examples_are_the_smallest_times_and_ids_whatever_the_order() {
        let mut e = Examples::default();
        // 300 rows in a scrambled order; some without a time, some sharing one.
        let rows: Vec<RequestRow> = (0..300u64)
            .map(|i| (i * 7_919) % 300)
            .map(|k| {
                denied(
                    &format!("id-{k:03}"),
                    (k % 9 != 0).then_some(T0 + (k as i64 / 3) * 1_000),
                    None,
                )
            })
            .collect();
        for r in &rows {
            e.offer(r);
        }
        let mut all: Vec<(bool, i64, String)> = rows
            .iter()
            .map(|r| {
                (
                    r.request_time_ms.is_none(),
                    r.request_time_ms.unwrap_or(0),
                    r.request_id.to_string(),
                )
            })
            .collect();
        all.sort();
        let expected: Vec<String> = all.into_iter().take(EXAMPLES).map(|x| x.2).collect();
        assert_eq!(e.finish(), expected);
    }

    #[test]
    fn tallies_of_parts_merge_into_the_tally_of_the_whole() {
        let classes = [Some("waf_block"), Some("api_key_missing"), None];
        let rows: Vec<RequestRow> = (0..200)
            .map(|i| {
                let t = (i % 7 != 0).then_some(T0 + (i as i64 % 37) * 61_000);
                let mut r = denied(&format!("req-{i:03}"), t, classes[i % 3]);
                r.denied = i % 5 != 0;
                r.source_ip = Some(format!("198.51.100.{}", i % 11).into());
                r.resource_path = Some(format!("/p{}", i % 4).into());
                r.source_file = format!("f{}.log", i % 2).into();
                r.advice = vec![format!("advice {}", i % 3)];
                r.authorizer_status = Some(200);
                r.authorizer_request_id = (i % 2 == 0).then(|| "x".into());
                r
            })
            .collect();
        let mut whole = Summary::default();
        whole.count_rows(&rows);
        // Parts merged in another order than the rows came in.
        let part = |range: std::ops::Range<usize>| {
            let mut t = RowTally::default();
            rows[range].iter().for_each(|r| t.add(r));
            t
        };
        let mut merged = part(150..200);
        merged.merge(part(0..60));
        merged.merge(RowTally::default());
        merged.merge(part(60..150));
        let mut from_parts = Summary::default();
        merged.finish(&mut from_parts);
        assert_eq!(
            serde_json::to_value(&whole).unwrap(),
            serde_json::to_value(&from_parts).unwrap()
        );
        assert!(whole.by_class.iter().all(|c| !c.examples.is_empty()));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(5.0));
        assert_eq!(percentile(&v, 95.0), Some(10.0));
        assert_eq!(percentile(&v, 90.0), Some(9.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
        let d = Distribution::of(&[3.0, f64::NAN, 1.0, 2.0]);
        assert_eq!(
            (d.samples, d.p50, d.p95, d.max),
            (3, Some(2.0), Some(3.0), Some(3.0))
        );
        assert_eq!(Distribution::of(&[]), Distribution::default());
    }

    #[test]
    fn bucket_width_follows_the_span() {
        let b = |span| bucket_for_span(span).1;
        assert_eq!(b(0), "1m");
        assert_eq!(b(2 * HOUR_MS), "1m");
        assert_eq!(b(2 * HOUR_MS + 1), "5m");
        assert_eq!(b(12 * HOUR_MS), "5m");
        assert_eq!(b(12 * HOUR_MS + 1), "1h");
        assert_eq!(b(7 * DAY_MS), "1h");
        assert_eq!(b(7 * DAY_MS + 1), "1d");
        assert_eq!(b(998 * DAY_MS), "1d");
        assert_eq!(b(999 * DAY_MS), "2d");
        assert_eq!(b(3000 * DAY_MS), "4d");
    }

    #[test]
    fn time_series_buckets_and_counts() {
        let mut rows = vec![
            denied("a", Some(T0 + 30_000), Some("waf_block")),
            denied("b", Some(T0 + 90_000), None),
            denied("c", Some(T0 + 95_000), Some("waf_block")),
            denied("d", None, Some("waf_block")),
        ];
        rows.push(RequestRow {
            request_id: "ok".into(),
            request_time_ms: Some(T0 + 150_000),
            status: Some(200),
            ..Default::default()
        });
        let mut s = Summary::default();
        s.count_rows(&rows);
        let ts = &s.time_series;
        assert_eq!((ts.bucket.as_str(), ts.bucket_seconds), ("1m", 60));
        assert_eq!(ts.start.as_deref(), Some("2025-11-03T09:00:00.000Z"));
        assert_eq!(ts.end.as_deref(), Some("2025-11-03T09:03:00.000Z"));
        assert_eq!(ts.untimed_denied, 1);
        let counts: Vec<(u64, Vec<(&str, u64)>)> = ts
            .buckets
            .iter()
            .map(|b| {
                (
                    b.requests,
                    b.counts.iter().map(|(k, v)| (k.as_str(), *v)).collect(),
                )
            })
            .collect();
        assert_eq!(
            counts,
            vec![
                (1, vec![("waf_block", 1)]),
                (2, vec![("undecided", 1), ("waf_block", 1)]),
                (1, vec![]),
            ]
        );
        assert_eq!(ts.buckets[1].start, "2025-11-03T09:01:00.000Z");
        assert_eq!(s.first_request.as_deref(), Some("2025-11-03T09:00:30.000Z"));
        assert_eq!(s.last_request.as_deref(), Some("2025-11-03T09:02:30.000Z"));
        // No time at all: no buckets, every denial untimed.
        let mut s = Summary::default();
        s.count_rows(&[denied("x", None, None)]);
        assert!(s.time_series.buckets.is_empty());
        assert_eq!(s.time_series.untimed_denied, 1);
    }

    #[test]
    fn class_times_examples_and_tops() {
        let mut rows = Vec::new();
        for (i, ip) in ["b", "a", "c", "a", "b", "d", "e", "f"].iter().enumerate() {
            let mut r = denied(
                &format!("r{i}"),
                Some(T0 + 1000 * (8 - i as i64)),
                Some("waf_block"),
            );
            r.source_ip = Some(format!("192.0.2.{ip}").into());
            r.resource_path = (i % 2 == 0).then(|| "/a".into());
            r.path = Some("/prod/x".into());
            r.identity_caller = Some("AROAX:bob".into());
            r.identity_user_arn = (i == 0).then(|| "arn:aws:iam::1:user/al".into());
            r.api_key_id = Some("-".into());
            rows.push(r);
        }
        rows.push(denied("late-no-time", None, Some("waf_block")));
        let mut s = Summary::default();
        s.count_rows(&rows);
        let c = &s.by_class[0];
        assert_eq!(c.count, 9);
        assert_eq!(c.first_seen.as_deref(), Some("2025-11-03T09:00:01.000Z"));
        assert_eq!(c.last_seen.as_deref(), Some("2025-11-03T09:00:08.000Z"));
        // Smallest time first: r7 (T0+1s) … r3; rows without time come last.
        assert_eq!(c.examples, ["r7", "r6", "r5", "r4", "r3"]);
        let tv = |v: &[TopValue]| -> Vec<(String, u64)> {
            v.iter().map(|t| (t.value.clone(), t.count)).collect()
        };
        assert_eq!(
            tv(&c.top_paths),
            [("/a".to_string(), 4), ("/prod/x".to_string(), 4)]
        );
        // Ties by value, at most five.
        assert_eq!(
            tv(&c.top_callers.source_ip),
            [
                ("192.0.2.a".to_string(), 2),
                ("192.0.2.b".to_string(), 2),
                ("192.0.2.c".to_string(), 1),
                ("192.0.2.d".to_string(), 1),
                ("192.0.2.e".to_string(), 1),
            ]
        );
        assert_eq!(
            tv(&c.top_callers.caller),
            [
                ("AROAX:bob".to_string(), 7),
                ("arn:aws:iam::1:user/al".to_string(), 1)
            ]
        );
        assert!(c.top_callers.api_key_id.is_empty(), "`-` is no value");
        assert_eq!(s.top_paths, c.top_paths);
        // Row order does not matter.
        let mut rev = rows.clone();
        rev.reverse();
        let mut s2 = Summary::default();
        s2.count_rows(&rev);
        assert_eq!(s, s2);
    }

    #[test]
    fn top_counts_stay_bounded_and_keep_the_frequent_values() {
        // A flood from 30,000 addresses, two of them heavy (7,000 and 3,000 rows), over
        // 40,000 denied rows, counted in runs of 4,000 rows merged in order as the run does.
        let n = 40_000u64;
        let rows: Vec<RequestRow> = (0..n)
            .map(|i| {
                let mut r = denied(&format!("r{i}"), Some(T0 + i as i64), Some("waf_block"));
                r.source_ip = Some(match i % 4 {
                    0 if i < 28_000 => "198.51.100.7".into(),
                    1 if i < 12_000 => "198.51.100.9".into(),
                    _ => format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255).into(),
                });
                r.resource_path = Some("/payments".into());
                r
            })
            .collect();
        let tally = |rows: &[RequestRow]| {
            let mut all = RowTally::default();
            for chunk in rows.chunks(4_000) {
                let mut t = RowTally::default();
                chunk.iter().for_each(|r| t.add(r));
                all.merge(t);
            }
            let mut s = Summary::default();
            all.finish(&mut s);
            s
        };
        let s = tally(&rows);
        assert!(s.tops_approximate && s.by_class[0].tops_approximate);
        let ips = &s.top_callers.source_ip;
        assert_eq!(ips[0].value, "198.51.100.7");
        assert_eq!(ips[1].value, "198.51.100.9");
        // Low by at most n / (TOP_KEEP + 1), never high.
        let slack = n / (TOP_KEEP as u64 + 1);
        assert!((7_000 - slack..=7_000).contains(&ips[0].count), "{ips:?}");
        assert!((3_000 - slack..=3_000).contains(&ips[1].count), "{ips:?}");
        // A list with few values stays exact, and the same rows give the same summary.
        assert_eq!(s.top_paths[0].count, n);
        assert_eq!(s, tally(&rows));
        // Under the bound nothing is approximate.
        let few = tally(&rows[..TOP_KEEP]);
        assert!(!few.tops_approximate);
        let json = serde_json::to_string(&few).unwrap();
        assert!(!json.contains("tops_approximate"), "absent when exact");
        let note = crate::report::tops_note(&s).unwrap();
        assert!(note.contains("4,096 distinct values"), "{note}");
        assert!(crate::report::tops_note(&few).is_none());
    }

    #[test]
    fn invocations_stats_and_histogram() {
        let mut rows = vec![
            inv("1", Some(0.5), Some(Decision::Allow)),
            inv("2", Some(1.0), Some(Decision::Deny)),
            inv("3", Some(4.99), Some(Decision::Error)),
            inv("4", Some(5.0), Some(Decision::Timeout)),
            inv("5", Some(45_000.0), None),
            inv("6", None, Some(Decision::Unauthorized)),
        ];
        rows[0].request_id = Some("req".into());
        rows[0].match_method = Some(MatchMethod::AuthorizerRequestId);
        rows[1].match_method = Some(MatchMethod::Ambiguous);
        rows[2].invocation.init_duration_ms = Some(180.0);
        rows[2].invocation.start_time_ms = Some(T0);
        rows[3].invocation.start_time_ms = Some(T0 + 5000);
        let mut s = Summary::default();
        s.count_invocations(&rows, 2);
        let a = &s.authorizer;
        assert_eq!((a.invocations, a.matched, a.unmatched), (6, 1, 5));
        assert_eq!(a.by_match_method["authorizer_request_id"], 1);
        assert_eq!(a.decisions["unknown"], 1);
        assert_eq!(a.decisions["allow"], 1);
        assert_eq!(
            (a.errors, a.timeouts, a.cold_starts, a.duplicates),
            (1, 1, 1, 2)
        );
        assert_eq!(a.duration_ms.samples, 5);
        assert_eq!(a.duration_ms.p50, Some(4.99));
        assert_eq!(a.duration_ms.p99, Some(45_000.0));
        assert_eq!(a.init_duration_ms.max, Some(180.0));
        let h: Vec<u64> = a.duration_histogram.iter().map(|b| b.count).collect();
        assert_eq!(h, [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(a.duration_histogram.len(), DURATION_BUCKET_EDGES_MS.len());
        assert_eq!(a.duration_histogram[1].upper_ms, Some(2.0));
        assert_eq!(a.duration_histogram[15].upper_ms, None);
        assert_eq!(
            s.coverage,
            [SourceCoverage {
                source: "l.log".into(),
                log: "authorizer".into(),
                records: 6,
                first: Some("2025-11-03T09:00:00.000Z".into()),
                last: Some("2025-11-03T09:00:05.000Z".into()),
            }]
        );
        // Counting again replaces, it does not add.
        s.count_invocations(&rows, 2);
        assert_eq!(s.authorizer.invocations, 6);
        assert_eq!(s.coverage.len(), 1);
    }

    #[test]
    fn cache_estimate_only_where_the_format_tells() {
        let r = |id: &'static str, auth_req: Option<&'static str>, vars: &[&str]| RequestRow {
            request_id: id.into(),
            authorizer_status: Some(200),
            authorizer_request_id: auth_req.map(Into::into),
            access_vars: vars.join(ACCESS_VARS_SEPARATOR).into(),
            ..Default::default()
        };
        let k = ["authorizer.status", "authorizer.requestId"];
        let rows = vec![
            r("1", Some("l1"), &k),
            r("2", None, &k),
            r("3", None, &k),
            r("4", None, &["authorizer.status"]),
            RequestRow {
                authorizer_status: Some(403),
                access_vars: k.join(ACCESS_VARS_SEPARATOR).into(),
                ..Default::default()
            },
        ];
        let mut s = Summary::default();
        s.count_rows(&rows);
        assert_eq!(s.authorizer.cache_estimate_requests, 3);
        assert_eq!(s.authorizer.estimated_cache_hit_ratio, Some(0.6667));
        // count_invocations keeps the estimate.
        s.count_invocations(&[], 0);
        assert_eq!(s.authorizer.estimated_cache_hit_ratio, Some(0.6667));
        let mut s = Summary::default();
        s.count_rows(&rows[3..4]);
        assert_eq!(s.authorizer.estimated_cache_hit_ratio, None);
    }

    #[test]
    fn text_table_keeps_its_lines() {
        let rows = vec![
            denied("a", Some(T0), Some("waf_block")),
            denied("b", Some(T0), None),
        ];
        let mut s = Summary::default();
        s.count_rows(&rows);
        let t = s.render_text();
        assert!(
            t.starts_with("2 requests, 2 denied (2 refused by the gateway, 0 by the backend)\n")
        );
        let line = |p: &str, c: &str, conf: &str| {
            format!("  {p:<16} {c:<32} {:>7} {:>6.1}%  {conf}\n", 1, 50.0)
        };
        assert!(t.contains(&line("waf", "waf_block", "high 1")), "{t}");
        assert!(t.contains(&line("unknown", "(undecided)", "none 1")), "{t}");
        assert!(t.contains("  waf              waf_block "));
    }

    #[test]
    fn json_round_trip_and_old_documents() {
        let mut s = Summary::default();
        s.count_rows(&[denied("a", Some(T0), Some("waf_block"))]);
        s.count_invocations(&[inv("1", Some(3.0), Some(Decision::Deny))], 0);
        s.run.timings_s.insert("total".into(), 0.5);
        let j = serde_json::to_string(&s).unwrap();
        let back: Summary = serde_json::from_str(&j).unwrap();
        assert_eq!(back, s);
        // A document from before the new fields still reads.
        let old = r#"{"schema_version":1,"requests":3,"refused":1,"denied":1,
            "by_class":[{"phase":"waf","class":"waf_block","count":1,"share":1.0,
            "confidence":{"high":1},"examples":["a"]}],"authorizer":{"invocations":2}}"#;
        let s: Summary = serde_json::from_str(old).unwrap();
        assert_eq!(s.by_class[0].first_seen, None);
        assert_eq!(s.authorizer.invocations, 2);
    }
}

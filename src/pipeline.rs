//! The `analyze` job: the only module that knows every stage. Files are read in parallel
//! (rayon, one task per file, results collected in file order), records are joined and
//! classified, and the dataset is written through the staging directory.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rayon::prelude::*;

use crate::classify::{self, Facts};
use crate::input::{self, ContainerKind, Frame, InputFile};
use crate::intern::{self, Name};
use crate::invstore::{BodyBatch, InvocationHead, InvocationStore};
use crate::join::{self, Linker};
use crate::memlimit::LimitFrom;
use crate::model::{
    excerpt, Chunked, Event, Invocation, InvocationRow, LogKind, Origin, Reject, RejectReason,
    RequestRow, Text, ACCESS_VARS_SEPARATOR,
};
use crate::records::access::{AccessParser, AccessRecord, Parsed};
use crate::records::authorizer::{looks_like_lambda, AuthorizerLog, LambdaLine};
use crate::records::execution::{self, ExecFacts, ExecutionLog};
use crate::records::format::Format;
use crate::records::vars::Var;
use crate::redact;
use crate::sink::dataset::{DatasetOptions, DatasetWriter};
use crate::sink::parquet::Compression;
use crate::spill::{ShardBatch, ShardStore, SpillError};
use crate::summary::{InputStats, InvocationTally, MappingUse, RowTally, Summary};

/// Lines after which a source whose every line failed gets an early warning.
const EARLY_WARNING_LINES: u64 = 10_000;

/// What [`analyze`] reports as it goes, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The inputs were found: this many bytes to read, as stored (gzip compressed).
    Start {
        /// Bytes of all input files (stdin counts 0).
        bytes: u64,
    },
    /// A file, or a chunk of one, was read: its bytes as stored.
    Read {
        /// Bytes of that file or chunk.
        bytes: u64,
    },
    /// Reading is over and a later phase began: `join`, `classify and write`, `finish`.
    Phase(&'static str),
}

/// What `analyze` needs, already validated.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// Input paths (`-` = stdin).
    pub inputs: Vec<PathBuf>,
    /// Output dataset directory.
    pub out: PathBuf,
    /// The stages' access-log formats, when given.
    pub access_formats: AccessFormats,
    /// Force a container instead of detecting it.
    pub container: Option<ContainerKind>,
    /// Force the log kind of every input.
    pub kind: Option<LogKind>,
    /// Worker threads (None: all cores).
    pub threads: Option<usize>,
    /// Clear the whole dataset first.
    pub overwrite: bool,
    /// Rejected lines kept per reason in `rejects.ndjson`.
    pub rejects_per_reason: usize,
    /// Parquet compression.
    pub compression: Compression,
    /// Rows per Parquet part file.
    pub max_rows_per_file: usize,
    /// A run id (staging dir name, manifest).
    pub run_id: String,
    /// Which requests to keep (`--since`, `--until`, `--api-id`, `--stage`).
    pub filter: Filter,
    /// `(s3 location, database)` for `athena.sql`, when asked for.
    pub athena: Option<(String, String)>,
    /// Reports to write besides the tables.
    pub reports: Reports,
    /// The memory budget of the join (`--memory-limit`), bytes: past it, records spill to
    /// disk by request-key hash.
    pub memory_limit: usize,
    /// Where `memory_limit` came from: the flag, the default or a container's limit.
    pub memory_limit_from: LimitFrom,
    /// Where spill files go (`--spill-dir`); by default the output's staging directory.
    pub spill_dir: Option<PathBuf>,
    /// What `--api-config` says about the APIs (empty without it).
    pub api_config: Arc<crate::apiconfig::ApiConfig>,
}

/// Plain access logs larger than twice this are read in chunks of at least this size.
const CHUNK_MIN_BYTES: u64 = 32 << 20;

/// Blocks of a file read in blocks that may wait for a thread at once.
const MAX_QUEUED_BLOCKS: usize = 4;

/// A file that cannot be cut (gzip, JSON containers) at least this large on disk (for gzip,
/// some 40–100 MB of text) is read in blocks (in unit tests, the sample data's are).
const BLOCKS_MIN_BYTES: u64 = if cfg!(test) { 4 << 10 } else { 8 << 20 };

/// A worker hands its records to the shard store every this many estimated bytes.
const BATCH_BYTES: usize = 1 << 20;

/// Rows a summary tally counts before it is merged into the group's (in row order).
const TALLY_ROWS: usize = 16_384;

/// A group of joined requests on its way to the writer: the requests, their output order
/// (indexes into `requests`), each row's linked invocation read back from the store (in that
/// order), and the day before which no later group has a row.
struct Group {
    requests: Vec<join::Joined>,
    order: Vec<usize>,
    invocations: Vec<Option<(Invocation, crate::model::MatchMethod)>>,
    next_day: Option<i64>,
}

/// Invocation rows made and written at once.
const INVOCATION_ROWS_AT_ONCE: usize = 1 << 16;

/// Invocation bodies a worker encodes before handing them to the store.
const BODIES_AT_ONCE: usize = 4096;

/// Estimated bytes in memory per byte of (uncompressed) input once parsed, and per byte of
/// a parsed record once it is a classified row: sizing the shards and groups.
const RECORD_MEM_PER_INPUT_BYTE: f64 = 2.0;
const ROW_MEM_PER_RECORD_MEM: f64 = 2.5;

/// How the memory budget is shared: records held while parsing (40 %), two groups of
/// units (20 % each), one being classified while the other is written, the row groups
/// the Parquet writers fill (10 %), and the authorizer invocations' bodies (10 %; past
/// that they are written to the spill directory and read back by offset).
fn budgets(limit: usize) -> (usize, usize, usize, usize) {
    let held = limit / 5 * 2;
    let group = ((limit as f64 * 0.2) / (1.0 + ROW_MEM_PER_RECORD_MEM)) as usize;
    (
        held,
        group.max(1 << 20),
        (limit / 10).max(4 << 20),
        limit / 10,
    )
}

/// The invocations' heads stay in memory from parsing to the end of the join, beside the
/// shares of [`budgets`]; up to a tenth of the limit they cost nothing. What they hold past
/// that is taken from the records held while parsing ([`ShardStore::yield_to`]) and, after
/// parsing, from the units and the two groups (these are not in memory at the same time as
/// the held records), each share down to a quarter ([`crate::spill::shrunk`]): heads up to
/// [`heads_absorbed`] keep the peak at the limit.
fn heads_excess(head_bytes: usize, limit: usize) -> usize {
    head_bytes.saturating_sub(limit / 10)
}

/// The most heads the shares can make room for: the tenth of the limit they start with, and
/// three quarters of the held share, or of the two groups' (0.1 + 0.3 of the limit).
fn heads_absorbed(limit: usize) -> usize {
    limit / 10 * 4
}

/// What the run says when the heads hold more than the limit can make room for
/// ([`heads_absorbed`]); `None` while they fit.
fn heads_note(invocations: usize, head_bytes: usize, limit: usize) -> Option<String> {
    let absorbed = heads_absorbed(limit);
    (head_bytes > absorbed).then(|| {
        format!(
            "the heads of {invocations} authorizer invocations are kept in memory for the join (about {} MiB), more than --memory-limit {} MiB makes room for (about {} MiB): the peak may pass the limit by up to {} MiB; raise the limit, or run over fewer days of authorizer logs",
            head_bytes >> 20,
            limit >> 20,
            absorbed >> 20,
            (head_bytes - absorbed) >> 20,
        )
    })
}

/// A group's budget once the heads hold `excess` bytes past their tenth: the two groups
/// (each the group's records and their rows) give up that much between them.
fn group_budget_with_heads(group: usize, excess: usize) -> usize {
    let per_group = (excess as f64 / (2.0 * (1.0 + ROW_MEM_PER_RECORD_MEM))) as usize;
    crate::spill::shrunk(group, per_group)
}

/// Expected bytes of text in a file: its size, or ten times that for gzip (the usual ratio
/// of text logs); `None` for stdin.
fn text_bytes(f: &InputFile) -> Option<u64> {
    let n = f.size?;
    Some(if f.display.ends_with(".gz") {
        n.saturating_mul(10)
    } else {
        n
    })
}

/// Number of hash shards a day: enough that one shard of the expected input fits in a group
/// even when the input is all one day.
fn shard_count(files: &[InputFile], limit: usize) -> usize {
    let bytes: f64 = files
        .iter()
        // stdin: as many shards as the limit allows.
        .map(|f| text_bytes(f).map_or(f64::MAX / 4.0, |n| n as f64))
        .sum();
    let (_, group, _, _) = budgets(limit);
    let need = (bytes * RECORD_MEM_PER_INPUT_BYTE / group as f64).ceil() as usize;
    need.min(1 << 20).next_power_of_two().clamp(16, 1024)
}

/// Which report files a run writes (`--report`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reports {
    /// `summary.json`.
    pub json: bool,
    /// `summary.md`.
    pub markdown: bool,
    /// `report.html`.
    pub html: bool,
}

impl Default for Reports {
    fn default() -> Self {
        Reports {
            json: true,
            markdown: true,
            html: true,
        }
    }
}

/// The access-log formats the user gave: one for every source, and per stage.
#[derive(Debug, Clone, Default)]
pub struct AccessFormats {
    /// For sources whose stage has no format of its own (or is unknown).
    pub default: Option<Arc<Format>>,
    /// `(api id or any, stage)` → format.
    pub per_stage: Vec<(StageKey, Arc<Format>)>,
}

/// `(api id, or any api; stage)` a format applies to.
pub type StageKey = (Option<String>, String);

impl AccessFormats {
    /// Index of the format for a source of `api_stage` (0: the default), and the format.
    fn pick(&self, api_stage: Option<(&str, &str)>) -> (usize, Option<Arc<Format>>) {
        if let Some((api, stage)) = api_stage {
            let hit = self
                .per_stage
                .iter()
                .position(|((a, s), _)| s == stage && a.as_deref().is_none_or(|a| a == api));
            if let Some(i) = hit {
                return (i + 1, Some(self.per_stage[i].1.clone()));
            }
        }
        (0, self.default.clone())
    }
}

/// Which requests a run keeps. Times apply to the request time (else the CloudWatch event
/// time); api id and stage drop only requests known to belong elsewhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Keep requests at or after this instant (epoch ms).
    pub since_ms: Option<i64>,
    /// Keep requests before this instant (epoch ms).
    pub until_ms: Option<i64>,
    /// Keep only this API.
    pub api_id: Option<String>,
    /// Keep only this stage.
    pub stage: Option<String>,
}

impl Filter {
    /// Whether an instant is inside the window (an unknown time is kept).
    pub fn keeps_time(&self, t: Option<i64>) -> bool {
        t.is_none_or(|t| {
            self.since_ms.is_none_or(|s| t >= s) && self.until_ms.is_none_or(|u| t < u)
        })
    }

    /// Whether a request passes the filter.
    fn keeps(&self, a: &AccessRecord) -> bool {
        let t = a.time_ms();
        let differs = |want: &Option<String>, have: Option<&str>| matches!((want, have), (Some(w), Some(h)) if w != h);
        self.keeps_time(t) && !differs(&self.api_id, a.api_id()) && !differs(&self.stage, a.stage())
    }

    /// Whether the filter keeps everything.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }
}

/// Parses `--since` / `--until`: RFC 3339 (UTC when no offset) or a duration before `now_ms`
/// such as `90m`, `2h`, `3d`, `1w`.
pub fn parse_when(s: &str, now_ms: i64) -> Option<i64> {
    if let Some(t) = crate::time::parse_iso(s) {
        return Some(t);
    }
    // The short forms people type: a day (midnight UTC), or a time without seconds.
    let t = s.trim();
    let b = t.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        return crate::time::parse_iso(&format!("{t}T00:00:00Z"));
    }
    if b.len() >= 16
        && (b[10] == b'T' || b[10] == b' ')
        && b[13] == b':'
        && b.get(16) != Some(&b':')
    {
        return crate::time::parse_iso(&format!("{}:00{}", &t[..16], &t[16..]));
    }
    let s = s.trim().trim_start_matches('-');
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().ok()?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return None,
    };
    Some(now_ms - n.checked_mul(unit_ms)?)
}

/// Errors that stop the job.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Bad input paths.
    #[error(transparent)]
    Input(#[from] input::InputError),
    /// `--out` cannot hold a dataset (not writable, not a gatelog dataset, busy).
    #[error("--out: {0}")]
    Out(crate::sink::dataset::SinkError),
    /// The output could not be written.
    #[error(transparent)]
    Sink(#[from] crate::sink::dataset::SinkError),
    /// The join's spill files could not be written or read.
    #[error(transparent)]
    Spill(#[from] crate::spill::SpillError),
    /// Ctrl-C or a termination signal: nothing was written under a final name.
    #[error(transparent)]
    Interrupted(#[from] crate::interrupt::Interrupted),
    /// The Athena location or database is not usable.
    #[error(transparent)]
    Ddl(#[from] crate::sink::sql::DdlError),
    /// Thread pool setup failed.
    #[error("cannot start {threads} worker threads: {msg}")]
    Threads {
        /// Requested threads.
        threads: usize,
        /// Why.
        msg: String,
    },
}

/// What a finished run reports.
#[derive(Debug)]
pub struct AnalyzeOutcome {
    /// The summary (also written as summary.json).
    pub summary: Summary,
    /// Files under the output directory that this run wrote.
    pub written: Vec<String>,
    /// Leftover staging dirs of killed runs that were removed.
    pub stale_staging_removed: usize,
    /// Wall time per stage, seconds.
    pub timings: BTreeMap<String, f64>,
    /// Requests dropped by `--since` / `--until` / `--api-id` / `--stage`.
    pub filtered_out: usize,
}

/// Per-file work state.
struct FileWork<'a> {
    file: &'a InputFile,
    path_group: Option<Arc<str>>,
    forced: Option<LogKind>,
    sticky: Option<LogKind>,
    /// One parser per format in use (index of [`AccessFormats::pick`]).
    access: Vec<Option<AccessParser>>,
    formats: &'a AccessFormats,
    authz: AuthorizerLog,
    /// The invocations `authz` has handed over, on their way to the store (kept between
    /// lines for its capacity).
    done: Vec<Invocation>,
    exec: ExecutionLog,
    store: &'a ShardStore,
    batch: ShardBatch,
    /// Where invocation bodies go, and this file's not yet handed over.
    bodies: &'a InvocationStore,
    body_batch: BodyBatch,
    heads: Vec<Vec<InvocationHead>>,
    body_error: Option<SpillError>,
    /// `--memory-limit`: the heads past a share of it take room from the store's.
    memory_limit: usize,
    stats: InputStats,
    rejects: Vec<Reject>,
    rejects_per_reason: usize,
    mappings: BTreeMap<(String, Vec<String>), u64>,
    /// The mapping of the latest records and how many there were, counted into `mappings`
    /// when it changes: a file's records nearly always share one.
    last_mapping: Option<(Name, Vec<String>, u64)>,
    lines_ok: u64,
    warned: bool,
}

/// What one file yielded besides the records it handed to the shard store.
struct FileResult {
    /// The heads of its invocations, in chunks as they were handed to the store.
    invocations: Vec<Vec<InvocationHead>>,
    /// Storing an invocation body failed (the spill disk is full).
    body_error: Option<SpillError>,
    stats: InputStats,
    rejects: Vec<Reject>,
    mappings: BTreeMap<(String, Vec<String>), u64>,
}

fn kind_of_group(group: &str) -> Option<LogKind> {
    if group.starts_with("/aws/lambda/") {
        Some(LogKind::Authorizer)
    } else if group.starts_with("API-Gateway-Execution-Logs_") {
        Some(LogKind::Execution)
    } else {
        None
    }
}

/// `(api_id, stage)` named by a log group, for the common naming conventions.
fn group_api(group: &str) -> Option<(&str, &str)> {
    let rest = group
        .strip_prefix("API-Gateway-Execution-Logs_")
        .or_else(|| group.strip_prefix("/aws/apigateway/"))?;
    let (api, stage) = rest.split_once('/')?;
    (!api.is_empty() && !stage.is_empty() && !stage.contains('/')).then_some((api, stage))
}

fn looks_like_execution(msg: &str) -> bool {
    execution::split_line(msg).is_some()
}

impl<'a> FileWork<'a> {
    fn reject(&mut self, r: Reject) {
        *self
            .stats
            .rejected
            .entry(r.reason.as_str().to_string())
            .or_default() += 1;
        let same = self.rejects.iter().filter(|x| x.reason == r.reason).count();
        if same < self.rejects_per_reason {
            self.rejects.push(r);
        }
        self.maybe_warn();
    }

    fn maybe_warn(&mut self) {
        let rejected = self.stats.rejected_total();
        if !self.warned && self.lines_ok == 0 && rejected >= EARLY_WARNING_LINES {
            self.warned = true;
            eprintln!(
                "gatelog: warning: the first {rejected} lines of {} could not be read (first reason: {}); wrong --access-format or --container?",
                self.file.display,
                self.rejects.first().map(|r| r.detail.as_str()).unwrap_or("?")
            );
        }
    }

    fn skip(&mut self, reason: &str) {
        *self.stats.skipped.entry(reason.to_string()).or_default() += 1;
    }

    fn event(&mut self, ev: &Event<'_>) {
        self.stats.events += 1;
        let path_group = self.path_group.clone();
        let group = ev.log_group.or(path_group.as_deref());
        let kind = self
            .forced
            .or_else(|| group.and_then(kind_of_group))
            .or_else(|| {
                if looks_like_lambda(ev.message) {
                    Some(LogKind::Authorizer)
                } else if looks_like_execution(ev.message) {
                    Some(LogKind::Execution)
                } else {
                    None
                }
            });
        match kind {
            Some(LogKind::Authorizer) => self.lambda(ev, group),
            Some(LogKind::Execution) => {
                let pair = group.and_then(group_api);
                if self.exec.push(ev.message, ev.log_time_ms, ev.origin, pair) {
                    if self.exec.has_stale() {
                        for (id, f) in self.exec.drain_stale() {
                            self.batch.exec(self.store, id, f);
                        }
                        if self.batch.mem() >= BATCH_BYTES {
                            self.store.add(&mut self.batch);
                        }
                    }
                    self.stats.execution_lines += 1;
                    self.lines_ok += 1;
                    self.sticky = Some(LogKind::Execution);
                } else {
                    // A line of an execution-log group without the `(id)` prefix (continuations).
                    self.skip("execution_other_line");
                }
            }
            Some(LogKind::Access) | None => self.access(ev, group, kind.is_some()),
        }
    }

    fn lambda(&mut self, ev: &Event<'_>, group: Option<&str>) {
        let function = group.and_then(|g| g.strip_prefix("/aws/lambda/"));
        let line = self.authz.push(ev, function);
        // Invocations the log has moved past go to the store as they are done.
        let mut done = std::mem::take(&mut self.done);
        self.authz.take_done_into(&mut done);
        for v in done.drain(..) {
            self.store_invocation(&v);
        }
        self.done = done;
        match line {
            LambdaLine::Platform | LambdaLine::Application => {
                self.stats.authorizer_lines += 1;
                self.lines_ok += 1;
                self.sticky = Some(LogKind::Authorizer);
            }
            // The function's own output (print(), continuation lines).
            LambdaLine::Other => self.skip("lambda_other_output"),
        }
    }

    /// Encodes an assembled invocation; the bodies go to the store a batch at a time.
    fn store_invocation(&mut self, v: &Invocation) {
        self.body_batch.push(v);
        if self.body_batch.len() >= BODIES_AT_ONCE {
            self.hand_over_bodies();
        }
    }

    fn hand_over_bodies(&mut self) {
        if self.body_batch.is_empty() || self.body_error.is_some() {
            return;
        }
        match self.bodies.add(&mut self.body_batch) {
            Ok(heads) => {
                self.heads.push(heads);
                let excess = heads_excess(self.bodies.head_bytes(), self.memory_limit);
                self.store.yield_to(excess);
            }
            Err(e) => self.body_error = Some(e),
        }
    }

    fn count_mapping(&mut self, mapping: &Name, ambiguous: &[String]) {
        match &mut self.last_mapping {
            Some((m, a, n)) if **m == **mapping && a.as_slice() == ambiguous => *n += 1,
            _ => {
                self.flush_mapping();
                self.last_mapping = Some((mapping.clone(), ambiguous.to_vec(), 1));
            }
        }
    }

    fn flush_mapping(&mut self) {
        if let Some((m, a, n)) = self.last_mapping.take() {
            *self.mappings.entry((m.to_string(), a)).or_default() += n;
        }
    }

    fn access(&mut self, ev: &Event<'_>, group: Option<&str>, forced: bool) {
        let api_stage = group.and_then(group_api);
        let (slot, format) = self.formats.pick(api_stage);
        if self.access.len() <= slot {
            self.access.resize_with(slot + 1, || None);
        }
        let parser = self.access[slot].get_or_insert_with(|| AccessParser::new(format));
        match parser.parse(ev.message, ev.origin) {
            Ok(Parsed::Record(mut rec)) => {
                rec.log_time_ms = ev.log_time_ms;
                if rec.get(Var::ApiId).is_none() || rec.get(Var::Stage).is_none() {
                    rec.group_api = api_stage.map(|(a, s)| (intern::name(a), intern::name(s)));
                }
                self.count_mapping(&rec.mapping, &rec.ambiguous);
                self.stats.access_records += 1;
                self.lines_ok += 1;
                self.sticky = Some(LogKind::Access);
                self.batch.access(self.store, *rec);
                if self.batch.mem() >= BATCH_BYTES {
                    self.store.add(&mut self.batch);
                }
            }
            Ok(Parsed::NotAccess) => {
                if self.sticky == Some(LogKind::Authorizer) {
                    // A Lambda stream's own output line.
                    self.lambda(ev, group);
                } else if forced {
                    self.reject(Reject {
                        origin: ev.origin,
                        reason: RejectReason::AccessLayoutMismatch,
                        detail: format!(
                            "{}:{}: not an access record of any known layout; pass the stage's format with --access-format",
                            self.file.display, ev.origin.line
                        ),
                        excerpt: redact::scrub(&excerpt(ev.message.as_bytes())).into_owned(),
                    });
                } else {
                    self.skip("unrelated_line");
                }
            }
            Err(e) => {
                let reason = match e {
                    crate::records::access::AccessError::Json(_) => RejectReason::MalformedJson,
                    crate::records::access::AccessError::MissingRequestId => {
                        RejectReason::MissingRequestId
                    }
                    crate::records::access::AccessError::Layout(_) => {
                        RejectReason::AccessLayoutMismatch
                    }
                };
                self.reject(Reject {
                    origin: ev.origin,
                    reason,
                    detail: format!("{}:{}: {e}", self.file.display, ev.origin.line),
                    excerpt: redact::scrub(&excerpt(ev.message.as_bytes())).into_owned(),
                });
            }
        }
    }
}

/// How one unit of the reading is read.
enum Piece {
    /// The whole file, on one thread.
    Whole,
    /// A record-aligned byte range of a large plain file.
    Chunk(input::Chunk),
    /// A large file that cannot be cut (gzip, JSON containers), decompressed and framed on
    /// one thread, its records handled a block at a time on any when it is an access log.
    Blocks,
}

impl<'a> FileWork<'a> {
    /// The work of reading `file` (or a part of it: `first` is false for every part after the
    /// first, which neither counts the file again nor warns about the file's first lines).
    fn new(
        file: &'a InputFile,
        first: bool,
        opts: &'a AnalyzeOptions,
        store: &'a ShardStore,
        bodies: &'a InvocationStore,
    ) -> Self {
        FileWork {
            file,
            path_group: input::log_group_from_path(&file.display).map(Arc::from),
            forced: opts.kind,
            sticky: None,
            access: Vec::new(),
            formats: &opts.access_formats,
            authz: AuthorizerLog::new(),
            done: Vec::new(),
            exec: ExecutionLog::new(),
            store,
            batch: ShardBatch::default(),
            bodies,
            body_batch: BodyBatch::default(),
            heads: Vec::new(),
            body_error: None,
            memory_limit: opts.memory_limit,
            stats: InputStats {
                files: u64::from(first),
                ..Default::default()
            },
            rejects: Vec::new(),
            rejects_per_reason: opts.rejects_per_reason,
            mappings: BTreeMap::new(),
            last_mapping: None,
            lines_ok: 0,
            warned: !first,
        }
    }

    fn frame(&mut self, frame: Frame<'_>) {
        match frame {
            Frame::Event(ev) => self.event(&ev),
            Frame::Reject(r) => {
                eprintln!("gatelog: {}", r.detail);
                self.reject(r)
            }
            Frame::Skip { reason, .. } => self.skip(reason),
        }
    }

    /// Ends the work: what is still held goes to the stores.
    fn finish(mut self) -> FileResult {
        self.flush_mapping();
        for (id, f) in std::mem::take(&mut self.exec).finish() {
            self.batch.exec(self.store, id, f);
        }
        self.store.add(&mut self.batch);
        let authz = std::mem::take(&mut self.authz);
        authz.finish_each(|v| self.store_invocation(&v));
        self.hand_over_bodies();
        FileResult {
            invocations: self.heads,
            body_error: self.body_error,
            stats: self.stats,
            rejects: self.rejects,
            mappings: self.mappings,
        }
    }
}

impl FileResult {
    /// Adds the result of the next part of the same file (rejects kept up to `per_reason` of
    /// each reason, the earliest first, as one reading of the whole file keeps them).
    fn append(&mut self, next: FileResult, per_reason: usize) {
        self.invocations.extend(next.invocations);
        if self.body_error.is_none() {
            self.body_error = next.body_error;
        }
        self.stats.add(&next.stats);
        for r in next.rejects {
            if self.rejects.iter().filter(|x| x.reason == r.reason).count() < per_reason {
                self.rejects.push(r);
            }
        }
        for (k, n) in next.mappings {
            *self.mappings.entry(k).or_default() += n;
        }
    }

    /// Counts what the reading itself reported: the bytes, the container's duplicates, or the
    /// error that kept the file from being read.
    fn read_result(&mut self, file: &InputFile, res: Result<input::FrameStats, input::InputError>) {
        match res {
            Ok(fs) => {
                self.stats.bytes_in += fs.bytes_in;
                self.stats.bytes_out += fs.bytes_out;
                self.stats.container_duplicates += fs.duplicates;
            }
            Err(e) => {
                eprintln!("gatelog: {e}");
                let r = Reject {
                    origin: Origin {
                        file: file.id,
                        line: 0,
                        offset: 0,
                    },
                    reason: RejectReason::Unreadable,
                    detail: e.to_string(),
                    excerpt: String::new(),
                };
                *self
                    .stats
                    .rejected
                    .entry(r.reason.as_str().to_string())
                    .or_default() += 1;
                self.rejects.push(r);
            }
        }
    }
}

/// Reads one file, one record-aligned chunk of a large one, or a large file that cannot be
/// cut in blocks.
fn process_file(
    file: &InputFile,
    piece: &Piece,
    opts: &AnalyzeOptions,
    store: &ShardStore,
    bodies: &InvocationStore,
) -> FileResult {
    let chunk = match piece {
        Piece::Blocks => return process_blocks(file, opts, store, bodies),
        Piece::Chunk(c) => Some(c),
        Piece::Whole => None,
    };
    let mut w = FileWork::new(
        file,
        chunk.is_none_or(|c| c.start == 0),
        opts,
        store,
        bodies,
    );
    let res = match chunk {
        Some(c) => input::read_chunk(file, c, &mut |f| w.frame(f)),
        None => input::read_file(file, opts.container, &mut |f| w.frame(f)),
    };
    let mut r = w.finish();
    r.read_result(file, res);
    r
}

/// Whether the records of a file whose first block is `block` can be handled block by
/// block, in any order: its events are access records (by `--log-kind`, by their log group,
/// else by not looking like a Lambda or execution log line).
fn blocks_are_independent(
    block: &input::FrameBlock,
    path_group: Option<&str>,
    forced: Option<LogKind>,
) -> bool {
    if let Some(kind) = forced {
        return kind == LogKind::Access;
    }
    let mut events = block.events().peekable();
    events.peek().is_some()
        && events.all(
            |(group, msg)| match group.or(path_group).and_then(kind_of_group) {
                Some(kind) => kind == LogKind::Access,
                None => !looks_like_lambda(msg) && !looks_like_execution(msg),
            },
        )
}

/// Reads a large file that cannot be cut (see [`input::plan_blocks`]): this thread
/// decompresses and frames it. When its first block shows an access log, each block of
/// frames is handled on another thread of the pool when one is free, else on this one (so
/// no more than a block per thread waits in memory), and the blocks' results are put
/// together in block order: the same whatever the threads. Otherwise (a Lambda or
/// execution log, whose lines depend on the lines before) one reader takes every block in
/// order, as reading the file whole would.
fn process_blocks(
    file: &InputFile,
    opts: &AnalyzeOptions,
    store: &ShardStore,
    bodies: &InvocationStore,
) -> FileResult {
    let results: Mutex<Vec<(usize, FileResult)>> = Mutex::new(Vec::new());
    let queued = AtomicUsize::new(0);
    // A few waiting blocks keep the parsing threads busy (the one reading thread cannot feed
    // more than three or four); the cap bounds their memory whatever `--threads` says.
    let max_queued = rayon::current_num_threads().min(MAX_QUEUED_BLOCKS);
    let path_group = input::log_group_from_path(&file.display);
    // Replayed blocks come back for reuse: at most the waiting ones, the one the reading thread
    // parses and the one being filled exist at any time.
    let spare = Mutex::new(Vec::new());
    let handle = |k: usize, mut block: input::FrameBlock| {
        let mut w = FileWork::new(file, k == 0, opts, store, bodies);
        block.replay(&mut |f| w.frame(f));
        spare.lock().unwrap_or_else(|e| e.into_inner()).push(block);
        let r = w.finish();
        results
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((k, r));
    };
    // The one reader of a file whose blocks depend on each other.
    let mut in_order: Option<FileWork> = None;
    let res = rayon::scope(|scope| {
        let mut k = 0;
        let mut parallel = false;
        input::read_file_in_blocks(
            file,
            opts.container,
            input::BLOCK_BYTES,
            &spare,
            &mut |mut block| {
                if k == 0 {
                    parallel = blocks_are_independent(&block, path_group.as_deref(), opts.kind);
                }
                if !parallel {
                    let w = in_order
                        .get_or_insert_with(|| FileWork::new(file, true, opts, store, bodies));
                    block.replay(&mut |f| w.frame(f));
                    spare.lock().unwrap_or_else(|e| e.into_inner()).push(block);
                } else if queued.load(Ordering::Acquire) < max_queued {
                    queued.fetch_add(1, Ordering::AcqRel);
                    let (handle, queued) = (&handle, &queued);
                    scope.spawn(move |_| {
                        handle(k, block);
                        queued.fetch_sub(1, Ordering::AcqRel);
                    });
                } else {
                    handle(k, block);
                }
                k += 1;
            },
        )
    });
    let mut parts = results.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(w) = in_order {
        parts.push((0, w.finish()));
    }
    parts.sort_unstable_by_key(|p| p.0);
    let mut parts = parts.into_iter().map(|p| p.1);
    let mut r = parts
        .next()
        .unwrap_or_else(|| FileWork::new(file, true, opts, store, bodies).finish());
    for p in parts {
        r.append(p, opts.rejects_per_reason);
    }
    r.read_result(file, res);
    r
}

fn opt_i32(r: &AccessRecord, v: Var) -> Option<i32> {
    r.int(v).and_then(|x| i32::try_from(x).ok())
}

fn s(r: &AccessRecord, v: Var) -> Option<Text<'_>> {
    r.get(v).map(Text::Borrowed)
}

/// The `access_vars` column: the names of the variables a format carries, joined by `,`; the
/// same few strings for every row of a source, built once per thread and shared.
fn access_vars(known: crate::records::vars::VarSet) -> Name {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static CACHE: RefCell<HashMap<u64, Name>> = RefCell::new(HashMap::new());
    }
    CACHE.with(|c| {
        c.borrow_mut()
            .entry(known.0)
            .or_insert_with(|| {
                let names: Vec<&str> = known.iter().map(|v| v.name()).collect();
                intern::name(&names.join(ACCESS_VARS_SEPARATOR))
            })
            .clone()
    })
}

/// Builds the output row of one joined, classified request (`inv`: its linked invocation,
/// `j.invocation`'s, read back from the store; `source_files`: the display names of the run's
/// inputs, by file index, shared by the rows; `api`: what `--api-config` said).
pub fn request_row<'a>(
    j: &'a join::Joined,
    inv: Option<(&'a Invocation, crate::model::MatchMethod)>,
    source_files: &'a [Arc<str>],
    api: &crate::apiconfig::ApiConfig,
) -> RequestRow<'a> {
    let a = &j.access;
    let cfg = api.facts(&crate::apiconfig::RequestKey {
        api_id: a
            .api_id()
            .or_else(|| inv.and_then(|(i, _)| i.logged_api_id.as_deref())),
        stage: a
            .stage()
            .or_else(|| inv.and_then(|(i, _)| i.logged_stage.as_deref())),
        http_method: a.get(Var::HttpMethod),
        resource_path: a.get(Var::ResourcePath),
        route_key: a.get(Var::RouteKey),
        path: a.get(Var::Path),
        function_name: inv.and_then(|(i, _)| i.function_name.as_deref()),
    });
    let c = classify::classify_with(
        &Facts {
            access: a,
            invocation: inv,
            authorizer_log_covers: j.authorizer_log_covers,
            exec: j.exec.as_ref(),
        },
        &cfg,
    );
    let (request_time_ms, precision) = match a.request_time() {
        Some((t, p)) => (Some(t), Some(p)),
        None => (None, None),
    };
    // Which logs said something of the request (a record known only from the execution log
    // has no access variable).
    let sources: &'static [&'static str] = match (a.known.0 != 0, inv.is_some(), j.exec.is_some()) {
        (true, false, false) => &["access"],
        (true, true, false) => &["access", "authorizer"],
        (true, false, true) => &["access", "execution"],
        (true, true, true) => &["access", "authorizer", "execution"],
        (false, false, false) => &[],
        (false, true, false) => &["authorizer"],
        (false, false, true) => &["execution"],
        (false, true, true) => &["authorizer", "execution"],
    };
    let api_id = a
        .api_id()
        .or_else(|| inv.and_then(|(i, _)| i.logged_api_id.as_deref()))
        .map(Text::Borrowed);
    let stage = a
        .stage()
        .or_else(|| inv.and_then(|(i, _)| i.logged_stage.as_deref()))
        .map(Text::Borrowed);
    RequestRow {
        request_id: Text::Borrowed(a.request_id()),
        extended_request_id: s(a, Var::ExtendedRequestId),
        api_id,
        stage,
        request_time_ms,
        request_time_precision: precision,
        log_time_ms: a.log_time_ms,
        domain_name: s(a, Var::DomainName),
        http_method: s(a, Var::HttpMethod),
        resource_path: s(a, Var::ResourcePath),
        path: s(a, Var::Path),
        route_key: s(a, Var::RouteKey),
        protocol: s(a, Var::Protocol),
        status: opt_i32(a, Var::Status),
        response_length: a.int(Var::ResponseLength),
        source_ip: s(a, Var::SourceIp),
        identity_caller: s(a, Var::Caller),
        identity_user: s(a, Var::User),
        identity_user_arn: s(a, Var::UserArn),
        api_key_id: s(a, Var::ApiKeyId),
        user_agent: s(a, Var::UserAgent),
        error_message: a.get(Var::ErrorMessage).map(redact::scrub),
        error_response_type: s(a, Var::ErrorResponseType),
        authorizer_status: opt_i32(a, Var::AuthorizerStatus),
        authorizer_error: a.get(Var::AuthorizerError).map(redact::scrub),
        authorizer_latency_ms: opt_i32(a, Var::AuthorizerLatency),
        authorizer_integration_status: opt_i32(a, Var::AuthorizerIntegrationStatus),
        authorizer_integration_latency_ms: opt_i32(a, Var::AuthorizerIntegrationLatency),
        authorizer_request_id: s(a, Var::AuthorizerRequestId),
        authorizer_principal_id: s(a, Var::AuthorizerPrincipalId),
        authenticate_status: opt_i32(a, Var::AuthenticateStatus),
        authenticate_error: s(a, Var::AuthenticateError),
        authenticate_latency_ms: opt_i32(a, Var::AuthenticateLatency),
        authorize_status: opt_i32(a, Var::AuthorizeStatus),
        authorize_error: s(a, Var::AuthorizeError),
        authorize_latency_ms: opt_i32(a, Var::AuthorizeLatency),
        waf_status: opt_i32(a, Var::WafStatus),
        waf_error: s(a, Var::WafError),
        waf_latency_ms: opt_i32(a, Var::WafLatency),
        waf_response_code: s(a, Var::WafResponseCode),
        integration_status: opt_i32(a, Var::IntegrationStatus),
        integration_integration_status: opt_i32(a, Var::IntegrationIntegrationStatus),
        integration_error: s(a, Var::IntegrationError),
        integration_latency_ms: opt_i32(a, Var::IntegrationLatency),
        integration_request_id: s(a, Var::IntegrationRequestId),
        response_latency_ms: opt_i32(a, Var::ResponseLatency),
        refused: c.denied && c.refused,
        denied: c.denied,
        denial_phase: c.phase.map(|p| p.as_str()),
        denial_class: c.class.map(|c| c.as_str()),
        candidates: c.candidates.iter().map(|c| c.as_str()).collect(),
        confidence: c.confidence.map(|c| c.as_str()),
        evidence: c.evidence,
        advice: c.advice,
        authorizer_lambda_request_id: inv.map(|(i, _)| Text::Borrowed(&*i.lambda_request_id)),
        authorizer_decision: inv.and_then(|(i, _)| i.decision).map(|d| d.as_str()),
        authorizer_duration_ms: inv.and_then(|(i, _)| i.duration_ms),
        authorizer_cold_start: inv.map(|(i, _)| i.init_duration_ms.is_some()),
        authorizer_invocation_error: inv.and_then(|(i, _)| {
            i.error_type.as_deref().map(|t| match &i.error_message {
                Some(m) => Text::Owned(redact::scrub(&format!("{t}: {m}")).into_owned()),
                None => Text::Borrowed(t),
            })
        }),
        authorizer_match_method: inv.map(|(_, m)| m.as_str()),
        access_format: Some(Text::Borrowed(&*a.mapping)),
        access_vars: access_vars(a.known),
        authorizer_log_covers: j.authorizer_log_covers,
        exec_facts: j.exec.as_ref().map(ExecFacts::names).unwrap_or_default(),
        exec_method_status: j.exec.as_ref().and_then(|e| e.method_status),
        exec_lines: j.exec.as_ref().map(|e| e.lines as i32),
        method_auth_type: cfg.method_auth_type.map(|t| t.as_str()),
        authorizer_name: cfg.authorizer_name.clone().map(Text::Owned),
        authorizer_type: cfg.authorizer_type.map(|t| t.as_str()),
        authorizer_ttl_s: cfg
            .authorizer_ttl_s
            .map(|t| t.clamp(i32::MIN.into(), i32::MAX.into()) as i32),
        api_key_required: cfg.api_key_required,
        gateway_responses_default: cfg.gateway_responses_default,
        gateway_responses_customised: cfg
            .gateway_responses_default
            .map(|_| cfg.gateway_responses_customised.clone()),
        sources,
        extra: a.extra.clone(),
        source_file: Text::Borrowed(
            source_files
                .get(a.origin.file as usize)
                .map_or("", |f| &**f),
        ),
        source_line: a.origin.line as i64,
        source_offset: a.origin.offset as i64,
    }
}

/// Runs the whole job.
pub fn analyze(
    opts: &AnalyzeOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<AnalyzeOutcome, PipelineError> {
    let t0 = Instant::now();
    let mut timings = BTreeMap::new();
    let files = input::discover(&opts.inputs)?;
    progress(Progress::Start {
        bytes: files.iter().filter_map(|f| f.size).sum(),
    });
    let mut writer = DatasetWriter::create(
        &opts.out,
        DatasetOptions {
            compression: opts.compression,
            max_rows_per_file: opts.max_rows_per_file,
            overwrite: opts.overwrite,
            run_id: opts.run_id.clone(),
            since_ms: opts.filter.since_ms,
            until_ms: opts.filter.until_ms,
        },
    )
    .map_err(PipelineError::Out)?;
    let stale = writer.stale_staging_removed();
    if writer.restored_partitions() > 0 {
        eprintln!(
            "gatelog: put back {} partition(s) of the previous dataset that a killed run had moved aside",
            writer.restored_partitions()
        );
    }

    let pool = {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(n) = opts.threads {
            b = b.num_threads(n);
        }
        b.build().map_err(|e| PipelineError::Threads {
            threads: opts.threads.unwrap_or(0),
            msg: e.to_string(),
        })?
    };
    let shard_n = shard_count(&files, opts.memory_limit);
    let (held_budget, mut group_budget, writer_budget, bodies_budget) = budgets(opts.memory_limit);
    let spill_dir = opts
        .spill_dir
        .clone()
        .unwrap_or_else(|| writer.staging_dir().to_path_buf())
        .join(format!("spill-{}", opts.run_id));
    // Beside the shards' directory: the bodies outlive it (the invocation table is written
    // after the requests).
    let bodies = InvocationStore::new(
        bodies_budget,
        spill_dir.with_file_name(format!("invocations-{}.bin", opts.run_id)),
    );
    // Units of half a group: a group holds about two.
    let mut store = ShardStore::new(shard_n, held_budget, group_budget / 2, spill_dir);
    // `None` once an interrupt stopped the reading: the remaining files are not read.
    // Work units: whole files, record-aligned chunks of large plain access logs, and other
    // large files read in blocks, so that one big file does not keep the other threads idle.
    let threads = pool.current_num_threads();
    let chunkable = threads > 1 && opts.kind.is_none_or(|k| k == LogKind::Access);
    let units: Vec<(usize, Piece)> = pool
        .install(|| {
            files
                .par_iter()
                .enumerate()
                .map(|(i, f)| {
                    if !chunkable {
                        return vec![(i, Piece::Whole)];
                    }
                    let chunks =
                        input::plan_chunks(f, opts.container, threads * 2, CHUNK_MIN_BYTES);
                    if !chunks.is_empty() {
                        return chunks.into_iter().map(|c| (i, Piece::Chunk(c))).collect();
                    }
                    if input::plan_blocks(f, BLOCKS_MIN_BYTES) {
                        vec![(i, Piece::Blocks)]
                    } else {
                        vec![(i, Piece::Whole)]
                    }
                })
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect();
    // Largest first (by expected text, gzip counted decompressed), each thread taking the
    // next unit as it finishes one, so that no big unit starts last while the other threads
    // have nothing left (results keep unit order).
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by_key(|&k| {
        let (i, piece) = &units[k];
        let bytes = match piece {
            Piece::Chunk(c) => c.end - c.start,
            _ => text_bytes(&files[*i]).unwrap_or(0),
        };
        (std::cmp::Reverse(bytes), k)
    });
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<FileResult>>> = units.iter().map(|_| Mutex::new(None)).collect();
    pool.scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|_| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&u) = order.get(k) else { break };
                if crate::interrupt::interrupted() {
                    break;
                }
                let (i, chunk) = &units[u];
                let r = process_file(&files[*i], chunk, opts, &store, &bodies);
                progress(Progress::Read {
                    bytes: r.stats.bytes_in,
                });
                *slots[u].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            });
        }
    });
    let results: Option<Vec<FileResult>> = slots
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect();
    crate::interrupt::check()?;
    if let Some(e) = store.take_error() {
        return Err(e.into());
    }
    let mut results = results.unwrap_or_default();
    if let Some(e) = results.iter_mut().find_map(|r| r.body_error.take()) {
        return Err(e.into());
    }
    let spilled_bytes = store.spilled_bytes();
    if spilled_bytes > 0 {
        let from = match &opts.memory_limit_from {
            LimitFrom::Flag => String::new(),
            from => format!(", {from}"),
        };
        eprintln!(
            "gatelog: the input did not fit in --memory-limit ({} MiB{from}): the join spilled {} MiB to disk ({} hash shards a day)",
            opts.memory_limit >> 20,
            spilled_bytes >> 20,
            shard_n
        );
    }
    timings.insert("read_parse".to_string(), t0.elapsed().as_secs_f64());
    progress(Progress::Phase("join"));

    let t1 = Instant::now();
    let mut stats = InputStats::default();
    let mut parts = Vec::new();
    let mut rejects: Vec<Reject> = Vec::new();
    let mut mappings = Vec::new();
    let mut file_mappings: BTreeMap<usize, BTreeMap<(String, Vec<String>), u64>> = BTreeMap::new();
    for ((fi, _), r) in units.iter().zip(results) {
        stats.add(&r.stats);
        // The chunks themselves: the invocations are not copied.
        parts.extend(r.invocations);
        rejects.extend(r.rejects);
        let m = file_mappings.entry(*fi).or_default();
        for (k, n) in r.mappings {
            *m.entry(k).or_default() += n;
        }
    }
    for (fi, m) in file_mappings {
        for ((mapping, ambiguous_keys), n) in m {
            mappings.push(MappingUse {
                source: files[fi].display.clone(),
                mapping,
                records: n,
                ambiguous_keys,
            });
        }
    }
    let source_files: Vec<Arc<str>> = files
        .iter()
        .map(|f| Arc::from(f.display.as_str()))
        .collect();
    // The invocations' heads are not sharded: they stay in memory until their table is
    // written. Past their tenth of the limit they have taken room from the held records
    // while parsing; now the units and groups make room for them. Said when even that is
    // not enough.
    let parts = Chunked::from_chunks(parts);
    let invocation_bytes: usize = parts.iter().map(InvocationHead::approx_bytes).sum();
    let excess = heads_excess(invocation_bytes, opts.memory_limit);
    group_budget = group_budget_with_heads(group_budget, excess);
    store.set_unit_mem(group_budget / 2);
    if let Some(note) = heads_note(parts.len(), invocation_bytes, opts.memory_limit) {
        eprintln!("gatelog: {note}");
    }
    // The grace hash join: every unit (a range of (day, shard) keys) deduplicated, then linked
    // to the invocations unit by unit; the linker's state grows with the invocations only.
    // The exact links are made as each unit is deduplicated, while it is in memory.
    let mut linker = Linker::new(parts, &bodies)?;
    let mut shards =
        pool.install(|| store.finish_visiting(|s, reqs| linker.link_exact(s, reqs)))?;
    crate::interrupt::check()?;
    let window = pool.current_num_threads();
    // Only the requests an inferred link could be for are read back (and decoded).
    let rows = linker.take_inference_rows();
    if linker.needs_inference()? {
        pool.install(|| {
            shards.visit(window, Some(&rows), |s, reqs| {
                linker.count_inferred(s, reqs.iter().copied())
            })
        })?;
    }
    drop(rows);
    linker.settle();
    crate::interrupt::check()?;
    timings.insert("join".to_string(), t1.elapsed().as_secs_f64());
    progress(Progress::Phase("classify and write"));

    // Classify and write a group of units at a time, the groups in day order (unless some
    // records have no time). Within a group, rows go out by dt partition, request time,
    // request id, then provenance; a run whose input fits in one group is in that order
    // throughout.
    let mut t_classify = 0.0;
    let mut filtered_out = 0usize;
    // The Parquet writer runs on its own thread: it classifies a group's requests into rows,
    // tallies and writes them while the next group is read back, joined and sorted (two
    // groups in memory at most: the budget counts them). The rows borrow their text from the
    // group's requests and invocations, which go to the writer with them.
    // The writer's result (its time on rows, its time writing, the rows' tally), then the
    // producer's.
    let (written, produced) = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Group>(0);
        let writer_ref = &mut writer;
        let pool_ref = &pool;
        let source_files = &source_files;
        let api_config = &opts.api_config;
        let handle = scope.spawn(move || -> Result<(f64, f64, RowTally), PipelineError> {
            let (mut t_rows, mut t_write) = (0.0, 0.0);
            let mut tally = RowTally::default();
            for g in rx {
                let t3 = Instant::now();
                let (rows, part) = pool_ref.install(|| {
                    let mut rows: Vec<RequestRow<'_>> = Vec::new();
                    g.order
                        .par_iter()
                        .zip(g.invocations.par_iter())
                        .map(|(&i, inv)| {
                            request_row(
                                &g.requests[i],
                                inv.as_ref().map(|(v, m)| (v, *m)),
                                source_files,
                                api_config,
                            )
                        })
                        .collect_into_vec(&mut rows);
                    // Counted in parallel, in fixed runs of rows merged in row order: the
                    // tally of the whole, and the same whatever the threads (the `top_*`
                    // counts, once trimmed, depend on the order they were merged in).
                    let parts: Vec<RowTally> = rows
                        .par_chunks(TALLY_ROWS)
                        .map(|chunk| {
                            let mut t = RowTally::default();
                            chunk.iter().for_each(|r| t.add(r));
                            t
                        })
                        .collect();
                    let part = parts.into_iter().fold(RowTally::default(), |mut a, b| {
                        a.merge(b);
                        a
                    });
                    (rows, part)
                });
                tally.merge(part);
                let t4 = Instant::now();
                t_rows += (t4 - t3).as_secs_f64();
                // Columns are encoded in parallel on the run's pool.
                pool_ref.install(|| -> Result<(), PipelineError> {
                    writer_ref.write_requests(rows.iter())?;
                    if let Some(day) = g.next_day {
                        writer_ref.finish_request_days_before(day)?;
                        // More groups follow: the writers' row groups stay within their
                        // share of the memory limit.
                        writer_ref.flush_row_groups(writer_budget)?;
                    }
                    Ok(())
                })?;
                // Freed in parallel: the rows first (they borrow the rest).
                pool_ref.install(|| rows.into_par_iter().for_each(drop));
                let Group {
                    requests,
                    invocations,
                    ..
                } = g;
                pool_ref.install(|| {
                    rayon::join(
                        || requests.into_par_iter().for_each(drop),
                        || invocations.into_par_iter().for_each(drop),
                    )
                });
                t_write += t4.elapsed().as_secs_f64();
            }
            Ok((t_rows, t_write, tally))
        });
        let produced = (|| -> Result<(), PipelineError> {
            let mut s = 0usize;
            while s < shards.shards.len() {
                let t2 = Instant::now();
                let mut end = s + 1;
                let mut mem = shards.shards[s].mem();
                while end < shards.shards.len() && mem + shards.shards[end].mem() <= group_budget {
                    mem += shards.shards[end].mem();
                    end += 1;
                }
                // The group's units are read back (and their records decoded) in parallel.
                let taken = pool.install(|| {
                    shards.shards[s..end]
                        .par_iter_mut()
                        .map(|sh| sh.take())
                        .collect::<Result<Vec<_>, _>>()
                })?;
                let mut requests = Vec::with_capacity(taken.iter().map(Vec::len).sum());
                for (si, reqs) in taken.into_iter().enumerate() {
                    for (i, r) in reqs.into_iter().enumerate() {
                        let j = linker.joined((s + si) as u32, i, r);
                        if opts.filter.keeps(&j.access) {
                            requests.push(j);
                        } else {
                            linker.drop_request(&j);
                            filtered_out += 1;
                        }
                    }
                }
                s = end;
                // Sorted by a key computed once per request (borrowing the id), in parallel;
                // the key ends in the request's provenance, so the order is total. The linked
                // invocations' bodies are read back from the store in that order.
                let (order, invocations) = pool.install(|| {
                    let mut keys: Vec<_> = requests
                        .par_iter()
                        .enumerate()
                        .map(|(i, j)| {
                            let a = &j.access;
                            let t = a.request_time().map(|(t, _)| t);
                            (
                                day_key(a.time_ms()),
                                t,
                                a.request_id(),
                                a.origin.file,
                                a.origin.line,
                                i,
                            )
                        })
                        .collect();
                    keys.par_sort_unstable();
                    let order: Vec<usize> = keys.into_iter().map(|k| k.5).collect();
                    let invocations = try_collect_in_place(order.par_iter().map(|&i| {
                        requests[i]
                            .invocation
                            .map(|(ii, m)| bodies.get(linker.body(ii)).map(|v| (v, m)))
                            .transpose()
                    }));
                    (order, invocations)
                });
                let invocations = invocations?;
                t_classify += t2.elapsed().as_secs_f64();
                let next_day = shards.shards.get(s).map(|u| u.first_day());
                let group = Group {
                    requests,
                    order,
                    invocations,
                    next_day,
                };
                if tx.send(group).is_err() {
                    // The writer stopped on an error, which its result carries.
                    break;
                }
                crate::interrupt::check()?;
            }
            Ok(())
        })();
        drop(tx);
        let written = handle
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (written, produced)
    });
    let (t_rows, t_write, tally) = written?;
    produced?;
    t_classify += t_rows;
    let duplicate_records = shards.duplicate_records;
    let conflicting_duplicate_ids = shards.conflicting_duplicate_ids;
    drop(shards);

    progress(Progress::Phase("finish"));
    let t2 = Instant::now();
    let crate::join::LinkerOutput {
        invocations,
        mut links,
        dropped,
        duplicate_invocations,
    } = linker.finish();
    // The invocations that get a row, in the table's order (day, start time, Lambda request
    // id: unique after the merge), by index: the rows are made and written a batch at a
    // time, each invocation freed as its row goes, so the invocations are not held twice.
    // Each key is computed once (an index into the invocations' chunks is a search) and the
    // keys sorted in parallel; the index ends each key, so the order is total.
    let order: Vec<u32> = pool.install(|| {
        let mut keys: Vec<_> = (0..invocations.len())
            .into_par_iter()
            .filter(|&i| match &links[i] {
                Some((_, m)) if *m != crate::model::MatchMethod::Ambiguous => !dropped[i],
                _ => opts.filter.keeps_time(invocations[i].start_time_ms),
            })
            .map(|i| {
                let v = &invocations[i];
                (
                    day_key(v.start_time_ms),
                    v.start_time_ms,
                    &v.lambda_request_id,
                    i as u32,
                )
            })
            .collect();
        keys.par_sort_unstable();
        keys.into_iter().map(|k| k.3).collect()
    });
    t_classify += t2.elapsed().as_secs_f64();
    timings.insert("classify".to_string(), t_classify);

    let t3 = Instant::now();
    let mut inv_tally = InvocationTally::default();
    for batch in order.chunks(INVOCATION_ROWS_AT_ONCE) {
        let batch_links: Vec<_> = batch.iter().map(|&i| links[i as usize].take()).collect();
        // The bodies are read back and the rows made in parallel.
        let rows: Vec<InvocationRow> = pool.install(|| {
            try_collect_in_place(batch.par_iter().zip(batch_links).map(|(&i, link)| {
                let mut invocation = bodies.get(invocations[i as usize].body)?;
                invocation.error_message = invocation
                    .error_message
                    .map(|m| redact::scrub(&m).into_owned());
                let source_file = source_files
                    .get(invocation.origin.file as usize)
                    .cloned()
                    .unwrap_or_else(|| Arc::from(""));
                let (request_id, match_method) = match link {
                    Some((id, m)) => (
                        (m != crate::model::MatchMethod::Ambiguous).then(|| id.to_string()),
                        Some(m),
                    ),
                    None => (None, None),
                };
                Ok::<_, SpillError>(InvocationRow {
                    invocation,
                    request_id,
                    match_method,
                    source_file,
                })
            }))
        })?;
        rows.iter().for_each(|r| inv_tally.add(r));
        pool.install(|| writer.write_invocations(rows.iter()))?;
        pool.install(|| rows.into_par_iter().for_each(drop));
    }
    let invocation_spilled_bytes = bodies.spilled_bytes();
    drop((invocations, links, dropped, bodies));

    let mut summary = Summary::default();
    tally.finish(&mut summary);
    summary.input = stats;
    summary.mappings = mappings;
    summary.duplicate_records = duplicate_records;
    summary.conflicting_duplicate_ids = conflicting_duplicate_ids;
    inv_tally.finish(&mut summary, duplicate_invocations);

    rejects.sort_by_key(|r| r.origin);
    let mut per_reason: BTreeMap<RejectReason, usize> = BTreeMap::new();
    let mut nd = String::new();
    for r in &rejects {
        let n = per_reason.entry(r.reason).or_default();
        if *n >= opts.rejects_per_reason {
            continue;
        }
        *n += 1;
        let line = serde_json::json!({
            "source": files.get(r.origin.file as usize).map(|f| f.display.as_str()).unwrap_or(""),
            "line": r.origin.line,
            "offset": r.origin.offset,
            "reason": r.reason.as_str(),
            "detail": redact::scrub(&r.detail),
            "excerpt": redact::scrub(&r.excerpt),
        });
        nd.push_str(&line.to_string());
        nd.push('\n');
    }
    writer.write_file("rejects.ndjson", nd.as_bytes())?;
    timings.insert("write".to_string(), t_write + t3.elapsed().as_secs_f64());
    timings.insert("total".to_string(), t0.elapsed().as_secs_f64());
    summary.run.timings_s = timings.clone();
    if opts.reports.json {
        let summary_json = serde_json::to_string_pretty(&summary).unwrap_or_default();
        writer.write_file("summary.json", summary_json.as_bytes())?;
    }
    if opts.reports.markdown {
        writer.write_file("summary.md", crate::report::markdown(&summary).as_bytes())?;
    }
    if opts.reports.html {
        writer.write_file("report.html", crate::report::html(&summary).as_bytes())?;
    }
    writer.write_file("classify.sql", crate::sink::sql::classify_sql().as_bytes())?;
    if let Some((location, database)) = &opts.athena {
        let ddl = crate::sink::sql::athena_ddl(location, database)?;
        writer.write_file("athena.sql", ddl.as_bytes())?;
    }

    let manifest = serde_json::json!({
        "tool": "gatelog",
        "version": env!("CARGO_PKG_VERSION"),
        "schema_version": crate::sink::parquet::SCHEMA_VERSION,
        "run_id": opts.run_id,
        "inputs": files.iter().map(|f| serde_json::json!({"path": f.display, "size": f.size})).collect::<Vec<_>>(),
        "counts": {
            "requests": summary.requests,
            "refused": summary.refused,
            "denied": summary.denied,
            "authorizer_invocations": summary.authorizer.invocations,
            "rejected_lines": summary.input.rejected_total(),
            "skipped_lines": summary.input.skipped_total(),
            "filtered_out_requests": filtered_out,
        },
        "run": {
            "timings_s": timings,
            "shards": shard_n,
            "spilled_bytes": spilled_bytes,
            "invocation_bytes": invocation_bytes,
            "invocation_spilled_bytes": invocation_spilled_bytes,
            "peak_rss_bytes": peak_rss_bytes(),
            "memory_limit_bytes": opts.memory_limit,
            "memory_limit_from": opts.memory_limit_from.to_string(),
        },
    });
    // The last point where stopping leaves the previous dataset untouched.
    crate::interrupt::check()?;
    let report = pool.install(|| writer.commit(&manifest))?;
    let written = report.written_paths();
    Ok(AnalyzeOutcome {
        summary,
        written,
        stale_staging_removed: stale,
        timings,
        filtered_out,
    })
}

/// The process's peak resident set size so far (`VmHWM` in `/proc/self/status`; `None` where
/// there is none): what `/usr/bin/time -v` prints as its maximum resident set size, measured by
/// the process itself. (A parent's `wait4` can report more: a child started by `vfork` or
/// `posix_spawn` carries the parent's own peak into its count until it execs.)
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    let kb: u64 = kb.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kb * 1024)
}

/// The items of an indexed parallel iterator, each written straight into its place in the
/// result; the error of the lowest index, if any. (Collecting into `Result<Vec<_>, _>`
/// cannot presize: rayon gathers pieces in a list and moves every item once more, which for
/// a group's rows of about 1.3 KB each was 3–4 % of a run's CPU and twice its memory.)
fn try_collect_in_place<T, E>(
    items: impl IndexedParallelIterator<Item = Result<T, E>>,
) -> Result<Vec<T>, E>
where
    T: Send + Default,
    E: Send,
{
    let first_error: Mutex<Option<(usize, E)>> = Mutex::new(None);
    let mut out = Vec::new();
    items
        .enumerate()
        .map(|(i, item)| {
            item.unwrap_or_else(|e| {
                let mut first = first_error.lock().unwrap_or_else(|p| p.into_inner());
                if first.as_ref().is_none_or(|(j, _)| i < *j) {
                    *first = Some((i, e));
                }
                T::default()
            })
        })
        .collect_into_vec(&mut out);
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some((_, e)) => Err(e),
        None => Ok(out),
    }
}

/// Orders rows the way their `dt` partitions sort (UTC day, rows without a time last) without
/// formatting a partition name for every comparison.
fn day_key(ms: Option<i64>) -> (bool, i64) {
    (ms.is_none(), ms.map_or(0, |t| t.div_euclid(86_400_000)))
}

#[cfg(test)]
mod filter_tests {
    use super::*;

    #[test]
    fn when_parses_rfc3339_and_relative() {
        let now = 1_760_450_702_118;
        assert_eq!(parse_when("2025-10-14T14:05:02.118Z", now), Some(now));
        assert_eq!(parse_when("2h", now), Some(now - 7_200_000));
        let midnight = parse_when("2025-10-14T00:00:00Z", now).unwrap();
        assert_eq!(parse_when("2025-10-14", now), Some(midnight));
        assert_eq!(parse_when("2025-10-14T00:00Z", now), Some(midnight));
        assert_eq!(parse_when("2025-10-14T02:00+02:00", now), Some(midnight));
        assert_eq!(parse_when("2025-10-14T00:00", now), Some(midnight));
        assert_eq!(parse_when("2025-10-1", now), None);
        assert_eq!(parse_when("-90m", now), Some(now - 5_400_000));
        assert_eq!(parse_when("3x", now), None);
        assert_eq!(parse_when("", now), None);
    }

    #[test]
    fn fallible_items_are_collected_in_order_and_the_first_error_wins() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let ok: Result<Vec<String>, usize> = pool.install(|| {
            try_collect_in_place((0..10_000usize).into_par_iter().map(|i| Ok(i.to_string())))
        });
        let ok = ok.unwrap();
        assert_eq!(ok.len(), 10_000);
        assert!(ok.iter().enumerate().all(|(i, s)| *s == i.to_string()));
        // Errors at 7,000 and 3,000 (and every 900th item after 2,000): the lowest index is
        // the one reported, however the threads happen to meet them.
        for _ in 0..20 {
            let err = pool.install(|| {
                try_collect_in_place((0..10_000usize).into_par_iter().rev().map(|i| {
                    let i = 9_999 - i;
                    if i == 7_000 || i == 3_000 || (i > 2_000 && i % 900 == 0) {
                        Err(i)
                    } else {
                        Ok(String::new())
                    }
                }))
            });
            assert_eq!(err, Err(2_700));
        }
    }

    #[test]
    fn heads_past_their_tenth_take_room_from_the_groups_down_to_a_quarter() {
        let limit = 512 << 20;
        let (held, group, _, _) = budgets(limit);
        // Up to a tenth of the limit the heads cost nothing.
        assert_eq!(heads_excess(limit / 10, limit), 0);
        assert_eq!(group_budget_with_heads(group, 0), group);
        // Past it, the two groups (records and rows) give up the excess between them.
        let excess = heads_excess(limit / 5, limit);
        assert_eq!(excess, limit / 5 - limit / 10);
        let shrunk = group_budget_with_heads(group, excess);
        let given = 2.0 * (1.0 + ROW_MEM_PER_RECORD_MEM) * (group - shrunk) as f64;
        assert!((given - excess as f64).abs() < 16.0, "{given} vs {excess}");
        // Never below a quarter; the held share likewise.
        assert_eq!(group_budget_with_heads(group, usize::MAX), group / 4);
        assert_eq!(crate::spill::shrunk(held, usize::MAX), held / 4);
        // What the shares make room for: the heads' tenth plus three quarters of the held
        // share (or of the groups', the same 0.3 of the limit); past it, the run says so.
        let absorbed = heads_absorbed(limit);
        assert!(heads_excess(absorbed, limit) <= held - held / 4 + 16);
        assert_eq!(heads_note(1, absorbed, limit), None);
        let note = heads_note(1_700_729, 272 << 20, limit).unwrap();
        assert!(
            note.starts_with(
                "the heads of 1700729 authorizer invocations are kept in memory for the join (about 272 MiB), more than --memory-limit 512 MiB makes room for (about 204 MiB): the peak may pass the limit by up to 67 MiB"
            ),
            "{note}"
        );
    }

    #[test]
    fn window_is_half_open() {
        let f = Filter {
            since_ms: Some(10),
            until_ms: Some(20),
            ..Default::default()
        };
        assert!(f.keeps_time(Some(10)) && f.keeps_time(Some(19)) && !f.keeps_time(Some(20)));
        assert!(f.keeps_time(None));
    }
}

#[cfg(test)]
mod progress_tests {
    use super::*;

    fn sample_run(name: &str, threads: usize) -> (PathBuf, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join(name);
        let opts = AnalyzeOptions {
            threads: Some(threads),
            memory_limit: 512 << 20,
            ..sample_opts(out.clone(), "blocks-test")
        };
        analyze(&opts, &|_| {}).unwrap();
        (out, dir)
    }

    /// Options of a run over the bundled `sample-data/` on 2 threads at `--memory-limit 64M`.
    fn sample_opts(out: PathBuf, run_id: &str) -> AnalyzeOptions {
        AnalyzeOptions {
            inputs: vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample-data")],
            out,
            access_formats: AccessFormats::default(),
            container: None,
            kind: None,
            threads: Some(2),
            overwrite: false,
            rejects_per_reason: 10,
            compression: Compression::default(),
            max_rows_per_file: 5_000_000,
            run_id: run_id.into(),
            filter: Filter::default(),
            athena: None,
            reports: Reports::default(),
            memory_limit: 64 << 20,
            memory_limit_from: LimitFrom::Flag,
            spill_dir: None,
            api_config: Arc::default(),
        }
    }

    /// Every Parquet file of a run's output with its bytes, and the summary without timings.
    fn run_output(out: &std::path::Path) -> (Vec<(PathBuf, Vec<u8>)>, serde_json::Value) {
        fn walk(dir: &std::path::Path, v: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, v);
                } else if p.extension().is_some_and(|x| x == "parquet") {
                    v.push(p);
                }
            }
        }
        let mut files = Vec::new();
        walk(out, &mut files);
        files.sort();
        let parquet = files
            .into_iter()
            .map(|p| {
                (
                    p.strip_prefix(out).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        let mut summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        summary["run"] = serde_json::Value::Null;
        (parquet, summary)
    }

    /// The first block of `text` read as a `lines` file at `display`.
    fn first_block(text: &str, display: &str) -> input::FrameBlock {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.log");
        std::fs::write(&p, text).unwrap();
        let f = InputFile {
            id: 0,
            path: Some(p.clone()),
            display: display.into(),
            size: Some(text.len() as u64),
        };
        let mut first = None;
        input::read_file_in_blocks(&f, None, 1 << 20, &Mutex::new(Vec::new()), &mut |b| {
            first.get_or_insert(b);
        })
        .unwrap();
        first.unwrap()
    }

    #[test]
    fn only_an_access_logs_blocks_are_handled_apart() {
        let access = r#"{"requestId":"a1","status":"403"}
{"requestId":"a2","status":"200"}
"#;
        let lambda = "START RequestId: 3f1c2b7e-8d5a-4c1e-9f0b-2a6d7e8c9b01 Version: $LATEST\n";
        let execution = "(c0ffee00-1111-4222-8333-444455556666) Verifying Usage Plan for request: c0ffee00-1111-4222-8333-444455556666. API Key:  API Stage: abc/prod\n";
        let b = first_block(access, "x/access.log");
        assert!(blocks_are_independent(&b, None, None));
        assert!(!blocks_are_independent(&b, None, Some(LogKind::Authorizer)));
        assert!(
            !blocks_are_independent(&b, Some("/aws/lambda/auth"), None),
            "by group"
        );
        assert!(blocks_are_independent(
            &b,
            Some("/aws/apigateway/abc/prod"),
            None
        ));
        let mixed = format!("{access}{lambda}");
        assert!(!blocks_are_independent(
            &first_block(&mixed, "x/a.log"),
            None,
            None
        ));
        let b = first_block(execution, "x/e.log");
        assert!(!blocks_are_independent(&b, None, None), "an execution log");
        assert!(
            blocks_are_independent(&b, None, Some(LogKind::Access)),
            "--log-kind access"
        );
        assert!(
            !blocks_are_independent(&first_block("\n\n", "x/blank.log"), None, None),
            "no event"
        );
    }

    #[test]
    fn gzip_access_logs_read_in_blocks_give_what_one_thread_gives() {
        // The sample data's stage access logs are gzip S3-export objects: with the unit
        // tests' thresholds they are read in blocks of 16 KiB on 2 and 3 threads, and whole
        // on 1 (its Lambda logs too are read in blocks, handled in order by one reader).
        let files =
            input::discover(&[PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample-data")])
                .unwrap();
        let in_blocks = files
            .iter()
            .filter(|f| input::plan_blocks(f, BLOCKS_MIN_BYTES))
            .count();
        assert!(in_blocks >= 2, "{in_blocks} files read in blocks");
        let (one, _d1) = sample_run("t1", 1);
        let want = run_output(&one);
        assert!(want.0.len() >= 2);
        assert!(
            want.1["requests"].as_u64().unwrap() > 1000,
            "{}",
            want.1["requests"]
        );
        for t in [2, 3] {
            let (out, _d) = sample_run(&format!("t{t}"), t);
            let got = run_output(&out);
            assert_eq!(got.1, want.1, "summary with {t} threads");
            assert_eq!(
                got.0.iter().map(|x| &x.0).collect::<Vec<_>>(),
                want.0.iter().map(|x| &x.0).collect::<Vec<_>>()
            );
            for ((p, x), (_, y)) in got.0.iter().zip(&want.0) {
                assert!(x == y, "{} differs with {t} threads", p.display());
            }
        }
    }

    #[test]
    fn progress_counts_every_input_byte_then_names_the_phases_in_order() {
        let out = tempfile::tempdir().unwrap();
        let opts = sample_opts(out.path().join("out"), "progress-test");
        let seen = Mutex::new(Vec::new());
        analyze(&opts, &|p| seen.lock().unwrap().push(p)).unwrap();
        let seen = seen.into_inner().unwrap();
        let Some(Progress::Start { bytes }) = seen.first().copied() else {
            panic!("starts with the total: {seen:?}");
        };
        let read: u64 = seen
            .iter()
            .map(|p| match p {
                Progress::Read { bytes } => *bytes,
                _ => 0,
            })
            .sum();
        assert!(bytes > 1 << 20, "the sample data is 2 MiB: {bytes}");
        assert_eq!(read, bytes);
        let phases: Vec<&str> = seen
            .iter()
            .filter_map(|p| match p {
                Progress::Phase(name) => Some(*name),
                _ => None,
            })
            .collect();
        assert_eq!(phases, ["join", "classify and write", "finish"]);
        let last_read = seen
            .iter()
            .rposition(|p| matches!(p, Progress::Read { .. }))
            .unwrap();
        let first_phase = seen
            .iter()
            .position(|p| matches!(p, Progress::Phase(_)))
            .unwrap();
        assert!(last_read < first_phase, "{seen:?}");
    }
}

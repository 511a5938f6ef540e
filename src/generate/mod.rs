//! `gatelog generate`: a deterministic generator of realistic synthetic API Gateway incidents.
//!
//! It simulates one REST API (two stages, `prod` logging the enhanced access format and
//! `beta` the troubleshooting-guide format) under a mix of successful calls and every denial
//! class a REST API produces, and writes what CloudWatch would hold: access logs, execution
//! logs and the text-format logs of a Lambda REQUEST and a Lambda TOKEN authorizer, in the
//! container the caller picks (or in the mixed layout of the bundled `sample-data/`). The
//! ground truth of every request is known, so the output doubles as a test oracle
//! ([`Truth`]) and as benchmark input of any size.
//!
//! The output is a pure function of ([`GenerateOptions::seed`], the options): the generator
//! has its own integer-only random numbers, gzip headers carry mtime 0, and nothing depends
//! on the clock, the platform or hash-map order. Requests are produced in time order and
//! streamed straight to the writers, so memory stays bounded whatever the size. `sim` holds
//! the request model, `sink` the reorder buffer and the containers, `world` the scenario.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

mod docs;
mod format;
mod rng;
mod sim;
mod sink;
mod world;

#[cfg(test)]
mod tests;

pub use sink::{DirtyLine, FileRecord};

use sim::{Sim, CLASSES, STATUSES};
use sink::{io_err, Output, Queue};
use world::{World, STAGES};

/// How the generated events are wrapped (the export route a user took).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Container {
    /// CreateExportTask to S3: `exportedlogs/<taskId>/<stream>/000000.gz`, lines
    /// `ISO-timestamp SPACE message`.
    S3Export,
    /// `aws logs filter-log-events` output, one JSON document per log group.
    CliJson,
    /// Subscription filter → Firehose → S3: concatenated gzip members of `DATA_MESSAGE`s.
    Firehose,
    /// Bare messages, one per line, one file per log group.
    Lines,
}

impl Container {
    /// Every container.
    pub const ALL: [Container; 4] = [
        Container::S3Export,
        Container::CliJson,
        Container::Firehose,
        Container::Lines,
    ];

    /// The name used by `--container`, reports and file listings.
    pub fn as_str(self) -> &'static str {
        match self {
            Container::S3Export => "s3-export",
            Container::CliJson => "cli-json",
            Container::Firehose => "firehose",
            Container::Lines => "lines",
        }
    }

    /// The container called `name` (as [`Container::as_str`] spells it).
    pub fn from_name(name: &str) -> Option<Container> {
        Container::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for Container {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Container {
    type Err = GenerateError;

    fn from_str(s: &str) -> Result<Container, GenerateError> {
        Container::from_name(s).ok_or_else(|| GenerateError::UnknownContainer(s.to_string()))
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Number of API requests to simulate (at least 1). Requests arrive at about 3,000 an
    /// hour from 2025-11-03T09:00:00Z, so the covered time grows with the count.
    pub requests: u64,
    /// Output directory; created if missing, refused if it exists and is not empty.
    pub out: PathBuf,
    /// Seed of every random choice.
    pub seed: u64,
    /// Put every log group in this container; `None` writes the mixed sample-data layout
    /// (prod access, prod execution and REQUEST-authorizer logs as `s3-export`, beta access
    /// and TOKEN-authorizer logs as `cli-json`, plus `README.md` and dirty lines).
    pub container: Option<Container>,
    /// Gzip the `cli-json` and `lines` files (`.gz` suffix). S3-export objects and Firehose
    /// records are gzip whatever this says.
    pub gzip: bool,
}

/// What was generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateReport {
    /// Every file written, sorted.
    pub files: Vec<PathBuf>,
    /// Bytes on disk, all files together.
    pub bytes: u64,
    /// Requests simulated.
    pub requests: u64,
    /// The ground truth.
    pub truth: Truth,
}

/// Per-stage ground truth.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StageTruth {
    /// The access-log format the stage logs: `enhanced` or `troubleshooting`.
    pub access_format: String,
    /// Requests on the stage.
    pub requests: u64,
    /// Refused by the gateway.
    pub refused: u64,
    /// Refused, or denied by the backend and passed on.
    pub denied: u64,
    /// Not refused (includes `backend_denied`, which the gateway passed on).
    pub not_refused: u64,
    /// Requests per denial class (every class generated, zeros included).
    pub per_class: BTreeMap<String, u64>,
}

/// Authorizer Lambda invocations.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InvocationTruth {
    /// All invocations of both functions.
    pub total: u64,
    /// Invocations that belong to a request (all of them: the scenario has no orphans).
    pub matched: u64,
    /// Invocations of the REQUEST authorizer.
    pub request_authorizer: u64,
    /// Invocations of the TOKEN authorizer.
    pub token_authorizer: u64,
    /// Cold starts (INIT_START and `Init Duration`), both functions.
    pub cold_starts: u64,
    /// Invocations that ended in a function error (the crash, thrown `Unauthorized`).
    pub function_errors: u64,
    /// Lambda log streams (one per execution environment, a new one at each cold start).
    pub log_streams: u64,
}

/// Authorizer cache hits (requests decided by a cached policy, no invocation).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CacheTruth {
    /// Both authorizers.
    pub total: u64,
    /// REQUEST authorizer.
    pub request_authorizer: u64,
    /// TOKEN authorizer.
    pub token_authorizer: u64,
}

/// The ground truth of a generated incident (written as `OUT/.expected.json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Truth {
    /// The seed.
    pub seed: u64,
    /// `mixed` (sample-data layout) or the container name.
    pub layout: String,
    /// The REST API id.
    pub api_id: String,
    /// The AWS account.
    pub account: String,
    /// The region.
    pub region: String,
    /// `requestTimeEpoch` of the first request, ISO-8601.
    pub first_request: String,
    /// `requestTimeEpoch` of the last request, ISO-8601.
    pub last_request: String,
    /// Requests simulated.
    pub requests: u64,
    /// Refused by the gateway (every class except `backend_denied`).
    pub refused: u64,
    /// Refused, plus the backend's own denials (`backend_denied`).
    pub denied: u64,
    /// Requests the gateway did not refuse.
    pub not_refused: u64,
    /// Requests per denial class, both stages (every class generated, zeros included).
    pub per_class: BTreeMap<String, u64>,
    /// Requests per denial phase, both stages.
    pub per_phase: BTreeMap<String, u64>,
    /// Requests per final status, both stages.
    pub per_status: BTreeMap<String, u64>,
    /// Per stage (`prod`, `beta`).
    pub per_stage: BTreeMap<String, StageTruth>,
    /// Authorizer invocations.
    pub invocations: InvocationTruth,
    /// Authorizer cache hits.
    pub cache_hits: CacheTruth,
    /// REQUEST-authorizer event lines that carry a realistic (fake) bearer JWT instead of
    /// `[redacted]`, for redaction tests.
    pub unredacted_tokens: u64,
    /// CloudWatch events per log group as simulated (before the layout drops any group).
    pub log_groups: BTreeMap<String, u64>,
    /// Truncated access records (mixed layout only), each right before the complete record.
    pub malformed_lines: Vec<DirtyLine>,
    /// Lines of an unrelated log group among the access records (mixed layout only).
    pub unrelated_lines: Vec<DirtyLine>,
    /// The log files written, with their log group and event count.
    pub files: Vec<FileRecord>,
}

/// Why generation failed.
#[derive(thiserror::Error, Debug)]
pub enum GenerateError {
    /// `requests` was 0.
    #[error("nothing to generate: --requests must be at least 1")]
    NoRequests,
    /// The output directory exists and holds files; generate never overwrites.
    #[error("output directory {0} is not empty; choose a new directory or remove it first")]
    OutDirNotEmpty(PathBuf),
    /// A container name that does not exist.
    #[error("unknown container {0:?}; expected one of s3-export, cli-json, firehose, lines")]
    UnknownContainer(String),
    /// A file could not be created or written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The compressor failed (should not happen).
    #[error("gzip compression failed: {0}")]
    Compress(String),
    /// The truth could not be serialised (should not happen).
    #[error("cannot serialise the truth: {0}")]
    Json(#[from] serde_json::Error),
}

/// Generates an incident as `opts` says and returns what was written with its truth.
pub fn generate(opts: &GenerateOptions) -> Result<GenerateReport, GenerateError> {
    if opts.requests == 0 {
        return Err(GenerateError::NoRequests);
    }
    let root = opts.out.as_path();
    prepare_out(root)?;
    let world = World::new(opts.seed);
    let mut reg = world.registry();
    let mut out = Output::new(root, opts.container, opts.gzip, &reg, &world, opts.seed)?;
    let mut sim = Sim::new(&world, opts.seed, opts.requests, opts.container.is_none());
    let mut q = Queue::default();
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for _ in 0..opts.requests {
        let plan = sim.next_plan();
        first = first.min(plan.t0);
        last = last.max(plan.t0);
        q.flush(Some(plan.t0), &mut reg, &mut out)?;
        sim.run(&plan, &mut q, &mut reg);
    }
    sim.finish(&mut q);
    q.flush(None, &mut reg, &mut out)?;
    let out = out.finish(&reg)?;

    let truth = build_truth(opts, &world, &reg, &sim.acc, &out, first, last);
    let mut written: Vec<PathBuf> = out.files.iter().map(|f| root.join(&f.path)).collect();
    let expected = root.join(".expected.json");
    let mut json = serde_json::to_string_pretty(&truth)?;
    json.push('\n');
    fs::write(&expected, json).map_err(|e| io_err(&expected, e))?;
    written.push(expected);
    if opts.container.is_none() {
        let readme = root.join("README.md");
        fs::write(&readme, docs::readme(&truth, &world)).map_err(|e| io_err(&readme, e))?;
        written.push(readme);
    }
    written.sort();
    let mut bytes = 0;
    for f in &written {
        bytes += fs::metadata(f).map_err(|e| io_err(f, e))?.len();
    }
    Ok(GenerateReport {
        files: written,
        bytes,
        requests: opts.requests,
        truth,
    })
}

fn prepare_out(root: &Path) -> Result<(), GenerateError> {
    match fs::read_dir(root) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(GenerateError::OutDirNotEmpty(root.to_path_buf()));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(root).map_err(|e| io_err(root, e))
        }
        Err(e) => Err(io_err(root, e)),
    }
}

fn iso(ms: i64) -> String {
    let mut b = Vec::with_capacity(24);
    format::put_iso_ms(&mut b, ms);
    String::from_utf8(b).expect("ASCII timestamp")
}

fn build_truth(
    opts: &GenerateOptions,
    world: &World,
    reg: &sink::Registry,
    acc: &sim::Acc,
    out: &Output,
    first: i64,
    last: i64,
) -> Truth {
    let mut per_class = BTreeMap::new();
    let mut per_phase = BTreeMap::new();
    let mut per_stage = BTreeMap::new();
    let (mut refused, mut denied, mut total) = (0, 0, 0);
    for (s, stage) in STAGES.iter().enumerate() {
        let counts = &acc.per_class[s];
        let mut classes = BTreeMap::new();
        let (mut st_refused, mut st_denied) = (0, 0);
        for (i, c) in CLASSES.iter().enumerate() {
            classes.insert(c.name().to_string(), counts[i]);
            *per_class.entry(c.name().to_string()).or_insert(0) += counts[i];
            *per_phase.entry(c.phase().to_string()).or_insert(0) += counts[i];
            st_denied += counts[i];
            if *c != sim::Class::BackendDenied {
                st_refused += counts[i];
            }
        }
        let requests: u64 = counts.iter().sum();
        refused += st_refused;
        denied += st_denied;
        total += requests;
        per_stage.insert(
            stage.to_string(),
            StageTruth {
                access_format: if s == 0 {
                    "enhanced"
                } else {
                    "troubleshooting"
                }
                .to_string(),
                requests,
                refused: st_refused,
                denied: st_denied,
                not_refused: requests - st_refused,
                per_class: classes,
            },
        );
    }
    let mut per_status = BTreeMap::new();
    for (i, status) in STATUSES.iter().enumerate() {
        let n = acc.per_status[0][i] + acc.per_status[1][i];
        if n > 0 {
            per_status.insert(status.to_string(), n);
        }
    }
    let inv_total = acc.invocations[0] + acc.invocations[1];
    Truth {
        seed: opts.seed,
        layout: opts
            .container
            .map_or("mixed", Container::as_str)
            .to_string(),
        api_id: world.api_id.clone(),
        account: world::ACCOUNT.to_string(),
        region: world::REGION.to_string(),
        first_request: iso(first),
        last_request: iso(last),
        requests: total,
        refused,
        denied,
        not_refused: total - refused,
        per_class,
        per_phase,
        per_status,
        per_stage,
        invocations: InvocationTruth {
            total: inv_total,
            matched: inv_total,
            request_authorizer: acc.invocations[0],
            token_authorizer: acc.invocations[1],
            cold_starts: acc.cold_starts[0] + acc.cold_starts[1],
            function_errors: acc.function_errors[0] + acc.function_errors[1],
            log_streams: acc.lambda_streams[0] + acc.lambda_streams[1],
        },
        cache_hits: CacheTruth {
            total: acc.cache_hits[0] + acc.cache_hits[1],
            request_authorizer: acc.cache_hits[0],
            token_authorizer: acc.cache_hits[1],
        },
        unredacted_tokens: acc.unredacted_tokens,
        log_groups: reg
            .groups
            .iter()
            .map(|g| (g.name.clone(), g.events))
            .collect(),
        malformed_lines: out.malformed.clone(),
        unrelated_lines: out.unrelated.clone(),
        files: out.files.clone(),
    }
}

//! The command line as typed (clap derive). Validation into stage options happens in
//! `main.rs`; no stage reads these types.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Explain every API Gateway 401/403/429 from CloudWatch log exports, and write the answer as
/// Parquet for Athena.
#[derive(Debug, Parser)]
#[command(name = "gatelog", version, about, long_about = None, after_long_help = EXIT_HELP)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Exit statuses, shown in `--help`.
pub const EXIT_HELP: &str = "Exit status: 0 done; 1 failed, or no log found in the inputs (unless --allow-empty); 2 usage error; 3 done, but rejected lines exceeded --max-reject-rate; 130 interrupted.";

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read log exports, classify every denied request, write the dataset and a summary.
    Analyze(Box<AnalyzeArgs>),
    /// Write a synthetic incident (access, authorizer and execution logs) in any container.
    Generate(GenerateArgs),
    /// The whole story of one request from an analyzed dataset: its records in time order, the
    /// classification with evidence and candidates, and what to check next.
    Explain(ExplainArgs),
    /// Which denial classes an access-log format can tell apart, which it cannot, and the
    /// exact `$context` variables to add.
    CheckFormat(CheckFormatArgs),
    /// Print the Athena DDL (both tables, partition projection on dt) for a dataset at an S3
    /// prefix.
    Ddl(DdlArgs),
}

/// `gatelog ddl`.
#[derive(Debug, Args)]
pub struct DdlArgs {
    /// Where the dataset lives: `s3://bucket/prefix` (the folder holding requests/).
    #[arg(long)]
    pub location: String,
    /// Athena database.
    #[arg(long, default_value = "gatelog")]
    pub database: String,
}

/// `gatelog check-format`.
#[derive(Debug, Args)]
pub struct CheckFormatArgs {
    /// The stage's access-log format string, `@FILE` holding it, or the name of a built-in
    /// format (`troubleshooting`, `enhanced`, `console-clf`, `console-json`, …).
    pub format: String,
}

/// `gatelog explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// An API Gateway request id, extended request id, or the authorizer Lambda's request id.
    pub id: String,
    /// The dataset `gatelog analyze --out` wrote.
    #[arg(long, default_value = "out")]
    pub data: PathBuf,
}

/// Log kinds a user can force.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// API Gateway access log.
    Access,
    /// Lambda authorizer log.
    Authorizer,
    /// API Gateway execution log.
    Execution,
}

/// Parquet codecs.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum CompressionArg {
    /// zstd (level 1): small files, fast enough to write at input speed.
    Zstd,
    /// snappy: fastest to write, larger files.
    Snappy,
}

/// `gatelog analyze`.
#[derive(Debug, Args)]
#[command(after_long_help = EXIT_HELP)]
pub struct AnalyzeArgs {
    /// Files or directories (read recursively; `-` reads stdin). gzip is detected by content.
    pub inputs: Vec<PathBuf>,
    /// Output dataset directory (created; a rerun replaces only the dt partitions it produces).
    #[arg(long, short = 'o', default_value = "out")]
    pub out: PathBuf,
    /// The stage's access-log format string (`$context` variables), `@FILE` holding it or the
    /// output of `aws apigateway get-stage` / `get-stages`, or a built-in format name.
    /// `apiId/stage=FORMAT` applies to that stage only (repeat the flag per stage). Without
    /// it, gatelog recognises the console, troubleshooting-guide and enhanced-observability
    /// formats by their keys.
    #[arg(long, value_name = "[API/STAGE=]FORMAT|@FILE")]
    pub access_format: Vec<String>,
    /// The API's configuration, as the AWS CLI prints it (repeat the flag per file): `aws
    /// apigateway get-export --export-type oas30 --parameters extensions=apigateway`,
    /// `get-authorizers`, `get-gateway-responses`, `get-stage`, or `aws apigatewayv2
    /// export-api` / `get-routes` / `get-authorizers`. Each method's auth type and API-key
    /// requirement, each authorizer's type and cache TTL, and whether the gateway responses are
    /// the defaults then narrow the candidates. `API_ID=FILE` applies a file to that API only
    /// (an export names its API itself).
    #[arg(long, value_name = "[API_ID=]FILE")]
    pub api_config: Vec<String>,
    /// Force the container instead of detecting it: s3-export, cli-json, lines, firehose,
    /// tail, insights-csv, insights-json.
    #[arg(long)]
    pub container: Option<String>,
    /// Force the log kind of every input instead of taking it from the log group or content.
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
    /// Keep requests at or after this time: RFC 3339 (UTC unless an offset is given) or a
    /// duration before now (`90m`, `2h`, `3d`).
    ///
    /// Reruns: with --since or --until, a run into an existing --out replaces only the rows
    /// inside its window. In each dt partition it writes, the previous rows outside the window
    /// are kept (requests by request time, else log time; authorizer invocations by start time,
    /// or with their request when it is near a bound); partitions it writes nothing to are kept
    /// whole. Nightly jobs with overlapping windows (`--since 2025-10-14T12:00:00Z --until
    /// 2025-10-15T12:00:00Z`) neither duplicate nor lose rows. --overwrite keeps nothing.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Keep requests before this time (same forms as --since; see --since for reruns).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Keep only this API id (requests whose API is unknown are kept).
    #[arg(long)]
    pub api_id: Option<String>,
    /// Keep only this stage (requests whose stage is unknown are kept).
    #[arg(long)]
    pub stage: Option<String>,
    /// Worker threads (default: all cores). Output does not depend on it.
    #[arg(long, short = 'j')]
    pub threads: Option<NonZeroUsize>,
    /// Memory budget of the join (`512M`, `2G`, bytes): past it, parsed records spill to
    /// disk by request-id hash and are joined a shard at a time. Peak RSS stays near this
    /// plus a fixed overhead (README "Memory"). Default: 512M, or half the memory limit of
    /// the container (cgroup) the run is in when that is smaller.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: Option<u64>,
    /// Where the join spills when the input does not fit in --memory-limit (default: the
    /// output directory's staging area, removed at the end of the run).
    #[arg(long, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
    /// Clear the whole dataset first (default: replace only the partitions this run writes).
    #[arg(long)]
    pub overwrite: bool,
    /// Exit 0 even when the inputs hold no log at all.
    #[arg(long)]
    pub allow_empty: bool,
    /// Exit 3 when more than this share of lines is rejected (0..1).
    #[arg(long, default_value_t = 0.01)]
    pub max_reject_rate: f64,
    /// Rejected lines kept per reason in rejects.ndjson (the rest are counted).
    #[arg(long, default_value_t = 100)]
    pub rejects_per_reason: usize,
    /// Parquet compression.
    #[arg(long, value_enum, default_value_t = CompressionArg::Zstd)]
    pub compression: CompressionArg,
    /// Also write athena.sql: CREATE EXTERNAL TABLE statements for the dataset copied to this
    /// S3 prefix (`s3://bucket/prefix`).
    #[arg(long, value_name = "S3_URI")]
    pub athena_location: Option<String>,
    /// Athena database for athena.sql.
    #[arg(long, default_value = "gatelog")]
    pub athena_database: String,
    /// Report files to write, comma-separated: json (summary.json), md (summary.md), html
    /// (report.html), or none. The Parquet tables, rejects.ndjson and classify.sql are always
    /// written.
    #[arg(long, default_value = "json,md,html", value_name = "LIST")]
    pub report: String,
    /// Print summary.json to stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// No progress and no table (files are still written).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `gatelog generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Requests to generate.
    #[arg(long, default_value_t = 3000)]
    pub requests: u64,
    /// Output directory.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Seed: the same seed gives byte-identical output.
    #[arg(long, default_value_t = 20251103)]
    pub seed: u64,
    /// Container: s3-export, cli-json, firehose, lines (default: the sample-data mix).
    #[arg(long)]
    pub container: Option<String>,
    /// gzip every file.
    #[arg(long)]
    pub gzip: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}

/// Parses a size: bytes, or a number with K, M, G (or KiB, MiB, GiB; powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size; write e.g. 512M, 2G or 1073741824"))?;
    let mult: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        other => return Err(format!("{s:?}: unknown unit {other:?}; use K, M, G or T")),
    };
    let bytes = n * mult as f64;
    if !(bytes.is_finite() && bytes >= crate::memlimit::MIN_BYTES as f64) {
        return Err(format!("{s:?}: the memory limit must be at least 16M"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod size_tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("128M"), Ok(128 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("33554432"), Ok(32 << 20));
        assert!(parse_size("1M").is_err(), "below the floor");
        assert!(parse_size("lots").is_err());
        assert!(parse_size("12Q").is_err());
    }
}

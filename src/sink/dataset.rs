//! The output directory as one dataset, written atomically. [`DatasetWriter`] owns `--out`:
//! it refuses a directory that is not a gatelog dataset, stages everything a run writes under
//! `OUT/.staging-<run-id>/` (hidden from Athena and Hive by its leading `.`), streams each
//! `dt` partition of `requests` and `authorizer_invocations` there one partition at a time
//! (bounded memory), and on [`DatasetWriter::commit`] moves the finished partitions and
//! top-level files into place, replacing only the partitions the run produced (all of them
//! with `--overwrite`), and writes `_manifest.json` last. A run with a `--since/--until` window
//! replaces only the rows inside its window: the previous rows of a partition it rewrites that
//! lie outside the window are copied into the staged partition before the swap; partitions it
//! writes nothing to are kept whole. A run killed before the commit leaves the previous dataset
//! untouched and no partial file under a final name; the next run removes its staging
//! leftovers, after moving back any previous partition a kill in the middle of a swap left
//! aside. Also here: [`dt_of`] (the UTC partition key), [`read_back`], and
//! [`SinkError`], the error of the whole sink. The column contract lives in `parquet.rs`.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use arrow_array::{BooleanArray, RecordBatch};
use arrow_schema::ArrowError;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use serde_json::{json, Value};

use super::column_writer::ColumnParallelWriter;
use crate::model::{InvocationRow, RequestRow};
use crate::sink::parquet::{self as pq, Compression, Table, SCHEMA_VERSION};

/// Name of the manifest at the dataset root, written last by every commit.
pub const MANIFEST: &str = "_manifest.json";

/// Prefix of a run's staging directory inside the dataset root.
pub const STAGING_PREFIX: &str = ".staging-";

/// Partition value of rows without a time (Hive's and Athena's name for a null key).
pub const DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// Default [`DatasetOptions::max_rows_per_file`]: at ~30–60 compressed bytes per row this
/// gives files of a few hundred MB, inside Athena's 128 MB–1 GB sweet spot.
pub const DEFAULT_MAX_ROWS_PER_FILE: usize = 5_000_000;

/// Rows per Arrow [`RecordBatch`] handed to the Parquet writer.
const BATCH_ROWS: usize = 65_536;
/// Rows per Arrow batch built on one thread: a fixed number, so the batches the Parquet
/// writer sees (and so its page and dictionary decisions) never depend on the thread count.
const BUILD_ROWS: usize = 8_192;

/// File in the staging directory naming the process that owns it (pid, then its `comm`).
const OWNER_FILE: &str = "owner";

/// Subdirectory of the staging directory holding staged top-level files.
const STAGED_FILES: &str = "files";

/// Subdirectory of the staging directory receiving what a commit replaces.
const REPLACED: &str = "replaced";

pub(crate) const MS_PER_DAY: i64 = 86_400_000;

/// What can go wrong writing or reading the dataset. Every message names the path and what
/// to do.
#[derive(thiserror::Error, Debug)]
pub enum SinkError {
    /// A file-system operation failed.
    #[error(
        "cannot {action} {}: {source}; check that the path is writable and the disk is not full",
        path.display()
    )]
    Io {
        /// What was being done (`create`, `rename`, `fsync`, …).
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// `--out` exists and is neither empty nor a gatelog dataset.
    #[error(
        "{} is not a gatelog dataset ({reason}); choose another --out, or pass an empty or \
         missing directory",
        path.display()
    )]
    NotADataset {
        /// The directory.
        path: PathBuf,
        /// What was found there instead.
        reason: String,
    },
    /// Another live gatelog process is writing the same dataset.
    #[error(
        "another gatelog run (pid {pid}) is writing {}; wait for it to finish, or remove {} if \
         no such run exists",
        path.display(),
        staging.display()
    )]
    Busy {
        /// The dataset directory.
        path: PathBuf,
        /// The other run's staging directory.
        staging: PathBuf,
        /// The other run's process id.
        pid: u32,
    },
    /// The Parquet writer failed.
    #[error(
        "cannot write Parquet file {}: {source}; check that the disk of --out has room and is \
         writable (the previous dataset is kept as it was until a run commits)",
        path.display()
    )]
    Parquet {
        /// The file being written.
        path: PathBuf,
        /// The cause.
        source: ParquetError,
    },
    /// Rows could not be turned into an Arrow batch (a gatelog bug).
    #[error("cannot build an Arrow batch for the {table} table: {source}; please report this bug")]
    Batch {
        /// The table.
        table: &'static str,
        /// The cause.
        source: ArrowError,
    },
    /// A closed Parquet file's footer disagrees with the rows written into it.
    #[error(
        "{}: the footer counts {found} rows but {expected} were written; the file cannot be \
         trusted, rerun the job",
        path.display()
    )]
    RowCount {
        /// The file.
        path: PathBuf,
        /// Rows written.
        expected: u64,
        /// Rows the footer counts.
        found: i64,
    },
    /// The run id cannot be used in a directory name.
    #[error("invalid run id {run_id:?}: use 1 to 64 letters, digits, '-', '_' or '.'")]
    InvalidRunId {
        /// The run id.
        run_id: String,
    },
    /// A top-level file name passed to [`DatasetWriter::write_file`] is not allowed.
    #[error("invalid output file name {name:?}: {reason}")]
    InvalidFileName {
        /// The name.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The manifest could not be encoded.
    #[error("cannot encode {MANIFEST}: {source}")]
    Manifest {
        /// The cause.
        source: serde_json::Error,
    },
    /// A Parquet file could not be read back.
    #[error("cannot read Parquet file {}: {source}; is it a gatelog output file?", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: ParquetError,
    },
    /// A previous partition the run must keep rows of has columns this version does not
    /// write.
    #[error(
        "cannot keep the rows outside --since/--until of {}: {reason}; it was written by \
         another gatelog version: rerun without --since/--until, or with --overwrite",
        path.display()
    )]
    PreviousSchema {
        /// The previous part file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// The dataset was written with another Parquet schema version: its partitions and this
    /// run's would disagree on column types, which Athena cannot read as one table.
    #[error(
        "{} holds a dataset written with Parquet schema version {found}, and this gatelog \
         writes version {SCHEMA_VERSION}: one table cannot mix them. Rerun with --overwrite to \
         replace the whole dataset (rerun the older partitions' inputs too), or choose another --out",
        path.display()
    )]
    SchemaVersion {
        /// The dataset directory.
        path: PathBuf,
        /// The version its manifest names.
        found: String,
    },
    /// A commit failed after it had moved parts of the previous dataset aside.
    #[error(
        "committing into {} failed: {cause}; what the commit had already replaced is kept in {} \
         (the next run puts back every partition still missing from the dataset), then rerun",
        out.display(),
        kept.display()
    )]
    Commit {
        /// The dataset directory.
        out: PathBuf,
        /// Where the replaced parts of the previous dataset are kept.
        kept: PathBuf,
        /// The failure.
        cause: Box<SinkError>,
    },
}

impl SinkError {
    /// Whether the error is the user's to fix on the command line (`--out`, run id): the
    /// caller exits with the usage status rather than as a failed run.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            SinkError::NotADataset { .. }
                | SinkError::InvalidRunId { .. }
                | SinkError::SchemaVersion { .. }
        )
    }
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> SinkError + 'a {
    move |source| SinkError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// How a [`DatasetWriter`] writes.
#[derive(Debug, Clone)]
pub struct DatasetOptions {
    /// Parquet codec.
    pub compression: Compression,
    /// Rows per part file before the next one is started; 0 means no limit.
    pub max_rows_per_file: usize,
    /// Clear the whole previous dataset at commit, not only the partitions this run produces.
    pub overwrite: bool,
    /// Names the staging directory and is recorded in the manifest: 1 to 64 of
    /// `[A-Za-z0-9._-]`.
    pub run_id: String,
    /// Start of the run's time window (`--since`, epoch ms, inclusive). With a window, a
    /// partition this run writes keeps the previous version's rows that lie outside the
    /// window; without one (neither bound set), the run owns the whole partitions it writes.
    pub since_ms: Option<i64>,
    /// End of the run's time window (`--until`, epoch ms, exclusive).
    pub until_ms: Option<i64>,
}

impl Default for DatasetOptions {
    fn default() -> Self {
        DatasetOptions {
            compression: Compression::default(),
            max_rows_per_file: DEFAULT_MAX_ROWS_PER_FILE,
            overwrite: false,
            run_id: new_run_id(),
            since_ms: None,
            until_ms: None,
        }
    }
}

impl DatasetOptions {
    /// The run's time window, if it has one.
    fn window(&self) -> Option<Window> {
        (self.since_ms.is_some() || self.until_ms.is_some()).then_some(Window {
            since: self.since_ms,
            until: self.until_ms,
        })
    }
}

/// How far from a window bound a request's time must be for its authorizer invocations to
/// be sure to lie on the same side of the bound. An invocation starts within the request's
/// timeouts (30 s each for the authorizer and the integration) of the request time; the rest
/// is room for clock skew between the log groups.
const LINK_MARGIN_MS: i64 = 15 * 60_000;

/// A run's `[since, until)` window: the rows of a partition it owns.
#[derive(Debug, Clone, Copy)]
struct Window {
    since: Option<i64>,
    until: Option<i64>,
}

impl Window {
    /// Whether a row with this time belongs to the run: inside the window, or time unknown
    /// (the rule of `pipeline::Filter::keeps_time`, which chose the run's rows).
    fn owns(self, t: Option<i64>) -> bool {
        t.is_none_or(|t| self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u))
    }

    /// Whether a request at this time may have authorizer invocations on the other side of a
    /// bound (unknown times count as near).
    fn near_bound(self, t: Option<i64>) -> bool {
        let near =
            |b: Option<i64>, t: i64| b.is_some_and(|b| t.abs_diff(b) <= LINK_MARGIN_MS as u64);
        t.is_none_or(|t| near(self.since, t) || near(self.until, t))
    }
}

/// Which side of the window the requests near its bounds are on, by request id (xxh3), so an
/// authorizer invocation of the previous dataset follows its request rather than its own
/// start time: kept with a kept request, replaced with a replaced one.
#[derive(Debug, Default)]
struct NearBound {
    /// Requests this run owns: its own rows, and previous rows inside the window.
    owned: HashSet<u64>,
    /// Previous rows outside the window, kept.
    kept: HashSet<u64>,
}

impl NearBound {
    /// Whether a previous invocation row is kept: by its request when that request is near a
    /// bound, else by its start time.
    fn keeps_invocation(&self, w: Window, request_id: Option<&str>, start: Option<i64>) -> bool {
        if let Some(h) = request_id.map(id_hash) {
            if self.owned.contains(&h) {
                return false;
            }
            if self.kept.contains(&h) {
                return true;
            }
        }
        !w.owns(start)
    }
}

fn id_hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

/// A fresh run id: the UTC start time and the process id, `20240131T235959Z-4242`.
pub fn new_run_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (y, m, d) = civil_from_days(now.div_euclid(86_400));
    let s = now.rem_euclid(86_400);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z-{}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        std::process::id()
    )
}

/// One finished part file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartFile {
    /// File name inside its partition directory (`part-00000.parquet`).
    pub name: String,
    /// Rows in the file.
    pub rows: u64,
    /// Size of the file in bytes.
    pub bytes: u64,
}

/// One `dt` partition a run wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionReport {
    /// The table.
    pub table: Table,
    /// The partition value (`YYYY-MM-DD` or [`DEFAULT_PARTITION`]).
    pub dt: String,
    /// Its part files, in order.
    pub files: Vec<PartFile>,
    /// Rows of the previous version of the partition kept because they lie outside the
    /// run's window (in the last part files; counted in `files` too).
    pub kept_rows: u64,
}

impl PartitionReport {
    /// Path of the partition relative to the dataset root (`requests/dt=2024-01-31`).
    pub fn path(&self) -> String {
        format!("{}/dt={}", self.table.name(), self.dt)
    }

    /// Rows in the partition.
    pub fn rows(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }

    /// Bytes in the partition.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// What a commit put in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitReport {
    /// The partitions this run wrote, sorted by table then `dt`.
    pub partitions: Vec<PartitionReport>,
    /// The top-level files this run wrote, in the order first written.
    pub files: Vec<String>,
    /// Previous partitions this run replaced (not counting an `--overwrite` clear).
    pub replaced_partitions: usize,
    /// Whether the previous dataset was cleared (`--overwrite`).
    pub cleared: bool,
    /// Where the manifest was written.
    pub manifest: PathBuf,
}

impl CommitReport {
    /// Rows written to `table`.
    pub fn rows(&self, table: Table) -> u64 {
        self.partitions
            .iter()
            .filter(|p| p.table == table)
            .map(PartitionReport::rows)
            .sum()
    }

    /// Parquet bytes written, both tables.
    pub fn bytes(&self) -> u64 {
        self.partitions.iter().map(PartitionReport::bytes).sum()
    }

    /// What the run put in place, as paths relative to the dataset root: each partition
    /// directory (`requests/dt=2024-01-31/`), each top-level file, then `_manifest.json`.
    pub fn written_paths(&self) -> Vec<String> {
        self.partitions
            .iter()
            .map(|p| format!("{}/", p.path()))
            .chain(self.files.iter().cloned())
            .chain(std::iter::once(MANIFEST.to_string()))
            .collect()
    }

    /// Partitions written to `table`.
    pub fn partitions_of(&self, table: Table) -> impl Iterator<Item = &PartitionReport> {
        self.partitions.iter().filter(move |p| p.table == table)
    }
}

/// The part file being written.
struct OpenPart {
    table: Table,
    /// Partition day (days since the epoch), `None` for [`DEFAULT_PARTITION`].
    day: Option<i64>,
    /// Index into `DatasetWriter::partitions`.
    partition: usize,
    name: String,
    path: PathBuf,
    writer: ColumnParallelWriter<File>,
    rows: u64,
}

/// Rows of a previous partition on their way into a kept part file.
struct Kept {
    /// Filtered batches not yet written, `rows` rows in all.
    pending: Vec<RecordBatch>,
    rows: usize,
    /// The kept part file being written.
    open: Option<OpenPart>,
    /// Rows written so far.
    total: u64,
}

/// Writes one run into the dataset at `out`; see the module documentation.
pub struct DatasetWriter {
    /// How many `.staging-*` leftovers of killed runs `create` removed.
    stale_staging_removed: usize,
    out: PathBuf,
    staging: PathBuf,
    opts: DatasetOptions,
    props: [WriterProperties; 2],
    partitions: Vec<PartitionReport>,
    index: HashMap<(Table, String), usize>,
    /// Part files being written: one per partition the rows so far touched (a run written
    /// in several sorted groups revisits its partitions and appends to the same file).
    open: Vec<OpenPart>,
    files: Vec<String>,
    /// Committed or aborted: nothing left for `Drop` to clean.
    done: bool,
    /// The commit has moved something out of the dataset into the staging directory.
    moved_aside: bool,
    /// Request ids near the window's bounds, by side (windowed runs only).
    near: NearBound,
    /// Partitions `create` moved back from the staging directory of a run killed mid-swap.
    restored_partitions: usize,
    /// The previous manifest, found moved aside in the staging directory of a run killed
    /// during its commit (the dataset then has none): the next commit carries its entries
    /// over where they still describe what is on disk.
    recovered_manifest: Option<Value>,
}

/// A row type the writer can partition and batch.
trait Row: Sync {
    const TABLE: Table;
    fn partition_ms(&self) -> Option<i64>;
    fn batch(rows: &[&Self]) -> Result<RecordBatch, SinkError>;
}

impl Row for RequestRow<'_> {
    const TABLE: Table = Table::Requests;
    fn partition_ms(&self) -> Option<i64> {
        self.request_time_ms.or(self.log_time_ms)
    }
    fn batch(rows: &[&Self]) -> Result<RecordBatch, SinkError> {
        pq::request_batch_refs(rows)
    }
}

impl Row for InvocationRow {
    const TABLE: Table = Table::Invocations;
    fn partition_ms(&self) -> Option<i64> {
        self.invocation.start_time_ms
    }
    fn batch(rows: &[&Self]) -> Result<RecordBatch, SinkError> {
        pq::invocation_batch_refs(rows)
    }
}

fn table_index(table: Table) -> usize {
    match table {
        Table::Requests => 0,
        Table::Invocations => 1,
    }
}

impl DatasetWriter {
    /// Validates `out`: missing or empty → created; an existing gatelog dataset (it holds
    /// `_manifest.json`, or `requests/` / `authorizer_invocations/` directories) → reused;
    /// anything else → [`SinkError::NotADataset`]. Removes the `.staging-*` leftovers of killed
    /// runs (counted by [`DatasetWriter::stale_staging_removed`]) and refuses with
    /// [`SinkError::Busy`] while another live gatelog process stages into `out`. With
    /// `overwrite`, the previous dataset is cleared at commit time, not here: a run that dies
    /// before its commit leaves the old dataset as it was.
    pub fn create(out: &Path, opts: DatasetOptions) -> Result<Self, SinkError> {
        let id = &opts.run_id;
        if id.is_empty()
            || id.len() > 64
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            || id.starts_with('.')
        {
            return Err(SinkError::InvalidRunId { run_id: id.clone() });
        }
        match fs::metadata(out) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(out).map_err(io_err("create", out))?;
            }
            Err(e) => return Err(io_err("inspect", out)(e)),
            Ok(m) if !m.is_dir() => {
                return Err(SinkError::NotADataset {
                    path: out.to_path_buf(),
                    reason: "it is a file, not a directory".into(),
                })
            }
            Ok(_) => {}
        }

        let mut stale = Vec::new();
        let mut others = Vec::new();
        let mut is_dataset = false;
        for entry in fs::read_dir(out).map_err(io_err("list", out))? {
            let entry = entry.map_err(io_err("list", out))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(STAGING_PREFIX) {
                stale.push(entry.path());
                continue;
            }
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if name == MANIFEST || (is_dir && Table::ALL.iter().any(|t| t.name() == name)) {
                is_dataset = true;
            }
            others.push(name);
        }
        if !is_dataset && !others.is_empty() {
            others.sort();
            return Err(SinkError::NotADataset {
                path: out.to_path_buf(),
                reason: format!(
                    "it holds {} entr{}, e.g. `{}`, but no {MANIFEST}, {}/ or {}/",
                    others.len(),
                    if others.len() == 1 { "y" } else { "ies" },
                    others[0],
                    Table::Requests.name(),
                    Table::Invocations.name(),
                ),
            });
        }

        let staging = out.join(format!("{STAGING_PREFIX}{id}"));
        stale.sort();
        for dir in &stale {
            if let Some(pid) = live_owner(dir) {
                return Err(SinkError::Busy {
                    path: out.to_path_buf(),
                    staging: dir.clone(),
                    pid,
                });
            }
        }
        // The previous manifest, when the dataset has none: the one a killed run moved aside
        // into its staging directory, kept for the commit (the directory is removed below).
        let manifest_path = out.join(MANIFEST);
        let recovered_manifest = if missing(&manifest_path) {
            stale
                .iter()
                .find_map(|d| read_json(&d.join(REPLACED).join(MANIFEST)))
        } else {
            None
        };
        // Before anything is put back or removed: a refusal leaves `out` as it was, a killed
        // run's staging directory included.
        if !opts.overwrite {
            let found = read_json(&manifest_path)
                .as_ref()
                .or(recovered_manifest.as_ref())
                .and_then(schema_version);
            if let Some(found) = found.filter(|v| v != SCHEMA_VERSION) {
                return Err(SinkError::SchemaVersion {
                    path: out.to_path_buf(),
                    found,
                });
            }
        }
        let mut restored_partitions = 0;
        for dir in &stale {
            restored_partitions += restore_replaced(out, dir)?;
            remove_any(dir).map_err(io_err("remove the stale staging directory", dir))?;
        }

        fs::create_dir(&staging).map_err(io_err("create", &staging))?;
        let owner = staging.join(OWNER_FILE);
        let comm = fs::read_to_string("/proc/self/comm").unwrap_or_default();
        fs::write(
            &owner,
            format!("{}\n{}\n", std::process::id(), comm.trim_end()),
        )
        .map_err(io_err("write", &owner))?;

        let props = Table::ALL.map(|t| pq::table_writer_properties(t, opts.compression));
        Ok(DatasetWriter {
            stale_staging_removed: stale.len(),
            out: out.to_path_buf(),
            staging,
            opts,
            props,
            partitions: Vec::new(),
            index: HashMap::new(),
            open: Vec::new(),
            files: Vec::new(),
            done: false,
            moved_aside: false,
            near: NearBound::default(),
            restored_partitions,
            recovered_manifest,
        })
    }

    /// How many partitions [`DatasetWriter::create`] moved back into the dataset from the
    /// staging directory of a run killed in the middle of a partition swap.
    pub fn restored_partitions(&self) -> usize {
        self.restored_partitions
    }

    /// How many `.staging-*` leftovers of killed runs [`DatasetWriter::create`] removed.
    pub fn stale_staging_removed(&self) -> usize {
        self.stale_staging_removed
    }

    /// The dataset directory.
    pub fn out(&self) -> &Path {
        &self.out
    }

    /// This run's staging directory (what a Ctrl-C handler removes when it cannot reach the
    /// writer itself).
    pub fn staging_dir(&self) -> &Path {
        &self.staging
    }

    /// Writes request rows into `requests/dt=…/` partitions (partition value
    /// [`dt_of`]`(request_time_ms.or(log_time_ms))`). Rows must arrive sorted by
    /// (`dt`, `request_time`, `request_id`): each partition is streamed to its part files and
    /// finished before the next starts, in batches of 64k rows, a new part file every
    /// `max_rows_per_file` rows. The rows may come in several calls (a run too large for
    /// memory is written a sorted group at a time): a partition seen again goes on in its
    /// open part file, so the number of files does not grow with the number of groups.
    pub fn write_requests<'a, 'r: 'a>(
        &mut self,
        rows: impl Iterator<Item = &'a RequestRow<'r>>,
    ) -> Result<(), SinkError> {
        let Some(w) = self.opts.window() else {
            return self.write_rows(rows, false);
        };
        let mut owned = std::mem::take(&mut self.near.owned);
        let r = self.write_rows(
            rows.inspect(|row| {
                if w.near_bound(row.partition_ms()) {
                    owned.insert(id_hash(&row.request_id));
                }
            }),
            false,
        );
        self.near.owned = owned;
        r
    }

    /// Writes invocation rows into `authorizer_invocations/dt=…/` partitions, partitioned by
    /// `start_time`; otherwise as [`DatasetWriter::write_requests`], except that all the
    /// rows come sorted by day (in one call or several): a partition's part file is finished
    /// as soon as the rows pass its day (a partition seen again starts another part file).
    pub fn write_invocations<'a>(
        &mut self,
        rows: impl Iterator<Item = &'a InvocationRow>,
    ) -> Result<(), SinkError> {
        self.write_rows(rows, true)
    }

    /// Finishes the part files of the `requests` partitions of days before `day` (days since
    /// the epoch, UTC): the run has no more rows for them, and each open file holds a
    /// compression context per column. A row that comes for one of them after all starts
    /// another part file.
    pub fn finish_request_days_before(&mut self, day: i64) -> Result<(), SinkError> {
        self.finish_days_before(Table::Requests, day)
    }

    fn finish_days_before(&mut self, table: Table, day: i64) -> Result<(), SinkError> {
        for o in std::mem::take(&mut self.open) {
            if o.table == table && o.day.is_some_and(|d| d < day) {
                self.close_part(o)?;
            } else {
                self.open.push(o);
            }
        }
        Ok(())
    }

    /// Stages a top-level file (`rejects.ndjson`, `summary.json`, `summary.md`,
    /// `report.html`, …), moved into place at commit. Writing the same name again replaces
    /// the staged content.
    pub fn write_file(&mut self, name: &str, bytes: &[u8]) -> Result<(), SinkError> {
        let refuse = |reason| {
            Err(SinkError::InvalidFileName {
                name: name.to_string(),
                reason,
            })
        };
        if name.is_empty() || name.contains(['/', '\\', '\0']) || name == ".." {
            return refuse("use a plain file name, without directories");
        }
        if name.starts_with(['.', '_']) {
            return refuse("names starting with '.' or '_' are reserved for the dataset itself");
        }
        if Table::ALL.iter().any(|t| t.name() == name) {
            return refuse("that is a table directory");
        }
        let dir = self.staging.join(STAGED_FILES);
        fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
        let path = dir.join(name);
        let mut file = File::create(&path).map_err(io_err("create", &path))?;
        file.write_all(bytes).map_err(io_err("write", &path))?;
        file.sync_all().map_err(io_err("fsync", &path))?;
        if !self.files.iter().any(|f| f == name) {
            self.files.push(name.to_string());
        }
        Ok(())
    }

    /// Puts the run in place: closes the last part file; with a window, copies the previous
    /// rows outside it into the staged partitions; with `overwrite`, moves the previous
    /// dataset aside; moves each staged partition into place, replacing only the `dt`
    /// partitions this run produced (the old partition directory is renamed aside into the
    /// staging directory, the new one renamed in, then the old deleted); moves the top-level
    /// files into place; writes `_manifest.json` last (temp file, fsync, rename); removes the
    /// staging directory.
    ///
    /// The manifest is `manifest` (the caller's object: inputs, counts, timings) with
    /// `schema_version` and `run_id` added when absent, and a `dataset` object: the partitions
    /// now in the dataset (`table`, `dt`, `path`, `run_id`, `rows`, `bytes`, `files`, those of
    /// earlier runs carried over from the previous manifest), the top-level files of this run,
    /// and the Parquet schema version. A non-object `manifest` is kept under `run`.
    pub fn commit(mut self, manifest: &Value) -> Result<CommitReport, SinkError> {
        match self.commit_inner(manifest) {
            Ok(report) => Ok(report),
            Err(cause) if self.moved_aside && !self.done => {
                // Keep the staging directory: it holds what was moved out of the dataset.
                self.done = true;
                Err(SinkError::Commit {
                    out: self.out.clone(),
                    kept: self.staging.join(REPLACED),
                    cause: Box::new(cause),
                })
            }
            // Nothing left the dataset: dropping `self` removes the staging directory.
            Err(cause) => Err(cause),
        }
    }

    fn commit_inner(&mut self, manifest: &Value) -> Result<CommitReport, SinkError> {
        for open in std::mem::take(&mut self.open) {
            self.close_part(open)?;
        }
        self.partitions
            .sort_by(|a, b| (a.table, &a.dt).cmp(&(b.table, &b.dt)));
        // Still before anything in the dataset moves: a failure here leaves it as it was.
        self.keep_rows_outside_the_window()?;
        let manifest_path = self.out.join(MANIFEST);
        let replaced_dir = self.staging.join(REPLACED);
        fs::create_dir_all(&replaced_dir).map_err(io_err("create", &replaced_dir))?;

        // The previous manifest goes first: a dataset has a manifest only while the manifest
        // describes it.
        let previous: Option<Value> =
            read_json(&manifest_path).or_else(|| self.recovered_manifest.take());
        if manifest_path.exists() {
            let aside = replaced_dir.join(MANIFEST);
            self.moved_aside = true;
            fs::rename(&manifest_path, &aside).map_err(io_err("move aside", &manifest_path))?;
        }
        if self.opts.overwrite {
            let staging_name = self.staging.file_name().map(|n| n.to_os_string());
            for entry in fs::read_dir(&self.out).map_err(io_err("list", &self.out))? {
                let entry = entry.map_err(io_err("list", &self.out))?;
                if Some(entry.file_name()) == staging_name {
                    continue;
                }
                let from = entry.path();
                self.moved_aside = true;
                fs::rename(&from, replaced_dir.join(entry.file_name()))
                    .map_err(io_err("move aside", &from))?;
            }
        }

        for table in Table::ALL {
            let dir = self.out.join(table.name());
            fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
        }
        let mut replaced_partitions = 0;
        for p in &self.partitions {
            let rel = p.path();
            let staged = self.staging.join(&rel);
            let target = self.out.join(&rel);
            if fs::symlink_metadata(&target).is_ok() {
                let aside = replaced_dir.join(&rel);
                if let Some(parent) = aside.parent() {
                    fs::create_dir_all(parent).map_err(io_err("create", parent))?;
                }
                // One atomic swap where the platform has it: a reader (or a crash) sees the
                // previous partition or the new one, never neither.
                if exchange(&staged, &target).is_ok() {
                    fs::rename(&staged, &aside).map_err(io_err("move aside", &staged))?;
                    replaced_partitions += 1;
                    continue;
                }
                self.moved_aside = true;
                fs::rename(&target, &aside).map_err(io_err("move aside", &target))?;
                if let Err(e) = fs::rename(&staged, &target) {
                    // Put the previous partition back where it was, if we can.
                    let _ = fs::rename(&aside, &target);
                    return Err(io_err("move into place", &staged)(e));
                }
                replaced_partitions += 1;
            } else {
                fs::rename(&staged, &target).map_err(io_err("move into place", &staged))?;
            }
        }
        for name in &self.files {
            let staged = self.staging.join(STAGED_FILES).join(name);
            let target = self.out.join(name);
            fs::rename(&staged, &target).map_err(io_err("move into place", &staged))?;
        }
        for table in Table::ALL {
            sync_dir(&self.out.join(table.name()));
        }
        sync_dir(&self.out);

        let text = self.manifest_json(manifest, previous.as_ref())?;
        let tmp = self.staging.join(format!("{MANIFEST}.tmp"));
        let mut file = File::create(&tmp).map_err(io_err("create", &tmp))?;
        file.write_all(&text).map_err(io_err("write", &tmp))?;
        file.sync_all().map_err(io_err("fsync", &tmp))?;
        drop(file);
        fs::rename(&tmp, &manifest_path).map_err(io_err("move into place", &tmp))?;
        sync_dir(&self.out);

        // The run is in place; a staging directory that cannot be removed now is a leftover
        // the next run removes.
        self.done = true;
        let _ = fs::remove_dir_all(&self.staging);
        Ok(CommitReport {
            partitions: std::mem::take(&mut self.partitions),
            files: std::mem::take(&mut self.files),
            replaced_partitions,
            cleared: self.opts.overwrite,
            manifest: manifest_path,
        })
    }

    /// Removes the staging directory, leaving the previous dataset as it was (Ctrl-C, failure).
    /// Dropping an uncommitted writer does the same.
    pub fn abort(mut self) {
        self.cleanup();
    }

    fn cleanup(&mut self) {
        if !self.done {
            self.done = true;
            self.open.clear();
            let _ = fs::remove_dir_all(&self.staging);
        }
    }

    /// With a window (and without `overwrite`): for each staged partition whose previous
    /// version exists, copies the previous rows this run does not own into the staged
    /// partition as further part files, so the swap that follows replaces only the rows
    /// inside the window. Requests are owned by their time (`request_time`, else `log_time`;
    /// unknown counts as inside), invocations by their request when it lies near a bound,
    /// else by `start_time`. Requests go first (partitions are sorted by table), so the
    /// invocations see which side their requests near a bound are on. Rows are copied in the
    /// previous files' order and handed to the Parquet writer in the chunks `write_rows` uses,
    /// so a rerun over its own output writes the same bytes.
    fn keep_rows_outside_the_window(&mut self) -> Result<(), SinkError> {
        let Some(w) = self.opts.window() else {
            return Ok(());
        };
        if self.opts.overwrite {
            return Ok(());
        }
        let max_rows = match self.opts.max_rows_per_file {
            0 => u64::MAX,
            n => n as u64,
        };
        for i in 0..self.partitions.len() {
            let table = self.partitions[i].table;
            let old_dir = self.out.join(self.partitions[i].path());
            if !fs::symlink_metadata(&old_dir).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            let mut files: Vec<PathBuf> = fs::read_dir(&old_dir)
                .map_err(io_err("list", &old_dir))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
                .collect();
            files.sort();
            let mut kept = Kept {
                pending: Vec::new(),
                rows: 0,
                open: None,
                total: 0,
            };
            for path in &files {
                let err = |source| SinkError::Read {
                    path: path.clone(),
                    source,
                };
                let file = File::open(path).map_err(io_err("open", path))?;
                let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                    .and_then(|b| b.with_batch_size(BATCH_ROWS).build())
                    .map_err(err)?;
                for batch in reader {
                    let batch = batch.map_err(|e| err(ParquetError::from(e)))?;
                    // The columns of this gatelog version, or an error naming the file.
                    let batch = RecordBatch::try_new(table.schema(), batch.columns().to_vec())
                        .map_err(|e| SinkError::PreviousSchema {
                            path: path.clone(),
                            reason: e.to_string(),
                        })?;
                    let mask = self.keep_mask(table, w, &batch).map_err(|reason| {
                        SinkError::PreviousSchema {
                            path: path.clone(),
                            reason,
                        }
                    })?;
                    let rows = arrow_select::filter::filter_record_batch(&batch, &mask).map_err(
                        |source| SinkError::Batch {
                            table: table.name(),
                            source,
                        },
                    )?;
                    if rows.num_rows() > 0 {
                        kept.rows += rows.num_rows();
                        kept.pending.push(rows);
                        self.write_kept(i, &mut kept, max_rows, false)?;
                    }
                }
            }
            self.write_kept(i, &mut kept, max_rows, true)?;
            self.partitions[i].kept_rows = kept.total;
        }
        Ok(())
    }

    /// Which rows of a previous batch the run keeps (does not own), recording the requests
    /// near the window's bounds.
    fn keep_mask(
        &mut self,
        table: Table,
        w: Window,
        batch: &RecordBatch,
    ) -> Result<BooleanArray, String> {
        use arrow_array::cast::AsArray;
        use arrow_array::types::TimestampMillisecondType;
        use arrow_array::Array;
        let ts = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>())
                .ok_or_else(|| format!("no timestamp column {name}"))
        };
        let ids = batch
            .column_by_name("request_id")
            .and_then(|c| c.as_string_opt::<i32>())
            .ok_or("no string column request_id")?;
        let at = |c: &arrow_array::TimestampMillisecondArray, i: usize| {
            (!c.is_null(i)).then(|| c.value(i))
        };
        let n = batch.num_rows();
        Ok(match table {
            Table::Requests => {
                let (rt, lt) = (ts("request_time")?, ts("log_time")?);
                (0..n)
                    .map(|i| {
                        let t = at(rt, i).or_else(|| at(lt, i));
                        let keep = !w.owns(t);
                        if w.near_bound(t) && !ids.is_null(i) {
                            let side = if keep {
                                &mut self.near.kept
                            } else {
                                &mut self.near.owned
                            };
                            side.insert(id_hash(ids.value(i)));
                        }
                        Some(keep)
                    })
                    .collect()
            }
            Table::Invocations => {
                let st = ts("start_time")?;
                (0..n)
                    .map(|i| {
                        let id = (!ids.is_null(i)).then(|| ids.value(i));
                        Some(self.near.keeps_invocation(w, id, at(st, i)))
                    })
                    .collect()
            }
        })
    }

    /// Writes the pending kept rows of partition `i` in the chunks `write_rows` would use
    /// (`BATCH_ROWS`, cut at `max_rows` per part file); with `last`, the remainder too, and
    /// closes the part file.
    fn write_kept(
        &mut self,
        i: usize,
        kept: &mut Kept,
        max_rows: u64,
        last: bool,
    ) -> Result<(), SinkError> {
        let table = self.partitions[i].table;
        while kept.rows > 0 && (last || kept.rows >= BATCH_ROWS) {
            let mut open = match kept.open.take() {
                Some(o) => o,
                None => self.open_part_at(i)?,
            };
            let room = usize::try_from(max_rows - open.rows).unwrap_or(usize::MAX);
            let chunk = kept.rows.min(BATCH_ROWS).min(room);
            let all = arrow_select::concat::concat_batches(&table.schema(), &kept.pending)
                .map_err(|source| SinkError::Batch {
                    table: table.name(),
                    source,
                })?;
            open.writer
                .write(&all.slice(0, chunk))
                .map_err(|source| SinkError::Parquet {
                    path: open.path.clone(),
                    source,
                })?;
            open.rows += chunk as u64;
            kept.total += chunk as u64;
            kept.rows -= chunk;
            kept.pending.clear();
            if kept.rows > 0 {
                kept.pending.push(all.slice(chunk, kept.rows));
            }
            if open.rows >= max_rows {
                self.close_part(open)?;
            } else {
                kept.open = Some(open);
            }
        }
        if last {
            if let Some(open) = kept.open.take() {
                self.close_part(open)?;
            }
        }
        Ok(())
    }

    /// Writes rows of one table; with `in_day_order` (the table's rows come sorted by day,
    /// over one call or several), each partition's part file is finished as soon as the rows
    /// move past its day.
    fn write_rows<'a, R: Row + 'a>(
        &mut self,
        rows: impl Iterator<Item = &'a R>,
        in_day_order: bool,
    ) -> Result<(), SinkError> {
        let max_rows = match self.opts.max_rows_per_file {
            0 => u64::MAX,
            n => n as u64,
        };
        // Another table: its parts are finished.
        for o in std::mem::take(&mut self.open) {
            if o.table == R::TABLE {
                self.open.push(o);
            } else {
                self.close_part(o)?;
            }
        }
        let mut buf: Vec<&R> = Vec::with_capacity(rows.size_hint().0.min(BATCH_ROWS));
        let mut cur: Option<usize> = None;
        for row in rows {
            let day = row.partition_ms().map(|ms| ms.div_euclid(MS_PER_DAY));
            let i = match cur {
                Some(i) if self.open[i].day == day => i,
                _ => {
                    if let Some(i) = cur {
                        write_buf(&mut self.open[i], &mut buf)?;
                        // Rows in day order, all in this call: the days left behind are done.
                        if let (true, Some(prev), Some(d)) = (in_day_order, self.open[i].day, day) {
                            if prev < d {
                                self.finish_days_before(R::TABLE, d)?;
                            }
                        }
                    }
                    match self.open.iter().position(|o| o.day == day) {
                        Some(i) => i,
                        None => {
                            let o = self.open_part(R::TABLE, day)?;
                            self.open.push(o);
                            self.open.len() - 1
                        }
                    }
                }
            };
            cur = Some(i);
            buf.push(row);
            let part = &mut self.open[i];
            let full = part.rows + buf.len() as u64 >= max_rows;
            if full || buf.len() >= BATCH_ROWS {
                write_buf(part, &mut buf)?;
            }
            if full {
                let o = self.open.swap_remove(i);
                self.close_part(o)?;
                cur = None;
            }
        }
        if let Some(i) = cur {
            write_buf(&mut self.open[i], &mut buf)?;
        }
        Ok(())
    }

    /// Ends the row groups of open part files, the largest first, until what their Parquet
    /// writers hold is at most `budget` bytes: for runs written in several groups, whose
    /// memory must not grow with the input. Row groups stay as large as the budget allows
    /// (ending every row group at every group would leave files of many small row groups,
    /// slow to write and to scan).
    pub fn flush_row_groups(&mut self, budget: usize) -> Result<(), SinkError> {
        let mut sizes: Vec<(usize, usize)> = self
            .open
            .iter()
            .enumerate()
            .map(|(i, o)| (o.writer.memory_size(), i))
            .collect();
        let mut held: usize = sizes.iter().map(|s| s.0).sum();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        for (size, i) in sizes {
            if held <= budget {
                break;
            }
            let o = &mut self.open[i];
            o.writer.flush().map_err(|source| SinkError::Parquet {
                path: o.path.clone(),
                source,
            })?;
            held -= size;
        }
        Ok(())
    }

    /// Starts the next part file of (`table`, `day`) in the staging directory.
    fn open_part(&mut self, table: Table, day: Option<i64>) -> Result<OpenPart, SinkError> {
        let partition = self.partition_index(table, day);
        let mut open = self.open_part_at(partition)?;
        open.day = day;
        Ok(open)
    }

    /// The index in `partitions` of (`table`, `day`), added when new.
    fn partition_index(&mut self, table: Table, day: Option<i64>) -> usize {
        let dt = day.map_or_else(|| DEFAULT_PARTITION.to_string(), format_day);
        let partition = match self.index.get(&(table, dt.clone())) {
            Some(&i) => i,
            None => {
                self.partitions.push(PartitionReport {
                    table,
                    dt: dt.clone(),
                    files: Vec::new(),
                    kept_rows: 0,
                });
                self.index.insert((table, dt), self.partitions.len() - 1);
                self.partitions.len() - 1
            }
        };
        partition
    }

    /// Starts the next part file of partition `partition` in the staging directory.
    fn open_part_at(&mut self, partition: usize) -> Result<OpenPart, SinkError> {
        let p = &self.partitions[partition];
        let table = p.table;
        let dir = self.staging.join(p.path());
        fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
        let name = format!("part-{:05}.parquet", p.files.len());
        let path = dir.join(&name);
        let file = File::create_new(&path).map_err(io_err("create", &path))?;
        let props = self.props[table_index(table)].clone();
        let writer =
            ColumnParallelWriter::try_new(file, table.schema(), props).map_err(|source| {
                SinkError::Parquet {
                    path: path.clone(),
                    source,
                }
            })?;
        Ok(OpenPart {
            table,
            day: None,
            partition,
            name,
            path,
            writer,
            rows: 0,
        })
    }

    /// Finishes a part file: footer, row-count check against the footer, fsync.
    fn close_part(&mut self, mut open: OpenPart) -> Result<(), SinkError> {
        let meta = open.writer.finish().map_err(|source| SinkError::Parquet {
            path: open.path.clone(),
            source,
        })?;
        let found = meta.file_metadata().num_rows();
        if u64::try_from(found).ok() != Some(open.rows) {
            return Err(SinkError::RowCount {
                path: open.path,
                expected: open.rows,
                found,
            });
        }
        open.writer
            .inner()
            .sync_all()
            .map_err(io_err("fsync", &open.path))?;
        let bytes = open.writer.bytes_written() as u64;
        self.partitions[open.partition].files.push(PartFile {
            name: open.name,
            rows: open.rows,
            bytes,
        });
        Ok(())
    }

    fn manifest_json(
        &self,
        caller: &Value,
        previous: Option<&Value>,
    ) -> Result<Vec<u8>, SinkError> {
        let run_id = self.opts.run_id.as_str();
        let ours: HashSet<String> = self.partitions.iter().map(PartitionReport::path).collect();
        let mut partitions: Vec<Value> = Vec::new();
        if !self.opts.overwrite {
            // Every other partition on disk: the previous manifest's entry while it still
            // describes the files there, else (a run died before its manifest) what the files
            // say, with no run id.
            let old: HashMap<&str, &Value> = previous
                .and_then(|v| v.pointer("/dataset/partitions"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| Some((p.get("path")?.as_str()?, p)))
                .collect();
            for table in Table::ALL {
                for dt in partition_dirs(&self.out.join(table.name())) {
                    let path = format!("{}/dt={dt}", table.name());
                    if ours.contains(&path) {
                        continue;
                    }
                    let files = part_files(&self.out.join(&path));
                    partitions.push(match old.get(path.as_str()) {
                        Some(p) if describes(p, &files) => (*p).clone(),
                        _ => describe_from_disk(table, &dt, &path, &self.out, &files),
                    });
                }
            }
        }
        for p in &self.partitions {
            partitions.push(json!({
                "table": p.table.name(),
                "dt": p.dt,
                "path": p.path(),
                "run_id": run_id,
                "rows": p.rows(),
                "kept_rows": p.kept_rows,
                "bytes": p.bytes(),
                "files": p.files.iter().map(|f| json!({
                    "name": f.name,
                    "rows": f.rows,
                    "bytes": f.bytes,
                })).collect::<Vec<_>>(),
            }));
        }
        let key = |p: &Value| {
            (
                p.get("table")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                p.get("dt")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            )
        };
        partitions.sort_by_key(key);

        let mut root = match caller {
            Value::Object(map) => map.clone(),
            other => {
                let mut map = serde_json::Map::new();
                map.insert("run".into(), other.clone());
                map
            }
        };
        root.entry("schema_version")
            .or_insert_with(|| SCHEMA_VERSION.into());
        root.entry("run_id").or_insert_with(|| run_id.into());
        root.insert(
            "dataset".into(),
            json!({
                "parquet_schema_version": SCHEMA_VERSION,
                "run_id": run_id,
                "overwrite": self.opts.overwrite,
                "window": self.opts.window().map(|w| json!({
                    "since_ms": w.since,
                    "until_ms": w.until,
                })),
                "partitions": partitions,
                "files": self.files,
            }),
        );
        let mut text = serde_json::to_vec_pretty(&Value::Object(root))
            .map_err(|source| SinkError::Manifest { source })?;
        text.push(b'\n');
        Ok(text)
    }
}

impl Drop for DatasetWriter {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// Hands the buffered rows to the part file's writer as one batch.
fn write_buf<R: Row>(open: &mut OpenPart, buf: &mut Vec<&R>) -> Result<(), SinkError> {
    if buf.is_empty() {
        return Ok(());
    }
    // Arrow arrays are built a fixed number of rows at a time, in parallel on the current
    // rayon pool, then written in order: the chunks do not depend on the thread count, so
    // neither do the bytes.
    use rayon::prelude::*;
    let batches = buf
        .par_chunks(BUILD_ROWS)
        .map(|rows| R::batch(rows))
        .collect::<Result<Vec<_>, _>>()?;
    for batch in &batches {
        open.writer
            .write(batch)
            .map_err(|source| SinkError::Parquet {
                path: open.path.clone(),
                source,
            })?;
    }
    open.rows += buf.len() as u64;
    buf.clear();
    Ok(())
}

/// A JSON file's value, when it can be read and parsed (a manifest).
fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

/// Whether nothing, not even a dangling link, is at `p`.
fn missing(p: &Path) -> bool {
    matches!(fs::symlink_metadata(p), Err(e) if e.kind() == io::ErrorKind::NotFound)
}

/// The Parquet schema version a manifest names, if it names one.
fn schema_version(manifest: &Value) -> Option<String> {
    match manifest.pointer("/dataset/parquet_schema_version")? {
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The `dt` values of the partition directories of a table directory, sorted.
fn partition_dirs(table_dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(table_dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter_map(|e| Some(e.file_name().to_str()?.strip_prefix("dt=")?.to_string()))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The Parquet files of a partition directory with their sizes, sorted by name.
fn part_files(dir: &Path) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_str()?.to_string();
                    let len = e.metadata().ok()?.len();
                    name.ends_with(".parquet").then_some((name, len))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Whether a manifest entry lists exactly these files, with these sizes.
fn describes(entry: &Value, files: &[(String, u64)]) -> bool {
    let Some(listed) = entry.get("files").and_then(Value::as_array) else {
        return false;
    };
    let mut listed: Vec<(Option<&str>, Option<u64>)> = listed
        .iter()
        .map(|f| {
            (
                f.get("name").and_then(Value::as_str),
                f.get("bytes").and_then(Value::as_u64),
            )
        })
        .collect();
    listed.sort();
    listed.len() == files.len()
        && listed
            .iter()
            .zip(files)
            .all(|((n, b), (name, bytes))| *n == Some(name.as_str()) && *b == Some(*bytes))
}

/// A manifest entry for a partition no manifest describes: row counts from the footers
/// (null for a file whose footer cannot be read), no run id.
fn describe_from_disk(
    table: Table,
    dt: &str,
    path: &str,
    out: &Path,
    files: &[(String, u64)],
) -> Value {
    let rows: Vec<Option<i64>> = files
        .iter()
        .map(|(name, _)| {
            let file = File::open(out.join(path).join(name)).ok()?;
            let b = ParquetRecordBatchReaderBuilder::try_new(file).ok()?;
            Some(b.metadata().file_metadata().num_rows())
        })
        .collect();
    let total = rows.iter().try_fold(0i64, |acc, r| Some(acc + (*r)?));
    json!({
        "table": table.name(),
        "dt": dt,
        "path": path,
        "run_id": null,
        "rows": total,
        "bytes": files.iter().map(|(_, b)| b).sum::<u64>(),
        "files": files.iter().zip(&rows).map(|((name, bytes), rows)| json!({
            "name": name,
            "rows": rows,
            "bytes": bytes,
        })).collect::<Vec<_>>(),
    })
}

/// The pid of the live gatelog process owning a staging directory, if any: its owner file
/// names a pid whose `/proc/PID/comm` still matches. Without `/proc`, every staging
/// directory counts as a leftover.
fn live_owner(staging: &Path) -> Option<u32> {
    let text = fs::read_to_string(staging.join(OWNER_FILE)).ok()?;
    let mut lines = text.lines();
    let pid: u32 = lines.next()?.trim().parse().ok()?;
    let comm = lines.next()?.trim();
    let live = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    (!comm.is_empty() && live.trim_end() == comm).then_some(pid)
}

/// Puts back what a run that died during its commit had moved aside into its
/// `replaced/` directory and not yet replaced: each partition whose final path is missing is
/// the previous version, intact (the two-rename fallback of the swap was cut between its
/// renames, or an `--overwrite` clear was cut short), and so is each missing top-level file.
/// The previous manifest is not put back ([`DatasetWriter::create`] has read it, for the
/// commit). Returns the partitions moved back.
fn restore_replaced(out: &Path, staging: &Path) -> Result<usize, SinkError> {
    let replaced = staging.join(REPLACED);
    let sorted_names = |dir: &Path| -> Vec<std::ffi::OsString> {
        let mut v: Vec<_> = fs::read_dir(dir)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        v.sort();
        v
    };
    if !fs::symlink_metadata(&replaced).is_ok_and(|m| m.is_dir()) {
        return Ok(0);
    }
    let mut restored = 0;
    for name in sorted_names(&replaced) {
        let from = replaced.join(&name);
        let target = out.join(&name);
        let is_dir = fs::symlink_metadata(&from).is_ok_and(|m| m.is_dir());
        if name == MANIFEST {
            // A dataset has a manifest only while the manifest describes it.
        } else if is_dir && Table::ALL.iter().any(|t| name == t.name()) {
            for part in sorted_names(&from) {
                if !part.to_string_lossy().starts_with("dt=") {
                    continue;
                }
                let back = target.join(&part);
                if missing(&back) {
                    fs::create_dir_all(&target).map_err(io_err("create", &target))?;
                    let aside = from.join(&part);
                    fs::rename(&aside, &back).map_err(io_err("move back", &aside))?;
                    restored += 1;
                }
            }
            sync_dir(&target);
        } else if !is_dir && missing(&target) {
            fs::rename(&from, &target).map_err(io_err("move back", &from))?;
        }
    }
    sync_dir(out);
    Ok(restored)
}

fn remove_any(path: &Path) -> io::Result<()> {
    if fs::symlink_metadata(path)?.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

/// Makes renames inside `dir` durable. Best effort: some file systems refuse to fsync a
/// directory, and the data files themselves are already synced.
fn sync_dir(dir: &Path) {
    if let Ok(f) = File::open(dir) {
        let _ = f.sync_all();
    }
}

/// The `dt` partition value of an epoch-milliseconds time: its UTC date `YYYY-MM-DD`, or
/// [`DEFAULT_PARTITION`] for `None`.
pub fn dt_of(ms: Option<i64>) -> String {
    match ms {
        Some(ms) => format_day(ms.div_euclid(MS_PER_DAY)),
        None => DEFAULT_PARTITION.to_string(),
    }
}

fn format_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

use crate::time::civil_from_days;

/// Swaps two existing paths in one step (Linux `renameat2(RENAME_EXCHANGE)`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let cstr = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    };
    let (ca, cb) = (cstr(a)?, cstr(b)?);
    // SAFETY: both pointers are valid NUL-terminated strings for the duration of the call.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Elsewhere: not available; the caller falls back to two renames.
#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no atomic exchange",
    ))
}

/// Reads every batch of a Parquet file (tests, `explain`).
pub fn read_back(path: &Path) -> Result<Vec<RecordBatch>, SinkError> {
    let err = |source| SinkError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_err("open", path))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(err)?;
    reader
        .collect::<Result<Vec<_>, ArrowError>>()
        .map_err(|e| err(ParquetError::from(e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::parquet::tests::{full_invocation_row, full_request_row};
    use arrow_array::cast::AsArray;

    const DAY1: i64 = 1_706_659_200_000; // 2024-01-31T00:00:00Z
    const DAY2: i64 = DAY1 + MS_PER_DAY; // 2024-02-01

    fn req(id: &str, ms: Option<i64>) -> RequestRow<'static> {
        RequestRow {
            request_id: id.to_string().into(),
            request_time_ms: ms,
            source_file: "access.log".into(),
            ..Default::default()
        }
    }

    fn opts(run: &str) -> DatasetOptions {
        DatasetOptions {
            run_id: run.to_string(),
            ..Default::default()
        }
    }

    /// Writes one run of request rows (and `summary.json`) into `out`.
    fn run(out: &Path, o: DatasetOptions, rows: &[RequestRow]) -> CommitReport {
        let mut w = DatasetWriter::create(out, o).unwrap();
        w.write_requests(rows.iter()).unwrap();
        w.write_file("summary.json", b"{}").unwrap();
        w.commit(&json!({"inputs": []})).unwrap()
    }

    /// Request ids of a partition, in file then row order.
    fn ids(dir: &Path) -> Vec<String> {
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let mut out = Vec::new();
        for f in files {
            for b in read_back(&f).unwrap() {
                let col = b.column(b.schema().index_of("request_id").unwrap()).clone();
                out.extend(
                    col.as_string::<i32>()
                        .iter()
                        .map(|s| s.unwrap().to_string()),
                );
            }
        }
        out
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn manifest(out: &Path) -> Value {
        serde_json::from_slice(&fs::read(out.join(MANIFEST)).unwrap()).unwrap()
    }

    fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let m = i64::from(m);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    #[test]
    fn dt_is_the_utc_date() {
        assert_eq!(dt_of(Some(0)), "1970-01-01");
        assert_eq!(dt_of(Some(-1)), "1969-12-31");
        assert_eq!(dt_of(Some(951_782_400_000)), "2000-02-29");
        assert_eq!(dt_of(Some(1_709_251_199_999)), "2024-02-29");
        assert_eq!(dt_of(Some(1_709_251_200_000)), "2024-03-01");
        assert_eq!(dt_of(Some(DAY1 - 1)), "2024-01-30");
        assert_eq!(dt_of(Some(DAY1)), "2024-01-31");
        assert_eq!(dt_of(Some(253_402_300_799_999)), "9999-12-31");
        assert_eq!(dt_of(None), DEFAULT_PARTITION);
        for day in -800_000..800_000 {
            let (y, m, d) = civil_from_days(day);
            assert!((1..=12).contains(&m) && (1..=31).contains(&d));
            assert_eq!(days_from_civil(y, m, d), day);
        }
        let id = new_run_id();
        assert!(id.len() > 17 && id.as_bytes()[8] == b'T', "{id}");
    }

    #[test]
    fn partitions_by_dt_across_two_days() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let rows = vec![
            req("a", Some(DAY1 + 5)),
            req("b", Some(DAY1 + 6)),
            RequestRow {
                log_time_ms: Some(DAY1 + 7),
                ..req("c", None)
            },
            req("d", Some(DAY2)),
            req("e", None),
        ];
        let report = run(&out, opts("r1"), &rows);
        assert_eq!(
            names(&out),
            [
                "_manifest.json",
                "authorizer_invocations",
                "requests",
                "summary.json"
            ]
        );
        let t = out.join("requests");
        assert_eq!(
            names(&t),
            [
                "dt=2024-01-31",
                "dt=2024-02-01",
                "dt=__HIVE_DEFAULT_PARTITION__"
            ]
        );
        assert_eq!(ids(&t.join("dt=2024-01-31")), ["a", "b", "c"]);
        assert_eq!(ids(&t.join("dt=2024-02-01")), ["d"]);
        assert_eq!(ids(&t.join("dt=__HIVE_DEFAULT_PARTITION__")), ["e"]);
        assert_eq!(report.rows(Table::Requests), 5);
        assert_eq!(report.rows(Table::Invocations), 0);
        assert_eq!(report.partitions.len(), 3);
        assert_eq!(report.files, ["summary.json"]);
        assert_eq!(
            report.written_paths(),
            [
                "requests/dt=2024-01-31/",
                "requests/dt=2024-02-01/",
                "requests/dt=__HIVE_DEFAULT_PARTITION__/",
                "summary.json",
                "_manifest.json"
            ]
        );
        let on_disk: u64 = report
            .partitions
            .iter()
            .flat_map(|p| {
                let dir = out.join(p.path());
                p.files.iter().map(move |f| dir.join(&f.name))
            })
            .map(|f| fs::metadata(f).unwrap().len())
            .sum();
        assert_eq!(report.bytes(), on_disk);

        let m = manifest(&out);
        assert_eq!(m["inputs"], json!([]));
        assert_eq!(m["schema_version"], SCHEMA_VERSION);
        assert_eq!(m["run_id"], "r1");
        let parts = m["dataset"]["partitions"].as_array().unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0]["table"], "requests");
        assert_eq!(parts[0]["dt"], "2024-01-31");
        assert_eq!(parts[0]["rows"], 3);
        assert_eq!(parts[0]["files"][0]["name"], "part-00000.parquet");
        assert_eq!(parts[0]["files"][0]["rows"], 3);
        assert_eq!(m["dataset"]["files"], json!(["summary.json"]));
    }

    #[test]
    fn invocations_partition_by_start_time_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let mut w = DatasetWriter::create(&out, opts("r1")).unwrap();
        let full = full_request_row();
        w.write_requests([&full].into_iter()).unwrap();
        let a = full_invocation_row();
        let mut b = InvocationRow::default();
        b.invocation.start_time_ms = Some(DAY2 + 1);
        w.write_invocations([&a, &b].into_iter()).unwrap();
        let report = w.commit(&json!({})).unwrap();
        assert_eq!(report.rows(Table::Invocations), 2);
        let inv = out.join("authorizer_invocations");
        assert_eq!(names(&inv), ["dt=2024-01-31", "dt=2024-02-01"]);
        let back = read_back(&inv.join("dt=2024-01-31/part-00000.parquet")).unwrap();
        assert_eq!(back, vec![pq::invocation_batch(&[a]).unwrap()]);
        let back = read_back(&out.join("requests/dt=2024-01-31/part-00000.parquet")).unwrap();
        assert_eq!(back, vec![pq::request_batch(&[full]).unwrap()]);
    }

    #[test]
    fn cuts_part_files_at_max_rows() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let rows: Vec<RequestRow> = (0..13)
            .map(|i| req(&format!("r{i:02}"), Some(DAY1 + i64::from(i))))
            .collect();
        let o = DatasetOptions {
            max_rows_per_file: 3,
            ..opts("r1")
        };
        let mut w = DatasetWriter::create(&out, o).unwrap();
        // Several calls continue the same partition; 12 rows fill exactly 4 files.
        w.write_requests(rows[..5].iter()).unwrap();
        w.write_requests(rows[5..12].iter()).unwrap();
        let report = w.commit(&json!({})).unwrap();
        let p = out.join("requests/dt=2024-01-31");
        assert_eq!(
            names(&p),
            [
                "part-00000.parquet",
                "part-00001.parquet",
                "part-00002.parquet",
                "part-00003.parquet"
            ]
        );
        let expected: Vec<String> = rows[..12]
            .iter()
            .map(|r| r.request_id.to_string())
            .collect();
        assert_eq!(ids(&p), expected);
        assert!(report.partitions[0].files.iter().all(|f| f.rows == 3));

        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let o = DatasetOptions {
            max_rows_per_file: 3,
            ..opts("r2")
        };
        run(&out, o, &rows);
        let p = out.join("requests/dt=2024-01-31");
        assert_eq!(names(&p).len(), 5);
        assert_eq!(ids(&p).len(), 13);
    }

    #[test]
    fn row_groups_end_between_groups_only_past_the_writer_budget() {
        let row_groups = |budget: usize| {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("out");
            let mut w = DatasetWriter::create(&out, opts("rg")).unwrap();
            for g in 0..4i64 {
                let rows: Vec<RequestRow> = (0..50)
                    .flat_map(|i| {
                        let id = format!("g{g}-{i:02}");
                        [
                            req(&id, Some(DAY1 + g * 100 + i)),
                            req(&id, Some(DAY2 + g * 100 + i)),
                        ]
                    })
                    .collect();
                let mut rows = rows;
                rows.sort_by_key(|r| r.request_time_ms);
                w.write_requests(rows.iter()).unwrap();
                w.flush_row_groups(budget).unwrap();
            }
            w.commit(&json!({})).unwrap();
            ["dt=2024-01-31", "dt=2024-02-01"].map(|dt| {
                let f =
                    File::open(out.join("requests").join(dt).join("part-00000.parquet")).unwrap();
                let b = ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
                (
                    b.metadata().num_row_groups(),
                    b.metadata().file_metadata().num_rows(),
                )
            })
        };
        // Within budget: each partition is one row group of all four groups' rows.
        assert_eq!(row_groups(64 << 20), [(1, 200), (1, 200)]);
        // No budget: every group ends every open row group.
        assert_eq!(row_groups(0), [(4, 200), (4, 200)]);
    }

    #[test]
    fn a_partition_seen_again_goes_on_in_its_open_part_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let rows = [
            req("a", Some(DAY1)),
            req("b", Some(DAY2)),
            req("c", Some(DAY1)),
        ];
        run(&out, opts("r1"), &rows);
        let p = out.join("requests/dt=2024-01-31");
        assert_eq!(names(&p), ["part-00000.parquet"]);
        assert_eq!(ids(&p), ["a", "c"]);
    }

    #[test]
    fn days_left_behind_are_finished_and_a_late_row_starts_another_file() {
        const DAY3: i64 = DAY2 + MS_PER_DAY;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let mut w = DatasetWriter::create(&out, opts("r1")).unwrap();
        let (a, b) = (req("a", Some(DAY1 + 1)), req("b", Some(DAY2 + 1)));
        w.write_requests([&a, &b].into_iter()).unwrap();
        assert_eq!(w.open.len(), 2);
        w.finish_request_days_before(DAY2 / MS_PER_DAY).unwrap();
        let open_days: Vec<_> = w.open.iter().map(|o| o.day).collect();
        assert_eq!(
            open_days,
            [Some(DAY2 / MS_PER_DAY)],
            "day 1 finished, day 2 open"
        );
        let (c, d) = (req("c", Some(DAY2 + 2)), req("d", Some(DAY3 + 1)));
        w.write_requests([&c, &d].into_iter()).unwrap();
        // A row for a finished day after all: a second file, nothing lost.
        let e = req("e", Some(DAY1 + 2));
        w.write_requests([&e].into_iter()).unwrap();
        // Invocations in day order over two calls: each day finished as the rows pass it.
        let inv = |ms: i64| {
            let mut r = InvocationRow::default();
            r.invocation.start_time_ms = Some(ms);
            r
        };
        let (x, y, z, v) = (inv(DAY1), inv(DAY2), inv(DAY2 + 5), inv(DAY3));
        w.write_invocations([&x, &y].into_iter()).unwrap();
        w.write_invocations([&z, &v].into_iter()).unwrap();
        let open_inv: Vec<_> = w.open.iter().map(|o| (o.table, o.day)).collect();
        assert_eq!(open_inv, [(Table::Invocations, Some(DAY3 / MS_PER_DAY))]);
        w.write_file("summary.json", b"{}").unwrap();
        w.commit(&json!({})).unwrap();
        let req_dir = out.join("requests");
        assert_eq!(names(&req_dir.join("dt=2024-01-31")).len(), 2);
        assert_eq!(ids(&req_dir.join("dt=2024-01-31")), ["a", "e"]);
        assert_eq!(
            names(&req_dir.join("dt=2024-02-01")),
            ["part-00000.parquet"]
        );
        assert_eq!(ids(&req_dir.join("dt=2024-02-01")), ["b", "c"]);
        let inv_dir = out.join("authorizer_invocations");
        for day in ["dt=2024-01-31", "dt=2024-02-01", "dt=2024-02-02"] {
            assert_eq!(names(&inv_dir.join(day)).len(), 1, "{day}");
        }
        let back = read_back(&inv_dir.join("dt=2024-02-01/part-00000.parquet")).unwrap();
        assert_eq!(back.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
    }

    #[test]
    fn rerun_replaces_only_its_partitions() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        run(
            &out,
            opts("r1"),
            &[req("old1", Some(DAY1)), req("old2", Some(DAY2))],
        );
        fs::write(out.join("report.html"), "old report").unwrap();
        let report = run(&out, opts("r2"), &[req("new2", Some(DAY2))]);
        assert_eq!(report.replaced_partitions, 1);
        assert!(!report.cleared);
        let t = out.join("requests");
        assert_eq!(ids(&t.join("dt=2024-01-31")), ["old1"]);
        assert_eq!(ids(&t.join("dt=2024-02-01")), ["new2"]);
        assert!(out.join("report.html").exists());
        assert_eq!(names(&out).iter().filter(|n| n.starts_with('.')).count(), 0);

        let m = manifest(&out);
        let parts = m["dataset"]["partitions"].as_array().unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0]["dt"], "2024-01-31");
        assert_eq!(parts[0]["run_id"], "r1");
        assert_eq!(parts[1]["dt"], "2024-02-01");
        assert_eq!(parts[1]["run_id"], "r2");
    }

    /// Overwrites the dataset at `out` with one request, `new1`, on DAY1; checks it is the
    /// only row and the manifest names this version's schema.
    fn overwrite_with_new1(out: &Path) {
        let o = DatasetOptions {
            overwrite: true,
            ..opts("r3")
        };
        run(out, o, &[req("new1", Some(DAY1))]);
        assert_eq!(ids(&out.join("requests/dt=2024-01-31")), ["new1"]);
        assert_eq!(
            manifest(out)["dataset"]["parquet_schema_version"],
            SCHEMA_VERSION
        );
    }

    #[test]
    fn a_dataset_of_another_schema_version_is_refused_unless_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        run(&out, opts("r1"), &[req("old1", Some(DAY1))]);
        let mut m = manifest(&out);
        m["dataset"]["parquet_schema_version"] = "1".into();
        fs::write(out.join(MANIFEST), serde_json::to_vec(&m).unwrap()).unwrap();

        let err = DatasetWriter::create(&out, opts("r2"))
            .err()
            .expect("refused");
        assert!(matches!(err, SinkError::SchemaVersion { ref found, .. } if found == "1"));
        assert!(err.is_usage());
        let msg = err.to_string();
        assert!(
            msg.contains("--overwrite") && msg.contains(SCHEMA_VERSION),
            "{msg}"
        );
        // Nothing was staged, and the dataset is as it was.
        assert!(!names(&out).iter().any(|n| n.starts_with(STAGING_PREFIX)));
        assert_eq!(ids(&out.join("requests/dt=2024-01-31")), ["old1"]);

        overwrite_with_new1(&out);
    }

    #[test]
    fn the_manifest_a_killed_run_left_aside_names_the_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        run(&out, opts("r1"), &[req("old1", Some(DAY1))]);
        // An older version's run killed in its commit: its manifest (schema 1) and its
        // partition aside, nothing in place.
        let staging = out.join(".staging-killed");
        let aside = staging.join("replaced/requests");
        fs::create_dir_all(&aside).unwrap();
        fs::write(staging.join("owner"), format!("{}\ngatelog\n", u32::MAX)).unwrap();
        let mut m = manifest(&out);
        m["dataset"]["parquet_schema_version"] = "1".into();
        fs::write(
            staging.join("replaced").join(MANIFEST),
            serde_json::to_vec(&m).unwrap(),
        )
        .unwrap();
        fs::remove_file(out.join(MANIFEST)).unwrap();
        fs::rename(
            out.join("requests/dt=2024-01-31"),
            aside.join("dt=2024-01-31"),
        )
        .unwrap();

        let err = DatasetWriter::create(&out, opts("r2"))
            .err()
            .expect("refused");
        assert!(matches!(err, SinkError::SchemaVersion { ref found, .. } if found == "1"));
        // Nothing moved: the killed run's directory still holds the manifest and partition.
        assert!(staging.join("replaced").join(MANIFEST).is_file());
        assert!(aside.join("dt=2024-01-31").is_dir());

        overwrite_with_new1(&out);
        assert_eq!(names(&out).iter().filter(|n| n.starts_with('.')).count(), 0);
    }

    #[test]
    fn overwrite_clears_the_previous_dataset() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        run(
            &out,
            opts("r1"),
            &[req("old1", Some(DAY1)), req("old2", Some(DAY2))],
        );
        fs::write(out.join("report.html"), "old report").unwrap();
        let o = DatasetOptions {
            overwrite: true,
            ..opts("r2")
        };
        let report = run(&out, o, &[req("new2", Some(DAY2))]);
        assert!(report.cleared);
        assert_eq!(names(&out.join("requests")), ["dt=2024-02-01"]);
        assert_eq!(ids(&out.join("requests/dt=2024-02-01")), ["new2"]);
        assert_eq!(
            names(&out),
            [
                "_manifest.json",
                "authorizer_invocations",
                "requests",
                "summary.json"
            ]
        );
        let m = manifest(&out);
        assert_eq!(m["dataset"]["partitions"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn refuses_what_is_not_a_dataset() {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("photos");
        fs::create_dir(&other).unwrap();
        fs::write(other.join("cat.jpg"), "meow").unwrap();
        let err = DatasetWriter::create(&other, opts("r1")).err().unwrap();
        assert!(matches!(err, SinkError::NotADataset { .. }), "{err}");
        assert!(err.is_usage());
        let msg = err.to_string();
        assert!(
            msg.contains("photos") && msg.contains("--out") && msg.contains("cat.jpg"),
            "{msg}"
        );
        assert_eq!(names(&other), ["cat.jpg"]);

        let file = dir.path().join("file");
        fs::write(&file, "x").unwrap();
        let err = DatasetWriter::create(&file, opts("r1")).err().unwrap();
        assert!(matches!(err, SinkError::NotADataset { .. }), "{err}");

        // Empty directories and existing datasets are fine.
        let empty = dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        DatasetWriter::create(&empty, opts("r1")).unwrap().abort();
        let partial = dir.path().join("partial");
        fs::create_dir_all(partial.join("requests")).unwrap();
        fs::write(partial.join("notes.txt"), "mine").unwrap();
        DatasetWriter::create(&partial, opts("r1")).unwrap().abort();
        assert_eq!(names(&partial), ["notes.txt", "requests"]);
    }

    #[test]
    fn removes_stale_staging_and_refuses_a_live_run() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        run(&out, opts("r1"), &[req("a", Some(DAY1))]);
        // A killed run: no owner file; a killed run with a dead pid; a stray file.
        fs::create_dir_all(out.join(".staging-killed/requests/dt=2024-01-31")).unwrap();
        fs::write(
            out.join(".staging-killed/requests/dt=2024-01-31/part-00000.parquet"),
            "x",
        )
        .unwrap();
        fs::create_dir(out.join(".staging-dead")).unwrap();
        fs::write(
            out.join(".staging-dead/owner"),
            format!("{}\ngatelog\n", u32::MAX),
        )
        .unwrap();
        fs::write(out.join(".staging-file"), "x").unwrap();
        let w = DatasetWriter::create(&out, opts("r2")).unwrap();
        assert_eq!(w.stale_staging_removed(), 3);
        assert_eq!(
            names(&out),
            [
                ".staging-r2",
                "_manifest.json",
                "authorizer_invocations",
                "requests",
                "summary.json"
            ]
        );
        // While r2 lives, a second run on the same dataset is refused.
        let err = DatasetWriter::create(&out, opts("r3")).err().unwrap();
        assert!(
            matches!(err, SinkError::Busy { pid, .. } if pid == std::process::id()),
            "{err}"
        );
        assert!(!err.is_usage());
        drop(w);
        assert!(!out.join(".staging-r2").exists());
        let w = DatasetWriter::create(&out, opts("r3")).unwrap();
        assert_eq!(w.stale_staging_removed(), 0);
        w.abort();
        assert_eq!(ids(&out.join("requests/dt=2024-01-31")), ["a"]);
    }

    #[test]
    fn abort_leaves_the_previous_dataset_intact() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        run(&out, opts("r1"), &[req("old", Some(DAY1))]);
        let before = fs::read(out.join(MANIFEST)).unwrap();
        for overwrite in [false, true] {
            let o = DatasetOptions {
                overwrite,
                ..opts("r2")
            };
            let mut w = DatasetWriter::create(&out, o).unwrap();
            w.write_requests([req("new", Some(DAY1)), req("new2", Some(DAY2))].iter())
                .unwrap();
            w.write_file("summary.json", b"new").unwrap();
            assert!(w.staging_dir().join("requests/dt=2024-01-31").is_dir());
            w.abort();
            assert_eq!(
                names(&out),
                [
                    "_manifest.json",
                    "authorizer_invocations",
                    "requests",
                    "summary.json"
                ]
            );
            assert_eq!(names(&out.join("requests")), ["dt=2024-01-31"]);
            assert_eq!(ids(&out.join("requests/dt=2024-01-31")), ["old"]);
            assert_eq!(fs::read(out.join("summary.json")).unwrap(), b"{}");
            assert_eq!(fs::read(out.join(MANIFEST)).unwrap(), before);
        }
    }

    #[test]
    fn validates_run_ids_and_file_names() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        for bad in ["", "../x", "a/b", ".hidden", &"x".repeat(65)] {
            let err = DatasetWriter::create(&out, opts(bad)).err().unwrap();
            assert!(
                matches!(err, SinkError::InvalidRunId { .. }),
                "{bad}: {err}"
            );
        }
        let mut w = DatasetWriter::create(&out, opts("r1")).unwrap();
        for bad in ["", "a/b", "..", ".x", "_manifest.json", "requests"] {
            let err = w.write_file(bad, b"x").err().unwrap();
            assert!(
                matches!(err, SinkError::InvalidFileName { .. }),
                "{bad}: {err}"
            );
        }
        w.write_file("rejects.ndjson", b"1").unwrap();
        w.write_file("rejects.ndjson", b"2").unwrap();
        let report = w.commit(&json!("not an object")).unwrap();
        assert_eq!(report.files, ["rejects.ndjson"]);
        assert_eq!(fs::read(out.join("rejects.ndjson")).unwrap(), b"2");
        let m = manifest(&out);
        assert_eq!(m["run"], "not an object");
        assert_eq!(m["dataset"]["partitions"], json!([]));
    }

    const H: i64 = 3_600_000;

    fn windowed(run: &str, since: i64, until: i64) -> DatasetOptions {
        DatasetOptions {
            since_ms: Some(since),
            until_ms: Some(until),
            ..opts(run)
        }
    }

    /// Every file under `dir` with its bytes, by relative path.
    fn files_of(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut todo = vec![dir.to_path_buf()];
        while let Some(d) = todo.pop() {
            for e in fs::read_dir(&d).unwrap().flatten() {
                if e.file_type().unwrap().is_dir() {
                    todo.push(e.path());
                } else {
                    let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
                    out.push((rel, fs::read(e.path()).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn a_window_replaces_only_the_rows_inside_it() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let old: Vec<RequestRow> = [
            ("a1", DAY1 + H),
            ("a2", DAY1 + 2 * H),
            ("a3", DAY1 + 3 * H),
            ("b", DAY1 + 13 * H),
            ("c", DAY1 + 23 * H),
            ("d", DAY2 + H),
        ]
        .iter()
        .map(|(id, t)| req(id, Some(*t)))
        .collect();
        let mut all = old.clone();
        all.push(req("e", None));
        run(&out, opts("r1"), &all);
        // Run 2 owns [DAY1 12:00, DAY1 18:00): b is replaced by b2, the rest is kept, in
        // part files cut at max_rows_per_file after the run's own.
        let o = DatasetOptions {
            max_rows_per_file: 2,
            ..windowed("r2", DAY1 + 12 * H, DAY1 + 18 * H)
        };
        let report = run(&out, o.clone(), &[req("b2", Some(DAY1 + 14 * H))]);
        let t = out.join("requests");
        let p1 = t.join("dt=2024-01-31");
        assert_eq!(ids(&p1), ["b2", "a1", "a2", "a3", "c"]);
        assert_eq!(
            names(&p1),
            [
                "part-00000.parquet",
                "part-00001.parquet",
                "part-00002.parquet"
            ]
        );
        assert_eq!(report.partitions[0].kept_rows, 4);
        assert_eq!(report.partitions[0].rows(), 5);
        // Partitions the run wrote nothing to are kept whole, even inside the window.
        assert_eq!(ids(&t.join("dt=2024-02-01")), ["d"]);
        assert_eq!(ids(&t.join("dt=__HIVE_DEFAULT_PARTITION__")), ["e"]);
        let m = manifest(&out);
        let parts = m["dataset"]["partitions"].as_array().unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0]["run_id"], "r2");
        assert_eq!(parts[0]["rows"], 5);
        assert_eq!(parts[0]["kept_rows"], 4);
        assert_eq!(parts[1]["run_id"], "r1");
        assert_eq!(
            m["dataset"]["window"],
            json!({"since_ms": DAY1 + 12 * H, "until_ms": DAY1 + 18 * H})
        );

        // The same run again writes the same bytes (manifest aside).
        let before = files_of(&t);
        let o = DatasetOptions {
            run_id: "r3".into(),
            ..o
        };
        let report = run(&out, o, &[req("b2", Some(DAY1 + 14 * H))]);
        assert_eq!(report.partitions[0].kept_rows, 4);
        assert!(files_of(&t) == before, "a rerun changed the partition");

        // Without a window the run owns the whole partition again.
        run(&out, opts("r4"), &[req("f", Some(DAY1 + 5 * H))]);
        assert_eq!(ids(&p1), ["f"]);
        // An unknown time is inside every window: a windowed run writing the default
        // partition replaces it whole.
        run(&out, windowed("r5", DAY1, DAY1 + H), &[req("e2", None)]);
        assert_eq!(ids(&t.join("dt=__HIVE_DEFAULT_PARTITION__")), ["e2"]);
        // With --overwrite nothing is kept.
        let o = DatasetOptions {
            overwrite: true,
            ..windowed("r6", DAY1, DAY1 + H)
        };
        run(&out, o, &[req("g", Some(DAY1 + 10))]);
        assert_eq!(names(&t), ["dt=2024-01-31"]);
        assert_eq!(ids(&p1), ["g"]);
    }

    fn inv(lambda_id: &str, start: i64, request: Option<&str>) -> InvocationRow {
        let mut r = InvocationRow {
            request_id: request.map(str::to_string),
            ..Default::default()
        };
        r.invocation.lambda_request_id = lambda_id.to_string();
        r.invocation.start_time_ms = Some(start);
        r
    }

    /// Lambda request ids of an invocations partition, in file then row order.
    fn lambda_ids(dir: &Path) -> Vec<String> {
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let mut out = Vec::new();
        for f in files {
            for b in read_back(&f).unwrap() {
                let col = b.column(b.schema().index_of("lambda_request_id").unwrap());
                out.extend(
                    col.as_string::<i32>()
                        .iter()
                        .map(|s| s.unwrap().to_string()),
                );
            }
        }
        out
    }

    #[test]
    fn an_invocation_near_a_bound_follows_its_request() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let (since, until) = (DAY1 + 12 * H, DAY1 + 18 * H);
        let write = |o: DatasetOptions, reqs: &[RequestRow], invs: &[InvocationRow]| {
            let mut w = DatasetWriter::create(&out, o).unwrap();
            w.write_requests(reqs.iter()).unwrap();
            w.write_invocations(invs.iter()).unwrap();
            w.commit(&json!({})).unwrap()
        };
        // q is just before the window, its invocation just inside; p is just inside the
        // window, its invocation just after it; u and v have no request.
        let reqs = [
            req("q", Some(since - 5)),
            req("p", Some(until - 1)),
            req("far", Some(DAY1 + H)),
        ];
        let invs = [
            inv("inv-far", DAY1 + H + 3, Some("far")),
            inv("inv-q", since + 5, Some("q")),
            inv("inv-u", since + H, None),
            inv("inv-p", until + 2, Some("p")),
            inv("inv-v", until + H, None),
        ];
        write(opts("r1"), &reqs, &invs);
        // Run 2 owns the window: it has p again (and its invocation), and nothing else.
        let report = write(
            windowed("r2", since, until),
            &[req("p", Some(until - 1))],
            &[inv("inv-p", until + 2, Some("p"))],
        );
        let p = out.join("authorizer_invocations/dt=2024-01-31");
        assert_eq!(lambda_ids(&p), ["inv-p", "inv-far", "inv-q", "inv-v"]);
        assert_eq!(report.partitions[1].kept_rows, 3);
        assert_eq!(ids(&out.join("requests/dt=2024-01-31")), ["p", "q", "far"]);
    }

    #[test]
    fn create_moves_back_a_partition_a_killed_swap_left_aside() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        run(
            &out,
            opts("r1"),
            &[req("a", Some(DAY1)), req("b", Some(DAY2))],
        );
        // Killed between the two renames of the swap of dt=2024-01-31, after dt=2024-02-01
        // was swapped: the old manifest and both old partitions are aside, one new partition
        // is in place.
        let staging = out.join(".staging-killed");
        let aside = staging.join("replaced/requests");
        fs::create_dir_all(&aside).unwrap();
        fs::write(staging.join("owner"), format!("{}\ngatelog\n", u32::MAX)).unwrap();
        fs::rename(out.join(MANIFEST), staging.join("replaced").join(MANIFEST)).unwrap();
        fs::rename(
            out.join("requests/dt=2024-01-31"),
            aside.join("dt=2024-01-31"),
        )
        .unwrap();
        fs::rename(
            out.join("requests/dt=2024-02-01"),
            aside.join("dt=2024-02-01"),
        )
        .unwrap();
        // The killed run's version of dt=2024-02-01, in place.
        let other = dir.path().join("other");
        run(&other, opts("killed"), &[req("b2", Some(DAY2))]);
        fs::rename(
            other.join("requests/dt=2024-02-01"),
            out.join("requests/dt=2024-02-01"),
        )
        .unwrap();

        let w = DatasetWriter::create(&out, opts("r3")).unwrap();
        assert_eq!(w.stale_staging_removed(), 1);
        assert_eq!(w.restored_partitions(), 1);
        assert_eq!(ids(&out.join("requests/dt=2024-01-31")), ["a"]);
        assert_eq!(ids(&out.join("requests/dt=2024-02-01")), ["b2"]);
        w.commit(&json!({})).unwrap();
        // The new manifest carries the previous entry that still describes its partition and
        // describes the other from its files.
        let m = manifest(&out);
        let parts = m["dataset"]["partitions"].as_array().unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0]["run_id"], "r1");
        assert_eq!(parts[0]["rows"], 1);
        assert_eq!(parts[1]["run_id"], Value::Null);
        assert_eq!(parts[1]["rows"], 1);
        assert_eq!(parts[1]["files"][0]["name"], "part-00000.parquet");
        assert_eq!(names(&out).iter().filter(|n| n.starts_with('.')).count(), 0);
    }

    #[test]
    fn read_back_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not.parquet");
        fs::write(&path, "hello").unwrap();
        let err = read_back(&path).unwrap_err();
        assert!(matches!(err, SinkError::Read { .. }));
        assert!(err.to_string().contains("not.parquet"), "{err}");
    }
}

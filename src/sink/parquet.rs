//! The Parquet side of the output contract: the Arrow schemas of the `requests` and
//! `authorizer_invocations` tables, the conversion of [`RequestRow`] / [`InvocationRow`] slices
//! into Arrow [`RecordBatch`]es, and the [`WriterProperties`] every gatelog Parquet file is
//! written with (codec, dictionary policy, row-group size, writer version, schema version in the
//! file metadata). Each table is described once, by a column table (`request_cols`,
//! `INVOCATION_COLS`) from which the schema, the batches and the dictionary policy are all
//! derived, so they cannot drift apart. Column names and types are a compatibility promise to
//! Athena users: change them only together with [`SCHEMA_VERSION`]. Files, partitions and
//! atomic commits are `dataset.rs`'s business, not this module's.

use std::sync::{Arc, LazyLock};

use arrow_array::types::{Float64Type, Int32Type, Int64Type, TimestampMillisecondType};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, FieldRef, Fields, Schema, SchemaRef, TimeUnit};
use parquet::basic::{Compression as PqCompression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{
    EnabledStatistics, WriterProperties, WriterVersion, DEFAULT_MAX_ROW_GROUP_ROW_COUNT,
};
use parquet::schema::types::ColumnPath;

use crate::model::{InvocationRow, RequestRow};
use crate::sink::arrays::{BooleanColumn, ListColumn, MapColumn, PrimitiveColumn, StringColumn};
use crate::sink::dataset::SinkError;

/// Version of the Parquet column contract (names, types, nullability) of both tables. Written
/// into every file's key/value metadata under [`SCHEMA_VERSION_KEY`]. Version 3 made
/// `access_vars` one string (the names joined by `,`) instead of an array: it is the same few
/// values on every row, and as an array of ~40 names it was about a third of the cost of
/// encoding a row. A dataset of another version is refused unless overwritten.
pub const SCHEMA_VERSION: &str = "3";

/// Key of [`SCHEMA_VERSION`] in the Parquet file's key/value metadata.
pub const SCHEMA_VERSION_KEY: &str = "gatelog.schema_version";

/// Key of the writing tool and its version in the Parquet file's key/value metadata. The
/// footer's own `created_by` keeps parquet-rs's value, because readers (Trino, Spark, parquet-mr)
/// parse that field to decide which writer bugs to work around.
pub const CREATED_BY_KEY: &str = "gatelog.created_by";

/// Key of the table name in the Parquet file's key/value metadata.
pub const TABLE_KEY: &str = "gatelog.table";

/// Row groups are flushed once their estimated encoded size reaches this: 128 MiB, the
/// `parquet.block.size` default Athena / Hive / Spark are tuned for.
pub const MAX_ROW_GROUP_BYTES: usize = 128 * 1024 * 1024;

/// Timezone of every timestamp column: instants, stored as UTC milliseconds
/// (`TIMESTAMP(MILLIS, isAdjustedToUTC=true)` in Parquet, `timestamp` in Athena).
const UTC: &str = "UTC";

/// One of the two tables of the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// `requests`: one row per API Gateway request.
    Requests,
    /// `authorizer_invocations`: one row per Lambda authorizer invocation.
    Invocations,
}

impl Table {
    /// Both tables, in the order they are written and listed.
    pub const ALL: [Table; 2] = [Table::Requests, Table::Invocations];

    /// Directory name of the table under the dataset root (and its Athena table name).
    pub fn name(self) -> &'static str {
        match self {
            Table::Requests => "requests",
            Table::Invocations => "authorizer_invocations",
        }
    }

    /// The table's Arrow schema.
    pub fn schema(self) -> SchemaRef {
        match self {
            Table::Requests => requests_schema(),
            Table::Invocations => invocations_schema(),
        }
    }

    /// The leaf columns (paths, `.`-separated) written without min/max statistics, which
    /// there prune nothing and cost a comparison per value: the near-unique strings (ids, IPs,
    /// paths, user agents), `access_vars` (one value per format, some 600 bytes long), and
    /// the strings inside lists and maps (`evidence`, `advice`, `candidates`, …). Comparing
    /// these was about 2 % of a run's CPU.
    pub fn columns_without_statistics(self) -> Vec<String> {
        fn of<R>(cols: &[Col<R>]) -> Vec<String> {
            let mut v = Vec::new();
            for c in cols.iter().filter(|c| !c.stats) {
                match c.get {
                    Get::List(_) | Get::Names(_) | Get::OptList(_) => {
                        v.push(format!("{}.list.{}", c.name, list_item_field().name()));
                    }
                    Get::Map(_) => {
                        for leaf in [map_key_field(), map_value_field()] {
                            v.push(format!("{}.entries.{}", c.name, leaf.name()));
                        }
                    }
                    _ => v.push(c.name.to_string()),
                }
            }
            v
        }
        match self {
            Table::Requests => of(&request_cols()),
            Table::Invocations => of(INVOCATION_COLS),
        }
    }

    /// The string columns written with dictionary encoding (every other column is not).
    pub fn dictionary_columns(self) -> Vec<&'static str> {
        fn dict<R>(cols: &[Col<R>]) -> Vec<&'static str> {
            cols.iter().filter(|c| c.dict).map(|c| c.name).collect()
        }
        match self {
            Table::Requests => dict(&request_cols()),
            Table::Invocations => dict(INVOCATION_COLS),
        }
    }
}

/// Parquet compression codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Zstandard at the given level (clamped to 1..=22).
    Zstd(i32),
    /// Snappy: fastest to write, read by everything.
    Snappy,
    /// No compression.
    None,
}

impl Default for Compression {
    /// Zstd level 1, for speed. Measured on our 2-core machine (PERFORMANCE.md, 1M rows):
    /// level 1 encodes 1.3–1.4× faster than level 3 (Athena's own default) and its files were
    /// no larger (33.2 MB vs 34.0 MB); on 1M synthetic `requests` rows level 3 saved nothing
    /// either (50.4 MB vs 47.9 MB). Level 3 would only cost CPU.
    fn default() -> Self {
        Compression::Zstd(1)
    }
}

impl Compression {
    fn to_parquet(self) -> PqCompression {
        match self {
            Compression::Zstd(level) => {
                let level = level.clamp(1, 22);
                PqCompression::ZSTD(ZstdLevel::try_new(level).unwrap_or_default())
            }
            Compression::Snappy => PqCompression::SNAPPY,
            Compression::None => PqCompression::UNCOMPRESSED,
        }
    }
}

/// [`WriterProperties`] for the `requests` table; see [`table_writer_properties`].
pub fn writer_properties(c: Compression) -> WriterProperties {
    table_writer_properties(Table::Requests, c)
}

/// [`WriterProperties`] for one table:
///
/// - the codec `c` (zstd level 1 is the default, see [`Compression::default`]);
/// - dictionary encoding off, except on the table's low-cardinality string columns
///   ([`Table::dictionary_columns`]): on near-unique columns (ids, IPs, paths, user agents) a
///   dictionary costs encode time, then overflows and falls back to plain anyway;
/// - row groups closed at about [`MAX_ROW_GROUP_BYTES`] or at parquet-rs's default row cap,
///   whichever comes first;
/// - min/max statistics on every column but the near-unique strings, `access_vars` and the
///   strings inside lists and maps ([`Table::columns_without_statistics`]), where they prune
///   nothing;
/// - `PARQUET_1_0` pages, which every Hive / Trino / Spark version reads;
/// - [`SCHEMA_VERSION_KEY`], [`CREATED_BY_KEY`] and [`TABLE_KEY`] in the key/value metadata.
pub fn table_writer_properties(table: Table, c: Compression) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(c.to_parquet())
        .set_dictionary_enabled(false)
        .set_max_row_group_bytes(Some(MAX_ROW_GROUP_BYTES))
        .set_max_row_group_row_count(Some(DEFAULT_MAX_ROW_GROUP_ROW_COUNT))
        .set_key_value_metadata(Some(vec![
            KeyValue::new(SCHEMA_VERSION_KEY.to_string(), SCHEMA_VERSION.to_string()),
            KeyValue::new(
                CREATED_BY_KEY.to_string(),
                format!("gatelog version {}", env!("CARGO_PKG_VERSION")),
            ),
            KeyValue::new(TABLE_KEY.to_string(), table.name().to_string()),
        ]));
    for name in table.dictionary_columns() {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(name), true);
    }
    for name in table.columns_without_statistics() {
        let path = ColumnPath::new(name.split('.').map(str::to_string).collect());
        builder = builder.set_column_statistics_enabled(path, EnabledStatistics::None);
    }
    builder.build()
}

/// The Arrow schema of the `requests` table: one column per [`RequestRow`] field, in field
/// order, named after the field (`request_time_ms` → `request_time`, `log_time_ms` →
/// `log_time`, both `timestamp(ms, UTC)`).
pub fn requests_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| schema_of(&request_cols()));
    SCHEMA.clone()
}

/// The Arrow schema of the `authorizer_invocations` table: the [`Invocation`] fields flattened
/// (`start_time_ms` → `start_time`, `timestamp(ms, UTC)`), then `request_id`, `match_method`,
/// `source_file`, `source_line`, `source_offset`.
///
/// [`Invocation`]: crate::model::Invocation
pub fn invocations_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| schema_of(INVOCATION_COLS));
    SCHEMA.clone()
}

/// Converts request rows into one [`RecordBatch`] of [`requests_schema`].
pub fn request_batch(rows: &[RequestRow]) -> Result<RecordBatch, SinkError> {
    let rows: Vec<&RequestRow> = rows.iter().collect();
    request_batch_refs(&rows)
}

/// Converts invocation rows into one [`RecordBatch`] of [`invocations_schema`].
pub fn invocation_batch(rows: &[InvocationRow]) -> Result<RecordBatch, SinkError> {
    let rows: Vec<&InvocationRow> = rows.iter().collect();
    invocation_batch_refs(&rows)
}

/// [`request_batch`] over borrowed rows (what the dataset writer buffers).
pub(crate) fn request_batch_refs(rows: &[&RequestRow]) -> Result<RecordBatch, SinkError> {
    batch_of(Table::Requests, &request_cols(), requests_schema(), rows)
}

/// [`invocation_batch`] over borrowed rows (what the dataset writer buffers).
pub(crate) fn invocation_batch_refs(rows: &[&InvocationRow]) -> Result<RecordBatch, SinkError> {
    batch_of(
        Table::Invocations,
        INVOCATION_COLS,
        invocations_schema(),
        rows,
    )
}

// ---------------------------------------------------------------------------------------------
// Column tables

/// How to read one column's value out of a row `R`.
enum Get<R> {
    Str(fn(&R) -> Option<&str>),
    I32(fn(&R) -> Option<i32>),
    I64(fn(&R) -> Option<i64>),
    Ts(fn(&R) -> Option<i64>),
    F64(fn(&R) -> Option<f64>),
    Bool(fn(&R) -> Option<bool>),
    List(fn(&R) -> &[String]),
    /// A list of names from a fixed set (classes, sources, facts).
    Names(fn(&R) -> &[&'static str]),
    OptList(fn(&R) -> Option<&[String]>),
    Map(fn(&R) -> &[(String, String)]),
}

/// One column: its name, whether it may hold nulls, whether it is dictionary encoded, whether
/// it has min/max statistics, and how to get its value.
struct Col<R> {
    name: &'static str,
    nullable: bool,
    dict: bool,
    stats: bool,
    get: Get<R>,
}

/// A column without a dictionary. Strings here are near-unique (ids, IPs, paths, user
/// agents), and the strings inside lists and maps are leaves no engine prunes by: neither
/// gets min/max statistics, which would prune nothing and cost a comparison per value.
const fn col<R>(name: &'static str, nullable: bool, get: Get<R>) -> Col<R> {
    let stats = !matches!(
        get,
        Get::Str(_) | Get::List(_) | Get::Names(_) | Get::OptList(_) | Get::Map(_)
    );
    Col {
        name,
        nullable,
        dict: false,
        stats,
        get,
    }
}
/// `c` without min/max statistics.
const fn no_stats<R>(c: Col<R>) -> Col<R> {
    Col { stats: false, ..c }
}
/// Nullable string.
const fn s<R>(name: &'static str, get: fn(&R) -> Option<&str>) -> Col<R> {
    col(name, true, Get::Str(get))
}
/// Nullable, low-cardinality (dictionary-encoded) string.
const fn sd<R>(name: &'static str, get: fn(&R) -> Option<&str>) -> Col<R> {
    Col {
        name,
        nullable: true,
        dict: true,
        stats: true,
        get: Get::Str(get),
    }
}
/// Non-null, low-cardinality (dictionary-encoded) string.
const fn sd_required<R>(name: &'static str, get: fn(&R) -> Option<&str>) -> Col<R> {
    Col {
        name,
        nullable: false,
        dict: true,
        stats: true,
        get: Get::Str(get),
    }
}
const fn i32n<R>(name: &'static str, get: fn(&R) -> Option<i32>) -> Col<R> {
    col(name, true, Get::I32(get))
}
const fn f64n<R>(name: &'static str, get: fn(&R) -> Option<f64>) -> Col<R> {
    col(name, true, Get::F64(get))
}
const fn tsn<R>(name: &'static str, get: fn(&R) -> Option<i64>) -> Col<R> {
    col(name, true, Get::Ts(get))
}

/// `u64` provenance into the signed column (Athena has no unsigned types); a value past
/// `i64::MAX` (an 8 EiB offset) cannot occur and saturates.
fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The `requests` table's columns. A function rather than a static, so that the getters take
/// rows of any lifetime (a row borrows its text from the request it describes).
fn request_cols<'a>() -> Vec<Col<RequestRow<'a>>> {
    vec![
        col("request_id", false, Get::Str(|r| Some(&*r.request_id))),
        s("extended_request_id", |r| r.extended_request_id.as_deref()),
        sd("api_id", |r| r.api_id.as_deref()),
        sd("stage", |r| r.stage.as_deref()),
        tsn("request_time", |r| r.request_time_ms),
        s("request_time_precision", |r| r.request_time_precision),
        tsn("log_time", |r| r.log_time_ms),
        s("domain_name", |r| r.domain_name.as_deref()),
        sd("http_method", |r| r.http_method.as_deref()),
        sd("resource_path", |r| r.resource_path.as_deref()),
        s("path", |r| r.path.as_deref()),
        s("route_key", |r| r.route_key.as_deref()),
        sd("protocol", |r| r.protocol.as_deref()),
        i32n("status", |r| r.status),
        col("response_length", true, Get::I64(|r| r.response_length)),
        s("source_ip", |r| r.source_ip.as_deref()),
        s("identity_caller", |r| r.identity_caller.as_deref()),
        s("identity_user", |r| r.identity_user.as_deref()),
        s("identity_user_arn", |r| r.identity_user_arn.as_deref()),
        s("api_key_id", |r| r.api_key_id.as_deref()),
        s("user_agent", |r| r.user_agent.as_deref()),
        sd("error_message", |r| r.error_message.as_deref()),
        sd("error_response_type", |r| r.error_response_type.as_deref()),
        i32n("authorizer_status", |r| r.authorizer_status),
        sd("authorizer_error", |r| r.authorizer_error.as_deref()),
        i32n("authorizer_latency_ms", |r| r.authorizer_latency_ms),
        i32n("authorizer_integration_status", |r| {
            r.authorizer_integration_status
        }),
        i32n("authorizer_integration_latency_ms", |r| {
            r.authorizer_integration_latency_ms
        }),
        s("authorizer_request_id", |r| {
            r.authorizer_request_id.as_deref()
        }),
        s("authorizer_principal_id", |r| {
            r.authorizer_principal_id.as_deref()
        }),
        i32n("authenticate_status", |r| r.authenticate_status),
        sd("authenticate_error", |r| r.authenticate_error.as_deref()),
        i32n("authenticate_latency_ms", |r| r.authenticate_latency_ms),
        i32n("authorize_status", |r| r.authorize_status),
        sd("authorize_error", |r| r.authorize_error.as_deref()),
        i32n("authorize_latency_ms", |r| r.authorize_latency_ms),
        i32n("waf_status", |r| r.waf_status),
        sd("waf_error", |r| r.waf_error.as_deref()),
        i32n("waf_latency_ms", |r| r.waf_latency_ms),
        sd("waf_response_code", |r| r.waf_response_code.as_deref()),
        i32n("integration_status", |r| r.integration_status),
        i32n("integration_integration_status", |r| {
            r.integration_integration_status
        }),
        sd("integration_error", |r| r.integration_error.as_deref()),
        i32n("integration_latency_ms", |r| r.integration_latency_ms),
        s("integration_request_id", |r| {
            r.integration_request_id.as_deref()
        }),
        i32n("response_latency_ms", |r| r.response_latency_ms),
        col("refused", false, Get::Bool(|r| Some(r.refused))),
        col("denied", false, Get::Bool(|r| Some(r.denied))),
        sd("denial_phase", |r| r.denial_phase),
        sd("denial_class", |r| r.denial_class),
        col("candidates", false, Get::Names(|r| &r.candidates)),
        sd("confidence", |r| r.confidence),
        col("evidence", false, Get::Map(|r| &r.evidence)),
        col("advice", false, Get::List(|r| &r.advice)),
        s("authorizer_lambda_request_id", |r| {
            r.authorizer_lambda_request_id.as_deref()
        }),
        sd("authorizer_decision", |r| r.authorizer_decision),
        f64n("authorizer_duration_ms", |r| r.authorizer_duration_ms),
        col(
            "authorizer_cold_start",
            true,
            Get::Bool(|r| r.authorizer_cold_start),
        ),
        s("authorizer_invocation_error", |r| {
            r.authorizer_invocation_error.as_deref()
        }),
        sd("authorizer_match_method", |r| r.authorizer_match_method),
        sd("access_format", |r| r.access_format.as_deref()),
        // One string per format: a few distinct values per file, each some 600 bytes long,
        // so min/max statistics would cost a long comparison per row and prune nothing.
        no_stats(sd_required("access_vars", |r| Some(&r.access_vars))),
        col(
            "authorizer_log_covers",
            false,
            Get::Bool(|r| Some(r.authorizer_log_covers)),
        ),
        col("exec_facts", false, Get::Names(|r| &r.exec_facts)),
        i32n("exec_method_status", |r| r.exec_method_status),
        i32n("exec_lines", |r| r.exec_lines),
        sd("method_auth_type", |r| r.method_auth_type),
        sd("authorizer_name", |r| r.authorizer_name.as_deref()),
        sd("authorizer_type", |r| r.authorizer_type),
        i32n("authorizer_ttl_s", |r| r.authorizer_ttl_s),
        col("api_key_required", true, Get::Bool(|r| r.api_key_required)),
        col(
            "gateway_responses_default",
            true,
            Get::Bool(|r| r.gateway_responses_default),
        ),
        col(
            "gateway_responses_customised",
            true,
            Get::OptList(|r| r.gateway_responses_customised.as_deref()),
        ),
        col("sources", false, Get::Names(|r| r.sources)),
        col("extra", false, Get::Map(|r| &r.extra)),
        sd_required("source_file", |r| Some(&r.source_file)),
        col("source_line", false, Get::I64(|r| Some(r.source_line))),
        col("source_offset", false, Get::I64(|r| Some(r.source_offset))),
    ]
}

static INVOCATION_COLS: &[Col<InvocationRow>] = &[
    col(
        "lambda_request_id",
        false,
        Get::Str(|r| Some(&r.invocation.lambda_request_id)),
    ),
    sd("function_name", |r| r.invocation.function_name.as_deref()),
    s("log_stream", |r| r.invocation.log_stream.as_deref()),
    tsn("start_time", |r| r.invocation.start_time_ms),
    f64n("duration_ms", |r| r.invocation.duration_ms),
    f64n("billed_duration_ms", |r| r.invocation.billed_duration_ms),
    i32n("memory_size_mb", |r| r.invocation.memory_size_mb),
    i32n("max_memory_used_mb", |r| r.invocation.max_memory_used_mb),
    f64n("init_duration_ms", |r| r.invocation.init_duration_ms),
    sd("decision", |r| r.invocation.decision.map(|d| d.as_str())),
    s("principal_id", |r| r.invocation.principal_id.as_deref()),
    s("method_arn", |r| r.invocation.method_arn.as_deref()),
    sd("error_type", |r| r.invocation.error_type.as_deref()),
    s("error_message", |r| r.invocation.error_message.as_deref()),
    s("logged_request_id", |r| {
        r.invocation.logged_request_id.as_deref()
    }),
    s("logged_api_id", |r| r.invocation.logged_api_id.as_deref()),
    s("logged_stage", |r| r.invocation.logged_stage.as_deref()),
    s("request_id", |r| r.request_id.as_deref()),
    sd("match_method", |r| r.match_method.map(|m| m.as_str())),
    sd_required("source_file", |r| Some(&r.source_file)),
    col(
        "source_line",
        false,
        Get::I64(|r| Some(signed(r.invocation.origin.line))),
    ),
    col(
        "source_offset",
        false,
        Get::I64(|r| Some(signed(r.invocation.origin.offset))),
    ),
];

// ---------------------------------------------------------------------------------------------
// Schema and batch construction from a column table

/// The element field of every `array<string>` column (the Parquet LIST spec's name).
fn list_item_field() -> FieldRef {
    Arc::new(Field::new("element", DataType::Utf8, false))
}

fn map_key_field() -> FieldRef {
    Arc::new(Field::new("key", DataType::Utf8, false))
}

fn map_value_field() -> FieldRef {
    Arc::new(Field::new("value", DataType::Utf8, false))
}

/// `map<string,string>`: entries struct named `entries` with non-null `key` and `value`.
fn map_type() -> DataType {
    DataType::Map(map_entries_field(), false)
}

fn map_entries_field() -> FieldRef {
    Arc::new(Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![map_key_field(), map_value_field()])),
        false,
    ))
}

fn data_type<R>(get: &Get<R>) -> DataType {
    match get {
        Get::Str(_) => DataType::Utf8,
        Get::I32(_) => DataType::Int32,
        Get::I64(_) => DataType::Int64,
        Get::Ts(_) => DataType::Timestamp(TimeUnit::Millisecond, Some(UTC.into())),
        Get::F64(_) => DataType::Float64,
        Get::Bool(_) => DataType::Boolean,
        Get::List(_) | Get::Names(_) | Get::OptList(_) => DataType::List(list_item_field()),
        Get::Map(_) => map_type(),
    }
}

fn schema_of<R>(cols: &[Col<R>]) -> SchemaRef {
    let fields: Vec<Field> = cols
        .iter()
        .map(|c| Field::new(c.name, data_type(&c.get), c.nullable))
        .collect();
    Arc::new(Schema::new(fields))
}

fn batch_of<R>(
    table: Table,
    cols: &[Col<R>],
    schema: SchemaRef,
    rows: &[&R],
) -> Result<RecordBatch, SinkError> {
    let err = |source| SinkError::Batch {
        table: table.name(),
        source,
    };
    // Row-major: each row is read once, while it is in cache. Each column is a plain vector
    // (`arrays.rs`), sized from the first rows of the batch; a column-at-a-time build walked
    // the rows once per column and was about 2x slower on 66 columns.
    let mut sizes = vec![Size::default(); cols.len()];
    let sample = &rows[..rows.len().min(SIZE_SAMPLE_ROWS)];
    for r in sample {
        for (c, s) in cols.iter().zip(sizes.iter_mut()) {
            s.add(&c.get, r);
        }
    }
    let mut builders: Vec<ColBuilder<R>> = cols
        .iter()
        .zip(&sizes)
        .map(|(c, s)| ColBuilder::new(&c.get, rows.len(), s.scaled(sample.len(), rows.len())))
        .collect();
    for r in rows {
        for b in builders.iter_mut() {
            b.append(r).map_err(err)?;
        }
    }
    let arrays = builders
        .into_iter()
        .map(ColBuilder::finish)
        .collect::<Result<Vec<ArrayRef>, _>>()
        .map_err(err)?;
    RecordBatch::try_new(schema, arrays).map_err(err)
}

/// Rows of a batch whose lengths size its columns' buffers (which grow past that if they
/// must): measuring every row first cost about as much as a tenth of the build.
const SIZE_SAMPLE_ROWS: usize = 64;

/// Total lengths of one column's variable-size values in some rows.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    /// List items or map entries.
    items: usize,
    /// String bytes (map keys).
    bytes: usize,
    /// Map value bytes.
    value_bytes: usize,
}

impl Size {
    fn add_items<S: AsRef<str>>(&mut self, items: &[S]) {
        self.items += items.len();
        self.bytes += items.iter().map(|i| i.as_ref().len()).sum::<usize>();
    }

    fn add<R>(&mut self, get: &Get<R>, r: &R) {
        match get {
            Get::Str(f) => self.bytes += f(r).map_or(0, str::len),
            Get::List(f) => self.add_items(f(r)),
            Get::Names(f) => self.add_items(f(r)),
            Get::OptList(f) => self.add_items(f(r).unwrap_or_default()),
            Get::Map(f) => {
                let m = f(r);
                self.items += m.len();
                self.bytes += m.iter().map(|(k, _)| k.len()).sum::<usize>();
                self.value_bytes += m.iter().map(|(_, v)| v.len()).sum::<usize>();
            }
            _ => {}
        }
    }

    /// The size of `rows` rows like the `sampled` ones measured, with an eighth to spare.
    fn scaled(self, sampled: usize, rows: usize) -> Size {
        let scale = |v: usize| (v * rows).div_ceil(sampled.max(1)) * 9 / 8;
        Size {
            items: scale(self.items),
            bytes: scale(self.bytes),
            value_bytes: scale(self.value_bytes),
        }
    }
}

/// A column's accessor together with the column it fills.
enum ColBuilder<R> {
    Str(fn(&R) -> Option<&str>, StringColumn),
    I32(fn(&R) -> Option<i32>, PrimitiveColumn<Int32Type>),
    I64(fn(&R) -> Option<i64>, PrimitiveColumn<Int64Type>),
    Ts(
        fn(&R) -> Option<i64>,
        PrimitiveColumn<TimestampMillisecondType>,
    ),
    F64(fn(&R) -> Option<f64>, PrimitiveColumn<Float64Type>),
    Bool(fn(&R) -> Option<bool>, BooleanColumn),
    List(fn(&R) -> &[String], ListColumn),
    Names(fn(&R) -> &[&'static str], ListColumn),
    OptList(fn(&R) -> Option<&[String]>, ListColumn),
    Map(fn(&R) -> &[(String, String)], MapColumn),
}

impl<R> ColBuilder<R> {
    fn new(get: &Get<R>, n: usize, size: Size) -> Self {
        let list = || ListColumn::with_capacity(n, size.items, size.bytes);
        match *get {
            Get::Str(f) => ColBuilder::Str(f, StringColumn::with_capacity(n, size.bytes)),
            Get::I32(f) => ColBuilder::I32(f, PrimitiveColumn::with_capacity(n)),
            Get::I64(f) => ColBuilder::I64(f, PrimitiveColumn::with_capacity(n)),
            Get::Ts(f) => ColBuilder::Ts(f, PrimitiveColumn::with_capacity(n)),
            Get::F64(f) => ColBuilder::F64(f, PrimitiveColumn::with_capacity(n)),
            Get::Bool(f) => ColBuilder::Bool(f, BooleanColumn::with_capacity(n)),
            Get::List(f) => ColBuilder::List(f, list()),
            Get::Names(f) => ColBuilder::Names(f, list()),
            Get::OptList(f) => ColBuilder::OptList(f, list()),
            Get::Map(f) => ColBuilder::Map(
                f,
                MapColumn::with_capacity(n, size.items, size.bytes, size.value_bytes),
            ),
        }
    }

    #[inline]
    fn append(&mut self, r: &R) -> Result<(), ArrowError> {
        match self {
            ColBuilder::Str(f, b) => b.push(f(r))?,
            ColBuilder::I32(f, b) => b.push(f(r)),
            ColBuilder::I64(f, b) => b.push(f(r)),
            ColBuilder::Ts(f, b) => b.push(f(r)),
            ColBuilder::F64(f, b) => b.push(f(r)),
            ColBuilder::Bool(f, b) => b.push(f(r)),
            ColBuilder::List(f, b) => b.push(Some(f(r)))?,
            ColBuilder::Names(f, b) => b.push(Some(f(r)))?,
            ColBuilder::OptList(f, b) => b.push(f(r))?,
            ColBuilder::Map(f, b) => b.push(f(r))?,
        }
        Ok(())
    }

    fn finish(self) -> Result<ArrayRef, ArrowError> {
        Ok(match self {
            ColBuilder::Str(_, b) => b.finish()?,
            ColBuilder::I32(_, b) => Arc::new(b.finish()),
            ColBuilder::I64(_, b) => Arc::new(b.finish()),
            ColBuilder::Ts(_, b) => Arc::new(b.finish().with_timezone(UTC)),
            ColBuilder::F64(_, b) => Arc::new(b.finish()),
            ColBuilder::Bool(_, b) => b.finish(),
            ColBuilder::List(_, b) | ColBuilder::Names(_, b) | ColBuilder::OptList(_, b) => {
                b.finish(list_item_field())?
            }
            ColBuilder::Map(_, b) => b.finish(map_entries_field())?,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{Decision, Invocation, MatchMethod, Origin};
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int32Type, Int64Type, TimestampMillisecondType};
    use arrow_array::Array;
    use parquet::arrow::ArrowWriter;
    use parquet::basic::{Encoding, LogicalType, TimeUnit as PqTimeUnit};
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use std::fs::File;
    use std::path::Path;

    /// A request row with every field set; each string field holds its own column name, so a
    /// column reading the wrong field shows up.
    pub(crate) fn full_request_row() -> RequestRow<'static> {
        fn s(v: &'static str) -> Option<crate::model::Text<'static>> {
            Some(v.into())
        }
        RequestRow {
            request_id: "request_id".into(),
            extended_request_id: s("extended_request_id"),
            api_id: s("api_id"),
            stage: s("stage"),
            request_time_ms: Some(1_706_745_599_123),
            request_time_precision: Some("request_time_precision"),
            log_time_ms: Some(1_706_745_600_001),
            domain_name: s("domain_name"),
            http_method: s("http_method"),
            resource_path: s("resource_path"),
            path: s("path"),
            route_key: s("route_key"),
            protocol: s("protocol"),
            status: Some(403),
            response_length: Some(1234),
            source_ip: s("source_ip"),
            identity_caller: s("identity_caller"),
            identity_user: s("identity_user"),
            identity_user_arn: s("identity_user_arn"),
            api_key_id: s("api_key_id"),
            user_agent: s("Mozilla/5.0 ☃ \"quoted\""),
            error_message: s("error_message"),
            error_response_type: s("error_response_type"),
            authorizer_status: Some(401),
            authorizer_error: s("authorizer_error"),
            authorizer_latency_ms: Some(11),
            authorizer_integration_status: Some(200),
            authorizer_integration_latency_ms: Some(12),
            authorizer_request_id: s("authorizer_request_id"),
            authorizer_principal_id: s("authorizer_principal_id"),
            authenticate_status: Some(201),
            authenticate_error: s("authenticate_error"),
            authenticate_latency_ms: Some(13),
            authorize_status: Some(202),
            authorize_error: s("authorize_error"),
            authorize_latency_ms: Some(14),
            waf_status: Some(203),
            waf_error: s("waf_error"),
            waf_latency_ms: Some(15),
            waf_response_code: s("waf_response_code"),
            integration_status: Some(204),
            integration_integration_status: Some(205),
            integration_error: s("integration_error"),
            integration_latency_ms: Some(16),
            integration_request_id: s("integration_request_id"),
            response_latency_ms: Some(17),
            refused: true,
            denied: true,
            denial_phase: Some("denial_phase"),
            denial_class: Some("denial_class"),
            candidates: vec!["lambda_deny", "lambda_unauthorized"],
            confidence: Some("confidence"),
            evidence: vec![
                ("status".into(), "403".into()),
                ("authorizer_error".into(), "-".into()),
            ],
            advice: vec!["add $context.authorizer.requestId".into()],
            authorizer_lambda_request_id: s("authorizer_lambda_request_id"),
            authorizer_decision: Some("authorizer_decision"),
            authorizer_duration_ms: Some(3.25),
            authorizer_cold_start: Some(true),
            authorizer_invocation_error: s("authorizer_invocation_error"),
            authorizer_match_method: Some("authorizer_match_method"),
            access_format: s("access_format"),
            access_vars: "requestId,status".into(),
            authorizer_log_covers: true,
            exec_facts: vec!["client_not_authorized"],
            exec_method_status: Some(403),
            exec_lines: Some(7),
            method_auth_type: Some("method_auth_type"),
            authorizer_name: s("authorizer_name"),
            authorizer_type: Some("authorizer_type"),
            authorizer_ttl_s: Some(300),
            api_key_required: Some(true),
            gateway_responses_default: Some(false),
            gateway_responses_customised: Some(vec!["ACCESS_DENIED".into()]),
            sources: &["access", "authorizer"],
            extra: vec![("foo".into(), "bar".into())],
            source_file: "source_file".into(),
            source_line: 42,
            source_offset: 4096,
        }
    }

    /// An invocation row with every field set, string fields holding their column names.
    pub(crate) fn full_invocation_row() -> InvocationRow {
        fn s(v: &str) -> Option<String> {
            Some(v.to_string())
        }
        InvocationRow {
            invocation: Invocation {
                lambda_request_id: "lambda_request_id".into(),
                function_name: s("function_name").map(Arc::from),
                log_stream: s("log_stream").map(Arc::from),
                start_time_ms: Some(1_706_745_599_100),
                duration_ms: Some(12.5),
                billed_duration_ms: Some(13.0),
                memory_size_mb: Some(128),
                max_memory_used_mb: Some(64),
                init_duration_ms: Some(250.75),
                decision: Some(Decision::Deny),
                principal_id: s("principal_id").map(Arc::from),
                method_arn: s("method_arn"),
                error_type: s("error_type").map(Arc::from),
                error_message: s("error_message"),
                logged_request_id: s("logged_request_id"),
                logged_api_id: s("logged_api_id").map(Arc::from),
                logged_stage: s("logged_stage").map(Arc::from),
                origin: Origin {
                    file: 3,
                    line: 7,
                    offset: 99,
                },
            },
            request_id: s("request_id"),
            match_method: Some(MatchMethod::LoggedRequestContext),
            source_file: "source_file".into(),
        }
    }

    /// One decoded Arrow value.
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) enum Cell {
        Null,
        S(String),
        I(i64),
        T(i64),
        F(f64),
        B(bool),
        L(Vec<String>),
        M(Vec<(String, String)>),
    }
    use Cell::*;

    fn strings(a: &dyn Array) -> Vec<String> {
        a.as_string::<i32>()
            .iter()
            .map(|s| s.expect("no null items").to_string())
            .collect()
    }

    pub(crate) fn cell(a: &dyn Array, i: usize) -> Cell {
        if a.is_null(i) {
            return Null;
        }
        match a.data_type() {
            DataType::Utf8 => S(a.as_string::<i32>().value(i).to_string()),
            DataType::Int32 => I(a.as_primitive::<Int32Type>().value(i).into()),
            DataType::Int64 => I(a.as_primitive::<Int64Type>().value(i)),
            DataType::Timestamp(..) => T(a.as_primitive::<TimestampMillisecondType>().value(i)),
            DataType::Float64 => F(a.as_primitive::<Float64Type>().value(i)),
            DataType::Boolean => B(a.as_boolean().value(i)),
            DataType::List(_) => L(strings(&a.as_list::<i32>().value(i))),
            DataType::Map(..) => {
                let m = a.as_map().value(i);
                let (k, v) = (strings(m.column(0)), strings(m.column(1)));
                M(k.into_iter().zip(v).collect())
            }
            other => panic!("unexpected type {other}"),
        }
    }

    /// Row `i` of a batch as (column name, value) pairs.
    pub(crate) fn row_cells(batch: &RecordBatch, i: usize) -> Vec<(String, Cell)> {
        batch
            .schema()
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(f, a)| (f.name().clone(), cell(a.as_ref(), i)))
            .collect()
    }

    fn write_file(path: &Path, batch: &RecordBatch, props: WriterProperties) {
        let file = File::create(path).unwrap();
        let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
        w.write(batch).unwrap();
        w.close().unwrap();
    }

    fn reread(path: &Path) -> RecordBatch {
        let batches = crate::sink::dataset::read_back(path).unwrap();
        assert_eq!(batches.len(), 1);
        batches.into_iter().next().unwrap()
    }

    fn footer(path: &Path) -> parquet::file::metadata::ParquetMetaData {
        let reader = SerializedFileReader::new(File::open(path).unwrap()).unwrap();
        reader.metadata().clone()
    }

    const REQUEST_COLUMNS: &[&str] = &[
        "request_id",
        "extended_request_id",
        "api_id",
        "stage",
        "request_time",
        "request_time_precision",
        "log_time",
        "domain_name",
        "http_method",
        "resource_path",
        "path",
        "route_key",
        "protocol",
        "status",
        "response_length",
        "source_ip",
        "identity_caller",
        "identity_user",
        "identity_user_arn",
        "api_key_id",
        "user_agent",
        "error_message",
        "error_response_type",
        "authorizer_status",
        "authorizer_error",
        "authorizer_latency_ms",
        "authorizer_integration_status",
        "authorizer_integration_latency_ms",
        "authorizer_request_id",
        "authorizer_principal_id",
        "authenticate_status",
        "authenticate_error",
        "authenticate_latency_ms",
        "authorize_status",
        "authorize_error",
        "authorize_latency_ms",
        "waf_status",
        "waf_error",
        "waf_latency_ms",
        "waf_response_code",
        "integration_status",
        "integration_integration_status",
        "integration_error",
        "integration_latency_ms",
        "integration_request_id",
        "response_latency_ms",
        "refused",
        "denied",
        "denial_phase",
        "denial_class",
        "candidates",
        "confidence",
        "evidence",
        "advice",
        "authorizer_lambda_request_id",
        "authorizer_decision",
        "authorizer_duration_ms",
        "authorizer_cold_start",
        "authorizer_invocation_error",
        "authorizer_match_method",
        "access_format",
        "access_vars",
        "authorizer_log_covers",
        "exec_facts",
        "exec_method_status",
        "exec_lines",
        "method_auth_type",
        "authorizer_name",
        "authorizer_type",
        "authorizer_ttl_s",
        "api_key_required",
        "gateway_responses_default",
        "gateway_responses_customised",
        "sources",
        "extra",
        "source_file",
        "source_line",
        "source_offset",
    ];

    const INVOCATION_COLUMNS: &[&str] = &[
        "lambda_request_id",
        "function_name",
        "log_stream",
        "start_time",
        "duration_ms",
        "billed_duration_ms",
        "memory_size_mb",
        "max_memory_used_mb",
        "init_duration_ms",
        "decision",
        "principal_id",
        "method_arn",
        "error_type",
        "error_message",
        "logged_request_id",
        "logged_api_id",
        "logged_stage",
        "request_id",
        "match_method",
        "source_file",
        "source_line",
        "source_offset",
    ];

    /// Athena DDL and DML reserved words (docs.aws.amazon.com/athena/latest/ug/reserved-words.html).
    const RESERVED: &[&str] = &[
        "all",
        "alter",
        "and",
        "array",
        "as",
        "authorization",
        "between",
        "bigint",
        "binary",
        "boolean",
        "both",
        "by",
        "case",
        "cashe",
        "cast",
        "char",
        "column",
        "commit",
        "conf",
        "constraint",
        "create",
        "cross",
        "cube",
        "current",
        "current_catalog",
        "current_date",
        "current_path",
        "current_role",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "cursor",
        "database",
        "date",
        "dayofweek",
        "deallocate",
        "decimal",
        "delete",
        "describe",
        "distinct",
        "div",
        "double",
        "drop",
        "else",
        "end",
        "escape",
        "except",
        "exchange",
        "execute",
        "exists",
        "extended",
        "external",
        "extract",
        "false",
        "fetch",
        "first",
        "float",
        "floor",
        "following",
        "for",
        "foreign",
        "from",
        "full",
        "function",
        "grant",
        "group",
        "grouping",
        "having",
        "if",
        "import",
        "in",
        "inner",
        "insert",
        "int",
        "integer",
        "intersect",
        "interval",
        "into",
        "is",
        "join",
        "json_array",
        "json_exists",
        "json_object",
        "json_query",
        "json_table",
        "json_value",
        "last",
        "lateral",
        "left",
        "less",
        "like",
        "listagg",
        "local",
        "localtime",
        "localtimestamp",
        "macro",
        "map",
        "more",
        "natural",
        "none",
        "normalize",
        "not",
        "null",
        "numeric",
        "of",
        "on",
        "only",
        "or",
        "order",
        "out",
        "outer",
        "over",
        "partialscan",
        "partition",
        "percent",
        "preceding",
        "precision",
        "preserve",
        "primary",
        "procedure",
        "range",
        "reads",
        "recursive",
        "reduce",
        "references",
        "regexp",
        "revoke",
        "right",
        "rlike",
        "rollback",
        "rollup",
        "row",
        "rows",
        "select",
        "set",
        "skip",
        "smallint",
        "start",
        "table",
        "tablesample",
        "then",
        "time",
        "timestamp",
        "to",
        "transform",
        "trigger",
        "trim",
        "true",
        "truncate",
        "uescape",
        "unbounded",
        "union",
        "uniquejoin",
        "unnest",
        "update",
        "user",
        "using",
        "utc_timestamp",
        "values",
        "varchar",
        "views",
        "when",
        "where",
        "window",
        "with",
    ];

    fn assert_no_unsigned(name: &str, dt: &DataType) {
        match dt {
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
                panic!("{name} is unsigned")
            }
            DataType::List(f) => assert_no_unsigned(name, f.data_type()),
            DataType::Map(f, _) => assert_no_unsigned(name, f.data_type()),
            DataType::Struct(fs) => fs
                .iter()
                .for_each(|f| assert_no_unsigned(name, f.data_type())),
            _ => {}
        }
    }

    #[test]
    fn schemas_have_the_documented_columns() {
        for (schema, expected) in [
            (requests_schema(), REQUEST_COLUMNS),
            (invocations_schema(), INVOCATION_COLUMNS),
        ] {
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            assert_eq!(names, expected);
            for f in schema.fields() {
                let n = f.name();
                assert!(
                    n.starts_with(|c: char| c.is_ascii_lowercase())
                        && n.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    "{n} is not lowercase snake_case"
                );
                assert!(
                    !RESERVED.contains(&n.as_str()),
                    "{n} is an Athena reserved word"
                );
                assert_ne!(n, "dt", "dt is the partition key");
                assert_no_unsigned(n, f.data_type());
            }
        }
    }

    #[test]
    fn schema_types_follow_the_model() {
        let ts = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
        let req = requests_schema();
        let f = |name: &str| req.field_with_name(name).unwrap().clone();
        assert_eq!(f("request_time").data_type(), &ts);
        assert_eq!(f("log_time").data_type(), &ts);
        assert!(!f("request_id").is_nullable());
        assert!(f("extended_request_id").is_nullable());
        assert_eq!(f("status").data_type(), &DataType::Int32);
        assert_eq!(f("response_length").data_type(), &DataType::Int64);
        assert_eq!(f("authorizer_duration_ms").data_type(), &DataType::Float64);
        assert_eq!(f("refused").data_type(), &DataType::Boolean);
        assert!(!f("refused").is_nullable());
        assert!(f("authorizer_cold_start").is_nullable());
        assert_eq!(
            f("candidates").data_type(),
            &DataType::List(Arc::new(Field::new("element", DataType::Utf8, false)))
        );
        assert!(!f("candidates").is_nullable());
        let DataType::Map(entries, false) = f("evidence").data_type().clone() else {
            panic!("evidence is not a map");
        };
        assert_eq!(entries.name(), "entries");
        assert!(!entries.is_nullable());
        let DataType::Struct(kv) = entries.data_type() else {
            panic!("map entries are not a struct");
        };
        assert_eq!(kv[0].name(), "key");
        assert!(!kv[0].is_nullable());
        assert_eq!(kv[1].name(), "value");
        assert_eq!(f("source_line").data_type(), &DataType::Int64);
        assert!(!f("source_offset").is_nullable());

        let inv = invocations_schema();
        let g = |name: &str| inv.field_with_name(name).unwrap().clone();
        assert_eq!(g("start_time").data_type(), &ts);
        assert_eq!(g("memory_size_mb").data_type(), &DataType::Int32);
        assert_eq!(g("duration_ms").data_type(), &DataType::Float64);
        assert_eq!(g("match_method").data_type(), &DataType::Utf8);
        assert!(!g("lambda_request_id").is_nullable());
        assert!(!g("source_file").is_nullable());
        assert!(g("request_id").is_nullable());
    }

    /// Expected values of the non-string columns of the full rows (string columns hold their
    /// own names).
    fn full_request_expected() -> Vec<(&'static str, Cell)> {
        vec![
            ("request_time", T(1_706_745_599_123)),
            ("log_time", T(1_706_745_600_001)),
            ("status", I(403)),
            ("response_length", I(1234)),
            ("user_agent", S("Mozilla/5.0 ☃ \"quoted\"".into())),
            ("authorizer_status", I(401)),
            ("authorizer_latency_ms", I(11)),
            ("authorizer_integration_status", I(200)),
            ("authorizer_integration_latency_ms", I(12)),
            ("authenticate_status", I(201)),
            ("authenticate_latency_ms", I(13)),
            ("authorize_status", I(202)),
            ("authorize_latency_ms", I(14)),
            ("waf_status", I(203)),
            ("waf_latency_ms", I(15)),
            ("integration_status", I(204)),
            ("integration_integration_status", I(205)),
            ("integration_latency_ms", I(16)),
            ("response_latency_ms", I(17)),
            ("refused", B(true)),
            ("denied", B(true)),
            (
                "candidates",
                L(vec!["lambda_deny".into(), "lambda_unauthorized".into()]),
            ),
            (
                "evidence",
                M(vec![
                    ("status".into(), "403".into()),
                    ("authorizer_error".into(), "-".into()),
                ]),
            ),
            (
                "advice",
                L(vec!["add $context.authorizer.requestId".into()]),
            ),
            ("authorizer_duration_ms", F(3.25)),
            ("authorizer_cold_start", B(true)),
            ("access_vars", S("requestId,status".into())),
            ("authorizer_log_covers", B(true)),
            ("exec_facts", L(vec!["client_not_authorized".into()])),
            ("exec_method_status", I(403)),
            ("exec_lines", I(7)),
            ("authorizer_ttl_s", I(300)),
            ("api_key_required", B(true)),
            ("gateway_responses_default", B(false)),
            (
                "gateway_responses_customised",
                L(vec!["ACCESS_DENIED".into()]),
            ),
            ("sources", L(vec!["access".into(), "authorizer".into()])),
            ("extra", M(vec![("foo".into(), "bar".into())])),
            ("source_line", I(42)),
            ("source_offset", I(4096)),
        ]
    }

    fn full_invocation_expected() -> Vec<(&'static str, Cell)> {
        vec![
            ("start_time", T(1_706_745_599_100)),
            ("duration_ms", F(12.5)),
            ("billed_duration_ms", F(13.0)),
            ("memory_size_mb", I(128)),
            ("max_memory_used_mb", I(64)),
            ("init_duration_ms", F(250.75)),
            ("decision", S("deny".into())),
            ("match_method", S("logged_request_context".into())),
            ("source_line", I(7)),
            ("source_offset", I(99)),
        ]
    }

    /// Checks every column of row `i` against `explicit`, string columns defaulting to their
    /// own name.
    fn assert_full(batch: &RecordBatch, i: usize, explicit: &[(&str, Cell)]) {
        let cells = row_cells(batch, i);
        for (name, _) in explicit {
            assert!(cells.iter().any(|(n, _)| n == name), "no column {name}");
        }
        for (name, got) in cells {
            let want = explicit
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, c)| c.clone())
                .unwrap_or_else(|| S(name.clone()));
            assert_eq!(got, want, "column {name}");
        }
    }

    #[test]
    fn full_and_empty_request_rows_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let rows = vec![full_request_row(), RequestRow::default()];
        let batch = request_batch(&rows).unwrap();
        assert_full(&batch, 0, &full_request_expected());
        let path = dir.path().join("r.parquet");
        write_file(&path, &batch, writer_properties(Compression::default()));
        let back = reread(&path);
        assert_eq!(back, batch);
        assert_full(&back, 0, &full_request_expected());
        for (name, got) in row_cells(&back, 1) {
            let want = match name.as_str() {
                "request_id" | "source_file" | "access_vars" => S(String::new()),
                "refused" | "denied" | "authorizer_log_covers" => B(false),
                "candidates" | "advice" | "sources" | "exec_facts" => L(vec![]),
                "evidence" | "extra" => M(vec![]),
                "source_line" | "source_offset" => I(0),
                _ => Null,
            };
            assert_eq!(got, want, "column {name} of the empty row");
        }
    }

    #[test]
    fn full_and_empty_invocation_rows_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let rows = vec![full_invocation_row(), InvocationRow::default()];
        let batch = invocation_batch(&rows).unwrap();
        let path = dir.path().join("i.parquet");
        write_file(
            &path,
            &batch,
            table_writer_properties(Table::Invocations, Compression::default()),
        );
        let back = reread(&path);
        assert_eq!(back, batch);
        assert_full(&back, 0, &full_invocation_expected());
        for (name, got) in row_cells(&back, 1) {
            let want = match name.as_str() {
                "lambda_request_id" | "source_file" => S(String::new()),
                "source_line" | "source_offset" => I(0),
                _ => Null,
            };
            assert_eq!(got, want, "column {name} of the empty row");
        }
    }

    #[test]
    fn map_keeps_the_first_value_of_a_repeated_key() {
        let row = RequestRow {
            evidence: vec![
                ("a".into(), "1".into()),
                ("b".into(), "2".into()),
                ("a".into(), "3".into()),
            ],
            ..Default::default()
        };
        let batch = request_batch(&[row]).unwrap();
        let col = batch.schema().index_of("evidence").unwrap();
        assert_eq!(
            cell(batch.column(col).as_ref(), 0),
            M(vec![("a".into(), "1".into()), ("b".into(), "2".into())])
        );
    }

    #[test]
    fn every_codec_is_readable_and_carries_the_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<RequestRow> = (0..100).map(|_| full_request_row()).collect();
        let batch = request_batch(&rows).unwrap();
        for (c, codec) in [
            (Compression::Zstd(1), "ZSTD"),
            (Compression::Zstd(3), "ZSTD"),
            (Compression::Snappy, "SNAPPY"),
            (Compression::None, "UNCOMPRESSED"),
        ] {
            let path = dir.path().join(format!("{c:?}.parquet"));
            write_file(&path, &batch, writer_properties(c));
            assert_eq!(reread(&path), batch, "{c:?}");
            let meta = footer(&path);
            let chunk = meta.row_group(0).column(0);
            assert!(chunk.compression().to_string().starts_with(codec), "{c:?}");
            let kv = meta.file_metadata().key_value_metadata().unwrap();
            let get = |k: &str| kv.iter().find(|e| e.key == k).and_then(|e| e.value.clone());
            assert_eq!(get(SCHEMA_VERSION_KEY).as_deref(), Some(SCHEMA_VERSION));
            assert_eq!(get(TABLE_KEY).as_deref(), Some("requests"));
            assert!(get(CREATED_BY_KEY).unwrap().starts_with("gatelog version "));
            assert_eq!(meta.file_metadata().version(), 1, "PARQUET_1_0");
        }
    }

    #[test]
    fn parquet_types_suit_athena() {
        let dir = tempfile::tempdir().unwrap();
        for table in Table::ALL {
            let batch = match table {
                Table::Requests => request_batch(&[full_request_row()]).unwrap(),
                Table::Invocations => invocation_batch(&[full_invocation_row()]).unwrap(),
            };
            let path = dir.path().join(format!("{}.parquet", table.name()));
            write_file(
                &path,
                &batch,
                table_writer_properties(table, Compression::default()),
            );
            let meta = footer(&path);
            for col in meta.file_metadata().schema_descr().columns() {
                let path = col.path().string();
                match col.logical_type_ref() {
                    Some(LogicalType::Integer(t)) => assert!(t.is_signed, "{path} is unsigned"),
                    Some(LogicalType::Timestamp(t)) => {
                        assert!(t.is_adjusted_to_u_t_c, "{path}");
                        assert_eq!(t.unit, PqTimeUnit::MILLIS, "{path}");
                    }
                    _ => {}
                }
            }
            let time_col = match table {
                Table::Requests => "request_time",
                Table::Invocations => "start_time",
            };
            let ts = meta
                .file_metadata()
                .schema_descr()
                .columns()
                .iter()
                .find(|c| c.path().string() == time_col)
                .unwrap()
                .clone();
            assert!(matches!(
                ts.logical_type_ref(),
                Some(LogicalType::Timestamp(_))
            ));
        }
    }

    #[test]
    fn dictionary_only_on_the_low_cardinality_columns() {
        let requests: &[&str] = &[
            "api_id",
            "stage",
            "http_method",
            "resource_path",
            "protocol",
            "error_message",
            "error_response_type",
            "authorizer_error",
            "authenticate_error",
            "authorize_error",
            "waf_error",
            "waf_response_code",
            "integration_error",
            "denial_phase",
            "denial_class",
            "confidence",
            "authorizer_decision",
            "authorizer_match_method",
            "access_format",
            "access_vars",
            "method_auth_type",
            "authorizer_name",
            "authorizer_type",
            "source_file",
        ];
        let invocations: &[&str] = &[
            "function_name",
            "decision",
            "error_type",
            "match_method",
            "source_file",
        ];
        assert_eq!(Table::Requests.dictionary_columns(), requests);
        assert_eq!(Table::Invocations.dictionary_columns(), invocations);

        let dir = tempfile::tempdir().unwrap();
        for (table, listed) in [
            (Table::Requests, requests),
            (Table::Invocations, invocations),
        ] {
            let batch = match table {
                Table::Requests => request_batch(&vec![full_request_row(); 50]).unwrap(),
                Table::Invocations => invocation_batch(&vec![full_invocation_row(); 50]).unwrap(),
            };
            let path = dir.path().join(format!("{}.parquet", table.name()));
            write_file(
                &path,
                &batch,
                table_writer_properties(table, Compression::default()),
            );
            let meta = footer(&path);
            let mut dictionary = Vec::new();
            for chunk in meta.row_group(0).columns() {
                let encodings: Vec<Encoding> = chunk.encodings().collect();
                let dict = encodings
                    .iter()
                    .any(|e| matches!(e, Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY));
                assert_eq!(
                    dict,
                    chunk.dictionary_page_offset().is_some(),
                    "{}",
                    chunk.column_path()
                );
                if dict {
                    dictionary.push(chunk.column_path().string());
                }
            }
            assert_eq!(dictionary, listed, "{}", table.name());
        }
    }

    #[test]
    fn min_max_statistics_on_every_column_but_the_near_unique_strings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.parquet");
        let batch = request_batch(&vec![full_request_row(); 20]).unwrap();
        write_file(
            &path,
            &batch,
            table_writer_properties(Table::Requests, Compression::default()),
        );
        let meta = footer(&path);
        let unsorted = Table::Requests.columns_without_statistics();
        for name in [
            "request_id",
            "source_ip",
            "user_agent",
            "path",
            "access_vars",
            "evidence.entries.value",
            "advice.list.element",
        ] {
            assert!(unsorted.iter().any(|u| u == name), "{name}");
        }
        for chunk in meta.row_group(0).columns() {
            let name = chunk.column_path().string();
            let has = chunk
                .statistics()
                .is_some_and(|s| s.min_bytes_opt().is_some());
            if unsorted.contains(&name) {
                assert!(
                    chunk
                        .statistics()
                        .is_none_or(|s| s.min_bytes_opt().is_none()),
                    "{name}"
                );
            } else if ["request_time", "status", "denial_class", "api_id"].contains(&name.as_str())
            {
                assert!(has, "{name} keeps its min/max");
            }
        }
    }

    #[test]
    fn row_group_limits_are_set() {
        for table in Table::ALL {
            let p = table_writer_properties(table, Compression::default());
            assert_eq!(p.max_row_group_bytes(), Some(MAX_ROW_GROUP_BYTES));
            assert_eq!(
                p.max_row_group_row_count(),
                Some(DEFAULT_MAX_ROW_GROUP_ROW_COUNT)
            );
            assert_eq!(p.writer_version(), WriterVersion::PARQUET_1_0);
            assert!(!p.dictionary_enabled(&ColumnPath::from("request_id")));
        }
        assert_eq!(
            Compression::Zstd(99).to_parquet(),
            PqCompression::ZSTD(ZstdLevel::try_new(22).unwrap())
        );
        assert_eq!(
            Compression::Zstd(-5).to_parquet(),
            PqCompression::ZSTD(ZstdLevel::try_new(1).unwrap())
        );
    }
}

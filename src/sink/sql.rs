//! SQL for Athena users: the `CREATE EXTERNAL TABLE` statements of both tables
//! ([`athena_ddl`], `athena.sql`) and the decision table rendered as one `SELECT`
//! ([`classify_sql`], `classify.sql`).
//!
//! Both are generated, never hand-written, so they cannot drift from the code they describe:
//! the DDL's column types come from the Arrow schemas in `parquet.rs` ([`athena_type`]), and
//! the `SELECT` walks [`RULES`] and emits one SQL predicate per [`Cond`]. What the classifier
//! does in code rather than as data (the scope test, the response-type / status gate, whether
//! the authorizer was invoked, the body-length and IAM-caller heuristics, the phase) is mirrored
//! here once, next to the place that generates it; `tests/athena.rs` runs the generated SQL in
//! DuckDB over gatelog's own output and requires the same answer for every row.
//!
//! The SQL is the dialect Athena (engine v3, Trino) and DuckDB share: no lambdas (DuckDB 2
//! rejects Trino's `x -> …` by default and Trino has no `lambda x: …`), no `cardinality` /
//! `len`; only `CASE`, `COALESCE`, `contains(array, x)`, `strpos`, `translate`, `concat_ws`,
//! `split` and `ARRAY[]`.
//!
//! Known limits of the mirror, none of which the fixtures or the bundled sample reach:
//! integer variables are read from the `int` columns, so a raw value that is not an integer
//! (`"status":"abc"`) is null in SQL but "set" to the classifier, and `"0200"` equals `200` in
//! SQL but not `"200"` to the classifier; `error_message` and `authorizer_error` are stored
//! redacted, so a condition on text inside a redacted token could differ.

use std::fmt::Write as _;

use arrow_schema::DataType;

use crate::classify::rules::{Body, Cond, Rule, RULES};
use crate::classify::{Class, Phase, AUTHORIZER_500_BODY, AUTHORIZER_500_TYPES};
use crate::model::{Decision, MatchMethod, ACCESS_VARS_SEPARATOR};
use crate::records::execution::Fact;
use crate::records::vars::Var;
use crate::sink::parquet::{requests_schema, Table, SCHEMA_VERSION};

/// Why the Athena DDL cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DdlError {
    /// The location is not an `s3://bucket[/prefix]` URI.
    #[error("the Athena location must be an s3:// URI such as s3://my-bucket/gatelog (got `{0}`)")]
    NotS3(String),
    /// The location holds a character that cannot appear inside a SQL string literal safely.
    #[error(
        "the Athena location `{0}` contains a quote, backslash, whitespace or control character"
    )]
    BadLocation(String),
    /// The database name is not a plain Athena identifier.
    #[error("the Athena database name `{0}` must be 1-255 characters of lowercase letters, digits and underscores")]
    BadDatabase(String),
    /// A column's Arrow type has no Athena equivalent (a schema change that needs this file).
    #[error("column `{table}.{column}` has Arrow type {data_type}, which has no Athena type here")]
    UnsupportedType {
        /// Table name.
        table: &'static str,
        /// Column name.
        column: String,
        /// The Arrow type, rendered.
        data_type: String,
    },
}

/// The Athena (Hive DDL) type of an Arrow type, as gatelog writes it to Parquet: `Utf8` →
/// `string`, `Int32` → `int`, `Int64` → `bigint`, `Float64` → `double`, `Boolean` →
/// `boolean`, `Timestamp(ms)` → `timestamp`, `List<T>` → `array<T>`, `Map<K,V>` →
/// `map<K,V>`, `Struct` → `struct<…>`. `None` for a type gatelog never writes (unsigned
/// integers among them: Athena misreads them).
pub fn athena_type(t: &DataType) -> Option<String> {
    Some(match t {
        DataType::Utf8 => "string".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::Float64 => "double".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Timestamp(arrow_schema::TimeUnit::Millisecond, _) => "timestamp".into(),
        DataType::List(f) => format!("array<{}>", athena_type(f.data_type())?),
        DataType::Map(entries, _) => {
            let DataType::Struct(kv) = entries.data_type() else {
                return None;
            };
            let [k, v] = kv.iter().collect::<Vec<_>>()[..] else {
                return None;
            };
            format!(
                "map<{},{}>",
                athena_type(k.data_type())?,
                athena_type(v.data_type())?
            )
        }
        DataType::Struct(fs) => {
            let parts: Option<Vec<String>> = fs
                .iter()
                .map(|f| Some(format!("{}:{}", f.name(), athena_type(f.data_type())?)))
                .collect();
            format!("struct<{}>", parts?.join(","))
        }
        _ => return None,
    })
}

/// `location` validated and without trailing slashes.
fn check_location(location: &str) -> Result<&str, DdlError> {
    let trimmed = location.trim_end_matches('/');
    let bucket = trimmed
        .strip_prefix("s3://")
        .ok_or_else(|| DdlError::NotS3(location.to_string()))?;
    if bucket.is_empty() || bucket.starts_with('/') {
        return Err(DdlError::NotS3(location.to_string()));
    }
    if trimmed
        .chars()
        .any(|c| c == '\'' || c == '\\' || c == '`' || c.is_whitespace() || c.is_control())
    {
        return Err(DdlError::BadLocation(location.to_string()));
    }
    Ok(trimmed)
}

fn check_database(database: &str) -> Result<(), DdlError> {
    let ok = !database.is_empty()
        && database.len() <= 255
        && database
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(DdlError::BadDatabase(database.to_string()))
    }
}

/// `CREATE EXTERNAL TABLE` for one table of the dataset under `location` (validated).
fn table_ddl(table: Table, location: &str, database: &str) -> Result<String, DdlError> {
    let schema = table.schema();
    let mut cols = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let t = athena_type(f.data_type()).ok_or_else(|| DdlError::UnsupportedType {
            table: table.name(),
            column: f.name().clone(),
            data_type: f.data_type().to_string(),
        })?;
        cols.push(format!("  `{}` {t}", f.name()));
    }
    let name = table.name();
    let root = format!("{location}/{name}");
    Ok(format!(
        "CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{name}` (\n{cols}\n)\n\
         PARTITIONED BY (`dt` string)\n\
         STORED AS PARQUET\n\
         LOCATION '{root}/'\n\
         TBLPROPERTIES (\n  \
         'parquet.compression' = 'ZSTD',\n  \
         'projection.enabled' = 'true',\n  \
         'projection.dt.type' = 'date',\n  \
         'projection.dt.format' = 'yyyy-MM-dd',\n  \
         'projection.dt.range' = '2015-01-01,NOW',\n  \
         'projection.dt.interval' = '1',\n  \
         'projection.dt.interval.unit' = 'DAYS',\n  \
         'storage.location.template' = '{root}/dt=${{dt}}/',\n  \
         'gatelog.schema_version' = '{SCHEMA_VERSION}'\n\
         );\n",
        cols = cols.join(",\n"),
    ))
}

/// `athena.sql`: `CREATE DATABASE IF NOT EXISTS` and one `CREATE EXTERNAL TABLE IF NOT
/// EXISTS` per table (`requests`, `authorizer_invocations`) of a dataset copied to
/// `location` (`s3://bucket/prefix`, the directory holding `requests/` and
/// `authorizer_invocations/`), in `database`. Every column is backticked and typed from the
/// table's Arrow schema ([`athena_type`]); the string partition `dt` is projected (type
/// date, `yyyy-MM-dd`, 2015-01-01 to NOW, one day), so no `MSCK REPAIR TABLE` is needed.
/// Statements end with `;` and are separated by a blank line; Athena runs one at a time.
pub fn athena_ddl(location: &str, database: &str) -> Result<String, DdlError> {
    let location = check_location(location)?;
    check_database(database)?;
    let mut out = format!(
        "-- gatelog {version}: Athena tables for the dataset at {location}/ (schema version {SCHEMA_VERSION}).\n\
         -- Run each statement on its own (the Athena console and start-query-execution take one\n\
         -- statement at a time). `dt` is partition-projected: no MSCK REPAIR TABLE is needed, and\n\
         -- every query should filter on dt.\n\n\
         CREATE DATABASE IF NOT EXISTS `{database}`;\n",
        version = env!("CARGO_PKG_VERSION"),
    );
    for t in Table::ALL {
        out.push('\n');
        out.push_str(&table_ddl(t, location, database)?);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// classify.sql

/// The `requests` column holding a `$context` variable's value exactly as the classifier reads
/// it (integers as `int`/`bigint`, messages redacted), or `None` when no column does: the
/// variable is not stored, or its column is filled from other sources too (`api_id` and
/// `stage` from the log group, `request_id` from `extendedRequestId`, `request_time` parsed).
/// `classify.sql` reads the variables of [`RULES`] and of the classifier through this.
pub fn var_column(v: Var) -> Option<&'static str> {
    Some(match v {
        Var::DomainName => "domain_name",
        Var::HttpMethod => "http_method",
        Var::ResourcePath => "resource_path",
        Var::Path => "path",
        Var::RouteKey => "route_key",
        Var::Protocol => "protocol",
        Var::Status => "status",
        Var::ResponseLength => "response_length",
        Var::ResponseLatency => "response_latency_ms",
        Var::SourceIp => "source_ip",
        Var::Caller => "identity_caller",
        Var::User => "identity_user",
        Var::UserArn => "identity_user_arn",
        Var::ApiKeyId => "api_key_id",
        Var::UserAgent => "user_agent",
        Var::ErrorMessage => "error_message",
        Var::ErrorResponseType => "error_response_type",
        Var::WafError => "waf_error",
        Var::WafStatus => "waf_status",
        Var::WafLatency => "waf_latency_ms",
        Var::WafResponseCode => "waf_response_code",
        Var::AuthenticateError => "authenticate_error",
        Var::AuthenticateStatus => "authenticate_status",
        Var::AuthenticateLatency => "authenticate_latency_ms",
        Var::AuthorizerError => "authorizer_error",
        Var::AuthorizerStatus => "authorizer_status",
        Var::AuthorizerLatency => "authorizer_latency_ms",
        Var::AuthorizerIntegrationStatus => "authorizer_integration_status",
        Var::AuthorizerIntegrationLatency => "authorizer_integration_latency_ms",
        Var::AuthorizerRequestId => "authorizer_request_id",
        Var::AuthorizerPrincipalId => "authorizer_principal_id",
        Var::AuthorizeError => "authorize_error",
        Var::AuthorizeStatus => "authorize_status",
        Var::AuthorizeLatency => "authorize_latency_ms",
        Var::IntegrationError => "integration_error",
        Var::IntegrationStatus => "integration_status",
        Var::IntegrationIntegrationStatus => "integration_integration_status",
        Var::IntegrationLatency => "integration_latency_ms",
        Var::IntegrationRequestId => "integration_request_id",
        Var::ExtendedRequestId => "extended_request_id",
        // Filled from other sources as well, or not stored at all.
        Var::RequestId
        | Var::ApiId
        | Var::Stage
        | Var::AccountId
        | Var::DomainPrefix
        | Var::RequestTime
        | Var::RequestTimeEpoch
        | Var::IdentityAccountId
        | Var::ApiKey
        | Var::ErrorMessageString
        | Var::WebaclArn
        | Var::IntegrationErrorMessage
        | Var::XrayTraceId => return None,
    })
}

/// Execution-log facts that alone put a request in scope: mirrors
/// `ExecFacts::shows_refusal` (checked by a unit test line by line).
const REFUSAL_FACTS: [Fact; 12] = [
    Fact::ClientNotAuthorized,
    Fact::UnauthorizedRequest,
    Fact::ConfigurationError,
    Fact::ApiKeyRejected,
    Fact::ThrottleExceeded,
    Fact::QuotaExceeded,
    Fact::UserNotAuthorized,
    Fact::AnonymousNotAuthorized,
    Fact::SignatureMismatch,
    Fact::TokenExpired,
    Fact::TokenInvalid,
    Fact::MissingAuthenticationToken,
];

/// Every match method; the `match` below fails to compile when one is added.
const MATCH_METHODS: [MatchMethod; 5] = [
    MatchMethod::AuthorizerRequestId,
    MatchMethod::LoggedRequestContext,
    MatchMethod::ExecutionIntegrationTag,
    MatchMethod::InferredTimeRoute,
    MatchMethod::Ambiguous,
];
const _: fn(MatchMethod) = |m| match m {
    MatchMethod::AuthorizerRequestId
    | MatchMethod::LoggedRequestContext
    | MatchMethod::ExecutionIntegrationTag
    | MatchMethod::InferredTimeRoute
    | MatchMethod::Ambiguous => {}
};

/// Statuses that are in scope on their own, and the authorizer's 500 (`classify::in_scope`).
const SCOPE_STATUSES: [i64; 3] = [401, 403, 429];
const AUTHORIZER_500: i64 = 500;

/// `s` with every line indented by four spaces (a nested subquery).
fn indent(s: &str) -> String {
    s.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("    {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A SQL string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `(a, b, …)` of string literals.
fn lits<'a>(xs: impl IntoIterator<Item = &'a str>) -> String {
    let v: Vec<String> = xs.into_iter().map(lit).collect();
    format!("({})", v.join(", "))
}

fn ints(xs: &[i64]) -> String {
    let v: Vec<String> = xs.iter().map(i64::to_string).collect();
    format!("({})", v.join(", "))
}

/// Whether a `requests` column is numeric.
fn is_int_column(col: &str) -> bool {
    let schema = requests_schema();
    let f = schema
        .field_with_name(col)
        .unwrap_or_else(|_| panic!("classify.sql reads `{col}`, which `requests` lacks"));
    matches!(f.data_type(), DataType::Int32 | DataType::Int64)
}

fn col(v: Var) -> &'static str {
    var_column(v).unwrap_or_else(|| {
        panic!(
            "$context.{} is read by the decision table but has no `requests` column",
            v.name()
        )
    })
}

/// The format carries `v` (the record's `access_vars` lists it).
fn known(v: Var) -> String {
    format!(
        "contains(split(access_vars, {}), {})",
        lit(ACCESS_VARS_SEPARATOR),
        lit(v.name())
    )
}

/// `col = text` as the classifier compares raw text, never null.
fn equals(v: Var, text: &str) -> String {
    let c = col(v);
    if is_int_column(c) {
        match text.trim().parse::<i64>() {
            Ok(n) if n.to_string() == text => format!("COALESCE({c} = {n}, false)"),
            _ => "false".into(),
        }
    } else {
        format!("COALESCE({c} = {}, false)", lit(text))
    }
}

/// ASCII-lowercased column (Rust's `to_ascii_lowercase`, not Unicode `lower`).
fn ascii_lower(c: &str) -> String {
    format!("translate({c}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')")
}

/// A variable condition: the variable, and SQL (never null) that is true when the value
/// satisfies the condition and when it contradicts it.
fn var_test(c: &Cond) -> Option<(Var, String, String)> {
    let has = |c: &str, t: &str| format!("COALESCE(strpos({c}, {}) > 0, false)", lit(t));
    Some(match *c {
        Cond::Dash(v) => (
            v,
            format!("{} IS NULL", col(v)),
            format!("{} IS NOT NULL", col(v)),
        ),
        Cond::Set(v) => (
            v,
            format!("{} IS NOT NULL", col(v)),
            format!("{} IS NULL", col(v)),
        ),
        Cond::Eq(v, t) => (v, equals(v, t), format!("NOT {}", equals(v, t))),
        Cond::EqOrDash(v, t) => (
            v,
            format!("({} IS NULL OR {})", col(v), equals(v, t)),
            format!("({} IS NOT NULL AND NOT {})", col(v), equals(v, t)),
        ),
        Cond::NotEq(v, t) => (v, format!("NOT {}", equals(v, t)), equals(v, t)),
        Cond::Has(v, t) => {
            let h = has(&ascii_lower(col(v)), &t.to_ascii_lowercase());
            (v, h.clone(), format!("NOT {h}"))
        }
        Cond::Lacks(v, t) => {
            let h = has(&ascii_lower(col(v)), &t.to_ascii_lowercase());
            (v, format!("NOT {h}"), h)
        }
        Cond::EqStatus(v) => {
            let (c, s) = (col(v), col(Var::Status));
            let pair = if is_int_column(c) == is_int_column(s) {
                format!("{c} = {s}")
            } else {
                format!("CAST({c} AS varchar) = CAST({s} AS varchar)")
            };
            let eq = format!("COALESCE({pair}, false)");
            (v, eq.clone(), format!("NOT {eq}"))
        }
        Cond::MsgHas(t) => {
            let h = has(col(Var::ErrorMessage), t);
            (Var::ErrorMessage, h.clone(), format!("NOT {h}"))
        }
        Cond::MsgLacks(t) => {
            let h = has(col(Var::ErrorMessage), t);
            (Var::ErrorMessage, format!("NOT {h}"), h)
        }
        Cond::Invoked(_)
        | Cond::DecisionIn(_)
        | Cond::ExecHas(_)
        | Cond::ExecLacks(_)
        | Cond::ExecAny(_)
        | Cond::ExecSilent
        | Cond::AuthIn(_)
        | Cond::ApiKeyRequired
        | Cond::AuthorizerCaches
        | Cond::HttpApi(_)
        | Cond::Any(_)
        | Cond::All(_) => return None,
    })
}

/// Every variable a condition reads, nested ones included.
fn cond_vars(c: &Cond, out: &mut Vec<Var>) {
    match *c {
        Cond::Any(cs) | Cond::All(cs) => {
            for c in cs {
                cond_vars(c, out);
            }
        }
        _ => {
            if let Some((v, _, _)) = var_test(c) {
                out.push(v);
            }
        }
    }
}

fn has_fact(f: Fact) -> String {
    format!("contains(exec_facts, {})", lit(f.as_str()))
}

fn decisions(ds: &[Decision]) -> String {
    lits(ds.iter().map(|d| d.as_str()))
}

/// `(no, yes)`: SQL that is true when the condition is contradicted, and when it holds; both
/// false when the input does not carry the fact (`classify::check`).
fn cond_sql(c: &Cond) -> (String, String) {
    if let Some((v, holds, fails)) = var_test(c) {
        let k = known(v);
        return (format!("({k} AND {fails})"), format!("({k} AND {holds})"));
    }
    match *c {
        Cond::Invoked(want) => (
            format!("COALESCE(gl_invoked <> {want}, false)"),
            format!("COALESCE(gl_invoked = {want}, false)"),
        ),
        Cond::DecisionIn(ds) => (
            format!(
                "(gl_exact AND authorizer_decision IS NOT NULL AND NOT authorizer_decision IN {})",
                decisions(ds)
            ),
            format!(
                "((gl_exact OR gl_inferred) AND COALESCE(authorizer_decision IN {}, false))",
                decisions(ds)
            ),
        ),
        Cond::ExecHas(f) => (
            format!("(gl_exec AND NOT {})", has_fact(f)),
            format!("(gl_exec AND {})", has_fact(f)),
        ),
        Cond::ExecLacks(f) => (
            format!("(gl_exec AND {})", has_fact(f)),
            format!("(gl_exec AND NOT {})", has_fact(f)),
        ),
        Cond::ExecAny(fs) => {
            let any: Vec<String> = fs.iter().map(|f| has_fact(*f)).collect();
            let any = format!("({})", any.join(" OR "));
            (
                format!("(gl_exec AND NOT {any})"),
                format!("(gl_exec AND {any})"),
            )
        }
        Cond::ExecSilent => ("gl_exec".into(), "false".into()),
        Cond::AuthIn(ts) => {
            let set = lits(ts.iter().map(|t| t.as_str()));
            (
                format!("(method_auth_type IS NOT NULL AND NOT method_auth_type IN {set})"),
                format!("COALESCE(method_auth_type IN {set}, false)"),
            )
        }
        Cond::ApiKeyRequired => (
            "COALESCE(NOT api_key_required, false)".into(),
            "COALESCE(api_key_required, false)".into(),
        ),
        Cond::AuthorizerCaches => (
            "COALESCE(authorizer_ttl_s <= 0, false)".into(),
            "COALESCE(authorizer_ttl_s > 0, false)".into(),
        ),
        Cond::HttpApi(want) => {
            let set = format!("{} IS NOT NULL", col(Var::RouteKey));
            let unset = format!("{} IS NULL", col(Var::RouteKey));
            if want {
                (unset, set)
            } else {
                (set, unset)
            }
        }
        Cond::Any(cs) => {
            let (no, yes): (Vec<String>, Vec<String>) = cs.iter().map(cond_sql).unzip();
            (
                format!("({})", no.join(" AND ")),
                format!("({})", yes.join(" OR ")),
            )
        }
        Cond::All(cs) => {
            let (no, yes): (Vec<String>, Vec<String>) = cs.iter().map(cond_sql).unzip();
            (
                format!("({})", no.join(" OR ")),
                format!("({})", yes.join(" AND ")),
            )
        }
        _ => unreachable!("variable conditions are handled above"),
    }
}

/// Whether the rule's gateway response types or default statuses admit the request.
fn gate_sql(r: &Rule) -> String {
    let rt = if r.response_types.is_empty() {
        "error_response_type IS NULL".to_string()
    } else {
        format!(
            "COALESCE(error_response_type IN {}, false)",
            lits(r.response_types.iter().copied())
        )
    };
    let mut status = if r.statuses.is_empty() {
        "gl_status IS NULL".to_string()
    } else {
        format!(
            "(gl_status IS NULL OR COALESCE(gl_status IN {}, false))",
            ints(r.statuses)
        )
    };
    if r.class == Class::WafBlock {
        // A WAF rule may answer with any status.
        status = format!(
            "({status} OR {})",
            equals(Var::WafResponseCode, "WAF_BLOCK")
        );
    }
    format!("CASE WHEN gl_rt_known THEN {rt} ELSE {status} END")
}

/// The class stays a candidate: in scope, admitted by the gate, no condition contradicted, and
/// every required fact present.
fn alive_sql(r: &Rule, out: &mut String) {
    let _ = writeln!(out, "    (gl_in_scope");
    let _ = writeln!(out, "      AND {}", gate_sql(r));
    for c in r.conds {
        let _ = writeln!(out, "      -- {}", comment(c));
        let _ = writeln!(out, "      AND NOT {}", cond_sql(c).0);
    }
    for c in r.requires {
        let _ = writeln!(out, "      -- requires {}", comment(c));
        let _ = writeln!(out, "      AND {}", cond_sql(c).1);
    }
    let _ = write!(out, "    ) AS {}", alive_col(r.class));
}

/// SQL (never null) that is true when the configuration says one of `types` is customised.
fn customised_any(types: &[&str]) -> String {
    let any: Vec<String> = types
        .iter()
        .map(|t| format!("contains(gateway_responses_customised, {})", lit(t)))
        .collect();
    format!("COALESCE({}, false)", any.join(" OR "))
}

fn comment(c: &Cond) -> String {
    format!("{c:?}").replace(['\n', '\r'], " ")
}

fn alive_col(c: Class) -> String {
    format!("gl_c_{}", c.as_str())
}

fn one_if(cond: &str) -> String {
    format!("CASE WHEN {cond} THEN 1 ELSE 0 END")
}

/// `(a + b + …)`; `0` when empty.
fn sum(terms: Vec<String>) -> String {
    if terms.is_empty() {
        "0".into()
    } else {
        format!("({})", terms.join("\n      + "))
    }
}

/// The default body test of the body-length heuristic: `(exact, fits)`.
fn body_sql(b: Body) -> (String, String) {
    match b {
        Body::Exact(ls) => (
            format!("COALESCE(response_length IN {}, false)", ints(ls)),
            "false".into(),
        ),
        Body::AtLeast(n) => (
            "false".into(),
            format!("COALESCE(response_length >= {n}, false)"),
        ),
        Body::Any => ("false".into(), "response_length IS NOT NULL".into()),
    }
}

/// Columns of `requests` the query reads, in schema order.
fn input_columns() -> Vec<String> {
    let mut wanted: Vec<&str> = vec![
        "api_id",
        "stage",
        "request_id",
        "access_vars",
        "status",
        "exec_method_status",
        "exec_lines",
        "exec_facts",
        "authorizer_match_method",
        "authorizer_decision",
        "authorizer_log_covers",
        "route_key",
        "method_auth_type",
        "authorizer_ttl_s",
        "api_key_required",
        "gateway_responses_customised",
    ];
    for v in classifier_vars() {
        wanted.push(col(v));
    }
    requests_schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|n| wanted.contains(&n.as_str()))
        .collect()
}

/// The variables the classifier reads itself (scope, gate, invocation, heuristics) and those
/// any rule's conditions read.
fn classifier_vars() -> Vec<Var> {
    let mut vars = vec![
        Var::AuthorizerError,
        Var::ErrorResponseType,
        Var::Status,
        Var::ResponseLength,
        Var::WafResponseCode,
        Var::AuthorizerStatus,
        Var::AuthorizerRequestId,
        Var::AuthorizerIntegrationStatus,
        Var::Caller,
        Var::User,
    ];
    for r in RULES {
        for c in r.conds.iter().chain(r.requires) {
            cond_vars(c, &mut vars);
        }
    }
    let mut out = Vec::new();
    for v in vars {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// `classify.sql`: gatelog's decision table ([`RULES`]) and classifier rendered as one
/// `SELECT api_id, stage, request_id, denial_phase, denial_class, candidates FROM (…)` over a
/// table or view named `requests` with the columns of the gatelog `requests` table (it reads
/// the recorded facts, never the recorded answer). It returns, for every row, the same
/// `denial_phase`, `denial_class` and `candidates` (in taxonomy order) as gatelog wrote; rows
/// out of scope get nulls and an empty array. One text for Athena (engine v3) / Trino and
/// DuckDB.
pub fn classify_sql() -> String {
    let mut q = String::new();
    let _ = writeln!(
        q,
        "-- gatelog {}: the decision table (src/classify/rules.rs) as one SELECT, generated; do not edit.",
        env!("CARGO_PKG_VERSION")
    );
    q.push_str(
        "-- Runs in Athena (engine v3) / Trino and in DuckDB over a table or view named `requests`\n\
         -- with the columns of gatelog's `requests` table (schema version ",
    );
    q.push_str(SCHEMA_VERSION);
    q.push_str(
        "). Returns per row the\n\
         -- denial_phase, denial_class and candidates gatelog wrote; rows out of scope get nulls and [].\n\
         -- To limit the scan in Athena, filter the innermost `FROM requests` on dt.\n",
    );

    let exact: Vec<&str> = MATCH_METHODS
        .iter()
        .filter(|m| m.is_exact())
        .map(|m| m.as_str())
        .collect();
    let inferred: Vec<&str> = MATCH_METHODS
        .iter()
        .filter(|m| **m == MatchMethod::InferredTimeRoute)
        .map(|m| m.as_str())
        .collect();
    let linked: Vec<&str> = exact.iter().chain(&inferred).copied().collect();

    // Level 1: the facts, and what the classifier derives from them first.
    let mut l1 = String::from("SELECT\n");
    for c in input_columns() {
        let _ = writeln!(l1, "    {c},");
    }
    let _ = writeln!(l1, "    {} AS gl_rt_known,", known(Var::ErrorResponseType));
    let _ = writeln!(
        l1,
        "    COALESCE({}, exec_method_status) AS gl_status,",
        col(Var::Status)
    );
    let _ = writeln!(l1, "    (exec_lines IS NOT NULL) AS gl_exec,");
    let _ = writeln!(
        l1,
        "    COALESCE(authorizer_match_method IN {}, false) AS gl_exact,",
        lits(exact.iter().copied())
    );
    let _ = writeln!(
        l1,
        "    COALESCE(authorizer_match_method IN {}, false) AS gl_inferred,",
        lits(inferred.iter().copied())
    );
    // Was the authorizer invoked: the access record first, then the joined invocation, then
    // absence where the authorizer's log covers the request; else unknown (null).
    l1.push_str("    CASE\n");
    for v in [Var::AuthorizerRequestId, Var::AuthorizerIntegrationStatus] {
        let _ = writeln!(l1, "      WHEN {} THEN ({} IS NOT NULL)", known(v), col(v));
    }
    let _ = writeln!(
        l1,
        "      WHEN COALESCE(authorizer_match_method IN {}, false) THEN true",
        lits(linked.iter().copied())
    );
    l1.push_str("      WHEN authorizer_log_covers THEN false\n");
    l1.push_str("    END AS gl_invoked\n  FROM requests");

    // Level 2: in scope (`classify::in_scope`).
    let mut rts: Vec<&str> = Vec::new();
    for r in RULES {
        for rt in r.response_types {
            if !rts.contains(rt) {
                rts.push(rt);
            }
        }
    }
    let refusal: Vec<String> = REFUSAL_FACTS.iter().map(|f| has_fact(*f)).collect();
    let l2 = format!(
        "SELECT *,\n    CASE\n      \
         WHEN error_response_type IS NOT NULL THEN COALESCE(error_response_type IN {rts}, false)\n      \
         WHEN gl_exec AND ({refusal}) THEN true\n      \
         WHEN gl_status IN {scope} THEN true\n      \
         WHEN gl_status = {a500} THEN (COALESCE({astatus} = {a500}, false)\n        \
         OR {aerror} IS NOT NULL\n        \
         OR (gl_exact AND COALESCE(authorizer_decision IN {errs}, false))\n        \
         OR (NOT gl_rt_known AND COALESCE({len} = {body}, false) AND NOT {body_custom}))\n      \
         ELSE {waf}\n    END AS gl_in_scope\n  FROM (\n{l1}\n  ) AS l1",
        l1 = indent(&l1),
        rts = lits(rts.iter().copied()),
        refusal = refusal.join("\n        OR "),
        scope = ints(&SCOPE_STATUSES),
        a500 = AUTHORIZER_500,
        astatus = col(Var::AuthorizerStatus),
        aerror = col(Var::AuthorizerError),
        errs = decisions(&[Decision::Error, Decision::Timeout]),
        len = col(Var::ResponseLength),
        body = AUTHORIZER_500_BODY,
        body_custom = customised_any(&AUTHORIZER_500_TYPES),
        waf = equals(Var::WafResponseCode, "WAF_BLOCK"),
    );

    // Level 3: one column per class: still a candidate.
    let mut l3 = String::from("SELECT *,\n");
    for (i, r) in RULES.iter().enumerate() {
        let _ = writeln!(l3, "    -- {}", r.class.as_str());
        alive_sql(r, &mut l3);
        l3.push_str(if i + 1 < RULES.len() { ",\n" } else { "\n" });
    }
    let _ = write!(l3, "  FROM (\n{}\n  ) AS l2", indent(&l2));

    // Level 4: counts the heuristics and the phase need.
    let alive = |r: &Rule| alive_col(r.class);
    let n = sum(RULES.iter().map(|r| one_if(&alive(r))).collect());
    let n_exact = sum(RULES
        .iter()
        .filter(|r| matches!(r.body, Body::Exact(_)))
        .map(|r| one_if(&format!("{} AND {}", alive(r), body_sql(r.body).0)))
        .collect());
    let n_fit = sum(RULES
        .iter()
        .filter(|r| !matches!(r.body, Body::Exact(_)))
        .map(|r| one_if(&format!("{} AND {}", alive(r), body_sql(r.body).1)))
        .collect());
    let mut phases: Vec<Phase> = Vec::new();
    for c in Class::ALL {
        if !phases.contains(&c.phase()) {
            phases.push(c.phase());
        }
    }
    // The body-length heuristic needs the default gateway responses: the logged response type,
    // else every response type of every candidate, must not be customised.
    let cand_custom: Vec<String> = RULES
        .iter()
        .filter(|r| !r.response_types.is_empty())
        .map(|r| format!("({} AND {})", alive(r), customised_any(r.response_types)))
        .collect();
    let body_ok = format!(
        "CASE WHEN gl_rt_known THEN NOT COALESCE(contains(gateway_responses_customised, error_response_type), false)\n      ELSE NOT ({}) END",
        cand_custom.join("\n        OR ")
    );
    let mut l4 = format!(
        "SELECT *,\n    {n} AS gl_n,\n    {n_exact} AS gl_n_exact,\n    {n_fit} AS gl_n_fit,\n    {body_ok} AS gl_body_ok"
    );
    for p in &phases {
        let terms = RULES
            .iter()
            .filter(|r| r.class.phase() == *p)
            .map(|r| one_if(&alive(r)))
            .collect();
        let _ = write!(l4, ",\n    {} AS gl_n_{}", sum(terms), p.as_str());
    }
    let _ = write!(l4, "\n  FROM (\n{}\n  ) AS l3", indent(&l3));

    // Final level: phase, class (one candidate, else the documented heuristics), candidates.
    let mut phase = String::from(
        "CASE\n      WHEN NOT gl_in_scope THEN NULL\n      WHEN gl_n = 0 THEN 'unknown'\n",
    );
    for p in &phases {
        let _ = writeln!(
            phase,
            "      WHEN gl_n_{p} = gl_n THEN {}",
            lit(p.as_str()),
            p = p.as_str()
        );
    }
    phase.push_str("      ELSE 'unknown'\n    END");

    let pick = |extra: &dyn Fn(&Rule) -> Option<String>| -> String {
        let mut s = String::from("CASE");
        for r in RULES {
            if let Some(e) = extra(r) {
                let and = if e == "true" {
                    String::new()
                } else {
                    format!(" AND {e}")
                };
                let _ = write!(
                    s,
                    "\n        WHEN {}{and} THEN {}",
                    alive(r),
                    lit(r.class.as_str())
                );
            }
        }
        s.push_str("\n      END");
        s
    };
    let only = pick(&|_| Some("true".into()));
    let by_exact = pick(&|r| matches!(r.body, Body::Exact(_)).then(|| body_sql(r.body).0));
    let by_fit = pick(&|r| (!matches!(r.body, Body::Exact(_))).then(|| body_sql(r.body).1));
    let iam = Class::IamPolicyDeny;
    let class = format!(
        "CASE\n      \
         WHEN gl_n = 1 THEN {only}\n      \
         WHEN gl_n > 1 AND {len} IS NOT NULL AND gl_body_ok AND gl_n_exact = 1 THEN {by_exact}\n      \
         WHEN gl_n > 1 AND {len} IS NOT NULL AND gl_body_ok AND gl_n_exact = 0 AND gl_n_fit = 1 THEN {by_fit}\n      \
         WHEN gl_n > 1 AND ({caller} IS NOT NULL OR {user} IS NOT NULL) AND {iam_alive} THEN {iam}\n    \
         END",
        len = col(Var::ResponseLength),
        caller = col(Var::Caller),
        user = col(Var::User),
        iam_alive = alive_col(iam),
        iam = lit(iam.as_str()),
    );

    let names: Vec<String> = RULES
        .iter()
        .map(|r| format!("CASE WHEN {} THEN {} END", alive(r), lit(r.class.as_str())))
        .collect();
    let candidates = format!(
        "CASE WHEN gl_n = 0 THEN ARRAY[] ELSE split(concat_ws(',',\n        {}), ',') END",
        names.join(",\n        ")
    );

    let _ = write!(
        q,
        "SELECT api_id, stage, request_id, denial_phase, denial_class, candidates\n\
         FROM (\n  \
         SELECT\n    api_id,\n    stage,\n    request_id,\n    \
         {phase} AS denial_phase,\n    \
         {class} AS denial_class,\n    \
         {candidates} AS candidates\n  \
         FROM (\n{l4}\n  ) AS l4\n\
         ) AS classified\n",
        l4 = indent(&l4),
    );
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;
    use crate::records::execution::{ExecutionLog, FACTS};
    use crate::records::vars::VARS;

    #[test]
    fn every_variable_the_classifier_reads_has_a_column() {
        let schema = requests_schema();
        for v in classifier_vars() {
            let c = var_column(v).unwrap_or_else(|| panic!("$context.{} has no column", v.name()));
            assert!(schema.field_with_name(c).is_ok(), "{c} is not a column");
        }
        for c in input_columns() {
            assert!(schema.field_with_name(&c).is_ok(), "{c}");
        }
        // Every mapped column exists and no two variables share one.
        let mut seen = Vec::new();
        for (v, _) in VARS {
            if let Some(c) = var_column(v) {
                assert!(schema.field_with_name(c).is_ok(), "{c}");
                assert!(!seen.contains(&c), "{c} mapped twice");
                seen.push(c);
            }
        }
    }

    #[test]
    fn ddl_types_come_from_the_schemas() {
        let ddl = athena_ddl("s3://bucket/prefix/", "gatelog").unwrap();
        for t in Table::ALL {
            let schema = t.schema();
            for f in schema.fields() {
                let want = format!("  `{}` {},", f.name(), athena_type(f.data_type()).unwrap());
                let last = format!(
                    "  `{}` {}\n)",
                    f.name(),
                    athena_type(f.data_type()).unwrap()
                );
                assert!(
                    ddl.contains(&want) || ddl.contains(&last),
                    "{}.{}",
                    t.name(),
                    f.name()
                );
                assert_ne!(f.name(), "dt", "dt is the partition key");
            }
            assert!(ddl.contains(&format!(
                "CREATE EXTERNAL TABLE IF NOT EXISTS `gatelog`.`{}` (",
                t.name()
            )));
            assert!(ddl.contains(&format!("LOCATION 's3://bucket/prefix/{}/'", t.name())));
            assert!(ddl.contains(&format!(
                "'storage.location.template' = 's3://bucket/prefix/{}/dt=${{dt}}/'",
                t.name()
            )));
        }
        assert!(ddl.contains("'projection.dt.range' = '2015-01-01,NOW'"));
        assert!(ddl.contains("PARTITIONED BY (`dt` string)"));
        assert_eq!(ddl.matches("STORED AS PARQUET").count(), 2);
        let s = requests_schema();
        let ty = |n: &str| athena_type(s.field_with_name(n).unwrap().data_type()).unwrap();
        assert_eq!(ty("request_time"), "timestamp");
        assert_eq!(ty("status"), "int");
        assert_eq!(ty("response_length"), "bigint");
        assert_eq!(ty("authorizer_duration_ms"), "double");
        assert_eq!(ty("refused"), "boolean");
        assert_eq!(ty("candidates"), "array<string>");
        assert_eq!(ty("evidence"), "map<string,string>");
    }

    #[test]
    fn ddl_validates_location_and_database() {
        assert!(matches!(
            athena_ddl("/tmp/out", "gatelog"),
            Err(DdlError::NotS3(_))
        ));
        assert!(matches!(
            athena_ddl("s3://", "gatelog"),
            Err(DdlError::NotS3(_))
        ));
        assert!(matches!(
            athena_ddl("S3://b/p", "gatelog"),
            Err(DdlError::NotS3(_))
        ));
        assert!(matches!(
            athena_ddl("s3://b/it's", "gatelog"),
            Err(DdlError::BadLocation(_))
        ));
        assert!(matches!(
            athena_ddl("s3://b/p", "Bad-Name"),
            Err(DdlError::BadDatabase(_))
        ));
        assert!(matches!(
            athena_ddl("s3://b/p", "x`; DROP"),
            Err(DdlError::BadDatabase(_))
        ));
        let ddl = athena_ddl("s3://b", "db_1").unwrap();
        assert!(ddl.contains("LOCATION 's3://b/requests/'"));
        assert!(ddl.contains("CREATE DATABASE IF NOT EXISTS `db_1`;"));
    }

    #[test]
    fn classify_sql_is_generated_from_every_rule() {
        let q = classify_sql();
        for r in RULES {
            assert!(q.contains(&format!("AS gl_c_{}", r.class.as_str())));
            for c in r.conds.iter().chain(r.requires) {
                assert!(q.contains(&comment(c)), "{c:?}");
            }
        }
        assert!(q.contains("FROM requests"));
        assert!(
            !q.contains(" -> "),
            "no lambdas: DuckDB and Trino spell them differently"
        );
        // The recorded answer is never read.
        for c in ["denial_class", "denial_phase", "candidates", "confidence"] {
            assert!(!input_columns().iter().any(|x| x == c));
        }
        assert!(q.starts_with("-- gatelog"));
    }

    #[test]
    fn string_literals_are_escaped() {
        assert_eq!(lit("it's"), "'it''s'");
        assert_eq!(
            equals(Var::AuthorizerStatus, "200"),
            "COALESCE(authorizer_status = 200, false)"
        );
        assert_eq!(equals(Var::AuthorizerStatus, " 200"), "false");
        assert_eq!(
            equals(Var::WafResponseCode, "WAF_BLOCK"),
            "COALESCE(waf_response_code = 'WAF_BLOCK', false)"
        );
    }

    /// `REFUSAL_FACTS` is `ExecFacts::shows_refusal`, fact by fact.
    #[test]
    fn refusal_facts_mirror_the_execution_log() {
        let lines = [
            "Starting authorizer: abc123 for request: r",
            "Authorizer result body before parsing: {}",
            r#"Authorizer result body before parsing: {"policyDocument":{"Statement":[{"Effect":"Allow"}]}}"#,
            r#"Authorizer result body before parsing: {"policyDocument":{"Statement":[{"Effect":"Deny"}]}}"#,
            r#"Authorizer result body before parsing: {"errorType":"Error","errorMessage":"boom"}"#,
            "Using valid authorizer policy for principal: abc",
            "The client is not authorized to perform this operation.",
            "Unauthorized request: r",
            "Execution failed due to configuration error: Invalid JSON in response",
            "Invalid API Key identifier specified",
            "Key throttle limit exceeded for RestApi abc, Stage live",
            "API Key ****abcd exceeded quota limit for usage plan x",
            "User: arn:aws:iam::1:user/x is not authorized to perform: execute-api:Invoke on resource: y",
            "User: anonymous is not authorized to perform: execute-api:Invoke on resource: y with an explicit deny",
            "User: arn:aws:iam::1:user/x is not authorized to perform: execute-api:Invoke on resource: y because no resource-based policy allows the execute-api:Invoke action",
            "Signature expired: 20251014T000000Z is now earlier than 20251014T000500Z",
            "The security token included in the request is expired",
            "The security token included in the request is invalid.",
            "Missing Authentication Token",
            "Usage Plan check succeeded for API Key ****abcd and API Stage abc/live",
            "Starting execution for request: r",
            "Successfully completed execution",
            "Method completed with status: 403",
        ];
        let mut covered = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            let mut log = ExecutionLog::new();
            assert!(log.push(&format!("(r{i}) {l}"), None, Origin::default(), None));
            let (_, facts) = log.finish().remove(0);
            let names = facts.names();
            let set: Vec<Fact> = FACTS
                .iter()
                .filter(|(_, n)| names.iter().any(|x| x == n))
                .map(|(f, _)| *f)
                .collect();
            let ours = set.iter().any(|f| REFUSAL_FACTS.contains(f));
            assert_eq!(facts.shows_refusal(), ours, "{l}: {names:?}");
            covered.extend(set);
        }
        for (f, n) in FACTS {
            assert!(covered.contains(&f), "no sample line establishes {n}");
        }
    }

    #[test]
    fn match_methods_are_all_listed() {
        for m in MATCH_METHODS {
            assert_eq!(MATCH_METHODS.iter().filter(|x| **x == m).count(), 1);
        }
    }
}

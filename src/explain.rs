//! `gatelog explain ID --data DIR`: the whole story of one request from an analyzed dataset —
//! its access record (read back from the export through the stored provenance), the joined
//! authorizer invocation, what the execution log said, the classification with evidence and
//! candidates, and what to check next. Everything printed is redacted.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;

use crate::redact::scrub;
use crate::sink::dataset::read_back;

/// Why `explain` could not answer.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// The directory holds no gatelog dataset.
    #[error("{0} holds no gatelog dataset (no requests/ table); run `gatelog analyze … --out {0}` first")]
    NoDataset(String),
    /// No row has the id.
    #[error("no request, extended request or Lambda request id `{id}` in {dir}; check the id, or that the run covered its time")]
    NotFound {
        /// The id asked for.
        id: String,
        /// The dataset.
        dir: String,
    },
    /// A Parquet file could not be read.
    #[error(transparent)]
    Read(#[from] crate::sink::dataset::SinkError),
}

/// One row as column name → rendered value (null omitted).
type Row = BTreeMap<String, String>;

fn cell(col: &dyn Array, i: usize) -> Option<String> {
    if col.is_null(i) {
        return None;
    }
    Some(match col.data_type() {
        DataType::Utf8 => col.as_string::<i32>().value(i).to_string(),
        DataType::Int32 => col.as_primitive::<Int32Type>().value(i).to_string(),
        DataType::Int64 => col.as_primitive::<Int64Type>().value(i).to_string(),
        DataType::Float64 => col.as_primitive::<Float64Type>().value(i).to_string(),
        DataType::Boolean => col.as_boolean().value(i).to_string(),
        DataType::Timestamp(_, _) => {
            crate::time::rfc3339_ms(col.as_primitive::<TimestampMillisecondType>().value(i))
        }
        DataType::List(_) => {
            let l = col.as_list::<i32>().value(i);
            (0..l.len())
                .filter_map(|j| cell(&l, j))
                .collect::<Vec<_>>()
                .join(", ")
        }
        DataType::Map(_, _) => {
            let m = col.as_map().value(i);
            (0..m.len())
                .map(|j| {
                    format!(
                        "{}={}",
                        cell(m.column(0), j).unwrap_or_default(),
                        cell(m.column(1), j).unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        _ => return None,
    })
}

fn row_of(b: &RecordBatch, i: usize) -> Row {
    b.schema()
        .fields()
        .iter()
        .zip(b.columns())
        .filter_map(|(f, c)| cell(c.as_ref(), i).map(|v| (f.name().clone(), v)))
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

fn parts(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    let Ok(parts) = std::fs::read_dir(dir) else {
        return v;
    };
    for p in parts.flatten() {
        if p.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if let Ok(files) = std::fs::read_dir(p.path()) {
            v.extend(
                files
                    .flatten()
                    .map(|f| f.path())
                    .filter(|f| f.extension().is_some_and(|e| e == "parquet")),
            );
        }
    }
    v.sort();
    v
}

/// Rows of `table` where any of `columns` equals `id`.
fn find(data: &Path, table: &str, columns: &[&str], id: &str) -> Result<Vec<Row>, ExplainError> {
    let mut out = Vec::new();
    for p in parts(&data.join(table)) {
        for b in read_back(&p)? {
            for c in columns {
                let Some(col) = b.column_by_name(c) else {
                    continue;
                };
                let Some(s) = col.as_string_opt::<i32>() else {
                    continue;
                };
                for i in 0..b.num_rows() {
                    if !s.is_null(i) && s.value(i) == id {
                        out.push(row_of(&b, i));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The original line at a byte offset of a (possibly gzip) input file.
fn original_line(file: &str, offset: u64) -> Option<String> {
    let mut f = File::open(file).ok()?;
    let mut magic = [0u8; 2];
    let gz = f.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    f.seek(SeekFrom::Start(0)).ok()?;
    let mut r: Box<dyn BufRead> = if gz {
        Box::new(BufReader::new(flate2::bufread::MultiGzDecoder::new(
            BufReader::new(f),
        )))
    } else {
        f.seek(SeekFrom::Start(offset)).ok()?;
        Box::new(BufReader::new(f))
    };
    if gz {
        std::io::copy(&mut r.by_ref().take(offset), &mut std::io::sink()).ok()?;
    }
    let mut line = Vec::new();
    r.take(64 * 1024).read_until(b'\n', &mut line).ok()?;
    let text = String::from_utf8_lossy(&line);
    Some(scrub(text.trim_end()).into_owned())
}

/// What to check next for a class (the runbook step it automates).
fn next_steps(class: Option<&str>, r: &Row) -> Vec<String> {
    let api = r.get("api_id").map(String::as_str).unwrap_or("<apiId>");
    let stage = r.get("stage").map(String::as_str).unwrap_or("<stage>");
    let method = r
        .get("http_method")
        .map(String::as_str)
        .unwrap_or("<METHOD>");
    let path = r
        .get("resource_path")
        .or_else(|| r.get("path"))
        .map(String::as_str)
        .unwrap_or("/<path>");
    let arn = format!("arn:aws:execute-api:<region>:<account>:{api}/{stage}/{method}{path}");
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
    match class {
        Some("waf_block") => v(&["Find the matching rule in the web ACL's sampled requests or WAF logs (action BLOCK) for this time and source IP."]),
        Some("resource_policy_explicit_deny") | Some("resource_policy_implicit_deny") => vec![
            format!("aws apigateway get-rest-api --rest-api-id {api} --query policy: look for a Deny (or a missing Allow) covering {arn} and the caller's source IP / VPC."),
        ],
        Some("missing_authentication_token") => vec![format!("No route matched {method} {}: check the path, the stage name and that the API was deployed (aws apigateway get-resources --rest-api-id {api}).", r.get("path").map(String::as_str).unwrap_or(path))],
        Some("iam_unsigned") | Some("iam_signature_invalid") | Some("iam_token_expired") | Some("iam_token_invalid") => v(&["Check the caller's SigV4 signing: credentials, clock skew, session expiry (aws sts get-caller-identity with the same credentials)."]),
        Some("iam_policy_deny") => vec![format!("The caller's IAM identity needs Allow execute-api:Invoke on {arn} (aws iam simulate-principal-policy --action-names execute-api:Invoke --resource-arns {arn}).")],
        Some("authorizer_explicit_deny") | Some("authorizer_cached_deny") => v(&["The authorizer returned Deny for this identity: read its decision and reason in the authorizer Lambda's log; a cached Deny lasts the authorizer's TTL (authorizerResultTtlInSeconds)."]),
        Some("authorizer_policy_mismatch") => vec![format!("The returned or cached policy does not cover {arn}: return a policy with a wildcard resource (…/{stage}/*) or lower the authorizer's TTL; caching applies one policy to every method.")],
        Some("authorizer_identity_missing") => v(&["The identity source (e.g. the Authorization header) was missing or did not match the validation expression; the authorizer was not invoked."]),
        Some("authorizer_unauthorized") => v(&["The authorizer threw Unauthorized: see its log for why it rejected the token (expiry, signature, audience)."]),
        Some("authorizer_configuration_error") | Some("authorizer_timeout") => v(&["The authorizer crashed, timed out, returned an invalid policy, or API Gateway lacks permission to invoke it: see the invocation error in the timeline above and the function's log."]),
        Some("api_key_invalid") => v(&["Send a valid x-api-key that belongs to a usage plan attached to this stage (aws apigateway get-usage-plans)."]),
        Some("throttled") | Some("quota_exceeded") => v(&["Check the usage plan's rate/burst or quota for the key, and the stage and account throttling limits."]),
        Some("backend_denied") => v(&["The integration itself answered: check the backend's logs for this request (integration request id above)."]),
        _ => vec!["No class could be decided: add the $context variables listed under advice to the access-log format, or include the authorizer and execution logs for this time.".into()],
    }
}

/// The story of one request, as text.
pub fn explain(data: &Path, id: &str) -> Result<String, ExplainError> {
    if !data.join("requests").is_dir() {
        return Err(ExplainError::NoDataset(data.display().to_string()));
    }
    let mut rows = find(
        data,
        "requests",
        &[
            "request_id",
            "extended_request_id",
            "authorizer_lambda_request_id",
        ],
        id,
    )?;
    let invs = find(
        data,
        "authorizer_invocations",
        &["lambda_request_id", "request_id"],
        id,
    )?;
    if rows.is_empty() {
        // A Lambda request id whose invocation matched a request.
        if let Some(rid) = invs.iter().find_map(|i| i.get("request_id")) {
            rows = find(data, "requests", &["request_id"], rid)?;
        }
    }
    if rows.is_empty() && invs.is_empty() {
        return Err(ExplainError::NotFound {
            id: id.to_string(),
            dir: data.display().to_string(),
        });
    }
    let mut out = String::new();
    for r in &rows {
        let g = |k: &str| r.get(k).map(String::as_str).unwrap_or("-");
        let _ = writeln!(
            out,
            "request {}  ({} {} → {})",
            g("request_id"),
            g("http_method"),
            r.get("path")
                .or_else(|| r.get("resource_path"))
                .map(String::as_str)
                .unwrap_or("-"),
            g("status")
        );
        let _ = writeln!(
            out,
            "  api {} stage {}  extended id {}  sources: {}",
            g("api_id"),
            g("stage"),
            g("extended_request_id"),
            g("sources")
        );
        let _ = writeln!(out, "\ntimeline (UTC)");
        let mut timeline: Vec<(String, String)> = Vec::new();
        if let Some(t) = r.get("request_time") {
            timeline.push((
                t.clone(),
                format!(
                    "request received ({} precision)",
                    g("request_time_precision")
                ),
            ));
        }
        if let Some(lid) = r.get("authorizer_lambda_request_id") {
            let inv = invs
                .iter()
                .find(|i| i.get("lambda_request_id") == Some(lid));
            let start = inv
                .and_then(|i| i.get("start_time"))
                .cloned()
                .unwrap_or_default();
            let detail = inv
                .map(|i| {
                    format!(
                        "authorizer Lambda {} invoked ({}): decision {}, {} ms{}{}",
                        lid,
                        i.get("function_name")
                            .map(String::as_str)
                            .unwrap_or("function unknown"),
                        i.get("decision").map(String::as_str).unwrap_or("unknown"),
                        i.get("duration_ms").map(String::as_str).unwrap_or("?"),
                        if i.contains_key("init_duration_ms") {
                            ", cold start"
                        } else {
                            ""
                        },
                        i.get("error_type")
                            .map(|t| format!(
                                ", error {t}: {}",
                                i.get("error_message").map(String::as_str).unwrap_or("")
                            ))
                            .unwrap_or_default()
                    )
                })
                .unwrap_or_else(|| {
                    format!("authorizer Lambda {lid} (its log is not in the dataset)")
                });
            timeline.push((start, scrub(&detail).into_owned()));
        }
        if let Some(t) = r.get("log_time") {
            timeline.push((t.clone(), "access record written".into()));
        }
        timeline.sort();
        for (t, what) in &timeline {
            let _ = writeln!(out, "  {:<24} {what}", if t.is_empty() { "-" } else { t });
        }
        if let (Some(file), Some(off)) = (r.get("source_file"), r.get("source_offset")) {
            let _ = writeln!(out, "\naccess record  {}:{}", file, g("source_line"));
            if let Some(line) = off.parse().ok().and_then(|o| original_line(file, o)) {
                let _ = writeln!(out, "  {line}");
            }
        }
        if let Some(f) = r.get("exec_facts") {
            let _ = writeln!(
                out,
                "\nexecution log  {} lines: {}{}",
                g("exec_lines"),
                f,
                r.get("exec_method_status")
                    .map(|s| format!("; method completed with status {s}"))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(out, "\nclassification");
        if r.get("denied").map(String::as_str) != Some("true") {
            let _ = writeln!(out, "  not denied (status {})", g("status"));
            continue;
        }
        let _ = writeln!(
            out,
            "  {} / {}  confidence {}  ({})",
            g("denial_phase"),
            r.get("denial_class")
                .map(String::as_str)
                .unwrap_or("undecided"),
            g("confidence"),
            if r.get("refused").map(String::as_str) == Some("true") {
                "refused by the gateway"
            } else {
                "denied by the backend"
            }
        );
        let _ = writeln!(out, "  candidates: {}", g("candidates"));
        if let Some(ev) = r.get("evidence") {
            let _ = writeln!(out, "  evidence:");
            for l in ev.lines() {
                let _ = writeln!(out, "    {}", scrub(l));
            }
        }
        if let Some(a) = r.get("advice") {
            let _ = writeln!(out, "  to decide: {a}");
        }
        let _ = writeln!(out, "\nwhat to check next");
        for s in next_steps(r.get("denial_class").map(String::as_str), r) {
            let _ = writeln!(out, "  - {s}");
        }
        out.push('\n');
    }
    if rows.is_empty() {
        for i in &invs {
            let _ = writeln!(
                out,
                "authorizer invocation {} matched no request in the dataset",
                i.get("lambda_request_id")
                    .map(String::as_str)
                    .unwrap_or("-")
            );
            for (k, v) in i {
                let _ = writeln!(out, "  {k}: {}", scrub(v));
            }
        }
    }
    Ok(out)
}

//! The run summary: counts that every report renders (terminal table, `summary.json`). Built
//! from the classified rows and the input statistics; merging is by addition.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::RequestRow;

/// Version of the `summary.json` layout.
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

/// One denial class's line.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
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
    /// Up to five example request ids (smallest time first).
    pub examples: Vec<String>,
}

/// Input statistics, summed over files.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
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
#[derive(Debug, Clone, Serialize, PartialEq)]
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

/// Authorizer statistics.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct AuthorizerStats {
    /// Invocations seen.
    pub invocations: u64,
    /// Matched to a request.
    pub matched: u64,
    /// Matched by each method.
    pub by_match_method: BTreeMap<String, u64>,
    /// Not matched.
    pub unmatched: u64,
    /// Decisions.
    pub decisions: BTreeMap<String, u64>,
    /// Cold starts (Init Duration present).
    pub cold_starts: u64,
    /// Invocations seen in more than one place and merged.
    pub duplicates: u64,
}

/// The whole summary.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
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
}

impl Summary {
    /// Counts the classified rows.
    pub fn count_rows(&mut self, rows: &[RequestRow]) {
        self.schema_version = SUMMARY_SCHEMA_VERSION;
        self.requests = rows.len() as u64;
        let mut classes: BTreeMap<(String, Option<String>), ClassCount> = BTreeMap::new();
        for r in rows {
            if let Some(s) = r.status {
                *self.by_status.entry(s.to_string()).or_default() += 1;
            }
            if !r.denied {
                continue;
            }
            self.denied += 1;
            self.refused += r.refused as u64;
            let phase = r.denial_phase.clone().unwrap_or_else(|| "unknown".into());
            *self.by_phase.entry(phase.clone()).or_default() += 1;
            let e = classes
                .entry((phase.clone(), r.denial_class.clone()))
                .or_insert_with(|| ClassCount {
                    phase,
                    class: r.denial_class.clone(),
                    ..Default::default()
                });
            e.count += 1;
            *e.confidence
                .entry(r.confidence.clone().unwrap_or_else(|| "none".into()))
                .or_default() += 1;
            if e.examples.len() < 5 {
                e.examples.push(r.request_id.clone());
            }
            for a in &r.advice {
                *self.limiting_advice.entry(a.clone()).or_default() += 1;
            }
        }
        let mut v: Vec<ClassCount> = classes.into_values().collect();
        for c in &mut v {
            c.share = if self.denied == 0 {
                0.0
            } else {
                (c.count as f64 / self.denied as f64 * 10_000.0).round() / 10_000.0
            };
        }
        v.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.phase.cmp(&b.phase))
                .then_with(|| a.class.cmp(&b.class))
        });
        self.by_class = v;
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
            self.denied - self.refused
        );
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
        }
        let a = &self.authorizer;
        let _ = writeln!(
            s,
            "\nauthorizer invocations: {} ({} matched, {} unmatched, {} cold starts)",
            a.invocations, a.matched, a.unmatched, a.cold_starts
        );
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
            let mut adv: Vec<(&String, &u64)> = self.limiting_advice.iter().collect();
            adv.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for (k, v) in adv.iter().take(8) {
                let _ = writeln!(s, "  {k} ({v} requests)");
            }
        }
        s
    }
}

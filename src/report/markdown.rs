//! `summary.md`: the summary as GitHub-flavoured Markdown, to paste into a postmortem.

use std::fmt::Write;

use super::{
    class_name, confidence_text, group, headline_with, human_time, notes, pct, pct_of, phase_order,
    series_order, Level,
};
use crate::summary::{fmt_ms, Summary, TopValue};

/// Escapes text for Markdown (inline and table cells): backslash-escapes the characters that
/// start emphasis, links, code, HTML or cells, and folds line breaks.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let chars: Vec<char> = s.chars().collect();
    for (i, &ch) in chars.iter().enumerate() {
        let alnum = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_alphanumeric())
        };
        match ch {
            // An underscore inside a word never starts emphasis in GFM.
            '_' if alnum(i.checked_sub(1)) && alnum(Some(i + 1)) => out.push('_'),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '&' | '#' | '~' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

/// A code span that survives any content, inside a table cell (`|` escaped, as GFM tables
/// require even within code).
fn code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ").replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for ch in s.chars() {
        run = if ch == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || s.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

fn table(out: &mut String, head: &[&str], right: &[bool], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let align: Vec<&str> = right
        .iter()
        .map(|r| if *r { "---:" } else { "---" })
        .collect();
    let _ = writeln!(out, "|{}|", align.join("|"));
    for r in rows {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    let _ = writeln!(out);
}

fn top_inline(v: &[TopValue]) -> String {
    if v.is_empty() {
        return "–".into();
    }
    v.iter()
        .map(|t| format!("{} {}", code(&t.value), group(t.count)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The summary as Markdown: headline numbers, classes with share, confidence and times,
/// examples, top paths and callers, the busiest moments, authorizer statistics, and data
/// quality (notes, what would decide the open cases, coverage and mapping per source, skipped
/// and rejected lines, duplicates).
pub fn markdown(s: &Summary) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# API Gateway denials\n");
    let _ = writeln!(o, "{}\n", headline_with(s, text, code));
    if let (Some(f), Some(l)) = (&s.first_request, &s.last_request) {
        let _ = writeln!(
            o,
            "Requests from {} to {} (UTC).\n",
            human_time(f),
            human_time(l)
        );
    }
    let undecided: u64 = s
        .by_class
        .iter()
        .filter(|c| c.class.is_none())
        .map(|c| c.count)
        .sum();
    let mut rows = vec![
        vec!["requests".into(), group(s.requests), String::new()],
        vec![
            "denied".into(),
            group(s.denied),
            pct_of(s.denied, s.requests),
        ],
        vec![
            "refused by the gateway".into(),
            group(s.refused),
            pct_of(s.refused, s.requests),
        ],
        vec![
            "denied by the backend".into(),
            group(s.backend_denied()),
            pct_of(s.backend_denied(), s.requests),
        ],
        vec![
            "undecided denials".into(),
            group(undecided),
            pct_of(undecided, s.requests),
        ],
        vec![
            "authorizer invocations".into(),
            group(s.authorizer.invocations),
            String::new(),
        ],
    ];
    if let Some(r) = s.authorizer.estimated_cache_hit_ratio {
        rows.push(vec![
            "estimated authorizer cache hits".into(),
            pct(r),
            format!(
                "of {} requests",
                group(s.authorizer.cache_estimate_requests)
            ),
        ]);
    }
    table(
        &mut o,
        &["", "count", "of requests"],
        &[false, true, true],
        &rows,
    );

    // Classes.
    if !s.by_class.is_empty() {
        let _ = writeln!(o, "## Denials by phase\n");
        let rows: Vec<Vec<String>> = phase_order(s)
            .iter()
            .map(|p| {
                let n = s.by_phase[p];
                vec![code(p), group(n), pct_of(n, s.denied)]
            })
            .collect();
        table(
            &mut o,
            &["phase", "denied", "share"],
            &[false, true, true],
            &rows,
        );
        let _ = writeln!(o, "## Denials by class\n");
        let rows: Vec<Vec<String>> = s
            .by_class
            .iter()
            .map(|c| {
                vec![
                    code(&c.phase),
                    match &c.class {
                        Some(k) => code(k),
                        None => "*undecided*".into(),
                    },
                    group(c.count),
                    pct(c.share),
                    confidence_text(&c.confidence),
                    c.first_seen.as_deref().map(human_time).unwrap_or_default(),
                    c.last_seen.as_deref().map(human_time).unwrap_or_default(),
                ]
            })
            .collect();
        table(
            &mut o,
            &[
                "phase",
                "class",
                "count",
                "share",
                "confidence",
                "first seen",
                "last seen",
            ],
            &[false, false, true, true, false, false, false],
            &rows,
        );
        let _ = writeln!(o, "Example request ids:\n");
        for c in &s.by_class {
            let ids: Vec<String> = c.examples.iter().map(|e| code(e)).collect();
            let _ = writeln!(
                o,
                "- {} ({}): {}",
                code(class_name(c.class.as_deref())),
                text(&c.phase),
                ids.join(", ")
            );
        }
        let _ = writeln!(o);
    }

    // Over time.
    let ts = &s.time_series;
    if !ts.buckets.is_empty() && s.denied > 0 {
        let _ = writeln!(o, "## Denials over time\n");
        let _ = writeln!(
            o,
            "{} buckets of {} from {} to {}; the busiest:\n",
            ts.buckets.len(),
            text(&ts.bucket),
            ts.start.as_deref().map(human_time).unwrap_or_default(),
            ts.end.as_deref().map(human_time).unwrap_or_default()
        );
        let mut busiest: Vec<(u64, usize)> = ts
            .buckets
            .iter()
            .enumerate()
            .map(|(i, b)| (b.counts.values().sum::<u64>(), i))
            .filter(|(n, _)| *n > 0)
            .collect();
        busiest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let rows: Vec<Vec<String>> = busiest
            .iter()
            .take(5)
            .map(|(n, i)| {
                let b = &ts.buckets[*i];
                let mut cl: Vec<(&String, &u64)> = b.counts.iter().collect();
                cl.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                let cl: Vec<String> = cl
                    .iter()
                    .take(3)
                    .map(|(k, v)| format!("{} {}", code(k), group(**v)))
                    .collect();
                vec![
                    human_time(&b.start),
                    group(*n),
                    group(b.requests),
                    cl.join(", "),
                ]
            })
            .collect();
        table(
            &mut o,
            &["bucket start", "denied", "requests", "largest classes"],
            &[false, true, true, false],
            &rows,
        );
        let series: Vec<String> = series_order(s)
            .iter()
            .map(|(k, n)| format!("{} {}", code(k), group(*n)))
            .collect();
        let _ = writeln!(o, "In the series: {}.\n", series.join(", "));
    }

    // Paths and callers.
    if s.denied > 0 {
        let _ = writeln!(o, "## Top paths and callers of denied requests\n");
        let tc = &s.top_callers;
        let rows: Vec<Vec<String>> = [
            ("resource path", &s.top_paths),
            ("source IP", &tc.source_ip),
            ("caller (user ARN or caller)", &tc.caller),
            ("authorizer principal id", &tc.principal_id),
            ("API key id", &tc.api_key_id),
        ]
        .iter()
        .map(|(k, v)| vec![(*k).to_string(), top_inline(v)])
        .collect();
        table(
            &mut o,
            &["", "most frequent (denied)"],
            &[false, false],
            &rows,
        );
        let _ = writeln!(o, "Per class:\n");
        let rows: Vec<Vec<String>> = s
            .by_class
            .iter()
            .map(|c| {
                let t = &c.top_callers;
                vec![
                    format!(
                        "{} ({})",
                        code(class_name(c.class.as_deref())),
                        text(&c.phase)
                    ),
                    top_inline(&c.top_paths),
                    top_inline(&t.source_ip),
                    top_inline(&t.caller),
                    top_inline(&t.principal_id),
                    top_inline(&t.api_key_id),
                ]
            })
            .collect();
        table(
            &mut o,
            &[
                "class",
                "paths",
                "source IPs",
                "callers",
                "principals",
                "API key ids",
            ],
            &[false; 6],
            &rows,
        );
        if let Some(note) = super::tops_note(s) {
            let _ = writeln!(o, "{note}\n");
        }
    }

    // Authorizer.
    let a = &s.authorizer;
    let _ = writeln!(o, "## Lambda authorizer\n");
    if a.invocations == 0 {
        let _ = writeln!(o, "No authorizer invocation in the input.\n");
    } else {
        table(
            &mut o,
            &[
                "invocations",
                "matched",
                "unmatched",
                "cold starts",
                "errors",
                "timeouts",
                "merged duplicates",
            ],
            &[true; 7],
            &[vec![
                group(a.invocations),
                group(a.matched),
                group(a.unmatched),
                group(a.cold_starts),
                group(a.errors),
                group(a.timeouts),
                group(a.duplicates),
            ]],
        );
        let kv = |m: &std::collections::BTreeMap<String, u64>| {
            m.iter()
                .map(|(k, v)| format!("{} {}", code(k), group(*v)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(o, "- decisions: {}", kv(&a.decisions));
        if !a.by_match_method.is_empty() {
            let _ = writeln!(o, "- matched by: {}", kv(&a.by_match_method));
        }
        let d = &a.duration_ms;
        if let (Some(p50), Some(p95), Some(p99), Some(max)) = (d.p50, d.p95, d.p99, d.max) {
            let _ = writeln!(
                o,
                "- duration: p50 {} ms, p95 {} ms, p99 {} ms, max {} ms ({} invocations)",
                fmt_ms(p50),
                fmt_ms(p95),
                fmt_ms(p99),
                fmt_ms(max),
                group(d.samples)
            );
        }
        let i = &a.init_duration_ms;
        if let (Some(p50), Some(max)) = (i.p50, i.max) {
            let _ = writeln!(
                o,
                "- init duration (cold starts): p50 {} ms, max {} ms",
                fmt_ms(p50),
                fmt_ms(max)
            );
        }
        match a.estimated_cache_hit_ratio {
            Some(r) => {
                let _ = writeln!(
                    o,
                    "- estimated cache hits: {} of {} requests with $context.authorizer.status 200 \
                     whose format logs whether the authorizer was invoked",
                    pct(r),
                    group(a.cache_estimate_requests)
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "- cache hits: not estimated (no request with $context.authorizer.status 200 \
                     in a format that logs whether the authorizer was invoked)"
                );
            }
        }
        let _ = writeln!(o);
        let rows: Vec<Vec<String>> = a
            .duration_histogram
            .iter()
            .filter(|b| b.count > 0)
            .map(|b| {
                let range = match b.upper_ms {
                    Some(u) => format!("{}–{} ms", fmt_ms(b.lower_ms), fmt_ms(u)),
                    None => format!("≥ {} ms", fmt_ms(b.lower_ms)),
                };
                vec![range, group(b.count), pct_of(b.count, d.samples)]
            })
            .collect();
        if !rows.is_empty() {
            table(
                &mut o,
                &["duration", "invocations", "share"],
                &[false, true, true],
                &rows,
            );
        }
    }

    // Data quality.
    let _ = writeln!(o, "## Data quality\n");
    let ns = notes(s);
    if ns.is_empty() {
        let _ = writeln!(o, "Nothing limited the answer.\n");
    } else {
        for n in &ns {
            let mark = match n.level {
                Level::Warn => "**Check:** ",
                Level::Info => "",
            };
            let _ = writeln!(o, "- {mark}{}", text(&n.text));
        }
        let _ = writeln!(o);
    }
    let adv = s.advice_by_count();
    if !adv.is_empty() {
        let _ = writeln!(o, "What would decide the open cases:\n");
        let rows: Vec<Vec<String>> = adv.iter().map(|(k, v)| vec![text(k), group(*v)]).collect();
        table(&mut o, &["advice", "requests"], &[false, true], &rows);
    }
    let i = &s.input;
    table(
        &mut o,
        &[
            "files",
            "bytes read",
            "bytes decompressed",
            "events",
            "access records",
            "authorizer lines",
            "execution lines",
        ],
        &[true; 7],
        &[vec![
            group(i.files),
            group(i.bytes_in),
            group(i.bytes_out),
            group(i.events),
            group(i.access_records),
            group(i.authorizer_lines),
            group(i.execution_lines),
        ]],
    );
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (k, v) in &i.skipped {
        rows.push(vec![format!("lines skipped: {}", code(k)), group(*v)]);
    }
    for (k, v) in &i.rejected {
        rows.push(vec![format!("lines rejected: {}", code(k)), group(*v)]);
    }
    for (k, v) in [
        ("duplicate records dropped", s.duplicate_records),
        ("container re-deliveries dropped", i.container_duplicates),
        ("authorizer invocations merged", a.duplicates),
        ("conflicting request ids", s.conflicting_duplicate_ids),
        ("unmatched authorizer invocations", a.unmatched),
        (
            "denied requests without a time",
            s.time_series.untimed_denied,
        ),
    ] {
        rows.push(vec![k.into(), group(v)]);
    }
    table(
        &mut o,
        &["dropped or unmatched", "count"],
        &[false, true],
        &rows,
    );
    if !s.coverage.is_empty() {
        let _ = writeln!(o, "Time covered by each source:\n");
        let rows: Vec<Vec<String>> = s
            .coverage
            .iter()
            .map(|c| {
                vec![
                    code(&c.source),
                    c.log.clone(),
                    group(c.records),
                    c.first.as_deref().map(human_time).unwrap_or_default(),
                    c.last.as_deref().map(human_time).unwrap_or_default(),
                ]
            })
            .collect();
        table(
            &mut o,
            &["source", "log", "rows", "first", "last"],
            &[false, false, true, false, false],
            &rows,
        );
    }
    if !s.mappings.is_empty() {
        let _ = writeln!(o, "Access-log mapping per source:\n");
        let rows: Vec<Vec<String>> = s
            .mappings
            .iter()
            .map(|m| {
                vec![
                    code(&m.source),
                    code(&m.mapping),
                    group(m.records),
                    if m.ambiguous_keys.is_empty() {
                        "–".into()
                    } else {
                        m.ambiguous_keys
                            .iter()
                            .map(|k| code(k))
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                ]
            })
            .collect();
        table(
            &mut o,
            &["source", "mapping", "records", "ambiguous keys (ignored)"],
            &[false, false, true, false],
            &rows,
        );
    }
    if !s.by_status.is_empty() {
        let _ = writeln!(o, "Requests by status:\n");
        let rows: Vec<Vec<String>> = s
            .by_status
            .iter()
            .map(|(k, v)| vec![k.clone(), group(*v), pct_of(*v, s.requests)])
            .collect();
        table(
            &mut o,
            &["status", "requests", "share"],
            &[false, true, true],
            &rows,
        );
    }
    if !s.run.timings_s.is_empty() {
        let t: Vec<String> = s
            .run
            .timings_s
            .iter()
            .map(|(k, v)| format!("{} {v:.2} s", text(k)))
            .collect();
        let _ = writeln!(o, "Run: {}.\n", t.join(", "));
    }
    let _ = writeln!(
        o,
        "*Written by gatelog {} (summary schema {}).*",
        env!("CARGO_PKG_VERSION"),
        s.schema_version
    );
    o
}

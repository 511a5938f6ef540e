//! Reports for people, rendered from the [`Summary`] alone: `summary.md` ([`markdown`], a page
//! to paste into a postmortem) and `report.html` ([`html`], one self-contained file with inline
//! SVG charts that opens offline and makes no network reference). Both are deterministic: the
//! same summary gives the same bytes.

mod html;
mod markdown;
mod svg;

pub use html::html;
pub use markdown::markdown;

use crate::classify::taxonomy::Class;
use crate::summary::{Summary, UNDECIDED};
use crate::time::parse_iso;

/// How much a data-quality note matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// It changes or limits the answer.
    Warn,
    /// Worth knowing.
    Info,
}

/// One data-quality note: what was seen and what to do about it (plain text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Note {
    pub level: Level,
    pub text: String,
}

/// Slack, in ms, before a source's coverage counts as not covering another's.
const COVERAGE_SLACK_MS: i64 = 60_000;

/// The data-quality notes for a summary, most important first.
pub(crate) fn notes(s: &Summary) -> Vec<Note> {
    let mut v = Vec::new();
    let mut warn = |t: String| {
        v.push(Note {
            level: Level::Warn,
            text: t,
        })
    };
    let undecided: u64 = s
        .by_class
        .iter()
        .filter(|c| c.class.is_none())
        .map(|c| c.count)
        .sum();
    let low: u64 = s
        .by_class
        .iter()
        .filter_map(|c| c.confidence.get("low"))
        .sum();
    if undecided + low > 0 {
        warn(format!(
            "{} denied requests are undecided and {} were classified by a heuristic (low \
             confidence); the list below says which $context variables or logs would decide them.",
            group(undecided),
            group(low)
        ));
    }
    for m in &s.mappings {
        if !m.ambiguous_keys.is_empty() {
            warn(format!(
                "{}: the keys {} mean different things in different formats and were ignored; \
                 pass the stage's accessLogSettings.format with --access-format.",
                m.source,
                m.ambiguous_keys.join(", ")
            ));
        }
    }
    let authorizer_denials = s.by_phase.get("authorizer").copied().unwrap_or(0);
    if s.authorizer.invocations == 0 && authorizer_denials > 0 {
        warn(format!(
            "{} requests were denied by the authorizer phase but no Lambda authorizer log is in \
             the input: add the authorizer's log group (/aws/lambda/NAME) to confirm the \
             authorizer classes and to tell cached decisions from invocations.",
            group(authorizer_denials)
        ));
    }
    if let (Some(acc), Some(auth)) = (window(s, "access"), window(s, "authorizer")) {
        if auth.0 > acc.0 + COVERAGE_SLACK_MS || auth.1 < acc.1 - COVERAGE_SLACK_MS {
            warn(format!(
                "The authorizer log covers {} to {} but the access log {} to {}: outside the \
                 overlap an absent invocation proves nothing; export the authorizer log for the \
                 whole window.",
                short_time(auth.0),
                short_time(auth.1),
                short_time(acc.0),
                short_time(acc.1)
            ));
        }
    }
    let rejected = s.input.rejected_total();
    if rejected > 0 {
        let by: Vec<String> = s
            .input
            .rejected
            .iter()
            .map(|(k, n)| format!("{k} {}", group(*n)))
            .collect();
        warn(format!(
            "{} lines were rejected ({}); the first lines of each reason are in rejects.ndjson.",
            group(rejected),
            by.join(", ")
        ));
    }
    if s.authorizer.unmatched > 0 {
        warn(format!(
            "{} of {} authorizer invocations could not be tied to a request: log \
             $context.authorizer.requestId in the access log, and include the access log for \
             the invocations' time.",
            group(s.authorizer.unmatched),
            group(s.authorizer.invocations)
        ));
    }
    if s.conflicting_duplicate_ids > 0 {
        warn(format!(
            "{} request ids were carried by different records; check for overlapping exports of \
             different APIs or stages.",
            group(s.conflicting_duplicate_ids)
        ));
    }
    if s.time_series.untimed_denied > 0 {
        warn(format!(
            "{} denied requests have no time and are missing from the chart over time; log \
             $context.requestTimeEpoch.",
            group(s.time_series.untimed_denied)
        ));
    }
    let dups = s.duplicate_records + s.input.container_duplicates + s.authorizer.duplicates;
    if dups > 0 {
        v.push(Note {
            level: Level::Info,
            text: format!(
                "{} records were seen more than once (overlapping exports, Firehose \
                 re-deliveries) and counted once.",
                group(dups)
            ),
        });
    }
    v
}

/// Earliest first and latest last over the coverage entries of one log, epoch ms.
pub(crate) fn window(s: &Summary, log: &str) -> Option<(i64, i64)> {
    let mut w: Option<(i64, i64)> = None;
    for c in s.coverage.iter().filter(|c| c.log == log) {
        if let (Some(f), Some(l)) = (
            c.first.as_deref().and_then(parse_iso),
            c.last.as_deref().and_then(parse_iso),
        ) {
            w = Some(w.map_or((f, l), |(a, b)| (a.min(f), b.max(l))));
        }
    }
    w
}

/// The phases in the order API Gateway applies them, then `unknown`, then any other phase the
/// summary names (sorted).
pub(crate) fn phase_order(s: &Summary) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for c in Class::ALL {
        let p = c.phase().as_str().to_string();
        if !v.contains(&p) {
            v.push(p);
        }
    }
    v.push("unknown".into());
    for p in s.by_phase.keys() {
        if !v.contains(p) {
            v.push(p.clone());
        }
    }
    v.retain(|p| s.by_phase.contains_key(p));
    v
}

/// The series of the time series, most denied first (ties by name), `undecided` last.
pub(crate) fn series_order(s: &Summary) -> Vec<(String, u64)> {
    let mut tot: std::collections::BTreeMap<&str, u64> = Default::default();
    for b in &s.time_series.buckets {
        for (k, n) in &b.counts {
            *tot.entry(k.as_str()).or_default() += n;
        }
    }
    let mut v: Vec<(String, u64)> = tot.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
    v.sort_by(|a, b| {
        (a.0 == UNDECIDED)
            .cmp(&(b.0 == UNDECIDED))
            .then(b.1.cmp(&a.1))
            .then_with(|| a.0.cmp(&b.0))
    });
    v
}

/// Colours of the known classes, in [`Class::ALL`] order: hues grouped by phase, neighbours
/// kept apart, all readable on white.
const CLASS_COLOURS: [&str; 23] = [
    "#c62828", // waf_block
    "#e65100", // resource_policy_explicit_deny
    "#f59e0b", // resource_policy_implicit_deny
    "#8d6e63", // missing_authentication_token
    "#6a1b9a", // iam_unsigned
    "#9c6ade", // iam_signature_invalid
    "#c39bd3", // iam_token_expired
    "#4a148c", // iam_token_invalid
    "#1565c0", // authorizer_explicit_deny
    "#64b5f6", // authorizer_cached_deny
    "#00838f", // authorizer_policy_mismatch
    "#4dd0e1", // authorizer_identity_missing
    "#283593", // authorizer_unauthorized
    "#d81b60", // authorizer_configuration_error
    "#f48fb1", // authorizer_timeout
    "#00695c", // cognito_unauthorized
    "#26a69a", // jwt_unauthorized
    "#80cbc4", // jwt_insufficient_scope
    "#ad1457", // iam_policy_deny
    "#c0a000", // api_key_invalid
    "#2e7d32", // throttled
    "#9ccc65", // quota_exceeded
    "#546e7a", // backend_denied
];

/// Colours for names outside the taxonomy, picked by a hash of the name.
const EXTRA_COLOURS: [&str; 8] = [
    "#795548", "#607d8b", "#827717", "#5d4037", "#455a64", "#33691e", "#bf360c", "#311b92",
];

/// Colour of [`UNDECIDED`].
pub(crate) const UNDECIDED_COLOUR: &str = "#a8a29e";

/// The colour of a class, stable by name: taxonomy classes have their own, `undecided` is grey,
/// any other name hashes (FNV-1a) into a small palette.
pub(crate) fn class_colour(name: &str) -> &'static str {
    if name == UNDECIDED {
        return UNDECIDED_COLOUR;
    }
    if let Some(i) = Class::ALL.iter().position(|c| c.as_str() == name) {
        return CLASS_COLOURS[i];
    }
    let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    });
    EXTRA_COLOURS[(h % EXTRA_COLOURS.len() as u64) as usize]
}

/// The display name of a class line's class.
pub(crate) fn class_name(c: Option<&str>) -> &str {
    c.unwrap_or("(undecided)")
}

/// The note under the `top_*` lists when some list had more distinct values than it keeps;
/// `None` when every count is exact.
pub(crate) fn tops_note(s: &crate::summary::Summary) -> Option<String> {
    let approximate = s.tops_approximate || s.by_class.iter().any(|c| c.tops_approximate);
    approximate.then(|| {
        let keep = crate::summary::TOP_KEEP as u64;
        format!(
            "Some of these lists had more than {} distinct values: they show the most \
             frequent ones, and each count may be low by up to {} (denied requests / {}).",
            group(keep),
            group(s.denied / (keep + 1)),
            group(keep + 1)
        )
    })
}

/// `1234567` → `1,234,567`.
pub(crate) fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A 0–1 share as a percentage with one decimal.
pub(crate) fn pct(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// `part` of `whole` as a percentage, `–` when `whole` is 0.
pub(crate) fn pct_of(part: u64, whole: u64) -> String {
    if whole == 0 {
        "–".into()
    } else {
        pct(part as f64 / whole as f64)
    }
}

/// An RFC 3339 time for people: `2025-11-03 09:01:23Z` (milliseconds dropped).
pub(crate) fn human_time(t: &str) -> String {
    match parse_iso(t) {
        Some(ms) => short_time(ms),
        None => t.to_string(),
    }
}

/// Epoch ms as `2025-11-03 09:01:23Z`.
pub(crate) fn short_time(ms: i64) -> String {
    let s = crate::time::rfc3339_ms(ms);
    format!("{} {}Z", &s[..10], &s[11..19])
}

/// The confidence mix as `high 63, medium 5`, highest first.
pub(crate) fn confidence_text(m: &std::collections::BTreeMap<String, u64>) -> String {
    let order = ["high", "medium", "low", "none"];
    let mut v: Vec<String> = order
        .iter()
        .filter_map(|k| m.get(*k).map(|n| format!("{k} {}", group(*n))))
        .collect();
    v.extend(
        m.iter()
            .filter(|(k, _)| !order.contains(&k.as_str()))
            .map(|(k, n)| format!("{k} {}", group(*n))),
    );
    v.join(", ")
}

#[cfg(test)]
mod tests;

/// One sentence for the top of a report: how many requests were denied and the largest
/// classes, its text passed through `text` and class names through `class`.
pub(crate) fn headline_with(
    s: &Summary,
    text: impl Fn(&str) -> String,
    class: impl Fn(&str) -> String,
) -> String {
    let mut t = text(&format!(
        "{} of {} requests were denied ({}): {} refused by the gateway, {} by the backend.",
        group(s.denied),
        group(s.requests),
        pct_of(s.denied, s.requests),
        group(s.refused),
        group(s.backend_denied())
    ));
    let top: Vec<String> = s
        .by_class
        .iter()
        .filter(|c| c.class.is_some())
        .take(3)
        .map(|c| {
            format!(
                "{} {}",
                class(class_name(c.class.as_deref())),
                text(&format!("({}, {})", group(c.count), pct(c.share)))
            )
        })
        .collect();
    if !top.is_empty() {
        t.push_str(&text(" Largest classes: "));
        t.push_str(&top.join(&text(", ")));
        t.push_str(&text("."));
    }
    t
}

/// Escapes text for HTML content and attribute values. Beyond `& < > " '` it also encodes
/// `=`, `(`, `@` and the `h` of any `http`, so that no text taken from the logs can spell a
/// network reference (`src=`, `url(`, `@import`, `http://`) in the report's bytes; browsers show
/// the same characters.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let b = s.as_bytes();
    for (i, ch) in s.char_indices() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '=' => out.push_str("&#61;"),
            '(' => out.push_str("&#40;"),
            '@' => out.push_str("&#64;"),
            'h' | 'H' if b.len() >= i + 4 && b[i + 1..i + 4].eq_ignore_ascii_case(b"ttp") => {
                out.push_str(if ch == 'h' { "&#104;" } else { "&#72;" })
            }
            _ => out.push(ch),
        }
    }
    out
}

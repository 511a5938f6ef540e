//! `report.html`: one self-contained page (inline CSS and SVG, no script, no external
//! resource of any kind) that opens offline and prints.

use std::fmt::Write;

use super::svg::{
    chart_series, class_bars, confidence_bar, coverage_bar, duration_histogram, series_colour,
    time_chart,
};
use super::{
    class_colour, class_name, confidence_text, esc, group, headline_with, human_time, notes, pct,
    pct_of, phase_order, window, Level,
};
use crate::summary::{fmt_ms, ClassCount, Summary, TopValue, UNDECIDED};
use crate::time::parse_iso;

const CSS: &str = r#"
:root{--fg:#1f2328;--muted:#59636e;--line:#d8dee4;--panel:#f6f8fa;--accent:#0b57d0;--warn:#8a5300;--warnbg:#fff4d6;}
*{box-sizing:border-box}
body{margin:0;background:#fff;color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1144px;margin:0 auto;padding:28px 32px 40px}
header h1{font-size:26px;margin:0 0 6px;letter-spacing:-.01em}
.lede{font-size:15px;margin:0 0 4px}
.sub{color:var(--muted);margin:0}
nav{margin:14px 0 0;font-size:13px}
nav a{color:var(--accent);text-decoration:none;margin-right:14px}
h2{font-size:18px;margin:34px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:14px;margin:18px 0 8px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(138px,1fr));gap:10px;margin:18px 0 4px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 12px;background:var(--panel)}
.card .v{font-size:23px;font-weight:650;font-variant-numeric:tabular-nums}
.card .l{color:var(--muted);font-size:11.5px;text-transform:uppercase;letter-spacing:.04em}
.card .s{color:var(--muted);font-size:12px}
.card.hot{border-color:#e5b5b5;background:#fdf3f3}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:11.5px;color:var(--muted);font-weight:600;background:var(--panel);text-transform:uppercase;letter-spacing:.03em}
td.n,th.n{text-align:right;white-space:nowrap}
td.t{white-space:nowrap;color:var(--muted)}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
td.src{word-break:break-all}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;margin:8px 0 0;font-size:12.5px}
.legend span{white-space:nowrap}
.muted{color:var(--muted)}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:14px 28px}
.grid>div{min-width:0}
.small{font-size:12.5px}
td.cls{white-space:nowrap}
.bar{position:relative;min-width:90px}
.bar i{position:absolute;left:0;top:6px;bottom:6px;background:#dbe7fb;border-radius:2px}
.bar b{position:relative;font-weight:400;word-break:break-all}
svg.chart{width:100%;height:auto;display:block;margin:6px 0}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
svg .tick{font-size:11px;fill:#59636e}
svg .tick.strong{font-weight:600;fill:#1f2328}
svg .label{font-size:12px;fill:#1f2328}
svg .value{font-size:11.5px;fill:#1f2328;font-variant-numeric:tabular-nums}
svg .grid{stroke:#e6e9ed;stroke-width:1}
svg .axis{stroke:#8c959f;stroke-width:1}
svg .band{fill:#f6f8fa}
svg .marker{stroke:#1f2328;stroke-width:1.2;stroke-dasharray:4 3}
svg .hit{fill:transparent}
svg .hit:hover{fill:rgba(31,35,40,.07)}
svg.mini{vertical-align:-1px;margin-right:6px}
ul.notes{padding-left:0;list-style:none;margin:8px 0}
ul.notes li{padding:8px 12px;border-radius:6px;margin:6px 0;background:var(--panel);border-left:4px solid #8c959f}
ul.notes li.warn{background:var(--warnbg);border-left-color:#d4a72c}
details summary{cursor:pointer;color:var(--accent);font-size:12.5px}
details div{margin:6px 0 2px;font-size:12.5px}
footer{margin-top:36px;padding-top:10px;border-top:1px solid var(--line);color:var(--muted);font-size:12px}
@media print{main{padding:0;max-width:none}h2{break-after:avoid}table,svg{break-inside:avoid}nav{display:none}}
"#;

fn th(o: &mut String, cols: &[(&str, bool)]) {
    o.push_str("<thead><tr>");
    for (c, num) in cols {
        let _ = write!(
            o,
            "<th{}>{}</th>",
            if *num { " class=\"n\"" } else { "" },
            esc(c)
        );
    }
    o.push_str("</tr></thead>");
}

fn card(o: &mut String, label: &str, value: &str, sub: &str, hot: bool) {
    let _ = write!(
        o,
        r#"<div class="card{}"><div class="l">{}</div><div class="v">{}</div><div class="s">{}</div></div>"#,
        if hot { " hot" } else { "" },
        esc(label),
        esc(value),
        esc(sub)
    );
}

fn swatch(key: &str) -> String {
    format!(
        r#"<span class="sw" style="background:{}"></span>"#,
        class_colour(key)
    )
}

fn top_table(o: &mut String, title: &str, v: &[TopValue], denied: u64) {
    let _ = write!(o, "<div><h3>{}</h3><table>", esc(title));
    th(o, &[("value", false), ("denied", true), ("share", true)]);
    o.push_str("<tbody>");
    if v.is_empty() {
        o.push_str(r#"<tr><td colspan="3" class="muted">not in the logs</td></tr>"#);
    }
    let max = v.first().map_or(1, |t| t.count.max(1));
    for t in v {
        let _ = write!(
            o,
            r#"<tr><td class="bar"><i style="width:{:.0}%"></i><b class="mono">{}</b></td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            t.count as f64 / max as f64 * 100.0,
            esc(&t.value),
            group(t.count),
            pct_of(t.count, denied)
        );
    }
    o.push_str("</tbody></table></div>");
}

fn inline_tops(v: &[TopValue]) -> String {
    v.iter()
        .map(|t| format!("<code>{}</code> {}", esc(&t.value), group(t.count)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A time for a table cell: `09:01:23` when the whole run is one UTC day, else
/// `2025-11-03 09:01:23Z`.
fn seen(t: Option<&str>, one_day: bool) -> String {
    match t {
        Some(t) if one_day && t.len() >= 19 => t[11..19].to_string(),
        Some(t) => human_time(t),
        None => String::new(),
    }
}

fn class_row(o: &mut String, c: &ClassCount, one_day: bool) {
    let key = c.class.as_deref().unwrap_or(UNDECIDED);
    let name = class_name(c.class.as_deref());
    let _ = write!(
        o,
        r#"<tr><td class="cls">{}<code>{}</code><br><span class="muted">{}</span></td><td class="n">{}</td><td class="n">{}</td><td>{}<span class="muted">{}</span></td><td class="t">{}</td><td class="t">{}</td><td>"#,
        swatch(key),
        esc(name),
        esc(&c.phase),
        group(c.count),
        pct(c.share),
        confidence_bar(&c.confidence),
        esc(&confidence_text(&c.confidence)),
        esc(&seen(c.first_seen.as_deref(), one_day)),
        esc(&seen(c.last_seen.as_deref(), one_day)),
    );
    if let Some(p) = c.top_paths.first() {
        let _ = write!(o, "<code>{}</code> {}", esc(&p.value), group(p.count));
    }
    o.push_str("<details><summary>examples, paths, callers</summary>");
    let ids: Vec<String> = c
        .examples
        .iter()
        .map(|e| format!("<code>{}</code>", esc(e)))
        .collect();
    let _ = write!(o, "<div><b>request ids</b> {}</div>", ids.join(" "));
    let t = &c.top_callers;
    for (label, v) in [
        ("paths", &c.top_paths),
        ("source IPs", &t.source_ip),
        ("callers", &t.caller),
        ("principals", &t.principal_id),
        ("API key ids", &t.api_key_id),
    ] {
        if !v.is_empty() {
            let _ = write!(o, "<div><b>{}</b> {}</div>", esc(label), inline_tops(v));
        }
    }
    o.push_str("</details></td></tr>");
}

/// The summary as one self-contained HTML page: headline numbers, denials over time stacked by
/// class, a bar per class and a table with confidence, first and last seen and examples, top
/// paths and callers, the authorizer's statistics and duration histogram, and data quality
/// (notes and advice, coverage and mapping per source, skipped and rejected lines). No script
/// and no external reference: it opens offline and makes no network request.
pub fn html(s: &Summary) -> String {
    let mut o = String::with_capacity(64 * 1024);
    let one_day = match (&s.first_request, &s.last_request) {
        (Some(f), Some(l)) => f.get(..10) == l.get(..10),
        _ => false,
    };
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{CSS}</style></head><body><main>",
        esc(&format!(
            "gatelog — {} of {} requests denied",
            group(s.denied),
            group(s.requests)
        ))
    );

    // Header and headline numbers.
    o.push_str("<header><h1>API Gateway denials</h1>");
    let _ = write!(
        o,
        r#"<p class="lede">{}</p>"#,
        headline_with(s, esc, |c| format!("<code>{}</code>", esc(c)))
    );
    if let (Some(f), Some(l)) = (&s.first_request, &s.last_request) {
        let _ = write!(
            o,
            r#"<p class="sub">Requests from {} to {} (UTC) · {} input files · summary schema {}</p>"#,
            esc(&human_time(f)),
            esc(&human_time(l)),
            group(s.input.files),
            s.schema_version
        );
    }
    o.push_str(
        r##"<nav><a href="#time">Over time</a><a href="#classes">Classes</a><a href="#callers">Paths and callers</a><a href="#authorizer">Authorizer</a><a href="#quality">Data quality</a></nav></header>"##,
    );
    let undecided: u64 = s
        .by_class
        .iter()
        .filter(|c| c.class.is_none())
        .map(|c| c.count)
        .sum();
    o.push_str(r#"<section class="cards">"#);
    card(&mut o, "Requests", &group(s.requests), "", false);
    card(
        &mut o,
        "Denied",
        &group(s.denied),
        &format!("{} of requests", pct_of(s.denied, s.requests)),
        s.denied > 0,
    );
    card(
        &mut o,
        "Refused by gateway",
        &group(s.refused),
        &format!("{} of denied", pct_of(s.refused, s.denied)),
        false,
    );
    card(
        &mut o,
        "Denied by backend",
        &group(s.backend_denied()),
        &format!("{} of denied", pct_of(s.backend_denied(), s.denied)),
        false,
    );
    card(
        &mut o,
        "Undecided",
        &group(undecided),
        &format!("{} of denied", pct_of(undecided, s.denied)),
        false,
    );
    card(
        &mut o,
        "Authorizer calls",
        &group(s.authorizer.invocations),
        &format!("{} unmatched", group(s.authorizer.unmatched)),
        false,
    );
    card(
        &mut o,
        "Est. cache hits",
        &s.authorizer
            .estimated_cache_hit_ratio
            .map_or("–".into(), pct),
        &format!(
            "of {} requests",
            group(s.authorizer.cache_estimate_requests)
        ),
        false,
    );
    o.push_str("</section>");

    // Over time.
    o.push_str(r#"<section id="time"><h2>Denied requests over time</h2>"#);
    let chart = time_chart(s);
    if chart.is_empty() {
        o.push_str(r#"<p class="muted">No denied request with a time.</p>"#);
    } else {
        o.push_str(&chart);
        o.push_str(r#"<div class="legend">"#);
        for (k, n) in chart_series(s) {
            let _ = write!(
                o,
                "<span><span class=\"sw\" style=\"background:{}\"></span>{} <span class=\"muted\">{}</span></span>",
                series_colour(&k),
                esc(&k),
                group(n)
            );
        }
        o.push_str("</div>");
    }
    o.push_str("</section>");

    // Classes.
    o.push_str(r#"<section id="classes"><h2>Denials by class</h2>"#);
    if s.by_class.is_empty() {
        o.push_str(r#"<p class="muted">No request was denied.</p>"#);
    } else {
        o.push_str(&class_bars(s));
        if s.by_class
            .iter()
            .any(|c| c.confidence.keys().all(|k| k == "low"))
        {
            o.push_str(
                r#"<p class="muted small">Pale bars: classes picked by a heuristic (low confidence) where the logs leave several candidates; the phase is then <code>unknown</code>.</p>"#,
            );
        }
        o.push_str(r#"<div class="grid"><div><h3>By phase</h3><table>"#);
        th(
            &mut o,
            &[("phase", false), ("denied", true), ("share", true)],
        );
        o.push_str("<tbody>");
        for p in phase_order(s) {
            let n = s.by_phase[&p];
            let _ = write!(
                o,
                r#"<tr><td><code>{}</code></td><td class="n">{}</td><td class="n">{}</td></tr>"#,
                esc(&p),
                group(n),
                pct_of(n, s.denied)
            );
        }
        o.push_str("</tbody></table></div><div><h3>By status</h3><table>");
        th(
            &mut o,
            &[("status", false), ("requests", true), ("share", true)],
        );
        o.push_str("<tbody>");
        for (k, v) in &s.by_status {
            let _ = write!(
                o,
                r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
                esc(k),
                group(*v),
                pct_of(*v, s.requests)
            );
        }
        o.push_str("</tbody></table></div></div>");
        let _ = write!(o, "<h3>Every class</h3><table>");
        let first = if one_day {
            "first seen (UTC)"
        } else {
            "first seen"
        };
        let last = if one_day {
            "last seen (UTC)"
        } else {
            "last seen"
        };
        th(
            &mut o,
            &[
                ("class / phase", false),
                ("count", true),
                ("share", true),
                ("confidence", false),
                (first, false),
                (last, false),
                ("top path · details", false),
            ],
        );
        o.push_str("<tbody>");
        for c in &s.by_class {
            class_row(&mut o, c, one_day);
        }
        o.push_str("</tbody></table>");
    }
    o.push_str("</section>");

    // Paths and callers.
    if s.denied > 0 {
        o.push_str(
            r#"<section id="callers"><h2>Top paths and callers of denied requests</h2><div class="grid">"#,
        );
        let t = &s.top_callers;
        top_table(&mut o, "Resource paths", &s.top_paths, s.denied);
        top_table(&mut o, "Source IPs", &t.source_ip, s.denied);
        top_table(&mut o, "Callers (user ARN or caller)", &t.caller, s.denied);
        top_table(
            &mut o,
            "Authorizer principal ids",
            &t.principal_id,
            s.denied,
        );
        top_table(&mut o, "API key ids", &t.api_key_id, s.denied);
        o.push_str("</div>");
        if let Some(note) = super::tops_note(s) {
            let _ = write!(o, r#"<p class="muted">{}</p>"#, esc(&note));
        }
        o.push_str("</section>");
    }

    // Authorizer.
    let a = &s.authorizer;
    o.push_str(r#"<section id="authorizer"><h2>Lambda authorizer</h2>"#);
    if a.invocations == 0 {
        o.push_str(r#"<p class="muted">No authorizer invocation in the input.</p>"#);
    } else {
        o.push_str(r#"<div class="cards">"#);
        card(&mut o, "Invocations", &group(a.invocations), "", false);
        card(
            &mut o,
            "Matched",
            &group(a.matched),
            &format!("{} unmatched", group(a.unmatched)),
            false,
        );
        card(
            &mut o,
            "Errors",
            &group(a.errors),
            &format!("{} timeouts", group(a.timeouts)),
            a.errors + a.timeouts > 0,
        );
        card(
            &mut o,
            "Cold starts",
            &group(a.cold_starts),
            &a.init_duration_ms
                .p50
                .map_or(String::new(), |v| format!("init p50 {} ms", fmt_ms(v))),
            false,
        );
        let d = &a.duration_ms;
        for (label, v) in [("p50", d.p50), ("p95", d.p95), ("p99", d.p99)] {
            card(
                &mut o,
                &format!("Duration {label}"),
                &v.map_or("–".into(), |v| format!("{} ms", fmt_ms(v))),
                "",
                false,
            );
        }
        o.push_str("</div>");
        o.push_str(&duration_histogram(a));
        o.push_str(r#"<div class="grid">"#);
        for (title, m) in [
            ("Decisions", &a.decisions),
            ("Matched by", &a.by_match_method),
        ] {
            let _ = write!(o, "<div><h3>{}</h3><table>", esc(title));
            th(
                &mut o,
                &[("", false), ("invocations", true), ("share", true)],
            );
            o.push_str("<tbody>");
            for (k, v) in m {
                let _ = write!(
                    o,
                    r#"<tr><td><code>{}</code></td><td class="n">{}</td><td class="n">{}</td></tr>"#,
                    esc(k),
                    group(*v),
                    pct_of(*v, a.invocations)
                );
            }
            o.push_str("</tbody></table></div>");
        }
        o.push_str("</div>");
        let mut facts = Vec::new();
        if let (Some(p50), Some(max)) = (a.init_duration_ms.p50, a.init_duration_ms.max) {
            facts.push(format!(
                "Init duration of cold starts: p50 {} ms, max {} ms.",
                fmt_ms(p50),
                fmt_ms(max)
            ));
        }
        if let Some(max) = d.max {
            facts.push(format!(
                "Longest invocation {} ms of {} timed.",
                fmt_ms(max),
                group(d.samples)
            ));
        }
        facts.push(match a.estimated_cache_hit_ratio {
            Some(r) => format!(
                "Estimated cache hits: {} of {} requests with $context.authorizer.status 200 whose \
                 format logs whether the authorizer was invoked.",
                pct(r),
                group(a.cache_estimate_requests)
            ),
            None => "Cache hits not estimated: no request with $context.authorizer.status 200 in \
                     a format that logs whether the authorizer was invoked."
                .into(),
        });
        if a.duplicates > 0 {
            facts.push(format!(
                "{} invocations were seen twice and merged.",
                group(a.duplicates)
            ));
        }
        let _ = write!(o, r#"<p class="muted">{}</p>"#, esc(&facts.join(" ")));
    }
    o.push_str("</section>");

    // Data quality.
    o.push_str(r#"<section id="quality"><h2>Data quality</h2><ul class="notes">"#);
    let ns = notes(s);
    if ns.is_empty() {
        o.push_str("<li>Nothing limited the answer.</li>");
    }
    for n in &ns {
        let _ = write!(
            o,
            "<li class=\"{}\">{}</li>",
            if n.level == Level::Warn {
                "warn"
            } else {
                "info"
            },
            esc(&n.text)
        );
    }
    o.push_str("</ul>");
    let adv = s.advice_by_count();
    if !adv.is_empty() {
        o.push_str("<h3>What would decide the open cases</h3><table>");
        th(&mut o, &[("advice", false), ("requests", true)]);
        o.push_str("<tbody>");
        for (k, v) in adv {
            let _ = write!(
                o,
                r#"<tr><td>{}</td><td class="n">{}</td></tr>"#,
                esc(k),
                group(v)
            );
        }
        o.push_str("</tbody></table>");
    }
    if !s.coverage.is_empty() {
        let mut w: Option<(i64, i64)> = None;
        for log in ["access", "authorizer"] {
            if let Some((f, l)) = window(s, log) {
                w = Some(w.map_or((f, l), |(a, b)| (a.min(f), b.max(l))));
            }
        }
        o.push_str("<h3>Time covered by each source</h3><table>");
        th(
            &mut o,
            &[
                ("source", false),
                ("log", false),
                ("rows", true),
                ("first", false),
                ("last", false),
                ("coverage", false),
            ],
        );
        o.push_str("<tbody>");
        for c in &s.coverage {
            let bar = match (
                w,
                c.first.as_deref().and_then(parse_iso),
                c.last.as_deref().and_then(parse_iso),
            ) {
                (Some((w0, w1)), Some(f), Some(l)) => coverage_bar(
                    f,
                    l,
                    w0,
                    w1,
                    if c.log == "access" {
                        "#0b57d0"
                    } else {
                        "#00838f"
                    },
                ),
                _ => String::new(),
            };
            let _ = write!(
                o,
                r#"<tr><td class="src mono">{}</td><td>{}</td><td class="n">{}</td><td class="t">{}</td><td class="t">{}</td><td>{}</td></tr>"#,
                esc(&c.source),
                esc(&c.log),
                group(c.records),
                esc(&seen(c.first.as_deref(), one_day)),
                esc(&seen(c.last.as_deref(), one_day)),
                bar
            );
        }
        o.push_str("</tbody></table>");
    }
    if !s.mappings.is_empty() {
        o.push_str("<h3>Access-log mapping per source</h3><table>");
        th(
            &mut o,
            &[
                ("source", false),
                ("mapping", false),
                ("records", true),
                ("ambiguous keys (ignored)", false),
            ],
        );
        o.push_str("<tbody>");
        for m in &s.mappings {
            let _ = write!(
                o,
                r#"<tr><td class="src mono">{}</td><td><code>{}</code></td><td class="n">{}</td><td>{}</td></tr>"#,
                esc(&m.source),
                esc(&m.mapping),
                group(m.records),
                if m.ambiguous_keys.is_empty() {
                    "–".to_string()
                } else {
                    esc(&m.ambiguous_keys.join(", "))
                }
            );
        }
        o.push_str("</tbody></table>");
    }
    let i = &s.input;
    o.push_str(r#"<div class="grid"><div><h3>Input</h3><table><tbody>"#);
    for (k, v) in [
        ("files", i.files),
        ("bytes read", i.bytes_in),
        ("bytes decompressed", i.bytes_out),
        ("events", i.events),
        ("access records", i.access_records),
        ("authorizer lines", i.authorizer_lines),
        ("execution lines", i.execution_lines),
    ] {
        let _ = write!(
            o,
            r#"<tr><td>{}</td><td class="n">{}</td></tr>"#,
            esc(k),
            group(v)
        );
    }
    o.push_str(r#"</tbody></table></div><div><h3>Dropped and unmatched</h3><table><tbody>"#);
    let mut rows: Vec<(String, u64)> = Vec::new();
    rows.extend(i.skipped.iter().map(|(k, v)| (format!("skipped: {k}"), *v)));
    rows.extend(
        i.rejected
            .iter()
            .map(|(k, v)| (format!("rejected: {k}"), *v)),
    );
    rows.extend([
        ("duplicate records dropped".to_string(), s.duplicate_records),
        (
            "container re-deliveries dropped".to_string(),
            i.container_duplicates,
        ),
        (
            "conflicting request ids".to_string(),
            s.conflicting_duplicate_ids,
        ),
        ("authorizer invocations merged".to_string(), a.duplicates),
        ("unmatched authorizer invocations".to_string(), a.unmatched),
        (
            "denied requests without a time".to_string(),
            s.time_series.untimed_denied,
        ),
    ]);
    for (k, v) in rows {
        let _ = write!(
            o,
            r#"<tr><td>{}</td><td class="n">{}</td></tr>"#,
            esc(&k),
            group(v)
        );
    }
    o.push_str("</tbody></table></div></div></section>");

    // Footer.
    let mut foot = format!(
        "Written by gatelog {} from summary.json (schema {}).",
        env!("CARGO_PKG_VERSION"),
        s.schema_version
    );
    if !s.run.timings_s.is_empty() {
        let t: Vec<String> = s
            .run
            .timings_s
            .iter()
            .map(|(k, v)| format!("{k} {v:.2} s"))
            .collect();
        let _ = write!(foot, " Run: {}.", t.join(", "));
    }
    let _ = write!(o, "<footer>{}</footer>", esc(&foot));
    o.push_str("</main></body></html>\n");
    o
}

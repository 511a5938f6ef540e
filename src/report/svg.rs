//! Hand-written inline SVG charts for `report.html`: rectangles, lines and text only, sized
//! by `viewBox` so they scale with the page. Every text goes through [`esc`]; colours come from
//! [`class_colour`] so a class looks the same in every chart.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{class_colour, class_name, esc, group, pct, series_order};
use crate::summary::UNDECIDED;
use crate::summary::{fmt_ms, AuthorizerStats, Summary};
use crate::time::parse_iso;

/// Width of the full-width charts, in SVG user units (CSS pixels at 100%).
pub(super) const WIDTH: f64 = 1080.0;

/// A number for an SVG attribute: at most one decimal, no trailing zeros.
fn n(x: f64) -> String {
    let s = format!("{x:.1}");
    match s.strip_suffix(".0") {
        Some(t) => t.to_string(),
        None => s,
    }
}

fn open(o: &mut String, w: f64, h: f64, label: &str) {
    let _ = write!(
        o,
        r#"<svg class="chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{}">"#,
        n(w),
        n(h),
        n(w),
        n(h),
        esc(label)
    );
}

fn rect(o: &mut String, x: f64, y: f64, w: f64, h: f64, fill: &str) {
    let _ = write!(
        o,
        r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}"/>"#,
        n(x),
        n(y),
        n(w),
        n(h)
    );
}

fn text(o: &mut String, x: f64, y: f64, anchor: &str, class: &str, t: &str) {
    let _ = write!(
        o,
        r#"<text x="{}" y="{}" text-anchor="{anchor}" class="{class}">{}</text>"#,
        n(x),
        n(y),
        esc(t)
    );
}

fn line(o: &mut String, x1: f64, y1: f64, x2: f64, y2: f64, class: &str) {
    let _ = write!(
        o,
        r#"<line x1="{}" y1="{}" x2="{}" y2="{}" class="{class}"/>"#,
        n(x1),
        n(y1),
        n(x2),
        n(y2)
    );
}

/// A "nice" axis for values up to `max`: (top, step), step 1, 2 or 5 × 10^k, about 4 ticks.
pub(super) fn nice_axis(max: u64) -> (u64, u64) {
    if max == 0 {
        return (1, 1);
    }
    let raw = (max as f64 / 4.0).max(1.0);
    let mag = 10f64.powi(raw.log10().floor() as i32);
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
        .max(1.0) as u64;
    (max.div_ceil(step) * step, step)
}

/// Label spacing for the time axis, in seconds: the smallest "round" interval that is a
/// multiple of the bucket and gives at most ten labels.
fn label_step(bucket_s: u64, buckets: usize) -> u64 {
    const STEPS: [u64; 18] = [
        60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400, 172_800,
        604_800, 1_209_600, 2_592_000, 7_776_000, 31_536_000,
    ];
    let span = bucket_s * buckets as u64;
    STEPS
        .iter()
        .copied()
        .find(|s| *s >= bucket_s && s % bucket_s == 0 && span / s <= 10)
        .unwrap_or_else(|| bucket_s * (buckets as u64).div_ceil(10).max(1))
}

/// Series drawn separately in the chart over time; the rest are stacked as [`OTHER`].
const MAX_SERIES: usize = 10;

/// Key of the classes merged in the chart over time.
pub(super) const OTHER: &str = "other classes";

/// Colour of [`OTHER`].
const OTHER_COLOUR: &str = "#d0d7de";

/// The colour of a series of the chart over time.
pub(super) fn series_colour(key: &str) -> &'static str {
    if key == OTHER {
        OTHER_COLOUR
    } else {
        class_colour(key)
    }
}

/// The series of the chart over time, bottom first, with their totals: the most frequent
/// classes, the rest merged into [`OTHER`], then `undecided`.
pub(super) fn chart_series(s: &Summary) -> Vec<(String, u64)> {
    let all = series_order(s);
    let undecided = all.iter().find(|(k, _)| k == UNDECIDED).cloned();
    let decided: Vec<(String, u64)> = all.into_iter().filter(|(k, _)| k != UNDECIDED).collect();
    let keep = if decided.len() > MAX_SERIES {
        MAX_SERIES - 1
    } else {
        decided.len()
    };
    let mut v: Vec<(String, u64)> = decided[..keep].to_vec();
    let rest: u64 = decided[keep..].iter().map(|(_, n)| n).sum();
    if keep < decided.len() {
        v.push((OTHER.to_string(), rest));
    }
    v.extend(undecided);
    v
}

/// Denied requests over time, stacked by class (most frequent at the bottom, undecided on
/// top); hovering a bucket shows its breakdown. Empty string when there is nothing to draw.
pub(super) fn time_chart(s: &Summary) -> String {
    let ts = &s.time_series;
    let series = chart_series(s);
    if ts.buckets.is_empty() || series.is_empty() {
        return String::new();
    }
    let named: Vec<&str> = series
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| *k != OTHER)
        .collect();
    let (h, ml, mr, mt, mb) = (280.0, 52.0, 12.0, 14.0, 44.0);
    let (pw, ph) = (WIDTH - ml - mr, h - mt - mb);
    let totals: Vec<u64> = ts.buckets.iter().map(|b| b.counts.values().sum()).collect();
    let (top, step) = nice_axis(totals.iter().copied().max().unwrap_or(0));
    let y = |v: f64| mt + ph - v / top as f64 * ph;
    let mut o = String::new();
    open(
        &mut o,
        WIDTH,
        h,
        "Denied requests over time, stacked by class",
    );
    // Grid and y labels.
    let mut v = 0;
    while v <= top {
        let yy = y(v as f64);
        line(
            &mut o,
            ml,
            yy,
            ml + pw,
            yy,
            if v == 0 { "axis" } else { "grid" },
        );
        text(&mut o, ml - 8.0, yy + 4.0, "end", "tick", &group(v));
        v += step;
    }
    // Bars.
    let nb = ts.buckets.len();
    let bw = pw / nb as f64;
    let gap = if bw > 4.0 { (bw * 0.18).max(1.0) } else { 0.0 };
    for (i, b) in ts.buckets.iter().enumerate() {
        let x = ml + i as f64 * bw + gap / 2.0;
        let mut acc = 0u64;
        for (k, _) in &series {
            let c = if k == OTHER {
                b.counts
                    .iter()
                    .filter(|(k, _)| !named.contains(&k.as_str()))
                    .map(|(_, c)| c)
                    .sum()
            } else {
                b.counts.get(k).copied().unwrap_or(0)
            };
            if c == 0 {
                continue;
            }
            let (y0, y1) = (y(acc as f64), y((acc + c) as f64));
            rect(&mut o, x, y1, bw - gap, y0 - y1, series_colour(k));
            acc += c;
        }
    }
    // Hover targets with the bucket's breakdown.
    for (i, b) in ts.buckets.iter().enumerate() {
        let mut parts: Vec<(&String, &u64)> = b.counts.iter().collect();
        parts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let mut title = format!(
            "{} — {} denied of {} requests",
            super::human_time(&b.start),
            group(totals[i]),
            group(b.requests)
        );
        for (k, c) in parts {
            let _ = write!(title, "\n{k}: {}", group(*c));
        }
        let _ = write!(
            o,
            r#"<rect class="hit" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>"#,
            n(ml + i as f64 * bw),
            n(mt),
            n(bw),
            n(ph),
            esc(&title)
        );
    }
    // X labels.
    let bucket_s = ts.bucket_seconds.max(1);
    let lstep = label_step(bucket_s, nb);
    let daily = lstep >= 86_400;
    let mut last_date = String::new();
    for (i, b) in ts.buckets.iter().enumerate() {
        let Some(ms) = parse_iso(&b.start) else {
            continue;
        };
        if (ms / 1000).rem_euclid(lstep as i64) != 0 {
            continue;
        }
        let x = ml + i as f64 * bw;
        line(&mut o, x, mt + ph, x, mt + ph + 4.0, "axis");
        let (date, hm) = (&b.start[..10], &b.start[11..16]);
        text(
            &mut o,
            x,
            mt + ph + 16.0,
            "middle",
            "tick",
            if daily { &date[5..] } else { hm },
        );
        let context = if daily { &date[..4] } else { date };
        if context != last_date {
            text(&mut o, x, mt + ph + 31.0, "middle", "tick strong", context);
            last_date = context.to_string();
        }
    }
    text(
        &mut o,
        ml + pw,
        h - 4.0,
        "end",
        "tick",
        &format!("UTC, {} buckets", ts.bucket),
    );
    o.push_str("</svg>");
    o
}

/// A horizontal bar per class line: phase, class, bar in the class colour, count and share.
pub(super) fn class_bars(s: &Summary) -> String {
    if s.by_class.is_empty() {
        return String::new();
    }
    let (row, top_pad) = (22.0, 6.0);
    let h = top_pad * 2.0 + row * s.by_class.len() as f64;
    let (x_phase, x_class, x_bar, bar_max) = (0.0, 128.0, 370.0, 600.0);
    let max = s.by_class.iter().map(|c| c.count).max().unwrap_or(1).max(1);
    let mut o = String::new();
    open(&mut o, WIDTH, h, "Denied requests by class");
    for (i, c) in s.by_class.iter().enumerate() {
        let y = top_pad + i as f64 * row;
        let key = c.class.as_deref().unwrap_or(UNDECIDED);
        let heuristic = c.confidence.keys().all(|k| k == "low");
        let w = (c.count as f64 / max as f64 * bar_max).max(1.0);
        if i % 2 == 0 {
            let _ = write!(
                o,
                r#"<rect x="0" y="{}" width="{}" height="{}" class="band"/>"#,
                n(y),
                n(WIDTH),
                n(row)
            );
        }
        text(&mut o, x_phase + 6.0, y + 15.0, "start", "tick", &c.phase);
        text(
            &mut o,
            x_class,
            y + 15.0,
            "start",
            "label",
            class_name(c.class.as_deref()),
        );
        let _ = write!(
            o,
            r#"<rect x="{}" y="{}" width="{}" height="14" rx="2" fill="{}"{}><title>{}</title></rect>"#,
            n(x_bar),
            n(y + 4.0),
            n(w),
            class_colour(key),
            if heuristic { r#" opacity="0.45""# } else { "" },
            esc(&format!(
                "{} / {}: {} ({})",
                c.phase,
                class_name(c.class.as_deref()),
                group(c.count),
                pct(c.share)
            ))
        );
        text(
            &mut o,
            x_bar + w + 8.0,
            y + 15.0,
            "start",
            "value",
            &format!("{}  ·  {}", group(c.count), pct(c.share)),
        );
    }
    o.push_str("</svg>");
    o
}

/// Colours of the confidence words.
fn confidence_colour(k: &str) -> &'static str {
    match k {
        "high" => "#2e7d32",
        "medium" => "#f9a825",
        "low" => "#ef6c00",
        _ => "#bdbdbd",
    }
}

/// A small stacked bar of a confidence mix (high, medium, low, none).
pub(super) fn confidence_bar(m: &BTreeMap<String, u64>) -> String {
    let total: u64 = m.values().sum();
    if total == 0 {
        return String::new();
    }
    let w = 90.0;
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg class="mini" viewBox="0 0 {w} 10" width="{w}" height="10" role="img" aria-label="confidence mix">"#
    );
    let mut x = 0.0;
    let mut keys: Vec<&String> = m.keys().collect();
    let rank = |k: &str| {
        ["high", "medium", "low", "none"]
            .iter()
            .position(|x| *x == k)
            .unwrap_or(4)
    };
    keys.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    for k in keys {
        let c = m[k];
        let cw = c as f64 / total as f64 * w;
        let _ = write!(
            o,
            r#"<rect x="{}" y="0" width="{}" height="10" fill="{}"><title>{}</title></rect>"#,
            n(x),
            n(cw),
            confidence_colour(k),
            esc(&format!("{k}: {}", group(c)))
        );
        x += cw;
    }
    o.push_str("</svg>");
    o
}

/// Where `[first, last]` lies within `[w0, w1]`, as a small track.
pub(super) fn coverage_bar(first: i64, last: i64, w0: i64, w1: i64, colour: &str) -> String {
    let w = 200.0;
    let span = (w1 - w0).max(1) as f64;
    let x0 = ((first - w0) as f64 / span * w).clamp(0.0, w);
    let x1 = ((last - w0) as f64 / span * w).clamp(0.0, w);
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg class="mini" viewBox="0 0 {w} 10" width="{w}" height="10" role="img" aria-label="time covered">"#
    );
    rect(&mut o, 0.0, 3.0, w, 4.0, "#e6e9ed");
    rect(&mut o, x0, 0.0, (x1 - x0).max(2.0), 10.0, colour);
    o.push_str("</svg>");
    o
}

/// Position, in bucket widths from the first bucket, of a duration on the histogram's
/// log-spaced axis.
fn duration_pos(a: &AuthorizerStats, v: f64) -> f64 {
    let hs = &a.duration_histogram;
    let Some(i) = hs.iter().rposition(|b| v >= b.lower_ms) else {
        return 0.0;
    };
    let b = &hs[i];
    let frac = match b.upper_ms {
        Some(u) if b.lower_ms <= 0.0 => v / u,
        Some(u) => (v / b.lower_ms).ln() / (u / b.lower_ms).ln(),
        None => 0.5,
    };
    i as f64 + frac.clamp(0.0, 1.0)
}

/// Edge label of the duration histogram: `500`, `1 s`, `30 s`.
fn edge_label(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{} s", fmt_ms(ms / 1000.0))
    } else {
        fmt_ms(ms)
    }
}

/// The authorizer's REPORT durations in their log-spaced buckets, with p50/p95/p99 marked.
pub(super) fn duration_histogram(a: &AuthorizerStats) -> String {
    let hs = &a.duration_histogram;
    if hs.is_empty() || a.duration_ms.samples == 0 {
        return String::new();
    }
    let (h, ml, mr, mt, mb) = (250.0, 52.0, 12.0, 52.0, 40.0);
    let (pw, ph) = (WIDTH - ml - mr, h - mt - mb);
    let (top, step) = nice_axis(hs.iter().map(|b| b.count).max().unwrap_or(0));
    let y = |v: f64| mt + ph - v / top as f64 * ph;
    let bw = pw / hs.len() as f64;
    let mut o = String::new();
    open(&mut o, WIDTH, h, "Authorizer duration distribution");
    let mut v = 0;
    while v <= top {
        let yy = y(v as f64);
        line(
            &mut o,
            ml,
            yy,
            ml + pw,
            yy,
            if v == 0 { "axis" } else { "grid" },
        );
        text(&mut o, ml - 8.0, yy + 4.0, "end", "tick", &group(v));
        v += step;
    }
    for (i, b) in hs.iter().enumerate() {
        let x = ml + i as f64 * bw;
        if b.count > 0 {
            let yy = y(b.count as f64);
            let range = match b.upper_ms {
                Some(u) => format!("{}–{} ms", fmt_ms(b.lower_ms), fmt_ms(u)),
                None => format!("≥ {} ms", fmt_ms(b.lower_ms)),
            };
            let _ = write!(
                o,
                r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>"#,
                n(x + 3.0),
                n(yy),
                n(bw - 6.0),
                n(mt + ph - yy),
                class_colour("authorizer_explicit_deny"),
                esc(&format!("{range}: {} invocations", group(b.count)))
            );
            text(
                &mut o,
                x + bw / 2.0,
                yy - 4.0,
                "middle",
                "value",
                &group(b.count),
            );
        }
        line(&mut o, x, mt + ph, x, mt + ph + 4.0, "axis");
        text(
            &mut o,
            x,
            mt + ph + 16.0,
            "middle",
            "tick",
            &edge_label(b.lower_ms),
        );
    }
    text(
        &mut o,
        ml + pw,
        h - 4.0,
        "end",
        "tick",
        "REPORT Duration, ms (log-spaced buckets)",
    );
    let d = &a.duration_ms;
    for (row, (name, v)) in [("p50", d.p50), ("p95", d.p95), ("p99", d.p99)]
        .into_iter()
        .enumerate()
    {
        let Some(v) = v else { continue };
        let x = ml + duration_pos(a, v) * bw;
        let ly = 12.0 + row as f64 * 14.0;
        let _ = write!(
            o,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" class="marker"/>"#,
            n(x),
            n(ly + 3.0),
            n(x),
            n(mt + ph)
        );
        let anchor = if x > WIDTH - 160.0 { "end" } else { "start" };
        let dx = if anchor == "end" { -4.0 } else { 4.0 };
        text(
            &mut o,
            x + dx,
            ly + 2.0,
            anchor,
            "label",
            &format!("{name} {} ms", fmt_ms(v)),
        );
    }
    o.push_str("</svg>");
    o
}

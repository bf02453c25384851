//! The report as one self-contained HTML file: inline CSS and SVG, no scripts, no fonts, no
//! network. Well-formed XML (XHTML-compatible HTML5), so a test can parse it back.

use super::svg::{esc, history_chart, Chart, Legend, LegendKind};
use super::{
    accepted, against_all, blessed_rows, blessed_sorted, commits_phrase, direction, fmt_delta,
    fmt_delta_rel, fmt_history_step, fmt_history_value, fmt_opt, fmt_rel, fmt_tol, invariant_line,
    nothing_shown, scope, series, summary, type_metric, unreadable_notes, views,
    without_result_headline, BlessedChange, HistoryInput, ReportInput, Shown, View,
};
use crate::judge::compare::{Row, RowVerdict};
use crate::measure::invariant::Outcome;
use crate::units::fmt_bytes;
use std::fmt::Write as _;

const STYLE: &str = r#"
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1b1b1b; background: #fff; margin: 0; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 26px; margin: 0 0 6px; }
h2 code, h3 code { font-size: 0.95em; }
h2 { font-size: 21px; margin: 40px 0 4px; padding-top: 14px; border-top: 2px solid #ddd; }
h3 { font-size: 16px; margin: 22px 0 8px; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 13px; }
pre { background: #f6f6f4; border: 1px solid #e2e2de; padding: 10px 12px; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
p, li, summary, figcaption, h2, h3 { overflow-wrap: anywhere; }
.lead { font-size: 16px; margin: 0 0 18px; }
.accepted { margin: 0 0 14px; padding: 6px 14px; background: #fff8e6; border-left: 4px solid #e0a800; }
.missing { margin: 0 0 14px; padding: 6px 14px; background: #fbe1de; border-left: 4px solid #8f1d12; }
.meta { color: #555; margin: 0 0 10px; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 14px; max-width: 100%; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 4px 10px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: #f3f3f1; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
@media (max-width: 900px) { main { padding: 16px 10px 32px; } th, td { padding: 4px 6px; } }
.badge { display: inline-block; font-size: 13px; font-weight: 600; padding: 1px 8px; border-radius: 10px; vertical-align: middle; }
.badge.pass { background: #dff3e4; color: #185c2b; }
.badge.fail { background: #fbe1de; color: #8f1d12; }
.badge.improved { background: #fff1cc; color: #6b4a00; }
.v-fail { color: #8f1d12; font-weight: 600; }
.v-ok { color: #185c2b; }
.v-improved { color: #7a5200; font-weight: 600; }
ul.reasons li, ul.invariants li { margin: 2px 0; white-space: pre-wrap; }
figure { margin: 14px 0 18px; }
figcaption { font-weight: 600; margin-bottom: 2px; }
svg.chart { width: 100%; height: auto; display: block; font-size: 12px; font-family: inherit; }
svg.chart .axis-title { font-size: 13px; fill: #333; }
svg.chart text { fill: #333; }
ul.legend { list-style: none; padding: 0; margin: 4px 0 0 80px; font-size: 13px; color: #333; }
ul.legend li { display: inline-block; margin: 0 18px 4px 0; }
.key { display: inline-block; width: 26px; height: 0; margin-right: 6px; vertical-align: middle; border-top: 3px solid; }
.key.dashed { border-top-style: dashed; }
.key.band { height: 11px; border: 0; }
.note { color: #555; font-size: 13px; margin: 2px 0 0 80px; }
details { margin: 4px 0 10px; }
summary { cursor: pointer; color: #333; }
footer { color: #666; font-size: 13px; margin-top: 40px; border-top: 1px solid #ddd; padding-top: 8px; }
"#;

/// An exploration (`membound explore --html`) as a self-contained page: the evidence table,
/// then each label's figure at every length, one line per length, suspected leaks first.
pub fn explore_html(e: &crate::explore::Exploration) -> String {
    use crate::explore::classify::{Basis, Class};
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    let _ = writeln!(
        s,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>membound explore {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>",
        esc(&e.scenario)
    );
    let lengths: Vec<String> = e
        .lengths
        .iter()
        .map(|l| crate::explore::length_words(e.x_unit, *l))
        .collect();
    let _ = writeln!(
        s,
        "<h1>Exploring <code>{}</code></h1>\n<p class=\"lead\">Runs at {}; {}.</p>",
        esc(&e.scenario),
        esc(&lengths.join(" and ")),
        esc(&crate::explore::propose::warmup_words(&e.warmup, e.x_unit))
    );
    s.push_str(
        "<table>\n<tr><th>label</th><th>class</th><th>after the warm-up, per length</th></tr>\n",
    );
    let name = |l: &Option<String>| {
        l.clone()
            .unwrap_or_else(|| format!("(whole heap, {})", e.x_unit.residency_label()))
    };
    for ev in &e.evidence {
        let _ = writeln!(
            s,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            esc(&name(&ev.label)),
            esc(&crate::explore::propose::class_words(
                &ev.class, ev.basis, e.x_unit
            )),
            esc(&crate::explore::propose::figures_words(ev))
        );
    }
    s.push_str("</table>\n");
    // Suspected leaks first, then the rest in the table's order.
    let mut order: Vec<usize> = (0..e.evidence.len()).collect();
    order.sort_by_key(|i| !matches!(e.evidence[*i].class, Class::Growing { .. }));
    for i in order {
        let (ev, curve) = (&e.evidence[i], &e.curves[i]);
        let series: Vec<(String, Vec<(u64, u64)>)> = curve
            .runs
            .iter()
            .map(|(l, points)| (crate::explore::length_words(e.x_unit, *l), points.clone()))
            .collect();
        let (svg, legend) = super::svg::lines_chart(
            "explore",
            "length",
            e.x_unit,
            ev.basis == Basis::Bytes,
            &series,
        );
        figure(
            &mut s,
            &format!(
                "{}: {}",
                name(&ev.label),
                crate::explore::propose::class_words(&ev.class, ev.basis, e.x_unit)
            ),
            &svg,
            &legend,
            None,
        );
    }
    s.push_str("</main>\n</body>\n</html>\n");
    s
}

/// The report as a self-contained HTML page: a summary table, then per scenario its charts
/// (residency against the baseline; types as stacked bands), metrics, invariants and the bless
/// command, then the baselines changed in the PR.
pub fn html(input: &ReportInput) -> String {
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>membound memory report</title>\n");
    let _ = writeln!(s, "<style>{STYLE}</style>\n</head>\n<body>\n<main>");
    let _ = writeln!(s, "<h1>Memory report</h1>");
    // What the PR accepts comes first, as in the PR comment.
    let accepted = accepted(input);
    if !accepted.is_empty() {
        let _ = writeln!(
            s,
            "<div class=\"accepted\">\n<p><strong>This PR changes {} baseline(s)</strong>, accepted with bless: review each as you review code.</p>\n<ul>",
            accepted.len()
        );
        for a in &accepted {
            let by = a.commit.map_or_else(
                || " (not committed)".to_owned(),
                |c| format!(" · in <code>{}</code> {}", esc(&c.id), esc(&c.subject)),
            );
            let _ = writeln!(
                s,
                "<li><a href=\"#{}\"><code>{}</code></a> {}{by}</li>",
                blessed_anchor(a.scenario),
                esc(a.scenario),
                esc(&a.what)
            );
        }
        s.push_str("</ul>\n</div>\n");
    }
    if let Some(head) = without_result_headline(input) {
        let _ = writeln!(
            s,
            "<div class=\"missing\">\n<p><strong>{}:</strong></p>\n<ul>",
            esc(&head)
        );
        for n in &input.without_result {
            let _ = writeln!(
                s,
                "<li><code>{}</code> {}</li>",
                esc(&n.scenario),
                esc(&n.describe())
            );
        }
        s.push_str("</ul>\n</div>\n");
    }
    let _ = writeln!(
        s,
        "<p class=\"lead\">{}</p>",
        esc(&summary(input).line(&against_all(input)))
    );
    let views = views(input);
    if !views.is_empty() {
        overview(&mut s, &views);
    }
    for v in &views {
        scenario(&mut s, v, input);
    }
    if input.base_ref.is_some() || !input.blessed.is_empty() {
        blessed(&mut s, input);
    }
    let _ = writeln!(
        s,
        "<footer>membound report of {} result(s){}. Every figure on this page is read from the results and baselines; charts draw the samples where they were taken.</footer>",
        input.results.len(),
        input.base_ref.as_deref().map_or(String::new(), |r| format!(" against {}", esc(r)))
    );
    s.push_str("</main>\n</body>\n</html>\n");
    s
}

/// The history as one self-contained HTML page: per scenario, per metric shown, a step chart
/// (a step at each commit that moved it) and the table of those commits.
pub fn history_html(input: &HistoryInput) -> String {
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>membound baseline history</title>\n");
    let _ = writeln!(s, "<style>{STYLE}</style>\n</head>\n<body>\n<main>");
    let _ = writeln!(s, "<h1>Baseline history</h1>");
    for n in scope(input) {
        let _ = writeln!(s, "<p class=\"meta\">{}</p>", esc(&n));
    }
    if input.scenarios.is_empty() {
        let _ = writeln!(s, "<p>No baseline changed in the history seen.</p>");
    }
    for h in &input.scenarios {
        let (shown, names) = series(h, input.metric.as_deref());
        let _ = writeln!(
            s,
            "<section id=\"h-{}\">\n<h2><code>{}</code></h2>",
            esc(&h.scenario),
            esc(&h.scenario)
        );
        let _ = writeln!(
            s,
            "<p class=\"meta\">{} · {} of {} metrics shown</p>",
            esc(&commits_phrase(h)),
            shown.len(),
            names.len()
        );
        for n in unreadable_notes(h) {
            let _ = writeln!(s, "<p class=\"meta\">{}</p>", esc(&n));
        }
        if shown.is_empty() {
            let _ = writeln!(s, "<p>{}</p>", esc(&nothing_shown(input, h, &names)));
        }
        for se in &shown {
            let _ = writeln!(s, "<h3><code>{}</code></h3>", esc(&se.metric));
            let steps = se.steps();
            let points: Vec<(Option<&str>, Option<f64>)> = h
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    (
                        steps.contains(&i).then_some(e.commit.id.as_str()),
                        se.values[i],
                    )
                })
                .collect();
            s.push_str(&history_chart(&se.metric, &points));
            s.push('\n');
            s.push_str("<table>\n<thead><tr><th>commit</th><th>date</th><th>subject</th><th class=\"num\">value</th><th class=\"num\">Δ</th><th class=\"num\">Δ%</th></tr></thead>\n<tbody>\n");
            for i in se.steps_or_removal() {
                let e = &h.entries[i];
                let prev = i.checked_sub(1).and_then(|j| se.values[j]);
                let (d, rel) = fmt_history_step(&se.metric, prev, se.values[i]);
                let _ = writeln!(
                    s,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                    esc(&e.commit.id),
                    esc(&e.commit.date),
                    esc(&e.commit.subject),
                    esc(&fmt_history_value(&se.metric, se.values[i])),
                    esc(&d),
                    esc(&rel)
                );
            }
            s.push_str("</tbody>\n</table>\n");
        }
        s.push_str("</section>\n");
    }
    s.push_str("<footer>Every value is read from a baseline as committed; a step is drawn at each commit that changed it.</footer>\n");
    s.push_str("</main>\n</body>\n</html>\n");
    s
}

fn anchor(name: &str) -> String {
    let id: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("s-{id}")
}

/// The anchor of a scenario's entry among the baselines changed in the PR.
fn blessed_anchor(name: &str) -> String {
    format!("b{}", anchor(name))
}

fn badge(v: &View) -> String {
    format!(
        "<span class=\"badge {}\">{}</span>",
        v.status().css(),
        esc(&v.status_text())
    )
}

fn overview(s: &mut String, views: &[View]) {
    s.push_str("<table class=\"overview\">\n<thead><tr><th>scenario</th><th>status</th><th class=\"num\">peak live: baseline</th><th class=\"num\">this run</th><th class=\"num\">Δ%</th><th class=\"num\">metrics moved</th><th>invariants</th></tr></thead>\n<tbody>\n");
    for v in views {
        let (b, c) = v.peak();
        let moved = v
            .rows
            .iter()
            .filter(|r| r.verdict != RowVerdict::Equal)
            .count();
        let held =
            v.r.invariants
                .iter()
                .filter(|i| matches!(i.outcome, Outcome::Held { .. }))
                .count();
        let violated = |expected: bool| {
            v.r.invariants
                .iter()
                .filter(|i| {
                    i.expected_violation == expected && matches!(i.outcome, Outcome::Violated(_))
                })
                .count()
        };
        let (caught, violated) = (violated(true), violated(false));
        let other = v.r.invariants.len() - held - caught - violated;
        let mut inv = format!("{held} held");
        if caught > 0 {
            let _ = write!(inv, ", {caught} caught as expected");
        }
        if violated > 0 {
            let _ = write!(inv, ", {violated} violated");
        }
        if other > 0 {
            let _ = write!(inv, ", {other} not reached");
        }
        let _ = writeln!(
            s,
            "<tr><td><a href=\"#{}\"><code>{}</code></a></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{moved}</td><td>{inv}</td></tr>",
            anchor(v.name()),
            esc(v.name()),
            badge(v),
            b.map_or("—".into(), fmt_bytes),
            esc(&v.current_peak_text()),
            fmt_rel(b, c)
        );
    }
    s.push_str("</tbody>\n</table>\n");
}

fn scenario(s: &mut String, v: &View, input: &ReportInput) {
    let _ = writeln!(s, "<section id=\"{}\">", anchor(v.name()));
    let _ = writeln!(s, "<h2><code>{}</code> {}</h2>", esc(v.name()), badge(v));
    let mut meta = format!(
        "<code>{}</code> · x: {} · compared with the {}",
        esc(&v.r.path.display().to_string()),
        v.unit().label(),
        esc(&v.against(input))
    );
    if v.reblessed {
        meta.push_str(" · baseline re-blessed in this PR");
    }
    if v.new_at_base {
        let _ = write!(
            meta,
            " · added in this PR: no baseline at {}",
            esc(input.base_ref.as_deref().unwrap_or("the base ref"))
        );
    }
    let _ = writeln!(s, "<p class=\"meta\">{meta}</p>");
    if !v.r.verdict.reasons.is_empty() {
        s.push_str("<ul class=\"reasons\">\n");
        for r in &v.reasons(&input.hints) {
            let _ = writeln!(s, "<li>{}</li>", esc(r.trim_end()));
        }
        s.push_str("</ul>\n");
    }
    if let Some(e) = &v.r.run_error {
        let _ = writeln!(s, "<h3>Run error</h3>\n<pre>{}</pre>", esc(e.trim_end()));
    }
    charts(s, v, input);
    metrics(s, v);
    movers(s, v);
    invariants(s, v);
    if v.blessable() {
        let _ = writeln!(
            s,
            "<p>To accept this run as the new baseline: <code>{}</code></p>",
            esc(&input.hints.bless_one(v.name()))
        );
    } else if v.r.verdict.failed() && v.r.run_error.is_none() && !v.r.invariant_problems.is_empty()
    {
        let _ = writeln!(
            s,
            "<p>Not blessable: <code>{}</code> refuses a run whose invariants fail; fix the cause first.</p>",
            esc(&input.hints.bless)
        );
    }
    s.push_str("</section>\n");
}

fn charts(s: &mut String, v: &View, input: &ReportInput) {
    let bounds: Vec<(String, u64)> =
        v.r.invariants
            .iter()
            .filter_map(|i| Some((i.name.clone(), i.max_live_bytes?)))
            .collect();
    let violation =
        v.r.invariants
            .iter()
            .filter_map(|i| match &i.outcome {
                Outcome::Violated(viol) => Some((i.name.clone(), viol.x)),
                _ => None,
            })
            .min_by_key(|(_, x)| *x);
    let chart = Chart {
        unit: v.unit(),
        baseline: v.baseline_timeline(),
        current: v.current_timeline(),
        bounds,
        violation,
    };
    if chart.baseline.is_none() && chart.current.is_none() {
        s.push_str("<p class=\"note\">No timeline to chart.</p>\n");
        return;
    }
    let against = v.against(input);
    let (svg, legend) = chart.residency(&against, "this run");
    figure(s, "Total residency over time", &svg, &legend, note(v));
    if let Some((svg, legend)) = chart.by_type(&against) {
        figure(
            s,
            "Live bytes by type (this run), with the baseline's total",
            &svg,
            &legend,
            None,
        );
    }
}

fn note(v: &View) -> Option<String> {
    let cur = v.current_timeline()?;
    let mut n = format!("{} charted samples of this run", cur.points.len());
    if let Some(b) = v.baseline_timeline() {
        let _ = write!(n, ", {} of the baseline", b.points.len());
    }
    if let Some(stop) = v.r.stopped_at {
        let _ = write!(n, "; the run stopped at {}", super::fmt_at(v.unit(), stop));
    }
    Some(n + ".")
}

fn figure(s: &mut String, caption: &str, svg: &str, legend: &[Legend], note: Option<String>) {
    let _ = writeln!(
        s,
        "<figure>\n<figcaption>{}</figcaption>\n{svg}",
        esc(caption)
    );
    s.push_str("<ul class=\"legend\">");
    for l in legend {
        let (class, style) = match l.kind {
            LegendKind::Line => ("key", format!("border-color: {}", l.colour)),
            LegendKind::Dashed => ("key dashed", format!("border-color: {}", l.colour)),
            LegendKind::Band => ("key band", format!("background: {}", l.colour)),
        };
        let _ = write!(
            s,
            "<li><span class=\"{class}\" style=\"{style}\"></span>{}</li>",
            esc(&l.label)
        );
    }
    s.push_str("</ul>\n");
    if let Some(n) = note {
        let _ = writeln!(s, "<p class=\"note\">{}</p>", esc(&n));
    }
    s.push_str("</figure>\n");
}

fn verdict_cell(r: &Row) -> String {
    let class = match r.verdict {
        RowVerdict::Improved => "v-improved",
        v if v.fails() => "v-fail",
        _ => "v-ok",
    };
    format!("<td class=\"{class}\">{}</td>", esc(r.verdict.word()))
}

fn metrics(s: &mut String, v: &View) {
    let moved = v.moved_metrics();
    if !moved.is_empty() {
        s.push_str("<h3>Metrics that moved</h3>\n<table>\n<thead><tr><th>metric</th><th class=\"num\">baseline</th><th class=\"num\">this run</th><th class=\"num\">Δ</th><th class=\"num\">Δ%</th><th>tolerance</th><th>verdict</th></tr></thead>\n<tbody>\n");
        for r in moved {
            let _ = writeln!(
                s,
                "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td>{}</tr>",
                esc(&r.metric),
                fmt_opt(&r.metric, r.baseline),
                fmt_opt(&r.metric, r.current),
                fmt_delta(r),
                fmt_delta_rel(r),
                esc(&fmt_tol(&r.metric, &r.tolerance)),
                verdict_cell(r)
            );
        }
        s.push_str("</tbody>\n</table>\n");
    }
    let unchanged = v.unchanged();
    if !unchanged.is_empty() {
        let _ = writeln!(
            s,
            "<details><summary>{} unchanged metric(s)</summary>\n<table>\n<tbody>",
            unchanged.len()
        );
        for r in unchanged {
            let _ = writeln!(
                s,
                "<tr><td><code>{}</code></td><td class=\"num\">{}</td></tr>",
                esc(&r.metric),
                fmt_opt(&r.metric, r.current)
            );
        }
        s.push_str("</tbody>\n</table>\n</details>\n");
    }
}

fn movers(s: &mut String, v: &View) {
    let moved = v.moved_types();
    if moved.is_empty() {
        return;
    }
    s.push_str("<h3>Movers by type</h3>\n<table>\n<thead><tr><th>type</th><th>metric</th><th class=\"num\">baseline</th><th class=\"num\">this run</th><th class=\"num\">Δ</th><th class=\"num\">Δ%</th><th>verdict</th></tr></thead>\n<tbody>\n");
    for r in moved {
        let (label, field) = type_metric(&r.metric).unwrap_or((&r.metric, ""));
        let _ = writeln!(
            s,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>{}</tr>",
            esc(label),
            esc(field),
            fmt_opt(&r.metric, r.baseline),
            fmt_opt(&r.metric, r.current),
            fmt_delta(r),
            fmt_delta_rel(r),
            verdict_cell(r)
        );
    }
    s.push_str("</tbody>\n</table>\n");
}

fn invariants(s: &mut String, v: &View) {
    if v.r.invariants.is_empty() {
        return;
    }
    s.push_str("<h3>Invariants</h3>\n<ul class=\"invariants\">\n");
    for i in &v.r.invariants {
        let (ok, line) = invariant_line(v.unit(), i);
        let bound = i.max_live_bytes.map_or(String::new(), |b| {
            format!(" [bound {}]", fmt_bytes(b as f64))
        });
        let _ = writeln!(
            s,
            "<li><span class=\"{}\">{}</span> <code>{}</code> ({}){}: {}</li>",
            if ok { "v-ok" } else { "v-fail" },
            if ok { "✔" } else { "✘" },
            esc(&i.name),
            esc(&i.during),
            esc(&bound),
            esc(&line)
        );
    }
    s.push_str("</ul>\n");
    for i in &v.r.invariants {
        if let Outcome::Violated(viol) = &i.outcome {
            let _ = writeln!(
                s,
                "<pre class=\"violation\">{}</pre>",
                esc(viol.explain(v.unit()).trim_end())
            );
            if let Some(crate::attribution::Attribution::Found(f)) = viol.attribution.as_deref() {
                if !f.series.is_empty() {
                    let (svg, legend) = super::svg::retainer_chart(&f.series);
                    figure(
                        s,
                        &format!("What retains the growth of {}: {}", i.name, f.short()),
                        &svg,
                        &legend,
                        None,
                    );
                }
            }
        }
    }
}

fn blessed(s: &mut String, input: &ReportInput) {
    s.push_str("<section id=\"blessed\">\n<h2>Baselines changed in this PR</h2>\n");
    let changes = blessed_sorted(input);
    let base = input.base_ref.as_deref().unwrap_or("the base ref");
    if changes.is_empty() {
        let _ = writeln!(s, "<p>None: every baseline is as at {}.</p>", esc(base));
    }
    for c in changes {
        blessed_one(s, c, base);
    }
    s.push_str("</section>\n");
}

fn blessed_one(s: &mut String, c: &BlessedChange, base: &str) {
    let (old, new) = match (&c.old, &c.new) {
        (None, Some(_)) => {
            let _ = writeln!(
                s,
                "<h3 id=\"{}\"><code>{}</code>: new baseline (none at {})</h3>",
                blessed_anchor(&c.scenario),
                esc(&c.scenario),
                esc(base)
            );
            return;
        }
        (Some(_), None) => {
            let _ = writeln!(
                s,
                "<h3 id=\"{}\"><code>{}</code>: baseline removed</h3>",
                blessed_anchor(&c.scenario),
                esc(&c.scenario)
            );
            return;
        }
        (Some(o), Some(n)) => (o, n),
        (None, None) => return,
    };
    let rows = blessed_rows(c);
    let _ = writeln!(
        s,
        "<h3 id=\"{}\"><code>{}</code>: {} metric(s) changed since {}</h3>",
        blessed_anchor(&c.scenario),
        esc(&c.scenario),
        rows.len(),
        esc(base)
    );
    if let Some(by) = &c.commit {
        let _ = writeln!(
            s,
            "<p class=\"meta\">blessed in <code>{}</code> {}{}</p>",
            esc(&by.id),
            esc(&by.subject),
            if by.date.is_empty() {
                String::new()
            } else {
                format!(" ({})", esc(&by.date))
            }
        );
    }
    let mut notes = Vec::new();
    if old.fingerprint != new.fingerprint {
        notes.push(format!(
            "the scenario changed (fingerprint {} → {})",
            old.fingerprint, new.fingerprint
        ));
    }
    for (name, record) in &new.invariants {
        let was = old.invariants.get(name);
        if was != Some(record) {
            notes.push(format!(
                "invariant `{name}`: {} → {}",
                was.map_or_else(|| "(none)".to_owned(), |r| r.describe(old.timeline.x_unit)),
                record.describe(new.timeline.x_unit)
            ));
        }
    }
    if !notes.is_empty() {
        s.push_str("<ul>\n");
        for n in notes {
            let _ = writeln!(s, "<li>{}</li>", esc(&n));
        }
        s.push_str("</ul>\n");
    }
    if !rows.is_empty() {
        let _ = writeln!(s, "<table>\n<thead><tr><th>metric</th><th class=\"num\">at {}</th><th class=\"num\">at head</th><th class=\"num\">Δ</th><th class=\"num\">Δ%</th><th></th></tr></thead>\n<tbody>", esc(base));
        for r in &rows {
            let _ = writeln!(
                s,
                "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                esc(&r.metric),
                fmt_opt(&r.metric, r.baseline),
                fmt_opt(&r.metric, r.current),
                fmt_delta(r),
                fmt_delta_rel(r),
                direction(r)
            );
        }
        s.push_str("</tbody>\n</table>\n");
    }
    let chart = Chart {
        unit: new.timeline.x_unit,
        baseline: Some(&old.timeline).filter(|t| !t.points.is_empty()),
        current: Some(&new.timeline).filter(|t| !t.points.is_empty()),
        bounds: Vec::new(),
        violation: None,
    };
    if chart.baseline.is_some() || chart.current.is_some() {
        let (svg, legend) = chart.residency(&format!("at {base}"), "at head");
        figure(
            s,
            "Total residency of the blessed baseline",
            &svg,
            &legend,
            None,
        );
    }
}

//! The report as GitHub-flavoured markdown, for one PR comment that CI updates in place.
//!
//! Charts are mermaid `xychart-beta` blocks, which GitHub renders without hosting images.

use super::svg::{trim_number, ByteAxis, BASELINE_COLOUR, CURRENT_COLOUR};
use super::{
    accepted, against_all, blessed_rows, blessed_sorted, commits_phrase, direction, fmt_at,
    fmt_delta, fmt_delta_rel, fmt_history_step, fmt_history_value, fmt_opt, fmt_rel, fmt_tol,
    invariant_line, nothing_shown, scope, series, summary, type_metric, unreadable_notes, views,
    without_result_headline, BlessedChange, HistoryInput, ReportInput, Shown, View, MARKER,
    TOP_MOVERS,
};
use crate::judge::compare::Row;
use crate::judge::verdict::Headline;
use crate::store::ChartTimeline;
use crate::units::fmt_bytes;
use std::fmt::Write as _;

/// At most this many x positions in a markdown chart.
const MD_CHART_POINTS: usize = 16;

/// The report as markdown: the marker comment, a summary line, then one section per scenario
/// that failed or moved, the unchanged ones folded, and the baselines changed in the PR.
pub fn markdown(input: &ReportInput) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{MARKER}");
    let _ = writeln!(s, "## Memory report\n");
    // What the PR accepts comes first: a reviewer who reads only the first lines must see it.
    let accepted = accepted(input);
    if !accepted.is_empty() {
        let _ = writeln!(
            s,
            "**This PR changes {}**, accepted with bless: review each as you review code.\n",
            plural(accepted.len(), "baseline", "baselines")
        );
        for a in &accepted {
            let by = a.commit.map_or_else(
                || " (not committed)".to_owned(),
                |c| format!(" · in {} {}", code(&c.id), text(&c.subject)),
            );
            let _ = writeln!(s, "- {} {}{by}", code(a.scenario), text(&a.what));
        }
        s.push('\n');
    }
    // A scenario refused, or without a result of this run, is said before the summary: the
    // summary counts only this run's results, and must not read as all green without it.
    if let Some(head) = without_result_headline(input) {
        let _ = writeln!(s, "**{}:**\n", text(&head));
        for n in &input.without_result {
            let _ = writeln!(s, "- {} {}", code(&n.scenario), text(&n.describe()));
        }
        s.push('\n');
    }
    let _ = writeln!(s, "**{}**\n", summary(input).line(&against_all(input)));
    let views = views(input);
    if !views.is_empty() {
        overview(&mut s, &views);
    }
    let (full, quiet): (Vec<&View>, Vec<&View>) = views.iter().partition(|v| v.interesting());
    for v in &full {
        scenario(&mut s, v, input);
    }
    if !quiet.is_empty() {
        let _ = writeln!(
            s,
            "<details><summary>{} passed with nothing moved beyond tolerance</summary>\n",
            plural(quiet.len(), "scenario", "scenarios")
        );
        let _ = writeln!(s, "| scenario | peak live | invariants |\n|:--|--:|:--|");
        for v in &quiet {
            let held = v.r.invariants.len();
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                code(v.name()),
                v.current_peak_text(),
                plural(held, "invariant held", "invariants held")
            );
        }
        let _ = writeln!(s, "\n</details>\n");
    }
    if input.base_ref.is_some() || !input.blessed.is_empty() {
        blessed(&mut s, input);
    }
    s
}

fn overview(s: &mut String, views: &[View]) {
    let _ = writeln!(
        s,
        "| | scenario | status | peak live: baseline → this run | Δ% |\n|:-:|:--|:--|--:|--:|"
    );
    for v in views {
        let (b, c) = v.peak();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} → {} | {} |",
            icon(v.status()),
            code(v.name()),
            v.status_text(),
            b.map_or("—".into(), fmt_bytes),
            v.current_peak_text(),
            fmt_rel(b, c)
        );
    }
    s.push('\n');
}

fn icon(st: Headline) -> &'static str {
    match st {
        Headline::Passed | Headline::LeakCaught => "✅",
        Headline::Improved => "⚠️",
        _ => "❌",
    }
}

fn scenario(s: &mut String, v: &View, input: &ReportInput) {
    let st = v.status();
    let _ = writeln!(s, "### {} {}: {}\n", icon(st), code(v.name()), st.word());
    let mut meta = format!(
        "{} · x: {} · compared with the {}",
        code(&v.r.path.display().to_string()),
        v.unit().label(),
        v.against(input)
    );
    if v.reblessed {
        meta.push_str(" · baseline re-blessed in this PR (see below)");
    }
    if v.new_at_base {
        meta.push_str(&format!(
            " · added in this PR: no baseline at {}",
            input.base_ref.as_deref().unwrap_or("the base ref")
        ));
    }
    let _ = writeln!(s, "{meta}\n");
    for reason in &v.reasons(&input.hints) {
        let _ = writeln!(s, "- {}", text(reason.lines().next().unwrap_or("")));
    }
    if !v.r.verdict.reasons.is_empty() {
        s.push('\n');
    }
    // The comment is read in seconds: the verdict and its reasons show, the evidence folds.
    let _ = writeln!(
        s,
        "<details><summary>Metrics, invariants and chart of {}</summary>\n",
        code_html(v.name())
    );
    if let Some(e) = &v.r.run_error {
        let _ = writeln!(
            s,
            "<details><summary>run error</summary>\n\n```text\n{}\n```\n\n</details>\n",
            e.trim_end()
        );
    }
    metrics(s, v);
    movers(s, v);
    invariants(s, v);
    if let Some(chart) = chart(v, &v.against(input)) {
        s.push_str(&chart);
    }
    let _ = writeln!(s, "</details>\n");
    if v.blessable() {
        let _ = writeln!(
            s,
            "To accept this run as the new baseline:\n\n```sh\n{}\n```\n",
            input.hints.bless_one(v.name())
        );
    } else if v.r.verdict.failed() && v.r.run_error.is_none() && !v.r.invariant_problems.is_empty()
    {
        let _ = writeln!(
            s,
            "Not blessable: `{}` refuses a run whose invariants fail; fix the cause first.\n",
            input.hints.bless
        );
    }
}

fn metrics(s: &mut String, v: &View) {
    let moved = v.moved_metrics();
    if !moved.is_empty() {
        let _ = writeln!(s, "| metric | baseline | this run | Δ | Δ% | tolerance | verdict |\n|:--|--:|--:|--:|--:|:--|:--|");
        for r in moved {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                code(&r.metric),
                fmt_opt(&r.metric, r.baseline),
                fmt_opt(&r.metric, r.current),
                fmt_delta(r),
                fmt_delta_rel(r),
                fmt_tol(&r.metric, &r.tolerance),
                verdict_word(r)
            );
        }
        s.push('\n');
    }
    let unchanged = v.unchanged();
    if !unchanged.is_empty() {
        let _ = writeln!(
            s,
            "<details><summary>{} unchanged</summary>\n",
            plural(unchanged.len(), "metric", "metrics")
        );
        let _ = writeln!(s, "| metric | value |\n|:--|--:|");
        for r in unchanged {
            let _ = writeln!(
                s,
                "| {} | {} |",
                code(&r.metric),
                fmt_opt(&r.metric, r.current)
            );
        }
        let _ = writeln!(s, "\n</details>\n");
    }
}

fn verdict_word(r: &Row) -> String {
    if r.verdict.fails() {
        format!("**{}**", r.verdict.word())
    } else {
        r.verdict.word().to_owned()
    }
}

fn movers(s: &mut String, v: &View) {
    let moved = v.moved_types();
    if moved.is_empty() {
        return;
    }
    let _ = writeln!(s, "**Top movers by type**\n");
    let row = |s: &mut String, r: &Row| {
        let (label, field) = type_metric(&r.metric).unwrap_or((&r.metric, ""));
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            code(label),
            field,
            fmt_opt(&r.metric, r.baseline),
            fmt_opt(&r.metric, r.current),
            fmt_delta(r),
            fmt_delta_rel(r),
            verdict_word(r)
        );
    };
    let header =
        "| type | metric | baseline | this run | Δ | Δ% | verdict |\n|:--|:--|--:|--:|--:|--:|:--|";
    let _ = writeln!(s, "{header}");
    for r in moved.iter().take(TOP_MOVERS) {
        row(s, r);
    }
    s.push('\n');
    if moved.len() > TOP_MOVERS {
        let _ = writeln!(
            s,
            "<details><summary>{} more per-type metrics moved</summary>\n\n{header}",
            moved.len() - TOP_MOVERS
        );
        for r in &moved[TOP_MOVERS..] {
            row(s, r);
        }
        let _ = writeln!(s, "\n</details>\n");
    }
}

fn invariants(s: &mut String, v: &View) {
    if v.r.invariants.is_empty() {
        return;
    }
    let _ = writeln!(s, "**Invariants**\n");
    for i in &v.r.invariants {
        let (ok, line) = invariant_line(v.unit(), i);
        let _ = writeln!(
            s,
            "- {} {} ({}): {}",
            if ok { "✅" } else { "❌" },
            code(&i.name),
            text(&i.during),
            text(&line)
        );
    }
    s.push('\n');
    for i in &v.r.invariants {
        if let crate::measure::invariant::Outcome::Violated(viol) = &i.outcome {
            let _ = writeln!(
                s,
                "<details><summary>Violation of {} explained</summary>\n\n```text\n{}```\n\n</details>\n",
                code_html(&i.name),
                viol.explain(v.unit())
            );
        }
    }
}

/// A mermaid `xychart-beta` of total residency: the baseline and this run as two lines over at
/// most [`MD_CHART_POINTS`] of this run's charted samples.
fn chart(v: &View, against: &str) -> Option<String> {
    let cur = v.current_timeline()?;
    let n = cur.points.len();
    let idx = charted_points(cur);
    let xs: Vec<u64> = idx.iter().map(|i| cur.points[*i].x).collect();
    let current: Vec<u64> = idx.iter().map(|i| cur.points[*i].live_bytes).collect();
    // The baseline at each x: its sample there, else its last sample before (said below).
    let (baseline, held) = match v.baseline_timeline() {
        Some(b) => {
            let (values, held) = baseline_at(b, &xs);
            (Some(values), held)
        }
        None => (None, false),
    };
    let max = current
        .iter()
        .chain(baseline.iter().flatten())
        .copied()
        .max()
        .unwrap_or(0) as f64;
    let (div, unit) = if max >= 1024.0 * 1024.0 {
        (1024.0 * 1024.0, "MiB")
    } else {
        (1024.0, "KiB")
    };
    let top = ByteAxis::new(max).top / div;
    let num = |b: &u64| format!("{:.2}", *b as f64 / div);
    let mut s = String::new();
    let _ = writeln!(s, "**Residency over {}**\n", v.unit().label());
    let _ = writeln!(s, "```mermaid");
    let palette = if baseline.is_some() {
        format!("{BASELINE_COLOUR}, {CURRENT_COLOUR}")
    } else {
        CURRENT_COLOUR.to_owned()
    };
    let _ = writeln!(
        s,
        r#"%%{{init: {{"themeVariables": {{"xyChart": {{"plotColorPalette": "{palette}"}}}}}}}}%%"#
    );
    let _ = writeln!(s, "xychart-beta");
    let _ = writeln!(
        s,
        "    x-axis \"{}\" [{}]",
        v.unit().label(),
        xs.iter()
            .map(|x| format!("\"{}\"", short(*x, xs.last().copied().unwrap_or(0))))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        s,
        "    y-axis \"{} ({unit})\" 0 --> {}",
        v.unit().residency_label(),
        trim_number(top)
    );
    if let Some(b) = &baseline {
        let _ = writeln!(
            s,
            "    line [{}]",
            b.iter().map(num).collect::<Vec<_>>().join(", ")
        );
    }
    let _ = writeln!(
        s,
        "    line [{}]",
        current.iter().map(num).collect::<Vec<_>>().join(", ")
    );
    let _ = writeln!(s, "```\n");
    let mut caption = String::new();
    if baseline.is_some() {
        let _ = write!(caption, "grey: {against} · ");
    }
    let _ = write!(
        caption,
        "blue: this run · {} of its {} charted samples",
        xs.len(),
        n
    );
    if held {
        caption.push_str(" · the baseline was sampled elsewhere: each value is its last sample at or before that x");
    }
    if let Some(stop) = v.r.stopped_at {
        let _ = write!(caption, " · the run stopped at {}", fmt_at(v.unit(), stop));
    }
    let _ = writeln!(s, "<sub>{}</sub>\n", text(&caption));
    Some(s)
}

/// The points a markdown chart shows: at most [`MD_CHART_POINTS`] spread evenly, and the peak.
fn charted_points(cur: &ChartTimeline) -> Vec<usize> {
    let n = cur.points.len();
    let k = n.min(MD_CHART_POINTS);
    let mut idx: Vec<usize> = if k <= 1 {
        vec![0]
    } else {
        (0..k).map(|i| i * (n - 1) / (k - 1)).collect()
    };
    if let Some((peak, _)) = cur
        .points
        .iter()
        .enumerate()
        .max_by_key(|(i, p)| (p.live_bytes, std::cmp::Reverse(*i)))
    {
        if !idx.contains(&peak) {
            idx.push(peak);
        }
    }
    idx.sort_unstable();
    idx.dedup();
    idx
}

/// The baseline's residency at each of `xs`: its sample there, else its last sample before
/// (its first when it has none before); and whether any value was taken from elsewhere.
fn baseline_at(b: &ChartTimeline, xs: &[u64]) -> (Vec<u64>, bool) {
    let mut held = false;
    let values = xs
        .iter()
        .map(|x| match b.points.iter().rev().find(|p| p.x <= *x) {
            Some(p) => {
                held |= p.x != *x;
                p.live_bytes
            }
            None => {
                held = true;
                b.points[0].live_bytes
            }
        })
        .collect();
    (values, held)
}

/// `12.5k`, `3M`: short x labels for chart categories, in one style along an axis ending at `max`.
fn short(x: u64, max: u64) -> String {
    match max {
        _ if x == 0 => "0".to_owned(),
        0..=9_999 => x.to_string(),
        10_000..=9_999_999 => format!("{}k", trim_number(x as f64 / 1e3)),
        _ => format!("{}M", trim_number(x as f64 / 1e6)),
    }
}

fn blessed(s: &mut String, input: &ReportInput) {
    let _ = writeln!(s, "### Baselines changed in this PR\n");
    let changes = blessed_sorted(input);
    if changes.is_empty() {
        let _ = writeln!(
            s,
            "None: every baseline is as at {}.\n",
            input.base_ref.as_deref().unwrap_or("the base ref")
        );
        return;
    }
    for c in changes {
        blessed_one(s, c, input);
    }
}

fn blessed_one(s: &mut String, c: &BlessedChange, input: &ReportInput) {
    let base = input.base_ref.as_deref().unwrap_or("base");
    match (&c.old, &c.new) {
        (None, Some(_)) => {
            let _ = writeln!(
                s,
                "- {}: new baseline (none at {base})\n",
                code(&c.scenario)
            );
            return;
        }
        (Some(_), None) => {
            let _ = writeln!(s, "- {}: baseline removed\n", code(&c.scenario));
            return;
        }
        (None, None) => return,
        (Some(_), Some(_)) => {}
    }
    let rows = blessed_rows(c);
    let by = c.commit.as_ref().map_or_else(String::new, |c| {
        format!(" (<code>{}</code>)", super::svg::esc(&c.id))
    });
    let _ = writeln!(
        s,
        "<details><summary>{}: {} changed since {}{by}</summary>\n",
        code_html(&c.scenario),
        plural(rows.len(), "metric", "metrics"),
        super::svg::esc(base)
    );
    if let (Some(o), Some(n)) = (&c.old, &c.new) {
        let mut notes = String::new();
        if o.fingerprint != n.fingerprint {
            let _ = writeln!(
                notes,
                "- the scenario changed (fingerprint {} → {})",
                code(&o.fingerprint),
                code(&n.fingerprint)
            );
        }
        for (name, new) in &n.invariants {
            let old = o.invariants.get(name);
            if old != Some(new) {
                let _ = writeln!(
                    notes,
                    "- invariant {}: {} → {}",
                    code(name),
                    text(
                        &old.map_or_else(|| "(none)".to_owned(), |r| r.describe(o.timeline.x_unit))
                    ),
                    text(&new.describe(n.timeline.x_unit))
                );
            }
        }
        if !notes.is_empty() {
            let _ = writeln!(s, "{notes}");
        }
    }
    if !rows.is_empty() {
        let _ = writeln!(
            s,
            "| metric | at {} | at head | Δ | Δ% | |\n|:--|--:|--:|--:|--:|:--|",
            text(base)
        );
        for r in &rows {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                code(&r.metric),
                fmt_opt(&r.metric, r.baseline),
                fmt_opt(&r.metric, r.current),
                fmt_delta(r),
                fmt_delta_rel(r),
                direction(r)
            );
        }
        s.push('\n');
    }
    let _ = writeln!(s, "</details>\n");
}

/// The history as markdown: per scenario, per metric shown, a table of the commits that moved it.
pub fn history_markdown(input: &HistoryInput) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## Baseline history\n");
    for n in scope(input) {
        let _ = writeln!(s, "{}\n", text(&n));
    }
    if input.scenarios.is_empty() {
        let _ = writeln!(s, "No baseline changed in the history seen.");
    }
    for h in &input.scenarios {
        let (shown, names) = series(h, input.metric.as_deref());
        let _ = writeln!(s, "### `{}`\n", h.scenario);
        let _ = writeln!(
            s,
            "{} · {} of {} metrics shown\n",
            text(&commits_phrase(h)),
            shown.len(),
            names.len()
        );
        for n in unreadable_notes(h) {
            let _ = writeln!(s, "{}\n", text(&n));
        }
        if shown.is_empty() {
            let _ = writeln!(s, "{}\n", text(&nothing_shown(input, h, &names)));
        }
        for se in &shown {
            let _ = writeln!(s, "**`{}`**\n", se.metric.replace('|', "\\|"));
            let _ = writeln!(
                s,
                "| commit | date | subject | value | Δ | Δ% |\n|:--|:--|:--|--:|--:|--:|"
            );
            for i in se.steps_or_removal() {
                let e = &h.entries[i];
                let prev = i.checked_sub(1).and_then(|j| se.values[j]);
                let (d, rel) = fmt_history_step(&se.metric, prev, se.values[i]);
                let _ = writeln!(
                    s,
                    "| `{}` | {} | {} | {} | {d} | {rel} |",
                    e.commit.id,
                    e.commit.date,
                    text(&e.commit.subject),
                    fmt_history_value(&se.metric, se.values[i])
                );
            }
            s.push('\n');
        }
    }
    s
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A code span, safe in table cells.
fn code(s: &str) -> String {
    let fence = if s.contains('`') { "``" } else { "`" };
    let pad = if s.contains('`') { " " } else { "" };
    format!("{fence}{pad}{}{pad}{fence}", s.replace('|', "\\|"))
}

/// A name inside an HTML `<summary>`, where markdown code spans do not render.
fn code_html(s: &str) -> String {
    format!("<code>{}</code>", super::svg::esc(s))
}

/// Free text from the input: `<`, `>` and `&` escaped outside code spans, `|` everywhere.
fn text(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 1 {
            out.push_str(part);
        } else {
            out.push_str(
                &part
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;"),
            );
        }
    }
    out.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_x_labels() {
        assert_eq!(short(0, 30), "0");
        assert_eq!(short(9_000, 9_000), "9000");
        assert_eq!(short(5_000, 200_000), "5k");
        assert_eq!(short(12_500, 200_000), "12.5k");
        assert_eq!(short(3_000_000, 3_000_000), "3000k");
        assert_eq!(short(30_000_000, 30_000_000), "30M");
    }

    #[test]
    fn text_escapes_outside_code_only() {
        assert_eq!(
            text("count of `Signal<*>::Cons` <= 5"),
            "count of `Signal<*>::Cons` &lt;= 5"
        );
        assert_eq!(code("a|b"), "`a\\|b`");
    }
}

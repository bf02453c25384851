//! `HistoryInput`: how each metric of a scenario's baseline moved over the git history of
//! `baselines/`, as markdown and as one self-contained HTML page with a step chart per metric.
//!
//! ```text
//! let input = HistoryInput { scenarios, metric: None, since: None, shallow: None };
//! let md = report::history::markdown(&input);
//! let page = report::history::html(&input);
//! ```
//!
//! Pure, like the rest of `report/`: the front end walks the git history (`git log`, `git show`)
//! and passes, per scenario, the baseline as committed at each commit that changed its file
//! (absent where the commit deleted it). A value is shown at the commits that moved it; nothing
//! between commits is inferred.

use super::svg::{esc, history_chart};
use super::Commit;
use crate::judge::compare::fmt_value;
use crate::store::Baseline;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Everything a history shows.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HistoryInput {
    /// One history per scenario, in the order shown.
    pub scenarios: Vec<ScenarioHistory>,
    /// Only this metric (a flat name, `types.<label>.<field>` for per-type ones); `None`: every
    /// metric whose value changed.
    #[serde(default)]
    pub metric: Option<String>,
    /// The ref the history starts after (`--since`), when limited.
    #[serde(default)]
    pub since: Option<String>,
    /// Set when the repository is a shallow clone: the history may begin later than the
    /// baselines did.
    #[serde(default)]
    pub shallow: Option<Shallow>,
}

/// How far a shallow clone let the front end see.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Shallow {
    /// The oldest commit seen that changed a baseline, if any.
    pub oldest: Option<Commit>,
    /// How many commits of the clone's history were visible.
    pub depth: usize,
}

/// One scenario's baseline over the commits that changed its file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ScenarioHistory {
    /// The scenario.
    pub scenario: String,
    /// Oldest first.
    pub entries: Vec<HistoryEntry>,
}

/// The baseline as one commit left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The commit.
    pub commit: Commit,
    /// The baseline at that commit; `None` where the commit deleted it (or, for the starting
    /// point of `--since`, where it did not exist yet).
    pub baseline: Option<Baseline>,
}

/// One metric's values along a scenario's entries.
struct Series {
    metric: String,
    values: Vec<Option<f64>>,
}

impl Series {
    /// Indices of the entries where the value differs from the entry before (the first entry
    /// that has a value counts as a move from nothing).
    fn steps(&self) -> Vec<usize> {
        (0..self.values.len())
            .filter(|&i| {
                if i == 0 {
                    self.values[0].is_some()
                } else {
                    self.values[i] != self.values[i - 1]
                }
            })
            .collect()
    }

    fn changed(&self) -> bool {
        self.values.windows(2).any(|w| w[0] != w[1])
    }
}

/// The metrics shown for one scenario, and the names of all it had.
fn series(h: &ScenarioHistory, only: Option<&str>) -> (Vec<Series>, BTreeSet<String>) {
    let flat: Vec<_> = h
        .entries
        .iter()
        .map(|e| {
            e.baseline
                .as_ref()
                .map(|b| crate::measure::metrics::flatten(&b.metrics, &b.types))
                .unwrap_or_default()
        })
        .collect();
    let names: BTreeSet<String> = flat.iter().flat_map(|m| m.keys().cloned()).collect();
    let shown = names
        .iter()
        .filter(|n| only.is_none_or(|m| m == n.as_str()))
        .map(|n| Series {
            metric: n.clone(),
            values: flat.iter().map(|m| m.get(n).map(|v| v.as_f64())).collect(),
        })
        .filter(|s| only.is_some() || s.changed())
        .collect();
    (shown, names)
}

/// Notes on what the history covers: `--since`, a shallow clone.
fn scope(input: &HistoryInput) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(r) = &input.since {
        notes.push(format!(
            "Commits after {r}; the first row of each table is the value at {r}."
        ));
    }
    if let Some(sh) = &input.shallow {
        let from = sh.oldest.as_ref().map_or_else(
            || "no commit that changed a baseline".to_owned(),
            |c| format!("back to {} ({}, {})", c.id, c.date, c.subject),
        );
        notes.push(format!(
            "Shallow clone: git could see {} commit(s), {from}; older changes are not shown (hint: `git fetch --unshallow` to see them all).",
            sh.depth
        ));
    }
    notes
}

/// What one scenario's section says when no metric is shown.
fn nothing_shown(input: &HistoryInput, h: &ScenarioHistory, names: &BTreeSet<String>) -> String {
    let only = input.metric.as_deref();
    match only {
        Some(m) if !names.contains(m) => format!(
            "No metric `{m}` in any of its baselines (metrics: {}).",
            names.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
        _ if h.entries.len() <= 1 => match &input.since {
            Some(r) => format!("No commit after {r} changed it."),
            None => "Blessed once: no metric has changed since.".to_owned(),
        },
        _ => "No metric changed (the commits changed only recorded facts such as the toolchain or the timeline).".to_owned(),
    }
}

fn fmt_v(metric: &str, v: Option<f64>) -> String {
    v.map_or_else(|| "— (no baseline)".to_owned(), |v| fmt_value(metric, v))
}

fn fmt_step(metric: &str, old: Option<f64>, new: Option<f64>) -> (String, String) {
    match (old, new) {
        (Some(o), Some(n)) => {
            let d = n - o;
            let abs = format!("{}{}", if d > 0.0 { "+" } else { "" }, fmt_value(metric, d));
            let rel = if o != 0.0 {
                format!("{:+.1}%", d / o.abs() * 100.0)
            } else {
                String::new()
            };
            (abs, rel)
        }
        _ => (String::new(), String::new()),
    }
}

fn commits_phrase(h: &ScenarioHistory) -> String {
    let n = h.entries.len();
    format!(
        "{n} commit{} changed `baselines/{}.json`",
        if n == 1 { "" } else { "s" },
        h.scenario
    )
}

/// The history as markdown: per scenario, per metric shown, a table of the commits that moved it.
pub fn markdown(input: &HistoryInput) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## Baseline history\n");
    for n in scope(input) {
        let _ = writeln!(s, "{}\n", md_text(&n));
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
            md_text(&commits_phrase(h)),
            shown.len(),
            names.len()
        );
        if shown.is_empty() {
            let _ = writeln!(s, "{}\n", md_text(&nothing_shown(input, h, &names)));
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
                let (d, rel) = fmt_step(&se.metric, prev, se.values[i]);
                let _ = writeln!(
                    s,
                    "| `{}` | {} | {} | {} | {d} | {rel} |",
                    e.commit.id,
                    e.commit.date,
                    md_text(&e.commit.subject),
                    fmt_v(&se.metric, se.values[i])
                );
            }
            s.push('\n');
        }
    }
    s
}

impl Series {
    /// The entries a table lists: every step, and a removal (a value gone) too.
    fn steps_or_removal(&self) -> Vec<usize> {
        let steps = self.steps();
        if steps.is_empty() && !self.values.is_empty() {
            // Shown on request but never set: one row says so.
            return vec![0];
        }
        steps
    }
}

const STYLE: &str = r#"
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1b1b1b; background: #fff; margin: 0; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 26px; margin: 0 0 6px; }
h2 { font-size: 21px; margin: 36px 0 4px; padding-top: 12px; border-top: 2px solid #ddd; }
h3 { font-size: 16px; margin: 20px 0 6px; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 13px; }
.meta, .note { color: #555; margin: 0 0 10px; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 14px; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f3f3f1; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
svg.chart { width: 100%; height: auto; display: block; font-size: 12px; font-family: inherit; }
svg.chart text { fill: #333; }
"#;

/// The history as one self-contained HTML page: per scenario, per metric shown, a step chart
/// (a step at each commit that moved it) and the table of those commits.
pub fn html(input: &HistoryInput) -> String {
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>membound baseline history</title>\n");
    let _ = writeln!(s, "<style>{STYLE}</style>\n</head>\n<body>\n<main>");
    let _ = writeln!(s, "<h1>Baseline history</h1>");
    for n in scope(input) {
        let _ = writeln!(s, "<p class=\"note\">{}</p>", esc(&n));
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
                let (d, rel) = fmt_step(&se.metric, prev, se.values[i]);
                let _ = writeln!(
                    s,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                    esc(&e.commit.id),
                    esc(&e.commit.date),
                    esc(&e.commit.subject),
                    esc(&fmt_v(&se.metric, se.values[i])),
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

/// Free text in markdown: HTML and table syntax escaped.
fn md_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series_of(values: &[Option<f64>]) -> Series {
        Series {
            metric: "m".into(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn steps_are_the_commits_that_moved_a_value() {
        let s = series_of(&[Some(1.0), Some(1.0), Some(2.0), None, Some(2.0)]);
        assert_eq!(s.steps(), vec![0, 2, 3, 4]);
        assert!(s.changed());
        let s = series_of(&[None, Some(3.0), Some(3.0)]);
        assert_eq!(s.steps(), vec![1]);
        assert!(!series_of(&[Some(1.0), Some(1.0)]).changed());
    }
}

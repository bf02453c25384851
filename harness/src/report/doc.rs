//! The report as data, built once from a `ReportInput`: what shows, in what order and in what
//! words. `markdown` and `html` only render it (escaping, syntax, colours by `Kind`). The
//! baseline history is built the same way from a `HistoryInput`, and the page of an
//! exploration from an `Exploration`.
//!
//! ```text
//! let blocks = doc::report(&input);   // title, accepted changes, summary, overview, scenarios …
//! report::markdown(&input)            // the PR comment: the marker, then the blocks
//! report::html(&input)                // the page: head and style, then the blocks
//! let blocks = doc::history(&input);  // title, scope, per scenario its metrics' commits
//! report::history_markdown(&input)    // the blocks
//! report::history_html(&input)        // the page: head and style, then the blocks
//! let blocks = doc::explore(&found);  // title, lengths and warm-up, evidence, per label a chart
//! report::explore_html(&found)        // the page: head and style, then the blocks
//! ```
//!
//! Where the comment and the page differ on purpose (the comment folds evidence and draws a
//! mermaid chart, the page shows SVG figures and links), the model says so with `Only` and
//! `Fold`: the difference is decided here, not in a renderer.

use super::svg::{Chart, Legend};
use super::{
    accepted, against_all, blessed_rows, blessed_sorted, commits_phrase, direction, fmt_delta,
    fmt_delta_rel, fmt_history_step, fmt_history_value, fmt_opt, fmt_rel, fmt_tol, invariant_line,
    nothing_shown, scope, series, summary, type_metric, unreadable_notes, views,
    without_result_headline, BlessedChange, HistoryInput, ReportInput, ScenarioHistory, Series,
    Shown, View, TOP_MOVERS,
};
use crate::explore::Exploration;
use crate::judge::compare::{Row, RowVerdict};
use crate::judge::verdict::Headline;
use crate::measure::invariant::Outcome;
use crate::units::fmt_bytes;

/// The output a part of the report is for, where the comment and the page differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// The PR comment.
    Markdown,
    /// The self-contained page.
    Html,
}

/// What a status, verdict or mark stands for, which each renderer colours its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Passed, held, within tolerance.
    Pass,
    /// Better than the baseline: bless to lock it in.
    Improved,
    /// Not run.
    Skipped,
    /// Failed, violated, regressed.
    Fail,
}

impl Kind {
    /// How the overview and headings show a verdict's headline.
    pub(super) fn of(h: Headline) -> Kind {
        match h {
            Headline::Passed | Headline::LeakCaught => Kind::Pass,
            Headline::Improved => Kind::Improved,
            Headline::Skipped => Kind::Skipped,
            _ => Kind::Fail,
        }
    }

    /// How a table shows a metric row's verdict.
    fn of_row(v: RowVerdict) -> Kind {
        match v {
            RowVerdict::Improved => Kind::Improved,
            v if v.fails() => Kind::Fail,
            _ => Kind::Pass,
        }
    }
}

/// A run of text.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Inline {
    /// Text from the input (names, messages, subjects): each renderer escapes it fully.
    Text(String),
    /// The report's own words and figures, which markdown writes as they are (so do the few
    /// input names the comment has always written unescaped, such as the base ref); HTML
    /// escapes it.
    Plain(String),
    /// A name or command, in code.
    Code(String),
    /// Emphasis.
    Strong(Vec<Inline>),
    /// A link to an anchor of the page (the comment has no anchors: it shows the body).
    Link {
        /// The anchor's id.
        to: String,
        /// What is linked.
        body: Vec<Inline>,
    },
    /// A status in words, coloured by its kind.
    Badge(Kind, String),
    /// A status as a sign.
    Icon(Kind),
    /// Text only one output shows.
    Only(Target, Vec<Inline>),
}

/// A line of inlines.
pub(super) type Line = Vec<Inline>;

/// What a paragraph is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Para {
    /// Ordinary text.
    Body,
    /// The one-line summary a reader sees first.
    Lead,
    /// Where a section's figures come from.
    Meta,
    /// A remark beside a chart.
    Note,
    /// A caption under a chart, in small print.
    Small,
    /// The page's last words.
    Footer,
}

/// A box that stands out from the text around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Callout {
    /// What the PR accepts (baselines it changed).
    Accepted,
    /// Scenarios without a result from this run.
    Missing,
}

/// A column's alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Centre,
    /// Figures.
    Right,
}

/// A table column.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Column {
    /// Its header.
    pub head: Line,
    /// Its alignment.
    pub align: Align,
}

/// A table cell.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Cell {
    /// Its content.
    pub content: Line,
    /// A verdict it shows, when it shows one.
    pub kind: Option<Kind>,
}

/// A table.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Table {
    /// A CSS class the page gives it.
    pub class: Option<&'static str>,
    /// The columns.
    pub columns: Vec<Column>,
    /// The rows, one cell per column.
    pub rows: Vec<Vec<Cell>>,
    /// Whether the page shows the header (a markdown table always has one).
    pub html_head: bool,
}

/// A part of the report.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Block {
    /// A heading: 1 for the report's title, 2 for a section, 3 within one.
    Heading {
        /// Its level.
        level: u8,
        /// The id the page gives it.
        anchor: Option<String>,
        /// Its text.
        text: Line,
    },
    /// A paragraph.
    Para(Para, Line),
    /// A bulleted list, with the CSS class the page gives it.
    List(Option<&'static str>, Vec<Line>),
    /// A table.
    Table(Table),
    /// Folded in both outputs.
    Details {
        /// What shows when folded.
        summary: Line,
        /// What unfolds.
        body: Vec<Block>,
    },
    /// The evidence the comment folds (it is read in seconds) and the page shows open.
    Fold {
        /// What shows when folded.
        summary: Line,
        /// The evidence.
        body: Vec<Block>,
    },
    /// Preformatted text: a command, an error, an explanation, a chart's source.
    Code {
        /// The language of a markdown fence.
        lang: &'static str,
        /// A CSS class the page gives it.
        class: Option<&'static str>,
        /// The text, ending with a newline.
        text: String,
    },
    /// An SVG chart with its legend (opaque to the model).
    Figure {
        /// What it shows.
        caption: String,
        /// The drawing.
        svg: String,
        /// Its legend.
        legend: Vec<Legend>,
        /// A remark under it.
        note: Option<String>,
    },
    /// An SVG chart standing alone, without caption or legend: the heading above it says what
    /// it shows (opaque to the model; the comment cannot hold one).
    Chart(String),
    /// A section the page can link to.
    Section {
        /// Its id.
        anchor: String,
        /// Its blocks.
        body: Vec<Block>,
    },
    /// Blocks set apart from the text around them.
    Callout(Callout, Vec<Block>),
    /// Blocks only one output shows.
    Only(Target, Vec<Block>),
}

fn plain(s: impl Into<String>) -> Inline {
    Inline::Plain(s.into())
}

fn text(s: impl Into<String>) -> Inline {
    Inline::Text(s.into())
}

fn code(s: impl Into<String>) -> Inline {
    Inline::Code(s.into())
}

fn md(inlines: Line) -> Inline {
    Inline::Only(Target::Markdown, inlines)
}

fn html(inlines: Line) -> Inline {
    Inline::Only(Target::Html, inlines)
}

fn heading(level: u8, text: Line) -> Block {
    Block::Heading {
        level,
        anchor: None,
        text,
    }
}

fn cell(content: Line) -> Cell {
    Cell {
        content,
        kind: None,
    }
}

fn figures(s: impl Into<String>) -> Cell {
    cell(vec![plain(s)])
}

fn columns(heads: &[(&str, Align)]) -> Vec<Column> {
    heads
        .iter()
        .map(|(h, align)| Column {
            head: if h.is_empty() {
                vec![]
            } else {
                vec![plain(*h)]
            },
            align: *align,
        })
        .collect()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A scenario's section id.
pub(super) fn anchor(name: &str) -> String {
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

/// The id of a scenario's entry among the baselines changed in the PR.
fn blessed_anchor(name: &str) -> String {
    format!("b{}", anchor(name))
}

/// The whole report: what the PR accepts and what has no result come first, then the summary,
/// the overview, a section per scenario and the baselines the PR changed.
pub(super) fn report(input: &ReportInput) -> Vec<Block> {
    let mut out = vec![heading(1, vec![plain("Memory report")])];
    // What the PR accepts comes first: a reviewer who reads only the first lines must see it.
    out.extend(accepted_changes(input));
    // Said before the summary, which counts only this run's results and must not read as all
    // green without them.
    out.extend(missing(input));
    out.push(Block::Para(
        Para::Lead,
        vec![plain(summary(input).line(&against_all(input)))],
    ));
    let views = views(input);
    if !views.is_empty() {
        out.extend(overview(&views));
    }
    // The comment shows a section only where a reader needs it, the rest as one folded table;
    // the page shows every scenario.
    let mut quiet = Vec::new();
    for v in &views {
        let section = scenario(v, input);
        if v.interesting() {
            out.push(section);
        } else {
            out.push(Block::Only(Target::Html, vec![section]));
            quiet.push(v);
        }
    }
    if !quiet.is_empty() {
        out.push(Block::Only(Target::Markdown, vec![quiet_table(&quiet)]));
    }
    if input.base_ref.is_some() || !input.blessed.is_empty() {
        out.push(blessed(input));
    }
    out.push(Block::Only(Target::Html, vec![footer(input)]));
    out
}

/// The baselines the PR changes, one line each, linked to their entry below.
fn accepted_changes(input: &ReportInput) -> Option<Block> {
    let accepted = accepted(input);
    if accepted.is_empty() {
        return None;
    }
    let items = accepted
        .iter()
        .map(|a| {
            let mut line = vec![
                Inline::Link {
                    to: blessed_anchor(a.scenario),
                    body: vec![code(a.scenario)],
                },
                plain(" "),
                text(&a.what),
            ];
            match a.commit {
                Some(c) => {
                    line.extend([plain(" · in "), code(&c.id), plain(" "), text(&c.subject)])
                }
                None => line.push(plain(" (not committed)")),
            }
            line
        })
        .collect();
    Some(Block::Callout(
        Callout::Accepted,
        vec![
            Block::Para(
                Para::Body,
                vec![
                    Inline::Strong(vec![
                        plain("This PR changes "),
                        md(vec![plain(plural(accepted.len(), "baseline", "baselines"))]),
                        html(vec![plain(format!("{} baseline(s)", accepted.len()))]),
                    ]),
                    plain(", accepted with bless: review each as you review code."),
                ],
            ),
            Block::List(None, items),
        ],
    ))
}

/// The scenarios without a result from this run, and why.
fn missing(input: &ReportInput) -> Option<Block> {
    let head = without_result_headline(input)?;
    let items = input
        .without_result
        .iter()
        .map(|n| vec![code(&n.scenario), plain(" "), text(n.describe())])
        .collect();
    Some(Block::Callout(
        Callout::Missing,
        vec![
            Block::Para(
                Para::Body,
                vec![Inline::Strong(vec![text(head), plain(":")])],
            ),
            Block::List(None, items),
        ],
    ))
}

/// One row per scenario: its status and peak. The page adds how many metrics moved and how
/// its invariants came out; the comment puts the peaks in one column.
pub(super) fn overview(views: &[View]) -> Vec<Block> {
    let mut comment = Table {
        class: None,
        columns: columns(&[
            ("", Align::Centre),
            ("scenario", Align::Left),
            ("status", Align::Left),
            ("peak live: baseline → this run", Align::Right),
            ("Δ%", Align::Right),
        ]),
        rows: Vec::new(),
        html_head: true,
    };
    let mut page = Table {
        class: Some("overview"),
        columns: columns(&[
            ("scenario", Align::Left),
            ("status", Align::Left),
            ("peak live: baseline", Align::Right),
            ("this run", Align::Right),
            ("Δ%", Align::Right),
            ("metrics moved", Align::Right),
            ("invariants", Align::Left),
        ]),
        rows: Vec::new(),
        html_head: true,
    };
    for v in views {
        let (b, c) = v.peak();
        let kind = Kind::of(v.status());
        let name = cell(vec![Inline::Link {
            to: anchor(v.name()),
            body: vec![code(v.name())],
        }]);
        let status = cell(vec![Inline::Badge(kind, v.status_text())]);
        let base = b.map_or("—".into(), fmt_bytes);
        let rel = fmt_rel(b, c);
        let moved = v
            .rows
            .iter()
            .filter(|r| r.verdict != RowVerdict::Equal)
            .count();
        comment.rows.push(vec![
            cell(vec![Inline::Icon(kind)]),
            name.clone(),
            status.clone(),
            figures(format!("{base} → {}", v.current_peak_text())),
            figures(rel.clone()),
        ]);
        page.rows.push(vec![
            name,
            status,
            figures(base),
            figures(v.current_peak_text()),
            figures(rel),
            figures(moved.to_string()),
            figures(invariant_counts(v)),
        ]);
    }
    vec![
        Block::Only(Target::Markdown, vec![Block::Table(comment)]),
        Block::Only(Target::Html, vec![Block::Table(page)]),
    ]
}

/// `3 held, 1 caught as expected, 1 violated, 1 not reached`.
fn invariant_counts(v: &View) -> String {
    let invariants = &v.r.invariants;
    let held = invariants
        .iter()
        .filter(|i| matches!(i.outcome, Outcome::Held { .. }))
        .count();
    let violated = |expected: bool| {
        invariants
            .iter()
            .filter(|i| {
                i.expected_violation == expected && matches!(i.outcome, Outcome::Violated(_))
            })
            .count()
    };
    let (caught, violated) = (violated(true), violated(false));
    let other = invariants.len() - held - caught - violated;
    let mut out = format!("{held} held");
    if caught > 0 {
        out.push_str(&format!(", {caught} caught as expected"));
    }
    if violated > 0 {
        out.push_str(&format!(", {violated} violated"));
    }
    if other > 0 {
        out.push_str(&format!(", {other} not reached"));
    }
    out
}

/// One scenario: its verdict and why, then the evidence (metrics, types, invariants, charts),
/// then what to do about it.
pub(super) fn scenario(v: &View, input: &ReportInput) -> Block {
    let kind = Kind::of(v.status());
    let mut body = vec![
        heading(
            2,
            vec![
                md(vec![
                    Inline::Icon(kind),
                    plain(" "),
                    code(v.name()),
                    plain(format!(": {}", v.status().word())),
                ]),
                html(vec![
                    code(v.name()),
                    plain(" "),
                    Inline::Badge(kind, v.status_text()),
                ]),
            ],
        ),
        Block::Para(Para::Meta, meta(v, input)),
    ];
    if !v.r.verdict.reasons.is_empty() {
        // The comment gives each reason's first line; the page, all of it.
        let items = v
            .reasons(&input.hints)
            .iter()
            .map(|r| {
                vec![
                    md(vec![text(r.lines().next().unwrap_or(""))]),
                    html(vec![text(r.trim_end())]),
                ]
            })
            .collect();
        body.push(Block::List(Some("reasons"), items));
    }
    body.push(Block::Fold {
        summary: vec![plain("Metrics, invariants and chart of "), code(v.name())],
        body: evidence(v, input),
    });
    body.extend(bless(v, input));
    Block::Section {
        anchor: anchor(v.name()),
        body,
    }
}

/// Where the scenario's figures come from and what they are compared with.
fn meta(v: &View, input: &ReportInput) -> Line {
    let mut line = vec![
        code(v.r.path.display().to_string()),
        plain(format!(
            " · x: {} · compared with the {}",
            v.unit().label(),
            v.against(input)
        )),
    ];
    if v.reblessed {
        line.push(plain(" · baseline re-blessed in this PR"));
        line.push(md(vec![plain(" (see below)")]));
    }
    if v.new_at_base {
        line.push(plain(format!(
            " · added in this PR: no baseline at {}",
            input.base_ref.as_deref().unwrap_or("the base ref")
        )));
    }
    line
}

/// The run error, the charts, metrics, movers and invariants. The page charts first; the
/// comment ends with its one chart.
fn evidence(v: &View, input: &ReportInput) -> Vec<Block> {
    let mut out = Vec::new();
    if let Some(e) = &v.r.run_error {
        let error = Block::Code {
            lang: "text",
            class: None,
            text: format!("{}\n", e.trim_end()),
        };
        out.push(Block::Only(
            Target::Markdown,
            vec![Block::Details {
                summary: vec![plain("run error")],
                body: vec![error.clone()],
            }],
        ));
        out.push(Block::Only(
            Target::Html,
            vec![heading(3, vec![plain("Run error")]), error],
        ));
    }
    out.push(Block::Only(Target::Html, charts(v, input)));
    out.extend(metrics(v));
    out.extend(movers(v));
    out.extend(invariants(v));
    if let Some(chart) = super::mermaid::residency(v, &v.against(input)) {
        out.push(Block::Only(
            Target::Markdown,
            vec![
                heading(
                    3,
                    vec![plain(format!("Residency over {}", v.unit().label()))],
                ),
                Block::Code {
                    lang: "mermaid",
                    class: None,
                    text: chart.source,
                },
                Block::Para(Para::Small, vec![text(chart.caption)]),
            ],
        ));
    }
    out
}

/// The command that accepts the run, or why none will.
fn bless(v: &View, input: &ReportInput) -> Vec<Block> {
    if v.blessable() {
        let command = input.hints.bless_one(v.name());
        let say = "To accept this run as the new baseline:";
        vec![
            Block::Only(
                Target::Markdown,
                vec![
                    Block::Para(Para::Body, vec![plain(say)]),
                    Block::Code {
                        lang: "sh",
                        class: None,
                        text: format!("{command}\n"),
                    },
                ],
            ),
            Block::Only(
                Target::Html,
                vec![Block::Para(
                    Para::Body,
                    vec![plain(format!("{say} ")), code(command)],
                )],
            ),
        ]
    } else if v.r.verdict.failed() && v.r.run_error.is_none() && !v.r.invariant_problems.is_empty()
    {
        vec![Block::Para(
            Para::Body,
            vec![
                plain("Not blessable: "),
                code(&input.hints.bless),
                plain(" refuses a run whose invariants fail; fix the cause first."),
            ],
        )]
    } else {
        Vec::new()
    }
}

/// The page's charts: residency against the baseline, and this run's types as stacked bands.
fn charts(v: &View, input: &ReportInput) -> Vec<Block> {
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
        return vec![Block::Para(
            Para::Note,
            vec![plain("No timeline to chart.")],
        )];
    }
    let against = v.against(input);
    let (svg, legend) = chart.residency(&against, "this run");
    let mut out = vec![Block::Figure {
        caption: "Total residency over time".into(),
        svg,
        legend,
        note: samples_note(v),
    }];
    if let Some((svg, legend)) = chart.by_type(&against) {
        out.push(Block::Figure {
            caption: "Live bytes by type (this run), with the baseline's total".into(),
            svg,
            legend,
            note: None,
        });
    }
    out
}

/// How many samples the residency chart draws, and where the run stopped.
fn samples_note(v: &View) -> Option<String> {
    let cur = v.current_timeline()?;
    let mut n = format!("{} charted samples of this run", cur.points.len());
    if let Some(b) = v.baseline_timeline() {
        n.push_str(&format!(", {} of the baseline", b.points.len()));
    }
    if let Some(stop) = v.r.stopped_at {
        n.push_str(&format!(
            "; the run stopped at {}",
            super::fmt_at(v.unit(), stop)
        ));
    }
    Some(n + ".")
}

/// A row verdict's cell.
fn verdict_cell(r: &Row) -> Cell {
    Cell {
        content: vec![plain(r.verdict.word())],
        kind: Some(Kind::of_row(r.verdict)),
    }
}

/// The whole-run metrics that moved, with their tolerances and verdicts; the unchanged ones
/// folded.
pub(super) fn metrics(v: &View) -> Vec<Block> {
    let mut out = Vec::new();
    let moved = v.moved_metrics();
    if !moved.is_empty() {
        out.push(Block::Only(
            Target::Html,
            vec![heading(3, vec![plain("Metrics that moved")])],
        ));
        out.push(Block::Table(Table {
            class: None,
            columns: columns(&[
                ("metric", Align::Left),
                ("baseline", Align::Right),
                ("this run", Align::Right),
                ("Δ", Align::Right),
                ("Δ%", Align::Right),
                ("tolerance", Align::Left),
                ("verdict", Align::Left),
            ]),
            rows: moved
                .iter()
                .map(|r| {
                    vec![
                        cell(vec![code(&r.metric)]),
                        figures(fmt_opt(&r.metric, r.baseline)),
                        figures(fmt_opt(&r.metric, r.current)),
                        figures(fmt_delta(r)),
                        figures(fmt_delta_rel(r)),
                        figures(fmt_tol(&r.metric, &r.tolerance)),
                        verdict_cell(r),
                    ]
                })
                .collect(),
            html_head: true,
        }));
    }
    let unchanged = v.unchanged();
    if !unchanged.is_empty() {
        let n = unchanged.len();
        out.push(Block::Details {
            summary: vec![
                md(vec![plain(format!(
                    "{} unchanged",
                    plural(n, "metric", "metrics")
                ))]),
                html(vec![plain(format!("{n} unchanged metric(s)"))]),
            ],
            body: vec![Block::Table(Table {
                class: None,
                columns: columns(&[("metric", Align::Left), ("value", Align::Right)]),
                rows: unchanged
                    .iter()
                    .map(|r| {
                        vec![
                            cell(vec![code(&r.metric)]),
                            figures(fmt_opt(&r.metric, r.current)),
                        ]
                    })
                    .collect(),
                html_head: false,
            })],
        });
    }
    out
}

/// The per-type metrics that moved, largest first: the comment lists the top
/// [`TOP_MOVERS`] and folds the rest; the page lists them all.
pub(super) fn movers(v: &View) -> Vec<Block> {
    let moved = v.moved_types();
    if moved.is_empty() {
        return Vec::new();
    }
    let rows: Vec<Vec<Cell>> = moved
        .iter()
        .map(|r| {
            let (label, field) = type_metric(&r.metric).unwrap_or((&r.metric, ""));
            vec![
                cell(vec![code(label)]),
                cell(vec![plain(field)]),
                figures(fmt_opt(&r.metric, r.baseline)),
                figures(fmt_opt(&r.metric, r.current)),
                figures(fmt_delta(r)),
                figures(fmt_delta_rel(r)),
                verdict_cell(r),
            ]
        })
        .collect();
    let table = |rows: &[Vec<Cell>]| {
        Block::Table(Table {
            class: None,
            columns: columns(&[
                ("type", Align::Left),
                ("metric", Align::Left),
                ("baseline", Align::Right),
                ("this run", Align::Right),
                ("Δ", Align::Right),
                ("Δ%", Align::Right),
                ("verdict", Align::Left),
            ]),
            rows: rows.to_vec(),
            html_head: true,
        })
    };
    let top = rows.len().min(TOP_MOVERS);
    let mut comment = vec![table(&rows[..top])];
    if rows.len() > TOP_MOVERS {
        comment.push(Block::Details {
            summary: vec![plain(format!(
                "{} more per-type metrics moved",
                rows.len() - TOP_MOVERS
            ))],
            body: vec![table(&rows[TOP_MOVERS..])],
        });
    }
    vec![
        heading(
            3,
            vec![
                md(vec![plain("Top movers by type")]),
                html(vec![plain("Movers by type")]),
            ],
        ),
        Block::Only(Target::Markdown, comment),
        Block::Only(Target::Html, vec![table(&rows)]),
    ]
}

/// Each invariant's outcome, then each violation explained (on the page, with what retains
/// the growth when that was found).
pub(super) fn invariants(v: &View) -> Vec<Block> {
    if v.r.invariants.is_empty() {
        return Vec::new();
    }
    let items =
        v.r.invariants
            .iter()
            .map(|i| {
                let (ok, line) = invariant_line(v.unit(), i);
                let bound = i.max_live_bytes.map_or(String::new(), |b| {
                    format!(" [bound {}]", fmt_bytes(b as f64))
                });
                vec![
                    Inline::Icon(if ok { Kind::Pass } else { Kind::Fail }),
                    plain(" "),
                    code(&i.name),
                    plain(" ("),
                    text(&i.during),
                    plain(")"),
                    html(vec![plain(bound)]),
                    plain(": "),
                    text(line),
                ]
            })
            .collect();
    let mut out = vec![
        heading(3, vec![plain("Invariants")]),
        Block::List(Some("invariants"), items),
    ];
    for i in &v.r.invariants {
        let Outcome::Violated(viol) = &i.outcome else {
            continue;
        };
        let explained = |class| Block::Code {
            lang: "text",
            class,
            text: viol.explain(v.unit()),
        };
        out.push(Block::Only(
            Target::Markdown,
            vec![Block::Details {
                summary: vec![plain("Violation of "), code(&i.name), plain(" explained")],
                body: vec![explained(None)],
            }],
        ));
        let mut page = vec![explained(Some("violation"))];
        if let Some(crate::attribution::Attribution::Found(f)) = viol.attribution.as_deref() {
            if !f.series.is_empty() {
                let (svg, legend) = super::svg::retainer_chart(&f.series);
                page.push(Block::Figure {
                    caption: format!("What retains the growth of {}: {}", i.name, f.short()),
                    svg,
                    legend,
                    note: None,
                });
            }
        }
        out.push(Block::Only(Target::Html, page));
    }
    out
}

/// The passing scenarios the comment does not give a section: one folded table.
fn quiet_table(quiet: &[&View]) -> Block {
    Block::Details {
        summary: vec![plain(format!(
            "{} passed with nothing moved beyond tolerance",
            plural(quiet.len(), "scenario", "scenarios")
        ))],
        body: vec![Block::Table(Table {
            class: None,
            columns: columns(&[
                ("scenario", Align::Left),
                ("peak live", Align::Right),
                ("invariants", Align::Left),
            ]),
            rows: quiet
                .iter()
                .map(|v| {
                    vec![
                        cell(vec![code(v.name())]),
                        figures(v.current_peak_text()),
                        figures(plural(
                            v.r.invariants.len(),
                            "invariant held",
                            "invariants held",
                        )),
                    ]
                })
                .collect(),
            html_head: true,
        })],
    }
}

/// The page's last words: where its figures come from.
fn footer(input: &ReportInput) -> Block {
    let against = input
        .base_ref
        .as_deref()
        .map_or(String::new(), |r| format!(" against {r}"));
    Block::Para(
        Para::Footer,
        vec![plain(format!(
            "membound report of {} result(s){against}. Every figure on this page is read from the results and baselines; charts draw the samples where they were taken.",
            input.results.len()
        ))],
    )
}

/// The baselines changed between the base ref and the head, each with what moved.
pub(super) fn blessed(input: &ReportInput) -> Block {
    let mut body = vec![heading(2, vec![plain("Baselines changed in this PR")])];
    let changes = blessed_sorted(input);
    if changes.is_empty() {
        body.push(Block::Para(
            Para::Body,
            vec![plain(format!(
                "None: every baseline is as at {}.",
                input.base_ref.as_deref().unwrap_or("the base ref")
            ))],
        ));
    }
    for c in changes {
        body.extend(blessed_one(c, input));
    }
    Block::Section {
        anchor: "blessed".into(),
        body,
    }
}

/// One changed baseline: added or removed in a line; re-blessed with what else changed (the
/// scenario file, invariants), its metrics old and new, and (on the page) both residencies.
fn blessed_one(c: &BlessedChange, input: &ReportInput) -> Vec<Block> {
    // The comment has always called a missing base ref "base", the page "the base ref".
    let base_md = input.base_ref.as_deref().unwrap_or("base");
    let base_html = input.base_ref.as_deref().unwrap_or("the base ref");
    let (old, new) = match (&c.old, &c.new) {
        (None, Some(_)) => {
            let added = |base: &str| format!(": new baseline (none at {base})");
            return blessed_line(&c.scenario, added(base_md), added(base_html));
        }
        (Some(_), None) => {
            let removed = ": baseline removed".to_owned();
            return blessed_line(&c.scenario, removed.clone(), removed);
        }
        (None, None) => return Vec::new(),
        (Some(o), Some(n)) => (o, n),
    };
    let rows = blessed_rows(c);
    let notes = blessed_notes(old, new);
    let table = (!rows.is_empty()).then(|| blessed_table(&rows, base_md, base_html));
    let mut comment = Vec::new();
    let mut page = vec![Block::Heading {
        level: 3,
        anchor: Some(blessed_anchor(&c.scenario)),
        text: vec![
            code(&c.scenario),
            plain(format!(": {} metric(s) changed since ", rows.len())),
            text(base_html),
        ],
    }];
    page.extend(c.commit.as_ref().map(blessed_by));
    if !notes.is_empty() {
        comment.push(Block::List(None, notes.clone()));
        page.push(Block::List(None, notes));
    }
    if let Some(t) = table {
        comment.push(t.clone());
        page.push(t);
    }
    page.extend(blessed_chart(old, new, base_html));
    let mut summary = vec![
        code(&c.scenario),
        plain(format!(
            ": {} changed since ",
            plural(rows.len(), "metric", "metrics")
        )),
        text(base_md),
    ];
    if let Some(by) = &c.commit {
        summary.extend([plain(" ("), code(&by.id), plain(")")]);
    }
    vec![
        Block::Only(
            Target::Markdown,
            vec![Block::Details {
                summary,
                body: comment,
            }],
        ),
        Block::Only(Target::Html, page),
    ]
}

/// An added or removed baseline in a line: a list item in the comment, a heading the page
/// links to.
fn blessed_line(scenario: &str, comment: String, page: String) -> Vec<Block> {
    vec![
        Block::Only(
            Target::Markdown,
            vec![Block::List(
                None,
                vec![vec![code(scenario), plain(comment)]],
            )],
        ),
        Block::Only(
            Target::Html,
            vec![Block::Heading {
                level: 3,
                anchor: Some(blessed_anchor(scenario)),
                text: vec![code(scenario), plain(page)],
            }],
        ),
    ]
}

/// The commit that blessed a change: who accepted it is what a reviewer asks next.
fn blessed_by(by: &super::Commit) -> Block {
    let mut line = vec![
        plain("blessed in "),
        code(&by.id),
        plain(" "),
        text(&by.subject),
    ];
    if !by.date.is_empty() {
        line.push(text(format!(" ({})", by.date)));
    }
    Block::Para(Para::Meta, line)
}

/// What changed besides the metrics: the scenario file, the invariants' records.
fn blessed_notes(old: &crate::store::Baseline, new: &crate::store::Baseline) -> Vec<Line> {
    let mut notes = Vec::new();
    if old.fingerprint != new.fingerprint {
        let fp = |f: &str| vec![md(vec![code(f)]), html(vec![plain(f)])];
        let mut note = vec![plain("the scenario changed (fingerprint ")];
        note.extend(fp(&old.fingerprint));
        note.push(plain(" → "));
        note.extend(fp(&new.fingerprint));
        note.push(plain(")"));
        notes.push(note);
    }
    for (name, record) in &new.invariants {
        let was = old.invariants.get(name);
        if was != Some(record) {
            notes.push(vec![
                plain("invariant "),
                md(vec![code(name)]),
                html(vec![text(format!("`{name}`"))]),
                plain(": "),
                text(was.map_or_else(|| "(none)".to_owned(), |r| r.describe(old.timeline.x_unit))),
                plain(" → "),
                text(record.describe(new.timeline.x_unit)),
            ]);
        }
    }
    notes
}

/// A re-blessed baseline's metrics at the base ref and at the head.
fn blessed_table(rows: &[Row], base_md: &str, base_html: &str) -> Block {
    let mut columns = columns(&[
        ("metric", Align::Left),
        ("", Align::Right),
        ("at head", Align::Right),
        ("Δ", Align::Right),
        ("Δ%", Align::Right),
        ("", Align::Left),
    ]);
    columns[1].head = vec![
        plain("at "),
        md(vec![text(base_md)]),
        html(vec![text(base_html)]),
    ];
    Block::Table(Table {
        class: None,
        columns,
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    cell(vec![code(&r.metric)]),
                    figures(fmt_opt(&r.metric, r.baseline)),
                    figures(fmt_opt(&r.metric, r.current)),
                    figures(fmt_delta(r)),
                    figures(fmt_delta_rel(r)),
                    figures(direction(r)),
                ]
            })
            .collect(),
        html_head: true,
    })
}

/// The residency of a re-blessed baseline, at the base ref and at the head.
fn blessed_chart(
    old: &crate::store::Baseline,
    new: &crate::store::Baseline,
    base: &str,
) -> Option<Block> {
    let chart = Chart {
        unit: new.timeline.x_unit,
        baseline: Some(&old.timeline).filter(|t| !t.points.is_empty()),
        current: Some(&new.timeline).filter(|t| !t.points.is_empty()),
        bounds: Vec::new(),
        violation: None,
    };
    if chart.baseline.is_none() && chart.current.is_none() {
        return None;
    }
    let (svg, legend) = chart.residency(&format!("at {base}"), "at head");
    Some(Block::Figure {
        caption: "Total residency of the blessed baseline".into(),
        svg,
        legend,
        note: None,
    })
}

/// The baseline history (`membound history`): per scenario, per metric shown, the commits
/// that moved it as a table, which the page precedes with a step chart; then the page's
/// footer.
pub(super) fn history(input: &HistoryInput) -> Vec<Block> {
    let mut out = vec![heading(1, vec![plain("Baseline history")])];
    out.extend(
        scope(input)
            .into_iter()
            .map(|n| Block::Para(Para::Meta, vec![text(n)])),
    );
    if input.scenarios.is_empty() {
        out.push(Block::Para(
            Para::Body,
            vec![plain("No baseline changed in the history seen.")],
        ));
    }
    for h in &input.scenarios {
        out.push(Block::Section {
            anchor: format!("h-{}", h.scenario),
            body: history_scenario(input, h),
        });
    }
    out.push(Block::Only(
        Target::Html,
        vec![Block::Para(
            Para::Footer,
            vec![plain("Every value is read from a baseline as committed; a step is drawn at each commit that changed it.")],
        )],
    ));
    out
}

/// One scenario's history: how many commits changed it and what is shown, the commits that
/// could not be read, then each metric shown.
fn history_scenario(input: &HistoryInput, h: &ScenarioHistory) -> Vec<Block> {
    let (shown, names) = series(h, input.metric.as_deref());
    let mut out = vec![
        heading(2, vec![code(&h.scenario)]),
        Block::Para(
            Para::Meta,
            vec![
                text(commits_phrase(h)),
                plain(format!(
                    " · {} of {} metrics shown",
                    shown.len(),
                    names.len()
                )),
            ],
        ),
    ];
    out.extend(
        unreadable_notes(h)
            .into_iter()
            .map(|n| Block::Para(Para::Meta, vec![text(n)])),
    );
    if shown.is_empty() {
        out.push(Block::Para(
            Para::Body,
            vec![text(nothing_shown(input, h, &names))],
        ));
    }
    for se in &shown {
        out.push(heading(3, vec![code(&se.metric)]));
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
        out.push(Block::Only(
            Target::Html,
            vec![Block::Chart(super::svg::history_chart(&se.metric, &points))],
        ));
        out.push(history_table(h, se));
    }
    out
}

/// The commits that moved one metric: its value there and the step from the value before.
fn history_table(h: &ScenarioHistory, se: &Series) -> Block {
    let rows = se
        .steps_or_removal()
        .into_iter()
        .map(|i| {
            let c = &h.entries[i].commit;
            let prev = i.checked_sub(1).and_then(|j| se.values[j]);
            let (d, rel) = fmt_history_step(&se.metric, prev, se.values[i]);
            vec![
                cell(vec![code(&c.id)]),
                figures(&c.date),
                cell(vec![text(&c.subject)]),
                figures(fmt_history_value(&se.metric, se.values[i])),
                figures(d),
                figures(rel),
            ]
        })
        .collect();
    Block::Table(Table {
        class: None,
        columns: columns(&[
            ("commit", Align::Left),
            ("date", Align::Left),
            ("subject", Align::Left),
            ("value", Align::Right),
            ("Δ", Align::Right),
            ("Δ%", Align::Right),
        ]),
        rows,
        html_head: true,
    })
}

/// An exploration (`membound explore --html`) as the page shows it: the lengths run and where
/// the warm-up ends, the evidence table, then each label's figure at every length, one line
/// per length, suspected leaks first.
pub(super) fn explore(e: &Exploration) -> Vec<Block> {
    use crate::explore::classify::{Basis, Class};
    use crate::explore::{length_words, propose};
    let lengths: Vec<String> = e
        .lengths
        .iter()
        .map(|l| length_words(e.x_unit, *l))
        .collect();
    let name = |l: &Option<String>| {
        l.clone()
            .unwrap_or_else(|| format!("(whole heap, {})", e.x_unit.residency_label()))
    };
    let class = |i: usize| {
        let ev = &e.evidence[i];
        propose::class_words(&ev.class, ev.basis, e.x_unit)
    };
    let mut out = vec![
        heading(1, vec![plain("Exploring "), code(&e.scenario)]),
        Block::Para(
            Para::Lead,
            vec![plain(format!(
                "Runs at {}; {}.",
                crate::units::and_list(&lengths),
                propose::warmup_words(&e.warmup, e.x_unit)
            ))],
        ),
        Block::Table(Table {
            class: None,
            columns: columns(&[
                ("label", Align::Left),
                ("class", Align::Left),
                ("after the warm-up, per length", Align::Left),
            ]),
            rows: e
                .evidence
                .iter()
                .enumerate()
                .map(|(i, ev)| {
                    vec![
                        cell(vec![code(name(&ev.label))]),
                        cell(vec![plain(class(i))]),
                        cell(vec![plain(propose::figures_words(ev))]),
                    ]
                })
                .collect(),
            html_head: true,
        }),
    ];
    // Suspected leaks first, then the rest in the table's order.
    let mut order: Vec<usize> = (0..e.evidence.len()).collect();
    order.sort_by_key(|i| !matches!(e.evidence[*i].class, Class::Growing { .. }));
    for i in order {
        let (ev, curve) = (&e.evidence[i], &e.curves[i]);
        let series: Vec<(String, Vec<(u64, u64)>)> = curve
            .runs
            .iter()
            .map(|(l, points)| (length_words(e.x_unit, *l), points.clone()))
            .collect();
        let (svg, legend) = super::svg::lines_chart(
            "explore",
            "length",
            e.x_unit,
            ev.basis == Basis::Bytes,
            &series,
        );
        out.push(Block::Figure {
            caption: format!("{}: {}", name(&ev.label), class(i)),
            svg,
            legend,
            note: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::compare::Comparison;
    use crate::pipeline::ScenarioResult;
    use crate::spec::invariant::Tolerance;
    use crate::spec::metric::Value;

    /// A passing result whose comparison has these rows.
    fn result(scenario: &str, rows: Vec<Row>) -> ScenarioResult {
        let mut r: ScenarioResult = serde_json::from_value(serde_json::json!({
            "scenario": scenario,
            "path": format!("scenarios/{scenario}.toml"),
            "x_unit": "cycles",
            "invariants": [],
            "verdict": {"status": "passed", "reasons": []},
        }))
        .expect("a result");
        r.comparison = Some(Comparison {
            rows,
            fingerprint_mismatch: None,
        });
        r
    }

    fn row(metric: &str, old: i64, new: i64, verdict: RowVerdict) -> Row {
        Row {
            metric: metric.into(),
            baseline: Some(Value::Int(old)),
            current: Some(Value::Int(new)),
            tolerance: Tolerance {
                relative: 0.1,
                absolute: 0.0,
            },
            verdict,
        }
    }

    /// A line's words as one output shows them (code and links as their text).
    fn words(line: &[Inline], target: Target) -> String {
        line.iter()
            .map(|i| match i {
                Inline::Text(t) | Inline::Plain(t) | Inline::Code(t) | Inline::Badge(_, t) => {
                    t.clone()
                }
                Inline::Strong(b) | Inline::Link { body: b, .. } => words(b, target),
                Inline::Only(t, b) if *t == target => words(b, target),
                Inline::Only(..) | Inline::Icon(_) => String::new(),
            })
            .collect()
    }

    fn cells(row: &[Cell]) -> Vec<String> {
        row.iter()
            .map(|c| words(&c.content, Target::Html))
            .collect()
    }

    #[test]
    fn moved_metrics_are_a_table_with_their_verdicts_and_the_unchanged_fold() {
        let r = result(
            "s",
            vec![
                row("allocations.count", 100, 150, RowVerdict::Regressed),
                row("live_bytes.peak", 2048, 2048, RowVerdict::Equal),
            ],
        );
        let input = ReportInput::default();
        let blocks = metrics(&View::new(&r, &input));
        let [Block::Only(Target::Html, heading), Block::Table(moved), Block::Details { summary, body }] =
            &blocks[..]
        else {
            panic!("a heading for the page, the moved metrics, the unchanged fold: {blocks:#?}");
        };
        assert!(matches!(&heading[..], [Block::Heading { level: 3, .. }]));
        assert_eq!(
            cells(&moved.rows[0]),
            [
                "allocations.count",
                "100",
                "150",
                "+50",
                "+50.0%",
                "±10%",
                "REGRESSED"
            ]
        );
        assert_eq!(moved.rows[0][6].kind, Some(Kind::Fail));
        assert_eq!(words(summary, Target::Markdown), "1 metric unchanged");
        assert_eq!(words(summary, Target::Html), "1 unchanged metric(s)");
        let [Block::Table(unchanged)] = &body[..] else {
            panic!("one table: {body:#?}");
        };
        assert_eq!(cells(&unchanged.rows[0]), ["live_bytes.peak", "2,048 B"]);
        assert!(!unchanged.html_head);
    }

    #[test]
    fn a_quiet_scenario_gets_a_section_on_the_page_and_a_row_in_the_comment() {
        let input = ReportInput {
            results: vec![
                result(
                    "loud",
                    vec![row("allocations.count", 100, 150, RowVerdict::Regressed)],
                ),
                result(
                    "quiet",
                    vec![row("allocations.count", 100, 100, RowVerdict::Equal)],
                ),
            ],
            ..Default::default()
        };
        let blocks = report(&input);
        let sections: Vec<(Option<Target>, &str)> = blocks
            .iter()
            .filter_map(|b| match b {
                Block::Section { anchor, .. } => Some((None, anchor.as_str())),
                Block::Only(t, inner) => match &inner[..] {
                    [Block::Section { anchor, .. }] => Some((Some(*t), anchor.as_str())),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        assert_eq!(
            sections,
            [(None, "s-loud"), (Some(Target::Html), "s-quiet")]
        );
        let quiet = blocks.iter().find_map(|b| match b {
            Block::Only(Target::Markdown, inner) => match &inner[..] {
                [Block::Details { summary, body }] => Some((summary, body)),
                _ => None,
            },
            _ => None,
        });
        let (summary, body) = quiet.expect("the comment folds the quiet scenarios");
        assert_eq!(
            words(summary, Target::Markdown),
            "1 scenario passed with nothing moved beyond tolerance"
        );
        let [Block::Table(t)] = &body[..] else {
            panic!("one table: {body:#?}");
        };
        assert_eq!(cells(&t.rows[0]), ["quiet", "—", "0 invariants held"]);
    }

    #[test]
    fn each_output_shows_a_headline_by_its_kind() {
        assert_eq!(Kind::of(Headline::LeakCaught), Kind::Pass);
        assert_eq!(Kind::of(Headline::Skipped), Kind::Skipped);
        assert_eq!(Kind::of(Headline::Regressed), Kind::Fail);
        assert_eq!(Kind::of_row(RowVerdict::Improved), Kind::Improved);
        assert_eq!(Kind::of_row(RowVerdict::Within), Kind::Pass);
    }
}

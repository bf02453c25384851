//! The report as GitHub-flavoured markdown, for one PR comment that CI updates in place: a
//! renderer of the `doc` model (markdown syntax and escaping; every decision is the model's).
//!
//! Charts are mermaid `xychart-beta` blocks (`mermaid`), which GitHub renders without hosting
//! images.

use super::doc::{self, Align, Block, Inline, Kind, Para, Table, Target};
use super::{HistoryInput, ReportInput, MARKER};
use std::fmt::Write as _;

/// The report as markdown: the marker comment, what the PR accepts, a summary line, then one
/// section per scenario that failed or moved, the unchanged ones folded, and the baselines
/// changed in the PR.
pub fn markdown(input: &ReportInput) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{MARKER}");
    blocks(&mut s, &doc::report(input));
    s
}

fn blocks(s: &mut String, blocks: &[Block]) {
    for b in blocks {
        block(s, b);
    }
}

fn block(s: &mut String, b: &Block) {
    match b {
        // The comment sits under GitHub's own headings: one level down, and bold lines within
        // a scenario.
        Block::Heading { level, text, .. } => match level {
            1 => {
                let _ = writeln!(s, "## {}\n", line(text));
            }
            2 => {
                let _ = writeln!(s, "### {}\n", line(text));
            }
            _ => {
                let _ = writeln!(s, "**{}**\n", line(text));
            }
        },
        Block::Para(kind, text) => {
            let text = line(text);
            let _ = match kind {
                Para::Lead => writeln!(s, "**{text}**\n"),
                Para::Small => writeln!(s, "<sub>{text}</sub>\n"),
                Para::Body | Para::Meta | Para::Note | Para::Footer => writeln!(s, "{text}\n"),
            };
        }
        Block::List(_, items) => {
            for item in items {
                let _ = writeln!(s, "- {}", line(item));
            }
            s.push('\n');
        }
        Block::Table(t) => table(s, t),
        Block::Details { summary, body } | Block::Fold { summary, body } => {
            let _ = writeln!(s, "<details><summary>{}</summary>\n", summary_line(summary));
            blocks(s, body);
            let _ = writeln!(s, "</details>\n");
        }
        Block::Code { lang, text, .. } => {
            let _ = writeln!(s, "```{lang}\n{text}```\n");
        }
        // A comment cannot hold an SVG: the model gives it a mermaid chart instead, or none.
        Block::Figure { .. } | Block::Chart(_) => {}
        Block::Section { body, .. } | Block::Callout(_, body) => blocks(s, body),
        Block::Only(Target::Markdown, body) => blocks(s, body),
        Block::Only(Target::Html, _) => {}
    }
}

fn table(s: &mut String, t: &Table) {
    let row = |s: &mut String, cells: Vec<String>| {
        s.push('|');
        for c in cells {
            let _ = write!(s, " {c} |");
        }
        s.push('\n');
    };
    // A blank header (over icons or directions) is one space wide; a blank cell below keeps
    // both its spaces, as the tables have always been written.
    s.push('|');
    for c in &t.columns {
        match line(&c.head) {
            h if h.is_empty() => s.push_str(" |"),
            h => {
                let _ = write!(s, " {h} |");
            }
        }
    }
    s.push('\n');
    s.push('|');
    for c in &t.columns {
        s.push_str(match c.align {
            Align::Left => ":--|",
            Align::Centre => ":-:|",
            Align::Right => "--:|",
        });
    }
    s.push('\n');
    for r in &t.rows {
        let cells = r
            .iter()
            .map(|c| match c.kind {
                // A verdict that asks for action (a failure, or an improvement to bless) stands out.
                Some(Kind::Fail | Kind::Improved) => format!("**{}**", line(&c.content)),
                _ => line(&c.content),
            })
            .collect();
        row(s, cells);
    }
    s.push('\n');
}

/// Inlines in markdown.
fn line(inlines: &[Inline]) -> String {
    let mut s = String::new();
    for i in inlines {
        match i {
            Inline::Text(t) => s.push_str(&text(t)),
            Inline::Plain(t) | Inline::Badge(_, t) => s.push_str(t),
            Inline::Code(c) => s.push_str(&code(c)),
            Inline::Strong(body) => {
                let _ = write!(s, "**{}**", line(body));
            }
            // The comment has no anchors to link to.
            Inline::Link { body, .. } => s.push_str(&line(body)),
            Inline::Icon(k) => s.push_str(icon(*k)),
            Inline::Only(Target::Markdown, body) => s.push_str(&line(body)),
            Inline::Only(Target::Html, _) => {}
        }
    }
    s
}

/// Inlines inside an HTML `<summary>`, where markdown does not render: HTML escapes and tags.
fn summary_line(inlines: &[Inline]) -> String {
    let mut s = String::new();
    for i in inlines {
        match i {
            Inline::Text(t) => s.push_str(&super::svg::esc(t)),
            Inline::Plain(t) | Inline::Badge(_, t) => s.push_str(t),
            Inline::Code(c) => s.push_str(&code_html(c)),
            Inline::Strong(body) => {
                let _ = write!(s, "<strong>{}</strong>", summary_line(body));
            }
            Inline::Link { body, .. } => s.push_str(&summary_line(body)),
            Inline::Icon(k) => s.push_str(icon(*k)),
            Inline::Only(Target::Markdown, body) => s.push_str(&summary_line(body)),
            Inline::Only(Target::Html, _) => {}
        }
    }
    s
}

fn icon(k: Kind) -> &'static str {
    match k {
        Kind::Pass => "✅",
        Kind::Improved => "⚠️",
        Kind::Skipped | Kind::Fail => "❌",
    }
}

/// The history as markdown: per scenario, per metric shown, a table of the commits that moved
/// it.
pub fn history_markdown(input: &HistoryInput) -> String {
    let mut s = String::new();
    blocks(&mut s, &doc::history(input));
    s
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
    fn text_escapes_outside_code_only() {
        assert_eq!(
            text("count of `Signal<*>::Cons` <= 5"),
            "count of `Signal<*>::Cons` &lt;= 5"
        );
        assert_eq!(code("a|b"), "`a\\|b`");
    }
}

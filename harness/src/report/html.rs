//! The report as one self-contained HTML file: inline CSS and SVG, no scripts, no fonts, no
//! network. Well-formed XML (XHTML-compatible HTML5), so a test can parse it back.

use super::doc::{self, Align, Block, Callout, Inline, Kind, Para, Table, Target};
use super::svg::{esc, Legend, LegendKind};
use super::{HistoryInput, ReportInput};
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

/// The report as a self-contained HTML page: what the PR accepts, a summary table, then per
/// scenario its charts (residency against the baseline; types as stacked bands), metrics,
/// invariants and the bless command, then the baselines changed in the PR.
pub fn html(input: &ReportInput) -> String {
    page("membound memory report", &doc::report(input))
}

/// The history as one self-contained HTML page: per scenario, per metric shown, a step chart
/// (a step at each commit that moved it) and the table of those commits.
pub fn history_html(input: &HistoryInput) -> String {
    page("membound baseline history", &doc::history(input))
}

/// An exploration (`membound explore --html`) as a self-contained page: the evidence table,
/// then each label's figure at every length, one line per length, suspected leaks first.
pub fn explore_html(e: &crate::explore::Exploration) -> String {
    page(
        &format!("membound explore {}", e.scenario),
        &doc::explore(e),
    )
}

/// A page of these blocks: the head with its style, then the blocks in `<main>`.
fn page(title: &str, body: &[Block]) -> String {
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    let _ = writeln!(
        s,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>{}</title>",
        esc(title)
    );
    let _ = writeln!(s, "<style>{STYLE}</style>\n</head>\n<body>\n<main>");
    blocks(&mut s, body);
    s.push_str("</main>\n</body>\n</html>\n");
    s
}

fn blocks(s: &mut String, blocks: &[Block]) {
    for b in blocks {
        block(s, b);
    }
}

fn block(s: &mut String, b: &Block) {
    match b {
        Block::Heading {
            level,
            anchor,
            text,
        } => {
            let id = anchor
                .as_ref()
                .map_or(String::new(), |a| format!(" id=\"{}\"", esc(a)));
            let _ = writeln!(s, "<h{level}{id}>{}</h{level}>", line(text));
        }
        Block::Para(kind, text) => {
            let text = line(text);
            let _ = match kind {
                Para::Body => writeln!(s, "<p>{text}</p>"),
                Para::Lead => writeln!(s, "<p class=\"lead\">{text}</p>"),
                Para::Meta => writeln!(s, "<p class=\"meta\">{text}</p>"),
                Para::Note | Para::Small => writeln!(s, "<p class=\"note\">{text}</p>"),
                Para::Footer => writeln!(s, "<footer>{text}</footer>"),
            };
        }
        Block::List(class, items) => {
            let _ = writeln!(s, "<ul{}>", class_attr(*class));
            for item in items {
                let _ = writeln!(s, "<li>{}</li>", line(item));
            }
            s.push_str("</ul>\n");
        }
        Block::Table(t) => table(s, t),
        Block::Details { summary, body } => {
            let _ = writeln!(s, "<details><summary>{}</summary>", line(summary));
            blocks(s, body);
            s.push_str("</details>\n");
        }
        // The page has room: the evidence the comment folds shows open.
        Block::Fold { body, .. } => blocks(s, body),
        Block::Code { class, text, .. } => {
            let _ = writeln!(
                s,
                "<pre{}>{}</pre>",
                class_attr(*class),
                esc(text.trim_end())
            );
        }
        Block::Figure {
            caption,
            svg,
            legend,
            note,
        } => figure(s, caption, svg, legend, note.clone()),
        Block::Chart(svg) => {
            let _ = writeln!(s, "{svg}");
        }
        Block::Section { anchor, body } => {
            let _ = writeln!(s, "<section id=\"{}\">", esc(anchor));
            blocks(s, body);
            s.push_str("</section>\n");
        }
        Block::Callout(kind, body) => {
            let class = match kind {
                Callout::Accepted => "accepted",
                Callout::Missing => "missing",
            };
            let _ = writeln!(s, "<div class=\"{class}\">");
            blocks(s, body);
            s.push_str("</div>\n");
        }
        Block::Only(Target::Html, body) => blocks(s, body),
        Block::Only(Target::Markdown, _) => {}
    }
}

fn class_attr(class: Option<&str>) -> String {
    class.map_or(String::new(), |c| format!(" class=\"{c}\""))
}

fn table(s: &mut String, t: &Table) {
    let _ = writeln!(s, "<table{}>", class_attr(t.class));
    if t.html_head {
        s.push_str("<thead><tr>");
        for c in &t.columns {
            let class = (c.align == Align::Right).then_some("num");
            let _ = write!(s, "<th{}>{}</th>", class_attr(class), line(&c.head));
        }
        s.push_str("</tr></thead>\n");
    }
    s.push_str("<tbody>\n");
    for r in &t.rows {
        s.push_str("<tr>");
        for (c, col) in r.iter().zip(&t.columns) {
            let class = match c.kind {
                Some(k) => Some(tone(k)),
                None => (col.align == Align::Right).then_some("num"),
            };
            let _ = write!(s, "<td{}>{}</td>", class_attr(class), line(&c.content));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody>\n</table>\n");
}

/// The class that colours a verdict's text.
fn tone(k: Kind) -> &'static str {
    match k {
        Kind::Pass => "v-ok",
        Kind::Improved => "v-improved",
        Kind::Skipped | Kind::Fail => "v-fail",
    }
}

/// Text as HTML, its backticked spans in `<code>`, as the markdown report shows them (the
/// judge's words name a command or a type that way: "bless to lock it in (`cargo xtask
/// bless …`)"). A backtick left without its pair stays a backtick.
fn text(t: &str) -> String {
    let parts: Vec<&str> = t.split('`').collect();
    let paired = parts.len() - (1 - parts.len() % 2);
    let mut s = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i >= paired {
            s.push('`');
            s.push_str(&esc(part));
        } else if i % 2 == 1 {
            let _ = write!(s, "<code>{}</code>", esc(part));
        } else {
            s.push_str(&esc(part));
        }
    }
    s
}

/// Inlines as HTML.
fn line(inlines: &[Inline]) -> String {
    let mut s = String::new();
    for i in inlines {
        match i {
            Inline::Text(t) | Inline::Plain(t) => s.push_str(&text(t)),
            Inline::Code(c) => {
                let _ = write!(s, "<code>{}</code>", esc(c));
            }
            Inline::Strong(body) => {
                let _ = write!(s, "<strong>{}</strong>", line(body));
            }
            Inline::Link { to, body } => {
                let _ = write!(s, "<a href=\"#{to}\">{}</a>", line(body));
            }
            Inline::Badge(k, t) => {
                let class = match k {
                    Kind::Pass => "pass",
                    Kind::Improved | Kind::Skipped => "improved",
                    Kind::Fail => "fail",
                };
                let _ = write!(s, "<span class=\"badge {class}\">{}</span>", esc(t));
            }
            Inline::Icon(k) => {
                let sign = if *k == Kind::Pass { "✔" } else { "✘" };
                let _ = write!(s, "<span class=\"{}\">{sign}</span>", tone(*k));
            }
            Inline::Only(Target::Html, body) => s.push_str(&line(body)),
            Inline::Only(Target::Markdown, _) => {}
        }
    }
    s
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

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn backticked_spans_are_code_as_in_markdown() {
        let check = |t: &str, want: &str| assert_eq!(text(t), want, "{t:?}");
        check(
            "bless to lock it in (`cargo xtask bless a<b>`)",
            "bless to lock it in (<code>cargo xtask bless a&lt;b&gt;</code>)",
        );
        check(
            "`Record<Regs>` +40 & more",
            "<code>Record&lt;Regs&gt;</code> +40 &amp; more",
        );
        check("no code", "no code");
        check("one ` alone", "one ` alone");
        check("`a` and ` b", "<code>a</code> and ` b");
    }
}

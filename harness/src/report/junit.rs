//! A run's verdicts as JUnit XML, the test report GitLab, Jenkins and most CI systems read: one
//! `<testcase>` per scenario with its duration, a `<failure>` carrying the failure message the
//! terminal prints, a `<skipped>` with why. Status comes from each `Verdict`, never decided here.

use crate::judge::verdict::Hints;
use crate::pipeline::{failure_message, ScenarioResult};
use std::fmt::Write as _;
use std::time::Duration;

/// The JUnit XML of a run: `results` with how long each scenario took, in the order given.
pub fn junit(results: &[(ScenarioResult, Duration)], hints: &Hints) -> String {
    let failed = results.iter().filter(|(r, _)| r.verdict.failed()).count();
    let skipped = results
        .iter()
        .filter(|(r, _)| !r.verdict.failed() && !r.verdict.passed())
        .count();
    let total: f64 = results.iter().map(|(_, d)| d.as_secs_f64()).sum();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"membound\" tests=\"{n}\" failures=\"{failed}\" errors=\"0\" skipped=\"{skipped}\" time=\"{total:.3}\">\n<testsuite name=\"membound\" tests=\"{n}\" failures=\"{failed}\" errors=\"0\" skipped=\"{skipped}\" time=\"{total:.3}\">",
        n = results.len()
    );
    for (r, d) in results {
        let _ = write!(
            s,
            "<testcase classname=\"membound.scenarios\" name=\"{}\" file=\"{}\" time=\"{:.3}\"",
            attr(&r.scenario),
            attr(&r.path.display().to_string()),
            d.as_secs_f64()
        );
        if r.verdict.passed() {
            s.push_str("/>\n");
        } else if r.verdict.failed() {
            let text = failure_message(r, hints);
            let first = r
                .verdict
                .messages(&r.scenario, hints)
                .into_iter()
                .next()
                .unwrap_or_else(|| "failed".to_owned());
            let _ = writeln!(
                s,
                ">\n<failure message=\"{}\" type=\"membound\">{}</failure>\n</testcase>",
                attr(&first),
                body(&text)
            );
        } else {
            let why = r.verdict.messages(&r.scenario, hints).join("; ");
            let _ = writeln!(s, ">\n<skipped message=\"{}\"/>\n</testcase>", attr(&why));
        }
    }
    s.push_str("</testsuite>\n</testsuites>\n");
    s
}

/// Text safe in an attribute value: markup escaped, and the characters XML 1.0 forbids
/// (control characters a program may print) written as `?`.
fn attr(t: &str) -> String {
    body(t)
        .replace('"', "&quot;")
        .replace('\n', "&#10;")
        .replace('\t', "&#9;")
}

/// Text safe as element content.
fn body(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{attr, body};

    #[test]
    fn markup_and_forbidden_characters_are_escaped() {
        assert_eq!(
            body("a < b && c > d\u{1b}[0m"),
            "a &lt; b &amp;&amp; c &gt; d?[0m"
        );
        assert_eq!(attr("say \"hi\"\nnow"), "say &quot;hi&quot;&#10;now");
    }
}

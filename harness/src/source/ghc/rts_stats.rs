//! `+RTS -t<file> --machine-readable` statistics: the main type is [`RtsStats`], read by
//! [`read_rts_stats`] / [`RtsStats::parse`] from the Haskell-`show`n list of pairs GHC writes
//! (`[("bytes allocated", "39599160") ,("max_bytes_used", "69696") …]`, after a line with the
//! program's command line). Errors are [`StatsError`]s with line and column.
//!
//! Statistics are whole-run figures with no samples, so they do not make a timeline of their own:
//! [`RtsStats::merge_into`] adds them to the eventlog or `.hp` timeline of the same run, and
//! [`RtsStats::to_timeline`] gives a sample-less timeline when there is nothing to merge into.
//! Integer values become totals `ghc.<name>` (spaces → `_`: `ghc.bytes_allocated`,
//! `ghc.max_bytes_used`, `ghc.peak_megabytes_allocated`); others (seconds, percentages) become
//! facts under the same keys.

use crate::timeline::{Timeline, XUnit};
use std::io::{self, Read};

/// Why statistics could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// Reading the underlying stream failed.
    #[error("i/o error reading statistics: {0}")]
    Io(#[from] io::Error),
    /// The text is not a list of string pairs where it stands.
    #[error("line {line}, column {column}: {what}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What was expected, with a hint where one helps.
        what: String,
    },
}

/// The statistics of one run, in the order GHC wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RtsStats {
    /// The first line, when it is not the list itself: the program's command line as the RTS
    /// quotes it (`'./leak' '4000' +RTS '-hT' …`).
    pub command_line: Option<String>,
    /// `(name, value)` pairs, values as written.
    pub values: Vec<(String, String)>,
}

/// Reads `+RTS -t --machine-readable` statistics.
pub fn read_rts_stats<R: Read>(mut r: R) -> Result<RtsStats, StatsError> {
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes)?;
    RtsStats::parse(&String::from_utf8_lossy(&bytes))
}

impl RtsStats {
    /// Parses the statistics text.
    pub fn parse(text: &str) -> Result<RtsStats, StatsError> {
        // The list starts at the first line whose first non-blank character is `[`.
        let mut start = 0;
        let mut command_line = None;
        for line in text.split_inclusive('\n') {
            if line.trim_start().starts_with('[') {
                break;
            }
            if command_line.is_none() && !line.trim().is_empty() {
                command_line = Some(line.trim().to_owned());
            }
            start += line.len();
        }
        if start == text.len() && text.contains("<<ghc:") {
            return Err(StatsError::Syntax {
                line: 1,
                column: 1,
                what: "human-readable `+RTS -t` statistics (hint: add `--machine-readable`)".into(),
            });
        }
        let mut p = Parser { text, pos: start };
        let values = p.list()?;
        p.skip_ws();
        if p.pos < text.len() {
            return Err(
                p.error("unexpected text after the list (hint: one run's statistics per file)")
            );
        }
        Ok(RtsStats {
            command_line,
            values,
        })
    }

    /// The value written for `name`, e.g. `"max_bytes_used"` or `"bytes allocated"`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value for `name` as an integer, when it is one.
    pub fn get_u64(&self, name: &str) -> Option<u64> {
        self.get(name)?.parse().ok()
    }

    /// Adds every value to `timeline`: integers to `totals`, others to `facts`, under
    /// `ghc.<name with spaces as _>`; the command line to `facts["program"]` unless the timeline
    /// already names the program. Existing entries are overwritten: the RTS's own end-of-run
    /// figures are authoritative.
    pub fn merge_into(&self, timeline: &mut Timeline) {
        for (name, value) in &self.values {
            let key = crate::spec::metric::Total::rts(name);
            match value.parse::<u64>() {
                Ok(v) => {
                    timeline.totals.insert(key, v);
                }
                Err(_) => {
                    timeline.facts.insert(key.name().to_owned(), value.clone());
                }
            }
        }
        if let Some(cmd) = &self.command_line {
            timeline
                .facts
                .entry("program".into())
                .or_insert_with(|| cmd.clone());
        }
    }

    /// A timeline with no samples (`source` `ghc-rts-stats`, x unit census) holding only what
    /// [`merge_into`](Self::merge_into) adds.
    pub fn to_timeline(&self) -> Timeline {
        let mut t = Timeline::new("ghc-rts-stats", XUnit::Census);
        self.merge_into(&mut t);
        t
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> StatsError {
        let before = &self.text[..self.pos];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        StatsError::Syntax {
            line,
            column,
            what: what.to_owned(),
        }
    }

    fn skip_ws(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.text[self.pos..].chars().next()
    }

    fn expect(&mut self, c: char, what: &str) -> Result<(), StatsError> {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    /// `[ (s, s) , (s, s) … ]`, possibly empty.
    fn list(&mut self) -> Result<Vec<(String, String)>, StatsError> {
        self.expect(
            '[',
            "expected `[` (hint: run with `+RTS -t<file> --machine-readable`)",
        )?;
        let mut out = Vec::new();
        if self.peek() == Some(']') {
            self.pos += 1;
            return Ok(out);
        }
        loop {
            self.expect('(', "expected `(` starting a pair")?;
            let name = self.string()?;
            self.expect(',', "expected `,` between a name and its value")?;
            let value = self.string()?;
            self.expect(')', "expected `)` ending a pair")?;
            out.push((name, value));
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(']') => {
                    self.pos += 1;
                    return Ok(out);
                }
                _ => {
                    return Err(
                        self.error("expected `,` or `]` after a pair (hint: is the file cut off?)")
                    )
                }
            }
        }
    }

    /// A Haskell string literal, with the escapes `show` produces.
    fn string(&mut self) -> Result<String, StatsError> {
        self.expect('"', "expected a string")?;
        let mut out = String::new();
        let mut chars = self.text[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => {
                    let Some((j, e)) = chars.next() else { break };
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        '\\' => out.push('\\'),
                        '"' => out.push('"'),
                        '\'' => out.push('\''),
                        '&' => {}
                        d if d.is_ascii_digit() => {
                            let digits: String = self.text[self.pos + j..]
                                .chars()
                                .take_while(char::is_ascii_digit)
                                .collect();
                            for _ in 1..digits.len() {
                                chars.next();
                            }
                            match digits.parse::<u32>().ok().and_then(char::from_u32) {
                                Some(ch) => out.push(ch),
                                None => {
                                    self.pos += j;
                                    return Err(self.error("bad numeric escape in a string"));
                                }
                            }
                        }
                        _ => out.push(e),
                    }
                }
                c => out.push(c),
            }
        }
        self.pos = self.text.len();
        Err(self.error("unterminated string (hint: is the file cut off?)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs_and_command_line() {
        let s = RtsStats::parse(
            "'./leak' '4000' +RTS '-hT'\n [(\"bytes allocated\", \"39599160\")\n ,(\"GC_cpu_seconds\", \"0.008530\")\n ]\n",
        )
        .unwrap();
        assert_eq!(
            s.command_line.as_deref(),
            Some("'./leak' '4000' +RTS '-hT'")
        );
        assert_eq!(s.get_u64("bytes allocated"), Some(39599160));
        assert_eq!(s.get("GC_cpu_seconds"), Some("0.008530"));
        let t = s.to_timeline();
        assert_eq!(t.totals["ghc.bytes_allocated"], 39599160);
        assert_eq!(t.facts["ghc.GC_cpu_seconds"], "0.008530");
        assert!(t.samples.is_empty());
    }

    #[test]
    fn escapes() {
        let s = RtsStats::parse(r#"[("a\"b\\c\65\&1", "x")]"#).unwrap();
        assert_eq!(s.values[0].0, "a\"b\\cA1");
    }

    #[test]
    fn errors_say_where() {
        let err = |t: &str| RtsStats::parse(t).unwrap_err().to_string();
        assert_eq!(
            err("cmd\n [(\"a\", \"1\")\n ,(\"b\" \"2\")\n ]"),
            "line 3, column 8: expected `,` between a name and its value"
        );
        assert!(err("cmd\n [(\"a\", \"1\")\n ,(\"b\", \"2")
            .starts_with("line 3, column 11: unterminated string"));
        assert!(err("").starts_with("line 1, column 1: expected `[`"));
        assert_eq!(
            err("'./leak' +RTS -t\n<<ghc: 39599160 bytes, 153 GCs, 67951/69696 avg/max bytes residency >>\n"),
            "line 1, column 1: human-readable `+RTS -t` statistics (hint: add `--machine-readable`)"
        );
        assert!(err("[(\"a\", \"1\")] x").starts_with("line 1, column 14: unexpected text"));
    }
}

//! Which scenarios a command applies to: one rule for `run`, `bless`, `report` and the test
//! harness.
//!
//! A filter that is the exact name of a scenario selects that scenario only (so
//! `bless register_wb` never blesses `register_wb_lazy_unzip`); one with `*` is a glob on
//! whole names (`register_wb_*`); anything else selects the names that contain it, as
//! `cargo test` filters tests. `--exact` makes any filter a whole name.

use crate::spec::text::glob_match;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// Every scenario.
    All,
    /// One whole name.
    Exact(String),
    /// A glob on whole names.
    Glob(String),
    /// Names containing this.
    Contains(String),
}

/// Whether the user asked for whole names only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// The usual rule (exact name, glob, or substring).
    Usual,
    /// `--exact`: the filter is a whole name.
    WholeName,
}

impl Filter {
    /// The filter `text` means among the scenarios called `names`.
    pub fn new<'a>(
        text: Option<&str>,
        how: Match,
        mut names: impl Iterator<Item = &'a str>,
    ) -> Filter {
        let Some(t) = text.filter(|t| !t.is_empty()) else {
            return Filter::All;
        };
        if how == Match::WholeName || names.any(|n| n == t) {
            Filter::Exact(t.to_owned())
        } else if t.contains('*') {
            Filter::Glob(t.to_owned())
        } else {
            Filter::Contains(t.to_owned())
        }
    }

    /// Whether it selects the scenario `name`.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Filter::All => true,
            Filter::Exact(t) => name == t,
            Filter::Glob(g) => glob_match(g, name),
            Filter::Contains(t) => name.contains(t.as_str()),
        }
    }

    /// The filter as the user wrote it, for messages.
    pub fn text(&self) -> &str {
        match self {
            Filter::All => "",
            Filter::Exact(t) | Filter::Glob(t) | Filter::Contains(t) => t,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 4] = [
        "register_wb",
        "register_wb_lazy_unzip",
        "register_wb_unshared_iterate",
        "clash_register_wb_fixed",
    ];

    fn check(text: Option<&str>, how: Match, expect: &[&str]) {
        let f = Filter::new(text, how, NAMES.iter().copied());
        let got: Vec<&str> = NAMES.iter().copied().filter(|n| f.matches(n)).collect();
        assert_eq!(got, expect, "{text:?} ({f:?})");
    }

    #[test]
    fn an_exact_name_selects_only_that_scenario() {
        check(Some("register_wb"), Match::Usual, &["register_wb"]);
    }

    #[test]
    fn globs_select_whole_names() {
        check(
            Some("register_wb_*"),
            Match::Usual,
            &["register_wb_lazy_unzip", "register_wb_unshared_iterate"],
        );
        check(Some("*fixed"), Match::Usual, &["clash_register_wb_fixed"]);
    }

    #[test]
    fn other_text_selects_names_containing_it() {
        check(Some("lazy"), Match::Usual, &["register_wb_lazy_unzip"]);
        check(None, Match::Usual, &NAMES);
    }

    #[test]
    fn exact_matching_takes_the_filter_as_a_whole_name() {
        check(Some("lazy"), Match::WholeName, &[]);
        check(Some("register_wb_*"), Match::WholeName, &[]);
    }
}

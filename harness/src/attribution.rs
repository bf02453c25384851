//! `Attribution`: what retains a GHC program's growing closures and where they were built,
//! found by a profiled rerun (`source/diagnose.rs`) and carried by the violation it explains.
//!
//! Data only, plus how it reads: produced by `source/`, rendered by the violation's
//! explanation and the reports, matched against `expect_site` / `expect_retainer`. It knows
//! nothing of processes or files.

use crate::units::{fmt_bytes, fmt_int};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// How many rows of each table a failure shows (`membound diagnose` shows all), and the rows
/// `expect_site` / `expect_retainer` are matched against.
pub const SHOWN: usize = 5;

/// How much of an attribution to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// A failure's: [`SHOWN`] rows per table, the stacks of the program's own retainers.
    Failure,
    /// `membound diagnose`'s: every row, and the stacks of library retainers too.
    Full,
}

/// The outcome of attributing a violation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "attribution")]
pub enum Attribution {
    /// The profiled rerun reproduced the growth.
    Found(Found),
    /// Attribution was not possible; the verdict is the same as without it.
    Impossible {
        /// Why.
        why: Impossible,
    },
}

/// Why a violation could not be attributed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "why")]
pub enum Impossible {
    /// The program has no `[build]` step, or its command is not a `ghc` command membound can
    /// add profiling flags to.
    NoProfiledBuild {
        /// What the build is.
        detail: String,
    },
    /// GHC's profiling libraries (Debian's `ghc-prof`, `libghc-…-prof`) are missing for a
    /// package the program uses.
    NoProfilingLibraries {
        /// GHC's own words.
        detail: String,
    },
    /// The profiled build failed for another reason.
    ProfiledBuildFailed {
        /// The command and its error.
        detail: String,
    },
    /// The profiled rerun failed, or left no readable profile.
    RerunFailed {
        /// What happened.
        detail: String,
    },
    /// The profiled rerun ran to the equivalent census, and nothing grew.
    NotReproduced {
        /// What was measured.
        detail: String,
    },
}

impl std::fmt::Display for Impossible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Impossible::NoProfiledBuild { detail } => write!(f, "no profiled build: {detail} (hint: attribution rebuilds the program from a `[build] command` that runs `ghc`, or a `[build] cabal` target)"),
            Impossible::NoProfilingLibraries { detail } => write!(f, "the profiling libraries are not installed: {detail} (hint: `sudo apt-get install ghc-prof libghc-<package>-prof`, or `.ci/setup`)"),
            Impossible::ProfiledBuildFailed { detail } => write!(f, "the profiled build failed: {detail}"),
            Impossible::RerunFailed { detail } => write!(f, "the profiled rerun failed: {detail}"),
            Impossible::NotReproduced { detail } => write!(f, "the leak did not reproduce under profiling: {detail}"),
        }
    }
}

/// A cost centre on a stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// Its name (`singleMasterInterconnectC.goLazy`, `mapSignal#`).
    pub name: String,
    /// Its module.
    pub module: String,
    /// Whether it is the program's own code (its source is one of the build's inputs), not a
    /// library's.
    pub own: bool,
}

/// A cost-centre stack, top first, with the first frame of the program's own code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stack {
    /// The frames, top first, down to `main` or a `CAF`.
    pub frames: Vec<Frame>,
}

impl Stack {
    /// The first frame of the program's own code, top first: the answer to "which of my
    /// functions", where the frames above it are library code it called.
    pub fn own(&self) -> Option<&Frame> {
        self.frames.iter().find(|f| f.own)
    }

    /// The top-level function of [`Stack::own`]: `singleMasterInterconnectC` for
    /// `singleMasterInterconnectC.goLazy` (a `-fprof-auto` cost centre of a local binding).
    pub fn own_function(&self) -> Option<&str> {
        self.own().map(|f| top_level(&f.name))
    }

    /// `mapSignal#/map/singleMasterInterconnectC/system/main`.
    pub fn path(&self) -> String {
        let names: Vec<&str> = self.frames.iter().map(|f| f.name.as_str()).collect();
        names.join("/")
    }
}

/// The top-level function a cost-centre name belongs to: the part before the first `.` that
/// follows a name character (`go.(...)` stays whole only at the top).
pub fn top_level(name: &str) -> &str {
    // Operators (`.&.`, `:-`) are whole names.
    if !name.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        return name;
    }
    match name.char_indices().skip(1).find(|(_, c)| *c == '.') {
        Some((i, _)) => &name[..i],
        None => name,
    }
}

/// One retainer set's growth over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetainerGrowth {
    /// The set's label as the RTS wrote it (`(329)mapSignal#,singleMasterInterconnectC`).
    pub label: String,
    /// Each retainer of the set: its top cost centre, expanded to the stacks the cost-centre
    /// tree has for it (several when the name is pushed in several places).
    pub retainers: Vec<Retainer>,
    /// Bytes of the profiled closures it retains, added over the window.
    pub bytes: i64,
}

impl RetainerGrowth {
    /// The program's own functions among the set's retainers, in order: a retainer that is
    /// own code itself, else the first own frame of each of its stacks.
    pub fn own_functions(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for r in &self.retainers {
            for f in r.own_functions() {
                if !out.contains(&f) {
                    out.push(f);
                }
            }
        }
        out
    }
}

/// One retainer of a set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retainer {
    /// The top cost centre of the retainer's stack, as the label names it.
    pub name: String,
    /// Whether that cost centre is the program's own code.
    pub own: bool,
    /// The stacks of the cost-centre tree whose top is `name`, most entered first.
    pub stacks: Vec<Stack>,
    /// How many such stacks the tree has (more than `stacks` holds when many).
    pub candidates: usize,
}

impl Retainer {
    /// The own function this retainer stands for: itself when it is own code; for a library
    /// cost centre, the first own frame of its stack only when the tree has one stack for
    /// that name (a name pushed in many places does not say which one retains).
    pub fn own_functions(&self) -> Vec<&str> {
        if self.own {
            return vec![top_level(&self.name)];
        }
        match self.stacks.as_slice() {
            [only] if self.candidates == 1 => only.own_function().into_iter().collect(),
            _ => Vec::new(),
        }
    }
}

/// One cost-centre stack's growth over the window: where growing closures were built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackGrowth {
    /// The stack.
    pub stack: Stack,
    /// Bytes added over the window.
    pub bytes: i64,
}

/// A reproduced attribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Found {
    /// The closures profiled: `-hd` restriction (`:-`), or `None` for the whole heap.
    pub closures: Option<String>,
    /// The profiled run's censuses the growth is measured between (see `docs/attribution.md`).
    pub from_census: u64,
    /// The profiled run's census equivalent to the violation.
    pub to_census: u64,
    /// What retains the growth: retainer sets by bytes gained, largest first.
    pub retainers: Vec<RetainerGrowth>,
    /// Where the growing closures were built: cost-centre stacks by bytes gained.
    pub built_by: Vec<StackGrowth>,
    /// Retainer sets of the whole heap's growth, when the profiled closures were restricted:
    /// a leak's root is often a retainer of other closures (a thunk holding a record that
    /// holds the cells).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub heap_retainers: Vec<RetainerGrowth>,
    /// Per retainer set shown, its retained bytes at every census of the window, for charts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<(String, Vec<(u64, u64)>)>,
    /// Wall time the diagnosis took (profiled build and reruns), milliseconds.
    pub millis: u64,
}

impl Found {
    /// The own functions named as retaining the growth, in rank order, from the restricted
    /// table and then the whole heap's.
    pub fn retaining_functions(&self, rows: usize) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for r in self
            .retainers
            .iter()
            .take(rows)
            .chain(self.heap_retainers.iter().take(rows))
        {
            for f in r.own_functions() {
                if !out.contains(&f) {
                    out.push(f);
                }
            }
        }
        out
    }

    /// The own functions named as building the growing closures, in rank order.
    pub fn building_functions(&self, rows: usize) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for g in self.built_by.iter().take(rows) {
            if let Some(f) = g.stack.own_function() {
                if !out.contains(&f) {
                    out.push(f);
                }
            }
        }
        out
    }

    /// The one line a report shows: `retained by `system` (+28.2 KiB), …; the heap's growth by
    /// …; built in `registerWb``.
    pub fn short(&self) -> String {
        let named = |rows: &[RetainerGrowth]| {
            let mut parts: Vec<(String, i64)> = Vec::new();
            for r in rows.iter().take(SHOWN).filter(|r| r.bytes > 0) {
                if let Some(f) = r.own_functions().first() {
                    if !parts.iter().any(|(p, _)| p == f) {
                        parts.push(((*f).to_owned(), r.bytes));
                    }
                }
            }
            parts.truncate(3);
            parts
        };
        let list = |parts: &[(String, i64)]| {
            parts
                .iter()
                .map(|(f, b)| format!("`{f}` (+{})", fmt_bytes(*b as f64)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let first = named(&self.retainers);
        let mut s = if first.is_empty() {
            "retained by library code only".to_owned()
        } else {
            format!("retained by {}", list(&first))
        };
        let heap = named(&self.heap_retainers);
        if !heap.is_empty() {
            let _ = write!(s, "; the heap's growth by {}", list(&heap));
        }
        if let Some(b) = self.building_functions(SHOWN).first() {
            let _ = write!(s, "; built in `{b}`");
        }
        s
    }

    /// The tables, indented for a failure.
    pub fn tables(&self, detail: Detail) -> String {
        let rows = match detail {
            Detail::Failure => SHOWN,
            Detail::Full => usize::MAX,
        };
        let mut s = String::new();
        let what = self
            .closures
            .as_deref()
            .map_or("the heap".to_owned(), |c| format!("`{c}` closures"));
        let window = if self.from_census == self.to_census {
            format!("up to census {}", self.to_census)
        } else {
            format!("censuses {}..{}", self.from_census, self.to_census)
        };
        let _ = writeln!(
            s,
            "  attribution (profiled rerun, {window}, {}, took {:.1} s):",
            what,
            self.millis as f64 / 1000.0
        );
        retainer_table(
            &mut s,
            &format!("what retains the growth of {what}"),
            &self.retainers,
            detail,
        );
        if !self.heap_retainers.is_empty() {
            retainer_table(
                &mut s,
                "what retains the whole heap's growth",
                &self.heap_retainers,
                detail,
            );
        }
        let _ = writeln!(s, "    where the growing closures were built:");
        if self.built_by.is_empty() {
            let _ = writeln!(s, "      no cost-centre stack grew");
        }
        for g in self.built_by.iter().take(rows) {
            let _ = writeln!(
                s,
                "      {:>12}  {}  {}",
                signed_bytes(g.bytes),
                g.stack
                    .own()
                    .map_or("(library code)".to_owned(), |f| format!("`{}`", f.name)),
                g.stack.path()
            );
        }
        if self.built_by.len() > rows {
            let _ = writeln!(s, "      … {} more", self.built_by.len() - rows);
        }
        s
    }
}

fn retainer_table(s: &mut String, title: &str, rows_in: &[RetainerGrowth], detail: Detail) {
    let rows = match detail {
        Detail::Failure => SHOWN,
        Detail::Full => usize::MAX,
    };
    let _ = writeln!(s, "    {title}:");
    if rows_in.is_empty() {
        let _ = writeln!(s, "      no retainer set grew");
    }
    for r in rows_in.iter().take(rows) {
        let own = r.own_functions();
        let _ = writeln!(
            s,
            "      {:>12}  {}  set {}",
            signed_bytes(r.bytes),
            match (r.retainers.iter().find(|x| x.own), own.first()) {
                (Some(x), _) => format!("`{}`", x.name),
                (None, Some(f)) => format!("`{f}`"),
                (None, None) => "(library code)".to_owned(),
            },
            r.label
        );
        for ret in &r.retainers {
            // A library name pushed in many places says little in a failure: its stacks are
            // for `membound diagnose`.
            if detail == Detail::Failure && !ret.own && ret.candidates != 1 {
                continue;
            }
            let shown = if ret.own || detail == Detail::Full {
                2
            } else {
                1
            };
            for st in ret.stacks.iter().take(shown) {
                let _ = writeln!(s, "                    {}: {}", ret.name, st.path());
            }
            if ret.candidates > shown {
                let _ = writeln!(
                    s,
                    "                    {}: … {} stacks in all",
                    ret.name,
                    fmt_int(ret.candidates as i128)
                );
            }
        }
    }
    if rows_in.len() > rows {
        let _ = writeln!(s, "      … {} more", rows_in.len() - rows);
    }
}

fn signed_bytes(b: i64) -> String {
    format!("{}{}", if b >= 0 { "+" } else { "" }, fmt_bytes(b as f64))
}

impl Attribution {
    /// The text shown under the violation.
    pub fn explain(&self, detail: Detail) -> String {
        match self {
            Attribution::Found(f) => f.tables(detail),
            Attribution::Impossible { why } => format!("  attribution not possible: {why}\n"),
        }
    }

    /// The report's one line.
    pub fn short(&self) -> String {
        match self {
            Attribution::Found(f) => f.short(),
            Attribution::Impossible { why } => format!("not attributed: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_of_local_cost_centres() {
        assert_eq!(
            top_level("singleMasterInterconnectC.goLazy"),
            "singleMasterInterconnectC"
        );
        assert_eq!(top_level("master.step.req'"), "master");
        assert_eq!(top_level("mapSignal#"), "mapSignal#");
        assert_eq!(top_level(".&."), ".&.");
    }
}

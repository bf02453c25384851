//! `Attribution`: what retains a GHC program's growing closures and where they were built,
//! found by a profiled rerun (`source/diagnose`) and carried by the violation it explains.
//!
//! Data, plus how it reads and how it is ranked: the reruns' profiles as data ([`rerun`]) are
//! ranked into an `Attribution` by `rank`, a pure function the reruns in `source/` call;
//! rendered by the violation's explanation and the reports, matched against `expect_site` /
//! `expect_retainer`. It knows nothing of processes or files.

pub(crate) mod rank;
pub mod rerun;

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
    /// The retainers' own stacks when `exact` (from the `.prof`'s `SET` lines); else the
    /// stacks of the cost-centre tree whose top is `name`, most entered first.
    pub stacks: Vec<Stack>,
    /// How many such stacks there are (more than `stacks` holds when many).
    pub candidates: usize,
    /// Whether `stacks` are the retainers' own stacks, not candidates from the tree.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exact: bool,
}

impl Retainer {
    /// The own function this retainer stands for: itself when it is own code; for a library
    /// cost centre, the first own frame of its stack only when the tree has one stack for
    /// that name (a name pushed in many places does not say which one retains).
    pub fn own_functions(&self) -> Vec<&str> {
        if self.own {
            return vec![top_level(&self.name)];
        }
        if self.exact {
            let mut out: Vec<&str> = Vec::new();
            for f in self.stacks.iter().filter_map(Stack::own_function) {
                if !out.contains(&f) {
                    out.push(f);
                }
            }
            return out;
        }
        match self.stacks.as_slice() {
            [only] if self.candidates == 1 => only.own_function().into_iter().collect(),
            _ => Vec::new(),
        }
    }
}

impl Retainer {
    /// Whether the retainers' stacks are known well enough to name the program's function:
    /// read from `SET` lines, or the tree has one stack for the name, or the name is own code
    /// (it is its own first own frame, whichever of its stacks it was).
    pub fn is_known(&self) -> bool {
        self.exact || (self.candidates == 1 && self.stacks.len() == 1) || self.own
    }

    /// The stacks that are known to be this retainer's (none when [`Retainer::is_known`] is
    /// false).
    pub fn known_stacks(&self) -> impl Iterator<Item = &Stack> {
        self.stacks.iter().filter(move |_| self.is_known())
    }
}

/// What a retainer stack, or a retainer set, is to the growth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// It reaches the program's own code and did not build the growing closures: it holds
    /// them.
    Holds,
    /// It built the growing closures: it is the growing chain itself.
    Chain,
    /// Library or runtime code only (`SYSTEM`, a library's `CAF`).
    Library,
    /// Not known: the stacks are candidates, not the retainers' own.
    Unknown,
}

/// Which table a holder was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// The retainers of the profiled closures (`-hr -hd<C>`).
    Closures,
    /// The retainers of the whole heap (`-hr`).
    Heap,
}

/// A holder of the growth: a retainer stack that reaches the program's own code and did not
/// build the growing closures.
#[derive(Debug, Clone, Copy)]
pub struct Holder<'a> {
    /// The stack's first frame of the program's own code.
    pub frame: &'a Frame,
    /// The stack's top frame when it is library code (`map` inside an inlined `unzip3`).
    pub via: Option<&'a Frame>,
    /// Bytes of growth of the set it is in.
    pub bytes: i64,
    /// The set's label.
    pub set: &'a str,
    /// The retainer's whole stack.
    pub stack: &'a Stack,
    /// The table it was found in.
    pub table: Table,
    /// Whether it holds the growth from outside, or is where a chain that holds itself is made.
    pub hold: Hold,
}

/// How a holder keeps the growth alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// A retainer that did not build the growth holds it.
    Outside,
    /// The growth holds itself: each cell of a chain is retained by newer cells built where it
    /// was (an unshared `iterate`'s nested `map` thunks, each seeded by the last), and what
    /// holds the newest cell is too small to show in a heap profile. The holder named is the
    /// innermost own function under which every large part of the chain was built.
    OwnChain,
}

/// A chain is taken to hold itself when its sets gained at least this many times what every
/// set holding it from outside gained together (three quarters of the growth, or more).
const SELF_HELD_RATIO: i64 = 3;

/// The chain's sets that make up at least this fraction (1/n) of its growth decide where it
/// was made: a chain set much smaller than that is another structure the program grows.
const CHAIN_PART: i64 = 10;

impl Holder<'_> {
    /// `` `device.go` (via `map` of Clash.Sized.Vector) ``.
    pub fn describe(&self) -> String {
        match (self.hold, self.via) {
            (Hold::OwnChain, Some(v)) => format!(
                "`{}` (the growth holds itself: a chain built under it, via `{}`, keeps its older cells alive)",
                self.frame.name, v.name
            ),
            (Hold::OwnChain, None) => format!(
                "`{}` (the growth holds itself: a chain built under it keeps its older cells alive)",
                self.frame.name
            ),
            (Hold::Outside, Some(v)) => {
                format!("`{}` (via `{}` of {})", self.frame.name, v.name, v.module)
            }
            (Hold::Outside, None) => format!("`{}`", self.frame.name),
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
    /// The own functions named as retaining the growth, in rank order: the holders (see
    /// [`Found::holders`]) of the top `rows` sets of each table, then the own functions of those
    /// sets (the chain's too: where the holder cannot be told from the chain, both count).
    pub fn retaining_functions(&self, rows: usize) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let top = |r: &RetainerGrowth| {
            self.retainers.iter().take(rows).any(|x| std::ptr::eq(x, r))
                || self
                    .heap_retainers
                    .iter()
                    .take(rows)
                    .any(|x| std::ptr::eq(x, r))
        };
        for h in self.holders() {
            let f = top_level(&h.frame.name);
            let row = self
                .retainers
                .iter()
                .chain(&self.heap_retainers)
                .find(|r| r.label == h.set);
            if row.is_some_and(top) && !out.contains(&f) {
                out.push(f);
            }
        }
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

    /// What holds the growth, strongest first: the retainer stacks of growing sets (of the
    /// profiled closures, then of the whole heap) that reach the program's own code and did not
    /// build the growing closures. A stack that built them is the growing chain itself (a chain
    /// of cells is retained by the thunks inside it, built where the cells were).
    pub fn holders(&self) -> Vec<Holder<'_>> {
        let mut out: Vec<Holder<'_>> = Vec::new();
        for (table, rows) in [
            (Table::Closures, &self.retainers),
            (Table::Heap, &self.heap_retainers),
        ] {
            for r in rows.iter().filter(|r| r.bytes > 0) {
                for (st, role) in r
                    .retainers
                    .iter()
                    .filter_map(|x| self.stack_roles(x, r.bytes))
                    .flatten()
                {
                    if role != Role::Holds {
                        continue;
                    }
                    let Some(frame) = st.own() else { continue };
                    if out.iter().any(|h| h.frame.name == frame.name) {
                        continue;
                    }
                    out.push(Holder {
                        frame,
                        via: st.frames.first().filter(|f| !f.own),
                        bytes: r.bytes,
                        set: &r.label,
                        stack: st,
                        table,
                        hold: Hold::Outside,
                    });
                }
            }
        }
        // Largest first, from either table: a leak's root is often a holder of other closures.
        out.sort_by_key(|h| std::cmp::Reverse(h.bytes));
        // A function that holds what a function it called holds (`system` over
        // `singleMasterInterconnectC.goLazy`, both about as large) comes after it: the callee's
        // retainer is the more precise answer.
        let mut i = 0;
        while i < out.len() {
            let callee = (i + 1..out.len()).find(|&j| {
                out[j].bytes.saturating_mul(2) >= out[i].bytes
                    && out[j]
                        .stack
                        .frames
                        .iter()
                        .skip_while(|f| !f.own)
                        .skip(1)
                        .any(|f| f.name == out[i].frame.name)
            });
            match callee {
                Some(j) => {
                    let h = out.remove(j);
                    out.insert(i, h);
                }
                None => i += 1,
            }
        }
        if let Some(chain) = self.self_held_chain() {
            out.retain(|h| h.frame.name != chain.frame.name);
            out.insert(0, chain);
        }
        out
    }

    /// The chain that holds itself, if the growth is one (see [`Hold::OwnChain`]): in the first
    /// table where the sets that built the growth gained [`SELF_HELD_RATIO`] times what the
    /// sets holding it from outside did, the innermost own frame common to the stacks of every
    /// chain set of at least 1/[`CHAIN_PART`] of the chain's growth.
    fn self_held_chain(&self) -> Option<Holder<'_>> {
        for (table, rows) in [
            (Table::Closures, &self.retainers),
            (Table::Heap, &self.heap_retainers),
        ] {
            let roles: Vec<(&RetainerGrowth, Role)> = rows
                .iter()
                .filter(|r| r.bytes > 0)
                .map(|r| (r, self.set_role(r)))
                .collect();
            let gained = |role: Role| -> i64 {
                roles
                    .iter()
                    .filter(|(_, x)| *x == role)
                    .map(|(r, _)| r.bytes)
                    .sum()
            };
            let (chain_bytes, held) = (gained(Role::Chain), gained(Role::Holds));
            if chain_bytes == 0 || chain_bytes < held.saturating_mul(SELF_HELD_RATIO) {
                continue;
            }
            // Largest first, as the table ranks them.
            let main: Vec<&RetainerGrowth> = roles
                .iter()
                .filter(|(r, x)| {
                    *x == Role::Chain && r.bytes.saturating_mul(CHAIN_PART) >= chain_bytes
                })
                .map(|(r, _)| *r)
                .collect();
            let stacks: Vec<&Stack> = main
                .iter()
                .flat_map(|r| r.retainers.iter().flat_map(Retainer::known_stacks))
                .collect();
            let (Some(set), Some(first)) = (main.first(), stacks.first()) else {
                continue;
            };
            let common = first.frames.iter().filter(|f| f.own).find(|f| {
                stacks
                    .iter()
                    .all(|s| s.frames.iter().any(|g| g.own && g.name == f.name))
            });
            let Some(frame) = common else {
                continue;
            };
            return Some(Holder {
                frame,
                via: first.frames.first().filter(|f| f.name != frame.name),
                bytes: chain_bytes,
                set: &set.label,
                stack: first,
                table,
                hold: Hold::OwnChain,
            });
        }
        None
    }

    /// The role of each of a retainer's stacks, `None` when they are not known. An own
    /// retainer known only by candidate stacks is not known if one of them built the growth.
    fn stack_roles<'a>(&self, x: &'a Retainer, bytes: i64) -> Option<Vec<(&'a Stack, Role)>> {
        if !x.is_known() {
            return None;
        }
        let roles: Vec<(&Stack, Role)> = x
            .known_stacks()
            .map(|st| (st, self.role_of(st, bytes)))
            .collect();
        let candidates = !x.exact && x.stacks.len() > 1;
        if candidates && roles.iter().any(|(_, r)| *r == Role::Chain) {
            return None;
        }
        Some(roles)
    }

    /// What a retainer stack is to a set's growth of `bytes`: see [`Role`]. A stack is the
    /// chain when it built growing closures itself, or when its first own frame built at least
    /// half as much as the set gained (a stream's cells are built by one stack of a function,
    /// `appSignal#/registerWb.s2m`, and retained by its thunks under another,
    /// `mapSignal#/registerWb.s2m`; a lookahead register that built a few closures and holds a
    /// vector of thunks built elsewhere is not).
    pub fn role_of(&self, st: &Stack, bytes: i64) -> Role {
        let path = st.path();
        let own = st.own().map(|f| f.name.as_str());
        let built_by_own: i64 = self
            .built_by
            .iter()
            .filter(|g| {
                g.bytes > 0 && own.is_some() && g.stack.own().map(|f| f.name.as_str()) == own
            })
            .map(|g| g.bytes)
            .sum();
        if self
            .built_by
            .iter()
            .any(|g| g.bytes > 0 && g.stack.path() == path)
            || (built_by_own > 0 && built_by_own.saturating_mul(2) >= bytes)
        {
            Role::Chain
        } else if own.is_some() {
            Role::Holds
        } else {
            Role::Library
        }
    }

    /// What a retainer set is to the growth: `Holds` if one of its retainers holds it, `Chain`
    /// if every one is part of the growing chain, `Unknown` if its retainers' stacks are not
    /// known (a library cost centre pushed in several places, no `SET` line).
    pub fn set_role(&self, r: &RetainerGrowth) -> Role {
        let mut roles = Vec::new();
        for x in &r.retainers {
            match self.stack_roles(x, r.bytes) {
                Some(known) => roles.extend(known.into_iter().map(|(_, role)| role)),
                None => roles.push(Role::Unknown),
            }
        }
        if roles.contains(&Role::Holds) {
            Role::Holds
        } else if roles.contains(&Role::Unknown) {
            Role::Unknown
        } else if !roles.is_empty() && roles.iter().all(|x| *x == Role::Chain) {
            Role::Chain
        } else if roles.contains(&Role::Chain) || roles.is_empty() {
            Role::Unknown
        } else {
            Role::Library
        }
    }

    /// The one line a report shows: `held by `device.go` (+2.0 MiB, via `map`); retained by
    /// `system` (+28.2 KiB), …; the heap's growth by …; built in `registerWb``.
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
        let held: Vec<String> = self
            .holders()
            .iter()
            .take(2)
            .map(Holder::describe)
            .collect();
        let mut s = if held.is_empty() {
            "holder not found".to_owned()
        } else {
            format!("held by {}", held.join(", "))
        };
        if first.is_empty() {
            s.push_str("; retained by library code only");
        } else {
            let _ = write!(s, "; retained by {}", list(&first));
        }
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
            "  attribution (profiled rerun, {window}, {}, took {:.2} s):",
            what,
            self.millis as f64 / 1000.0
        );
        self.holders_table(&mut s, rows);
        retainer_table(
            &mut s,
            &format!("what retains the growth of {what}"),
            &self.retainers,
            detail,
            self,
        );
        if !self.heap_retainers.is_empty() {
            retainer_table(
                &mut s,
                "what retains the whole heap's growth",
                &self.heap_retainers,
                detail,
                self,
            );
        }
        self.built_by_table(&mut s, rows);
        s
    }

    /// The "held by" table, first of [`Found::tables`]: the holders of the growth, at most
    /// `rows` of them, or why none was found.
    fn holders_table(&self, s: &mut String, rows: usize) {
        let holders = self.holders();
        if holders.is_empty() {
            let _ = writeln!(
                s,
                "    held by: not found: no growing retainer set reaches the program's own code apart from the growth's own chain (both tables below)"
            );
            return;
        }
        let _ = writeln!(s, "    held by (what keeps the growth alive):");
        for h in holders.iter().take(rows) {
            let _ = writeln!(
                s,
                "      {:>12}  {}  set {}{}",
                signed_bytes(h.bytes),
                h.describe(),
                h.set,
                match h.table {
                    Table::Closures => "",
                    Table::Heap => " (of the whole heap)",
                }
            );
            let _ = writeln!(s, "                    {}", h.stack.path());
        }
    }

    /// The "where built" table, last of [`Found::tables`]: the cost-centre stacks whose
    /// closures grew, at most `rows` of them and a count of the rest.
    fn built_by_table(&self, s: &mut String, rows: usize) {
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
    }
}

fn retainer_table(
    s: &mut String,
    title: &str,
    rows_in: &[RetainerGrowth],
    detail: Detail,
    found: &Found,
) {
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
            "      {:>12}  {}  set {}{}",
            signed_bytes(r.bytes),
            match (r.retainers.iter().find(|x| x.own), own.first()) {
                (Some(x), _) => format!("`{}`", x.name),
                (None, Some(f)) => format!("`{f}`"),
                (None, None) => "(library code)".to_owned(),
            },
            r.label,
            match found.set_role(r) {
                Role::Holds => "  [holds]",
                Role::Chain => "  [the chain: built the growth]",
                Role::Unknown | Role::Library => "",
            }
        );
        for ret in &r.retainers {
            // A library name pushed in many places says little in a failure: its stacks are
            // for `membound diagnose`.
            if detail == Detail::Failure && !ret.own && !ret.is_known() {
                continue;
            }
            let shown = if ret.own || ret.exact || detail == Detail::Full {
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

    fn stack(path: &str) -> Stack {
        let lib = ["map", "mapSignal#", "appSignal#"];
        let frames = path
            .split('/')
            .map(|n| Frame {
                name: n.into(),
                module: if lib.contains(&n) { "Lib" } else { "Main" }.into(),
                own: !lib.contains(&n),
            })
            .collect();
        Stack { frames }
    }

    /// A set of one retainer known by its exact stack, and its growth.
    fn set(path: &str, bytes: i64) -> RetainerGrowth {
        let st = stack(path);
        RetainerGrowth {
            label: format!("(1){}", st.frames[0].name),
            retainers: vec![Retainer {
                name: st.frames[0].name.clone(),
                own: st.frames[0].own,
                stacks: vec![st],
                candidates: 1,
                exact: true,
            }],
            bytes,
        }
    }

    /// The whole heap's retainer sets and where the growth was built, in; the first holder
    /// named, and whether it is the chain holding itself, out.
    fn check(sets: Vec<RetainerGrowth>, built: &[&str], first: &str, hold: Hold) {
        let found = Found {
            closures: None,
            from_census: 0,
            to_census: 5,
            retainers: sets,
            built_by: built
                .iter()
                .map(|p| StackGrowth {
                    stack: stack(p),
                    bytes: 1000,
                })
                .collect(),
            heap_retainers: Vec::new(),
            series: Vec::new(),
            millis: 0,
        };
        let holders = found.holders();
        let h = holders.first().expect("a holder");
        assert_eq!(
            (h.frame.name.as_str(), h.hold),
            (first, hold),
            "{}",
            found.tables(Detail::Full)
        );
    }

    const ITERATE: &str = "map/iterate.go/iterate/step.look/step/mapSignal#/master/main";
    const LOOK: &str = "step.look/step/mapSignal#/master/main";

    #[test]
    fn a_chain_that_holds_itself_is_named_where_it_is_made() {
        // The unshared iterate: nested `map` thunks and the lookahead seeding them are all of
        // the growth; the interconnect holds a little from outside.
        check(
            vec![
                set(ITERATE, 230_000),
                set(LOOK, 60_000),
                set("map/wire/interconnect/main", 34_000),
                set("appSignal#/tiny/main", 2_000),
            ],
            &[ITERATE, LOOK, "appSignal#/tiny/main"],
            "step.look",
            Hold::OwnChain,
        );
    }

    #[test]
    fn a_holder_from_outside_comes_first_when_it_holds_a_quarter_or_more() {
        check(
            vec![
                set(ITERATE, 230_000),
                set(LOOK, 60_000),
                set("map/wire/interconnect/main", 100_000),
            ],
            &[ITERATE, LOOK],
            "wire",
            Hold::Outside,
        );
    }
}

//! What a profiled rerun of a GHC program left, as data for the ranking (`rank`):
//! its censuses and the window growth is measured over ([`Profile`]), its `.prof` file
//! ([`ProfFile`]: the cost-centre tree by stack id, and the `SET` lines of a retainer
//! profile's last census), and which code is the program's own ([`OwnCode`]).
//!
//! The `.prof` reader (`source/ghc/prof.rs`) fills a [`ProfFile`]; the reruns
//! (`source/diagnose`) make the [`Profile`]s and compute the [`OwnCode`]. No I/O here.
//!
//! GHC 9.0 renumbers retainer sets at every census and writes `SET` lines at exit for the sets
//! of the last census only, with that census's ids: each retainer's whole cost-centre stack,
//! `Module.name` entries top first down to (excluding) `MAIN`. A stack resolves to its node of
//! the tree ([`ProfFile::stack_of_set_entry`]), which says where each cost centre's source is.

use crate::timeline::{Mark, Timeline};
use std::collections::{BTreeMap, BTreeSet};

/// One cost-centre stack of the tree: its top cost centre and where the tree puts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CcNode {
    /// The stack's id (the tree's `no.` column).
    pub id: u64,
    /// The top cost centre's name (`singleMasterInterconnectC.goLazy`, `mapSignal#`).
    pub name: String,
    /// Its module (`Main`, `Clash.Signal.Internal`).
    pub module: String,
    /// Its source span as GHC wrote it (`haskell/RegisterWb.hs:(216,1)-(233,77)`,
    /// `<entire-module>`).
    pub src: String,
    /// How often it was entered.
    pub entries: u64,
    /// The stack it was pushed on (an index into [`ProfFile::nodes`]), `None` for the root.
    pub parent: Option<usize>,
}

impl CcNode {
    /// The file of [`CcNode::src`], when it names one (`haskell/RegisterWb.hs`).
    pub fn src_file(&self) -> Option<&str> {
        if self.src.starts_with('<') {
            return None;
        }
        Some(
            self.src
                .split_once(':')
                .map_or(self.src.as_str(), |(f, _)| f),
        )
    }
}

/// One `SET n = {…}` line: a retainer set's id and each retainer's stack, top first, as
/// `Module.name` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetainerSetDef {
    /// The set's id in the last census.
    pub id: u64,
    /// Each retainer's cost-centre stack, top first.
    pub stacks: Vec<Vec<String>>,
}

/// What a `.prof` file holds that attribution uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfFile {
    /// The cost-centre tree, in file order (parents before children).
    pub nodes: Vec<CcNode>,
    /// The retainer sets listed at exit.
    pub sets: Vec<RetainerSetDef>,
    by_id: BTreeMap<u64, usize>,
    /// Each stack's `Module.name` entries joined with `,`, top first (a `SET` stack's form).
    by_path: BTreeMap<String, u64>,
}

impl ProfFile {
    /// Adds a stack to the tree, its parent (an index into [`ProfFile::nodes`]) already in
    /// it, and returns its index; `None`, with nothing added, when the tree already has a stack
    /// with its id.
    pub fn push_node(&mut self, node: CcNode) -> Option<usize> {
        let index = self.nodes.len();
        if self.by_id.contains_key(&node.id) {
            return None;
        }
        self.by_id.insert(node.id, index);
        // A `SET` line's form of the stack: `Module.name` entries, top first, down to
        // (excluding) the `MAIN` root.
        let mut path = format!("{}.{}", node.module, node.name);
        let mut at = node.parent;
        while let Some(n) = at.and_then(|i| self.nodes.get(i)) {
            if n.parent.is_none() && n.name == "MAIN" {
                break;
            }
            path.push_str(&format!(",{}.{}", n.module, n.name));
            at = n.parent;
        }
        self.by_path.insert(path, node.id);
        self.nodes.push(node);
        Some(index)
    }

    /// The node of the stack with this id.
    pub fn node(&self, id: u64) -> Option<&CcNode> {
        self.by_id.get(&id).map(|&i| &self.nodes[i])
    }

    /// The stack with this id, top first, down to (excluding) the `MAIN` root.
    pub fn stack(&self, id: u64) -> Vec<&CcNode> {
        let mut out = Vec::new();
        let mut at = self.by_id.get(&id).copied();
        while let Some(i) = at {
            let n = &self.nodes[i];
            if n.parent.is_none() && n.name == "MAIN" {
                break;
            }
            out.push(n);
            at = n.parent;
        }
        out
    }

    /// The id of the tree's stack a `SET` line lists as `entries` (`Module.name`, top first).
    pub fn stack_of_set_entry(&self, entries: &[String]) -> Option<u64> {
        self.by_path.get(&entries.join(",")).copied()
    }

    /// The set listed as `SET id = {…}`.
    pub fn set(&self, id: u64) -> Option<&RetainerSetDef> {
        self.sets.iter().find(|s| s.id == id)
    }

    /// The ids of every stack whose top cost centre is `name`, in file order.
    pub fn stacks_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = u64> + 'a {
        self.nodes
            .iter()
            .filter(move |n| n.name == name)
            .map(|n| n.id)
    }
}

/// The program's own code, as opposed to installed libraries: every module of the program
/// being built, computed in one place (`source/diagnose`, from the build's inputs, command line
/// and `-i` directories, or a cabal project's packages). A cost centre is own code when its
/// module or its source file is one of these.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnCode {
    /// Module names (`Main`, `Membound`).
    pub modules: BTreeSet<String>,
    /// Source files as GHC names them, relative to where it runs (`haskell/RegisterWb.hs`).
    pub files: BTreeSet<String>,
}

impl OwnCode {
    /// Whether a cost centre of `module`, defined in `src_file`, is the program's own code.
    pub fn contains(&self, module: &str, src_file: Option<&str>) -> bool {
        self.modules.contains(module) || src_file.is_some_and(|f| self.files.contains(f))
    }

    /// Whether the tree's stack `n` tops in the program's own code.
    pub fn node(&self, n: &CcNode) -> bool {
        self.contains(&n.module, n.src_file())
    }
}

/// A profiled rerun's profile: its censuses, its `.prof`, and the censuses growth is
/// measured between.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The censuses (from the `.hp`, or an eventlog).
    pub timeline: Timeline,
    /// The `.prof` written at exit.
    pub prof: ProfFile,
    /// (from, to) census indices.
    pub window: (u64, u64),
    /// The markers the rerun recorded, placed at the census each precedes.
    pub marks: Vec<Mark>,
    /// The census the `.prof`'s `SET` lines describe, when they describe one of this run's
    /// censuses (the last, of a timed run stopped while the program was alive).
    pub sets_at: Option<u64>,
}

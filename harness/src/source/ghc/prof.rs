//! GHC `.prof` files (`+RTS -p`, written at exit): the main function is [`read_prof`], giving
//! a [`ProfFile`] (`attribution`'s data, which the ranking reads): the cost-centre tree
//! ([`ProfFile::nodes`], each node one cost-centre stack with its id, cost centre, module and
//! source span) and the retainer sets a retainer profile lists ([`ProfFile::sets`],
//! `SET n = {<A.f,B.g>, …}`). Errors are [`ProfError`]s with line numbers.
//!
//! The tree's `no.` column is the cost-centre stack's id, the same number a `-hc` `.hp` label
//! starts with (`(609)mapSignal#/map/…`), so a label cut short by `-L` still resolves to its
//! whole stack ([`ProfFile::stack`]).
//!
//! GHC 9.0 renumbers retainer sets at every census and writes `SET` lines at exit for the sets
//! of the last census only, with that census's ids: each retainer's whole cost-centre stack,
//! `Module.name` entries top first down to (excluding) `MAIN`. A stack resolves to its node of
//! the tree ([`ProfFile::stack_of_set_entry`]), which says where each cost centre's source is.
//! Under `-i0` the last census is the one at exit, after the leak has died; a run with a timed
//! interval stopped by SIGINT takes no census at exit (see `source/diagnose`).
//!
//! Architecture invariant: knows nothing of scenarios or timelines; never panics on input.

use crate::attribution::rerun::{CcNode, ProfFile, RetainerSetDef};

/// Why a `.prof` file could not be read. Every variant carries the 1-based line.
#[derive(Debug, thiserror::Error)]
pub enum ProfError {
    /// A line that is not part of the format where it stands.
    #[error("line {line}: {what}")]
    Syntax {
        /// The offending line.
        line: usize,
        /// What is wrong, with a hint where one helps.
        what: String,
    },
}

/// Reads a `.prof` file. A file without a cost-centre tree (a run without `-p`) is an error
/// that says so; retainer statistics and the flat cost-centre table are skipped.
pub fn read_prof(text: &str) -> Result<ProfFile, ProfError> {
    let mut prof = ProfFile::default();
    // The tree's header is the second `COST CENTRE` line with a `no.` column; rows follow,
    // indented one space per level.
    let mut in_tree = false;
    // (indent, node index) of the open ancestors.
    let mut path: Vec<(usize, usize)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let syntax = |what: String| ProfError::Syntax {
            line: line_no,
            what,
        };
        if let Some(rest) = line.strip_prefix("SET ") {
            prof.sets.push(parse_set(rest).map_err(syntax)?);
            in_tree = false;
            continue;
        }
        if line.starts_with("COST CENTRE") {
            in_tree = line.split_whitespace().any(|w| w == "no.");
            continue;
        }
        if !in_tree || line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent == 0 && !prof.nodes.is_empty() {
            // Only the root `MAIN` is not indented: this line (`Retainer sets created during
            // profiling:`) ends the tree.
            in_tree = false;
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        // name module src… no. entries %time %alloc %time %alloc [ticks bytes]
        let numeric = words
            .iter()
            .rev()
            .take_while(|w| w.parse::<f64>().is_ok())
            .count();
        if words.len() < 2 + numeric || numeric < 6 {
            return Err(syntax(format!(
                "expected `<cost centre> <module> <src> <no.> <entries> …` in the cost-centre tree, found {:?} (hint: is the file cut or edited?)",
                line.trim()
            )));
        }
        let first_num = words.len() - numeric;
        let parse = |w: &str, what: &str| {
            w.parse::<u64>()
                .map_err(|_| syntax(format!("bad {what} {w:?} in the cost-centre tree")))
        };
        let id = parse(words[first_num], "stack id (no.)")?;
        let entries = parse(words[first_num + 1], "entry count")?;
        while path.last().is_some_and(|(d, _)| *d >= indent) {
            path.pop();
        }
        let parent = path.last().map(|(_, p)| *p);
        let node = CcNode {
            id,
            name: words[0].to_owned(),
            module: words[1].to_owned(),
            src: words[2..first_num].join(" "),
            entries,
            parent,
        };
        let index = prof.push_node(node).ok_or_else(|| {
            syntax(format!(
                "stack id {id} appears twice in the cost-centre tree"
            ))
        })?;
        path.push((indent, index));
    }
    if prof.nodes.is_empty() {
        return Err(ProfError::Syntax {
            line: text.lines().count().max(1),
            what: "no cost-centre tree (hint: the program must run with `+RTS -p` and exit through the RTS, e.g. on SIGINT, not SIGKILL)".into(),
        });
    }
    Ok(prof)
}

/// `106 = {<Clash.Sized.Vector.map,Main.pairsApart>, <SYSTEM.SYSTEM>}`.
fn parse_set(rest: &str) -> Result<RetainerSetDef, String> {
    let (id, body) = rest
        .split_once(" = ")
        .ok_or_else(|| format!("expected `SET <id> = {{…}}`, found `SET {rest}`"))?;
    let id = id
        .trim()
        .parse()
        .map_err(|_| format!("bad retainer set id {id:?}"))?;
    let body = body
        .trim()
        .strip_prefix('{')
        .and_then(|b| b.strip_suffix('}'))
        .ok_or_else(|| format!("retainer set {id}: expected `{{…}}`, found {body:?}"))?;
    let mut stacks = Vec::new();
    for part in body.split(">, <") {
        let part = part.trim().trim_start_matches('<').trim_end_matches('>');
        if part.is_empty() {
            continue;
        }
        stacks.push(part.split(',').map(str::to_owned).collect());
    }
    Ok(RetainerSetDef { id, stacks })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TREE: &str = "\
COST CENTRE        MODULE                SRC                          %time %alloc

mapSignal#         Clash.Signal.Internal src/Clash/Signal/Internal.hs:(717,1)-(721,59) 0.0 24.2

                                                                 individual      inherited
COST CENTRE              MODULE    SRC                      no.     entries  %time %alloc   %time %alloc

MAIN                     MAIN      <built-in>               259           0    0.0    0.0     0.0  100.0
 CAF                     Main      <entire-module>          516           0    0.0    0.0     0.0    6.3
  system                 Main      haskell/R.hs:(406,1)-(420,37) 533      0    0.0    0.0     0.0    6.3
   mapSignal#            Clash.Signal.Internal src/Clash/Signal/Internal.hs:(717,1)-(721,59) 534 3 0.0 1.0 0.0 4.6
  main                   Main      haskell/R.hs:(425,1)-(452,71) 518      1    0.0    0.0     0.0    0.0
 CAF                     GHC.IO    <no location info>       505           0    0.0    0.0     0.0    0.0

Retainer sets created during profiling:
SET 2 = {<SYSTEM.SYSTEM>}
SET 25 = {<GHC.Conc.Signal.CAF>, <Main.f,Main.main>}
SET 26 = {<Clash.Signal.Internal.mapSignal#,Main.system,Main.CAF>}
";

    fn check(text: &str, expect: &str) {
        let got = match read_prof(text) {
            Ok(p) => {
                let mut s = String::new();
                for n in &p.nodes {
                    let stack: Vec<String> = p.stack(n.id).iter().map(|n| n.name.clone()).collect();
                    s += &format!(
                        "{} {} {} [{}] {}\n",
                        n.id,
                        n.module,
                        n.name,
                        n.src,
                        stack.join("/")
                    );
                }
                for set in &p.sets {
                    let ids: Vec<Option<u64>> =
                        set.stacks.iter().map(|e| p.stack_of_set_entry(e)).collect();
                    s += &format!("SET {} {:?} {ids:?}\n", set.id, set.stacks);
                }
                s
            }
            Err(e) => format!("error: {e}\n"),
        };
        assert_eq!(got, expect, "\n--- got ---\n{got}");
    }

    #[test]
    fn reads_the_tree_and_the_sets() {
        check(
            TREE,
            "259 MAIN MAIN [<built-in>] \n\
             516 Main CAF [<entire-module>] CAF\n\
             533 Main system [haskell/R.hs:(406,1)-(420,37)] system/CAF\n\
             534 Clash.Signal.Internal mapSignal# [src/Clash/Signal/Internal.hs:(717,1)-(721,59)] mapSignal#/system/CAF\n\
             518 Main main [haskell/R.hs:(425,1)-(452,71)] main/CAF\n\
             505 GHC.IO CAF [<no location info>] CAF\n\
             SET 2 [[\"SYSTEM.SYSTEM\"]] [None]\n\
             SET 25 [[\"GHC.Conc.Signal.CAF\"], [\"Main.f\", \"Main.main\"]] [None, None]\n\
             SET 26 [[\"Clash.Signal.Internal.mapSignal#\", \"Main.system\", \"Main.CAF\"]] [Some(534)]\n",
        );
    }

    #[test]
    fn errors_name_the_line() {
        check("Retainer Profiling: 0, at 0.1 seconds\n", "error: line 1: no cost-centre tree (hint: the program must run with `+RTS -p` and exit through the RTS, e.g. on SIGINT, not SIGKILL)\n");
        check(
            "COST CENTRE MODULE SRC no. entries %time %alloc %time %alloc\nMAIN MAIN <built-in> x 0 0.0 0.0 0.0 100.0\n",
            "error: line 2: expected `<cost centre> <module> <src> <no.> <entries> …` in the cost-centre tree, found \"MAIN MAIN <built-in> x 0 0.0 0.0 0.0 100.0\" (hint: is the file cut or edited?)\n",
        );
        check(
            "COST CENTRE MODULE SRC no. entries %time %alloc %time %alloc\nMAIN MAIN <built-in> 1 0 0.0 0.0 0.0 100.0\n f Main <entire-module> 1 0 0.0 0.0 0.0 100.0\n",
            "error: line 3: stack id 1 appears twice in the cost-centre tree\n",
        );
        check(
            "SET 3 = <a>\n",
            "error: line 1: retainer set 3: expected `{…}`, found \"<a>\"\n",
        );
    }

    #[test]
    fn never_panics_on_cut_input() {
        for cut in 0..TREE.len() {
            if TREE.is_char_boundary(cut) {
                let _ = read_prof(&TREE[..cut]);
            }
        }
    }
}

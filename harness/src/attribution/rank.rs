//! The ranking of a diagnosis: the profiles of a GHC program's profiled reruns
//! ([`Profile`]s, read) turned into a [`Found`]. Growth over each profile's window is ranked
//! per retainer set (followed by its names: the RTS renumbers sets at every census) and per
//! cost-centre stack, each expanded through the `.prof` cost-centre tree into stacks whose
//! frames say which are the program's own code. Pure: the reruns that make the profiles are
//! `source/diagnose`'s. See `docs/attribution.md`.

use super::rerun::{OwnCode, ProfFile, Profile};
use super::{Found, Frame, Impossible, Retainer, RetainerGrowth, Stack, StackGrowth};
use std::collections::BTreeMap;

/// How many stacks of one retainer's name a table keeps.
const STACKS_PER_RETAINER: usize = 3;

/// What [`analyse`] ranks: the profiles of the reruns, read.
pub(crate) struct Analysis {
    /// The `-hd` restriction of `retained` and `built`, `None` for the whole heap.
    pub closures: Option<String>,
    /// The `-hr` profile of those closures.
    pub retained: Profile,
    /// The `-hc` profile of those closures.
    pub built: Profile,
    /// The `-hr` profile of the whole heap, when `closures` restricted the others.
    pub heap: Option<Profile>,
    /// The program's own code.
    pub own: OwnCode,
}

/// Ranks the growth of each profile over its window into a [`Found`] (`millis` left 0).
pub(crate) fn analyse(a: &Analysis) -> Result<Found, Impossible> {
    let (from, to) = a.retained.window;
    let retainers = retainer_growth(&a.retained, &a.own);
    let built_by = builder_growth(&a.built, &a.own);
    let heap_retainers = a
        .heap
        .as_ref()
        .map(|p| retainer_growth(p, &a.own))
        .unwrap_or_default();
    if retainers.is_empty() && built_by.is_empty() {
        return Err(Impossible::NotReproduced {
            detail: format!(
                "between censuses {from} and {to} of the profiled run nothing {} grew",
                a.closures
                    .as_deref()
                    .map_or("on the heap".to_owned(), |c| format!("of `{c}`"))
            ),
        });
    }
    Ok(Found {
        closures: a.closures.clone(),
        from_census: from,
        to_census: to,
        series: series(&a.retained, &retainers),
        retainers,
        built_by,
        heap_retainers,
        millis: 0,
    })
}

/// The program's functions a library retainer `name` may stand for in `retained_by`: the first
/// own frame of each stack the tree has for it (`device.go.(...)` for `map`), and its top-level
/// function. Only the last census's sets have their own stacks (`SET` lines), so every stack of
/// the name counts: a set may be counted as held by a function that did not hold it, never the
/// reverse.
pub(crate) fn holders_through(prof: &ProfFile, name: &str, own: &OwnCode) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in prof.stacks_named(name) {
        let st = frames(prof, id, own);
        if st.frames.first().is_some_and(|f| f.own) {
            continue;
        }
        if let Some(f) = st.own() {
            for n in [f.name.as_str(), super::top_level(&f.name)] {
                if !out.iter().any(|x| x == n) {
                    out.push(n.to_owned());
                }
            }
        }
    }
    out
}

/// Each key's bytes gained over the profile's window, largest first. Labels are grouped by
/// `key`: retainer sets by their names, as the RTS renumbers sets at every census.
fn growth_rows(p: &Profile, key: fn(&str) -> &str) -> Vec<(String, i64)> {
    let (from, to) = p.window;
    let bytes_at = |x: u64| {
        let mut by: BTreeMap<&str, i64> = BTreeMap::new();
        if let Some(s) = p.timeline.samples.iter().find(|s| s.x == x) {
            for (l, t) in &s.types {
                *by.entry(key(l)).or_default() += t.bytes as i64;
            }
        }
        by
    };
    // A violation at the run's first census: its growth is all that is live there.
    let a = if from == to {
        BTreeMap::new()
    } else {
        bytes_at(from)
    };
    let b = bytes_at(to);
    let mut keys: Vec<&str> = a.keys().chain(b.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    let mut rows: Vec<(String, i64)> = keys
        .into_iter()
        .map(|k| {
            let d = b.get(k).copied().unwrap_or(0) - a.get(k).copied().unwrap_or(0);
            (k.to_owned(), d)
        })
        .filter(|(_, d)| *d > 0)
        .collect();
    rows.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
    rows
}

/// `(329)mapSignal#,singleMasterInterconnectC.goLazy` → (329, the names).
pub(crate) fn split_label(label: &str) -> (Option<u64>, &str) {
    if let Some(rest) = label.strip_prefix('(') {
        if let Some((id, names)) = rest.split_once(')') {
            if let Ok(id) = id.parse() {
                return (Some(id), names);
            }
        }
    }
    (None, label)
}

/// A retainer set's label by its names alone (`mapSignal#,…`), its id dropped.
fn names_of(label: &str) -> &str {
    split_label(label).1
}

/// A cost-centre stack's label as it is.
fn whole_label(label: &str) -> &str {
    label
}

/// The tree's stack `id`, top first, each frame marked own code or not.
fn frames(prof: &ProfFile, id: u64, own: &OwnCode) -> Stack {
    Stack {
        frames: prof
            .stack(id)
            .into_iter()
            .map(|n| Frame {
                name: n.name.clone(),
                module: n.module.clone(),
                own: own.node(n),
            })
            .collect(),
    }
}

/// A `SET` line's stack: resolved through the tree (which knows each cost centre's source),
/// or, if the tree has no such stack, read from its `Module.name` entries.
fn set_stack(prof: &ProfFile, entries: &[String], own: &OwnCode) -> Stack {
    if let Some(id) = prof.stack_of_set_entry(entries) {
        return frames(prof, id, own);
    }
    Stack {
        frames: entries
            .iter()
            .map(|e| {
                let (module, name) = split_entry(e);
                Frame {
                    name: name.to_owned(),
                    module: module.to_owned(),
                    own: own.contains(module, None),
                }
            })
            .collect(),
    }
}

/// `Clash.Sized.Vector.map` → (`Clash.Sized.Vector`, `map`); `Main.device.go.(...)` →
/// (`Main`, `device.go.(...)`); `GHC.Conc.Signal.CAF` → (`GHC.Conc.Signal`, `CAF`): the module
/// is the capitalised segments before the name, the name at least the last segment.
fn split_entry(e: &str) -> (&str, &str) {
    let mut end = 0;
    let mut at = 0;
    for seg in e.split('.') {
        let next = at + seg.len();
        if next >= e.len() || !seg.starts_with(|c: char| c.is_ascii_uppercase()) {
            break;
        }
        end = next;
        at = next + 1;
    }
    if end == 0 {
        ("", e)
    } else {
        (&e[..end], &e[end + 1..])
    }
}

/// The sets of the census the `SET` lines describe, by their names (several sets may share
/// names: `mapSignal#` is a different set for each stack that pushed it): each set's bytes
/// there and its retainers' own stacks.
fn exact_sets(p: &Profile, own: &OwnCode) -> BTreeMap<String, Vec<(u64, Vec<Stack>)>> {
    let mut out: BTreeMap<String, Vec<(u64, Vec<Stack>)>> = BTreeMap::new();
    let Some(at) = p.sets_at else {
        return out;
    };
    let Some(sample) = p.timeline.samples.iter().find(|s| s.x == at) else {
        return out;
    };
    for (label, t) in &sample.types {
        let (Some(id), names) = split_label(label) else {
            continue;
        };
        let Some(def) = p.prof.set(id) else { continue };
        let stacks = def
            .stacks
            .iter()
            .map(|entries| set_stack(&p.prof, entries, own))
            .collect();
        out.entry(names.to_owned())
            .or_default()
            .push((t.bytes, stacks));
    }
    out
}

/// The retainers of one set whose stacks the `SET` line gives, one per name of its label.
fn exact_retainers(names: &str, stacks: &[Stack]) -> Vec<Retainer> {
    let mut out: Vec<Retainer> = Vec::new();
    for name in names.split(',').filter(|n| !n.is_empty()) {
        if out.iter().any(|r| r.name == name) {
            continue;
        }
        let mine: Vec<Stack> = stacks
            .iter()
            .filter(|st| st.frames.first().is_some_and(|f| f.name == name))
            .cloned()
            .collect();
        let own = mine
            .first()
            .and_then(|st| st.frames.first())
            .is_some_and(|f| f.own);
        out.push(Retainer {
            name: name.to_owned(),
            own,
            candidates: mine.len(),
            stacks: mine,
            exact: true,
        });
    }
    out
}

/// The growth of each retainer set. Sets are followed by their names across censuses (the RTS
/// renumbers them); where the `SET` lines describe the last census, a name's growth is shared
/// among that census's sets of that name in proportion to their bytes there, each with its
/// retainers' own stacks.
fn retainer_growth(p: &Profile, own: &OwnCode) -> Vec<RetainerGrowth> {
    let exact = exact_sets(p, own);
    let mut rows = Vec::new();
    for (names, bytes) in growth_rows(p, names_of) {
        if names == "MANY" {
            rows.push(RetainerGrowth {
                label: names,
                retainers: Vec::new(),
                bytes,
            });
            continue;
        }
        if let Some(sets) = exact.get(&names) {
            let total: u64 = sets.iter().map(|(b, _)| *b).sum();
            for (b, stacks) in sets {
                let share = if total == 0 {
                    bytes / sets.len() as i64
                } else {
                    (bytes as i128 * *b as i128 / total as i128) as i64
                };
                if share > 0 {
                    rows.push(RetainerGrowth {
                        label: names.clone(),
                        retainers: exact_retainers(&names, stacks),
                        bytes: share,
                    });
                }
            }
            continue;
        }
        let retainers = names
            .split(',')
            .filter(|n| !n.is_empty())
            .map(|name| {
                let mut ids: Vec<u64> = p.prof.stacks_named(name).collect();
                ids.sort_by_key(|id| std::cmp::Reverse(p.prof.node(*id).map_or(0, |n| n.entries)));
                let candidates = ids.len();
                let is_own = ids
                    .first()
                    .and_then(|id| p.prof.node(*id))
                    .is_some_and(|n| own.node(n));
                Retainer {
                    name: name.to_owned(),
                    own: is_own,
                    stacks: ids
                        .iter()
                        .take(STACKS_PER_RETAINER)
                        .map(|id| frames(&p.prof, *id, own))
                        .collect(),
                    candidates,
                    exact: false,
                }
            })
            .collect();
        rows.push(RetainerGrowth {
            label: names,
            retainers,
            bytes,
        });
    }
    rows.sort_by(|x, y| y.bytes.cmp(&x.bytes).then_with(|| x.label.cmp(&y.label)));
    rows
}

/// The growth of each cost-centre stack that built the closures, each expanded through the
/// tree to its whole stack.
fn builder_growth(p: &Profile, own: &OwnCode) -> Vec<StackGrowth> {
    let mut rows: Vec<StackGrowth> = growth_rows(p, whole_label)
        .into_iter()
        .map(|(label, bytes)| {
            let (id, names) = split_label(&label);
            // `.hp` labels carry the stack's id; eventlog labels are the names alone, matched
            // against the tree's stacks.
            let id = id.filter(|id| p.prof.node(*id).is_some()).or_else(|| {
                let path: Vec<&str> = names.split('/').collect();
                p.prof.stacks_named(path[0]).find(|id| {
                    let names: Vec<&str> =
                        p.prof.stack(*id).iter().map(|n| n.name.as_str()).collect();
                    names == path
                })
            });
            let stack = match id {
                Some(id) => frames(&p.prof, id, own),
                // A label the tree does not know: its names, none of them known to be own code.
                None => Stack {
                    frames: names
                        .split('/')
                        .map(|n| Frame {
                            name: n.to_owned(),
                            module: String::new(),
                            own: false,
                        })
                        .collect(),
                },
            };
            StackGrowth { stack, bytes }
        })
        .collect();
    // Ties by the stack, not by the label: `.hp` labels start with ids, eventlog ones do not.
    rows.sort_by(|x, y| {
        y.bytes
            .cmp(&x.bytes)
            .then_with(|| x.stack.path().cmp(&y.stack.path()))
    });
    rows
}

/// The bytes of each of the first [`super::SHOWN`] retainer rows at every census of the window.
fn series(p: &Profile, rows: &[RetainerGrowth]) -> Vec<(String, Vec<(u64, u64)>)> {
    let (from, to) = p.window;
    rows.iter()
        .take(super::SHOWN)
        .map(|r| {
            let points = p
                .timeline
                .samples
                .iter()
                .filter(|s| s.x >= from && s.x <= to)
                .map(|s| {
                    let bytes = s
                        .types
                        .iter()
                        .filter(|(l, _)| names_of(l) == r.label)
                        .map(|(_, t)| t.bytes)
                        .sum();
                    (s.x, bytes)
                })
                .collect();
            (r.label.clone(), points)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::Detail;
    use crate::source::ghc::prof::read_prof;
    use crate::source::ghc::ReadOptions;
    use std::path::{Path, PathBuf};

    /// `harness/tests/data/attribution/`: one profiled run of `RegisterWb lazy_unzip 100`
    /// (see the README there).
    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/attribution")
            .join(name)
    }

    fn profile(censuses: &str, window: (u64, u64)) -> Profile {
        let prof = std::fs::read_to_string(fixture("lazy_unzip-hc.prof")).expect("fixture");
        let timeline =
            crate::source::ghc::read_profile(&fixture(censuses), &ReadOptions::default())
                .expect("fixture reads");
        Profile {
            timeline,
            prof: read_prof(&prof).expect("fixture .prof reads"),
            window,
            marks: Vec::new(),
            sets_at: None,
        }
    }

    /// The committed profiles, read and ranked, against the tables a failure would show.
    fn check(built: &str, expect: &str) {
        let found = analyse(&Analysis {
            closures: Some(":-".into()),
            retained: profile("lazy_unzip-hr.hp", (0, 19)),
            built: profile(built, (0, 19)),
            heap: None,
            own: OwnCode {
                modules: ["Main".to_owned(), "Membound".to_owned()].into(),
                files: [
                    "haskell/RegisterWb.hs".to_owned(),
                    "haskell/Membound.hs".to_owned(),
                ]
                .into(),
            },
        })
        .expect("the fixture's growth is found");
        let exact = |v: Vec<i64>| format!("{v:?}");
        let got = format!(
            "{}exact bytes: retainers {}, built by {}\n",
            found.tables(Detail::Failure),
            exact(found.retainers.iter().map(|r| r.bytes).collect()),
            exact(found.built_by.iter().map(|r| r.bytes).collect()),
        );
        assert_eq!(got, expect, "\n--- got ---\n{got}");
    }

    const TABLES: &str = include_str!("../../tests/data/attribution/lazy_unzip.tables");

    #[test]
    fn retainer_and_cost_centre_growth_of_a_profiled_run() {
        check("lazy_unzip-hc.hp", TABLES);
    }

    #[test]
    fn the_eventlog_of_the_run_gives_the_same_builders() {
        check("lazy_unzip-hc.eventlog", TABLES);
    }
}

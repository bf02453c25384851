//! `retained_by` invariants: checked, like any other, by the `Checker`, on the bytes a
//! retainer matching the invariant's glob holds in a retainer profile (`-hr -hd<C>`) of the
//! profiled build, rerun as far as the plain run went. Returns the invariant's `Outcome`;
//! the reruns are the diagnosis's ([`super`]).

use super::super::{Event, RunConfig};
use super::{constructor, profiled_exe, program_code, rerun, Equivalent, Mode, Until};
use crate::attribution::rank::{holders_through, split_label};
use crate::attribution::rerun::{OwnCode, Profile};
use crate::measure::invariant::{Outcome, Unevaluable};
use crate::scenario::{CommandRun, Scenario};
use crate::source::ghc::ReadOptions;
use crate::spec::invariant::Predicate;
use crate::timeline::{Sample, Timeline};
use std::collections::BTreeMap;

/// The outcome of a `retained_by` invariant: its type predicate checked, census by census, on
/// the bytes of a `-hr -hd<C>` profile whose retainer set has a cost centre matching the glob.
/// The rerun goes as far as the plain run did (to `stopped_at`, or to its end).
pub(crate) fn retained_by(
    scenario: &Scenario,
    c: &CommandRun,
    cfg: &RunConfig,
    inv: &crate::spec::invariant::Invariant,
    stopped_at: Option<u64>,
    on_event: &mut dyn FnMut(Event),
) -> Outcome {
    let unevaluable = |reason: String| Outcome::NotEvaluable {
        reason: Unevaluable::NoRetainerProfile { reason },
    };
    let glob = inv.retained_by.as_deref().unwrap_or("*");
    let ty = match &inv.predicate {
        Predicate::TypeAbsent(g)
        | Predicate::TypeCount { glob: g, .. }
        | Predicate::TypeGrowth { glob: g, .. } => g.clone(),
        _ => return unevaluable("`retained_by` needs a type predicate".into()),
    };
    let Some(con) = constructor(&ty) else {
        return unevaluable(format!(
            "`{ty}` is not a constructor a `-hd` restriction can name"
        ));
    };
    let Some(build) = &c.build else {
        return unevaluable("the scenario has no `[build]` step to profile".into());
    };
    let exe = match profiled_exe(build, cfg, on_event) {
        Ok(exe) => exe,
        Err(why) => return unevaluable(why.to_string()),
    };
    on_event(Event::Diagnosing(format!(
        "rerunning `{}` with -hr -hd{con} for `retained_by = \"{glob}\"`",
        scenario.name
    )));
    let eq = Until::Census(Equivalent {
        marker: None,
        to_offset: stopped_at.unwrap_or(u64::MAX),
        from_offset: Some(0),
    });
    let p = match rerun(scenario, c, cfg, &exe, Mode::Retainers, Some(&con), &eq) {
        Ok(p) => p,
        Err(why) => return unevaluable(why.to_string()),
    };
    // The same own code as the attribution's: a cabal project's packages, inputs given as
    // directories or globs.
    let own = match program_code(build, cfg) {
        Ok(own) => own,
        Err(why) => return unevaluable(why.to_string()),
    };
    let (mut tl, matched, seen) = retained_timeline(&p, glob, &ty, &own);
    if !matched && !seen.iter().any(|n| crate::spec::text::glob_match(glob, n)) {
        let seen = crate::spec::text::nearest_first(glob, seen.iter().map(String::as_str))
            .into_iter()
            .take(8)
            .map(str::to_owned)
            .collect();
        return Outcome::NotEvaluable {
            reason: Unevaluable::NoMatchingRetainer {
                glob: glob.to_owned(),
                seen,
            },
        };
    }
    tl.marks = p.marks.clone();
    crate::source::ghc::assign_counts(
        &mut tl,
        &ReadOptions {
            closure_sizes: c.closure_sizes.clone(),
        },
    );
    let mut single = scenario.clone();
    single.invariants = vec![crate::spec::invariant::Invariant {
        retained_by: None,
        ..inv.clone()
    }];
    let single = super::super::live::marker_windows(&single, &tl.marks);
    let (outcomes, _) = crate::measure::invariant::check_timeline(&single, &tl);
    outcomes
        .into_iter()
        .find(|(n, _)| *n == inv.name)
        .map_or_else(|| unevaluable("no outcome".into()), |(_, o)| o)
}

/// The bytes of the profile `p`'s sets that a retainer matching `glob` holds (by its name or
/// an own function it stands for), census by census up to the window's end, as the type `ty`;
/// whether any census had such bytes, and every name seen, in order.
fn retained_timeline(
    p: &Profile,
    glob: &str,
    ty: &str,
    own: &OwnCode,
) -> (Timeline, bool, Vec<String>) {
    // Each retainer's name and the own functions it may stand for (see `holders_through`).
    let mut through: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut tl = Timeline::new("ghc-hp-retainers", crate::XUnit::Census);
    let mut seen: Vec<String> = Vec::new();
    let mut matched = false;
    for s in p.timeline.samples.iter().filter(|s| s.x <= p.window.1) {
        let mut bytes = 0;
        for (label, t) in &s.types {
            let (_, names) = split_label(label);
            let mut hit = false;
            for n in names.split(',').filter(|n| !n.is_empty() && *n != "MANY") {
                let held = through
                    .entry(n.to_owned())
                    .or_insert_with(|| holders_through(&p.prof, n, own));
                for x in std::iter::once(n).chain(held.iter().map(String::as_str)) {
                    if !seen.iter().any(|y| y == x) {
                        seen.push(x.to_owned());
                    }
                    hit |= crate::spec::text::glob_match(glob, x);
                }
            }
            if hit {
                bytes += t.bytes;
            }
        }
        matched |= bytes > 0;
        let mut sample = Sample {
            x: s.x,
            live_bytes: bytes,
            time_ns: s.time_ns,
            ..Sample::default()
        };
        sample.types.insert(
            ty.into(),
            crate::TypeSample {
                bytes,
                ..Default::default()
            },
        );
        tl.samples.push(sample);
    }
    (tl, matched, seen)
}

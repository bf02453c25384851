//! The checks that turn the raw TOML into a [`Scenario`](super::Scenario): every mistake an
//! error with file, line and column, and the valid choices.

use super::model::*;
use super::raw::*;
use crate::errors::ScenarioError;
use crate::spec::invariant::{
    Cmp, Endpoint, Expectation, Invariant, Phase, Predicate, Tolerance, Window, MIN_GROWTH_SAMPLES,
};
use crate::spec::text::{line_col, nearest_first};
use crate::units;
use sim::circuits::{Catalog, ParamKind, ParamValue};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;
use toml::Spanned;

/// [`parse`], checking that each build input is a file in `inputs_dir` when one is given.
pub(super) fn parse_in(
    path: &Path,
    text: &str,
    catalog: &Catalog,
    inputs_dir: Option<&Path>,
) -> Result<Scenario, ScenarioError> {
    let cx = Cx {
        path,
        text,
        catalog,
        inputs_dir,
    };
    let name = cx.scenario_name()?;
    let raw: RawScenario = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        cx.err(span, e.message().trim().to_owned())
    })?;
    let run = cx.run(&raw)?;
    let x_unit = run.x_unit();
    let mut phases = Vec::new();
    for (pname, rp) in &raw.phases {
        phases.push(cx.phase(pname, rp, x_unit, &run)?);
    }
    let invariants = cx.invariants(&raw, &phases, x_unit, &run)?;
    let tolerances = cx.tolerances(&raw, x_unit)?;
    let budget = cx.budget(&raw)?;
    let scenario = Scenario {
        name,
        path: path.to_owned(),
        description: raw.description.clone(),
        run,
        phases,
        invariants,
        tolerances,
        budget,
        fingerprint: super::fingerprint(text),
    };
    cx.check_expected_violations(&scenario, &raw.invariant)?;
    Ok(scenario)
}

/// The steps of [`parse_in`] after the run and its phases: each a table of the scenario file,
/// checked on its own so `parse_in` reads as the file's outline.
impl Cx<'_> {
    /// The scenario's name, its file's stem: it names the baseline file too, so it must be a
    /// plain word.
    fn scenario_name(&self) -> Result<String, ScenarioError> {
        let name = self
            .path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(self.err(0..0, format!("scenario name `{name}` must be letters, digits, `_` or `-` (hint: the file name is the baseline's name, so it may not contain dots, separators or `..`)")));
        }
        Ok(name)
    }

    /// The `[[invariant]]` tables, each checked, with distinct names.
    fn invariants(
        &self,
        raw: &RawScenario,
        phases: &[Phase],
        x_unit: crate::XUnit,
        run: &Run,
    ) -> Result<Vec<Invariant>, ScenarioError> {
        let mut invariants = Vec::new();
        // A set, not a scan of the invariants so far: a scenario may have many thousands.
        let mut names = std::collections::HashSet::new();
        for ri in &raw.invariant {
            let inv = self.invariant(ri, phases, x_unit, run)?;
            if !names.insert(inv.name.clone()) {
                return Err(self.err(ri.span(), format!("two invariants are named `{}` (hint: names identify invariants in failures and baselines)", inv.name)));
            }
            invariants.push(inv);
        }
        Ok(invariants)
    }

    /// The `[tolerance.METRIC]` tables: a known metric each, a percentage and a non-negative
    /// absolute allowance.
    fn tolerances(
        &self,
        raw: &RawScenario,
        x_unit: crate::XUnit,
    ) -> Result<BTreeMap<String, Tolerance>, ScenarioError> {
        let mut tolerances = BTreeMap::new();
        for (key, rt) in &raw.tolerance {
            self.check_metric_name(key, x_unit)?;
            let relative = match &rt.get_ref().relative {
                Some(r) => units::parse_percent(r.get_ref()).map_err(|m| self.err(r.span(), m))?,
                None => 0.0,
            };
            let absolute = match &rt.get_ref().absolute {
                Some(a) => {
                    let v = self.number_or_bytes(a)?;
                    if v < 0.0 {
                        return Err(self.err(a.span(), format!("a tolerance's `absolute` must be non-negative, found {v} (hint: it allows a change of that much either way, e.g. `absolute = 1024` or \"2 MiB\")")));
                    }
                    v
                }
                None => 0.0,
            };
            tolerances.insert(key.get_ref().clone(), Tolerance { relative, absolute });
        }
        Ok(tolerances)
    }

    /// The `[budget]` table: the run's timeout and resident-set ceiling.
    fn budget(&self, raw: &RawScenario) -> Result<Budget, ScenarioError> {
        let mut budget = Budget::default();
        if let Some(t) = &raw.budget.timeout {
            budget.timeout =
                units::parse_duration(t.get_ref()).map_err(|m| self.err(t.span(), m))?;
        }
        if let Some(m) = &raw.budget.max_rss {
            budget.max_rss = self.bytes(m)?;
        }
        Ok(budget)
    }
}

/// Validation context: the file and its text, to turn byte spans into line and column, and
/// the circuits simulator runs may name.
struct Cx<'a> {
    path: &'a Path,
    text: &'a str,
    catalog: &'a Catalog,
    /// The directory build inputs are relative to, when they are to be looked for.
    inputs_dir: Option<&'a Path>,
}

/// The range keys of a phase or invariant, at most one of which is given.
struct Ranges<'r> {
    cycles: Option<&'r Spanned<Vec<Spanned<toml::Value>>>>,
    census: Option<&'r Spanned<Vec<Spanned<toml::Value>>>>,
    snapshot: Option<&'r Spanned<Vec<Spanned<toml::Value>>>>,
    ms: Option<&'r Spanned<Vec<Spanned<toml::Value>>>>,
    markers: Option<&'r Spanned<Vec<Spanned<toml::Value>>>>,
}

/// The key of a range of positions on a timeline in this unit.
fn range_key(unit: crate::XUnit) -> &'static str {
    match unit {
        crate::XUnit::Cycles => "cycles",
        crate::XUnit::Census => "census",
        crate::XUnit::Snapshot => "snapshot",
        crate::XUnit::Millis => "ms",
    }
}

/// The runs whose timelines are in this unit, in words.
fn unit_runs(unit: crate::XUnit) -> &'static str {
    match unit {
        crate::XUnit::Cycles => "simulator runs",
        crate::XUnit::Census => "GHC programs",
        crate::XUnit::Snapshot => "`profile = \"massif\"` runs",
        crate::XUnit::Millis => "`profile = \"rss\"` runs",
    }
}

/// The growth-bound key of runs in this unit.
fn growth_key(unit: crate::XUnit) -> &'static str {
    match unit {
        crate::XUnit::Cycles => "max_growth_per_kcycle",
        crate::XUnit::Census => "max_growth_per_census",
        crate::XUnit::Snapshot => "max_growth_per_snapshot",
        crate::XUnit::Millis => "max_growth_per_second",
    }
}

/// How a range's endpoints are written: positions (integers, percentages) or marker texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndpointSpelling {
    Positions,
    Markers,
}

/// The samples a probe child takes of a run of `cycles` (cycle 0, every multiple of `every`,
/// and the last cycle) that fall in `a..=b`.
pub(super) fn sim_samples_in(a: u64, b: u64, every: u64, cycles: u64) -> u64 {
    let every = every.max(1);
    let b = b.min(cycles);
    if a > b {
        return 0;
    }
    let (first, last) = (a.div_ceil(every), b / every);
    let multiples = if first > last { 0 } else { last - first + 1 };
    let last = u64::from(!cycles.is_multiple_of(every) && a <= cycles && cycles <= b);
    multiples + last
}

/// The largest `sample_every` that puts [`MIN_GROWTH_SAMPLES`] samples in `a..=b`, if any does.
pub(super) fn suggest_sample_every(a: u64, b: u64, cycles: u64) -> Option<u64> {
    let need = MIN_GROWTH_SAMPLES as u64;
    let mut every = ((b.saturating_sub(a)) / (need - 1)).max(1);
    while every > 1 && sim_samples_in(a, b, every, cycles) < need {
        // Shrinks geometrically then by one: a handful of steps for any window.
        every = (every - every / 10).min(every - 1);
    }
    (sim_samples_in(a, b, every, cycles) >= need).then_some(every)
}

impl Cx<'_> {
    fn err(&self, span: Range<usize>, message: String) -> ScenarioError {
        let (line, column) = line_col(self.text, span.start);
        ScenarioError::Invalid {
            path: self.path.to_owned(),
            line,
            column,
            message,
        }
    }

    /// A run stops at its first violation, so an invariant expected to hold beside one
    /// expected to be violated would be checked only up to that violation, or never: it could
    /// never be evaluated as declared, and passing it would be a false green. Such a scenario
    /// is refused; several expected violations together are fine, since each must happen.
    fn check_expected_violations(
        &self,
        scenario: &Scenario,
        raw: &[Spanned<RawInvariant>],
    ) -> Result<(), ScenarioError> {
        let violated = |i: &&Invariant| matches!(i.expect, Expectation::Violated { .. });
        let Some(leak) = scenario.invariants.iter().find(violated) else {
            return Ok(());
        };
        let Some((held, span)) = scenario
            .invariants
            .iter()
            .zip(raw)
            .find(|(i, _)| i.expect == Expectation::Holds)
        else {
            return Ok(());
        };
        Err(self.err(
            span.span(),
            format!(
                "invariant `{}` ({}) is expected to hold, but invariant `{}` ({}) expects a violation, and a run stops at its first violation: `{}` would be checked only up to there, or never (hint: move `{}` to a scenario of its own, such as the fixed variant's, or expect it violated too)",
                held.name,
                scenario.window_text(&held.during),
                leak.name,
                scenario.window_text(&leak.during),
                held.name,
                held.name
            ),
        ))
    }

    fn run(&self, raw: &RawScenario) -> Result<Run, ScenarioError> {
        let r = &raw.run;
        match (&r.simulator, &r.command) {
            (Some(_), Some(c)) => Err(self.err(
                c.span(),
                "`run` has both `simulator` and `command` (hint: a scenario runs one thing)".into(),
            )),
            (None, None) => Err(self.err(
                0..0,
                "`[run]` needs `simulator = \"…\"` or `command = [\"…\"]`".into(),
            )),
            (Some(sim_name), None) => self.sim_run(raw, sim_name),
            (None, Some(cmd)) => self.command_run(raw, cmd),
        }
    }

    fn sim_run(&self, raw: &RawScenario, sim_name: &Spanned<String>) -> Result<Run, ScenarioError> {
        let r = &raw.run;
        self.reject_command_keys(raw)?;
        let Some(spec) = self.catalog.get(sim_name.get_ref()) else {
            let names = nearest_first(sim_name.get_ref(), self.catalog.names());
            return Err(self.err(
                sim_name.span(),
                format!(
                    "unknown circuit `{}` (hint: one of {})",
                    sim_name.get_ref(),
                    names.join(", ")
                ),
            ));
        };
        let Some(cycles) = &r.cycles else {
            return Err(self.err(
                sim_name.span(),
                "`[run]` needs `cycles = N` for a simulator run".into(),
            ));
        };
        if *cycles.get_ref() < 1 {
            return Err(self.err(cycles.span(), "`cycles` must be at least 1".into()));
        }
        let total = *cycles.get_ref() as u64;
        let sample_every = self.sample_every(r, total)?;
        let params = self.sim_params(r, spec)?;
        self.validate_params(raw, sim_name, spec, &params)?;
        Ok(Run::Simulator(SimRun {
            circuit: spec.name.to_owned(),
            params,
            cycles: total,
            sample_every,
        }))
    }

    /// Refuses the `[run]` keys (and `[build]`) that only external commands have, so a
    /// simulator scenario never silently ignores a setting.
    fn reject_command_keys(&self, raw: &RawScenario) -> Result<(), ScenarioError> {
        let r = &raw.run;
        for (present, key) in [
            (r.profile.as_ref().map(|s| s.span()), "profile"),
            (r.requires.first().map(|s| s.span()), "requires"),
            (
                r.closure_sizes.values().next().map(|s| s.span()),
                "closure_sizes",
            ),
            (raw.build.as_ref().map(|s| s.span()), "build"),
            (r.rts.first().map(|s| s.span()), "rts"),
            (r.on_violation.as_ref().map(|s| s.span()), "on_violation"),
            (r.diagnose.as_ref().map(|s| s.span()), "diagnose"),
            (
                r.sample_interval.as_ref().map(|s| s.span()),
                "sample_interval",
            ),
            (r.length.as_ref().map(|s| s.span()), "length"),
        ] {
            if let Some(span) = present {
                return Err(self.err(
                    span,
                    format!("`{key}` applies to external commands, not to `simulator` runs (a simulator run's length is `cycles`)"),
                ));
            }
        }
        Ok(())
    }

    /// How many cycles apart a simulator run of `total` cycles is sampled: at least 1 and at
    /// most the whole run, so it has samples between its start and end.
    fn sample_every(&self, r: &RawRun, total: u64) -> Result<u64, ScenarioError> {
        Ok(match &r.sample_every {
            Some(s) if *s.get_ref() < 1 => {
                return Err(self.err(s.span(), "`sample_every` must be at least 1".into()))
            }
            Some(s) if *s.get_ref() as u64 > total => {
                return Err(self.err(s.span(), format!("`sample_every` = {} is larger than `cycles` = {total}: the run would be sampled only at its start and end (hint: `sample_every = {}` gives 100 samples)", s.get_ref(), (total / 100).max(1))))
            }
            Some(s) => *s.get_ref() as u64,
            // The default suits long runs; a short one is sampled at least at its end.
            None => DEFAULT_SAMPLE_EVERY.min(total),
        })
    }

    /// The run's `params`, each a parameter of circuit `spec` with a value of its kind.
    fn sim_params(
        &self,
        r: &RawRun,
        spec: &sim::circuits::CircuitSpec,
    ) -> Result<BTreeMap<String, ParamValue>, ScenarioError> {
        let mut params = BTreeMap::new();
        for (key, value) in &r.params {
            let Some(p) = spec.params.iter().find(|p| p.name == key.get_ref()) else {
                let names: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
                return Err(self.err(
                    key.span(),
                    format!(
                        "circuit `{}` has no parameter `{}` (hint: one of {})",
                        spec.name,
                        key.get_ref(),
                        names.join(", ")
                    ),
                ));
            };
            let v = self.param_value(p, value)?;
            params.insert(key.get_ref().clone(), v);
        }
        Ok(params)
    }

    /// One parameter's value, checked against its kind.
    fn param_value(
        &self,
        p: &sim::circuits::ParamSpec,
        value: &Spanned<toml::Value>,
    ) -> Result<ParamValue, ScenarioError> {
        let v = match (&p.kind, value.get_ref()) {
            (ParamKind::Int { min, max }, toml::Value::Integer(i)) => {
                if i < min || i > max {
                    return Err(self.err(
                        value.span(),
                        format!("`{}` = {i} is out of range (hint: {min} to {max})", p.name),
                    ));
                }
                ParamValue::Int(*i)
            }
            (ParamKind::Choice(choices), toml::Value::String(s)) => {
                if !choices.contains(&s.as_str()) {
                    return Err(self.err(
                        value.span(),
                        format!(
                            "`{}` = \"{s}\" is not a choice (hint: one of {})",
                            p.name,
                            choices.join(", ")
                        ),
                    ));
                }
                ParamValue::Str(s.clone())
            }
            (ParamKind::Int { .. }, other) => {
                return Err(self.err(
                    value.span(),
                    format!(
                        "`{}` must be an integer, found {}",
                        p.name,
                        other.type_str()
                    ),
                ))
            }
            (ParamKind::Choice(choices), other) => {
                return Err(self.err(
                    value.span(),
                    format!(
                        "`{}` must be a string, one of {}; found {}",
                        p.name,
                        choices.join(", "),
                        other.type_str()
                    ),
                ))
            }
        };
        Ok(v)
    }

    /// The circuit's own check of its parameters together (e.g. `corrupt_slave < slaves`),
    /// before anything runs. The error points at the first parameter its message names.
    fn validate_params(
        &self,
        raw: &RawScenario,
        sim_name: &Spanned<String>,
        spec: &sim::circuits::CircuitSpec,
        params: &BTreeMap<String, ParamValue>,
    ) -> Result<(), ScenarioError> {
        let at = |message: &str| {
            raw.run
                .params
                .keys()
                .filter_map(|k| message.find(&format!("`{}`", k.get_ref())).map(|i| (i, k)))
                .min_by_key(|(i, _)| *i)
                .map_or(sim_name.span(), |(_, k)| k.span())
        };
        let resolved = spec
            .resolve(params)
            .map_err(|e| self.err(at(e.message()), e.message().to_owned()))?;
        (spec.validate)(&resolved).map_err(|m| self.err(at(&m), format!("{}: {m}", spec.name)))
    }

    /// `[build]`'s `command` or `cabal`: exactly one, and `inputs` only with `command`.
    fn build_kind(
        &self,
        whole: &Spanned<RawBuild>,
    ) -> Result<(Vec<String>, Option<CabalTarget>), ScenarioError> {
        let b = whole.get_ref();
        match (&b.command, &b.cabal) {
            (Some(_), Some(t)) => Err(self.err(t.span(), "`[build]` has both `command` and `cabal` (hint: `cabal = \"test:NAME\"` builds a cabal project's component; `command` runs any other build)".into())),
            (None, None) => Err(self.err(whole.span(), "`[build]` needs `command = [\"…\"]` or `cabal = \"TARGET\"` (e.g. `cabal = \"test:unittests\"`)".into())),
            (Some(c), None) if c.get_ref().is_empty() => {
                Err(self.err(c.span(), "`build.command` is empty".into()))
            }
            (Some(c), None) => Ok((c.get_ref().clone(), None)),
            (None, Some(t)) => {
                let target = t.get_ref();
                if let Some(i) = b.inputs.first() {
                    return Err(self.err(i.span(), "`inputs` apply to `command` builds: a `cabal` build is never cached by membound, cabal itself decides what is stale (hint: remove `inputs`)".into()));
                }
                if target.is_empty()
                    || target.starts_with('-')
                    || target.chars().any(char::is_whitespace)
                {
                    return Err(self.err(t.span(), format!("`cabal = \"{target}\"` is not a cabal target (hint: one executable component, e.g. \"exe:sim\" or \"test:unittests\")")));
                }
                Ok((Vec::new(), Some(CabalTarget(target.clone()))))
            }
        }
    }

    fn command_run(
        &self,
        raw: &RawScenario,
        cmd: &Spanned<Vec<String>>,
    ) -> Result<Run, ScenarioError> {
        let r = &raw.run;
        if cmd.get_ref().is_empty() {
            return Err(self.err(
                cmd.span(),
                "`command` is empty (hint: the program, then its arguments)".into(),
            ));
        }
        for (span, key) in [
            (r.cycles.as_ref().map(|s| s.span()), "cycles"),
            (r.sample_every.as_ref().map(|s| s.span()), "sample_every"),
            (r.params.keys().next().map(|s| s.span()), "params"),
        ] {
            if let Some(span) = span {
                return Err(self.err(span, format!("`{key}` applies to `simulator` runs; an external command takes its own arguments in `command`")));
            }
        }
        let profile = self.profile(r)?;
        let sample_interval = self.sample_interval(r, profile)?;
        let build = self.build(raw)?;
        if cmd.get_ref().iter().any(|a| a.contains("{build}")) && build.is_none() {
            return Err(self.err(
                cmd.span(),
                "`command` uses `{build}` but there is no `[build]` section".into(),
            ));
        }
        let closure_sizes = self.closure_sizes(r)?;
        let requires = self.requires(r)?;
        let length = self.length(cmd, r.length.as_ref())?;
        Ok(Run::Command(CommandRun {
            build,
            argv: length
                .as_ref()
                .map_or_else(|| cmd.get_ref().clone(), |l| l.argv(l.n)),
            length,
            profile,
            requires,
            closure_sizes,
            rts: self.rts_options(&r.rts)?,
            on_violation: self.on_violation(r)?,
            diagnose: r.diagnose.as_ref().is_none_or(|d| *d.get_ref()),
            sample_interval,
        }))
    }

    /// The run's profile kind, and the keys that apply only to some kinds.
    fn profile(&self, r: &RawRun) -> Result<ProfileKind, ScenarioError> {
        let profile = match &r.profile {
            None => ProfileKind::GhcEventlog,
            Some(p) => ProfileKind::from_name(p.get_ref()).ok_or_else(|| {
                self.err(
                    p.span(),
                    format!(
                        "unknown profile `{}` (hint: one of {})",
                        p.get_ref(),
                        ProfileKind::NAMES.join(", ")
                    ),
                )
            })?,
        };
        if !profile.is_ghc() {
            for (span, key) in [
                (r.rts.first().map(|s| s.span()), "rts"),
                (r.diagnose.as_ref().map(|s| s.span()), "diagnose"),
                (
                    r.closure_sizes.values().next().map(|s| s.span()),
                    "closure_sizes",
                ),
            ] {
                if let Some(span) = span {
                    return Err(self.err(span, format!("`{key}` applies to GHC programs (`profile = \"ghc-eventlog\"` or `\"ghc-hp\"`), not to `profile = \"{}\"`", r.profile.as_ref().map_or("", |p| p.get_ref().as_str()))));
                }
            }
        }
        if let (ProfileKind::Massif, Some(v)) = (profile, &r.on_violation) {
            return Err(self.err(v.span(), "`on_violation` does not apply to `profile = \"massif\"`: massif writes its snapshots when the program exits, so they are checked after the run, when there is nothing left to stop or pause (see docs/live.md)".into()));
        }
        Ok(profile)
    }

    /// `sample_interval`, for `profile = "rss"` only.
    fn sample_interval(&self, r: &RawRun, profile: ProfileKind) -> Result<Duration, ScenarioError> {
        let sample_interval = match &r.sample_interval {
            Some(s) if profile != ProfileKind::Rss => {
                return Err(self.err(s.span(), "`sample_interval` applies to `profile = \"rss\"`: other profiles are sampled by the program's runtime (GHC's censuses, massif's snapshots)".into()))
            }
            Some(s) => {
                let d = units::parse_duration(s.get_ref()).map_err(|m| self.err(s.span(), m))?;
                if d < Duration::from_millis(1) {
                    return Err(self.err(s.span(), format!("`sample_interval` = \"{}\" is below 1 ms (hint: \"50ms\", the default; each sample reads /proc for the whole process tree)", s.get_ref())));
                }
                d
            }
            None => CommandRun::DEFAULT_SAMPLE_INTERVAL,
        };
        Ok(sample_interval)
    }

    /// The `[build]` section: its command or cabal target, inputs and timeout.
    fn build(&self, raw: &RawScenario) -> Result<Option<Build>, ScenarioError> {
        let build = match &raw.build {
            None => None,
            Some(whole) => {
                let b = whole.get_ref();
                let (command, cabal) = self.build_kind(whole)?;
                let mut inputs = Vec::new();
                for i in &b.inputs {
                    let p = Path::new(i.get_ref());
                    if p.is_absolute() {
                        return Err(self.err(i.span(), format!("build input `{}` must be relative to the scenarios directory (it may reach into the repository around it: `../src`)", i.get_ref())));
                    }
                    // Found now rather than when the build hashes its inputs, minutes into
                    // a run.
                    if let Some(dir) = self.inputs_dir {
                        let full = dir.join(p);
                        if !full.is_file() {
                            return Err(self.err(i.span(), format!("build input `{}` is not a file: {} does not exist or is not a regular file (hint: inputs are paths relative to the scenarios directory {}, e.g. \"haskell/RegisterWb.hs\")", i.get_ref(), full.display(), dir.display())));
                        }
                    }
                    inputs.push(p.to_owned());
                }
                let timeout = match &b.timeout {
                    Some(t) => {
                        units::parse_duration(t.get_ref()).map_err(|m| self.err(t.span(), m))?
                    }
                    None => Build::DEFAULT_TIMEOUT,
                };
                Some(Build {
                    command,
                    inputs,
                    timeout,
                    cabal,
                })
            }
        };
        Ok(build)
    }

    /// `closure_sizes`, in bytes, none of them zero.
    fn closure_sizes(&self, r: &RawRun) -> Result<BTreeMap<String, u64>, ScenarioError> {
        let mut closure_sizes = BTreeMap::new();
        for (label, size) in &r.closure_sizes {
            let bytes = self.bytes(size)?;
            if bytes == 0 {
                return Err(self.err(size.span(), format!("closure size of `{label}` is 0: counts are bytes ÷ size (hint: the closure's size in bytes, a header word plus its payload, e.g. 24 for a constructor with two pointer fields on 64-bit)")));
            }
            closure_sizes.insert(label.clone(), bytes);
        }
        Ok(closure_sizes)
    }

    /// `requires`, every tool one membound knows.
    fn requires(&self, r: &RawRun) -> Result<Vec<String>, ScenarioError> {
        let mut requires = Vec::new();
        for req in &r.requires {
            let Some(t) = tool(req.get_ref()) else {
                let known = nearest_first(req.get_ref(), KNOWN_TOOLS.iter().map(|t| t.name));
                return Err(self.err(req.span(), format!("unknown tool `{}` in `requires`: a misspelt tool would skip the scenario forever (hint: one of {}; a new tool is added to `scenario::KNOWN_TOOLS`)", req.get_ref(), known.join(", "))));
            };
            requires.push(t.name.to_owned());
        }
        Ok(requires)
    }

    /// `on_violation`: stop by default.
    fn on_violation(&self, r: &RawRun) -> Result<OnViolation, ScenarioError> {
        Ok(match &r.on_violation {
            None => OnViolation::Stop,
            Some(v) => OnViolation::from_name(v.get_ref()).ok_or_else(|| {
                self.err(
                    v.span(),
                    format!(
                        "unknown on_violation `{}` (hint: one of {})",
                        v.get_ref(),
                        OnViolation::NAMES.join(", ")
                    ),
                )
            })?,
        })
    }

    /// `length = N` with `{n}` in `command`: both or neither.
    fn length(
        &self,
        cmd: &Spanned<Vec<String>>,
        length: Option<&Spanned<i64>>,
    ) -> Result<Option<Length>, ScenarioError> {
        let uses = cmd
            .get_ref()
            .iter()
            .any(|a| a.contains(Length::PLACEHOLDER));
        match (uses, length) {
            (false, None) => Ok(None),
            (true, None) => Err(self.err(cmd.span(), "`command` uses `{n}` but `[run]` has no `length` (hint: `length = 3000`, the value `{n}` stands for in runs; `membound explore` varies it)".into())),
            (false, Some(l)) => Err(self.err(l.span(), "`length` is set but no argument of `command` is `{n}` (hint: write `{n}` where the program takes its length, e.g. command = [\"{build}\", \"{n}\"])".into())),
            (true, Some(l)) if *l.get_ref() < 1 => {
                Err(self.err(l.span(), "`length` must be at least 1".into()))
            }
            (true, Some(l)) => Ok(Some(Length {
                n: *l.get_ref() as u64,
                template: cmd.get_ref().clone(),
            })),
        }
    }

    /// `rts = [...]`: single RTS options; the harness brackets them with `+RTS … -RTS` itself.
    fn rts_options(&self, rts: &[Spanned<String>]) -> Result<Vec<String>, ScenarioError> {
        rts.iter()
            .map(|o| {
                let t = o.get_ref();
                if !t.starts_with('-') || t == "-RTS" || t == "--RTS" {
                    Err(self.err(o.span(), format!("RTS option `{t}` must be one option starting with `-`, without `+RTS`/`-RTS` (hint: rts = [\"-i0.05\"])")))
                } else {
                    Ok(t.clone())
                }
            })
            .collect()
    }

    fn phase(
        &self,
        name: &Spanned<String>,
        rp: &Spanned<RawPhase>,
        x_unit: crate::XUnit,
        run: &Run,
    ) -> Result<Phase, ScenarioError> {
        if name.get_ref() == "always" {
            return Err(self.err(name.span(), "`always` is reserved for invariants that hold at every sample; name the phase otherwise".into()));
        }
        let p = rp.get_ref();
        let given = [
            p.cycles.is_some(),
            p.census.is_some(),
            p.snapshot.is_some(),
            p.ms.is_some(),
            p.markers.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if given != 1 {
            return Err(self.err(
                rp.span(),
                format!(
                    "phase `{}` needs exactly one of `{} = [from, to]`, `markers = [from, to]`",
                    name.get_ref(),
                    range_key(x_unit)
                ),
            ));
        }
        let (from, to) = self.range(
            Ranges {
                cycles: p.cycles.as_ref(),
                census: p.census.as_ref(),
                snapshot: p.snapshot.as_ref(),
                ms: p.ms.as_ref(),
                markers: p.markers.as_ref(),
            },
            x_unit,
            run,
        )?;
        Ok(Phase {
            name: name.get_ref().clone(),
            from,
            to,
        })
    }

    /// Validates a `[from, to]` range in one of its spellings: positions in the run's own
    /// unit (`cycles`, `census`, `snapshot`, `ms`) or GHC markers.
    fn range(
        &self,
        r: Ranges<'_>,
        x_unit: crate::XUnit,
        run: &Run,
    ) -> Result<(Endpoint, Endpoint), ScenarioError> {
        use crate::XUnit::*;
        let positions = [
            (r.cycles, Cycles, "cycles"),
            (r.census, Census, "census"),
            (r.snapshot, Snapshot, "snapshot"),
            (r.ms, Millis, "ms"),
        ];
        let (list, spelling) = if let Some((list, unit, key)) = positions
            .iter()
            .find_map(|(l, u, k)| l.map(|l| (l, *u, *k)))
        {
            if unit != x_unit {
                return Err(self.err(
                    list.span(),
                    format!(
                        "`{key}` ranges apply to {}; this run's timeline is indexed by `{}`",
                        unit_runs(unit),
                        range_key(x_unit)
                    ),
                ));
            }
            (list, EndpointSpelling::Positions)
        } else if let Some(m) = r.markers {
            if x_unit != Census {
                return Err(self.err(m.span(), format!("`markers` apply to GHC programs that emit user markers; this run's timeline is indexed by `{}`", range_key(x_unit))));
            }
            (m, EndpointSpelling::Markers)
        } else {
            return Ok((Endpoint::At(0), Endpoint::End));
        };
        let v = list.get_ref();
        if v.len() != 2 {
            return Err(self.err(
                list.span(),
                format!("a range is `[from, to]`, found {} elements", v.len()),
            ));
        }
        let from = self.endpoint(&v[0], spelling)?;
        let to = self.endpoint(&v[1], spelling)?;
        // Reject what can be judged without a run: empty or reversed absolute ranges.
        let total = match run {
            Run::Simulator(s) => Some(s.cycles),
            Run::Command(_) => None,
        };
        let resolve = |e: &Endpoint| match (e, total) {
            (Endpoint::At(x), _) => Some(*x as f64),
            (Endpoint::Fraction(f), Some(t)) => Some(f * t as f64),
            (Endpoint::End, Some(t)) => Some(t as f64),
            _ => None,
        };
        if let (Some(a), Some(b)) = (resolve(&from), resolve(&to)) {
            if a >= b {
                return Err(self.err(
                    list.span(),
                    format!("range is empty or reversed: from {a} to {b}"),
                ));
            }
            if let Some(t) = total {
                if a > t as f64 || b > t as f64 {
                    return Err(self.err(
                        list.span(),
                        format!("range [{a}, {b}] goes beyond the run's {t} cycles"),
                    ));
                }
            }
        }
        if from == to {
            return Err(self.err(
                list.span(),
                "range is empty: from and to are the same".into(),
            ));
        }
        Ok((from, to))
    }

    fn endpoint(
        &self,
        v: &Spanned<toml::Value>,
        spelling: EndpointSpelling,
    ) -> Result<Endpoint, ScenarioError> {
        let markers = spelling == EndpointSpelling::Markers;
        match v.get_ref() {
            toml::Value::Integer(i) if *i >= 0 && !markers => Ok(Endpoint::At(*i as u64)),
            toml::Value::String(s) if s == "end" => Ok(Endpoint::End),
            toml::Value::String(s) if s.ends_with('%') && !markers => {
                let f = units::parse_percent(s).map_err(|m| self.err(v.span(), m))?;
                if f > 1.0 {
                    return Err(self.err(v.span(), format!("`{s}` is beyond the end of the run")));
                }
                Ok(Endpoint::Fraction(f))
            }
            toml::Value::String(s) if markers => Ok(Endpoint::Marker(s.clone())),
            _ if markers => Err(self.err(
                v.span(),
                "a marker range endpoint is a marker's text or \"end\"".into(),
            )),
            _ => Err(self.err(
                v.span(),
                "a range endpoint is a non-negative integer, a percentage like \"25%\", or \"end\""
                    .into(),
            )),
        }
    }

    fn invariant(
        &self,
        ri: &Spanned<RawInvariant>,
        phases: &[Phase],
        x_unit: crate::XUnit,
        run: &Run,
    ) -> Result<Invariant, ScenarioError> {
        let r = ri.get_ref();
        let name = r.name.get_ref().trim().to_owned();
        if name.is_empty() {
            return Err(self.err(r.name.span(), "an invariant's `name` is empty (hint: a short phrase such as \"signal cells bounded\": it names the invariant in failures and baselines)".into()));
        }
        let during = self.window(&name, r, phases, x_unit, run)?;
        if let (Some(e), Run::Simulator(_)) = (&r.expect_retainer, run) {
            return Err(self.err(e.span(), format!("invariant `{name}`: `expect_retainer` names a function of a GHC program that a profiled rerun finds retaining the growth; simulator runs name their culprit with `expect_site` (hint: remove it)")));
        }
        // Retainers come from GHC's profiler: an rss or massif run has none, and a key that
        // could never be met must not be accepted.
        if let Run::Command(c) = run {
            let retainer_key = [
                (
                    r.expect_retainer.as_ref().map(|s| s.span()),
                    "expect_retainer",
                ),
                (r.retained_by.as_ref().map(|s| s.span()), "retained_by"),
            ];
            for (span, key) in retainer_key {
                if let (Some(span), false) = (span, c.profile.is_ghc()) {
                    return Err(self.err(span, format!("invariant `{name}`: `{key}` is found by GHC's retainer profiler, which `profile = \"{}\"` does not have (hint: name the growing allocation site with `expect_type`)", c.profile.name())));
                }
            }
        }
        let growth = self.growth_bound(r, x_unit)?;
        let predicate = match (&r.type_glob, &r.metric) {
            (Some(_), Some(m)) => return Err(self.err(m.span(), format!("invariant `{name}` has both `type` and `metric` (hint: one predicate per invariant)"))),
            (None, None) => return Err(self.err(ri.span(), format!("invariant `{name}` needs a predicate: `type = \"glob\"` with `absent`, `max_count`, `min_count`, `count` or a growth bound; or `metric = \"live_bytes\"` with `max` or a growth bound"))),
            (Some(glob), None) => self.type_predicate(&name, ri, glob, growth, x_unit)?,
            (None, Some(metric)) => self.metric_predicate(&name, ri, metric, growth, x_unit)?,
        };
        if let (Some(g), Run::Simulator(s)) = (growth, run) {
            self.check_growth_sampling(&name, g, &during, phases, s)?;
        }
        let expect = self.expectation(r)?;
        let retained_by = match &r.retained_by {
            None => None,
            Some(g) => {
                let glob = g.get_ref().trim();
                if matches!(run, Run::Simulator(_)) {
                    return Err(self.err(g.span(), format!("invariant `{name}`: `retained_by` is checked on a GHC retainer profile; simulator runs have none (hint: remove it)")));
                }
                if glob.is_empty() {
                    return Err(self.err(g.span(), format!("invariant `{name}`: `retained_by` is empty (hint: a glob over cost-centre names, e.g. \"*singleMasterInterconnect*\")")));
                }
                let exact_type = match &predicate {
                    Predicate::TypeAbsent(t)
                    | Predicate::TypeCount { glob: t, .. }
                    | Predicate::TypeGrowth { glob: t, .. } => !t.contains('*'),
                    _ => false,
                };
                if !exact_type {
                    return Err(self.err(g.span(), format!("invariant `{name}`: `retained_by` needs `type` to name one constructor exactly, e.g. \"clash-prelude:Clash.Signal.Internal.:-\" (the retainer profile is restricted to it with `-hd`)")));
                }
                Some(glob.to_owned())
            }
        };
        Ok(Invariant {
            name,
            during,
            predicate,
            expect,
            retained_by,
        })
    }

    /// Where the invariant must hold: `during` a phase, an explicit range, or always.
    fn window(
        &self,
        name: &str,
        r: &RawInvariant,
        phases: &[Phase],
        x_unit: crate::XUnit,
        run: &Run,
    ) -> Result<Window, ScenarioError> {
        if r.cycles.is_some() || r.census.is_some() || r.snapshot.is_some() || r.ms.is_some() {
            if let Some(d) = &r.during {
                return Err(self.err(d.span(), "give either `during` or a range, not both".into()));
            }
            let (a, b) = self.range(
                Ranges {
                    cycles: r.cycles.as_ref(),
                    census: r.census.as_ref(),
                    snapshot: r.snapshot.as_ref(),
                    ms: r.ms.as_ref(),
                    markers: None,
                },
                x_unit,
                run,
            )?;
            return Ok(Window::Range(a, b));
        }
        match &r.during {
            None => Ok(Window::Always),
            Some(d) if d.get_ref() == "always" => Ok(Window::Always),
            Some(d) if phases.iter().any(|p| &p.name == d.get_ref()) => {
                Ok(Window::Phase(d.get_ref().clone()))
            }
            Some(d) => {
                let mut choices = vec!["always"];
                choices.extend(phases.iter().map(|p| p.name.as_str()));
                Err(self.err(
                    d.span(),
                    format!(
                        "invariant `{name}`: no phase named `{}` (hint: one of {})",
                        d.get_ref(),
                        choices.join(", ")
                    ),
                ))
            }
        }
    }

    /// The growth bound in the spelling of this kind of run, if any.
    fn growth_bound<'r>(
        &self,
        r: &'r RawInvariant,
        x_unit: crate::XUnit,
    ) -> Result<Option<&'r Spanned<toml::Value>>, ScenarioError> {
        use crate::XUnit::*;
        let mut own = None;
        for (g, unit) in [
            (&r.max_growth_per_kcycle, Cycles),
            (&r.max_growth_per_census, Census),
            (&r.max_growth_per_snapshot, Snapshot),
            (&r.max_growth_per_second, Millis),
        ] {
            let Some(g) = g else { continue };
            if unit != x_unit {
                return Err(self.err(
                    g.span(),
                    format!(
                        "`{}` applies to {}; use `{}`",
                        growth_key(unit),
                        unit_runs(unit),
                        growth_key(x_unit)
                    ),
                ));
            }
            own = Some(g);
        }
        Ok(own)
    }

    /// `type = "glob"` with one bound on the count of matching objects.
    fn type_predicate(
        &self,
        name: &str,
        ri: &Spanned<RawInvariant>,
        glob: &Spanned<String>,
        growth: Option<&Spanned<toml::Value>>,
        x_unit: crate::XUnit,
    ) -> Result<Predicate, ScenarioError> {
        let r = ri.get_ref();
        if let Some(m) = &r.max {
            return Err(self.err(
                m.span(),
                "`max` bounds a metric's bytes; for a type use `max_count` or `max_bytes`".into(),
            ));
        }
        let g = glob.get_ref().clone();
        if g.is_empty() {
            return Err(self.err(glob.span(), "`type` is empty (hint: a type label or a glob such as \"Signal<*>::Cons\"; `*` matches anything)".into()));
        }
        if x_unit == crate::XUnit::Millis {
            return Err(self.err(glob.span(), "`profile = \"rss\"` samples the resident set only, with no types (hint: bound `metric = \"rss\"`, or profile the program with `profile = \"massif\"` to see its allocation sites)".into()));
        }
        let mut preds = Vec::new();
        if x_unit == crate::XUnit::Snapshot {
            preds.extend(self.massif_type_growth(r, &g, growth)?);
        }
        if let Some(m) = &r.max_bytes {
            preds.push(Predicate::TypeBytesMax {
                glob: g.clone(),
                max: self.bytes(m)?,
            });
        }
        let growth = growth.filter(|_| x_unit != crate::XUnit::Snapshot);
        if let Some(a) = &r.absent {
            if !*a.get_ref() {
                return Err(self.err(a.span(), "`absent = false` says nothing (hint: remove it, or bound the count with `min_count`)".into()));
            }
            preds.push(Predicate::TypeAbsent(g.clone()));
        }
        self.type_counts(r, &g, &mut preds)?;
        if let Some(gv) = growth {
            if let toml::Value::String(_) = gv.get_ref() {
                return Err(self.err(gv.span(), "a type's growth is in objects, not bytes (hint: a number of objects per 1000 cycles or per census, e.g. 0; byte sizes bound `metric = \"live_bytes\"`)".into()));
            }
            preds.push(Predicate::TypeGrowth {
                glob: g,
                max: self.non_negative(gv)?,
            });
        }
        self.one_predicate(name, ri, preds)
    }

    /// A type bound under massif (`profile = "massif"`), which attributes bytes to allocation
    /// sites and counts no objects: count bounds are refused (they would hold on any leak) and
    /// the growth bound, if any, is in bytes per snapshot.
    fn massif_type_growth(
        &self,
        r: &RawInvariant,
        g: &str,
        growth: Option<&Spanned<toml::Value>>,
    ) -> Result<Option<Predicate>, ScenarioError> {
        for (span, key) in [
            (r.max_count.as_ref().map(|s| s.span()), "max_count"),
            (r.min_count.as_ref().map(|s| s.span()), "min_count"),
            (r.count.as_ref().map(|s| s.span()), "count"),
        ] {
            if let Some(span) = span {
                return Err(self.err(span, format!("`{key}` counts objects, and massif attributes bytes to allocation sites without counting them (hint: `max_bytes = \"1 MiB\"`, or `max_growth_per_snapshot = \"1 KiB\"`)")));
            }
        }
        let Some(gv) = growth else { return Ok(None) };
        let max = self.number_or_bytes(gv)?;
        if max < 0.0 {
            return Err(self.err(
                gv.span(),
                "a growth bound must be non-negative (hint: 0 for no growth at all)".into(),
            ));
        }
        Ok(Some(Predicate::TypeBytesGrowth {
            glob: g.to_owned(),
            max,
        }))
    }

    /// The type's object-count bounds (`max_count`, `min_count`, `count`), each a predicate in
    /// `preds`; a bound that always holds is refused, as it would pass without checking.
    fn type_counts(
        &self,
        r: &RawInvariant,
        g: &str,
        preds: &mut Vec<Predicate>,
    ) -> Result<(), ScenarioError> {
        for (field, cmp) in [
            (&r.max_count, Cmp::AtMost),
            (&r.min_count, Cmp::AtLeast),
            (&r.count, Cmp::Exactly),
        ] {
            let Some(n) = field else { continue };
            if *n.get_ref() < 0 {
                return Err(self.err(n.span(), "a count bound must be non-negative".into()));
            }
            if cmp == Cmp::AtLeast && *n.get_ref() == 0 {
                return Err(self.err(n.span(), "`min_count = 0` always holds (hint: `min_count = 1` to require at least one live object, or `absent = true` to require none)".into()));
            }
            preds.push(Predicate::TypeCount {
                glob: g.to_owned(),
                cmp,
                n: *n.get_ref() as u64,
            });
        }
        Ok(())
    }

    /// `metric = "live_bytes"` (or `"heap"`) with `max` or a growth bound in bytes.
    fn metric_predicate(
        &self,
        name: &str,
        ri: &Spanned<RawInvariant>,
        metric: &Spanned<String>,
        growth: Option<&Spanned<toml::Value>>,
        x_unit: crate::XUnit,
    ) -> Result<Predicate, ScenarioError> {
        let r = ri.get_ref();
        let expected = crate::spec::metric::residency_invariant_metric(x_unit);
        if metric.get_ref() != expected {
            return Err(self.err(metric.span(), format!("unknown invariant metric `{}` (hint: `{expected}` for this kind of run; per-type bounds use `type = \"glob\"`)", metric.get_ref())));
        }
        for (span, key) in [
            (r.absent.as_ref().map(|s| s.span()), "absent"),
            (r.max_count.as_ref().map(|s| s.span()), "max_count"),
            (r.min_count.as_ref().map(|s| s.span()), "min_count"),
            (r.count.as_ref().map(|s| s.span()), "count"),
            (r.max_bytes.as_ref().map(|s| s.span()), "max_bytes"),
        ] {
            if let Some(span) = span {
                return Err(self.err(
                    span,
                    format!("`{key}` bounds a type; a metric takes `max` or a growth bound"),
                ));
            }
        }
        let mut preds = Vec::new();
        if let Some(m) = &r.max {
            preds.push(Predicate::LiveBytesMax(self.bytes(m)?));
        }
        if let Some(gv) = growth {
            let max = self.number_or_bytes(gv)?;
            if max < 0.0 {
                return Err(self.err(
                    gv.span(),
                    "a growth bound must be non-negative (hint: 0 for no growth at all)".into(),
                ));
            }
            preds.push(Predicate::LiveBytesGrowth(max));
        }
        self.one_predicate(name, ri, preds)
    }

    /// A growth fit needs [`MIN_GROWTH_SAMPLES`] samples in its window. A simulator run's
    /// samples are known before it runs (cycle 0, every `sample_every`, the last cycle), so a
    /// window that would hold too few is rejected here rather than judged on a guess.
    fn check_growth_sampling(
        &self,
        name: &str,
        bound: &Spanned<toml::Value>,
        during: &Window,
        phases: &[Phase],
        s: &SimRun,
    ) -> Result<(), ScenarioError> {
        let endpoints = match during {
            Window::Always => Some((Endpoint::At(0), Endpoint::End)),
            Window::Range(a, b) => Some((a.clone(), b.clone())),
            Window::Phase(p) => phases
                .iter()
                .find(|ph| &ph.name == p)
                .map(|ph| (ph.from.clone(), ph.to.clone())),
        };
        let Some((from, to)) = endpoints else {
            return Ok(());
        };
        let (Some(a), Some(b)) = (from.position(s.cycles), to.position(s.cycles)) else {
            return Ok(());
        };
        let have = sim_samples_in(a, b, s.sample_every, s.cycles);
        let need = MIN_GROWTH_SAMPLES as u64;
        if have >= need {
            return Ok(());
        }
        let hint = match suggest_sample_every(a, b, s.cycles) {
            Some(every) => format!("`sample_every = {every}` or less in `[run]`"),
            None => format!(
                "widen the window to at least {} cycles, or bound `max` instead",
                need - 1
            ),
        };
        Err(self.err(
            bound.span(),
            format!(
                "invariant `{name}`: a growth bound needs at least {need} samples in its window, but cycles {a} to {b} sampled every {} cycles hold {have} (hint: {hint})",
                s.sample_every
            ),
        ))
    }

    /// What the scenario expects: that the invariant holds, or that it is violated by a culprit.
    fn expectation(&self, r: &RawInvariant) -> Result<Expectation, ScenarioError> {
        let culprit = r
            .expect_type
            .as_ref()
            .or(r.expect_site.as_ref())
            .or(r.expect_retainer.as_ref());
        let Some(e) = &r.expect else {
            if let Some(s) = culprit {
                return Err(self.err(s.span(), "`expect_type`, `expect_site` and `expect_retainer` need `expect = \"violated\"` (hint: add it, or remove them)".into()));
            }
            return Ok(Expectation::Holds);
        };
        match e.get_ref().as_str() {
            "holds" => match culprit {
                Some(s) => Err(self.err(s.span(), "`expect_type`, `expect_site` and `expect_retainer` name the culprit of a violation, but `expect = \"holds\"` (hint: `expect = \"violated\"`, or remove them)".into())),
                None => Ok(Expectation::Holds),
            },
            "violated" => Ok(Expectation::Violated {
                culprit_type: r.expect_type.as_ref().map(|s| s.get_ref().clone()),
                culprit_site: r.expect_site.as_ref().map(|s| s.get_ref().clone()),
                culprit_retainer: r.expect_retainer.as_ref().map(|s| s.get_ref().clone()),
            }),
            other => Err(self.err(
                e.span(),
                format!("unknown expectation `{other}` (hint: \"holds\" or \"violated\")"),
            )),
        }
    }

    fn one_predicate(
        &self,
        name: &str,
        ri: &Spanned<RawInvariant>,
        mut preds: Vec<Predicate>,
    ) -> Result<Predicate, ScenarioError> {
        match preds.len() {
            1 => Ok(preds.remove(0)),
            0 => Err(self.err(ri.span(), format!("invariant `{name}` has no bound (hint: `absent = true`, `max_count`, `min_count`, `count`, `max` or `max_growth_per_kcycle`)"))),
            _ => Err(self.err(ri.span(), format!("invariant `{name}` has {} bounds (hint: one bound per invariant; split it in two, each with its own name)", preds.len()))),
        }
    }

    fn check_metric_name(
        &self,
        key: &Spanned<String>,
        x_unit: crate::XUnit,
    ) -> Result<(), ScenarioError> {
        let k = key.get_ref();
        let names = crate::spec::metric::metric_names(x_unit);
        if names.contains(&k.as_str()) {
            return Ok(());
        }
        if let Some(rest) = k.strip_prefix("types.") {
            let fields = crate::spec::metric::type_fields(x_unit);
            if let Some((label, field)) = rest.rsplit_once('.') {
                if !label.is_empty() && fields.contains(&field) {
                    return Ok(());
                }
            }
            return Err(self.err(key.span(), format!("`{k}` is not a per-type metric (hint: `types.<label>.<field>` with field one of {})", fields.join(", "))));
        }
        Err(self.err(
            key.span(),
            format!(
                "unknown metric `{k}` (hint: one of {}, or types.<label>.<field>)",
                names.join(", ")
            ),
        ))
    }

    fn number(&self, v: &Spanned<toml::Value>) -> Result<f64, ScenarioError> {
        match v.get_ref() {
            toml::Value::Integer(i) => Ok(*i as f64),
            toml::Value::Float(f) if f.is_finite() => Ok(*f),
            other => Err(self.err(
                v.span(),
                format!("expected a number, found {}", other.type_str()),
            )),
        }
    }

    fn bytes(&self, v: &Spanned<toml::Value>) -> Result<u64, ScenarioError> {
        match v.get_ref() {
            toml::Value::Integer(i) if *i >= 0 => {
                units::check_bytes(*i as u64, &i.to_string()).map_err(|m| self.err(v.span(), m))
            }
            toml::Value::String(s) => units::parse_bytes(s).map_err(|m| self.err(v.span(), m)),
            other => Err(self.err(
                v.span(),
                format!(
                    "expected a byte size (an integer or a string like \"2 MiB\"), found {}",
                    other.type_str()
                ),
            )),
        }
    }

    fn non_negative(&self, v: &Spanned<toml::Value>) -> Result<f64, ScenarioError> {
        let n = self.number(v)?;
        if n < 0.0 {
            return Err(self.err(
                v.span(),
                "a growth bound must be non-negative (hint: 0 for no growth at all)".into(),
            ));
        }
        Ok(n)
    }

    fn number_or_bytes(&self, v: &Spanned<toml::Value>) -> Result<f64, ScenarioError> {
        match v.get_ref() {
            toml::Value::String(_) => self.bytes(v).map(|b| b as f64),
            _ => self.number(v),
        }
    }
}

//! `Verdict`: whether a scenario passed, failed or was skipped, from one pure function; and
//! [`Exit`], the exit status of every command, from one function per kind of judgement.
//!
//! Everything that can fail a scenario (a missing tool, the run itself, its invariants, its
//! baseline) is folded here and nowhere else, so front ends (tests, CLI, xtask) agree on what
//! failing means; they render a verdict, they never edit one. Reasons are typed: the words
//! (and the command a hint names, from [`Hints`]) are chosen only when a reason is shown.

use crate::judge::compare::{Comparison, RowVerdict};
use crate::judge::invariants::InvariantProblem;
use crate::measure::invariant::Outcome;
use serde::{Deserialize, Serialize};

/// The state of a scenario's baseline for this run.
#[derive(Debug, Clone, PartialEq)]
pub enum BaselineState {
    /// No `baselines/<name>.json` exists.
    Missing,
    /// It exists and was compared.
    Compared(Comparison),
}

/// A scenario's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It ran, its invariants are as declared, and its figures match the baseline.
    Passed,
    /// It passed by catching what it exists to catch: its invariants are as declared, at least
    /// one of them being an expected violation that happened (and named its culprit), and its
    /// figures match the baseline. A pass, shown as its own status so that a caught leak never
    /// reads as a plain "ok".
    LeakCaught,
    /// Something in [`Verdict::reasons`] failed it.
    Failed,
    /// It could not run here (a tool it requires is missing) and nothing demands it: never a
    /// pass, never a failure. Under CI a missing tool fails instead.
    Skipped,
}

/// Why a scenario did not pass, most fundamental first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Reason {
    /// A tool the scenario requires is not installed.
    MissingTool {
        /// What is missing, with the install command.
        message: String,
        /// Whether this run demands every tool (CI), which makes it a failure.
        required: bool,
    },
    /// The run itself failed: a build, a crash, a budget, a protocol or write error.
    RunFailed {
        /// What happened.
        message: String,
    },
    /// The run produced no sample at all (a profile with no census): nothing was measured.
    NoData {
        /// Where the data should have come from.
        message: String,
    },
    /// An invariant is not as declared (violated, not evaluated, culprit not named).
    Invariant {
        /// Which, and why.
        problem: InvariantProblem,
    },
    /// No baseline exists.
    NoBaseline,
    /// The scenario file changed since its baseline was blessed.
    FingerprintChanged {
        /// The baseline's fingerprint.
        old: String,
        /// The scenario's.
        new: String,
    },
    /// Metrics regressed beyond tolerance.
    Regressed {
        /// How many.
        count: usize,
    },
    /// Metrics improved beyond tolerance (locked in by blessing).
    Improved {
        /// How many.
        count: usize,
    },
    /// Metrics appeared or disappeared since the baseline.
    MetricsChanged {
        /// New ones.
        added: usize,
        /// Gone ones.
        removed: usize,
    },
}

/// The commands hints name: the ones the user runs (`cargo xtask bless` in this workspace,
/// `membound bless` for the bare CLI, whatever a project wraps it in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hints {
    /// The command that blesses, without a scenario name, e.g. `cargo xtask bless`.
    pub bless: String,
}

impl Default for Hints {
    fn default() -> Self {
        Hints {
            bless: "cargo xtask bless".into(),
        }
    }
}

impl Hints {
    /// Hints naming `command` (`membound`), with the options a pasted command needs to find the
    /// same files as this invocation (`--scenarios s6` when not the default), each value
    /// quoted for a POSIX shell.
    pub fn for_command(command: &str, options: &[(&str, &str)]) -> Hints {
        let mut bless = format!("{command} bless");
        for (option, value) in options {
            bless.push_str(&format!(" {option} {}", shell_quote(value)));
        }
        Hints { bless }
    }

    /// The command that blesses one scenario, e.g. `cargo xtask bless register_wb`: a name
    /// that a shell would split or expand is quoted, and one that looks like an option comes
    /// after `--`.
    pub fn bless_one(&self, scenario: &str) -> String {
        self.bless_with(&[], scenario)
    }

    /// [`Hints::bless_one`] with `--force`, which replaces a file that cannot be read.
    pub fn bless_forced(&self, scenario: &str) -> String {
        self.bless_with(&["--force"], scenario)
    }

    fn bless_with(&self, flags: &[&str], scenario: &str) -> String {
        let mut s = self.bless.clone();
        for f in flags {
            s.push(' ');
            s.push_str(f);
        }
        if scenario.starts_with('-') {
            s.push_str(" --");
        }
        s.push(' ');
        s.push_str(&shell_quote(scenario));
        s
    }
}

/// `text` as one word of a POSIX shell: as it is when it holds only characters no shell
/// treats specially, else in single quotes (a quote inside written `'\''`).
pub fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

impl Reason {
    /// The reason as a reader wants it, naming the command that acts on it.
    pub fn message(&self, scenario: &str, hints: &Hints) -> String {
        self.message_in(scenario, hints, true)
    }

    /// The reason as [`Reason::message`] words it, in a verdict that bless would accept or
    /// not: a hint to bless is given only when blessing would work, else the reader is told
    /// what must be fixed first.
    fn message_in(&self, scenario: &str, hints: &Hints, blessable: bool) -> String {
        let bless = hints.bless_one(scenario);
        if !blessable && self.blessable() {
            let text = self.message_in(scenario, hints, true);
            // Only the reasons that name the bless command change.
            let cut = text
                .find(" (hint: ")
                .or_else(|| text.find(": bless to lock it in"));
            return match cut {
                Some(i) => format!(
                    "{} (bless will accept the run only once the problems above are fixed)",
                    &text[..i]
                ),
                None => text,
            };
        }
        match self {
            Reason::MissingTool { message, required } => {
                if *required {
                    format!("{message} (CI=true: tools a scenario requires must be installed, see .ci/setup)")
                } else {
                    format!("skipped: {message}")
                }
            }
            Reason::RunFailed { message } => format!("the run failed: {message}"),
            Reason::NoData { message } => format!("nothing was measured: {message}"),
            Reason::Invariant { problem } => problem.message(),
            Reason::NoBaseline => {
                format!("no baseline for `{scenario}` (hint: create it with `{bless}`)")
            }
            Reason::FingerprintChanged { old, new } => format!(
                "scenario `{scenario}` changed since its baseline was blessed (fingerprint {old} ≠ {new}) (hint: review the run and `{bless}`)"
            ),
            Reason::Regressed { count } => {
                format!("{count} metric(s) regressed beyond tolerance")
            }
            Reason::Improved { count } => format!(
                "{count} metric(s) improved beyond tolerance: bless to lock it in (`{bless}`)"
            ),
            Reason::MetricsChanged { added, removed } => format!(
                "{added} metric(s) new and {removed} gone since the baseline (hint: `{bless}`)"
            ),
        }
    }

    /// Whether blessing can accept a run failed for this reason: only differences from the
    /// baseline can be; a failed run, missing data or a broken invariant never.
    pub fn blessable(&self) -> bool {
        matches!(
            self,
            Reason::NoBaseline
                | Reason::FingerprintChanged { .. }
                | Reason::Regressed { .. }
                | Reason::Improved { .. }
                | Reason::MetricsChanged { .. }
        )
    }
}

/// A verdict in one word, most fundamental failure first: what a report's overview shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Headline {
    /// Passed.
    Passed,
    /// Passed by catching the violation the scenario expects.
    LeakCaught,
    /// Not run here: a tool it requires is missing.
    Skipped,
    /// The run itself failed.
    RunFailed,
    /// An invariant is not as declared.
    Invariant,
    /// A figure regressed beyond tolerance.
    Regressed,
    /// A figure improved beyond tolerance (bless to lock it in).
    Improved,
    /// Failed otherwise (no baseline, nothing measured, a changed scenario).
    Failed,
}

/// A scenario's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Passed, failed or skipped.
    pub status: Status,
    /// Why it did not pass (empty when it passed), most fundamental first.
    pub reasons: Vec<Reason>,
}

impl Verdict {
    /// The verdict of a scenario not judged yet: failed with no reason, until [`verdict`]
    /// folds its inputs. Never the outcome of a run.
    pub fn unjudged() -> Verdict {
        Verdict {
            status: Status::Failed,
            reasons: Vec::new(),
        }
    }

    /// Whether it passed, plainly or by catching its leak.
    pub fn passed(&self) -> bool {
        matches!(self.status, Status::Passed | Status::LeakCaught)
    }

    /// Whether it passed by catching the violation it expects.
    pub fn leak_caught(&self) -> bool {
        self.status == Status::LeakCaught
    }

    /// Whether it failed (a skip is neither a pass nor a failure).
    pub fn failed(&self) -> bool {
        self.status == Status::Failed
    }

    /// What the verdict comes to in one word, as a report's overview shows it: its status,
    /// and for a failure the most fundamental of its reasons.
    pub fn headline(&self) -> Headline {
        let any = |f: fn(&Reason) -> bool| self.reasons.iter().any(f);
        match self.status {
            Status::LeakCaught => Headline::LeakCaught,
            Status::Passed => Headline::Passed,
            Status::Skipped => Headline::Skipped,
            Status::Failed if any(|r| matches!(r, Reason::RunFailed { .. })) => Headline::RunFailed,
            Status::Failed if any(|r| matches!(r, Reason::Invariant { .. })) => Headline::Invariant,
            Status::Failed if self.regressed() => Headline::Regressed,
            Status::Failed if self.improved() => Headline::Improved,
            Status::Failed => Headline::Failed,
        }
    }

    /// Some metric regressed beyond tolerance.
    pub fn regressed(&self) -> bool {
        self.reasons
            .iter()
            .any(|r| matches!(r, Reason::Regressed { .. }))
    }

    /// Some metric improved beyond tolerance.
    pub fn improved(&self) -> bool {
        self.reasons
            .iter()
            .any(|r| matches!(r, Reason::Improved { .. }))
    }

    /// The one definition of "blessable": the scenario failed only by differing from its
    /// baseline. Bless writes such a run; check leaves it as `.json.new`; reports offer the
    /// command. A pass needs no blessing.
    pub fn blessable(&self) -> bool {
        self.failed() && self.reasons.iter().all(Reason::blessable)
    }

    /// Every reason as text, for a failure message.
    pub fn messages(&self, scenario: &str, hints: &Hints) -> Vec<String> {
        let blessable = self.blessable();
        self.reasons
            .iter()
            .map(|r| r.message_in(scenario, hints, blessable))
            .collect()
    }
}

/// What the verdict is made of.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// A required tool that is missing, and whether this run demands every tool (CI).
    pub missing_tool: Option<(&'a str, bool)>,
    /// Why the run failed, if it did.
    pub run_error: Option<&'a str>,
    /// The run produced no sample: where the data should have come from.
    pub no_data: Option<&'a str>,
    /// Invariants not as declared.
    pub invariant_problems: &'a [InvariantProblem],
    /// How many invariants were violated as the scenario expects (the leak it exists to
    /// catch was caught).
    pub caught: usize,
    /// The baseline's state.
    pub baseline: &'a BaselineState,
}

/// Folds everything that can fail a scenario into its verdict.
pub fn verdict(i: Inputs<'_>) -> Verdict {
    let mut reasons = Vec::new();
    if let Some((message, required)) = i.missing_tool {
        let reason = Reason::MissingTool {
            message: message.to_owned(),
            required,
        };
        let status = if required {
            Status::Failed
        } else {
            Status::Skipped
        };
        return Verdict {
            status,
            reasons: vec![reason],
        };
    }
    if let Some(e) = i.run_error {
        reasons.push(Reason::RunFailed {
            message: e.to_owned(),
        });
    }
    if let Some(e) = i.no_data {
        reasons.push(Reason::NoData {
            message: e.to_owned(),
        });
    }
    reasons.extend(
        i.invariant_problems
            .iter()
            .map(|p| Reason::Invariant { problem: p.clone() }),
    );
    // A failed run is never compared: its partial figures would only add noise.
    if i.run_error.is_none() && i.no_data.is_none() {
        match i.baseline {
            BaselineState::Missing => reasons.push(Reason::NoBaseline),
            BaselineState::Compared(cmp) => {
                if let Some((old, new)) = &cmp.fingerprint_mismatch {
                    reasons.push(Reason::FingerprintChanged {
                        old: old.clone(),
                        new: new.clone(),
                    });
                }
                let count = |v: RowVerdict| cmp.rows.iter().filter(|r| r.verdict == v).count();
                let (reg, imp) = (count(RowVerdict::Regressed), count(RowVerdict::Improved));
                let (added, removed) = (count(RowVerdict::Added), count(RowVerdict::Removed));
                if reg > 0 {
                    reasons.push(Reason::Regressed { count: reg });
                }
                if imp > 0 {
                    reasons.push(Reason::Improved { count: imp });
                }
                if added + removed > 0 {
                    reasons.push(Reason::MetricsChanged { added, removed });
                }
            }
        }
    }
    let status = match (reasons.is_empty(), i.caught > 0) {
        (true, false) => Status::Passed,
        (true, true) => Status::LeakCaught,
        (false, _) => Status::Failed,
    };
    Verdict { status, reasons }
}

/// How a `membound` command ends: its process's exit status. Every command's judgement comes
/// to one of these, through one function per kind of judgement below, so that no front end
/// chooses a number of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// What was asked was done, and nothing it judged failed (a scenario skipped for a missing
    /// tool outside CI is no failure).
    Success = 0,
    /// What was asked was done, and something it judged failed: a scenario, a scenario file, an
    /// invariant on a profile, a bless refused, a run that could not be diagnosed, a suspected
    /// leak.
    Failure = 1,
    /// What was asked could not be done: bad arguments or input, or an error (a file, git, a
    /// report that cannot be written) before anything was judged.
    Error = 2,
}

impl Exit {
    /// The status as the process reports it.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Fails when any of `failed` is true.
    fn failing_if(mut failed: impl Iterator<Item = bool>) -> Exit {
        if failed.any(|f| f) {
            Exit::Failure
        } else {
            Exit::Success
        }
    }
}

/// The exit status for a set of verdicts (`run`): a failure when any failed. Skips do not fail
/// a run (under CI a missing tool is a failure, not a skip).
pub fn exit_code<'a>(verdicts: impl IntoIterator<Item = &'a Verdict>) -> Exit {
    Exit::failing_if(verdicts.into_iter().map(Verdict::failed))
}

/// The exit status of `check`: a failure when any scenario file was refused.
pub fn check_exit<T, E>(files: &[Result<T, E>]) -> Exit {
    Exit::failing_if(files.iter().map(Result::is_err))
}

/// The exit status of checking a scenario's invariants on a profile (`profile --scenario`): a
/// failure when any was violated, could not be evaluated, or was not reached: a marker the
/// profile never had, a window after its end or without a sample was never checked, which is
/// never a pass. One not reached because a violation stopped the check before its window is
/// shown as not checked: that violation already fails the exit.
pub fn outcomes_exit<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Exit {
    use crate::measure::invariant::Unreached;
    Exit::failing_if(outcomes.into_iter().map(|o| match o {
        Outcome::Held { .. } => false,
        Outcome::NotReached {
            reason: Unreached::StoppedBefore { .. },
            ..
        } => false,
        Outcome::Violated(_) | Outcome::NotReached { .. } | Outcome::NotEvaluable { .. } => true,
    }))
}

/// What `bless` did with one scenario, as its exit status sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlessFate {
    /// Its baseline is the run's: written, accepted from a pending result, or unchanged.
    Blessed,
    /// Not run: a tool it requires is missing. Nothing was refused.
    NotRun,
    /// Refused (its invariants are not as declared, it measured nothing, its run failed) or
    /// not written.
    Refused,
}

/// The exit status of `bless`: a failure when any scenario was refused.
pub fn bless_exit(fates: impl IntoIterator<Item = BlessFate>) -> Exit {
    Exit::failing_if(fates.into_iter().map(|f| f == BlessFate::Refused))
}

/// What `diagnose` did with one scenario, as its exit status sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Diagnosis {
    /// It ran: its violations are explained, or it had none.
    Ran,
    /// A simulator scenario: its failures already name types, sites and holders.
    NotNeeded,
    /// Not run: a tool it requires is missing.
    MissingTool,
    /// Its run failed, so there is nothing to attribute.
    RunFailed,
}

/// The exit status of `diagnose`: a failure when a scenario could not be run (a missing tool
/// or a failed run), since then nothing was explained. A violation is what `diagnose`
/// explains, not a failure of it.
pub fn diagnose_exit(diagnoses: impl IntoIterator<Item = Diagnosis>) -> Exit {
    Exit::failing_if(
        diagnoses
            .into_iter()
            .map(|d| matches!(d, Diagnosis::MissingTool | Diagnosis::RunFailed)),
    )
}

/// The exit status of `explore`: a failure when a label grows with the run's length (a
/// suspected leak, for which no invariant is proposed).
pub fn explore_exit(leak_suspected: bool) -> Exit {
    Exit::failing_if(std::iter::once(leak_suspected))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An invariant `x` that held where the scenario expected its leak to be caught.
    fn violated_x() -> InvariantProblem {
        InvariantProblem {
            invariant: "x".into(),
            x_unit: crate::XUnit::Cycles,
            problem: crate::judge::invariants::Problem::UndetectedLeak { samples: 3 },
        }
    }
    use crate::judge::compare::Row;
    use crate::spec::invariant::Tolerance;
    use crate::spec::metric::Value;

    fn cmp(verdicts: &[RowVerdict], fp: bool) -> BaselineState {
        let rows = verdicts
            .iter()
            .enumerate()
            .map(|(i, v)| Row {
                metric: format!("m{i}"),
                baseline: Some(Value::Int(1)),
                current: Some(Value::Int(1)),
                tolerance: Tolerance {
                    relative: 0.0,
                    absolute: 0.0,
                },
                verdict: *v,
            })
            .collect();
        BaselineState::Compared(Comparison {
            rows,
            fingerprint_mismatch: fp.then(|| ("a".into(), "b".into())),
        })
    }

    fn inputs(baseline: &BaselineState) -> Inputs<'_> {
        Inputs {
            missing_tool: None,
            run_error: None,
            no_data: None,
            invariant_problems: &[],
            caught: 0,
            baseline,
        }
    }

    /// One case: the inputs, the status, whether it is blessable, and what its text says.
    fn check(i: Inputs<'_>, status: Status, blessable: bool, says: &str) {
        let v = verdict(i);
        assert_eq!(v.status, status, "{v:?}");
        assert_eq!(v.blessable(), blessable, "{v:?}");
        let text = v.messages("s", &Hints::default()).join("\n");
        assert!(text.contains(says), "{text:?} should mention {says:?}");
    }

    #[test]
    fn table() {
        use RowVerdict::*;
        let problem = vec![violated_x()];
        let equal = cmp(&[Equal, Within], false);
        check(inputs(&equal), Status::Passed, false, "");
        let reg = cmp(&[Equal, Regressed], false);
        check(inputs(&reg), Status::Failed, true, "1 metric(s) regressed");
        let imp = cmp(&[Improved], false);
        check(inputs(&imp), Status::Failed, true, "bless to lock it in");
        let added = cmp(&[Added], false);
        check(inputs(&added), Status::Failed, true, "1 metric(s) new");
        let fp = cmp(&[Equal], true);
        check(
            inputs(&fp),
            Status::Failed,
            true,
            "changed since its baseline",
        );
        let missing = BaselineState::Missing;
        check(
            inputs(&missing),
            Status::Failed,
            true,
            "cargo xtask bless s",
        );
        check(
            Inputs {
                invariant_problems: &problem,
                ..inputs(&equal)
            },
            Status::Failed,
            false,
            "invariant `x` was expected to be violated but held at all 3 samples",
        );
        check(
            Inputs {
                run_error: Some("timed out"),
                ..inputs(&missing)
            },
            Status::Failed,
            false,
            "the run failed: timed out",
        );
        check(
            Inputs {
                no_data: Some("the profile holds no census"),
                ..inputs(&equal)
            },
            Status::Failed,
            false,
            "nothing was measured",
        );
        check(
            Inputs {
                missing_tool: Some(("`ghc` is not installed", false)),
                ..inputs(&equal)
            },
            Status::Skipped,
            false,
            "skipped",
        );
        check(
            Inputs {
                missing_tool: Some(("`ghc` is not installed", true)),
                ..inputs(&equal)
            },
            Status::Failed,
            false,
            "CI=true",
        );
    }

    #[test]
    fn a_headline_is_the_most_fundamental_reason() {
        let failed = |reasons: Vec<Reason>| Verdict {
            status: Status::Failed,
            reasons,
        };
        let run = Reason::RunFailed {
            message: "crashed".into(),
        };
        let invariant = Reason::Invariant {
            problem: violated_x(),
        };
        let regressed = Reason::Regressed { count: 1 };
        let improved = Reason::Improved { count: 1 };
        assert_eq!(
            failed(vec![regressed.clone(), run]).headline(),
            Headline::RunFailed
        );
        assert_eq!(
            failed(vec![improved.clone(), invariant]).headline(),
            Headline::Invariant
        );
        assert_eq!(
            failed(vec![improved.clone(), regressed]).headline(),
            Headline::Regressed
        );
        assert_eq!(failed(vec![improved]).headline(), Headline::Improved);
        assert_eq!(
            failed(vec![Reason::NoBaseline]).headline(),
            Headline::Failed
        );
    }

    #[test]
    fn a_bless_hint_is_given_only_when_bless_would_accept_the_run() {
        let problem = vec![violated_x()];
        let missing = BaselineState::Missing;
        let v = verdict(Inputs {
            invariant_problems: &problem,
            ..inputs(&missing)
        });
        let text = v.messages("s", &Hints::default()).join("\n");
        assert!(!text.contains("cargo xtask bless"), "{text}");
        assert!(
            text.contains("no baseline for `s` (bless will accept the run only once the problems above are fixed)"),
            "{text}"
        );
    }

    #[test]
    fn a_caught_leak_is_its_own_pass() {
        let equal = cmp(&[RowVerdict::Equal], false);
        let caught = Inputs {
            caught: 1,
            ..inputs(&equal)
        };
        let v = verdict(caught);
        assert_eq!(v.status, Status::LeakCaught);
        assert!(v.passed() && v.leak_caught() && !v.failed());
        assert_eq!(exit_code([&v]), Exit::Success);
        // Anything else wrong still fails it.
        let reg = cmp(&[RowVerdict::Regressed], false);
        let v = verdict(Inputs {
            caught: 1,
            ..inputs(&reg)
        });
        assert_eq!(v.status, Status::Failed);
        assert!(!verdict(inputs(&equal)).leak_caught());
    }

    #[test]
    fn hints_name_the_users_command() {
        let v = verdict(inputs(&BaselineState::Missing));
        let hints = Hints {
            bless: "membound bless".into(),
        };
        let text = v.messages("s", &hints).join("\n");
        assert!(text.contains("`membound bless s`"), "{text}");
        assert!(!text.contains("xtask"), "{text}");
    }

    #[test]
    fn hints_carry_directories_and_quote_what_a_shell_would_mangle() {
        let hints = Hints::for_command(
            "membound",
            &[("--scenarios", "s6"), ("--baselines", "my baselines")],
        );
        assert_eq!(
            hints.bless_one("nophase"),
            "membound bless --scenarios s6 --baselines 'my baselines' nophase"
        );
        assert_eq!(
            hints.bless_one("-rf"),
            "membound bless --scenarios s6 --baselines 'my baselines' -- -rf"
        );
        assert_eq!(
            hints.bless_forced("-rf"),
            "membound bless --scenarios s6 --baselines 'my baselines' --force -- -rf"
        );
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("a*b"), "'a*b'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("register_wb-2"), "register_wb-2");
    }

    #[test]
    fn exit_codes() {
        let equal = cmp(&[], false);
        let pass = verdict(inputs(&equal));
        let fail = verdict(inputs(&BaselineState::Missing));
        let skip = verdict(Inputs {
            missing_tool: Some(("no ghc", false)),
            ..inputs(&equal)
        });
        assert_eq!(exit_code([&pass, &pass]), Exit::Success);
        assert_eq!(exit_code([&pass, &skip]), Exit::Success);
        assert_eq!(exit_code([&pass, &fail]), Exit::Failure);
        assert_eq!(exit_code([]), Exit::Success);
    }

    #[test]
    fn exit_statuses_are_the_documented_numbers() {
        assert_eq!(
            [Exit::Success, Exit::Failure, Exit::Error].map(Exit::code),
            [0, 1, 2]
        );
    }

    #[test]
    fn check_fails_on_any_refused_file() {
        let ok: Result<(), &str> = Ok(());
        let bad: Result<(), &str> = Err("s.toml:1:1: unknown key");
        assert_eq!(check_exit(&[ok, ok]), Exit::Success);
        assert_eq!(check_exit(&[ok, bad]), Exit::Failure);
        assert_eq!(check_exit::<(), ()>(&[]), Exit::Success);
    }

    #[test]
    fn profile_outcomes_fail_unless_every_invariant_was_checked_and_held() {
        use crate::measure::invariant::{Unevaluable, Unreached};
        let held = Outcome::Held { samples: 3 };
        let unreached = Outcome::NotReached {
            reason: Unreached::OpensAfterEnd {
                opens: 10,
                end: 5,
                x_unit: crate::XUnit::Census,
            },
            stopped_at: None,
        };
        let unevaluable = Outcome::NotEvaluable {
            reason: Unevaluable::TooFewSamples {
                samples: 1,
                needed: 2,
                x_unit: crate::XUnit::Census,
                stopped_at: None,
                measured: None,
            },
        };
        let after_a_stop = Outcome::NotReached {
            reason: Unreached::StoppedBefore {
                stopped_at: 4,
                opens: 10,
                x_unit: crate::XUnit::Census,
            },
            stopped_at: Some(4),
        };
        assert_eq!(outcomes_exit([&held, &held]), Exit::Success);
        assert_eq!(outcomes_exit([&held, &unreached]), Exit::Failure);
        assert_eq!(outcomes_exit([&held, &unevaluable]), Exit::Failure);
        assert_eq!(outcomes_exit([&held, &after_a_stop]), Exit::Success);
    }

    #[test]
    fn bless_fails_only_on_a_refusal() {
        use BlessFate::*;
        assert_eq!(bless_exit([Blessed, NotRun]), Exit::Success);
        assert_eq!(bless_exit([Blessed, Refused, NotRun]), Exit::Failure);
    }

    #[test]
    fn diagnose_fails_when_a_scenario_could_not_be_run() {
        use Diagnosis::*;
        assert_eq!(diagnose_exit([Ran, NotNeeded]), Exit::Success);
        assert_eq!(diagnose_exit([Ran, MissingTool]), Exit::Failure);
        assert_eq!(diagnose_exit([RunFailed]), Exit::Failure);
    }

    #[test]
    fn explore_fails_on_a_suspected_leak() {
        assert_eq!(explore_exit(false), Exit::Success);
        assert_eq!(explore_exit(true), Exit::Failure);
    }
}

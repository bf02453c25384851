//! Whether each invariant is as its scenario declares: typed problems, worded only when shown.
//!
//! ```
//! # use membound::judge::invariants::{InvariantProblem, Problem};
//! let p = InvariantProblem {
//!     invariant: "heap bounded".into(),
//!     x_unit: membound::XUnit::Census,
//!     problem: Problem::UndetectedLeak { samples: 12 },
//! };
//! assert!(p.message().contains("held at all 12 samples"));
//! ```
//!
//! Nothing that was not evaluated passes: an invariant that could not be judged is a problem
//! whatever was expected, and a window with no sample is one even when a violation stopped the
//! run before the window opened. Pure: decides from a scenario and its outcomes, never prints.

use crate::measure::invariant::{outcomes_by_name, Outcome, Unevaluable, Unreached, Violation};
use crate::scenario::Scenario;
use crate::spec::invariant::Expectation;
use crate::XUnit;
use serde::{Deserialize, Serialize};

/// Why one invariant is not as declared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// The run gave it no outcome: it was never checked.
    NoOutcome,
    /// Its window had samples that cannot decide it.
    NotEvaluable {
        /// Why, and what to change.
        reason: Unevaluable,
    },
    /// It was violated where it was expected to hold.
    Violated {
        /// The violation, explained when shown.
        violation: Box<Violation>,
    },
    /// Its window had no sample.
    NotReached {
        /// Why.
        reason: Unreached,
        /// Whether the scenario expected it to be violated.
        expected_violation: bool,
    },
    /// It was violated as expected, but the violation's report does not name the culprit the
    /// scenario expects.
    CulpritNotNamed {
        /// What is named instead.
        why: String,
        /// The violation.
        violation: Box<Violation>,
    },
    /// It was expected to be violated and held: the leak went undetected.
    UndetectedLeak {
        /// The samples it held at.
        samples: usize,
    },
}

/// One invariant that is not as declared, with what it takes to word it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvariantProblem {
    /// The invariant's name.
    pub invariant: String,
    /// The run's x-axis, in whose units a violation is explained.
    pub x_unit: XUnit,
    /// What is wrong.
    pub problem: Problem,
}

impl InvariantProblem {
    /// The problem in words, multi-line for a violation's explanation.
    pub fn message(&self) -> String {
        let name = &self.invariant;
        match &self.problem {
            Problem::NoOutcome => {
                format!("invariant `{name}` has no outcome: it was never checked")
            }
            Problem::NotEvaluable { reason } => {
                format!("invariant `{name}` could not be evaluated: {reason}")
            }
            Problem::Violated { violation } => violation.explain(self.x_unit),
            Problem::NotReached {
                reason,
                expected_violation: false,
            } => format!("invariant `{name}` was never checked: {reason}"),
            Problem::NotReached {
                reason,
                expected_violation: true,
            } => format!(
                "invariant `{name}` was expected to be violated but was never checked: {reason}"
            ),
            Problem::CulpritNotNamed { why, violation } => format!(
                "invariant `{name}` was violated as expected, but the report does not name the culprit: {why}\n{}",
                violation.explain(self.x_unit)
            ),
            Problem::UndetectedLeak { samples } => format!(
                "invariant `{name}` was expected to be violated but held at all {samples} samples: the leak this scenario exists to catch went undetected"
            ),
        }
    }
}

/// The invariants of `scenario` that are not as declared, given the run's `outcomes`, in the
/// scenario's order.
pub fn problems(scenario: &Scenario, outcomes: &[(String, Outcome)]) -> Vec<InvariantProblem> {
    let x_unit = scenario.x_unit();
    let by_name = outcomes_by_name(outcomes);
    let mut out = Vec::new();
    for inv in &scenario.invariants {
        let expected_violation = matches!(inv.expect, Expectation::Violated { .. });
        let problem = match (&inv.expect, by_name.get(inv.name.as_str())) {
            (_, None) => Some(Problem::NoOutcome),
            (_, Some(Outcome::NotEvaluable { reason })) => Some(Problem::NotEvaluable {
                reason: reason.clone(),
            }),
            (Expectation::Holds, Some(Outcome::Held { .. })) => None,
            (Expectation::Holds, Some(Outcome::Violated(v))) => Some(Problem::Violated {
                violation: Box::new(v.clone()),
            }),
            // Even when a violation stopped the run before the window opened: an invariant
            // never checked has not held, whatever stopped the run.
            (_, Some(Outcome::NotReached { reason, .. })) => Some(Problem::NotReached {
                reason: reason.clone(),
                expected_violation,
            }),
            (
                Expectation::Violated {
                    culprit_type,
                    culprit_site,
                    culprit_retainer,
                },
                Some(Outcome::Violated(v)),
            ) => v
                .names_culprit(
                    culprit_type.as_deref(),
                    culprit_site.as_deref(),
                    culprit_retainer.as_deref(),
                )
                .err()
                .map(|why| Problem::CulpritNotNamed {
                    why,
                    violation: Box::new(v.clone()),
                }),
            (Expectation::Violated { .. }, Some(Outcome::Held { samples })) => {
                Some(Problem::UndetectedLeak { samples: *samples })
            }
        };
        if let Some(problem) = problem {
            out.push(InvariantProblem {
                invariant: inv.name.clone(),
                x_unit,
                problem,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::verdict::Reason;

    #[test]
    fn a_problem_reads_back_as_it_was_written() {
        let p = InvariantProblem {
            invariant: "x".into(),
            x_unit: XUnit::Cycles,
            problem: Problem::UndetectedLeak { samples: 3 },
        };
        let r = Reason::Invariant { problem: p };
        let text = serde_json::to_string(&r).expect("json");
        let back: Reason = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(back, r);
    }
}

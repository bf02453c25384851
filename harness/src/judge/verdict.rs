//! `Verdict`: whether a scenario passed, and the process exit code, from one pure function.
//!
//! Everything that can fail a scenario (the run itself, its invariants, its baseline) is folded
//! here and nowhere else, so front ends (tests, CLI, xtask) agree on what failing means.

use crate::judge::compare::{Comparison, RowVerdict};
use serde::{Deserialize, Serialize};

/// The state of a scenario's baseline for this run.
#[derive(Debug, Clone, PartialEq)]
pub enum BaselineState {
    /// No `baselines/<name>.json` exists.
    Missing,
    /// It exists and was compared.
    Compared(Comparison),
}

/// A scenario's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed (empty when it passed), most fundamental first.
    pub reasons: Vec<String>,
    /// Some metric improved beyond tolerance (the scenario fails until blessed).
    pub improved: bool,
    /// Some metric regressed beyond tolerance.
    pub regressed: bool,
}

/// Folds a scenario's run error, invariant problems and baseline comparison into its verdict.
pub fn verdict(
    scenario: &str,
    run_error: Option<&str>,
    invariant_problems: &[String],
    baseline: &BaselineState,
) -> Verdict {
    let mut reasons = Vec::new();
    if let Some(e) = run_error {
        reasons.push(format!("the run failed: {e}"));
    }
    reasons.extend(invariant_problems.iter().cloned());
    let (mut improved, mut regressed) = (false, false);
    if run_error.is_none() {
        match baseline {
            BaselineState::Missing => reasons.push(format!(
                "no baseline for `{scenario}` (hint: create it with `cargo xtask bless {scenario}`)"
            )),
            BaselineState::Compared(cmp) => {
                if let Some((old, new)) = &cmp.fingerprint_mismatch {
                    reasons.push(format!(
                        "scenario `{scenario}` changed since its baseline was blessed (fingerprint {old} ≠ {new}) (hint: review the run and `cargo xtask bless {scenario}`)"
                    ));
                }
                let count = |v: RowVerdict| cmp.rows.iter().filter(|r| r.verdict == v).count();
                let (reg, imp) = (count(RowVerdict::Regressed), count(RowVerdict::Improved));
                let (added, removed) = (count(RowVerdict::Added), count(RowVerdict::Removed));
                regressed = reg > 0;
                improved = imp > 0;
                if reg > 0 {
                    reasons.push(format!("{reg} metric(s) regressed beyond tolerance"));
                }
                if imp > 0 {
                    reasons.push(format!("{imp} metric(s) improved beyond tolerance: bless to lock it in (`cargo xtask bless {scenario}`)"));
                }
                if added + removed > 0 {
                    reasons.push(format!("{added} metric(s) new and {removed} gone since the baseline (hint: `cargo xtask bless {scenario}`)"));
                }
            }
        }
    }
    Verdict {
        passed: reasons.is_empty(),
        reasons,
        improved,
        regressed,
    }
}

/// The process exit code for a set of verdicts: 0 when all passed, 1 otherwise.
pub fn exit_code<'a>(verdicts: impl IntoIterator<Item = &'a Verdict>) -> i32 {
    if verdicts.into_iter().all(|v| v.passed) {
        0
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::compare::Row;
    use crate::measure::metrics::Value;
    use crate::scenario::Tolerance;

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

    #[test]
    fn table() {
        use RowVerdict::*;
        let problem = vec!["invariant x violated".to_owned()];
        // (run error, invariant problems, baseline, passed, reason contains)
        type Case<'a> = (Option<&'a str>, Vec<String>, BaselineState, bool, &'a str);
        let cases: Vec<Case> = vec![
            (None, vec![], cmp(&[Equal, Within], false), true, ""),
            (
                None,
                vec![],
                cmp(&[Equal, Regressed], false),
                false,
                "1 metric(s) regressed",
            ),
            (
                None,
                vec![],
                cmp(&[Improved], false),
                false,
                "bless to lock it in",
            ),
            (None, vec![], cmp(&[Added], false), false, "1 metric(s) new"),
            (
                None,
                vec![],
                cmp(&[Equal], true),
                false,
                "changed since its baseline",
            ),
            (
                None,
                vec![],
                BaselineState::Missing,
                false,
                "cargo xtask bless s",
            ),
            (
                None,
                problem.clone(),
                cmp(&[Equal], false),
                false,
                "invariant x violated",
            ),
            (
                Some("timed out"),
                vec![],
                BaselineState::Missing,
                false,
                "the run failed: timed out",
            ),
        ];
        for (err, probs, base, passed, reason) in cases {
            let v = verdict("s", err, &probs, &base);
            assert_eq!(v.passed, passed, "{v:?}");
            assert!(
                v.reasons.join("\n").contains(reason),
                "{v:?} should mention {reason:?}"
            );
        }
    }

    #[test]
    fn exit_codes() {
        let pass = verdict("s", None, &[], &cmp(&[], false));
        let fail = verdict("s", None, &[], &BaselineState::Missing);
        assert_eq!(exit_code([&pass, &pass]), 0);
        assert_eq!(exit_code([&pass, &fail]), 1);
        assert_eq!(exit_code([]), 0);
    }
}

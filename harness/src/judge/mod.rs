//! Judging a measured run: [`invariants`] (whether each invariant is as declared, typed),
//! [`compare`] (a result against its baseline under two-sided tolerances) and [`verdict`] (the one pure function from everything that can fail a scenario
//! to its `Verdict` and the exit code).
//!
//! Pure: reads no files and writes none; front ends render what it decides.

pub mod compare;
pub mod invariants;
pub mod verdict;

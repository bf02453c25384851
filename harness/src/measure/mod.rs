//! Measuring a `Timeline`: [`metrics`] (the metric table, peak, steady, growth) and
//! [`invariant`] (the `Checker`, predicates over windows checked sample by sample).
//!
//! Pure: no files, no processes, no baselines. Knows nothing of where a timeline came from.

pub mod invariant;
pub mod metrics;

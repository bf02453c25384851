//! The language every stage speaks: the invariant language ([`invariant`]), the metric table
//! ([`metric`]) and the text rules they share ([`text`]).
//!
//! ```
//! use membound::spec::{invariant::Predicate, metric, text::glob_match};
//! assert_eq!(metric::metric("heap.peak").map(|m| m.unit), Some(metric::Unit::Bytes));
//! assert!(glob_match("clash-prelude:*.:-", "clash-prelude:Clash.Signal.Internal.:-"));
//! assert_eq!(metric::predicate_glob(&Predicate::TypeAbsent("T".into())), Some("T"));
//! ```
//!
//! A leaf: it imports no stage (only the `timeline`'s `XUnit`), so the validator and the
//! checker share its definitions without importing each other. It holds no logic that runs a
//! program, reads a file or judges a result.

pub mod invariant;
pub mod metric;
pub mod text;

//! `sim`: a Clash-style circuit simulator in Rust, built to reproduce — and to make visible —
//! the space leaks of Clash simulations.
//!
//! - [`signal`]: [`Signal<T>`], the infinite, lazily evaluated, shared stream of a wire's
//!   per-cycle values (Clash's `a :- Signal a`), with its combinators: constant, map, zip/apply,
//!   register, mealy/moore, bundle/unbundle, and [`signal::feedback`] for loops.
//! - [`census`]: constructor counts of every heap node the simulator allocates, per type label
//!   and creation site, with the birth cycles of the live ones.
//! - [`wishbone`]: Wishbone records, a single-master interconnect, `register_wb`.
//! - [`testbench`] and [`circuits`]: the RegisterWb testbench with its three leak knobs, and the
//!   catalogue the harness builds circuits from.
//!
//! # Example
//! ```
//! use std::collections::BTreeMap;
//! use sim::circuits::{build, ParamValue};
//!
//! let mut params = BTreeMap::new();
//! params.insert("leak".to_string(), ParamValue::Str("lazy_unzip".into()));
//! let mut circuit = build("register_wb", &params).expect("valid parameters");
//! for _ in 0..1_000 {
//!     circuit.step();
//! }
//! assert_eq!(circuit.status().mismatches, 0);
//! let leak = sim::census::snapshot()
//!     .into_iter()
//!     .find(|e| e.label == "Signal<WishboneS2M>::Cons" && e.site == "register_wb/mealy")
//!     .expect("the slaves' responses are counted");
//! assert!(leak.live >= 4 * 999, "every response since cycle 0 is retained: {leak:?}");
//! assert_eq!(leak.oldest_birth, Some(0));
//! ```
//!
//! # What it must not do
//! - Know anything of the harness, scenarios, baselines or files: it simulates and counts.
//! - Take dependencies (the harness measures its allocations; fewer moving parts, exact counts).
//! - Lock or allocate on the census hot path: counters are thread-local `Cell`s.
//! - Recurse when dropping a stream, or form `Rc` cycles: long chains and feedback loops must be
//!   freed, completely, when their last holder goes.

#![warn(missing_docs)]

pub mod census;
pub mod circuits;
pub mod lazy;
pub mod signal;
pub mod testbench;
pub mod vec;
pub mod wishbone;

pub use census::CensusEntry;
pub use circuits::{
    build, catalog, Catalog, Circuit, CircuitSpec, CircuitStatus, Driver, ParamKind, ParamSpec,
    ParamValue, Params, SimError,
};
pub use signal::Signal;

//! membound: guards the memory bounds of circuit simulations.
//!
//! A scenario (TOML) says what to run — a circuit of the `sim` crate, or an external program
//! such as a Clash simulation built with GHC — which memory invariants must hold, and how far
//! its figures may drift from the blessed baseline. The harness runs it in a child process,
//! turns what it observes into a [`Timeline`], checks the invariants at every sample (stopping
//! at the first violation), measures, and compares with `baselines/<name>.json`.
//!
//! ```no_run
//! use membound::{pipeline, scenario, source::RunConfig, store::Store};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The circuits simulator scenarios may name: this workspace's, or a project's own.
//! let catalog = sim::circuits::catalog();
//! let s = scenario::load("scenarios/register_wb.toml".as_ref(), &catalog)?;
//! let cfg = pipeline::Config {
//!     run: RunConfig {
//!         probe_program: std::env::current_exe()?, // a binary that calls probe::maybe_run_as_child
//!         scenarios_dir: "scenarios".into(),
//!         work_dir: "target/membound".into(),
//!         on_violation: None,  // each scenario's own `on_violation`
//!         allow_pause: false,  // true only where a person can continue a paused program
//!     },
//!     store: Store { dir: "baselines".into(), results_dir: "target/membound/results".into() },
//!     ci: false,
//!     hints: Default::default(), // hints name `cargo xtask bless`
//! };
//! let result = pipeline::check(&s, &cfg, &mut |_event| {});
//! if result.verdict.failed() {
//!     eprintln!("{}", pipeline::failure_message(&result, &cfg.hints));
//! }
//! # Ok(()) }
//! ```
//!
//! What it must not do: print from library code (front ends and reporters print), read the
//! environment (front ends pass a `Config`; tool lookup on `PATH` is the one exception), write
//! files other than through `store`, or let any stage after the sources depend on where a
//! `Timeline` came from. Each stage imports only the stages before it (ARCHITECTURE.md).
#![warn(missing_docs)]

// The folders are the pipeline's stages (their order: ARCHITECTURE.md, "Module index").
pub mod explore;
pub mod judge;
pub mod measure;
pub mod pipeline;
pub mod report;
pub mod scenario;
pub mod source;
pub mod spec;
pub mod store;
pub mod timeline;
// Shared by every stage.
pub mod attribution;
pub mod errors;
pub mod units;

pub use timeline::{JemallocStats, Mark, Sample, SiteSample, Timeline, TypeSample, XUnit};

//! membound: guards the memory bounds of circuit simulations.
//!
//! (Crate documentation is completed as the modules land.)
#![warn(missing_docs)]

pub mod eventlog;
pub mod ghc;
pub mod hp;
pub mod rts_stats;
pub mod timeline;

pub use timeline::{Mark, Sample, SiteSample, Timeline, TypeSample, XUnit};

//! `own-simulator`: a circuit of a project's own, run by membound through a catalogue of its
//! own, as a team with its own Rust simulator would.
//!
//! The circuit is a moving sum over the last four samples of a free-running counter, built from
//! `sim`'s lazy signals. Its leak knob `monitor = "lagging"` adds a debug monitor that keeps a
//! handle on the counter's stream and never reads it: every cell the filter forces stays
//! reachable from the monitor, the mechanism of a lagging reader (nothing is pushed anywhere).
//!
//! ```
//! let catalog = own_simulator::catalog();
//! let mut run = catalog.build("moving_sum", &Default::default()).expect("defaults are valid");
//! for _ in 0..10 {
//!     run.step();
//! }
//! assert_eq!(run.cycle(), 10);
//! ```
//!
//! What it must not do: depend on the harness (the circuit is plain `sim`), or set the census
//! cycle itself (the driver does).

use sim::circuits::{
    Catalog, Circuit, CircuitSpec, CircuitStatus, ParamKind, ParamSpec, Params, SimError,
};
use sim::signal::{mealy, Signal};

/// A moving sum over the last `taps` counter values.
struct MovingSum {
    out: Signal<u64>,
    /// The lagging monitor's handle, when the knob is on.
    _monitor: Option<Signal<u64>>,
    cycles: u64,
}

impl Circuit for MovingSum {
    fn step(&mut self) {
        self.out.advance();
        self.cycles += 1;
    }

    fn status(&self) -> CircuitStatus {
        CircuitStatus::default()
    }
}

static PARAMS: [ParamSpec; 2] = [
    ParamSpec {
        name: "taps",
        kind: ParamKind::Int { min: 1, max: 8 },
        default: "4",
        doc: "how many of the latest counter values are summed",
    },
    ParamSpec {
        name: "monitor",
        kind: ParamKind::Choice(&["none", "lagging"]),
        default: "none",
        doc: "`lagging` adds a monitor that holds the counter's stream and never reads it",
    },
];

fn build(p: &Params) -> Result<Box<dyn Circuit>, SimError> {
    let taps = p.int("taps") as usize;
    let (counter, out) = sim::census::component("moving_sum", || {
        let counter = mealy(
            |n: u64, _: &()| (n.wrapping_add(1), n),
            0,
            &Signal::constant(()),
        );
        let out = mealy(
            move |mut window: ([u64; 8], usize), x: &u64| {
                let (buf, i) = &mut window;
                buf[*i % taps] = *x;
                *i += 1;
                let sum = buf[..taps].iter().sum();
                (window, sum)
            },
            ([0u64; 8], 0usize),
            &counter,
        );
        (counter, out)
    });
    let monitor = (p.str("monitor") == "lagging").then_some(counter);
    Ok(Box::new(MovingSum {
        out,
        _monitor: monitor,
        cycles: 0,
    }))
}

fn validate(p: &Params) -> Result<(), String> {
    // The window is a fixed array of 8: the kind check already bounds `taps`, and this says
    // why if someone widens the kind without the buffer.
    if p.int("taps") > 8 {
        return Err("`taps` must be at most 8 (the filter's window)".into());
    }
    Ok(())
}

/// This project's catalogue: the circuits its scenarios may name.
pub fn catalog() -> Catalog {
    Catalog::new(vec![CircuitSpec {
        name: "moving_sum",
        doc: "a moving sum over a free-running counter",
        params: &PARAMS,
        build,
        validate,
    }])
}

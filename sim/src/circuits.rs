//! The catalogue of circuits the harness can run, as a value: a [`Catalog`] of
//! [`CircuitSpec`]s, each with its documented parameters, its own parameter validation and its
//! own builder. [`catalog`] is this crate's; a project with its own simulator builds its own
//! [`Catalog`] and hands it to the harness instead.
//!
//! # Example: a catalogue of one's own
//! ```
//! use sim::circuits::{Catalog, Circuit, CircuitSpec, CircuitStatus, ParamKind, ParamSpec, Params, SimError};
//!
//! struct Counter(u64);
//! impl Circuit for Counter {
//!     fn step(&mut self) { self.0 += 1; }
//!     fn status(&self) -> CircuitStatus { CircuitStatus::default() }
//! }
//!
//! static COUNTER_PARAMS: [ParamSpec; 1] = [ParamSpec {
//!     name: "width",
//!     kind: ParamKind::Int { min: 1, max: 64 },
//!     default: "8",
//!     doc: "bits of the counter",
//! }];
//! fn build_counter(_: &Params) -> Result<Box<dyn Circuit>, SimError> { Ok(Box::new(Counter(0))) }
//! fn validate_counter(p: &Params) -> Result<(), String> {
//!     if p.int("width") % 8 != 0 { return Err("`width` must be a multiple of 8".into()); }
//!     Ok(())
//! }
//!
//! let catalog = Catalog::new(vec![CircuitSpec {
//!     name: "counter",
//!     doc: "a free-running counter",
//!     params: &COUNTER_PARAMS,
//!     build: build_counter,
//!     validate: validate_counter,
//! }]);
//! let mut run = catalog.build("counter", &Default::default()).expect("defaults are valid");
//! run.step();
//! assert_eq!(run.cycle(), 1);
//! ```

use std::collections::BTreeMap;
use std::fmt;

use crate::census;
use crate::testbench::{BenchConfig, Leak, RegisterWbBench};

/// A parameter value as a scenario gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamValue {
    /// An integer.
    Int(i64),
    /// A string (for choices).
    Str(String),
}

/// What values a parameter accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// An integer in `min..=max`.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// One of these strings.
    Choice(&'static [&'static str]),
}

/// A documented parameter of a circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    /// Its name in scenarios.
    pub name: &'static str,
    /// What it accepts.
    pub kind: ParamKind,
    /// Its default, as text (`"4"`, `"none"`).
    pub default: &'static str,
    /// What it does.
    pub doc: &'static str,
}

/// Builds a circuit from parameters that [`CircuitSpec::resolve`] and the spec's `validate`
/// accepted.
pub type BuildFn = fn(&Params) -> Result<Box<dyn Circuit>, SimError>;

/// Checks what the parameter kinds cannot say alone (relations between parameters, such as
/// `corrupt_slave < slaves`). `Err` is a message for the user, naming the parameters and
/// saying what to write instead; the harness adds the file, line and column.
pub type ValidateFn = fn(&Params) -> Result<(), String>;

/// A documented circuit: its parameters, how to check them together, and how to build it.
#[derive(Clone, Copy, Debug)]
pub struct CircuitSpec {
    /// Its name in scenarios.
    pub name: &'static str,
    /// What it is.
    pub doc: &'static str,
    /// Its parameters.
    pub params: &'static [ParamSpec],
    /// Builds it.
    pub build: BuildFn,
    /// Validates its parameters together, before anything runs.
    pub validate: ValidateFn,
}

/// Parameter values after defaults and kind checks: every parameter of the spec is present,
/// with a value of its kind.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Params(BTreeMap<&'static str, ParamValue>);

impl Params {
    /// The integer parameter `name`; 0 if the spec has no such integer parameter.
    pub fn int(&self, name: &str) -> i64 {
        match self.0.get(name) {
            Some(ParamValue::Int(i)) => *i,
            _ => 0,
        }
    }

    /// The choice parameter `name`; `""` if the spec has no such choice parameter.
    pub fn str(&self, name: &str) -> &str {
        match self.0.get(name) {
            Some(ParamValue::Str(s)) => s,
            _ => "",
        }
    }

    /// The value of `name`, if the spec has it.
    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.0.get(name)
    }
}

/// The circuits a harness can run, by name.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    circuits: Vec<CircuitSpec>,
}

impl Catalog {
    /// A catalogue of these circuits (names should be unique: lookups find the first).
    pub fn new(circuits: Vec<CircuitSpec>) -> Self {
        Catalog { circuits }
    }

    /// Adds a circuit.
    pub fn push(&mut self, spec: CircuitSpec) {
        self.circuits.push(spec);
    }

    /// The circuit named `name`.
    pub fn get(&self, name: &str) -> Option<&CircuitSpec> {
        self.circuits.iter().find(|c| c.name == name)
    }

    /// Every circuit, in catalogue order.
    pub fn iter(&self) -> impl Iterator<Item = &CircuitSpec> {
        self.circuits.iter()
    }

    /// The circuits' names, in catalogue order (for error messages).
    pub fn names(&self) -> Vec<&'static str> {
        self.circuits.iter().map(|c| c.name).collect()
    }

    /// Builds circuit `name` ready to be driven. Missing parameters take their defaults; an
    /// unknown name or parameter, a value of the wrong kind or out of range, or parameters the
    /// circuit's `validate` rejects are an error naming the valid choices.
    pub fn build(
        &self,
        name: &str,
        params: &BTreeMap<String, ParamValue>,
    ) -> Result<Driver, SimError> {
        let spec = self.get(name).ok_or_else(|| {
            SimError(format!(
                "unknown circuit `{name}` (valid: {})",
                self.names().join(", ")
            ))
        })?;
        spec.build(params)
    }
}

impl CircuitSpec {
    /// Fills in defaults and checks each value against its parameter's kind (not `validate`).
    pub fn resolve(&self, params: &BTreeMap<String, ParamValue>) -> Result<Params, SimError> {
        resolve(self, params)
    }

    /// Resolves, validates and builds, ready to be driven.
    pub fn build(&self, params: &BTreeMap<String, ParamValue>) -> Result<Driver, SimError> {
        let values = self.resolve(params)?;
        (self.validate)(&values).map_err(|m| SimError(format!("{}: {m}", self.name)))?;
        Ok(Driver::new((self.build)(&values)?))
    }
}

/// Progress and self-check results of a circuit.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CircuitStatus {
    /// Transactions completed.
    pub transactions: u64,
    /// Self-checks that failed.
    pub mismatches: u64,
    /// The first failed self-check, described.
    pub first_mismatch: Option<String>,
}

/// A simulated circuit, stepped one cycle at a time. Dropping it frees all its nodes.
///
/// A circuit does not keep the simulation's clock: its [`Driver`] counts cycles and stamps
/// them on the census, so every circuit's nodes are born at the same notion of time.
pub trait Circuit {
    /// Simulates one more cycle.
    fn step(&mut self);
    /// Progress and self-check results.
    fn status(&self) -> CircuitStatus;
}

/// Drives a circuit: sets the census cycle (the birth stamp of nodes created during the step)
/// and steps, one cycle at a time.
pub struct Driver {
    circuit: Box<dyn Circuit>,
    cycle: u64,
}

impl Driver {
    /// Drives `circuit` from cycle 0.
    pub fn new(circuit: Box<dyn Circuit>) -> Self {
        Driver { circuit, cycle: 0 }
    }

    /// Simulates one more cycle.
    pub fn step(&mut self) {
        census::set_cycle(self.cycle);
        self.circuit.step();
        self.cycle += 1;
    }

    /// Cycles simulated so far.
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// The circuit's progress and self-check results.
    pub fn status(&self) -> CircuitStatus {
        self.circuit.status()
    }
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("cycle", &self.cycle)
            .finish()
    }
}

/// An invalid circuit name or parameter; the message lists the valid choices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimError(pub String);

impl SimError {
    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SimError {}

/// Most slaves a RegisterWb testbench can have (the vector length is a const generic,
/// instantiated for each count).
pub const MAX_SLAVES: i64 = 8;

static REGISTER_WB_PARAMS: [ParamSpec; 4] = [
    ParamSpec {
        name: "slaves",
        kind: ParamKind::Int { min: 1, max: MAX_SLAVES },
        default: "4",
        doc: "number of register_wb slaves behind the interconnect",
    },
    ParamSpec {
        name: "seed",
        kind: ParamKind::Int { min: 0, max: i64::MAX },
        default: "1",
        doc: "seed of the master's pseudo-random sequence of reads and writes",
    },
    ParamSpec {
        name: "leak",
        kind: ParamKind::Choice(Leak::NAMES),
        default: "none",
        doc: "reproduce a culprit of the Clash space-leak investigation: none, lazy_unzip (interconnect \
              memory map retains every slave response), lazy_record_update (slave-side M2S records \
              chain to their predecessors), unshared_iterate (master's random sequence recomputed \
              from the seed through a growing chain; quadratic time)",
    },
    ParamSpec {
        name: "corrupt_slave",
        kind: ParamKind::Int { min: -1, max: MAX_SLAVES - 1 },
        default: "-1",
        doc: "index of a slave whose read data is corrupted, to check that the scoreboard fails; -1 for none",
    },
];

const REGISTER_WB: CircuitSpec = CircuitSpec {
    name: "register_wb",
    doc: "RegisterWb testbench: a master issues seeded random reads and writes to register_wb slaves \
          through a single-master Wishbone interconnect (plus unmapped accesses); a scoreboard checks \
          every read and every err",
    params: &REGISTER_WB_PARAMS,
    build: build_register_wb,
    validate: validate_register_wb,
};

/// This crate's circuits: the RegisterWb testbench.
pub fn catalog() -> Catalog {
    Catalog::new(vec![REGISTER_WB])
}

/// Builds circuit `name` of [`catalog`], ready to be driven (see [`Catalog::build`]).
pub fn build(name: &str, params: &BTreeMap<String, ParamValue>) -> Result<Driver, SimError> {
    catalog().build(name, params)
}

fn validate_register_wb(p: &Params) -> Result<(), String> {
    let (slaves, corrupt) = (p.int("slaves"), p.int("corrupt_slave"));
    if corrupt >= slaves {
        return Err(format!(
            "parameter `corrupt_slave` = {corrupt} must be below `slaves` = {slaves} (hint: a slave index from 0 to {}, or -1 for none)",
            slaves - 1
        ));
    }
    Ok(())
}

fn build_register_wb(p: &Params) -> Result<Box<dyn Circuit>, SimError> {
    let cfg = BenchConfig {
        seed: p.int("seed") as u64,
        // `resolve` checked the choice.
        leak: Leak::from_name(p.str("leak")).unwrap_or(Leak::None),
        corrupt_slave: usize::try_from(p.int("corrupt_slave")).ok(),
    };
    Ok(match p.int("slaves") {
        1 => Box::new(RegisterWbBench::<1>::new(cfg)),
        2 => Box::new(RegisterWbBench::<2>::new(cfg)),
        3 => Box::new(RegisterWbBench::<3>::new(cfg)),
        4 => Box::new(RegisterWbBench::<4>::new(cfg)),
        5 => Box::new(RegisterWbBench::<5>::new(cfg)),
        6 => Box::new(RegisterWbBench::<6>::new(cfg)),
        7 => Box::new(RegisterWbBench::<7>::new(cfg)),
        // `resolve` bounds slaves to 1..=MAX_SLAVES.
        _ => Box::new(RegisterWbBench::<8>::new(cfg)),
    })
}

fn resolve(spec: &CircuitSpec, params: &BTreeMap<String, ParamValue>) -> Result<Params, SimError> {
    for key in params.keys() {
        if !spec.params.iter().any(|p| p.name == key) {
            let names: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
            return Err(SimError(format!(
                "{}: unknown parameter `{key}` (valid: {})",
                spec.name,
                names.join(", ")
            )));
        }
    }
    let mut out = BTreeMap::new();
    for p in spec.params {
        let value = match params.get(p.name) {
            Some(v) => v.clone(),
            None => match p.kind {
                ParamKind::Int { .. } => ParamValue::Int(p.default.parse().map_err(|_| {
                    SimError(format!(
                        "{}: default of `{}` is not an integer",
                        spec.name, p.name
                    ))
                })?),
                ParamKind::Choice(_) => ParamValue::Str(p.default.to_string()),
            },
        };
        match (&p.kind, &value) {
            (ParamKind::Int { min, max }, ParamValue::Int(i)) => {
                if i < min || i > max {
                    return Err(SimError(format!(
                        "{}: parameter `{}` = {i} is out of range {min}..={max}",
                        spec.name, p.name
                    )));
                }
            }
            (ParamKind::Choice(choices), ParamValue::Str(s)) => {
                if !choices.contains(&s.as_str()) {
                    return Err(SimError(format!(
                        "{}: parameter `{}` = \"{s}\" is not one of: {}",
                        spec.name,
                        p.name,
                        choices.join(", ")
                    )));
                }
            }
            (ParamKind::Int { min, max }, ParamValue::Str(s)) => {
                return Err(SimError(format!(
                    "{}: parameter `{}` expects an integer in {min}..={max}, got \"{s}\"",
                    spec.name, p.name
                )));
            }
            (ParamKind::Choice(choices), ParamValue::Int(i)) => {
                return Err(SimError(format!(
                    "{}: parameter `{}` expects one of: {}, got {i}",
                    spec.name,
                    p.name,
                    choices.join(", ")
                )));
            }
        }
        out.insert(p.name, value);
    }
    Ok(Params(out))
}

impl<const N: usize> Circuit for RegisterWbBench<N> {
    fn step(&mut self) {
        RegisterWbBench::step(self);
    }
    fn status(&self) -> CircuitStatus {
        let b = self.scoreboard();
        CircuitStatus {
            transactions: b.transactions(),
            mismatches: b.mismatches(),
            first_mismatch: b.first_mismatch(),
        }
    }
}

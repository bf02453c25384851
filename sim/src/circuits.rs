//! The catalogue of circuits the harness can run: their names, documented parameters, and
//! [`build`], which validates parameters and returns a steppable [`Circuit`].

use std::collections::BTreeMap;
use std::fmt;

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

/// A documented circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CircuitSpec {
    /// Its name in scenarios.
    pub name: &'static str,
    /// What it is.
    pub doc: &'static str,
    /// Its parameters.
    pub params: &'static [ParamSpec],
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
pub trait Circuit {
    /// Simulates one more cycle (and sets the census cycle).
    fn step(&mut self);
    /// Cycles simulated so far.
    fn cycle(&self) -> u64;
    /// Progress and self-check results.
    fn status(&self) -> CircuitStatus;
}

/// An invalid circuit name or parameter; the message lists the valid choices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimError(String);

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

static CATALOG: [CircuitSpec; 1] = [CircuitSpec {
    name: "register_wb",
    doc: "RegisterWb testbench: a master issues seeded random reads and writes to register_wb slaves \
          through a single-master Wishbone interconnect (plus unmapped accesses); a scoreboard checks \
          every read and every err",
    params: &REGISTER_WB_PARAMS,
}];

/// The circuits available, with their parameters.
pub fn catalog() -> &'static [CircuitSpec] {
    &CATALOG
}

/// Builds circuit `name`. Missing parameters take their defaults; an unknown name or
/// parameter, a value of the wrong kind or out of range is an error naming the valid choices.
pub fn build(
    name: &str,
    params: &BTreeMap<String, ParamValue>,
) -> Result<Box<dyn Circuit>, SimError> {
    let spec = catalog().iter().find(|c| c.name == name).ok_or_else(|| {
        let names: Vec<&str> = catalog().iter().map(|c| c.name).collect();
        SimError(format!(
            "unknown circuit `{name}` (valid: {})",
            names.join(", ")
        ))
    })?;
    let values = resolve(spec, params)?;
    match spec.name {
        "register_wb" => {
            let slaves = values.int("slaves");
            let corrupt = values.int("corrupt_slave");
            if corrupt >= slaves {
                return Err(SimError(format!(
                    "register_wb: parameter `corrupt_slave` = {corrupt} must be below `slaves` = {slaves} (or -1)"
                )));
            }
            let cfg = BenchConfig {
                seed: values.int("seed") as u64,
                // `resolve` checked the choice.
                leak: Leak::from_name(values.str("leak")).unwrap_or(Leak::None),
                corrupt_slave: usize::try_from(corrupt).ok(),
            };
            Ok(build_register_wb(slaves, cfg))
        }
        other => Err(SimError(format!(
            "circuit `{other}` is catalogued but not buildable"
        ))),
    }
}

/// Parameter values after defaults and validation.
struct Resolved(BTreeMap<&'static str, ParamValue>);

impl Resolved {
    fn int(&self, name: &str) -> i64 {
        match self.0.get(name) {
            Some(ParamValue::Int(i)) => *i,
            _ => 0,
        }
    }
    fn str(&self, name: &str) -> &str {
        match self.0.get(name) {
            Some(ParamValue::Str(s)) => s,
            _ => "",
        }
    }
}

fn resolve(
    spec: &CircuitSpec,
    params: &BTreeMap<String, ParamValue>,
) -> Result<Resolved, SimError> {
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
    Ok(Resolved(out))
}

impl<const N: usize> Circuit for RegisterWbBench<N> {
    fn step(&mut self) {
        RegisterWbBench::step(self);
    }
    fn cycle(&self) -> u64 {
        RegisterWbBench::cycle(self)
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

fn build_register_wb(slaves: i64, cfg: BenchConfig) -> Box<dyn Circuit> {
    match slaves {
        1 => Box::new(RegisterWbBench::<1>::new(cfg)),
        2 => Box::new(RegisterWbBench::<2>::new(cfg)),
        3 => Box::new(RegisterWbBench::<3>::new(cfg)),
        4 => Box::new(RegisterWbBench::<4>::new(cfg)),
        5 => Box::new(RegisterWbBench::<5>::new(cfg)),
        6 => Box::new(RegisterWbBench::<6>::new(cfg)),
        7 => Box::new(RegisterWbBench::<7>::new(cfg)),
        // `resolve` bounds slaves to 1..=MAX_SLAVES.
        _ => Box::new(RegisterWbBench::<8>::new(cfg)),
    }
}

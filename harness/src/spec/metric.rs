//! The metric table: every whole-run and per-type figure membound measures, with its unit, its
//! kind (exact or noisy) and the runs that produce it. The one place a metric's name is spelt;
//! the validator, the meter, the comparison and the reports read it from here.

use crate::spec::invariant::Predicate;
use crate::units::XUnit;
use serde::{Deserialize, Serialize};

/// A metric's value: integers for exact counts and bytes, floats for derived slopes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// An exact integer.
    Int(i64),
    /// A derived figure, rounded to three decimals so it prints and compares stably.
    Float(f64),
}

impl Value {
    /// The value as a float, for arithmetic.
    pub fn as_f64(self) -> f64 {
        match self {
            Value::Int(i) => i as f64,
            Value::Float(f) => f,
        }
    }

    /// A derived figure, rounded to three decimals.
    pub fn float(f: f64) -> Value {
        Value::Float((f * 1000.0).round() / 1000.0)
    }
}

/// Whether a metric is reproducible to the byte or an OS figure that varies between runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Deterministic: the default tolerance is zero.
    Exact,
    /// Varies between runs (RSS, allocator pages): the default tolerance is relative + absolute.
    Noisy,
}

/// What a metric's value counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Bytes.
    Bytes,
    /// Objects or events.
    Count,
    /// Bytes per [`XUnit::per_name`] (1000 cycles, census, second, snapshot): a growth slope of
    /// a byte figure.
    BytesPerX,
    /// Objects per 1000 cycles: a growth slope of a count.
    CountPerX,
}

/// Which runs produce a metric, told by their x-axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// Simulator runs (x in cycles).
    Simulator,
    /// GHC programs (x in censuses).
    External,
    /// Programs whose heap is profiled: GHC's censuses and massif's snapshots.
    Heap,
    /// Programs run under valgrind massif (x in snapshots).
    Massif,
    /// Programs whose resident set is sampled (`profile = "rss"`, x in milliseconds).
    Rss,
    /// Simulator and GHC runs.
    Both,
    /// Every run but massif's: under valgrind the process's resident set is valgrind's.
    NotMassif,
}

impl Runs {
    /// Whether runs with this x-axis produce the metric.
    pub fn include(self, x_unit: XUnit) -> bool {
        use XUnit::*;
        match self {
            Runs::Simulator => x_unit == Cycles,
            Runs::External => x_unit == Census,
            Runs::Heap => matches!(x_unit, Census | Snapshot),
            Runs::Massif => x_unit == Snapshot,
            Runs::Rss => x_unit == Millis,
            Runs::Both => matches!(x_unit, Cycles | Census),
            Runs::NotMassif => x_unit != Snapshot,
        }
    }
}

/// A whole-run metric: one entry of [`METRICS`], the one place metric names are spelt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricSpec {
    /// Its name in baselines, tolerances and tables.
    pub name: &'static str,
    /// What it counts.
    pub unit: Unit,
    /// Exact, or noisy between runs (which sets its default tolerance).
    pub kind: Kind,
    /// Which runs produce it.
    pub runs: Runs,
}

const fn exact(name: &'static str, unit: Unit, runs: Runs) -> MetricSpec {
    MetricSpec {
        name,
        unit,
        kind: Kind::Exact,
        runs,
    }
}

/// Highest live bytes of a simulator run (exact, from the counting allocator).
pub const LIVE_BYTES_PEAK: MetricSpec = exact("live_bytes.peak", Unit::Bytes, Runs::Simulator);
/// Median live bytes over the steady phase.
pub const LIVE_BYTES_STEADY: MetricSpec = exact("live_bytes.steady", Unit::Bytes, Runs::Simulator);
/// Least-squares growth of live bytes over the steady phase, per 1000 cycles.
pub const LIVE_BYTES_GROWTH: MetricSpec = exact(
    "live_bytes.growth_per_kcycle",
    Unit::BytesPerX,
    Runs::Simulator,
);
/// Allocations made by the simulation.
pub const ALLOCATIONS: MetricSpec = exact("allocations.count", Unit::Count, Runs::Simulator);
/// jemalloc's highest resident bytes.
pub const JEMALLOC_RESIDENT_PEAK: MetricSpec = MetricSpec {
    name: "jemalloc.resident.peak",
    unit: Unit::Bytes,
    kind: Kind::Noisy,
    runs: Runs::Simulator,
};
/// Highest heap total of an external program: a GHC census, or massif's useful heap bytes.
pub const HEAP_PEAK: MetricSpec = exact("heap.peak", Unit::Bytes, Runs::Heap);
/// Median heap total over the steady phase.
pub const HEAP_STEADY: MetricSpec = exact("heap.steady", Unit::Bytes, Runs::Heap);
/// Least-squares growth of the heap census total over the steady phase, per census.
pub const HEAP_GROWTH: MetricSpec =
    exact("heap.growth_per_census", Unit::BytesPerX, Runs::External);
/// Least-squares growth of massif's useful heap bytes over the steady phase, per snapshot.
/// Exact: with `--time-unit=B` a deterministic program's snapshots repeat bit for bit.
pub const HEAP_GROWTH_SNAPSHOT: MetricSpec =
    exact("heap.growth_per_snapshot", Unit::BytesPerX, Runs::Massif);
/// GHC's own `max_bytes_used` (`+RTS -t`).
pub const GHC_MAX_BYTES_USED: MetricSpec = exact("ghc.max_bytes_used", Unit::Bytes, Runs::External);
/// GHC's own `bytes allocated` (`+RTS -t`).
pub const GHC_BYTES_ALLOCATED: MetricSpec =
    exact("ghc.bytes_allocated", Unit::Bytes, Runs::External);
/// The process's peak resident set size (for `profile = "rss"`, of its whole process tree as
/// sampled).
pub const RSS_PEAK: MetricSpec = MetricSpec {
    name: "rss.peak",
    unit: Unit::Bytes,
    kind: Kind::Noisy,
    runs: Runs::NotMassif,
};
/// Median sampled resident set of the process tree over the steady phase.
pub const RSS_STEADY: MetricSpec = MetricSpec {
    name: "rss.steady",
    unit: Unit::Bytes,
    kind: Kind::Noisy,
    runs: Runs::Rss,
};
/// Least-squares growth of the sampled resident set over the steady phase, per second.
pub const RSS_GROWTH: MetricSpec = MetricSpec {
    name: "rss.growth_per_second",
    unit: Unit::BytesPerX,
    kind: Kind::Noisy,
    runs: Runs::Rss,
};

/// The namespace of the figures GHC's RTS reports itself (`+RTS -t --machine-readable`, the
/// eventlog's heap events): `ghc.bytes_allocated`, `ghc.max_bytes_used`, and facts such as
/// `ghc.heap_size.max` that are shown but never compared.
pub const RTS_PREFIX: &str = "ghc.";

/// A whole-run figure a source reports that `profile` shows and nothing compares: a row of
/// [`FACTS`].
#[derive(Debug, PartialEq, Eq)]
pub struct FactSpec {
    /// Its name in `Timeline::totals` and `profile`'s output.
    pub name: &'static str,
    /// What it counts.
    pub unit: Unit,
}

/// The largest live heap the eventlog's heap events report (`HEAP_LIVE`): a fact `profile`
/// shows, never compared (the census residency is the heap's metric).
pub const GHC_HEAP_LIVE_MAX: FactSpec = FactSpec {
    name: "ghc.heap_live.max",
    unit: Unit::Bytes,
};
/// The largest heap the RTS held from the OS (`HEAP_SIZE` events): a fact, never compared.
pub const GHC_HEAP_SIZE_MAX: FactSpec = FactSpec {
    name: "ghc.heap_size.max",
    unit: Unit::Bytes,
};
/// Massif's largest allocator overhead (`mem_heap_extra_B`) over the snapshots.
pub const MASSIF_HEAP_EXTRA_PEAK: FactSpec = FactSpec {
    name: "massif.heap_extra.peak",
    unit: Unit::Bytes,
};
/// The Wishbone transactions a simulator run's testbench completed.
pub const TRANSACTIONS: FactSpec = FactSpec {
    name: "transactions",
    unit: Unit::Count,
};

/// Every whole-run fact a source reports besides the RTS's own statistics.
pub const FACTS: &[FactSpec] = &[
    GHC_HEAP_LIVE_MAX,
    GHC_HEAP_SIZE_MAX,
    MASSIF_HEAP_EXTRA_PEAK,
    TRANSACTIONS,
];

/// A whole-run figure a source measured besides its samples (the key of `Timeline::totals`):
/// a metric of the table, a fact of [`FACTS`], or another of the GHC RTS's own statistics
/// (`ghc.<name>`, from `+RTS -t --machine-readable`), shown and never compared. Ordered by
/// name, as `profile` lists them; parsed and printed by name only at the serde boundary.
/// Compared by name, so a map of totals can be read by name (`totals["rss.peak"]`).
#[derive(Debug, Clone)]
pub enum Total {
    /// A metric: measurements keep it, baselines compare it.
    Metric(Metric),
    /// A fact of the table.
    Fact(&'static FactSpec),
    /// An RTS statistic neither table has (`ghc.num_GCs`).
    Rts(String),
}

impl Total {
    /// The total for a metric of the table.
    pub const fn metric(spec: &'static MetricSpec) -> Total {
        Total::Metric(Metric::of(spec))
    }

    /// The total called `name`: a metric, a fact, or an RTS statistic (`ghc.` names); `None`
    /// for any other name.
    pub fn parse(name: &str) -> Option<Total> {
        if let Some(m) = Metric::parse(name) {
            return Some(Total::Metric(m));
        }
        if let Some(f) = FACTS.iter().find(|f| f.name == name) {
            return Some(Total::Fact(f));
        }
        name.starts_with(RTS_PREFIX)
            .then(|| Total::Rts(name.to_owned()))
    }

    /// The total for the RTS statistic GHC calls `stat` (`bytes allocated`): `ghc.` and the
    /// name with spaces as `_`, a metric where the table has it.
    pub fn rts(stat: &str) -> Total {
        let name = format!("{RTS_PREFIX}{}", stat.replace(' ', "_"));
        Total::parse(&name).unwrap_or(Total::Rts(name))
    }

    /// Its name.
    pub fn name(&self) -> &str {
        match self {
            Total::Metric(m) => m.name(),
            Total::Fact(f) => f.name,
            Total::Rts(name) => name,
        }
    }

    /// Whether the GHC RTS reported it (its statistics and eventlog figures), rather than the
    /// census or the launcher: such totals run to wherever a stop signal caught the program.
    pub fn from_rts(&self) -> bool {
        self.name().starts_with(RTS_PREFIX)
    }

    /// What it counts. An RTS statistic outside the tables counts bytes when one word of
    /// GHC's own name for it is `bytes` (`average_bytes_used`), else things (`num_GCs`, and
    /// `peak_megabytes_allocated`, a count of megabytes).
    pub fn unit(&self) -> Unit {
        match self {
            Total::Metric(m) => m.spec().unit,
            Total::Fact(f) => f.unit,
            Total::Rts(name) if name.split(['_', '.']).any(|w| w == "bytes") => Unit::Bytes,
            Total::Rts(_) => Unit::Count,
        }
    }
}

impl PartialEq for Total {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Total {}

impl std::borrow::Borrow<str> for Total {
    fn borrow(&self) -> &str {
        self.name()
    }
}

impl PartialOrd for Total {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Total {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name().cmp(other.name())
    }
}

impl Serialize for Total {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Total {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Total, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Total::parse(&name).ok_or_else(|| {
            let known: Vec<&str> = METRICS
                .iter()
                .map(|m| m.name)
                .chain(FACTS.iter().map(|f| f.name))
                .collect();
            serde::de::Error::custom(format!(
                "unknown total `{name}` (known: {}, and `{RTS_PREFIX}<statistic>`)",
                known.join(", ")
            ))
        })
    }
}

/// Every whole-run metric.
pub const METRICS: &[MetricSpec] = &[
    LIVE_BYTES_PEAK,
    LIVE_BYTES_STEADY,
    LIVE_BYTES_GROWTH,
    ALLOCATIONS,
    JEMALLOC_RESIDENT_PEAK,
    HEAP_PEAK,
    HEAP_STEADY,
    HEAP_GROWTH,
    HEAP_GROWTH_SNAPSHOT,
    GHC_MAX_BYTES_USED,
    GHC_BYTES_ALLOCATED,
    RSS_PEAK,
    RSS_STEADY,
    RSS_GROWTH,
];

/// A per-type field, the `<field>` of `types.<label>.<field>`; all are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeField {
    /// Its name.
    pub name: &'static str,
    /// What it counts.
    pub unit: Unit,
    /// Which runs produce it.
    pub runs: Runs,
}

/// Highest live count of a type.
pub const TYPE_PEAK_COUNT: TypeField = TypeField {
    name: "peak_count",
    unit: Unit::Count,
    runs: Runs::Both,
};
/// Live count of a type at the last sample (simulator).
pub const TYPE_FINAL_COUNT: TypeField = TypeField {
    name: "final_count",
    unit: Unit::Count,
    runs: Runs::Simulator,
};
/// Growth of a type's count over the steady phase, per 1000 cycles (simulator).
pub const TYPE_GROWTH: TypeField = TypeField {
    name: "growth_per_kcycle",
    unit: Unit::CountPerX,
    runs: Runs::Simulator,
};
/// Highest live bytes of a type (GHC) or allocation site (massif).
pub const TYPE_PEAK_BYTES: TypeField = TypeField {
    name: "peak_bytes",
    unit: Unit::Bytes,
    runs: Runs::Heap,
};
/// Live bytes of a type or allocation site at the last census or snapshot.
pub const TYPE_FINAL_BYTES: TypeField = TypeField {
    name: "final_bytes",
    unit: Unit::Bytes,
    runs: Runs::Heap,
};

/// Every per-type field, in the order tables show them.
pub const TYPE_FIELDS: &[TypeField] = &[
    TYPE_PEAK_COUNT,
    TYPE_FINAL_COUNT,
    TYPE_GROWTH,
    TYPE_PEAK_BYTES,
    TYPE_FINAL_BYTES,
];

/// The whole-run metric called `name`.
pub fn metric(name: &str) -> Option<&'static MetricSpec> {
    METRICS.iter().find(|m| m.name == name)
}

/// A whole-run metric: a row of [`METRICS`], the key of a measurement's and a baseline's
/// figures. Compared, ordered and hashed by name (baselines list them alphabetically); its
/// name is parsed and printed only at the serde boundary, where an unknown name is an error
/// that lists the known ones.
#[derive(Clone, Copy)]
pub struct Metric(&'static MetricSpec);

impl Metric {
    /// The metric of a row of the table.
    pub const fn of(spec: &'static MetricSpec) -> Metric {
        Metric(spec)
    }

    /// The metric called `name`, if the table has one.
    pub fn parse(name: &str) -> Option<Metric> {
        metric(name).map(Metric)
    }

    /// Its name in baselines, tolerances and tables.
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// Its row of the table.
    pub fn spec(self) -> &'static MetricSpec {
        self.0
    }
}

impl PartialEq for Metric {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Metric {}

impl PartialOrd for Metric {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Metric {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name().cmp(other.name())
    }
}

impl std::hash::Hash for Metric {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl std::fmt::Debug for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Metric({})", self.name())
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Metric {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Metric, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Metric::parse(&name).ok_or_else(|| {
            let known: Vec<&str> = METRICS.iter().map(|m| m.name).collect();
            serde::de::Error::custom(format!(
                "unknown metric `{name}` (known: {})",
                known.join(", ")
            ))
        })
    }
}

/// A figure as comparison tables, tolerances and `history --metric` name it: a whole-run
/// metric, or one field of one type's (`types.<label>.<field>`; labels contain dots, fields do
/// not). Its unit and kind come from the table, never from how its name looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Figure {
    /// A whole-run metric.
    Metric(Metric),
    /// A per-type field.
    Type {
        /// The type (or site) label.
        label: String,
        /// The field.
        field: &'static TypeField,
    },
}

impl Figure {
    /// The figure a flat name names, if the table knows it.
    pub fn parse(name: &str) -> Option<Figure> {
        if let Some(m) = Metric::parse(name) {
            return Some(Figure::Metric(m));
        }
        let (label, field) = name.strip_prefix("types.")?.rsplit_once('.')?;
        let field = TYPE_FIELDS.iter().find(|f| f.name == field)?;
        Some(Figure::Type {
            label: label.to_owned(),
            field,
        })
    }

    /// What it counts.
    pub fn unit(&self) -> Unit {
        match self {
            Figure::Metric(m) => m.spec().unit,
            Figure::Type { field, .. } => field.unit,
        }
    }

    /// Exact or noisy: per-type fields are exact.
    pub fn kind(&self) -> Kind {
        match self {
            Figure::Metric(m) => m.spec().kind,
            Figure::Type { .. } => Kind::Exact,
        }
    }
}

impl std::fmt::Display for Figure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Figure::Metric(m) => f.write_str(m.name()),
            Figure::Type { label, field } => write!(f, "types.{label}.{}", field.name),
        }
    }
}

/// The names of the whole-run metrics runs with this x-axis produce (and may set tolerances
/// for, besides `types.<label>.<field>`).
pub fn metric_names(x_unit: XUnit) -> Vec<&'static str> {
    METRICS
        .iter()
        .filter(|m| m.runs.include(x_unit))
        .map(|m| m.name)
        .collect()
}

/// The per-type fields runs with this x-axis produce.
pub fn type_fields(x_unit: XUnit) -> Vec<&'static str> {
    TYPE_FIELDS
        .iter()
        .filter(|f| f.runs.include(x_unit))
        .map(|f| f.name)
        .collect()
}

/// The peak, steady and growth metrics of total residency for runs with this x-axis.
pub fn residency(x_unit: XUnit) -> [Metric; 3] {
    let [peak, steady, growth] = match x_unit {
        XUnit::Cycles => [&LIVE_BYTES_PEAK, &LIVE_BYTES_STEADY, &LIVE_BYTES_GROWTH],
        XUnit::Census => [&HEAP_PEAK, &HEAP_STEADY, &HEAP_GROWTH],
        XUnit::Millis => [&RSS_PEAK, &RSS_STEADY, &RSS_GROWTH],
        XUnit::Snapshot => [&HEAP_PEAK, &HEAP_STEADY, &HEAP_GROWTH_SNAPSHOT],
    };
    [Metric(peak), Metric(steady), Metric(growth)]
}

/// What `metric = "…"` of an invariant on total residency is called for runs with this
/// x-axis: the prefix of its [`residency`] metrics.
pub fn residency_invariant_metric(x_unit: XUnit) -> &'static str {
    match x_unit {
        XUnit::Cycles => "live_bytes",
        XUnit::Census | XUnit::Snapshot => "heap",
        XUnit::Millis => "rss",
    }
}

/// The unit of a flat figure name (`types.<label>.<field>` included), if the table knows it.
pub fn unit(name: &str) -> Option<Unit> {
    Figure::parse(name).map(|f| f.unit())
}

/// The kind of a figure, by name: noisy only for the table's noisy metrics; per-type and
/// unknown figures are exact (a change is never hidden by default).
pub fn kind(name: &str) -> Kind {
    Figure::parse(name).map_or(Kind::Exact, |f| f.kind())
}

/// The type glob an invariant's predicate is about, if any.
pub fn predicate_glob(p: &Predicate) -> Option<&str> {
    use Predicate::*;
    match p {
        TypeAbsent(g)
        | TypeCount { glob: g, .. }
        | TypeGrowth { glob: g, .. }
        | TypeBytesMax { glob: g, .. }
        | TypeBytesGrowth { glob: g, .. } => Some(g),
        LiveBytesMax(_) | LiveBytesGrowth(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_are_typed_by_the_tables_and_read_by_name() {
        let t = |n: &str| Total::parse(n).map(|t| (t.name().to_owned(), t.unit()));
        assert!(matches!(Total::parse("rss.peak"), Some(Total::Metric(_))));
        assert!(matches!(Total::parse("transactions"), Some(Total::Fact(_))));
        assert_eq!(
            t("ghc.heap_size.max"),
            Some(("ghc.heap_size.max".into(), Unit::Bytes))
        );
        assert_eq!(t("ghc.num_GCs"), Some(("ghc.num_GCs".into(), Unit::Count)));
        assert_eq!(t("rss_peak"), None);
        // The RTS's own name, spaces and all; a metric where the table has it.
        assert!(
            matches!(Total::rts("bytes allocated"), Total::Metric(m) if m.name() == "ghc.bytes_allocated")
        );
        assert_eq!(Total::rts("average_bytes_used").unit(), Unit::Bytes);
        assert_eq!(Total::rts("peak_megabytes_allocated").unit(), Unit::Count);
        let mut totals = std::collections::BTreeMap::new();
        totals.insert(Total::rts("num_GCs"), 3_u64);
        totals.insert(Total::metric(&RSS_PEAK), 4096);
        assert_eq!(totals["rss.peak"], 4096);
        let json = serde_json::to_string(&totals).expect("serialises");
        assert_eq!(json, r#"{"ghc.num_GCs":3,"rss.peak":4096}"#);
        let err =
            serde_json::from_str::<std::collections::BTreeMap<Total, u64>>(r#"{"rss_peak":1}"#)
                .expect_err("an unknown total is refused");
        assert!(
            err.to_string().contains("unknown total `rss_peak`"),
            "{err}"
        );
    }

    #[test]
    fn a_metric_is_its_table_row_and_an_unknown_name_is_refused() {
        let m: Metric = serde_json::from_str("\"rss.peak\"").expect("known");
        assert_eq!(m, Metric::of(&RSS_PEAK));
        assert_eq!(serde_json::to_string(&m).expect("json"), "\"rss.peak\"");
        let e = serde_json::from_str::<Metric>("\"rss.peek\"").expect_err("unknown");
        assert!(
            e.to_string()
                .contains("unknown metric `rss.peek` (known: live_bytes.peak"),
            "{e}"
        );
        let f = Figure::parse("types.a.b.peak_bytes").expect("a type field");
        assert_eq!(
            (f.unit(), f.kind(), f.to_string().as_str()),
            (Unit::Bytes, Kind::Exact, "types.a.b.peak_bytes")
        );
        assert_eq!(Figure::parse("types.a.b.weight"), None);
        assert_eq!(
            Figure::parse("heap.growth_per_census").map(|f| f.unit()),
            Some(Unit::BytesPerX)
        );
    }

    #[test]
    fn the_table_spells_every_metric_once() {
        let mut names: Vec<&str> = METRICS.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), METRICS.len());
        assert_eq!(kind("rss.peak"), Kind::Noisy);
        assert_eq!(kind("jemalloc.resident.peak"), Kind::Noisy);
        assert_eq!(kind("types.Signal<Bool>::Cons.peak_count"), Kind::Exact);
        assert_eq!(unit("types.a.b.peak_bytes"), Some(Unit::Bytes));
        assert_eq!(unit("heap.growth_per_census"), Some(Unit::BytesPerX));
        assert!(metric_names(XUnit::Cycles).contains(&"rss.peak"));
        assert!(!metric_names(XUnit::Cycles).contains(&"heap.peak"));
        assert_eq!(
            type_fields(XUnit::Cycles),
            ["peak_count", "final_count", "growth_per_kcycle"]
        );
        assert_eq!(
            type_fields(XUnit::Census),
            ["peak_count", "peak_bytes", "final_bytes"]
        );
    }
}

//! What the GHC readers share: label normalisation ([`normalise_label`]) and object counts
//! from bytes by closure size ([`assign_counts`], [`ClosureSize`]), with the [`ReadOptions`]
//! that declare sizes. Pure functions of labels and timelines.

use crate::timeline::{Label, Sample, Timeline};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// How to read a GHC profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Closure size in bytes per (normalised) label, declared by the caller, e.g.
    /// `"clash-prelude:Clash.Signal.Internal.:-" => 24`. A declared size wins over the built-in
    /// table and over inference, and its counts are exact (not `count_estimated`).
    pub closure_sizes: BTreeMap<String, u64>,
}

/// `clash-prelude:Clash.Signal.Internal.:-`.
///
/// Only a prefix before the first `:` that reads as a unit id (`name-version[-hash…]`, where the
/// version is the first dash-separated part made of digits and dots) is rewritten. Labels without
/// a package (`THUNK_1_0`, `<Main.sat_s1>`, `CAF:main`) and packages without a version (`base`,
/// `ghc-prim`, `main`) are returned unchanged and unallocated.
pub fn normalise_label(label: &str) -> Cow<'_, str> {
    let Some((unit, rest)) = label.split_once(':') else {
        return Cow::Borrowed(label);
    };
    if unit.is_empty()
        || !unit
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    {
        return Cow::Borrowed(label);
    }
    // Cabal package-name components each contain a letter, so the first all-digits-and-dots
    // component starting with a digit is the version.
    let mut name_end = None;
    let mut pos = 0;
    for (i, part) in unit.split('-').enumerate() {
        if i > 0 && is_version(part) {
            name_end = Some(pos - 1);
            break;
        }
        pos += part.len() + 1;
    }
    match name_end {
        Some(end) => Cow::Owned(format!("{}:{}", &unit[..end], rest)),
        None => Cow::Borrowed(label),
    }
}

fn is_version(part: &str) -> bool {
    part.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && part.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// A closure size declared in [`ReadOptions::closure_sizes`] that does not divide a census
/// row of its label: every count of the label would be wrong (a size larger than the row turns
/// a leak's thousands of closures into a count of 0), so it is an error, not an estimate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "closure size {size} declared for `{label}` does not divide its bytes in census {census} \
     ({bytes} bytes): its counts would be wrong (hint: a closure of `{label}` takes a number of \
     bytes that divides every census row of it; fix or remove its entry in `closure_sizes`)"
)]
pub struct IndivisibleSize {
    /// The label.
    pub label: String,
    /// The declared size.
    pub size: u64,
    /// The census (its index) of the first row the size does not divide.
    pub census: u64,
    /// That row's bytes.
    pub bytes: u64,
}

impl ReadOptions {
    /// Whether a census row of `label` (`bytes` at census `census`) agrees with the label's
    /// declared closure size, if it has one: a declared size of 0 counts nothing and divides
    /// nothing, so it is never wrong.
    pub fn check_declared(
        &self,
        label: &str,
        census: u64,
        bytes: u64,
    ) -> Result<(), IndivisibleSize> {
        match self.closure_sizes.get(label) {
            Some(&size) if size > 0 && !bytes.is_multiple_of(size) => Err(IndivisibleSize {
                label: label.to_owned(),
                size,
                census,
                bytes,
            }),
            _ => Ok(()),
        }
    }

    /// [`check_declared`](Self::check_declared) over every row of a sample.
    pub fn check_sample(&self, sample: &Sample) -> Result<(), IndivisibleSize> {
        if self.closure_sizes.is_empty() {
            return Ok(());
        }
        for (label, t) in &sample.types {
            self.check_declared(label, sample.x, t.bytes)?;
        }
        Ok(())
    }
}

/// Where a label's closure size came from, in order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosureSize {
    /// Declared by the caller in [`ReadOptions::closure_sizes`]: counts are exact.
    Declared(u64),
    /// From the built-in table of GHC heap layouts ([`known_closure_size`]): counts are exact.
    Known(u64),
    /// The greatest common divisor of every byte total seen for the label: counts are estimates.
    /// For a label whose closures all have one size the gcd is a multiple of it, so counts can
    /// only be too low; for variable-size closures (`ARR_WORDS`, `STACK`, `TSO`, generic `THUNK`
    /// and `FUN`, `PAP`, arrays) the count says little: judge those by bytes.
    Inferred(u64),
}

impl ClosureSize {
    /// The size in bytes.
    pub fn bytes(self) -> u64 {
        match self {
            ClosureSize::Declared(b) | ClosureSize::Known(b) | ClosureSize::Inferred(b) => b,
        }
    }
}

/// Bytes per word: the table assumes 64-bit GHC, the only platform the harness profiles.
const WORD: u64 = 8;

/// The size in bytes of one closure labelled `label` (normalised), when every closure with that
/// label has the same size on 64-bit GHC without profiling; `None` when it varies (arrays,
/// stacks, PAPs, generic `THUNK`/`FUN`/`CONSTR` whose layout the label does not say) or is
/// unknown (a user type: declare it, or let it be inferred).
///
/// Layouts (rts/include/rts/storage/Closures.h): every heap closure starts with an info pointer
/// (1 word); a thunk has one more header word (`StgSMPThunkHeader`, present in every RTS way,
/// where the indirectee goes when it is updated). So `THUNK_p_n` is 2+p+n words, `FUN_p_n` and
/// `CONSTR_p_n` are 1+p+n, a boxed `Int` 2, a list cell or a pair 3. In a profiling build every
/// closure has 2 more header words, but heap censuses leave that overhead out (checked against
/// the `rts_thr_p` fixtures), so the same sizes hold.
pub fn known_closure_size(label: &str) -> Option<u64> {
    let words = |w: u64| Some(w * WORD);
    if let Some((p, n)) = label.strip_prefix("THUNK_").and_then(payload) {
        return words(2 + p + n);
    }
    if let Some((p, n)) = label
        .strip_prefix("FUN_")
        .or_else(|| label.strip_prefix("CONSTR_"))
        .and_then(payload)
    {
        return words(1 + p + n);
    }
    if let Some(arity) = tuple_arity(label) {
        return words(1 + arity);
    }
    match label {
        // header, selectee (the thunk header's extra word included)
        "THUNK_SELECTOR" => words(3),
        // header, indirectee
        "BLACKHOLE" | "IND" | "IND_STATIC" => words(2),
        // header, var
        "MUT_VAR_CLEAN" | "MUT_VAR_DIRTY" => words(2),
        // header, head, tail, value
        "MVAR_CLEAN" | "MVAR_DIRTY" => words(4),
        // header, current_value, first_watch_queue_entry, num_updates
        "TVAR" => words(4),
        // header, cfinalizers, key, value, finalizer, link
        "WEAK" | "DEAD_WEAK" => words(6),
        // Boxed primitives and the small-number constructors: header plus one field.
        "ghc-prim:GHC.Types.I#"
        | "ghc-prim:GHC.Types.W#"
        | "ghc-prim:GHC.Types.C#"
        | "ghc-prim:GHC.Types.D#"
        | "ghc-prim:GHC.Types.F#"
        | "base:GHC.Int.I8#"
        | "base:GHC.Int.I16#"
        | "base:GHC.Int.I32#"
        | "base:GHC.Int.I64#"
        | "base:GHC.Word.W8#"
        | "base:GHC.Word.W16#"
        | "base:GHC.Word.W32#"
        | "base:GHC.Word.W64#"
        | "base:GHC.Maybe.Just"
        | "base:Data.Either.Left"
        | "base:Data.Either.Right"
        | "ghc-bignum:GHC.Num.Integer.IS"
        | "ghc-bignum:GHC.Num.Integer.IP"
        | "ghc-bignum:GHC.Num.Integer.IN"
        | "ghc-bignum:GHC.Num.Natural.NS"
        | "ghc-bignum:GHC.Num.Natural.NB"
        | "integer-gmp:GHC.Integer.Type.S#"
        | "integer-gmp:GHC.Integer.Type.Jp#"
        | "integer-gmp:GHC.Integer.Type.Jn#" => words(2),
        // (:) head tail
        "ghc-prim:GHC.Types.:" => words(3),
        // data Signal dom a = a :- Signal dom a — the stream cell this harness exists to count
        "clash-prelude:Clash.Signal.Internal.:-" => words(3),
        _ => None,
    }
}

fn payload(rest: &str) -> Option<(u64, u64)> {
    let (p, n) = rest.split_once('_')?;
    Some((p.parse().ok()?, n.parse().ok()?))
}

/// `ghc-prim:GHC.Tuple.(,,)` → 3; the unit `()` is static and never on the heap.
fn tuple_arity(label: &str) -> Option<u64> {
    let inner = label
        .strip_prefix("ghc-prim:GHC.Tuple.(")?
        .strip_suffix(')')?;
    (!inner.is_empty() && inner.bytes().all(|b| b == b',')).then(|| inner.len() as u64 + 1)
}

/// Fills in `count` (and `count_estimated`) of every [`TypeSample`](crate::timeline::TypeSample)
/// in `timeline` from its bytes, by closure size: declared, else known, else inferred (see
/// [`ClosureSize`]). The readers call this once, after the last sample, because inference needs
/// every sample; the streaming [`EventlogReader`](crate::source::ghc::eventlog::EventlogReader) leaves counts
/// at zero (a stream learns the sizes in a first pass with [`SizeInference`], then counts
/// each sample with [`Counts`]). A summary of what was inferred, and any size that does not
/// divide its bytes, goes to `timeline.notes`.
pub fn assign_counts(timeline: &mut Timeline, opts: &ReadOptions) {
    let mut inference = SizeInference::default();
    for sample in &timeline.samples {
        inference.observe(sample);
    }
    let mut counts = inference.counts(opts);
    for sample in &mut timeline.samples {
        counts.assign(sample);
    }
    timeline.notes.extend(counts.notes());
}

/// The closure sizes of a profile's labels, learnt sample by sample: the gcd of each label's
/// byte totals (memory grows with the labels, not the samples).
#[derive(Debug, Default)]
pub struct SizeInference {
    gcds: crate::timeline::LabelMap<u64>,
}

impl SizeInference {
    /// Takes in one sample's byte totals.
    pub fn observe(&mut self, sample: &Sample) {
        // gcd(b, 0) = b: a label's first row starts its gcd. The row's bytes first: once the
        // gcd has settled on the closure size, one division finds it unchanged (the other order
        // took two, and divisions were a fifth of the live watch's time per census).
        crate::timeline::for_each_label(&mut self.gcds, &sample.types, |g, t| {
            *g = gcd(t.bytes, *g)
        });
    }

    /// Takes in a label's byte totals already reduced to their gcd (rows of two spellings of
    /// one normalised label combine).
    pub fn observe_label(&mut self, label: &str, bytes_gcd: u64) {
        match self.gcds.get_mut(label) {
            Some(g) => *g = gcd(*g, bytes_gcd),
            None => {
                self.gcds.insert(label.into(), bytes_gcd);
            }
        }
    }

    /// Every label's size: declared, else known, else inferred.
    pub fn sizes(&self, opts: &ReadOptions) -> BTreeMap<Label, ClosureSize> {
        self.gcds
            .iter()
            .filter_map(|(label, &g)| {
                let size = if let Some(&d) = opts.closure_sizes.get(label.as_str()) {
                    ClosureSize::Declared(d)
                } else if let Some(k) = known_closure_size(label) {
                    ClosureSize::Known(k)
                } else if g > 0 {
                    ClosureSize::Inferred(g)
                } else {
                    return None;
                };
                Some((label.clone(), size))
            })
            .collect()
    }

    /// What counts samples with these sizes.
    pub fn counts(&self, opts: &ReadOptions) -> Counts {
        Counts {
            sizes: self.sizes(opts),
            indivisible: BTreeMap::new(),
        }
    }
}

/// Counts samples one at a time by closure size ([`SizeInference::counts`]), remembering which
/// sizes did not divide their bytes.
#[derive(Debug)]
pub struct Counts {
    sizes: BTreeMap<Label, ClosureSize>,
    indivisible: BTreeMap<String, (u64, u64)>,
}

impl Counts {
    /// Fills in `count` and `count_estimated` of the sample's types.
    pub fn assign(&mut self, sample: &mut Sample) {
        // Both maps are sorted by label: walked side by side, each label is compared with its
        // neighbours instead of searched for (a long run's timeline is counted in one pass).
        let mut sizes = self.sizes.iter().peekable();
        for (label, t) in sample.types.iter_mut() {
            while sizes.next_if(|(l, _)| *l < label).is_some() {}
            let Some((_, size)) = sizes.next_if(|(l, _)| *l == label) else {
                continue;
            };
            let b = size.bytes();
            if b == 0 {
                continue;
            }
            t.count = t.bytes / b;
            let exact = t.bytes % b == 0;
            t.count_estimated = matches!(size, ClosureSize::Inferred(_)) || !exact;
            if !exact && !self.indivisible.contains_key(label.as_str()) {
                self.indivisible.insert(label.to_string(), (b, t.bytes));
            }
        }
    }

    /// Takes in a row of `label` that its size does not divide, as [`assign`](Self::assign)
    /// would on meeting it, for a caller that counts by label id: only the first such row of a
    /// label is noted.
    pub fn note_indivisible(&mut self, label: &str, bytes: u64) {
        let Some(size) = self.sizes.get(label).map(|s| s.bytes()) else {
            return;
        };
        if size > 0 && !bytes.is_multiple_of(size) && !self.indivisible.contains_key(label) {
            self.indivisible.insert(label.to_owned(), (size, bytes));
        }
    }

    /// The notes a reader adds to its timeline: sizes inferred, sizes that did not divide.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let inferred: Vec<String> = self
            .sizes
            .iter()
            .filter(|(_, s)| matches!(s, ClosureSize::Inferred(_)))
            .map(|(l, s)| format!("{l} {}", s.bytes()))
            .collect();
        if !inferred.is_empty() {
            notes.push(format!(
                "closure sizes inferred as the gcd of their byte totals, counts estimated (declare them in \
                 closure_sizes for exact counts): {}",
                inferred.join(", ")
            ));
        }
        for (label, (size, bytes)) in &self.indivisible {
            notes.push(format!("closure size {size} of {label} does not divide {bytes} bytes: its counts are estimates"));
        }
        notes
    }
}

/// Resolves the closure size of every label in the timeline.
pub fn closure_sizes(timeline: &Timeline, opts: &ReadOptions) -> BTreeMap<Label, ClosureSize> {
    let mut inference = SizeInference::default();
    for sample in &timeline.samples {
        inference.observe(sample);
    }
    inference.sizes(opts)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::{Sample, TypeSample, XUnit};

    #[test]
    fn normalises_unit_ids() {
        let check =
            |input: &str, expect: &str| assert_eq!(normalise_label(input), expect, "{input}");
        check(
            "clash-prelude-1.6.4-LGazv5LCaVL5CedqwbVEjM:Clash.Signal.Internal.:-",
            "clash-prelude:Clash.Signal.Internal.:-",
        );
        check(
            "containers-0.6.4.1:Data.Map.Internal.Bin",
            "containers:Data.Map.Internal.Bin",
        );
        check("my-pkg-0.1-inplace:Main.T", "my-pkg:Main.T");
        check(
            "text-2.0.1-abc-def:Data.Text.Internal.Text",
            "text:Data.Text.Internal.Text",
        );
        check("ghc-prim:GHC.Types.:", "ghc-prim:GHC.Types.:");
        check("base:GHC.Maybe.Just", "base:GHC.Maybe.Just");
        check("main:Main.S2M", "main:Main.S2M");
        check("THUNK_2_0", "THUNK_2_0");
        check("CAF:main", "CAF:main");
        check("<Main.sat_s1>", "<Main.sat_s1>");
        check("ghc-9.0.2:GHC.Core.Expr", "ghc:GHC.Core.Expr");
        check("", "");
        check(":", ":");
    }

    #[test]
    fn known_sizes_follow_the_64_bit_layout() {
        let check = |label: &str, expect: Option<u64>| {
            assert_eq!(known_closure_size(label), expect, "{label}")
        };
        check("THUNK_0_1", Some(24));
        check("THUNK_2_0", Some(32));
        check("THUNK_1_0", Some(24));
        check("FUN_2_0", Some(24));
        check("FUN_1_0", Some(16));
        check("CONSTR_0_1", Some(16));
        check("THUNK_SELECTOR", Some(24));
        check("BLACKHOLE", Some(16));
        check("ghc-prim:GHC.Tuple.(,)", Some(24));
        check("ghc-prim:GHC.Tuple.(,,)", Some(32));
        check("ghc-prim:GHC.Tuple.()", None);
        check("ghc-prim:GHC.Types.:", Some(24));
        check("ghc-bignum:GHC.Num.Natural.NS", Some(16));
        check("clash-prelude:Clash.Signal.Internal.:-", Some(24));
        check("THUNK", None);
        check("ARR_WORDS", None);
        check("THUNK_x_1", None);
    }

    #[test]
    fn counts_declared_known_inferred() {
        let sample = |x: u64, entries: &[(&str, u64)]| Sample {
            x,
            live_bytes: entries.iter().map(|e| e.1).sum(),
            types: entries
                .iter()
                .map(|&(l, b)| {
                    (
                        (*l).into(),
                        TypeSample {
                            bytes: b,
                            ..Default::default()
                        },
                    )
                })
                .collect(),
            ..Default::default()
        };
        let mut tl = Timeline::new("test", XUnit::Census);
        tl.samples.push(sample(
            0,
            &[("THUNK_1_0", 48), ("main:Main.T", 96), ("main:Main.U", 80)],
        ));
        tl.samples.push(sample(
            1,
            &[("THUNK_1_0", 72), ("main:Main.T", 144), ("main:Main.U", 40)],
        ));
        let mut opts = ReadOptions::default();
        opts.closure_sizes.insert("main:Main.U".into(), 40);
        assign_counts(&mut tl, &opts);
        let t = |x: usize, l: &str| {
            let t = &tl.samples[x].types[l];
            (t.count, t.count_estimated)
        };
        assert_eq!(t(0, "THUNK_1_0"), (2, false));
        assert_eq!(t(1, "THUNK_1_0"), (3, false));
        assert_eq!(t(0, "main:Main.T"), (2, true)); // gcd 48
        assert_eq!(t(1, "main:Main.T"), (3, true));
        assert_eq!(t(0, "main:Main.U"), (2, false));
        assert_eq!(t(1, "main:Main.U"), (1, false));
        assert!(
            tl.notes.iter().any(|n| n.contains("main:Main.T 48")),
            "{:?}",
            tl.notes
        );
    }
}

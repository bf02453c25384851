//! Human quantities in scenario files: byte sizes (`"8 MiB"`), percentages (`"10%"`) and
//! durations (`"90s"`), and their display.
//!
//! Also [`XUnit`], what a timeline's x-axis counts, and how its positions and slopes are
//! written.
//!
//! Pure parsing and formatting; knows nothing of TOML or scenarios.

use serde::{Deserialize, Serialize};

/// The largest byte size a scenario may give: 1 EiB, far beyond any machine's memory, small
/// enough that sums and conversions to `f64` of such sizes stay exact and never overflow.
pub const MAX_BYTES: u64 = 1 << 60;

/// The longest duration a scenario may give: 30 days. A timeout or interval beyond it is a
/// mistake, and bounding it keeps every deadline computed from it (an `Instant` plus the
/// duration) representable.
pub const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// Checks a byte size against [`MAX_BYTES`].
pub fn check_bytes(bytes: u64, text: &str) -> Result<u64, String> {
    if bytes > MAX_BYTES {
        return Err(format!(
            "`{text}` is larger than the largest byte size membound accepts, 1 EiB (hint: a bound in bytes, e.g. \"512 MiB\" or \"2 GiB\")"
        ));
    }
    Ok(bytes)
}

/// Parses a byte size: an integer, or a number with a unit (`B`, `KiB`, `MiB`, `GiB`, `kB`,
/// `MB`, `GB`), at most [`MAX_BYTES`]. Returns a message naming the accepted forms on failure.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: f64 = num.replace('_', "").parse().map_err(|_| {
        format!("`{text}` is not a byte size (hint: write e.g. 4096, \"512 KiB\" or \"2 MiB\")")
    })?;
    let mult: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        other => {
            return Err(format!(
            "unknown byte unit `{other}` in `{text}` (hint: one of B, KiB, MiB, GiB, kB, MB, GB)"
        ))
        }
    };
    let v = num * mult;
    if !v.is_finite() || v < 0.0 || v > MAX_BYTES as f64 {
        return check_bytes(u64::MAX, text);
    }
    // In range, so the conversion is exact up to rounding and cannot saturate.
    Ok(v.round() as u64)
}

/// Parses a percentage like `"10%"` into a fraction (0.10).
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let Some(num) = t.strip_suffix('%') else {
        return Err(format!(
            "`{text}` is not a percentage (hint: write e.g. \"10%\")"
        ));
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a percentage (hint: write e.g. \"10%\")"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("`{text}` must be a non-negative percentage"));
    }
    Ok(v / 100.0)
}

/// Parses a duration: `"90s"`, `"500ms"`, `"2m"`, or a bare number of seconds; at least a
/// nanosecond and at most [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (hint: write e.g. \"90s\" or \"2m\")"))?;
    let secs = match unit.trim() {
        "" | "s" => v,
        "ms" => v / 1e3,
        "m" | "min" => v * 60.0,
        other => {
            return Err(format!(
                "unknown duration unit `{other}` in `{text}` (hint: ms, s or m)"
            ))
        }
    };
    if secs.is_nan() || secs <= 0.0 {
        return Err(format!("`{text}` must be a positive duration"));
    }
    // Compared as seconds before any conversion: `Duration::from_secs_f64` panics on values
    // it cannot hold (18446744073709551615s did).
    if secs > MAX_DURATION.as_secs_f64() {
        return Err(format!(
            "`{text}` is longer than the longest duration membound accepts, 30 days (hint: write e.g. \"90s\", \"10m\")"
        ));
    }
    match std::time::Duration::try_from_secs_f64(secs) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(format!(
            "`{text}` is shorter than a nanosecond (hint: write e.g. \"500ms\")"
        )),
    }
}

/// Formats bytes with a binary unit and three significant figures: `1.50 MiB`, `812 B`.
pub fn fmt_bytes(b: f64) -> String {
    let a = b.abs();
    let (v, unit) = if a >= 1024.0 * 1024.0 * 1024.0 {
        (b / (1024.0 * 1024.0 * 1024.0), "GiB")
    } else if a >= 1024.0 * 1024.0 {
        (b / (1024.0 * 1024.0), "MiB")
    } else if a >= 1024.0 {
        (b / 1024.0, "KiB")
    } else {
        return format!("{} B", b.round() as i64);
    };
    if v.abs() >= 100.0 {
        format!("{v:.0} {unit}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.2} {unit}")
    }
}

/// Items as a sentence lists them: `a`, `a and b`, `a, b and c`.
pub fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Formats an integer with thousands separators: `190,112`.
pub fn fmt_int(n: i128) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// The unit of a sample's x-position: the one place that says how an axis is labelled, how a
/// position is written and what a growth slope is per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum XUnit {
    /// Simulated clock cycles (the Rust simulator).
    #[default]
    Cycles,
    /// The index of a GHC heap census (0, 1, 2, ...).
    Census,
    /// Milliseconds of wall-clock time since the program started (the RSS sampler).
    Millis,
    /// The index of a valgrind massif snapshot (0, 1, 2, ...).
    Snapshot,
}

impl XUnit {
    /// A short human name for axis labels.
    pub fn label(self) -> &'static str {
        match self {
            XUnit::Cycles => "cycles",
            XUnit::Census => "census index",
            XUnit::Millis => "ms since start",
            XUnit::Snapshot => "snapshot index",
        }
    }

    /// What a sample's total measures, for the y axis: live bytes (simulator, GHC, massif) or
    /// resident bytes (the RSS sampler).
    pub fn residency_label(self) -> &'static str {
        match self {
            XUnit::Millis => "resident bytes",
            XUnit::Cycles | XUnit::Census | XUnit::Snapshot => "live bytes",
        }
    }

    /// What a sample's total is, in a failure's words: the simulator's `live bytes`, a GHC
    /// program's `heap`, massif's `live heap`, the rss sampler's `resident set`. The one place
    /// a source's residency is named, so that no source speaks another's language.
    pub fn residency_words(self) -> &'static str {
        match self {
            XUnit::Cycles => "live bytes",
            XUnit::Census => "heap",
            XUnit::Millis => "resident set",
            XUnit::Snapshot => "live heap",
        }
    }

    /// What a growth bound on total residency is of, in this source's words.
    pub fn growth_words(self) -> &'static str {
        match self {
            XUnit::Cycles => "live-byte growth",
            XUnit::Census => "heap growth",
            XUnit::Millis => "resident-set growth",
            XUnit::Snapshot => "live-heap growth",
        }
    }

    /// What one sample is called: a `sample` (simulator, rss), a `census` (GHC), a
    /// `snapshot` (massif).
    pub fn sample_word(self) -> &'static str {
        match self {
            XUnit::Cycles | XUnit::Millis => "sample",
            XUnit::Census => "census",
            XUnit::Snapshot => "snapshot",
        }
    }

    /// What a sample's breakdown is of: closure types (GHC), allocation sites (massif),
    /// node types (simulator); `None` where samples have none (rss).
    pub fn breakdown_words(self) -> Option<&'static str> {
        match self {
            XUnit::Cycles => Some("types"),
            XUnit::Census => Some("types"),
            XUnit::Snapshot => Some("sites"),
            XUnit::Millis => None,
        }
    }

    /// Why a run of this kind may have produced no sample, and what to check: each source in
    /// its own words.
    pub fn no_sample_words(self) -> &'static str {
        match self {
            XUnit::Cycles => "the simulator sent no sample (was `cycles` at least `sample_every`?)",
            XUnit::Census => "its profile holds no census (was it built with -rtsopts, and did it run long enough for a major GC?)",
            XUnit::Millis => "the program ended before its resident set was first sampled (hint: a shorter `sample_interval`)",
            XUnit::Snapshot => "massif wrote no snapshot (did the program allocate with malloc/new?)",
        }
    }

    /// A position in words: `cycle 1,000`, `census 14`, `1,250 ms`, `snapshot 7`.
    pub fn at(self, x: u64) -> String {
        let n = fmt_int(x as i128);
        match self {
            XUnit::Cycles => format!("cycle {n}"),
            XUnit::Census => format!("census {n}"),
            XUnit::Millis => format!("{n} ms"),
            XUnit::Snapshot => format!("snapshot {n}"),
        }
    }

    /// The word before a bare number in `at census 14`, `at ms 1250`: `cycle`, `census`, `ms`,
    /// `snapshot`.
    pub fn word(self) -> &'static str {
        match self {
            XUnit::Cycles => "cycle",
            XUnit::Census => "census",
            XUnit::Millis => "ms",
            XUnit::Snapshot => "snapshot",
        }
    }

    /// Growth slopes are per this many x-units ([`XUnit::per_name`]): per 1000 cycles, per
    /// census, per second, per snapshot.
    pub fn per(self) -> f64 {
        match self {
            XUnit::Cycles | XUnit::Millis => 1000.0,
            XUnit::Census | XUnit::Snapshot => 1.0,
        }
    }

    /// What a growth slope is per, as short as a figure's unit (`12 B/kcycle`, `3 B/s`).
    pub fn per_short(self) -> &'static str {
        match self {
            XUnit::Cycles => "kcycle",
            XUnit::Census => "census",
            XUnit::Millis => "s",
            XUnit::Snapshot => "snapshot",
        }
    }

    /// What a growth slope is per, in words: `per 1000 cycles`, `per census`.
    pub fn per_name(self) -> &'static str {
        match self {
            XUnit::Cycles => "per 1000 cycles",
            XUnit::Census => "per census",
            XUnit::Millis => "per second",
            XUnit::Snapshot => "per snapshot",
        }
    }

    /// Whether positions count discrete profiles (censuses, snapshots) rather than a quantity:
    /// their axis ticks are whole numbers.
    pub fn is_index(self) -> bool {
        matches!(self, XUnit::Census | XUnit::Snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes() {
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("2 MiB"), Ok(2 * 1024 * 1024));
        assert_eq!(parse_bytes("1.5KiB"), Ok(1536));
        assert!(parse_bytes("2 parsecs").unwrap_err().contains("KiB"));
        assert_eq!(fmt_bytes(1536.0), "1.50 KiB");
        assert_eq!(fmt_bytes(812.0), "812 B");
    }

    #[test]
    fn percent_and_duration() {
        assert_eq!(parse_percent("10%"), Ok(0.10));
        assert!(parse_percent("10").is_err());
        assert_eq!(parse_duration("90s").map(|d| d.as_secs()), Ok(90));
        assert_eq!(parse_duration("2m").map(|d| d.as_secs()), Ok(120));
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn sizes_and_durations_are_bounded_with_a_message() {
        let e = parse_duration("18446744073709551615s").unwrap_err();
        assert!(
            e.contains("longest duration membound accepts, 30 days"),
            "{e}"
        );
        assert!(parse_duration("31 days").is_err());
        assert!(parse_duration("44641m").is_err());
        assert_eq!(
            parse_duration("43200m").map(|d| d.as_secs()),
            Ok(30 * 24 * 3600)
        );
        assert!(parse_duration("0.0000000000001s").is_err());
        let e = parse_bytes("18446744073709551615").unwrap_err();
        assert!(
            e.contains("largest byte size membound accepts, 1 EiB"),
            "{e}"
        );
        assert!(parse_bytes("2048 GiB").is_ok());
        assert!(parse_bytes("99999999999 GiB").is_err());
        assert_eq!(check_bytes(MAX_BYTES, "x"), Ok(MAX_BYTES));
        assert!(check_bytes(MAX_BYTES + 1, "x").is_err());
    }

    /// No text makes a unit parser panic: random strings over the characters they look at
    /// (digits, dots, units, signs, exponents, spaces, multi-byte characters), from a fixed
    /// seed so a failure repeats.
    #[test]
    fn no_input_panics() {
        const PIECES: &[&str] = &[
            "0",
            "1",
            "9",
            "18446744073709551615",
            ".",
            "_",
            "e",
            "E",
            "+",
            "-",
            "%",
            " ",
            "s",
            "ms",
            "m",
            "min",
            "B",
            "KiB",
            "MiB",
            "GiB",
            "kB",
            "MB",
            "GB",
            "inf",
            "NaN",
            "é",
            "∞",
            "1e308",
            "0x",
            "\u{0}",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = next() % 8;
            let text: String = (0..len)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            if let Ok(b) = parse_bytes(&text) {
                assert!(b <= MAX_BYTES, "{text:?}");
            }
            if let Ok(d) = parse_duration(&text) {
                assert!(d <= MAX_DURATION && !d.is_zero(), "{text:?}");
            }
            if let Ok(p) = parse_percent(&text) {
                assert!(p.is_finite() && p >= 0.0, "{text:?}");
            }
        }
    }

    #[test]
    fn lists_read_as_sentences() {
        let l = |xs: &[&str]| and_list(&xs.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(l(&[]), "");
        assert_eq!(l(&["a"]), "a");
        assert_eq!(l(&["a", "b"]), "a and b");
        assert_eq!(l(&["a", "b", "c"]), "a, b and c");
    }

    #[test]
    fn ints() {
        assert_eq!(fmt_int(190112), "190,112");
        assert_eq!(fmt_int(-1000), "-1,000");
        assert_eq!(fmt_int(12), "12");
    }
}

//! `summarise`: the plain-text summary of a `Timeline` that `membound profile` prints.
//!
//! Peak and steady residency, growth, the top types with their peak and growth, and the
//! markers: what a user wants from a profile they already have. A reporter: reads only the
//! timeline and never decides pass or fail.

use crate::metrics::slope;
use crate::units::{fmt_bytes, fmt_int};
use crate::{Timeline, XUnit};
use std::fmt::Write as _;

/// How many types the summary lists.
pub const TOP_TYPES: usize = 10;

/// The summary text.
pub fn summarise(tl: &Timeline) -> String {
    let mut s = String::new();
    let unit = tl.x_unit.label();
    let _ = writeln!(
        s,
        "source: {}{}",
        tl.source,
        if tl.truncated {
            " (truncated: the profile ends mid-record)"
        } else {
            ""
        }
    );
    for (k, v) in &tl.facts {
        let _ = writeln!(s, "{k}: {v}");
    }
    let n = tl.samples.len();
    let _ = writeln!(
        s,
        "samples: {n} ({unit} {} to {})",
        tl.samples.first().map_or(0, |x| x.x),
        tl.end().unwrap_or(0)
    );
    if n == 0 {
        return s;
    }
    let peak = tl
        .samples
        .iter()
        .max_by_key(|x| x.live_bytes)
        .map_or((0, 0), |x| (x.x, x.live_bytes));
    let _ = writeln!(
        s,
        "peak residency: {} at {unit} {}",
        fmt_bytes(peak.1 as f64),
        peak.0
    );
    let half: Vec<_> = tl.samples[n / 2..].iter().collect();
    let mut steady: Vec<u64> = half.iter().map(|x| x.live_bytes).collect();
    steady.sort_unstable();
    if let Some(m) = steady.get(steady.len() / 2) {
        let _ = writeln!(
            s,
            "steady residency (median of the second half): {}",
            fmt_bytes(*m as f64)
        );
    }
    let per = if tl.x_unit == XUnit::Cycles {
        1000.0
    } else {
        1.0
    };
    let per_name = if tl.x_unit == XUnit::Cycles {
        "per 1000 cycles"
    } else {
        "per census"
    };
    if let Some((b, r2)) = slope(half.iter().map(|x| (x.x as f64, x.live_bytes as f64))) {
        let _ = writeln!(
            s,
            "growth (second half): {} {per_name} (r² {r2:.2})",
            fmt_bytes(b * per)
        );
    }
    for (k, v) in &tl.totals {
        let shown = if k.contains("bytes") || k.contains("rss") || k.contains("heap") {
            fmt_bytes(*v as f64)
        } else {
            fmt_int(*v as i128)
        };
        let _ = writeln!(s, "{k}: {shown}");
    }
    let mut peaks: Vec<(&str, u64, u64)> = Vec::new();
    for x in &tl.samples {
        for (l, t) in &x.types {
            match peaks.iter_mut().find(|p| p.0 == l) {
                Some(p) => {
                    p.1 = p.1.max(t.bytes);
                    p.2 = p.2.max(t.count);
                }
                None => peaks.push((l, t.bytes, t.count)),
            }
        }
    }
    peaks.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    if !peaks.is_empty() {
        let _ = writeln!(s, "top types by peak bytes (growth over the second half):");
    }
    for (label, bytes, count) in peaks.iter().take(TOP_TYPES) {
        let g = slope(half.iter().map(|x| {
            (
                x.x as f64,
                x.types.get(*label).map_or(0, |t| t.bytes) as f64,
            )
        }));
        let est = tl
            .samples
            .iter()
            .any(|x| x.types.get(*label).is_some_and(|t| t.count_estimated));
        let _ = writeln!(
            s,
            "  {:<50} peak {:>10} ({}{} objects), growth {} {per_name}",
            label,
            fmt_bytes(*bytes as f64),
            if est { "~" } else { "" },
            fmt_int(*count as i128),
            g.map_or("n/a".into(), |(b, _)| fmt_bytes(b * per))
        );
    }
    if !tl.marks.is_empty() {
        let _ = writeln!(s, "markers:");
        for m in &tl.marks {
            let _ = writeln!(s, "  {unit} {}: {}", m.x, m.label);
        }
    }
    for note in &tl.notes {
        let _ = writeln!(s, "note: {note}");
    }
    s
}

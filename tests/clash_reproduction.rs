//! The Clash reproduction's claim, checked on the blessed figures: at the same cycle count, the
//! `fixed` variant's peak heap is at least 5 times lower than each leaky variant's (the
//! investigation went from 2 GB to 200 MB). A leaky variant is stopped at its first violating
//! census (fail fast), so its blessed `heap.peak`, the residency it had reached by then, is a
//! lower bound of its whole run's peak: the claim is checked against that lower bound. The scenario tests hold every run to these exact
//! figures, so a run that broke the ratio would fail there first; this test guards the
//! baselines themselves against a bless that loses it.

use std::path::Path;

fn metric(name: &str, metric: &str) -> u64 {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("baselines")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    v["metrics"][metric]
        .as_u64()
        .unwrap_or_else(|| panic!("{}: no {metric}", path.display()))
}

#[test]
fn fixed_peak_heap_is_at_least_five_times_lower_than_each_culprit() {
    let fixed = metric("clash_register_wb_fixed", "ghc.max_bytes_used");
    for culprit in ["lazy_unzip", "lazy_record_update", "unshared_iterate"] {
        let leaky = metric(&format!("clash_register_wb_{culprit}"), "heap.peak");
        assert!(
            leaky >= 5 * fixed,
            "{culprit}: heap.peak at its violation {leaky} is not ≥ 5 × fixed's max_bytes_used {fixed}"
        );
    }
}

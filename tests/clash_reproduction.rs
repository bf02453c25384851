//! The Clash reproduction's claim, checked on the blessed figures: at the same cycle count, the
//! `fixed` variant's peak heap is at least 5 times lower than each leaky variant's (the
//! investigation went from 2 GB to 200 MB). The scenario tests hold every run to these exact
//! figures, so a run that broke the ratio would fail there first; this test guards the
//! baselines themselves against a bless that loses it.

use std::path::Path;

fn max_bytes_used(name: &str) -> u64 {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("baselines")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    v["metrics"]["ghc.max_bytes_used"]
        .as_u64()
        .unwrap_or_else(|| panic!("{}: no ghc.max_bytes_used", path.display()))
}

#[test]
fn fixed_peak_heap_is_at_least_five_times_lower_than_each_culprit() {
    let fixed = max_bytes_used("clash_register_wb_fixed");
    for culprit in ["lazy_unzip", "lazy_record_update", "unshared_iterate"] {
        let leaky = max_bytes_used(&format!("clash_register_wb_{culprit}"));
        assert!(
            leaky >= 5 * fixed,
            "{culprit}: max_bytes_used {leaky} is not ≥ 5 × fixed's {fixed}"
        );
    }
}

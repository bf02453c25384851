//! Golden tests of the memory report: a fixed set of results (one passing scenario re-blessed in
//! the PR, one regression, one improvement, one invariant violation) rendered as markdown and
//! HTML and compared with `tests/golden/report.{md,html}`. `UPDATE_GOLDEN=1` rewrites them.

use membound::report::{self};

mod report_data;
use report_data::input;

#[test]
fn markdown_matches_golden() {
    report_data::check_golden("report_golden", "report.md", &report::markdown(&input()));
}

#[test]
fn html_matches_golden() {
    report_data::check_golden("report_golden", "report.html", &report::html(&input()));
}

#[test]
fn output_is_stable_for_the_same_input() {
    let (a, b) = (input(), input());
    assert_eq!(report::markdown(&a), report::markdown(&b));
    assert_eq!(report::html(&a), report::html(&b));
}

/// The hand-made results must be ones the harness could have produced.
#[test]
fn test_data_is_consistent_with_the_comparison_rules() {
    let input = input();
    assert_eq!(input.results.len(), 4);
    report_data::assert_consistent(&input);
}

#[test]
fn markdown_has_what_reviewers_need() {
    let md = report::markdown(&input());
    assert!(
        md.starts_with("<!-- membound-report -->\n"),
        "the marker CI looks for comes first"
    );
    assert!(md.contains("4 scenarios run: 1 passed, 3 failed"));
    // No false green: the PR's re-bless is named before the summary, and counted in it.
    let (head, _) = md.split_once("4 scenarios run:").expect("summary line");
    assert!(
        head.contains(
            "- `register_wb_steady` re-blessed: live_bytes.steady 346,112 B → 318,464 B, -8.0%"
        ),
        "{head}"
    );
    assert!(md.contains("1 baseline changed by this PR (listed above)"));
    assert!(md.contains("cargo xtask bless wishbone_interconnect"));
    assert!(md.contains("cargo xtask bless clash_register_wb"));
    assert!(
        !md.contains("cargo xtask bless record_update_leak\n"),
        "bless refuses failing invariants"
    );
    assert!(md.contains("violated at cycle 120,000"));
    assert!(md.contains("```mermaid") && md.contains("xychart-beta"));
    assert!(md.contains("### Baselines changed in this PR"));
}

/// Without base-ref baselines, each result's own baseline and comparison are shown.
#[test]
fn without_a_base_ref_results_compare_with_their_own_baseline() {
    let mut input = input();
    input.base.clear();
    input.base_ref = None;
    input.blessed.clear();
    let md = report::markdown(&input);
    assert!(md.contains("compared with the blessed baselines"));
    assert!(!md.contains("Baselines changed in this PR"));
    // The passing scenario moved only within tolerance against its own baseline: folded away.
    assert!(
        md.contains("1 scenario passed with nothing moved beyond tolerance"),
        "{md}"
    );
}

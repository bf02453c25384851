//! Golden tests of the report of a pull request that re-blessed one scenario
//! (`register_wb_steady`), added one (`register_wb_six_slaves`) and removed one
//! (`register_wb_four_slaves`), with one regression of its own run (`wishbone_interconnect`).
//! Fixtures in `tests/data/report_pr/`, goldens `tests/golden/report_pr.{md,html}`;
//! `UPDATE_GOLDEN=1` rewrites them.

use membound::pipeline::ScenarioResult;
use membound::report::{self, BlessedChange, ReportInput};
use membound::store::Baseline;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

// Shared with the other report tests; this one uses only its reader.
#[allow(dead_code)]
mod report_data;
use report_data::read_dir_json;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/report_pr")
}

/// The input as `membound report --base origin/main` builds it for that PR.
fn input() -> ReportInput {
    #[derive(serde::Deserialize)]
    struct Pr {
        base_ref: Option<String>,
        blessed: Vec<BlessedChange>,
    }
    let results: Vec<ScenarioResult> = read_dir_json(&data().join("results"))
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    let base: BTreeMap<String, Baseline> = read_dir_json(&data().join("base"))
        .into_iter()
        // The removed scenario has no result; the front end reads only the results' baselines
        // at the base ref (and the removed one into `blessed`).
        .filter(|(n, _)| results.iter().any(|r| &r.scenario == n))
        .collect();
    let pr: Pr =
        serde_json::from_str(&std::fs::read_to_string(data().join("pr.json")).expect("pr.json"))
            .expect("pr.json parses");
    ReportInput {
        results,
        base_ref: pr.base_ref,
        base,
        blessed: pr.blessed,
        hints: Default::default(),
        without_result: Vec::new(),
    }
}

#[test]
fn markdown_matches_golden() {
    report_data::check_golden("report_pr", "report_pr.md", &report::markdown(&input()));
}

#[test]
fn html_matches_golden() {
    report_data::check_golden("report_pr", "report_pr.html", &report::html(&input()));
}

/// What the PR accepts is said before anything of this run, in scenario order, each with its
/// largest move and the commit that blessed it.
#[test]
fn the_first_lines_name_what_the_pr_accepts() {
    let md = report::markdown(&input());
    let lines: Vec<&str> = md.lines().collect();
    let summary = lines
        .iter()
        .position(|l| l.contains("scenarios run:"))
        .expect("summary line");
    let head = lines[..summary].join("\n");
    assert!(head.contains("This PR changes 3 baselines"), "{head}");
    let removed = head
        .find("`register_wb_four_slaves` removed")
        .expect("removed scenario named");
    let added = head
        .find("`register_wb_six_slaves` added (no baseline at origin/main): peak 471 KiB")
        .expect("added scenario named with its figures");
    let reblessed = head
        .find("`register_wb_steady` re-blessed: live_bytes.steady 346,112 B → 318,464 B, -8.0%; live_bytes.peak -7.9%")
        .expect("re-blessed scenario named with its largest moves");
    assert!(removed < added && added < reblessed);
    assert!(head.contains("in `3f9c2ab` register_wb_steady: drop the idle slave"));
    assert!(head.contains("in `8d41e07` Add register_wb_six_slaves"));
    // And the summary line itself never reads as all green without the accepted changes.
    assert!(lines[summary].contains("3 baselines changed by this PR"));
    assert!(lines[summary].contains("1 regression"));
}

/// An added scenario is shown against the baseline it adds, not as a table of new metrics.
#[test]
fn an_added_scenario_is_not_all_new_metrics() {
    let md = report::markdown(&input());
    assert!(
        md.contains("| ✅ | `register_wb_six_slaves` | passed, added in this PR | 471 KiB → 471 KiB | +0.0% |"),
        "{md}"
    );
    assert!(!md.contains("| new |"), "{md}");
    assert!(md.contains("- `register_wb_six_slaves`: new baseline (none at origin/main)"));
    assert!(md.contains("- `register_wb_four_slaves`: baseline removed"));
}

/// The comment reads in seconds: outside `<details>`, a few dozen lines.
#[test]
fn the_comment_is_short_outside_its_folds() {
    let md = report::markdown(&input());
    let mut depth = 0usize;
    let mut visible = 0usize;
    for line in md.lines() {
        if line.starts_with("<details>") {
            depth += 1;
        }
        if depth == 0 && !line.trim().is_empty() {
            visible += 1;
        }
        if line.ends_with("</details>") {
            depth = depth.saturating_sub(1);
        }
    }
    assert!(visible <= 40, "{visible} visible lines:\n{md}");
}

#[test]
fn html_is_well_formed() {
    let html = report::html(&input());
    let mut r = quick_xml::Reader::from_str(&html);
    r.config_mut().check_end_names = true;
    loop {
        match r.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed at byte {}: {e}", r.buffer_position()),
        }
    }
    assert!(html.contains("This PR changes 3 baseline(s)"));
    assert!(html.contains("href=\"#bs-register_wb_four_slaves\""));
    assert!(html.contains("id=\"bs-register_wb_four_slaves\""));
}

/// The fixture is one the harness could have produced (as `report_golden` checks its own).
#[test]
fn test_data_is_consistent_with_the_comparison_rules() {
    report_data::assert_consistent(&input());
}

/// The figures `membound run` prints beside a passing scenario's `ok`: peak, steady and growth
/// of this run, then each whole-run metric that moved within tolerance.
#[test]
fn key_figures_of_a_passing_run() {
    let input = input();
    let get = |name: &str| {
        input
            .results
            .iter()
            .find(|r| r.scenario == name)
            .expect("result")
    };
    assert_eq!(
        report::key_figures(get("register_wb_six_slaves")),
        "peak 471 KiB · steady 466 KiB · growth 0 B/kcycle"
    );
    assert_eq!(
        report::key_figures(get("wishbone_interconnect")),
        "peak 614 KiB · steady 611 KiB · growth 0 B/kcycle · Δ rss.peak +4.5%"
    );
}

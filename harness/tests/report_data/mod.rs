//! The report tests' fixed input: the results, base-ref baselines and blessed changes under
//! `tests/data/report/`, read as the front end reads them.

use membound::pipeline::ScenarioResult;
use membound::report::{BlessedChange, ReportInput};
use membound::store::Baseline;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/report")
}

pub fn read_dir_json<T: serde::de::DeserializeOwned>(dir: &Path) -> Vec<(String, T)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
            let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (
                p.file_stem().expect("stem").to_string_lossy().into_owned(),
                v,
            )
        })
        .collect()
}

/// The report input as the front end builds it: results, base-ref baselines, blessed changes.
pub fn input() -> ReportInput {
    #[derive(serde::Deserialize)]
    struct Pr {
        base_ref: Option<String>,
        blessed: Vec<BlessedChange>,
    }
    let results: Vec<ScenarioResult> = read_dir_json(&data().join("results"))
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    let base: BTreeMap<String, Baseline> =
        read_dir_json(&data().join("base")).into_iter().collect();
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

/// Hand-made results must be ones the harness could have produced: every row is what
/// `compare::judge` says for its values, and the values are the two sides' metrics.
// Each test binary that includes this module uses some of its helpers.
#[allow(dead_code)]
pub fn assert_consistent(input: &ReportInput) {
    for r in &input.results {
        let (b, c, cmp) = (
            r.baseline.as_ref().expect("baseline"),
            r.current.as_ref().expect("current"),
            r.comparison.as_ref().expect("comparison"),
        );
        for row in &cmp.rows {
            assert_eq!(
                membound::judge::compare::judge(row.baseline, row.current, row.tolerance),
                row.verdict,
                "{}: {}",
                r.scenario,
                row.metric
            );
            let figure = membound::spec::metric::Figure::parse(&row.metric).unwrap_or_else(|| {
                panic!("{}: `{}` is in the metric table", r.scenario, row.metric)
            });
            let get = |x: &Baseline| match &figure {
                membound::spec::metric::Figure::Type { label, field } => {
                    x.types.get(label).and_then(|f| f.get(field.name)).copied()
                }
                membound::spec::metric::Figure::Metric(m) => x.metrics.get(m).copied(),
            };
            assert_eq!(row.baseline, get(b), "{}: {}", r.scenario, row.metric);
            assert_eq!(row.current, get(c), "{}: {}", r.scenario, row.metric);
        }
    }
}

/// Checks `actual` against `tests/golden/<name>` with a readable diff; with `UPDATE_GOLDEN=1`,
/// rewrites it instead. `test` is the test binary, named in the hint.
#[allow(dead_code)]
pub fn check_golden(test: &str, name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir golden");
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        let diff = similar::TextDiff::from_lines(expected.as_str(), actual)
            .unified_diff()
            .context_radius(3)
            .header(&format!("tests/golden/{name}"), "this run")
            .to_string();
        panic!("{name} differs from its golden file:\n{diff}\n(hint: review the diff, then `UPDATE_GOLDEN=1 cargo test -p membound --test {test}`)");
    }
}

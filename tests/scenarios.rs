//! One test per scenario file: `cargo test` runs every scenario in `scenarios/` against its
//! baseline, `cargo test register_wb` some of them, and `cargo nextest run --partition` spreads
//! them over machines. A libtest-mimic harness (`harness = false`) so that scenarios, which
//! are data, become tests without a line of Rust each.
//!
//! This binary is also the probe child of its simulator scenarios (see `membound::source::probe`).

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use membound::pipeline::{self, Config};
use membound::source::{self, RunConfig};
use membound::store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

#[global_allocator]
static ALLOC: membound::source::probe::CountingJemalloc =
    membound::source::probe::CountingJemalloc::new();

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    membound::source::probe::maybe_run_as_child(&argv);
    let args = Arguments::from_args();
    // cargo and nextest run tests from the package root: relative paths keep failure messages
    // and results free of where the checkout lives.
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = if std::env::current_dir().is_ok_and(|d| d == manifest_dir) {
        PathBuf::new()
    } else {
        manifest_dir
    };
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    let probe_program = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot locate the test binary to run probe children: {e}");
            return ExitCode::from(2);
        }
    };
    let work_dir = target.join("membound");
    let cfg = Config {
        run: RunConfig {
            probe_program,
            scenarios_dir: root.join("scenarios"),
            work_dir: work_dir.clone(),
            on_violation: None,
            // Nobody watches a test run: a paused program would hold it forever.
            allow_pause: false,
        },
        store: Store {
            dir: root.join("baselines"),
            results_dir: work_dir.join("results"),
        },
        ci,
    };
    let trials = match membound::scenario::load_dir(&cfg.run.scenarios_dir) {
        Ok(list) => list.into_iter().map(|s| trial(s, &cfg)).collect(),
        Err(e) => vec![Trial::test("scenarios", move || {
            Err(Failed::from(e.to_string()))
        })],
    };
    libtest_mimic::run(&args, trials).exit_code()
}

fn trial(
    s: Result<membound::scenario::Scenario, membound::errors::ScenarioError>,
    cfg: &Config,
) -> Trial {
    let cfg = cfg.clone();
    match s {
        Ok(s) => Trial::ignorable_test(s.name.clone(), move || {
            if let Err(reason) = source::check_requirements(&s) {
                if cfg.ci {
                    return Err(format!("{reason}\n(CI=true: tools a scenario requires must be installed, see .ci/run)").into());
                }
                return Ok(Completion::ignored_with(reason));
            }
            let r = pipeline::check(&s, &cfg, &mut |_| {});
            if r.verdict.passed {
                Ok(Completion::Completed)
            } else {
                Err(pipeline::failure_message(&r).into())
            }
        })
        .with_kind("scenario"),
        Err(e) => {
            // A file that does not parse is still a test, failing with the file, line and column.
            let name = match &e {
                membound::errors::ScenarioError::Io { path, .. } | membound::errors::ScenarioError::Invalid { path, .. } => {
                    path.file_stem().map_or("scenario".into(), |s| s.to_string_lossy().into_owned())
                }
            };
            Trial::test(name, move || Err(e.to_string().into())).with_kind("scenario")
        }
    }
}

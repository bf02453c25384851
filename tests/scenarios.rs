//! One test per scenario file: `cargo test` runs every scenario in `scenarios/` against its
//! baseline, `cargo test register_wb` some of them, and `cargo nextest run --partition` spreads
//! them over machines. A libtest-mimic harness (`harness = false`) so that scenarios, which
//! are data, become tests without a line of Rust each.
//!
//! This binary is also the probe child of its simulator scenarios (see `membound::source::probe`).

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use membound::judge::verdict::{Hints, Status};
use membound::pipeline::{self, Config};
use membound::scenario::select::{Filter, Match};
use membound::source::RunConfig;
use membound::store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

/// The kind of every test here; listed names are `[scenario] <name>`.
const KIND: &str = "scenario";
/// How a listed name begins.
const KIND_PREFIX: &str = "[scenario] ";

#[global_allocator]
static ALLOC: membound::source::probe::CountingJemalloc =
    membound::source::probe::CountingJemalloc::new();

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    // The catalogue the probe child builds circuits from is the one scenarios are loaded with.
    let catalog = sim::circuits::catalog();
    membound::source::probe::maybe_run_as_child(&argv, &catalog);
    let mut args = Arguments::from_args();
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
    let ci = pipeline::is_ci(std::env::var("CI").ok().as_deref());
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
        hints: Hints::default(),
    };
    let trials = match membound::scenario::load_dir(&cfg.run.scenarios_dir, &catalog) {
        Ok(list) => {
            // The workspace's one selection rule (an exact name selects only that scenario, a
            // glob whole names), instead of libtest's substring match.
            let names: Vec<String> = list.iter().map(trial_name).collect();
            let how = if args.exact {
                Match::WholeName
            } else {
                Match::Usual
            };
            // nextest runs each test by the name it listed, kind included
            // (`--exact '[scenario] register_wb'`): without the kind it is the scenario's name.
            // Left in, it selected nothing, and every partition passed without running a
            // scenario.
            let text = args
                .filter
                .take()
                .map(|f| match f.strip_prefix(KIND_PREFIX) {
                    Some(name) => name.to_owned(),
                    None => f,
                });
            let filter = Filter::new(text.as_deref(), how, names.iter().map(String::as_str));
            args.exact = false;
            list.into_iter()
                .zip(&names)
                .filter(|(_, n)| filter.matches(n))
                .map(|(s, _)| trial(s, &cfg))
                .collect()
        }
        Err(e) => vec![Trial::test("scenarios", move || {
            Err(Failed::from(e.to_string()))
        })],
    };
    if !args.list {
        // One run for every process of a nextest run (each test is a process of its own, and
        // nextest gives them one id); a run of its own otherwise. Results already in the work
        // directory are then an earlier run's, and no report shows them as this one's.
        let id = std::env::var("NEXTEST_RUN_ID").unwrap_or_else(|_| membound::store::new_run_id());
        if let Err(e) = cfg.store.begin_run(&id) {
            eprintln!(
                "error: cannot start the run in {}: {e}",
                cfg.store.results_dir.display()
            );
            return ExitCode::from(2);
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}

/// A scenario's test name: its name, or for a file that does not parse, its file stem.
fn trial_name(s: &Result<membound::scenario::Scenario, membound::errors::ScenarioError>) -> String {
    match s {
        Ok(s) => s.name.clone(),
        Err(
            membound::errors::ScenarioError::Io { path, .. }
            | membound::errors::ScenarioError::Invalid { path, .. }
            | membound::errors::ScenarioError::NoScenarios { path },
        ) => path
            .file_stem()
            .map_or("scenario".into(), |s| s.to_string_lossy().into_owned()),
    }
}

fn trial(
    s: Result<membound::scenario::Scenario, membound::errors::ScenarioError>,
    cfg: &Config,
) -> Trial {
    let cfg = cfg.clone();
    let name = trial_name(&s);
    match s {
        Ok(s) => Trial::ignorable_test(name, move || {
            let r = pipeline::check(&s, &cfg, &mut |_| {});
            match r.verdict.status {
                Status::Passed | Status::LeakCaught => Ok(Completion::Completed),
                Status::Skipped => Ok(Completion::ignored_with(
                    r.verdict.messages(&s.name, &cfg.hints).join("; "),
                )),
                Status::Failed => Err(pipeline::failure_message(&r, &cfg.hints).into()),
            }
        })
        .with_kind(KIND),
        // A file that does not parse is still a test, failing with the file, line and column.
        Err(e) => Trial::test(name, move || Err(e.to_string().into())).with_kind(KIND),
    }
}

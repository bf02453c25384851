//! One test per `scenarios/*.toml`, run against `baselines/` with this project's own
//! catalogue: `cargo test` checks them; `BLESS=1 cargo test --test scenarios -- NAME` blesses
//! (only what moved, as `cargo xtask bless` does in membound's own workspace).
//!
//! This binary is also the probe child of its scenarios: it must install the counting
//! allocator and hand the probe the same catalogue the scenarios are loaded with.

use libtest_mimic::{Arguments, Trial};
use membound::judge::verdict::{Hints, Status};
use membound::pipeline::{self, BlessMode, Blessed, Config};
use membound::scenario::select::{Filter, Match};
use membound::source::RunConfig;
use membound::store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

#[global_allocator]
static ALLOC: membound::source::probe::CountingJemalloc =
    membound::source::probe::CountingJemalloc::new();

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let catalog = own_simulator::catalog();
    membound::source::probe::maybe_run_as_child(&argv, &catalog);
    let mut args = Arguments::from_args();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let ci = pipeline::is_ci(std::env::var("CI").ok().as_deref());
    let bless = std::env::var("BLESS").is_ok_and(|v| v == "1");
    let Ok(probe_program) = std::env::current_exe() else {
        eprintln!("error: cannot locate the test binary to run probe children");
        return ExitCode::from(2);
    };
    let work_dir = std::env::temp_dir().join(format!("own-simulator-{}", std::process::id()));
    let cfg = Config {
        run: RunConfig {
            probe_program,
            scenarios_dir: root.join("scenarios"),
            work_dir: work_dir.clone(),
            // A test harness has nobody at a terminal to continue a paused program.
            on_violation: None,
            allow_pause: false,
        },
        store: Store {
            dir: root.join("baselines"),
            results_dir: work_dir.join("results"),
        },
        ci,
        hints: Hints {
            bless: "BLESS=1 cargo test --test scenarios --".into(),
        },
    };
    let scenarios = match membound::scenario::load_dir(&cfg.run.scenarios_dir, &catalog) {
        Ok(list) => list,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut trials = Vec::new();
    let mut valid = Vec::new();
    for s in scenarios {
        match s {
            Ok(s) => valid.push(s),
            // A file that does not parse is a failing test that says where.
            Err(e) => trials.push(Trial::test("invalid scenario", move || {
                Err(e.to_string().into())
            })),
        }
    }
    let how = if args.exact {
        Match::WholeName
    } else {
        Match::Usual
    };
    let filter = Filter::new(
        args.filter.take().as_deref(),
        how,
        valid.iter().map(|s| s.name.as_str()),
    );
    args.exact = false;
    for s in valid.into_iter().filter(|s| filter.matches(&s.name)) {
        let cfg = cfg.clone();
        trials.push(Trial::test(s.name.clone(), move || {
            if bless {
                return match pipeline::bless(&s, &cfg, BlessMode::Changed, &mut |_| {}) {
                    Ok(Blessed::Unchanged | Blessed::AcceptedPending(_) | Blessed::Written(_)) => {
                        Ok(())
                    }
                    Err(e) => Err(e.to_string().into()),
                };
            }
            let r = pipeline::check(&s, &cfg, &mut |_| {});
            match r.verdict.status {
                Status::Passed | Status::LeakCaught => Ok(()),
                Status::Skipped => Ok(()),
                Status::Failed => Err(pipeline::failure_message(&r, &cfg.hints).into()),
            }
        }));
    }
    let code = libtest_mimic::run(&args, trials).exit_code();
    let _ = std::fs::remove_dir_all(&work_dir);
    code
}

//! The `membound` command line: run scenarios, bless baselines, read a profile, write reports
//! and the history of baselines in git.
//!
//! A thin front end over the library: it reads the environment and the file system, calls the
//! pipeline, and prints. The same binary serves as the probe child of simulator scenarios.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use membound::judge::verdict::{self, BlessFate, Diagnosis, Exit, Hints, Status};
use membound::pipeline::{self, BlessMode, Blessed, Config, ScenarioResult};
use membound::report::{
    BlessedChange, HistoryEntry, HistoryInput, ScenarioHistory, Shallow, Unreadable,
};
use membound::scenario::select::{Filter, Match};
use membound::scenario::{self, Scenario};
use membound::source::{Event, RunConfig};
use membound::store::git::{Commit, LoggedCommit, Repo};
use membound::store::{results, Baseline, Store};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

#[global_allocator]
static ALLOC: membound::source::probe::CountingJemalloc =
    membound::source::probe::CountingJemalloc::new();

#[derive(Parser)]
#[command(
    name = "membound",
    version,
    about = "Guards the memory bounds of circuit simulations"
)]
struct Cli {
    /// Directory of scenario files.
    #[arg(long, global = true, default_value = "scenarios")]
    scenarios: PathBuf,
    /// Directory of blessed baselines [default: `baselines` beside the scenarios directory,
    /// so that other scenarios are never judged against these baselines].
    #[arg(long, global = true)]
    baselines: Option<PathBuf>,
    /// Scratch directory for builds, profiles and results.
    #[arg(long, global = true, default_value = "target/membound")]
    work_dir: PathBuf,
    /// The command users type to reach this CLI, named in hints (`cargo xtask` forwards here
    /// and passes its own name).
    #[arg(long, global = true, default_value = "membound", hide = true)]
    hint_command: String,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run scenarios, compare with baselines, print the comparison and write the memory report
    /// (`<work-dir>/report.md` and `report.html`); exit 1 on a failure.
    Run {
        /// A scenario's name (only it), a glob (`register_wb_*`), or text names contain.
        filter: Option<String>,
        /// Match the filter against whole names.
        #[arg(long)]
        exact: bool,
        /// Scenarios run at once (default: the number of CPUs).
        #[arg(long, short)]
        jobs: Option<usize>,
        /// At an external program's first violation: end it (`stop`), or stop it with SIGSTOP
        /// and wait for you to inspect, continue or end it (`pause`; refused under CI=true).
        /// Default: each scenario's `on_violation`.
        #[arg(long, value_enum)]
        on_violation: Option<OnViolationArg>,
        /// Also write the verdicts as JUnit XML to this file (each scenario's duration and
        /// failure message), for CI systems that read test reports (GitLab, Jenkins).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
    /// Accept pending results (or run the scenarios) as the new baselines.
    Bless {
        /// A scenario's name (only it), a glob (`register_wb_*`), or text names contain.
        filter: Option<String>,
        /// Match the filter against whole names.
        #[arg(long)]
        exact: bool,
        /// Re-run and rewrite even baselines that match within tolerance; also replaces a
        /// baseline or pending file that cannot be read.
        #[arg(long)]
        force: bool,
    },
    /// Validate scenario files without running them.
    Check {
        /// Scenario files (default: every scenario).
        files: Vec<PathBuf>,
    },
    /// Run GHC scenarios and attribute their violations: rebuild with profiling, rerun to the
    /// violating census, print what retains the growth and where it was built (every row).
    Diagnose {
        /// A scenario's name (only it), a glob, or text names contain.
        filter: String,
        /// Match the filter against whole names.
        #[arg(long)]
        exact: bool,
    },
    /// Summarise a profile a program already wrote: a GHC eventlog, `.hp` or `+RTS -t` stats,
    /// or valgrind massif's `massif.out` (told by content, not by name).
    Profile {
        /// The profile file.
        file: PathBuf,
        /// Print the whole timeline as JSON.
        #[arg(long)]
        json: bool,
        /// Also check this scenario's invariants against the profile: exits 1 if one was
        /// violated, could not be evaluated, or was never checked (its marker never came, its
        /// window is past the profile's end).
        #[arg(long)]
        scenario: Option<PathBuf>,
    },
    /// Write the memory diff of the last run's results against a git ref's baselines.
    Report {
        /// Only these scenarios: a name, a glob, or text names contain.
        filter: Option<String>,
        /// Compare with the baselines at this git ref (default: the working tree's).
        #[arg(long)]
        base: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
        /// Output file (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// A directory of results to report (repeatable: the partitions of a suite spread over
        /// machines merge into one report). Default: `<work-dir>/results`.
        #[arg(long = "results", value_name = "DIR")]
        results: Vec<PathBuf>,
    },
    /// Propose a scenario's memory invariants from runs at several lengths: which labels stay
    /// bounded, exactly k, gone after init, or grow (a suspected leak: exit 1). Prints the
    /// evidence and the proposal as a diff; writes it to `<work-dir>/explore/NAME.toml`.
    #[command(
        after_help = "Examples:\n  membound explore register_wb --lengths 20000,80000\n  membound explore --new my_sim --profile massif -- ./my_sim leaky {n}\n\nA command's length argument is written {n}; without it the program is explored along its\nown course (its first half against the whole). With --new and no growing label, the\nproposal is also written to <scenarios>/NAME.toml (never over an existing file)."
    )]
    Explore {
        /// An existing scenario's exact name, or with `--new` the new scenario's name.
        name: String,
        /// Explore a program that has no scenario yet: its command follows `--`.
        #[arg(long)]
        new: bool,
        /// With `--new`: the profile the program is watched through.
        #[arg(long, value_enum, default_value_t = ProfileArg::GhcEventlog, requires = "new")]
        profile: ProfileArg,
        /// The lengths to run at, comma-separated (default: the scenario's own and 4× it; with
        /// `--new`, 1000 and 4000 when the command has `{n}`).
        #[arg(long, value_delimiter = ',')]
        lengths: Vec<u64>,
        /// Also write the evidence as an HTML page: each label's figure at every length.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// With `--new`: the program and its arguments, `{n}` where it takes its length.
        #[arg(last = true)]
        command: Vec<String>,
    },
    /// The history of baselines in git: each metric's value at every commit that changed it.
    History {
        /// A scenario's name (only it), a glob (`register_wb_*`), or text names contain.
        filter: Option<String>,
        /// Match the filter against whole names.
        #[arg(long)]
        exact: bool,
        /// Only this metric (`live_bytes.peak`, `types.<label>.peak_count`); default: every
        /// metric that changed.
        #[arg(long)]
        metric: Option<String>,
        /// Only commits after this git ref (the value at the ref is the starting point).
        #[arg(long, value_name = "REF")]
        since: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
        /// Output file (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum OnViolationArg {
    Stop,
    Pause,
}

impl OnViolationArg {
    fn into_mode(self) -> membound::scenario::OnViolation {
        match self {
            OnViolationArg::Stop => membound::scenario::OnViolation::Stop,
            OnViolationArg::Pause => membound::scenario::OnViolation::Pause,
        }
    }
}

/// The profiles `explore --new` can watch a program through.
#[derive(Clone, Copy, ValueEnum)]
enum ProfileArg {
    /// A GHC program's eventlog (`+RTS -hT -l`; link it with `-rtsopts -eventlog`).
    GhcEventlog,
    /// A GHC program's `.hp` file.
    GhcHp,
    /// Any program's resident set, from /proc.
    Rss,
    /// Any program under valgrind massif.
    Massif,
}

impl ProfileArg {
    fn kind(self) -> membound::scenario::ProfileKind {
        use membound::scenario::ProfileKind;
        match self {
            ProfileArg::GhcEventlog => ProfileKind::GhcEventlog,
            ProfileArg::GhcHp => ProfileKind::GhcHp,
            ProfileArg::Rss => ProfileKind::Rss,
            ProfileArg::Massif => ProfileKind::Massif,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Markdown,
    Html,
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    membound::source::probe::maybe_run_as_child(&argv, &sim::circuits::catalog());
    let cli = Cli::parse();
    let exit = real_main(cli).unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        Exit::Error
    });
    ExitCode::from(exit.code())
}

fn real_main(cli: Cli) -> Result<Exit> {
    let cfg = config(&cli)?;
    dispatch(&cfg, cli.command)
}

/// The pipeline's configuration from the command line and the environment (`CI`).
fn config(cli: &Cli) -> Result<Config> {
    let ci = pipeline::is_ci(std::env::var("CI").ok().as_deref());
    let baselines = cli
        .baselines
        .clone()
        .unwrap_or_else(|| default_baselines(&cli.scenarios));
    let cfg = Config {
        run: RunConfig {
            probe_program: std::env::current_exe()
                .context("locating this executable to run probe children")?,
            scenarios_dir: cli.scenarios.clone(),
            work_dir: cli.work_dir.clone(),
            on_violation: match &cli.command {
                Cmd::Run { on_violation, .. } => on_violation.map(OnViolationArg::into_mode),
                _ => None,
            },
            // Under CI nobody can continue a paused program.
            allow_pause: !ci,
        },
        store: Store {
            dir: baselines,
            results_dir: cli.work_dir.join("results"),
        },
        ci,
        hints: Hints::for_command(
            &cli.hint_command,
            &hint_options(cli)
                .iter()
                .map(|(o, v)| (*o, v.as_str()))
                .collect::<Vec<_>>(),
        ),
    };
    Ok(cfg)
}

/// Runs the command.
fn dispatch(cfg: &Config, command: Cmd) -> Result<Exit> {
    match command {
        Cmd::Run {
            filter,
            exact,
            jobs,
            on_violation: _,
            junit,
        } => cmd_run(cfg, filter.as_deref(), how(exact), jobs, junit.as_deref()),
        Cmd::Bless {
            filter,
            exact,
            force,
        } => cmd_bless(cfg, filter.as_deref(), how(exact), bless_mode(force)),
        Cmd::Check { files } => cmd_check(cfg, &files),
        Cmd::Diagnose { filter, exact } => cmd_diagnose(cfg, &filter, how(exact)),
        Cmd::Profile {
            file,
            json,
            scenario,
        } => cmd_profile(&file, json, scenario.as_deref()),
        Cmd::Report {
            filter,
            base,
            format,
            output,
            results,
        } => cmd_report(
            cfg,
            &ReportArgs {
                filter: filter.as_deref(),
                base: base.as_deref(),
                format,
                output: output.as_deref(),
                results: &results,
            },
        ),
        Cmd::Explore {
            name,
            new,
            profile,
            lengths,
            html,
            command,
        } => cmd_explore(
            cfg,
            &ExploreArgs {
                name: &name,
                new: new.then(|| (profile.kind(), command.as_slice())),
                lengths,
                html: html.as_deref(),
            },
        ),
        Cmd::History {
            filter,
            exact,
            metric,
            since,
            format,
            output,
        } => cmd_history(
            cfg,
            &HistoryArgs {
                filter: filter.as_deref(),
                how: how(exact),
                metric: metric.as_deref(),
                since: since.as_deref(),
                format,
                output: output.as_deref(),
            },
        ),
    }
}

/// What `bless` writes: `--force` rewrites every baseline, without it only the changed ones.
fn bless_mode(force: bool) -> BlessMode {
    if force {
        BlessMode::Force
    } else {
        BlessMode::Changed
    }
}

/// How a filter matches names: `--exact` against whole names only.
fn how(exact: bool) -> Match {
    if exact {
        Match::WholeName
    } else {
        Match::Usual
    }
}

/// The options a command pasted from a hint needs to find this invocation's files: the
/// scenarios and baselines directories, when not the defaults.
fn hint_options(cli: &Cli) -> Vec<(&'static str, String)> {
    let mut options = Vec::new();
    // A directory that is not UTF-8 is named as closely as text can.
    if cli.scenarios != Path::new("scenarios") {
        options.push(("--scenarios", cli.scenarios.to_string_lossy().into_owned()));
    }
    // Baselines given where the scenarios directory would not put them by default.
    if let Some(b) = &cli.baselines {
        if *b != default_baselines(&cli.scenarios) {
            options.push(("--baselines", b.to_string_lossy().into_owned()));
        }
    }
    options
}

/// The baselines directory that goes with a scenarios directory: `baselines/` beside it.
fn default_baselines(scenarios: &Path) -> PathBuf {
    scenarios
        .parent()
        .unwrap_or(Path::new(""))
        .join("baselines")
}

/// Loads the scenarios a filter selects; invalid files are errors that name file and line.
fn load(cfg: &Config, filter: Option<&str>, how: Match) -> Result<Vec<Scenario>> {
    let all = scenario::load_dir(&cfg.run.scenarios_dir, &sim::circuits::catalog())?;
    let mut valid = Vec::new();
    let mut errors = Vec::new();
    for s in all {
        match s {
            Ok(s) => valid.push(s),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        bail!("invalid scenario files:\n{}", errors.join("\n"));
    }
    let filter = Filter::new(filter, how, valid.iter().map(|s| s.name.as_str()));
    let names: Vec<String> = valid.iter().map(|s| s.name.clone()).collect();
    let out: Vec<Scenario> = valid
        .into_iter()
        .filter(|s| filter.matches(&s.name))
        .collect();
    if out.is_empty() {
        bail!(
            "no scenario in {} matches `{}` ({})",
            cfg.run.scenarios_dir.display(),
            filter.text(),
            nearest_names(filter.text(), &names, "scenario")
        );
    }
    Ok(out)
}

/// How many names a filter that matches nothing lists, nearest first.
const NEAREST_NAMES: usize = 5;

/// The names nearest a filter that matched none of them, and how many there are: a
/// directory of thousands is not listed whole.
fn nearest_names(filter: &str, names: &[String], what: &str) -> String {
    let mut near = membound::spec::text::nearest_first(filter, names.iter().map(String::as_str));
    let more = near.len().saturating_sub(NEAREST_NAMES);
    near.truncate(NEAREST_NAMES);
    let listed = near.join(", ");
    match (names.len(), more) {
        (1, _) => format!("the one {what}: {listed}"),
        (n, 0) => format!("{n} {what}s: {listed}"),
        (n, _) => format!(
            "{} {what}s; nearest: {listed}",
            membound::units::fmt_int(n as i128)
        ),
    }
}

/// Prints what the runner reports that a person at the terminal needs to know now: another
/// invocation holds the scenario, or a program paused at its violation (`--on-violation
/// pause`) waits to be inspected. Other events are for progress bars.
fn show_event(scenario: &str, e: &Event) {
    match e {
        Event::WaitingForLock(path) => eprintln!(
            "scenario {scenario}: waiting, another membound is running it (lock {})",
            path.display()
        ),
        Event::Paused {
            violation,
            pid,
            pgid,
        } => eprintln!(
            "scenario {scenario}: paused at its first violation (pid {pid}, process group {pgid}):\n{violation}\n{}",
            Event::pause_help(*pid, *pgid)
        ),
        _ => {}
    }
}

fn cmd_run(
    cfg: &Config,
    filter: Option<&str>,
    how: Match,
    jobs: Option<usize>,
    junit: Option<&Path>,
) -> Result<Exit> {
    // Begun before the scenarios are loaded: a run that refuses them leaves no result a report
    // could take for this run's.
    cfg.store
        .begin_run(&membound::store::new_run_id())
        .context("starting the run")?;
    let scenarios = load(cfg, filter, how)?;
    let jobs = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    println!("running {} scenario(s)", scenarios.len());
    let mut timed = check_all(cfg, &scenarios, jobs);
    timed.sort_by(|(a, _), (b, _)| a.scenario.cmp(&b.scenario));
    if let Some(path) = junit {
        write_output(Some(path), &membound::report::junit(&timed, &cfg.hints))
            .context("writing the JUnit report")?;
    }
    let results: Vec<ScenarioResult> = timed.into_iter().map(|(r, _)| r).collect();
    for r in results.iter().filter(|r| r.verdict.failed()) {
        println!("\n{}", pipeline::failure_message(r, &cfg.hints));
    }
    let exit = verdict::exit_code(results.iter().map(|r| &r.verdict));
    let totals = totals_line(&results);
    // A report that cannot be written is an error, not a footnote: CI would publish nothing.
    let (md, html) = write_reports(cfg, results)?;
    println!(
        "memory report: {} (HTML, with charts: {})",
        md.display(),
        html.display()
    );
    println!("\n{totals}");
    Ok(exit)
}

/// Checks the scenarios on `jobs` threads, printing a line for each as it ends (above a
/// progress bar at a terminal); each result with how long it took, in the order they ended.
fn check_all(
    cfg: &Config,
    scenarios: &[Scenario],
    jobs: usize,
) -> Vec<(ScenarioResult, std::time::Duration)> {
    let fancy = !cfg.ci && std::io::stderr().is_terminal();
    let bar = fancy.then(|| {
        let b = indicatif::ProgressBar::new(scenarios.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed}] {bar:30} {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let queue = Mutex::new(scenarios.iter().collect::<Vec<_>>());
    let results: Mutex<Vec<(ScenarioResult, std::time::Duration)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(scenarios.len()) {
            scope.spawn(|| loop {
                let Some(s) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop() else {
                    break;
                };
                if let Some(b) = &bar {
                    b.set_message(s.name.clone());
                }
                let started = std::time::Instant::now();
                let r = pipeline::check(s, cfg, &mut |e: Event| show_event(&s.name, &e));
                let took = started.elapsed();
                let line = status_line(cfg, s, &r);
                match &bar {
                    Some(b) => {
                        b.println(line);
                        b.inc(1);
                    }
                    None => println!("{line}"),
                }
                results
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((r, took));
            });
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    results.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// A scenario's line as `run` prints it when it ends, in libtest's shape: `scenario NAME ...
/// ok` with its key figures, `leak caught`, `FAILED`, or `ignored` with why.
fn status_line(cfg: &Config, s: &Scenario, r: &ScenarioResult) -> String {
    match r.verdict.status {
        st @ (Status::Passed | Status::LeakCaught) => {
            let word = if st == Status::LeakCaught {
                "leak caught"
            } else {
                "ok"
            };
            let figures = membound::report::key_figures(r);
            if figures.is_empty() {
                format!("scenario {} ... {word}", s.name)
            } else {
                format!("scenario {} ... {word}  {figures}", s.name)
            }
        }
        Status::Failed => format!("scenario {} ... FAILED", s.name),
        Status::Skipped => format!(
            "scenario {} ... ignored, {}",
            s.name,
            r.verdict.messages(&s.name, &cfg.hints).join("; ")
        ),
    }
}

/// The last line of `run`: `test result: ok. 3 passed; 1 leak caught; 0 failed; 0 ignored`.
fn totals_line(results: &[ScenarioResult]) -> String {
    let count = |st: Status| results.iter().filter(|r| r.verdict.status == st).count();
    let (passed, caught, failed, ignored) = (
        count(Status::Passed),
        count(Status::LeakCaught),
        count(Status::Failed),
        count(Status::Skipped),
    );
    // Said only when there are some, so the line keeps libtest's shape otherwise.
    let caught = match caught {
        0 => String::new(),
        1 => "1 leak caught; ".to_owned(),
        n => format!("{n} leaks caught; "),
    };
    format!(
        "test result: {}. {passed} passed; {caught}{failed} failed; {ignored} ignored",
        if failed == 0 { "ok" } else { "FAILED" }
    )
}

/// Writes the markdown and HTML reports of these results next to them; returns their paths.
fn write_reports(cfg: &Config, results: Vec<ScenarioResult>) -> Result<(PathBuf, PathBuf)> {
    let input = membound::report::ReportInput {
        results,
        base_ref: None,
        base: BTreeMap::new(),
        blessed: Vec::new(),
        hints: cfg.hints.clone(),
        without_result: Vec::new(),
    };
    let md = cfg.run.work_dir.join("report.md");
    let html = cfg.run.work_dir.join("report.html");
    let replaceable = membound::store::Durability::Replaceable;
    membound::store::write_file(
        &md,
        membound::report::markdown(&input).as_bytes(),
        replaceable,
    )
    .context("writing the markdown report")?;
    membound::store::write_file(
        &html,
        membound::report::html(&input).as_bytes(),
        replaceable,
    )
    .context("writing the HTML report")?;
    Ok((md, html))
}

fn cmd_bless(cfg: &Config, filter: Option<&str>, how: Match, mode: BlessMode) -> Result<Exit> {
    let scenarios = load(cfg, filter, how)?;
    let mut fates = Vec::new();
    for s in &scenarios {
        let fate = match pipeline::bless(s, cfg, mode, &mut |e| show_event(&s.name, &e)) {
            Ok(Blessed::Unchanged) => {
                println!("{}: unchanged (within tolerance of its baseline)", s.name);
                BlessFate::Blessed
            }
            Ok(Blessed::AcceptedPending(cmp)) => {
                println!(
                    "{}: accepted pending result {}",
                    s.name,
                    cfg.store.path(&s.name).display()
                );
                if let Some(c) = cmp {
                    print!("{}", membound::judge::compare::table(&c, false));
                }
                BlessFate::Blessed
            }
            Ok(Blessed::Written(r)) => {
                println!("{}: blessed {}", s.name, cfg.store.path(&s.name).display());
                match &r.comparison {
                    Some(c) => print!("{}", membound::judge::compare::table(c, false)),
                    None => println!("  (new baseline)"),
                }
                BlessFate::Blessed
            }
            Err(e @ pipeline::BlessError::MissingTool(_)) => {
                println!("{}: {e}", s.name);
                BlessFate::NotRun
            }
            Err(e) => {
                println!("{}: {e}", s.name);
                BlessFate::Refused
            }
        };
        fates.push(fate);
    }
    Ok(verdict::bless_exit(fates))
}

/// `membound diagnose`: the scenario's run with attribution on, its violations' tables in
/// full. No baseline is read or written: this explains, it does not judge.
fn cmd_diagnose(cfg: &Config, filter: &str, how: Match) -> Result<Exit> {
    let diagnoses: Vec<Diagnosis> = load(cfg, Some(filter), how)?
        .into_iter()
        .map(|s| diagnose_one(cfg, s))
        .collect();
    Ok(verdict::diagnose_exit(diagnoses))
}

/// Runs one scenario through the source's own run, attribution on, and prints what it found.
fn diagnose_one(cfg: &Config, mut s: Scenario) -> Diagnosis {
    let membound::scenario::Run::Command(c) = &mut s.run else {
        println!(
            "scenario {}: a simulator scenario; its failures already name types, sites and holders",
            s.name
        );
        return Diagnosis::NotNeeded;
    };
    c.diagnose = true;
    if let Err(missing) = membound::source::check_requirements(&s, &cfg.run) {
        println!("scenario {}: not run, {missing}", s.name);
        return Diagnosis::MissingTool;
    }
    let out = match membound::source::run(
        &s,
        &cfg.run,
        &mut |e: Event| match &e {
            Event::Building(what) | Event::Diagnosing(what) => {
                eprintln!("scenario {}: {what}", s.name)
            }
            other => show_event(&s.name, other),
        },
        &mut (),
    ) {
        Ok(out) => out,
        Err(e) => {
            println!("scenario {}: the run failed: {e}", s.name);
            return Diagnosis::RunFailed;
        }
    };
    let mut any = false;
    for (_, o) in &out.outcomes {
        let membound::measure::invariant::Outcome::Violated(v) = o else {
            continue;
        };
        any = true;
        let mut v = v.clone();
        let attribution = v.attribution.take();
        println!("scenario {}:\n{}", s.name, v.explain(s.x_unit()));
        match attribution {
            Some(a) => println!("{}", a.explain(membound::attribution::Detail::Full)),
            None => println!("  not attributed (only a run's first violation is)"),
        }
    }
    if !any {
        println!(
            "scenario {}: no invariant was violated, nothing to attribute",
            s.name
        );
    }
    Diagnosis::Ran
}

/// What `explore` was asked.
struct ExploreArgs<'a> {
    name: &'a str,
    /// `--new`: the profile and the command.
    new: Option<(membound::scenario::ProfileKind, &'a [String])>,
    lengths: Vec<u64>,
    /// `--html FILE`.
    html: Option<&'a Path>,
}

/// The scenario `explore` runs and its text: an existing scenario's file, or with `--new` one
/// made from the command (whose `{n}` makes the lengths default to 1,000 and 4,000).
fn explore_subject(
    path: &Path,
    args: &ExploreArgs,
    catalog: &sim::circuits::Catalog,
    lengths: &mut Vec<u64>,
) -> Result<(Scenario, String)> {
    use membound::explore;
    Ok(match args.new {
        Some((profile, argv)) => {
            if argv.is_empty() {
                bail!("`explore --new {}` needs the program's command after `--` (e.g. `membound explore --new {} -- ./sim leaky {{n}}`)", args.name, args.name);
            }
            if path.exists() {
                bail!(
                    "{} exists: explore it with `membound explore {}`, or choose another name",
                    path.display(),
                    args.name
                );
            }
            let has_n = argv
                .iter()
                .any(|a| a.contains(scenario::Length::PLACEHOLDER));
            if has_n && lengths.is_empty() {
                *lengths = vec![1000, 4000];
            }
            let first = has_n.then(|| lengths.iter().copied().min().unwrap_or(1000));
            let text = explore::propose::new_scenario(profile, argv, first);
            let s = scenario::parse(path, &text, catalog).with_context(|| {
                format!("the command cannot make a scenario named `{}`", args.name)
            })?;
            (s, text)
        }
        None => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("reading {} (hint: `membound explore NAME` takes an existing scenario's exact name; `--new NAME -- COMMAND` explores a program without one)", path.display())
            })?;
            (scenario::parse(path, &text, catalog)?, text)
        }
    })
}

fn cmd_explore(cfg: &Config, args: &ExploreArgs) -> Result<Exit> {
    use membound::explore;
    let catalog = sim::circuits::catalog();
    let path = cfg.run.scenarios_dir.join(format!("{}.toml", args.name));
    let mut lengths = args.lengths.clone();
    let (scenario, base) = explore_subject(&path, args, &catalog, &mut lengths)?;
    let progress = std::io::stderr().is_terminal();
    let found = explore::explore(
        &scenario,
        &base,
        &catalog,
        &cfg.run,
        &explore::Options { lengths },
        &mut |e| {
            show_event(&scenario.name, &e);
            if progress {
                if let Event::Building(what) = &e {
                    eprintln!("building {what}");
                }
            }
        },
    )?;
    print!("{}", explore::render(&found));
    let out = cfg
        .run
        .work_dir
        .join("explore")
        .join(format!("{}.toml", scenario.name));
    membound::store::write_file(
        &out,
        found.proposal.text.as_bytes(),
        membound::store::Durability::Replaceable,
    )?;
    println!("\n{}", found.proposal.diff(&path.display().to_string()));
    println!("the proposal is in {}", out.display());
    if let Some(page) = args.html {
        membound::store::write_file(
            page,
            membound::report::explore_html(&found).as_bytes(),
            membound::store::Durability::Replaceable,
        )?;
        println!("the evidence, charted: {}", page.display());
    }
    if found.leak_suspected() {
        println!("a label grows with the run's length: fix the leak (`membound diagnose` attributes a GHC program's), then explore again");
        return Ok(verdict::explore_exit(true));
    }
    if args.new.is_some() {
        match membound::store::write_new(&path, found.proposal.text.as_bytes()) {
            Ok(()) => {
                println!(
                    "written to {}: read each invariant's evidence, commit it, then `{} {}`",
                    path.display(),
                    cfg.hints.bless,
                    args.name
                );
            }
            Err(e) => println!("not written to {}: {e}", path.display()),
        }
    }
    Ok(verdict::explore_exit(false))
}

fn cmd_check(cfg: &Config, files: &[PathBuf]) -> Result<Exit> {
    let results: Vec<Result<Scenario, membound::errors::ScenarioError>> = if files.is_empty() {
        scenario::load_dir(&cfg.run.scenarios_dir, &sim::circuits::catalog())?
    } else {
        files
            .iter()
            .map(|f| scenario::load(f, &sim::circuits::catalog()))
            .collect()
    };
    for r in &results {
        match r {
            Ok(s) => println!(
                "{}: ok ({} invariants, fingerprint {})",
                s.path.display(),
                s.invariants.len(),
                s.fingerprint
            ),
            Err(e) => println!("{e}"),
        }
    }
    Ok(verdict::check_exit(&results))
}

fn cmd_profile(file: &Path, json: bool, scenario_file: Option<&Path>) -> Result<Exit> {
    // A pipe (`profile <(cat x.eventlog)`) is read once into a temporary file: the readers
    // below tell the kind from the file's first bytes and stream an eventlog twice.
    let spooled = membound::source::ghc::spool(file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let file = spooled.as_ref().map_or(file, |t| t.path());
    let scenario = scenario_file
        .map(|f| scenario::load(f, &sim::circuits::catalog()))
        .transpose()?;
    if let Some(s) = scenario
        .as_ref()
        .filter(|s| matches!(s.run, scenario::Run::Simulator(_)))
    {
        bail!(
            "{} runs the simulator, not an external program: its invariants are over cycles, and a profile has censuses (hint: check it with `run {}`, or pass a scenario whose [run] has a `command`)",
            s.path.display(),
            s.name
        );
    }
    let closure_sizes = match scenario.as_ref().map(|s| &s.run) {
        Some(scenario::Run::Command(c)) => c.closure_sizes.clone(),
        _ => BTreeMap::new(),
    };
    let opts = membound::source::ghc::ReadOptions { closure_sizes };
    if is_eventlog(file) {
        return profile_eventlog(file, &opts, json, scenario.as_ref());
    }
    // The reader's errors already name the file and the byte offset or line.
    let tl = if is_massif(file) {
        membound::source::massif::read_massif_file(file)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
    } else {
        membound::source::ghc::read_profile(file, &opts).map_err(|e| match e {
            membound::source::ghc::ProfileError::UnknownFormat { .. } => anyhow::anyhow!(
                "{e}; nor a valgrind massif file (`--tool=massif`), which starts with `desc:`"
            ),
            e => anyhow::anyhow!("{e}"),
        })?
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&tl)?);
        return Ok(Exit::Success);
    }
    print!("{}", membound::report::summary::summarise(&tl));
    let Some(s) = &scenario else {
        return Ok(Exit::Success);
    };
    // Type invariants on a profile that is not of closure types would hold whatever it holds.
    membound::source::closure_type_profile(s, &tl)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let (outcomes, _) = membound::measure::invariant::check_timeline(s, &tl);
    Ok(print_outcomes(s, &outcomes, tl.x_unit))
}

/// `profile` of an eventlog, in two streaming passes: memory does not grow with the censuses'
/// contents, whether summarised, checked against a scenario or written as JSON
/// (`write_eventlog_json`). Markers are placed by time in every mode.
///
/// The summary's first pass only counts censuses (skipping their rows), since growth and the
/// steady state are over the second half; its second reads them by label id
/// (`summarise_eventlog`). With a scenario, the checker takes `Sample`s.
fn profile_eventlog(
    file: &Path,
    opts: &membound::source::ghc::ReadOptions,
    json: bool,
    scenario: Option<&scenario::Scenario>,
) -> Result<Exit> {
    use membound::source::ghc::eventlog::{EventlogError, EventlogStream};
    // The reader has its own large buffer: a `BufReader` would only add a copy.
    let open = || -> Result<std::fs::File> {
        std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))
    };
    let err = |e: EventlogError| anyhow::anyhow!("{}: {e}", file.display());
    if json {
        use membound::report::timeline_json::{write_eventlog_json, TimelineJsonError};
        let stdout = std::io::stdout();
        return match write_eventlog_json(open()?, open()?, opts, stdout.lock()) {
            Ok(()) => Ok(Exit::Success),
            Err(TimelineJsonError::Eventlog(e)) => Err(err(e)),
            Err(e) => Err(e.into()),
        };
    }
    let Some(scenario) = scenario else {
        let text =
            membound::report::summary::summarise_eventlog(open()?, open()?, opts).map_err(err)?;
        print!("{text}");
        return Ok(Exit::Success);
    };
    let mut stream = EventlogStream::scan(open()?, opts).map_err(err)?;
    membound::source::closure_type_profile(scenario, stream.meta())
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let n = stream.censuses() as usize;
    let mut summary = membound::report::summary::Summary::new(n, membound::XUnit::Census);
    for m in &stream.meta().marks {
        summary.mark(m.clone());
    }
    let end = stream.censuses().saturating_sub(1);
    let marks = stream.meta().marks.clone();
    let mut checker = membound::measure::invariant::Checker::new(scenario, end, &marks);
    let mut stopped = false;
    stream
        .samples(open()?, |s| {
            summary.push(&s);
            // Like a run, the checker stops at the first violation; the summary goes on.
            if !stopped {
                stopped = checker.check(&s).is_some();
            }
            true
        })
        .map_err(err)?;
    let meta = stream.finish();
    print!("{}", summary.render(&meta));
    Ok(print_outcomes(scenario, &checker.outcomes(), meta.x_unit))
}

/// Prints a scenario's invariant outcomes on a profile, and the exit status they make.
fn print_outcomes(
    s: &scenario::Scenario,
    outcomes: &[(String, membound::measure::invariant::Outcome)],
    x_unit: membound::XUnit,
) -> Exit {
    use membound::measure::invariant::Outcome;
    println!("\ninvariants of {}:", s.path.display());
    for (name, o) in outcomes {
        match o {
            Outcome::Held { samples } => println!("  {name}: holds ({samples} samples)"),
            Outcome::NotReached { reason, .. } => println!("  {name}: not checked: {reason}"),
            Outcome::NotEvaluable { reason } => println!("  {name}: not evaluable: {reason}"),
            Outcome::Violated(v) => {
                print!("  {}", v.explain(x_unit).replace('\n', "\n  "));
                println!();
            }
        }
    }
    verdict::outcomes_exit(outcomes.iter().map(|(_, o)| o))
}

/// What `report` was asked for.
struct ReportArgs<'a> {
    filter: Option<&'a str>,
    base: Option<&'a str>,
    format: Format,
    output: Option<&'a Path>,
    /// Results directories; empty means the work directory's.
    results: &'a [PathBuf],
}

fn cmd_report(cfg: &Config, args: &ReportArgs) -> Result<Exit> {
    let default_dirs = [cfg.store.results_dir.clone()];
    let dirs = if args.results.is_empty() {
        &default_dirs[..]
    } else {
        args.results
    };
    let found = results::merge::<ScenarioResult>(dirs, |r| &r.scenario)?;
    let refused = refused_scenarios(cfg)?;
    let repo = Repo::new(&cfg.store);
    let removed = match args.base {
        Some(git_ref) => {
            repo.check_ref(git_ref)?;
            repo.removed_since(git_ref)?
        }
        None => Vec::new(),
    };
    let candidates = found.keys().chain(refused.keys()).chain(&removed);
    let filter = Filter::new(args.filter, Match::Usual, candidates.map(String::as_str));
    let mut read = Vec::new();
    for (name, f) in found {
        let file = cfg.run.scenarios_dir.join(format!("{name}.toml"));
        // Results of scenarios since deleted or renamed are left behind in target/, and a
        // refused file (listed as refused) may not even be readable: neither is read.
        if !file.is_file() || !filter.matches(&name) || refused.contains_key(&name) {
            continue;
        }
        let provenance = f.provenance(&file)?;
        read.push((f.stamped.result, provenance));
    }
    let refused = refused
        .into_iter()
        .filter(|(n, _)| filter.matches(n))
        .collect();
    let (results, without_result) = membound::report::sort_results(read, refused);
    let (base, blessed) = match args.base {
        Some(git_ref) => {
            let removed: Vec<&String> = removed.iter().filter(|n| filter.matches(n)).collect();
            base_baselines(cfg, &repo, git_ref, &results, &removed)?
        }
        None => (BTreeMap::new(), Vec::new()),
    };
    let input = membound::report::ReportInput {
        results,
        base_ref: args.base.map(String::from),
        base,
        blessed,
        hints: cfg.hints.clone(),
        without_result,
    };
    let text = match args.format {
        Format::Markdown => membound::report::markdown(&input),
        Format::Html => membound::report::html(&input),
    };
    write_output(args.output, &text)?;
    Ok(Exit::Success)
}

/// Every scenario file the scenarios directory refuses as it stands now, by name, with its
/// error: such a scenario has no result of this run, whatever an earlier run left.
fn refused_scenarios(cfg: &Config) -> Result<BTreeMap<String, String>> {
    use membound::errors::ScenarioError;
    let mut refused = BTreeMap::new();
    for s in scenario::load_dir(&cfg.run.scenarios_dir, &sim::circuits::catalog())? {
        let Err(e) = s else { continue };
        let name = match &e {
            ScenarioError::Io { path, .. } | ScenarioError::Invalid { path, .. } => {
                path.file_stem().map(|s| s.to_string_lossy().into_owned())
            }
            // An empty directory refuses no scenario of its own.
            ScenarioError::NoScenarios { .. } => None,
        };
        if let Some(name) = name {
            refused.insert(name, e.to_string());
        }
    }
    Ok(refused)
}

/// The baselines at the base ref of the results' scenarios, and the baselines the PR changed:
/// blessed anew (with the commit that did it), or removed (`removed`: a baseline the PR
/// deleted has no result to carry it, and a reviewer must learn the scenario stopped being
/// guarded).
fn base_baselines(
    cfg: &Config,
    repo: &Repo,
    git_ref: &str,
    results: &[ScenarioResult],
    removed: &[&String],
) -> Result<(BTreeMap<String, Baseline>, Vec<BlessedChange>)> {
    let mut base = BTreeMap::new();
    let mut blessed = Vec::new();
    for r in results {
        let old = repo.baseline_at(git_ref, &r.scenario)?;
        let new: Option<Baseline> = cfg.store.read(&r.scenario)?;
        if old != new {
            blessed.push(BlessedChange {
                scenario: r.scenario.clone(),
                old: old.clone(),
                new,
                commit: repo.last_commit(git_ref, &r.scenario)?,
            });
        }
        if let Some(o) = old {
            base.insert(r.scenario.clone(), o);
        }
    }
    for name in removed {
        blessed.push(BlessedChange {
            scenario: name.to_string(),
            old: repo.baseline_at(git_ref, name)?,
            new: None,
            commit: repo.last_commit(git_ref, name)?,
        });
    }
    Ok((base, blessed))
}

/// Writes a report to a file, or prints it.
fn write_output(output: Option<&Path>, text: &str) -> Result<()> {
    match output {
        Some(p) => membound::store::write_atomic(p, text.as_bytes())
            .with_context(|| format!("writing {}", p.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}

/// What `history` was asked for.
struct HistoryArgs<'a> {
    filter: Option<&'a str>,
    how: Match,
    metric: Option<&'a str>,
    since: Option<&'a str>,
    format: Format,
    output: Option<&'a Path>,
}

fn cmd_history(cfg: &Config, args: &HistoryArgs) -> Result<Exit> {
    let repo = Repo::new(&cfg.store);
    if let Some(r) = args.since {
        repo.check_ref(r)?;
    }
    let depth = repo.shallow_depth()?;
    let commits = repo.baseline_log(args.since)?;
    let selected = history_scenarios(cfg, &repo, &commits, args)?;
    let start = match args.since {
        Some(r) => repo.commit_at(r)?.map(|c| (r, c)),
        None => None,
    };
    let scenarios = selected
        .iter()
        .map(|name| scenario_history(cfg, &repo, name, start.as_ref(), &commits))
        .collect::<Result<_>>()?;
    let input = HistoryInput {
        scenarios,
        metric: args.metric.map(String::from),
        since: args.since.map(String::from),
        shallow: depth.map(|depth| Shallow {
            oldest: commits.first().map(|c| c.commit.clone()),
            depth,
        }),
    };
    let text = match args.format {
        Format::Markdown => membound::report::history_markdown(&input),
        Format::Html => membound::report::history_html(&input),
    };
    write_output(args.output, &text)?;
    Ok(Exit::Success)
}

/// The scenarios whose history is asked for: those with a baseline in the log (or, with
/// `--since`, at the ref: a baseline untouched since still has a history, its value at the
/// ref) that the filter selects. A filter that selects none of them is an error.
fn history_scenarios(
    cfg: &Config,
    repo: &Repo,
    commits: &[LoggedCommit],
    args: &HistoryArgs,
) -> Result<Vec<String>> {
    let mut names: Vec<String> = commits
        .iter()
        .flat_map(|c| c.files.iter().filter_map(|t| t.scenario()))
        .collect();
    if let Some(r) = args.since {
        names.extend(repo.baselines_at(r)?);
    }
    names.sort();
    names.dedup();
    let filter = Filter::new(args.filter, args.how, names.iter().map(String::as_str));
    let selected: Vec<String> = names
        .iter()
        .filter(|n| filter.matches(n))
        .cloned()
        .collect();
    if selected.is_empty() && !names.is_empty() {
        bail!(
            "no baseline in the history of {} matches `{}` ({})",
            cfg.store.dir.display(),
            filter.text(),
            nearest_names(filter.text(), &names, "baseline")
        );
    }
    Ok(selected)
}

/// One scenario's baseline at the start (the `--since` ref and its commit) and at every commit
/// that touched it. The past is read as it was written: a commit whose file this version
/// cannot read is named and left out, never the end of the history.
fn scenario_history(
    cfg: &Config,
    repo: &Repo,
    name: &str,
    start: Option<&(&str, Commit)>,
    commits: &[LoggedCommit],
) -> Result<ScenarioHistory> {
    let mut h = ScenarioHistory {
        scenario: name.to_owned(),
        ..ScenarioHistory::default()
    };
    let mut add = |commit: &Commit, read: Option<Result<Baseline, String>>| match read {
        Some(Err(reason)) => h.unreadable.push(Unreadable {
            commit: commit.clone(),
            reason,
        }),
        read => h.entries.push(HistoryEntry {
            commit: commit.clone(),
            baseline: read.and_then(Result::ok),
        }),
    };
    if let Some((r, c)) = start {
        add(c, repo.baseline_in_past(r, &cfg.store.path(name))?);
    }
    for c in commits {
        for t in c
            .files
            .iter()
            .filter(|t| t.scenario().as_deref() == Some(name))
        {
            let read = if t.deleted {
                None
            } else {
                // The path as git log printed it is from the root: `<commit>:<path>` is too.
                repo.baseline_in_past(&c.full, Path::new(&t.path))?
            };
            add(&c.commit, read);
        }
    }
    Ok(h)
}

fn is_eventlog(file: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 4];
    std::fs::File::open(file)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head == membound::source::ghc::eventlog::MAGIC
}

/// Whether the file starts like valgrind massif's output (`desc:`), told by content.
fn is_massif(file: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 8];
    std::fs::File::open(file)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && membound::source::massif::sniff(&head)
}

//! The `membound` command line: run scenarios, bless baselines, read a profile, write reports
//! and the history of baselines in git.
//!
//! A thin front end over the library: it reads the environment and the file system, calls the
//! pipeline, and prints. The same binary serves as the probe child of simulator scenarios.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use membound::judge::verdict::{Hints, Status};
use membound::pipeline::{self, BlessMode, Blessed, Config, ScenarioResult};
use membound::scenario::select::{Filter, Match};
use membound::scenario::{self, Scenario};
use membound::source::{Event, RunConfig};
use membound::store::{Baseline, Store};
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
        /// Also check this scenario's invariants against the profile.
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
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main(cli: Cli) -> Result<ExitCode> {
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
            &hint_options(&cli)
                .iter()
                .map(|(o, v)| (*o, v.as_str()))
                .collect::<Vec<_>>(),
        ),
    };
    let how = |exact: bool| {
        if exact {
            Match::WholeName
        } else {
            Match::Usual
        }
    };
    match cli.command {
        Cmd::Run {
            filter,
            exact,
            jobs,
            on_violation: _,
            junit,
        } => cmd_run(&cfg, filter.as_deref(), how(exact), jobs, junit.as_deref()),
        Cmd::Bless {
            filter,
            exact,
            force,
        } => cmd_bless(
            &cfg,
            filter.as_deref(),
            how(exact),
            if force {
                BlessMode::Force
            } else {
                BlessMode::Changed
            },
        ),
        Cmd::Check { files } => cmd_check(&cfg, &files),
        Cmd::Diagnose { filter, exact } => cmd_diagnose(&cfg, &filter, how(exact)),
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
            &cfg,
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
            &cfg,
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
            &cfg,
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
) -> Result<ExitCode> {
    // Begun before the scenarios are loaded: a run that refuses them leaves no result a report
    // could take for this run's.
    cfg.store
        .begin_run(&membound::store::new_run_id())
        .context("starting the run")?;
    let scenarios = load(cfg, filter, how)?;
    let jobs = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
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
    println!("running {} scenario(s)", scenarios.len());
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
                let line = match r.verdict.status {
                    st @ (Status::Passed | Status::LeakCaught) => {
                        let word = if st == Status::LeakCaught {
                            "leak caught"
                        } else {
                            "ok"
                        };
                        let figures = membound::report::key_figures(&r);
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
                };
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
    let mut timed = results.into_inner().unwrap_or_else(|p| p.into_inner());
    timed.sort_by(|(a, _), (b, _)| a.scenario.cmp(&b.scenario));
    if let Some(path) = junit {
        write_output(Some(path), &membound::report::junit(&timed, &cfg.hints))
            .context("writing the JUnit report")?;
    }
    let results: Vec<ScenarioResult> = timed.into_iter().map(|(r, _)| r).collect();
    for r in results.iter().filter(|r| r.verdict.failed()) {
        println!("\n{}", pipeline::failure_message(r, &cfg.hints));
    }
    let count = |st: Status| results.iter().filter(|r| r.verdict.status == st).count();
    let (passed, caught, failed, ignored) = (
        count(Status::Passed),
        count(Status::LeakCaught),
        count(Status::Failed),
        count(Status::Skipped),
    );
    let code = membound::judge::verdict::exit_code(results.iter().map(|r| &r.verdict));
    // A report that cannot be written is an error, not a footnote: CI would publish nothing.
    let (md, html) = write_reports(cfg, results)?;
    println!(
        "memory report: {} (HTML, with charts: {})",
        md.display(),
        html.display()
    );
    // Said only when there are some, so the line keeps libtest's shape otherwise.
    let caught = match caught {
        0 => String::new(),
        1 => "1 leak caught; ".to_owned(),
        n => format!("{n} leaks caught; "),
    };
    println!(
        "\ntest result: {}. {passed} passed; {caught}{failed} failed; {ignored} ignored",
        if failed == 0 { "ok" } else { "FAILED" }
    );
    Ok(ExitCode::from(code as u8))
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

fn cmd_bless(cfg: &Config, filter: Option<&str>, how: Match, mode: BlessMode) -> Result<ExitCode> {
    let scenarios = load(cfg, filter, how)?;
    let mut refused = 0;
    for s in &scenarios {
        match pipeline::bless(s, cfg, mode, &mut |e| show_event(&s.name, &e)) {
            Ok(Blessed::Unchanged) => {
                println!("{}: unchanged (within tolerance of its baseline)", s.name)
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
            }
            Ok(Blessed::Written(r)) => {
                println!("{}: blessed {}", s.name, cfg.store.path(&s.name).display());
                match &r.comparison {
                    Some(c) => print!("{}", membound::judge::compare::table(c, false)),
                    None => println!("  (new baseline)"),
                }
            }
            Err(e @ pipeline::BlessError::MissingTool(_)) => println!("{}: {e}", s.name),
            Err(e) => {
                refused += 1;
                println!("{}: {e}", s.name);
            }
        }
    }
    Ok(if refused == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `membound diagnose`: the scenario's run with attribution on, its violations' tables in
/// full. No baseline is read or written: this explains, it does not judge.
fn cmd_diagnose(cfg: &Config, filter: &str, how: Match) -> Result<ExitCode> {
    let mut code = 0;
    for mut s in load(cfg, Some(filter), how)? {
        let membound::scenario::Run::Command(c) = &mut s.run else {
            println!("scenario {}: a simulator scenario; its failures already name types, sites and holders", s.name);
            continue;
        };
        c.diagnose = true;
        if let Err(missing) = membound::source::check_requirements(&s, &cfg.run) {
            println!("scenario {}: not run, {missing}", s.name);
            code = 1;
            continue;
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
                code = 1;
                continue;
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
    }
    Ok(ExitCode::from(code))
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

fn cmd_explore(cfg: &Config, args: &ExploreArgs) -> Result<ExitCode> {
    use membound::explore;
    let catalog = sim::circuits::catalog();
    let path = cfg.run.scenarios_dir.join(format!("{}.toml", args.name));
    let mut lengths = args.lengths.clone();
    let (scenario, base) = match args.new {
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
                lengths = vec![1000, 4000];
            }
            let first = has_n.then(|| lengths.iter().copied().min().unwrap_or(1000));
            let text = explore::propose::new_scenario(profile, argv, first);
            let s = scenario::parse(&path, &text, &catalog).with_context(|| {
                format!("the command cannot make a scenario named `{}`", args.name)
            })?;
            (s, text)
        }
        None => {
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!("reading {} (hint: `membound explore NAME` takes an existing scenario's exact name; `--new NAME -- COMMAND` explores a program without one)", path.display())
            })?;
            (scenario::parse(&path, &text, &catalog)?, text)
        }
    };
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
        return Ok(ExitCode::from(1));
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
    Ok(ExitCode::SUCCESS)
}

fn cmd_check(cfg: &Config, files: &[PathBuf]) -> Result<ExitCode> {
    let results: Vec<Result<Scenario, membound::errors::ScenarioError>> = if files.is_empty() {
        scenario::load_dir(&cfg.run.scenarios_dir, &sim::circuits::catalog())?
    } else {
        files
            .iter()
            .map(|f| scenario::load(f, &sim::circuits::catalog()))
            .collect()
    };
    let mut bad = 0;
    for r in results {
        match r {
            Ok(s) => println!(
                "{}: ok ({} invariants, fingerprint {})",
                s.path.display(),
                s.invariants.len(),
                s.fingerprint
            ),
            Err(e) => {
                bad += 1;
                println!("{e}");
            }
        }
    }
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn cmd_profile(file: &Path, json: bool, scenario_file: Option<&Path>) -> Result<ExitCode> {
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
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", membound::report::summary::summarise(&tl));
    let Some(s) = &scenario else {
        return Ok(ExitCode::SUCCESS);
    };
    // Type invariants on a profile that is not of closure types would hold whatever it holds.
    membound::source::closure_type_profile(s, &tl)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let (outcomes, _) = membound::measure::invariant::check_timeline(s, &tl);
    Ok(print_outcomes(s, &outcomes, tl.x_unit))
}

/// `profile` of an eventlog, in two streaming passes: memory does not grow with the censuses'
/// contents, whether summarised, checked against a scenario or written as JSON. Markers are
/// placed by time in every mode.
///
/// The summary's first pass only counts censuses (skipping their rows), since growth and the
/// steady state are over the second half; its second reads them by label id
/// (`summarise_eventlog`). `--json` needs every label's closure size before its first census, so its
/// first pass reads the rows (`EventlogStream::scan`) and its second writes each census
/// straight from label ids (`TimelineJson`). With a scenario, the checker takes `Sample`s.
fn profile_eventlog(
    file: &Path,
    opts: &membound::source::ghc::ReadOptions,
    json: bool,
    scenario: Option<&scenario::Scenario>,
) -> Result<ExitCode> {
    use membound::source::ghc::eventlog::{EventlogError, EventlogStream};
    // The reader has its own large buffer: a `BufReader` would only add a copy.
    let open = || -> Result<std::fs::File> {
        std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))
    };
    let err = |e: EventlogError| anyhow::anyhow!("{}: {e}", file.display());
    if json {
        let stream = EventlogStream::scan(open()?, opts).map_err(err)?;
        let second = open()?;
        let stdout = std::io::stdout();
        let mut json = TimelineJson::begin(stdout.lock(), stream.meta())?;
        // The second pass reads and counts on a thread of its own while this one writes: the
        // two take about as long, so on two cores `--json` costs little more than its reading.
        // Batches go through a bounded channel and come back to be reused: memory is a few
        // batches, whatever the log's size.
        let (full, ready) = std::sync::mpsc::sync_channel::<CensusBatch>(4);
        let (spare, spares) = std::sync::mpsc::channel::<CensusBatch>();
        let (read, stream, written) = std::thread::scope(|s| {
            let reader = s.spawn(move || {
                let mut stream = stream;
                let mut batch = CensusBatch::default();
                let mut named = 0;
                let read = stream.counted(second, |c, names| {
                    // A census's labels are named before it, in id order.
                    while let Some(name) = names.get(named) {
                        batch.names.push(name.to_owned());
                        named += 1;
                    }
                    batch.push(c);
                    if batch.len < CensusBatch::CENSUSES {
                        return true;
                    }
                    let next = spares.try_recv().unwrap_or_default();
                    // A writer that stopped (it failed) stops the reading.
                    full.send(std::mem::replace(&mut batch, next)).is_ok()
                });
                if batch.len > 0 {
                    let _ = full.send(batch);
                }
                (read, stream)
            });
            let mut written = Ok(());
            for mut batch in ready {
                written = json.batch(&batch);
                if written.is_err() {
                    break;
                }
                batch.clear();
                let _ = spare.send(batch);
            }
            let (read, stream) = reader
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (read, stream, written)
        });
        read.map_err(err)?;
        written?;
        json.end(&stream.finish())?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(scenario) = scenario else {
        let text =
            membound::report::summary::summarise_eventlog(open()?, open()?, opts).map_err(err)?;
        print!("{text}");
        return Ok(ExitCode::SUCCESS);
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

/// Prints a scenario's invariant outcomes on a profile; exit 1 when any is violated or could not
/// be evaluated.
fn print_outcomes(
    s: &scenario::Scenario,
    outcomes: &[(String, membound::measure::invariant::Outcome)],
    x_unit: membound::XUnit,
) -> ExitCode {
    use membound::measure::invariant::Outcome;
    let mut code = ExitCode::SUCCESS;
    println!("\ninvariants of {}:", s.path.display());
    for (name, o) in outcomes {
        match o {
            Outcome::Held { samples } => println!("  {name}: holds ({samples} samples)"),
            Outcome::NotReached { reason, .. } => println!("  {name}: not checked: {reason}"),
            Outcome::NotEvaluable { reason } => {
                code = ExitCode::from(1);
                println!("  {name}: not evaluable: {reason}")
            }
            Outcome::Violated(v) => {
                code = ExitCode::from(1);
                print!("  {}", v.explain(x_unit).replace('\n', "\n  "));
                println!();
            }
        }
    }
    code
}

/// A `Timeline` written as the pretty JSON `serde_json` gives for a whole one, census by
/// census: the fields before `samples` from the first pass, those after it at the end, and
/// each census written straight from its label ids in `serde_json`'s layout (each label's key
/// escaped by `serde_json` once), since formatting a `Sample` per census was most of the time.
/// `tests/cli.rs` holds the output to `serde_json::to_string_pretty` of the whole timeline.
struct TimelineJson<W: std::io::Write> {
    out: W,
    /// Text not yet written: handed to `out` in large pieces that end with a newline (stdout is
    /// line-buffered, and finds a piece's last newline at once).
    buf: Vec<u8>,
    first: bool,
    /// Per label index, once the label is seen.
    labels: Vec<Option<JsonLabel>>,
    /// Every label's name, by index, as the batches bring them.
    names: Vec<String>,
}

/// Censuses read by the second pass of `profile --json`, on their way to `TimelineJson`.
#[derive(Default)]
struct CensusBatch {
    /// The first `len` are this batch's; the rest are buffers kept for reuse.
    censuses: Vec<membound::source::ghc::eventlog::CountedCensus>,
    len: usize,
    /// The label names that the reader's table gained since the last batch, in id order.
    names: Vec<String>,
}

impl CensusBatch {
    /// Censuses per batch: enough that a channel operation is rare, few enough to stay small.
    const CENSUSES: usize = 256;

    fn push(&mut self, c: &membound::source::ghc::eventlog::CountedCensus) {
        if self.len == self.censuses.len() {
            self.censuses.push(Default::default());
        }
        // Field by field, so that the rows reuse their buffer.
        let d = &mut self.censuses[self.len];
        d.x = c.x;
        d.time_ns = c.time_ns;
        d.bytes_allocated = c.bytes_allocated;
        d.live_bytes = c.live_bytes;
        d.rows.clear();
        d.rows.extend_from_slice(&c.rows);
        self.len += 1;
    }

    fn clear(&mut self) {
        self.len = 0;
        self.names.clear();
    }
}

/// A label's text in `TimelineJson`.
struct JsonLabel {
    /// `\n        "label": {\n          "count": `, escaped by `serde_json`.
    key: Box<[u8]>,
    /// The label's last row (bytes, count, estimated) and its whole text: rows repeat from
    /// census to census, and most are then one copy.
    last: Option<(u64, u64, bool)>,
    text: Vec<u8>,
}

/// How much text `TimelineJson` gathers before writing it.
const JSON_CHUNK: usize = 1 << 20;

impl<W: std::io::Write> TimelineJson<W> {
    /// The fields before `samples`, cut from the JSON of the timeline without samples.
    fn begin(mut out: W, meta: &membound::Timeline) -> Result<Self> {
        let whole = serde_json::to_string_pretty(meta)?;
        let (head, _) = whole
            .split_once("\n  \"samples\": []")
            .context("the timeline's JSON has its samples on one line")?;
        write!(out, "{head}\n  \"samples\": [")?;
        Ok(TimelineJson {
            out,
            buf: Vec::with_capacity(JSON_CHUNK + (1 << 16)),
            first: true,
            labels: Vec::new(),
            names: Vec::new(),
        })
    }

    /// A batch's censuses, its new label names first.
    fn batch(&mut self, batch: &CensusBatch) -> Result<()> {
        self.names.extend(batch.names.iter().cloned());
        for c in &batch.censuses[..batch.len] {
            self.census(c)?;
        }
        Ok(())
    }

    /// One census, as `serde_json::to_string_pretty` of its `Sample` indented into the array.
    fn census(&mut self, c: &membound::source::ghc::eventlog::CountedCensus) -> Result<()> {
        let b = &mut self.buf;
        b.extend_from_slice(if self.first { b"\n    {" } else { b",\n    {" });
        self.first = false;
        b.extend_from_slice(b"\n      \"x\": ");
        push_u64(b, c.x);
        b.extend_from_slice(b",\n      \"live_bytes\": ");
        push_u64(b, c.live_bytes);
        if let Some(a) = c.bytes_allocated {
            b.extend_from_slice(b",\n      \"bytes_allocated\": ");
            push_u64(b, a);
        }
        b.extend_from_slice(b",\n      \"time_ns\": ");
        push_u64(b, c.time_ns);
        if !c.rows.is_empty() {
            b.extend_from_slice(b",\n      \"types\": {");
            for (i, row) in c.rows.iter().enumerate() {
                if i > 0 {
                    b.push(b',');
                }
                let at = row.label.index();
                if self.labels.len() <= at {
                    self.labels.resize_with(at + 1, || None);
                }
                let l = match &mut self.labels[at] {
                    Some(l) => l,
                    slot => {
                        let name = self
                            .names
                            .get(at)
                            .context("a census's label came without its name")?;
                        let name = serde_json::to_string(name)?;
                        let key = format!("\n        {name}: {{\n          \"count\": ");
                        slot.insert(JsonLabel {
                            key: key.into_bytes().into_boxed_slice(),
                            last: None,
                            text: Vec::new(),
                        })
                    }
                };
                let this = (row.bytes, row.count, row.count_estimated);
                if l.last != Some(this) {
                    let t = &mut l.text;
                    t.clear();
                    t.extend_from_slice(&l.key);
                    push_u64(t, row.count);
                    t.extend_from_slice(b",\n          \"bytes\": ");
                    push_u64(t, row.bytes);
                    if row.count_estimated {
                        t.extend_from_slice(b",\n          \"count_estimated\": true");
                    }
                    t.extend_from_slice(b"\n        }");
                    l.last = Some(this);
                }
                b.extend_from_slice(&l.text);
            }
            b.extend_from_slice(b"\n      }");
        }
        b.extend_from_slice(b"\n    }");
        if b.len() >= JSON_CHUNK {
            // A census ends a few bytes after its last newline.
            let cut = b
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(b.len(), |i| i + 1);
            self.out.write_all(&b[..cut])?;
            b.drain(..cut);
        }
        Ok(())
    }

    /// The fields after `samples`: the pretty JSON of the timeline without samples, from just
    /// after its empty `samples` (so field order and skipped fields are serde's own).
    fn end(mut self, meta: &membound::Timeline) -> Result<()> {
        self.out.write_all(&self.buf)?;
        write!(self.out, "{}]", if self.first { "" } else { "\n  " })?;
        let whole = serde_json::to_string_pretty(meta)?;
        let (_, rest) = whole
            .split_once("\n  \"samples\": []")
            .context("the timeline's JSON has its samples on one line")?;
        writeln!(self.out, "{rest}")?;
        self.out.flush()?;
        Ok(())
    }
}

/// Two decimal digits per pair, for `push_u64`.
const DIGIT_PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Appends `n` in decimal, as `serde_json` (`itoa`) writes an integer.
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut text = [0u8; 20];
    let mut at = text.len();
    while n >= 100 {
        let d = (n % 100) as usize * 2;
        n /= 100;
        at -= 2;
        text[at..at + 2].copy_from_slice(&DIGIT_PAIRS[d..d + 2]);
    }
    if n >= 10 {
        let d = n as usize * 2;
        at -= 2;
        text[at..at + 2].copy_from_slice(&DIGIT_PAIRS[d..d + 2]);
    } else {
        at -= 1;
        text[at] = b'0' + n as u8;
    }
    out.extend_from_slice(&text[at..]);
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

fn cmd_report(cfg: &Config, args: &ReportArgs) -> Result<ExitCode> {
    let default_dirs = [cfg.store.results_dir.clone()];
    let dirs = if args.results.is_empty() {
        &default_dirs[..]
    } else {
        args.results
    };
    // name → (file, result), merged over every directory: one scenario, one result.
    let mut found: BTreeMap<String, (PathBuf, Found)> = BTreeMap::new();
    for dir in dirs {
        for (p, r) in read_results(dir)? {
            let name = &r.stamped.result.scenario;
            if let Some((other, _)) = found.get(name) {
                bail!(
                    "scenario `{}` has results in two directories: {} and {} (hint: each partition writes its own results directory and runs each scenario once; remove the stale one)",
                    name,
                    other.display(),
                    p.display()
                );
            }
            found.insert(name.clone(), (p, r));
        }
    }
    // Every scenario file as it stands now: a refused one has no result of this run, whatever
    // an earlier run left.
    let mut refused: BTreeMap<String, String> = BTreeMap::new();
    for s in scenario::load_dir(&cfg.run.scenarios_dir, &sim::circuits::catalog())? {
        if let Err(e) = s {
            let name = match &e {
                membound::errors::ScenarioError::Io { path, .. }
                | membound::errors::ScenarioError::Invalid { path, .. } => {
                    path.file_stem().map(|s| s.to_string_lossy().into_owned())
                }
                // An empty directory refuses no scenario of its own.
                membound::errors::ScenarioError::NoScenarios { .. } => None,
            };
            if let Some(name) = name {
                refused.insert(name, e.to_string());
            }
        }
    }
    let mut candidates: Vec<String> = found.keys().cloned().collect();
    candidates.extend(refused.keys().cloned());
    let removed_names = match args.base {
        Some(git_ref) => {
            check_ref(git_ref)?;
            removed_at_head(cfg, git_ref)?
        }
        None => Vec::new(),
    };
    candidates.extend(removed_names.iter().cloned());
    let filter = Filter::new(
        args.filter,
        Match::Usual,
        candidates.iter().map(String::as_str),
    );
    let mut without_result: Vec<membound::report::NoResult> = Vec::new();
    let mut results: Vec<ScenarioResult> = Vec::new();
    for (name, (_, f)) in found {
        let file = cfg.run.scenarios_dir.join(format!("{name}.toml"));
        // Results of scenarios since deleted or renamed are left behind in target/: skip them.
        if !file.is_file() || !filter.matches(&name) {
            continue;
        }
        use membound::report::NoResultWhy;
        use membound::store::Provenance;
        if refused.contains_key(&name) {
            continue; // listed with the refused below
        }
        let now = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        let why = match f.stamped.provenance(f.dir_run.as_deref(), &now) {
            Provenance::ThisRun | Provenance::Unrecorded => {
                results.push(f.stamped.result);
                continue;
            }
            Provenance::EarlierRun => NoResultWhy::EarlierRun,
            Provenance::ScenarioChanged => NoResultWhy::ScenarioChanged,
        };
        without_result.push(membound::report::NoResult {
            scenario: name,
            why,
        });
    }
    for (name, error) in refused {
        if filter.matches(&name) {
            without_result.push(membound::report::NoResult {
                scenario: name,
                why: membound::report::NoResultWhy::Refused { error },
            });
        }
    }
    without_result.sort_by(|a, b| a.scenario.cmp(&b.scenario));
    let mut base_map = BTreeMap::new();
    let mut blessed = Vec::new();
    if let Some(git_ref) = args.base {
        for r in &results {
            let rel = cfg.store.path(&r.scenario);
            let old = git_show(git_ref, &rel)?;
            let new: Option<Baseline> = cfg.store.read(&r.scenario)?;
            if old != new {
                blessed.push(membound::report::BlessedChange {
                    scenario: r.scenario.clone(),
                    old: old.clone(),
                    new,
                    commit: last_commit(git_ref, &rel)?,
                });
            }
            if let Some(o) = old {
                base_map.insert(r.scenario.clone(), o);
            }
        }
        // A baseline the PR deleted has no result to carry it: say so, or a reviewer never
        // learns the scenario stopped being guarded.
        for name in removed_names.iter().filter(|n| filter.matches(n)) {
            let rel = cfg.store.path(name);
            blessed.push(membound::report::BlessedChange {
                scenario: name.clone(),
                old: git_show(git_ref, &rel)?,
                new: None,
                commit: last_commit(git_ref, &rel)?,
            });
        }
    }
    let input = membound::report::ReportInput {
        results,
        base_ref: args.base.map(String::from),
        base: base_map,
        blessed,
        hints: cfg.hints.clone(),
        without_result,
    };
    let text = match args.format {
        Format::Markdown => membound::report::markdown(&input),
        Format::Html => membound::report::html(&input),
    };
    write_output(args.output, &text)?;
    Ok(ExitCode::SUCCESS)
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

/// A result file as `report` reads it.
struct Found {
    stamped: membound::store::Stamped<ScenarioResult>,
    /// The run its directory holds results of; `None` for a directory written before runs
    /// were recorded (no `run.id`).
    dir_run: Option<String>,
}

/// The result files of one directory, in name order.
fn read_results(dir: &Path) -> Result<Vec<(PathBuf, Found)>> {
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "reading results in {} (hint: run `cargo xtask run` or `cargo test` first)",
            dir.display()
        )
    })?;
    let dir_run = membound::store::read_run(dir)?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
            let stamped: membound::store::Stamped<ScenarioResult> = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a result file", p.display()))?;
            Ok((
                p,
                Found {
                    stamped,
                    dir_run: dir_run.clone(),
                },
            ))
        })
        .collect()
}

/// Runs git with these arguments and returns its standard output; a failure says what git
/// said and, as `hint`, how to recover.
fn git(args: &[&str], hint: &str) -> Result<String> {
    let out = std::process::Command::new("git")
        .args(args)
        .output()
        .with_context(|| format!("running git {} (hint: is git installed?)", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "git {} failed: {} (hint: {hint})",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8(out.stdout)
        .with_context(|| format!("git {} printed text that is not UTF-8", args.join(" ")))
}

/// How to get a ref git does not know: `origin/main` is fetched from `origin`.
fn fetch_hint(git_ref: &str) -> String {
    match git_ref.split_once('/') {
        Some((remote, branch)) if !remote.is_empty() && !branch.is_empty() => {
            format!("fetch the base ref: git fetch {remote} {branch}")
        }
        _ => format!("fetch the base ref: git fetch origin {git_ref}"),
    }
}

/// Fails early, with the fetch to run, when git does not know the ref.
fn check_ref(git_ref: &str) -> Result<()> {
    git(
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{git_ref}^{{commit}}"),
        ],
        &fetch_hint(git_ref),
    )
    .map(|_| ())
    .with_context(|| format!("git does not know the ref `{git_ref}`"))
}

/// The scenarios with a baseline committed at the ref.
fn baselines_at(cfg: &Config, git_ref: &str) -> Result<Vec<String>> {
    let dir = format!("{}/", cfg.store.dir.display());
    let listing = git(
        &["ls-tree", "--name-only", git_ref, "--", &dir],
        &fetch_hint(git_ref),
    )?;
    Ok(listing
        .lines()
        .filter_map(|l| Path::new(l).file_name()?.to_str()?.strip_suffix(".json"))
        .map(str::to_owned)
        .collect())
}

/// Scenarios whose baseline exists at the ref but not in the working tree: removed by the PR.
fn removed_at_head(cfg: &Config, git_ref: &str) -> Result<Vec<String>> {
    Ok(baselines_at(cfg, git_ref)?
        .into_iter()
        .filter(|name| !cfg.store.path(name).exists())
        .collect())
}

/// The separator of fields in the `--format` of git log (a control character no subject has).
const FIELD: char = '\u{1f}';
/// The commit fields reports show: short id, committer date, subject.
const COMMIT_FORMAT: &str = "--format=%h%x1f%cs%x1f%s";

fn parse_commit(line: &str) -> Option<membound::report::Commit> {
    let mut f = line.splitn(3, FIELD);
    Some(membound::report::Commit {
        id: f.next()?.to_owned(),
        date: f.next()?.to_owned(),
        subject: f.next()?.to_owned(),
    })
}

/// The last commit after the base ref that changed a baseline file; `None` if none did (the
/// change is not committed yet).
fn last_commit(git_ref: &str, path: &Path) -> Result<Option<membound::report::Commit>> {
    let range = format!("{git_ref}..HEAD");
    let path = path.to_string_lossy();
    let out = git(
        &["log", "-1", COMMIT_FORMAT, &range, "--", &path],
        &fetch_hint(git_ref),
    )?;
    Ok(out.lines().next().and_then(parse_commit))
}

/// A file's bytes as committed at a git ref; `None` if it does not exist there.
fn git_show_bytes(git_ref: &str, path: &Path) -> Result<Option<Vec<u8>>> {
    let out = std::process::Command::new("git")
        .arg("show")
        .arg(format!("{git_ref}:{}", path.display()))
        .output()
        .context("running git (hint: is git installed?)")?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("does not exist") || err.contains("exists on disk, but not in") {
            return Ok(None);
        }
        bail!(
            "git show {git_ref}:{}: {} (hint: {})",
            path.display(),
            err.trim(),
            fetch_hint(git_ref)
        );
    }
    Ok(Some(out.stdout))
}

/// A baseline as committed at a git ref; `None` if the file does not exist there.
fn git_show(git_ref: &str, path: &Path) -> Result<Option<Baseline>> {
    let Some(bytes) = git_show_bytes(git_ref, path)? else {
        return Ok(None);
    };
    let b = serde_json::from_slice(&bytes)
        .with_context(|| format!("{git_ref}:{} is not a baseline", path.display()))?;
    Ok(Some(b))
}

/// A baseline as committed at a past commit, in any form the repository ever committed:
/// `Ok(None)` if the file does not exist there, `Ok(Some(Err(why)))` if it cannot be read (the
/// history shows that commit as unreadable and goes on). Only git failing is an error.
fn git_show_past(git_ref: &str, path: &Path) -> Result<Option<Result<Baseline, String>>> {
    let origin = format!("{git_ref}:{}", path.display());
    Ok(
        git_show_bytes(git_ref, path)?.map(|bytes| match String::from_utf8(bytes) {
            Ok(text) => membound::store::parse_committed(&text, &origin).map_err(|e| e.to_string()),
            Err(e) => Err(format!("{origin}: not UTF-8 text: {e}")),
        }),
    )
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

/// One commit of `git log --name-status` over the baselines: the files it added, modified or
/// deleted, as (deleted, path from the repository's root).
struct LoggedCommit {
    commit: membound::report::Commit,
    /// The full id, to read files at.
    full: String,
    files: Vec<(bool, String)>,
}

fn cmd_history(cfg: &Config, args: &HistoryArgs) -> Result<ExitCode> {
    use membound::report::{HistoryEntry, HistoryInput, ScenarioHistory, Shallow, Unreadable};
    let hint = "run it inside the repository's work tree, with the baselines committed";
    if let Some(r) = args.since {
        check_ref(r)?;
    }
    let shallow = git(&["rev-parse", "--is-shallow-repository"], hint)?.trim() == "true";
    let dir = format!("{}/", cfg.store.dir.display());
    let range = args.since.map(|r| format!("{r}..HEAD"));
    let mut log_args = vec![
        "log",
        "--no-renames",
        "--name-status",
        "--format=%x1e%H%x1f%h%x1f%cs%x1f%s",
    ];
    if let Some(r) = &range {
        log_args.push(r);
    }
    log_args.extend(["--", &dir]);
    let log = git(&log_args, hint)?;
    let mut commits: Vec<LoggedCommit> = log
        .split('\u{1e}')
        .filter(|r| !r.trim().is_empty())
        .filter_map(|record| {
            let mut lines = record.lines();
            let (full, rest) = lines.next()?.split_once(FIELD)?;
            let commit = parse_commit(rest)?;
            let files = lines
                .filter_map(|l| {
                    let (status, path) = l.split_once('\t')?;
                    Some((status.starts_with('D'), path.to_owned()))
                })
                .filter(|(_, p)| p.ends_with(".json"))
                .collect();
            Some(LoggedCommit {
                commit,
                full: full.to_owned(),
                files,
            })
        })
        .collect();
    commits.reverse(); // oldest first
    let stem = |p: &str| {
        Path::new(p)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
    };
    let mut names: Vec<String> = commits
        .iter()
        .flat_map(|c| c.files.iter().filter_map(|(_, p)| stem(p)))
        .collect();
    // A baseline untouched since `--since` still has a history: its value at the ref.
    if let Some(r) = args.since {
        names.extend(baselines_at(cfg, r)?);
    }
    names.sort();
    names.dedup();
    let filter = Filter::new(args.filter, args.how, names.iter().map(String::as_str));
    let selected: Vec<&String> = names.iter().filter(|n| filter.matches(n)).collect();
    if selected.is_empty() && !names.is_empty() {
        bail!(
            "no baseline in the history of {} matches `{}` ({})",
            cfg.store.dir.display(),
            filter.text(),
            nearest_names(filter.text(), &names, "baseline")
        );
    }
    let start = match args.since {
        Some(r) => git(&["log", "-1", COMMIT_FORMAT, r], &fetch_hint(r))?
            .lines()
            .next()
            .and_then(parse_commit),
        None => None,
    };
    let mut scenarios = Vec::new();
    for name in selected {
        let mut h = ScenarioHistory {
            scenario: name.clone(),
            ..ScenarioHistory::default()
        };
        // The past is read as it was written: a commit whose file this version cannot read is
        // named and left out, never the end of the history.
        let mut add = |commit: &membound::report::Commit,
                       read: Option<Result<Baseline, String>>| {
            match read {
                Some(Err(reason)) => h.unreadable.push(Unreadable {
                    commit: commit.clone(),
                    reason,
                }),
                read => h.entries.push(HistoryEntry {
                    commit: commit.clone(),
                    baseline: read.and_then(Result::ok),
                }),
            }
        };
        if let (Some(r), Some(c)) = (args.since, &start) {
            add(c, git_show_past(r, &cfg.store.path(name))?);
        }
        for c in &commits {
            for (deleted, path) in c
                .files
                .iter()
                .filter(|(_, p)| stem(p).as_ref() == Some(name))
            {
                let read = if *deleted {
                    None
                } else {
                    // The path as git log printed it is from the root: `<commit>:<path>` is too.
                    git_show_past(&c.full, Path::new(path))?
                };
                add(&c.commit, read);
            }
        }
        scenarios.push(h);
    }
    let shallow = if shallow {
        let depth = git(&["rev-list", "--count", "HEAD"], hint)?;
        Some(Shallow {
            oldest: commits.first().map(|c| c.commit.clone()),
            depth: depth
                .trim()
                .parse()
                .with_context(|| format!("git rev-list --count HEAD printed `{}`", depth.trim()))?,
        })
    } else {
        None
    };
    let input = HistoryInput {
        scenarios,
        metric: args.metric.map(String::from),
        since: args.since.map(String::from),
        shallow,
    };
    let text = match args.format {
        Format::Markdown => membound::report::history_markdown(&input),
        Format::Html => membound::report::history_html(&input),
    };
    write_output(args.output, &text)?;
    Ok(ExitCode::SUCCESS)
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

#[cfg(test)]
mod tests {
    use super::push_u64;

    #[test]
    fn integers_print_as_serde_json_prints_them() {
        let mut edges = vec![0, u64::MAX, u64::MAX - 1];
        for p in 0..20 {
            let t = 10u64.pow(p);
            edges.extend([t, t - 1, t + 1, t.wrapping_mul(7) / 3]);
        }
        for n in edges {
            let mut out = Vec::new();
            push_u64(&mut out, n);
            assert_eq!(out, serde_json::to_string(&n).unwrap().into_bytes(), "{n}");
        }
    }
}

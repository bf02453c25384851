//! The `membound` command line: run scenarios, bless baselines, read a profile, write reports.
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
    /// Directory of blessed baselines.
    #[arg(long, global = true, default_value = "baselines")]
    baselines: PathBuf,
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
    /// Run scenarios, compare with baselines, print the comparison; exit 1 on a failure.
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
    /// Summarise a profile a program already wrote: eventlog, `.hp` or `+RTS -t` stats.
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
            dir: cli.baselines.clone(),
            results_dir: cli.work_dir.join("results"),
        },
        ci,
        hints: Hints {
            bless: format!("{} bless", cli.hint_command),
        },
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
        } => cmd_run(&cfg, filter.as_deref(), how(exact), jobs),
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
        } => cmd_report(
            &cfg,
            filter.as_deref(),
            base.as_deref(),
            format,
            output.as_deref(),
        ),
    }
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
            "no scenario in {} matches `{}` (scenarios: {})",
            cfg.run.scenarios_dir.display(),
            filter.text(),
            names.join(", ")
        );
    }
    Ok(out)
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
) -> Result<ExitCode> {
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
    let results: Mutex<Vec<ScenarioResult>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(scenarios.len()) {
            scope.spawn(|| loop {
                let Some(s) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop() else {
                    break;
                };
                if let Some(b) = &bar {
                    b.set_message(s.name.clone());
                }
                let r = pipeline::check(s, cfg, &mut |e: Event| show_event(&s.name, &e));
                let line = match r.verdict.status {
                    Status::Passed => format!("scenario {} ... ok", s.name),
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
                results.lock().unwrap_or_else(|p| p.into_inner()).push(r);
            });
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by(|a, b| a.scenario.cmp(&b.scenario));
    for r in results.iter().filter(|r| r.verdict.failed()) {
        println!("\n{}", pipeline::failure_message(r, &cfg.hints));
    }
    let count = |st: Status| results.iter().filter(|r| r.verdict.status == st).count();
    let (passed, failed, ignored) = (
        count(Status::Passed),
        count(Status::Failed),
        count(Status::Skipped),
    );
    let code = membound::judge::verdict::exit_code(results.iter().map(|r| &r.verdict));
    // A report that cannot be written is an error, not a footnote: CI would publish nothing.
    let report_path = write_reports(cfg, results)?;
    println!("memory report: {}", report_path.display());
    println!(
        "\ntest result: {}. {passed} passed; {failed} failed; {ignored} ignored",
        if failed == 0 { "ok" } else { "FAILED" }
    );
    Ok(ExitCode::from(code as u8))
}

/// Writes the markdown and HTML reports of these results next to them.
fn write_reports(cfg: &Config, results: Vec<ScenarioResult>) -> Result<PathBuf> {
    let input = membound::report::ReportInput {
        results,
        base_ref: None,
        base: BTreeMap::new(),
        blessed: Vec::new(),
        hints: cfg.hints.clone(),
    };
    let md = cfg.run.work_dir.join("report.md");
    let html = cfg.run.work_dir.join("report.html");
    membound::store::write_atomic(&md, membound::report::markdown(&input).as_bytes())
        .context("writing the markdown report")?;
    membound::store::write_atomic(&html, membound::report::html(&input).as_bytes())
        .context("writing the HTML report")?;
    Ok(md)
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
    if !json && scenario.is_none() && is_eventlog(file) {
        // Summarised while streaming: memory independent of the log's size.
        print!("{}", summarise_eventlog(file)?);
        return Ok(ExitCode::SUCCESS);
    }
    // The reader's errors already name the file and the byte offset or line.
    let tl = membound::source::ghc::read_profile(
        file,
        &membound::source::ghc::ReadOptions { closure_sizes },
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&tl)?);
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", membound::report::summary::summarise(&tl));
    let mut code = ExitCode::SUCCESS;
    if let Some(s) = &scenario {
        let (outcomes, _) = membound::measure::invariant::check_timeline(s, &tl);
        println!("\ninvariants of {}:", s.path.display());
        for (name, o) in &outcomes {
            match o {
                membound::measure::invariant::Outcome::Held { samples } => {
                    println!("  {name}: holds ({samples} samples)")
                }
                membound::measure::invariant::Outcome::NotReached { reason, .. } => {
                    println!("  {name}: not checked: {reason}")
                }
                membound::measure::invariant::Outcome::NotEvaluable { reason } => {
                    code = ExitCode::from(1);
                    println!("  {name}: not evaluable: {reason}")
                }
                membound::measure::invariant::Outcome::Violated(v) => {
                    code = ExitCode::from(1);
                    print!("  {}", v.explain(tl.x_unit).replace('\n', "\n  "));
                    println!();
                }
            }
        }
    }
    Ok(code)
}

fn cmd_report(
    cfg: &Config,
    filter: Option<&str>,
    base: Option<&str>,
    format: Format,
    output: Option<&Path>,
) -> Result<ExitCode> {
    let dir = &cfg.store.results_dir;
    let mut results = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "reading results in {} (hint: run `cargo xtask run` or `cargo test` first)",
            dir.display()
        )
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let names: Vec<String> = paths
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    let filter = Filter::new(filter, Match::Usual, names.iter().map(String::as_str));
    for p in paths {
        let text =
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
        let r: ScenarioResult = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a result file", p.display()))?;
        // Results of scenarios since deleted or renamed are left behind in target/: skip them.
        if cfg
            .run
            .scenarios_dir
            .join(format!("{}.toml", r.scenario))
            .is_file()
            && filter.matches(&r.scenario)
        {
            results.push(r);
        }
    }
    let mut base_map = BTreeMap::new();
    let mut blessed = Vec::new();
    if let Some(git_ref) = base {
        for r in &results {
            let rel = cfg.store.path(&r.scenario);
            let old = git_show(git_ref, &rel)?;
            let new: Option<Baseline> = cfg.store.read(&r.scenario)?;
            if old != new {
                blessed.push(membound::report::BlessedChange {
                    scenario: r.scenario.clone(),
                    old: old.clone(),
                    new,
                });
            }
            if let Some(o) = old {
                base_map.insert(r.scenario.clone(), o);
            }
        }
    }
    let input = membound::report::ReportInput {
        results,
        base_ref: base.map(String::from),
        base: base_map,
        blessed,
        hints: cfg.hints.clone(),
    };
    let text = match format {
        Format::Markdown => membound::report::markdown(&input),
        Format::Html => membound::report::html(&input),
    };
    match output {
        Some(p) => membound::store::write_atomic(p, text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// A baseline as committed at a git ref; `None` if the file does not exist there.
fn git_show(git_ref: &str, path: &Path) -> Result<Option<Baseline>> {
    let out = std::process::Command::new("git")
        .arg("show")
        .arg(format!("{git_ref}:{}", path.display()))
        .output()
        .context("running git")?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("does not exist") || err.contains("exists on disk, but not in") {
            return Ok(None);
        }
        bail!("git show {git_ref}:{}: {}", path.display(), err.trim());
    }
    let b = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("{git_ref}:{} is not a baseline", path.display()))?;
    Ok(Some(b))
}

fn is_eventlog(file: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 4];
    std::fs::File::open(file)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head == membound::source::ghc::eventlog::MAGIC
}

/// Two streaming passes over an eventlog: one to count its censuses (the summary's steady state
/// and growth are over the second half), one to summarise.
fn summarise_eventlog(file: &Path) -> Result<String> {
    use membound::source::ghc::eventlog::{EventlogReader, Record};
    let open = || -> Result<EventlogReader<std::fs::File>> {
        let f =
            std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
        EventlogReader::new(f).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
    };
    let err = |e: membound::source::ghc::eventlog::EventlogError| {
        anyhow::anyhow!("{}: {e}", file.display())
    };
    let mut reader = open()?;
    let mut n = 0;
    while let Some(r) = reader.next_record().map_err(err)? {
        if matches!(r, Record::Census(_)) {
            n += 1;
        }
    }
    let mut reader = open()?;
    let mut summary = membound::report::summary::Summary::new(n, membound::XUnit::Census);
    while let Some(r) = reader.next_record().map_err(err)? {
        match r {
            Record::Census(c) => summary.push(&reader.sample(&c)),
            Record::Marker { label, x, .. } => summary.mark(membound::Mark { x, label }),
        }
    }
    Ok(summary.render(&reader.into_timeline()))
}

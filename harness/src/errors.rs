//! The harness's typed errors, one `thiserror` enum per stage. Messages are lowercase, say
//! what is wrong and where, and end with a `(hint: …)` when there is something to do.

use std::path::PathBuf;

/// A scenario file that cannot be read or is not valid.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{path}: cannot read scenario: {source}")]
    Io {
        /// The scenario file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The scenarios directory holds no scenario file: running or checking nothing must not
    /// look like a pass.
    #[error("{path}: no scenario files (`*.toml`) in this directory (hint: pass the directory that holds them with `--scenarios DIR`, or add one, see the README)")]
    NoScenarios {
        /// The directory.
        path: PathBuf,
    },
    /// The file is not valid: syntax, unknown keys, wrong types or values.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The scenario file.
        path: PathBuf,
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column of the offending text.
        column: usize,
        /// What is wrong, with the valid choices where there are some.
        message: String,
    },
}

/// A scenario could not be run to a timeline.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A process could not be started.
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The build step failed.
    #[error("build step `{command}` failed with {status}:\n{stderr_tail}")]
    Build {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// The last lines it printed on stderr.
        stderr_tail: String,
    },
    /// A `[build] inputs` entry names no file, or a file outside the repository.
    #[error("build input `{input}`: {message}")]
    Input {
        /// The input as written.
        input: String,
        /// What is wrong with it.
        message: String,
    },
    /// A cabal build could not be found or gave no executable (`[build] cabal`).
    #[error("cabal: {0}")]
    Cabal(String),
    /// A GHC program refused the RTS options membound runs it with: it was linked without
    /// `-rtsopts` or `-eventlog`.
    #[error("`{program}` was linked without `{flag}`, so its RTS refuses the options membound profiles it with (hint: {fix}, then run again){}", stderr_block(.stderr_tail))]
    NotLinkedForProfiling {
        /// The program.
        program: String,
        /// The link option it lacks.
        flag: &'static str,
        /// What to change in the build.
        fix: String,
        /// The head and tail of its stderr (the RTS's message).
        stderr_tail: String,
    },
    /// The probe child sent something that is not a sample.
    #[error("probe protocol error: {0}")]
    Protocol(String),
    /// The probe or program failed: crash, non-zero exit, or killed by the budget.
    #[error("{what} ({status}){figures}{}", stderr_block(.stderr_tail))]
    Child {
        /// What went wrong, e.g. `timed out after 60s`.
        what: String,
        /// The exit status as the OS reported it, signals by name (`killed by SIGSEGV`).
        status: String,
        /// The figures so far, e.g. `; so far: peak heap 7.86 MiB, last census (#294) …, top
        /// types: …`; empty when there is no sample.
        figures: String,
        /// The last lines the child printed on stderr.
        stderr_tail: String,
        /// The profile up to the failure, with its samples when the source read them again
        /// for the failure (a profile the program wrote); a simulator's went to the run's
        /// sink as they came, and this holds none.
        timeline: Box<crate::Timeline>,
    },
    /// The simulator rejected the circuit or its parameters.
    #[error("simulator: {0}")]
    Sim(String),
    /// The profile the program wrote could not be read.
    #[error("reading the profile {path}: {message}")]
    Profile {
        /// The profile file.
        path: PathBuf,
        /// The reader's error.
        message: String,
    },
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `on_violation = "pause"` where nobody can continue the program (`CI=true`).
    #[error("scenario `{scenario}`: refusing to pause at a violation under CI=true, where nobody would continue the program (hint: `--on-violation stop`, or run it outside CI)")]
    PauseRefused {
        /// The scenario.
        scenario: String,
    },
    /// The live watch stopped the program at a violation that the check of the censuses up
    /// to it, with every marker placed, does not find: a marker reached the watch after the
    /// census it moves had been checked. The run is incomplete, so it is neither a pass nor
    /// this violation.
    #[error("scenario `{scenario}`: the live watch stopped the program at census {census} for a violation that the check with every marker placed does not confirm (a marker was written after that census was checked; the program may have been descheduled between the two); the run is incomplete (hint: run it again)")]
    UnconfirmedStop {
        /// The scenario.
        scenario: String,
        /// The census the program was stopped at.
        census: u64,
    },
}

/// A baseline that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a valid baseline.
    #[error("{path}:{line}:{column}: not a valid baseline: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
        /// The scenario it belongs to.
        scenario: String,
    },
    /// A run whose invariants fail must not become the baseline.
    #[error("refusing to bless `{scenario}`: {} not as declared (hint: a leak cannot be blessed into the baseline; fix it, or declare `expect = \"violated\"` if the scenario exists to catch it)\n{explanation}", invariant_list(.invariants))]
    InvariantFailed {
        /// The scenario.
        scenario: String,
        /// The invariants that are not as declared.
        invariants: Vec<String>,
        /// Why, as the run explained it.
        explanation: String,
    },
}

impl BaselineError {
    /// The error with the command that recovers from it: a file that cannot be read is
    /// replaced by `--force`, which neither reads the old baseline nor a pending result.
    /// `forced` gives the command that force-blesses a scenario, quoted for a shell.
    pub fn with_hint(&self, forced: &dyn Fn(&str) -> String) -> String {
        match self {
            BaselineError::Parse { path, scenario, .. } => {
                let command = forced(scenario);
                let what = if path.extension().is_some_and(|e| e == "new") {
                    format!("delete {} or run `{command}`", path.display())
                } else {
                    format!("re-create it with `{command}`")
                };
                format!("{self} (hint: {what})")
            }
            _ => self.to_string(),
        }
    }
}

fn invariant_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.len() {
        1 => format!("invariant {} is", quoted[0]),
        _ => format!("invariants {} are", quoted.join(", ")),
    }
}

/// The tail of a child's stderr as a block, or nothing when it printed nothing.
fn stderr_block(tail: &str) -> String {
    if tail.trim().is_empty() {
        String::new()
    } else {
        format!("\n--- stderr (tail) ---\n{tail}")
    }
}

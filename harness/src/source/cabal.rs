//! Cabal builds (`[build] cabal = "test:unittests"`): the program is a component of the
//! nearest cabal project above the scenarios directory (a directory with `cabal.project`, or
//! else one with a `*.cabal` file). membound runs `cabal build TARGET` there on every run, and
//! never caches by input hash: cabal decides what is stale, and a no-op build is cheap. The
//! executable is what `cabal list-bin TARGET` prints. The profiled build for attribution is
//! the same with `--enable-profiling --profiling-detail=all-functions` into a build directory
//! of its own under the work directory, so it never disturbs the project's `dist-newstyle/`.
//!
//! membound does not touch cabal's configuration: `CABAL_DIR` and the rest of the environment
//! are the user's (an offline machine sets `CABAL_DIR` to a directory whose `config` names no
//! repository; README, "Cabal projects").
//!
//! Every cabal command runs supervised like any build step (own process group, the build's
//! timeout, nothing left behind); a failure keeps the head and tail of cabal's stderr.

use super::build::run_step;
use super::{Event, RunConfig};
use crate::errors::RunError;
use crate::scenario::{Build, CabalTarget};
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// Which build of a cabal target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavour {
    /// The project's own build, in its `dist-newstyle/`.
    Plain,
    /// Profiled, for attribution, in `<work>/cabal-prof/<project>/`.
    Profiled,
}

/// The nearest cabal project at or above `dir`: the nearest directory with a `cabal.project`,
/// or, when there is none, the nearest with a `*.cabal` package description.
pub(crate) fn find_project(dir: &Path) -> Result<PathBuf, RunError> {
    let start = std::path::absolute(dir).map_err(|source| RunError::Io {
        path: dir.to_owned(),
        source,
    })?;
    if let Some(p) = start
        .ancestors()
        .find(|d| d.join("cabal.project").is_file())
    {
        return Ok(p.to_owned());
    }
    if let Some(p) = start.ancestors().find(|d| !cabal_files(d).is_empty()) {
        return Ok(p.to_owned());
    }
    Err(RunError::Cabal(format!(
        "no cabal project at or above {} (no `cabal.project` and no `*.cabal` file) (hint: a `[build] cabal` scenario lives in its cabal project, e.g. in `scenarios/` beside `cabal.project`)",
        start.display()
    )))
}

/// The `*.cabal` files directly in `dir`.
fn cabal_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cabal") && p.is_file())
        .collect()
}

/// Builds `target` of the project above the scenarios directory and returns its executable.
pub(crate) fn build(
    target: &CabalTarget,
    b: &Build,
    flavour: Flavour,
    cfg: &RunConfig,
    on_event: &mut dyn FnMut(Event),
) -> Result<PathBuf, RunError> {
    let project = find_project(&cfg.scenarios_dir)?;
    let work = std::path::absolute(&cfg.work_dir).map_err(|source| RunError::Io {
        path: cfg.work_dir.clone(),
        source,
    })?;
    let scratch = work.join("cabal");
    std::fs::create_dir_all(&scratch).map_err(|source| RunError::Io {
        path: scratch.clone(),
        source,
    })?;
    let key = format!("{:016x}", fnv(project.to_string_lossy().as_bytes()));
    let flags = flavour_flags(flavour, &work, &key);
    // Scenarios of one project run in parallel (threads or processes): cabal's build
    // directory takes one builder at a time.
    let lock = super::build::lock_exclusive(&scratch.join(format!("{key}.lock")))?;
    let report = scratch.join(format!("{key}.launcher"));
    let mut build_argv = vec!["cabal".to_owned(), "build".to_owned()];
    build_argv.extend(flags.iter().cloned());
    build_argv.push(target.0.clone());
    on_event(Event::Building(format!(
        "{} (in {})",
        build_argv.join(" "),
        project.display()
    )));
    run_step(
        &build_argv,
        &project,
        Stdio::null(),
        b.timeout,
        cfg,
        &report,
    )?;
    // `list-bin` prints one line, the path; to a file, so the launcher's stdout stays plain.
    let listed = scratch.join(format!("{key}.list-bin"));
    let out = std::fs::File::create(&listed).map_err(|source| RunError::Io {
        path: listed.clone(),
        source,
    })?;
    let mut list_argv = vec!["cabal".to_owned(), "list-bin".to_owned()];
    list_argv.extend(flags);
    list_argv.push(target.0.clone());
    run_step(
        &list_argv,
        &project,
        Stdio::from(out),
        b.timeout,
        cfg,
        &report,
    )?;
    let text = std::fs::read_to_string(&listed).map_err(|source| RunError::Io {
        path: listed.clone(),
        source,
    })?;
    drop(lock);
    listed_exe(&text, &list_argv, &project, target)
}

/// The options of a build's flavour: the profiled one builds with profiling into its own
/// build directory, `<work>/cabal-prof/<project>/`.
fn flavour_flags(flavour: Flavour, work: &Path, key: &str) -> Vec<String> {
    match flavour {
        Flavour::Plain => Vec::new(),
        Flavour::Profiled => {
            let dir = work.join("cabal-prof").join(key);
            vec![
                "--enable-profiling".into(),
                // -fprof-auto, as for a `ghc` build (`diagnose`): local bindings get cost
                // centres, so thunks are attributed to the program's code.
                "--profiling-detail=all-functions".into(),
                format!("--builddir={}", dir.display()),
            ]
        }
    }
}

/// The executable `cabal list-bin` printed (`text`, its last non-empty line), which must be a
/// file.
fn listed_exe(
    text: &str,
    list_argv: &[String],
    project: &Path,
    target: &CabalTarget,
) -> Result<PathBuf, RunError> {
    let exe = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(str::trim);
    match exe {
        Some(p) if Path::new(p).is_file() => Ok(PathBuf::from(p)),
        _ => Err(RunError::Cabal(format!(
            "`{}` in {} printed {:?}, not the path of a built executable (hint: `cabal = \"{}\"` must name one executable component: `exe:NAME`, `test:NAME` or `bench:NAME`)",
            list_argv.join(" "),
            project.display(),
            text.trim(),
            target.0
        ))),
    }
}

/// The source files of the project's own packages, relative to their package directory (as
/// GHC, run by cabal in that directory, names them in a `.prof`): a cost centre in one of
/// them is the program's own code. The packages are those `cabal.project` lists under
/// `packages:` (directories, `.cabal` files, or globs of either), or the project directory.
pub(crate) fn own_files(cfg: &RunConfig) -> Result<Vec<String>, RunError> {
    let project = find_project(&cfg.scenarios_dir)?;
    let mut files = Vec::new();
    for dir in package_dirs(&project) {
        collect_sources(&dir, &dir, &mut files);
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// The package directories of `cabal.project`'s `packages:` field.
fn package_dirs(project: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(project.join("cabal.project")) else {
        return vec![project.to_owned()];
    };
    let mut entries = Vec::new();
    let mut in_packages = false;
    for line in text.lines() {
        let code = line.split("--").next().unwrap_or("");
        if code.trim().is_empty() {
            continue;
        }
        let indented = code.starts_with(' ') || code.starts_with('\t');
        let rest = if let Some(r) = code.trim_start().strip_prefix("packages:") {
            in_packages = true;
            r
        } else if indented && in_packages {
            code
        } else {
            in_packages = false;
            continue;
        };
        entries.extend(rest.split_whitespace().map(str::to_owned));
    }
    let mut dirs = Vec::new();
    for e in entries {
        let path = project.join(&e);
        if e.contains('*') {
            // `*/` or `*/*.cabal`: one level of directories below the part before the glob.
            let base = e.split('*').next().unwrap_or("");
            let base = project.join(base);
            let parent = if base.is_dir() {
                base
            } else {
                base.parent().map_or(project.to_owned(), Path::to_owned)
            };
            if let Ok(rd) = std::fs::read_dir(&parent) {
                dirs.extend(
                    rd.flatten()
                        .map(|d| d.path())
                        .filter(|d| !cabal_files(d).is_empty()),
                );
            }
        } else if path.extension().is_some_and(|x| x == "cabal") {
            dirs.extend(path.parent().map(Path::to_owned));
        } else {
            dirs.push(path);
        }
    }
    if dirs.is_empty() {
        dirs.push(project.to_owned());
    }
    dirs
}

/// Every `.hs`/`.lhs` file under `dir`, relative to `root`, skipping build output and hidden
/// directories.
fn collect_sources(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            if !name.starts_with('.') && name != "dist-newstyle" && name != "dist" {
                collect_sources(root, &p, out);
            }
        } else if p.extension().is_some_and(|x| x == "hs" || x == "lhs") {
            if let Ok(rel) = p.strip_prefix(root) {
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
}

/// Why a GHC program refused the RTS options membound runs it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    /// Linked without `-rtsopts`: "Most RTS options are disabled".
    NoRtsopts,
    /// Linked without `-eventlog`: "the flag -l requires the program to be built with
    /// -eventlog".
    NoEventlog,
}

impl LinkProblem {
    /// What GHC's RTS said, found in the head of the program's stderr.
    pub fn detect(stderr: &str) -> Option<LinkProblem> {
        if stderr.contains("Link with -rtsopts") {
            Some(LinkProblem::NoRtsopts)
        } else if stderr.contains("requires the program to be built with -eventlog") {
            Some(LinkProblem::NoEventlog)
        } else {
            None
        }
    }

    /// The link option the program lacks.
    pub fn flag(self) -> &'static str {
        match self {
            LinkProblem::NoRtsopts => "-rtsopts",
            LinkProblem::NoEventlog => "-eventlog",
        }
    }
}

/// What to change so that a program built by `build` takes membound's RTS options.
pub(crate) fn link_fix(build: Option<&Build>) -> String {
    match build {
        Some(Build { cabal: Some(t), .. }) => format!(
            "add `ghc-options: -rtsopts -eventlog` to the component `{}` in its .cabal file",
            t.0
        ),
        Some(_) => "add `-rtsopts` and `-eventlog` to `[build] command`".into(),
        None => "link the program with `ghc -rtsopts -eventlog`".into(),
    }
}

/// FNV-1a of a project's path: its scratch files' and profiled build directory's name.
fn fnv(bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rts_says_which_link_option_is_missing() {
        assert_eq!(
            LinkProblem::detect(
                "p: Most RTS options are disabled. Link with -rtsopts to enable them."
            ),
            Some(LinkProblem::NoRtsopts)
        );
        assert_eq!(
            LinkProblem::detect("p: the flag -l requires the program to be built with -eventlog, -prof or -debug\np: \np: Usage: <prog>"),
            Some(LinkProblem::NoEventlog)
        );
        assert_eq!(LinkProblem::detect("p: Prelude.head: empty list"), None);
    }

    #[test]
    fn packages_of_a_cabal_project_are_its_own_code() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("project");
        for dir in [
            "project/src",
            "project/test",
            "project/dist-newstyle/x",
            "markers/src",
            "libs/a/src",
        ] {
            std::fs::create_dir_all(d.path().join(dir)).unwrap();
        }
        for f in [
            "project/p.cabal",
            "project/src/Counter.hs",
            "project/test/Tests.hs",
            "project/dist-newstyle/x/Gen.hs",
            "markers/src/Membound.hs",
            "libs/a/a.cabal",
            "libs/a/src/A.hs",
        ] {
            std::fs::write(d.path().join(f), "").unwrap();
        }
        std::fs::write(
            root.join("cabal.project"),
            "-- the project\npackages: .\n          ../markers -- by path\n          ../libs/*/*.cabal\ntests: True\n",
        )
        .unwrap();
        let cfg = RunConfig {
            probe_program: PathBuf::new(),
            scenarios_dir: root.join("src"),
            work_dir: d.path().join("work"),
            on_violation: None,
            allow_pause: false,
        };
        assert_eq!(find_project(&cfg.scenarios_dir).unwrap(), root);
        assert_eq!(
            own_files(&cfg).unwrap(),
            [
                "src/A.hs",
                "src/Counter.hs",
                "src/Membound.hs",
                "test/Tests.hs"
            ]
        );
    }
}

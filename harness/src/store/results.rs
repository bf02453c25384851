//! Reading the result files runs leave (`Store::write_result`) for `report`: one directory, or
//! the directories of a suite's partitions merged into one set, one result per scenario.
//!
//! A result file is checked as a baseline is: a key given twice is refused, and a parse error
//! names file, line and column.

use super::{read_run, NoDuplicateKeys, Provenance, Stamped};
use crate::errors::BaselineError;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A result file as a report reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultFile<T> {
    /// The file.
    pub path: PathBuf,
    /// The result, with the run and the scenario file it came from.
    pub stamped: Stamped<T>,
    /// The run its directory holds results of; `None` for a directory written before runs
    /// were recorded (no `run.id`).
    pub dir_run: Option<String>,
}

impl<T> ResultFile<T> {
    /// Where the result stands against its directory's run and its scenario file as it is now
    /// (`scenario_file`, read here).
    pub fn provenance(&self, scenario_file: &Path) -> Result<Provenance, ResultsError> {
        let now = std::fs::read(scenario_file).map_err(|error| ResultsError::Io {
            path: scenario_file.to_owned(),
            error,
        })?;
        Ok(self.stamped.provenance(self.dir_run.as_deref(), &now))
    }
}

/// Why results could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// The results directory cannot be listed.
    #[error("reading results in {} (hint: run `cargo xtask run` or `cargo test` first): {error}", .dir.display())]
    NoDirectory {
        /// The directory.
        dir: PathBuf,
        /// Why it cannot be listed.
        error: std::io::Error,
    },
    /// A file cannot be read.
    #[error("reading {}: {error}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A file is not a result file.
    #[error("{}:{line}:{column}: not a result file: {message} (hint: results are written by runs; run again, or remove the file)", .path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The directory's run cannot be read.
    #[error(transparent)]
    Run(#[from] BaselineError),
    /// Two directories hold a result of one scenario: which one a report shows would be chance.
    #[error("scenario `{scenario}` has results in two directories: {} and {} (hint: each partition writes its own results directory and runs each scenario once; remove the stale one)", .first.display(), .second.display())]
    TwoDirectories {
        /// The scenario.
        scenario: String,
        /// The first file found.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
}

/// The result files of one directory (`*.json`), in name order.
pub fn read_dir<T: DeserializeOwned>(dir: &Path) -> Result<Vec<ResultFile<T>>, ResultsError> {
    let entries = std::fs::read_dir(dir).map_err(|error| ResultsError::NoDirectory {
        dir: dir.to_owned(),
        error,
    })?;
    let dir_run = read_run(dir)?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|error| ResultsError::Io {
                path: path.clone(),
                error,
            })?;
            Ok(ResultFile {
                stamped: parse(&text, &path)?,
                path,
                dir_run: dir_run.clone(),
            })
        })
        .collect()
}

/// The results of every directory, by scenario (named by `scenario`): one scenario, one result.
pub fn merge<T: DeserializeOwned>(
    dirs: &[PathBuf],
    scenario: impl Fn(&T) -> &str,
) -> Result<BTreeMap<String, ResultFile<T>>, ResultsError> {
    let mut found: BTreeMap<String, ResultFile<T>> = BTreeMap::new();
    for dir in dirs {
        for r in read_dir::<T>(dir)? {
            let name = scenario(&r.stamped.result).to_owned();
            if let Some(other) = found.get(&name) {
                return Err(ResultsError::TwoDirectories {
                    scenario: name,
                    first: other.path.clone(),
                    second: r.path,
                });
            }
            found.insert(name, r);
        }
    }
    Ok(found)
}

/// A result file's text, checked like a baseline's: no key given twice.
fn parse<T: DeserializeOwned>(text: &str, path: &Path) -> Result<Stamped<T>, ResultsError> {
    let error = |e: serde_json::Error| ResultsError::Parse {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    };
    let stamped = serde_json::from_str(text).map_err(error)?;
    serde_json::from_str::<NoDuplicateKeys>(text).map_err(error)?;
    Ok(stamped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct R {
        scenario: String,
        #[serde(default)]
        figures: BTreeMap<String, u64>,
    }

    fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            std::fs::write(d.path().join(name), text).expect("write");
        }
        d
    }

    #[test]
    fn a_results_directory_is_read_in_name_order_with_its_run() {
        let d = dir(&[
            ("b.json", r#"{"run": "r1", "scenario": "b"}"#),
            ("a.json", r#"{"scenario": "a"}"#),
            ("run.id", "r1\n"),
            ("a.lock", ""),
        ]);
        let read = read_dir::<R>(d.path()).expect("read");
        let names: Vec<&str> = read
            .iter()
            .map(|r| r.stamped.result.scenario.as_str())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(read[1].stamped.run.as_deref(), Some("r1"));
        assert_eq!(read[0].dir_run.as_deref(), Some("r1"));
    }

    #[test]
    fn a_key_given_twice_is_refused_with_its_place() {
        // serde refuses a struct's field given twice itself; a map's key only this check.
        let text = "{\"scenario\": \"a\", \"figures\": {\"peak\": 1,\n \"peak\": 2}}";
        let d = dir(&[("a.json", text)]);
        let e = read_dir::<R>(d.path()).expect_err("refused").to_string();
        assert!(e.contains("a.json:2:") && e.contains("given twice"), "{e}");
    }

    #[test]
    fn one_scenario_in_two_directories_is_refused() {
        let (p, q) = (
            dir(&[("a.json", r#"{"scenario": "a"}"#)]),
            dir(&[("a.json", r#"{"scenario": "a"}"#)]),
        );
        let dirs = [p.path().to_owned(), q.path().to_owned()];
        let e = merge::<R>(&dirs, |r| &r.scenario).expect_err("refused");
        assert!(
            e.to_string()
                .contains("scenario `a` has results in two directories"),
            "{e}"
        );
        let one = merge::<R>(&dirs[..1], |r| &r.scenario).expect("one");
        assert_eq!(one.keys().collect::<Vec<_>>(), ["a"]);
    }

    #[test]
    fn a_missing_directory_says_how_to_make_results() {
        let e = read_dir::<R>(Path::new("/nonexistent/results")).expect_err("missing");
        assert!(e.to_string().contains("hint: run"), "{e}");
    }
}

//! Baselines as git committed them: the store's data at a ref or a past commit, and the commits
//! that changed it, for `report --base` and `history`.
//!
//! Git runs in the current directory (the repository's work tree). A baseline read at a ref
//! passes the same checks as one read from disk ([`super::parse_baseline`]); one read at a past
//! commit is read in any form the repository ever committed ([`super::parse_committed`]).
//! Errors say what git said and how to recover (the fetch to run for an unknown ref).

use super::{parse_baseline, parse_committed, Baseline, Store};
use crate::errors::BaselineError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A commit as reports name it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Commit {
    /// The abbreviated id, as `git log --format=%h` prints it.
    pub id: String,
    /// The committer date, `YYYY-MM-DD` (`%cs`); empty when not known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub date: String,
    /// The subject line.
    pub subject: String,
}

/// Why git could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// Git could not be started.
    #[error("running git {args} (hint: is git installed?): {error}")]
    Spawn {
        /// The arguments, joined by spaces.
        args: String,
        /// Why it could not start.
        error: std::io::Error,
    },
    /// Git ran and failed.
    #[error("git {args} failed: {stderr} (hint: {hint})")]
    Failed {
        /// The arguments, joined by spaces.
        args: String,
        /// What git said.
        stderr: String,
        /// How to recover.
        hint: String,
    },
    /// Git printed something that is not UTF-8 text.
    #[error("git {args} printed text that is not UTF-8")]
    NotUtf8 {
        /// The arguments, joined by spaces.
        args: String,
    },
    /// Git printed something that is not what was asked for.
    #[error("git {args} printed `{output}`")]
    Unexpected {
        /// The arguments, joined by spaces.
        args: String,
        /// What it printed.
        output: String,
    },
    /// A ref git does not know.
    #[error("git does not know the ref `{git_ref}`: {error}")]
    UnknownRef {
        /// The ref.
        git_ref: String,
        /// What git said, with the fetch to run.
        error: Box<GitError>,
    },
    /// A committed file is not a baseline this version reads.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
}

/// The repository's record of a store's baselines (the current directory's repository).
#[derive(Debug, Clone, Copy)]
pub struct Repo<'a> {
    store: &'a Store,
}

/// One commit that added, modified or deleted baselines, as `git log --name-status` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedCommit {
    /// The commit as reports name it.
    pub commit: Commit,
    /// Its full id, to read files at.
    pub full: String,
    /// The baseline files it touched, from the repository's root.
    pub files: Vec<Touched>,
}

/// A baseline file a commit touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touched {
    /// The path from the repository's root (`<commit>:<path>` reads it).
    pub path: String,
    /// Whether the commit deleted it.
    pub deleted: bool,
}

impl Touched {
    /// The scenario the file is the baseline of (its name without `.json`).
    pub fn scenario(&self) -> Option<String> {
        Path::new(&self.path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
    }
}

/// The separator of fields in the `--format` of git log (a control character no subject has).
const FIELD: char = '\u{1f}';
/// The separator of records in the `--format` of git log.
const RECORD: char = '\u{1e}';
/// The commit fields reports show: short id, committer date, subject.
const COMMIT_FORMAT: &str = "--format=%h%x1f%cs%x1f%s";
/// What to do when git fails outside a ref: the history needs the repository.
const IN_REPOSITORY: &str =
    "run it inside the repository's work tree, with the baselines committed";

impl<'a> Repo<'a> {
    /// The repository's record of `store`'s baselines.
    pub fn new(store: &'a Store) -> Repo<'a> {
        Repo { store }
    }

    /// Fails early, with the fetch to run, when git does not know the ref.
    pub fn check_ref(&self, git_ref: &str) -> Result<(), GitError> {
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
        .map_err(|e| GitError::UnknownRef {
            git_ref: git_ref.to_owned(),
            error: Box::new(e),
        })
    }

    /// The scenarios with a baseline committed at the ref.
    pub fn baselines_at(&self, git_ref: &str) -> Result<Vec<String>, GitError> {
        let listing = git(
            &["ls-tree", "--name-only", git_ref, "--", &self.dir()],
            &fetch_hint(git_ref),
        )?;
        Ok(listing
            .lines()
            .filter_map(|l| Path::new(l).file_name()?.to_str()?.strip_suffix(".json"))
            .map(str::to_owned)
            .collect())
    }

    /// Scenarios whose baseline exists at the ref but not in the working tree: removed since.
    pub fn removed_since(&self, git_ref: &str) -> Result<Vec<String>, GitError> {
        Ok(self
            .baselines_at(git_ref)?
            .into_iter()
            .filter(|name| !self.store.path(name).exists())
            .collect())
    }

    /// The last commit after the ref that changed a scenario's baseline; `None` if none did
    /// (the change is not committed yet).
    pub fn last_commit(&self, git_ref: &str, scenario: &str) -> Result<Option<Commit>, GitError> {
        let range = format!("{git_ref}..HEAD");
        let path = self.store.path(scenario);
        let path = path.to_string_lossy();
        let out = git(
            &["log", "-1", COMMIT_FORMAT, &range, "--", &path],
            &fetch_hint(git_ref),
        )?;
        Ok(out.lines().next().and_then(parse_commit))
    }

    /// The commit a ref names.
    pub fn commit_at(&self, git_ref: &str) -> Result<Option<Commit>, GitError> {
        let out = git(&["log", "-1", COMMIT_FORMAT, git_ref], &fetch_hint(git_ref))?;
        Ok(out.lines().next().and_then(parse_commit))
    }

    /// A scenario's baseline as committed at a ref, checked as one read from disk is; `None`
    /// if the file does not exist there.
    pub fn baseline_at(&self, git_ref: &str, scenario: &str) -> Result<Option<Baseline>, GitError> {
        let path = self.store.path(scenario);
        let Some(bytes) = show(git_ref, &path)? else {
            return Ok(None);
        };
        let origin = std::path::PathBuf::from(format!("{git_ref}:{}", path.display()));
        let text = String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let before = String::from_utf8_lossy(&e.as_bytes()[..at]);
            let (line, column) = crate::spec::text::line_col(&before, at);
            BaselineError::Parse {
                path: origin.clone(),
                line,
                column,
                message: format!("not UTF-8 text: {}", e.utf8_error()),
                scenario: scenario.to_owned(),
            }
        })?;
        Ok(Some(parse_baseline(&text, &origin, scenario)?))
    }

    /// A baseline as committed at a past commit (`path` from the repository's root), in any
    /// form the repository ever committed: `Ok(None)` if the file does not exist there,
    /// `Ok(Some(Err(why)))` if it cannot be read (a history shows that commit as unreadable
    /// and goes on). Only git failing is an error.
    pub fn baseline_in_past(
        &self,
        commit: &str,
        path: &Path,
    ) -> Result<Option<Result<Baseline, String>>, GitError> {
        let origin = format!("{commit}:{}", path.display());
        Ok(
            show(commit, path)?.map(|bytes| match String::from_utf8(bytes) {
                Ok(text) => parse_committed(&text, &origin).map_err(|e| e.to_string()),
                Err(e) => Err(format!("{origin}: not UTF-8 text: {e}")),
            }),
        )
    }

    /// The commits that added, modified or deleted the store's baselines (after `since`, when
    /// given), oldest first.
    pub fn baseline_log(&self, since: Option<&str>) -> Result<Vec<LoggedCommit>, GitError> {
        let dir = self.dir();
        let range = since.map(|r| format!("{r}..HEAD"));
        let mut args = vec![
            "log",
            "--no-renames",
            "--name-status",
            "--format=%x1e%H%x1f%h%x1f%cs%x1f%s",
        ];
        if let Some(r) = &range {
            args.push(r);
        }
        args.extend(["--", &dir]);
        let mut commits = parse_log(&git(&args, IN_REPOSITORY)?);
        commits.reverse();
        Ok(commits)
    }

    /// How many commits a shallow clone holds; `None` when the clone is whole.
    pub fn shallow_depth(&self) -> Result<Option<usize>, GitError> {
        let shallow = git(&["rev-parse", "--is-shallow-repository"], IN_REPOSITORY)?;
        if shallow.trim() != "true" {
            return Ok(None);
        }
        let args = ["rev-list", "--count", "HEAD"];
        let depth = git(&args, IN_REPOSITORY)?;
        depth
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| GitError::Unexpected {
                args: args.join(" "),
                output: depth.trim().to_owned(),
            })
    }

    /// The baselines directory as git takes it: a directory, not a file of that name.
    fn dir(&self) -> String {
        format!("{}/", self.store.dir.display())
    }
}

/// How to get a ref git does not know: `origin/main` is fetched from `origin`.
pub fn fetch_hint(git_ref: &str) -> String {
    match git_ref.split_once('/') {
        Some((remote, branch)) if !remote.is_empty() && !branch.is_empty() => {
            format!("fetch the base ref: git fetch {remote} {branch}")
        }
        _ => format!("fetch the base ref: git fetch origin {git_ref}"),
    }
}

/// A commit from a line in [`COMMIT_FORMAT`]; `None` if it has fewer fields.
fn parse_commit(line: &str) -> Option<Commit> {
    let mut f = line.splitn(3, FIELD);
    Some(Commit {
        id: f.next()?.to_owned(),
        date: f.next()?.to_owned(),
        subject: f.next()?.to_owned(),
    })
}

/// The records of `git log --name-status` in [`Repo::baseline_log`]'s format, newest first:
/// each commit's full id and fields, then its `.json` files with their status.
fn parse_log(log: &str) -> Vec<LoggedCommit> {
    log.split(RECORD)
        .filter(|r| !r.trim().is_empty())
        .filter_map(|record| {
            let mut lines = record.lines();
            let (full, rest) = lines.next()?.split_once(FIELD)?;
            let commit = parse_commit(rest)?;
            let files = lines
                .filter_map(|l| {
                    let (status, path) = l.split_once('\t')?;
                    Some(Touched {
                        path: path.to_owned(),
                        deleted: status.starts_with('D'),
                    })
                })
                .filter(|t| t.path.ends_with(".json"))
                .collect();
            Some(LoggedCommit {
                commit,
                full: full.to_owned(),
                files,
            })
        })
        .collect()
}

/// Runs git with these arguments and returns its standard output; a failure says what git
/// said and, as `hint`, how to recover.
fn git(args: &[&str], hint: &str) -> Result<String, GitError> {
    let joined = || args.join(" ");
    let out = std::process::Command::new("git")
        .args(args)
        .output()
        .map_err(|error| GitError::Spawn {
            args: joined(),
            error,
        })?;
    if !out.status.success() {
        return Err(GitError::Failed {
            args: joined(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            hint: hint.to_owned(),
        });
    }
    String::from_utf8(out.stdout).map_err(|_| GitError::NotUtf8 { args: joined() })
}

/// A file's bytes as committed at a git ref; `None` if it does not exist there.
fn show(git_ref: &str, path: &Path) -> Result<Option<Vec<u8>>, GitError> {
    let spec = format!("{git_ref}:{}", path.display());
    let out = std::process::Command::new("git")
        .arg("show")
        .arg(&spec)
        .output()
        .map_err(|error| GitError::Spawn {
            args: format!("show {spec}"),
            error,
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("does not exist") || err.contains("exists on disk, but not in") {
            return Ok(None);
        }
        return Err(GitError::Failed {
            args: format!("show {spec}"),
            stderr: err.trim().to_owned(),
            hint: fetch_hint(git_ref),
        });
    }
    Ok(Some(out.stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_line_has_id_date_and_subject() {
        let c = parse_commit("abc1234\u{1f}2026-11-03\u{1f}bless: a \u{1f} in a subject");
        assert_eq!(
            c,
            Some(Commit {
                id: "abc1234".into(),
                date: "2026-11-03".into(),
                subject: "bless: a \u{1f} in a subject".into(),
            })
        );
        assert_eq!(parse_commit("abc1234"), None);
    }

    #[test]
    fn the_log_lists_baselines_touched_with_deletions() {
        let log = "\u{1e}f00d\u{1f}f00\u{1f}2026-11-02\u{1f}second\n\nM\tbaselines/a.json\nD\tbaselines/b.json\nM\tbaselines/notes.txt\n\
                   \u{1e}beef\u{1f}bee\u{1f}2026-11-01\u{1f}first\n\nA\tbaselines/a.json\n";
        let commits = parse_log(log);
        assert_eq!(commits.len(), 2);
        assert_eq!(commits[0].full, "f00d");
        assert_eq!(commits[0].commit.subject, "second");
        let touched: Vec<(Option<String>, bool)> = commits[0]
            .files
            .iter()
            .map(|t| (t.scenario(), t.deleted))
            .collect();
        assert_eq!(
            touched,
            [(Some("a".into()), false), (Some("b".into()), true)]
        );
        assert_eq!(commits[1].commit.id, "bee");
        assert_eq!(parse_log(""), []);
    }

    #[test]
    fn the_hint_fetches_from_the_refs_remote() {
        assert_eq!(
            fetch_hint("upstream/main"),
            "fetch the base ref: git fetch upstream main"
        );
        assert_eq!(
            fetch_hint("v1.2"),
            "fetch the base ref: git fetch origin v1.2"
        );
        assert_eq!(fetch_hint("/x"), "fetch the base ref: git fetch origin /x");
    }
}

//! `[build] inputs` of a command build, expanded to the files whose contents key its cache.
//! An input is relative to the scenarios directory and is a file, a directory (every file
//! below it: a GHC `-i` source directory) or a glob (`haskell/*.hs`, where `*` matches any
//! run of characters, `/` included). It may leave the scenarios directory (`../src`) but not
//! the repository: the nearest directory at or above the scenarios directory holding `.git`
//! (the scenarios directory itself outside a repository).

use crate::errors::RunError;
use crate::spec::text::glob_match;
use std::path::{Component, Path, PathBuf};

/// One file of an input: its name as the build's commands see it (relative to the scenarios
/// directory, as GHC names sources it compiles there) and its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InputFile {
    /// Relative to the scenarios directory, `/`-separated: `haskell/Main.hs`, `../src/A.hs`.
    pub name: String,
    /// Where it is.
    pub path: PathBuf,
}

/// The files of `inputs`, each input's in name order, in the order of the inputs.
pub(crate) fn expand(scenarios_dir: &Path, inputs: &[PathBuf]) -> Result<Vec<InputFile>, RunError> {
    let dir = std::path::absolute(scenarios_dir).map_err(|source| RunError::Io {
        path: scenarios_dir.to_owned(),
        source,
    })?;
    let dir = normalise(&dir);
    let root = dir
        .ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(&dir)
        .to_owned();
    let mut files = Vec::new();
    for input in inputs {
        let text = input.to_string_lossy();
        let bad = |message: String| RunError::Input {
            input: text.clone().into_owned(),
            message,
        };
        let literal = if text.contains('*') {
            // The directories before the first glob component are walked.
            let comps: Vec<&str> = text.split('/').collect();
            let n = comps.iter().position(|c| c.contains('*')).unwrap_or(0);
            comps[..n].join("/")
        } else {
            text.clone().into_owned()
        };
        let base = normalise(&dir.join(&literal));
        if !base.starts_with(&root) {
            return Err(bad(format!("leaves the repository {} (inputs are relative to the scenarios directory {}, and may reach into the repository around it, not outside it)", root.display(), dir.display())));
        }
        let mut found = Vec::new();
        if text.contains('*') {
            walk(&base, &mut found);
            found.retain(|p| glob_match(&text, &name_of(&literal, &base, p)));
            if found.is_empty() {
                return Err(bad(format!("matches no file under {} (hint: `*` matches any run of characters, `/` included; a glob that matches nothing would leave the build's sources out of its cache key)", base.display())));
            }
        } else if base.is_dir() {
            walk(&base, &mut found);
        } else if base.is_file() {
            found.push(base.clone());
        } else {
            return Err(bad(format!(
                "no such file or directory: {}",
                base.display()
            )));
        }
        let mut named: Vec<InputFile> = found
            .into_iter()
            .map(|p| InputFile {
                name: name_of(&literal, &base, &p),
                path: p,
            })
            .collect();
        named.sort_by(|a, b| a.name.cmp(&b.name));
        files.extend(named);
    }
    Ok(files)
}

/// `p`'s name relative to the scenarios directory: the input's literal part, then the rest.
fn name_of(literal: &str, base: &Path, p: &Path) -> String {
    let rest = p.strip_prefix(base).unwrap_or(p).to_string_lossy();
    match (literal.trim_end_matches('/'), rest.as_ref()) {
        (l, "") => l.to_owned(),
        ("", r) => r.to_owned(),
        (l, r) => format!("{l}/{r}"),
    }
}

/// Every file below `dir`, skipping hidden directories (`.git`) and build output.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if p.is_dir() {
            if !name.starts_with('.') && name != "dist-newstyle" && name != "target" {
                walk(&p, out);
            }
        } else if p.is_file() {
            out.push(p);
        }
    }
}

/// `p` with `.` and `..` resolved lexically (symbolic links are not followed: a link out of
/// the repository is the user's to make).
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for dir in [".git", "scenarios/haskell/sub", "src/Sim", "src/.hidden"] {
            std::fs::create_dir_all(d.path().join(dir)).unwrap();
        }
        for f in [
            "scenarios/haskell/Main.hs",
            "scenarios/haskell/sub/B.hs",
            "scenarios/haskell/notes.txt",
            "src/Sim/A.hs",
            "src/Top.hs",
            "src/.hidden/x.hs",
        ] {
            std::fs::write(d.path().join(f), f).unwrap();
        }
        d
    }

    fn names(d: &Path, inputs: &[&str]) -> Result<Vec<String>, String> {
        let inputs: Vec<PathBuf> = inputs.iter().map(PathBuf::from).collect();
        expand(&d.join("scenarios"), &inputs)
            .map(|f| f.into_iter().map(|f| f.name).collect())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn files_directories_and_globs_expand_to_files_named_as_ghc_names_them() {
        let d = repo();
        assert_eq!(
            names(d.path(), &["haskell/Main.hs"]).unwrap(),
            ["haskell/Main.hs"]
        );
        assert_eq!(
            names(d.path(), &["../src"]).unwrap(),
            ["../src/Sim/A.hs", "../src/Top.hs"]
        );
        assert_eq!(
            names(d.path(), &["haskell/*.hs"]).unwrap(),
            ["haskell/Main.hs", "haskell/sub/B.hs"]
        );
    }

    #[test]
    fn inputs_outside_the_repository_or_matching_nothing_are_refused() {
        let d = repo();
        let e = names(d.path(), &["../../elsewhere.hs"]).unwrap_err();
        assert!(e.contains("leaves the repository"), "{e}");
        let e = names(d.path(), &["haskell/*.lhs"]).unwrap_err();
        assert!(e.contains("matches no file"), "{e}");
        let e = names(d.path(), &["haskell/Missing.hs"]).unwrap_err();
        assert!(e.contains("no such file or directory"), "{e}");
    }
}

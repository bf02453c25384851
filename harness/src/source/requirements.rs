//! Whether the tools a scenario `requires` are installed: a program on `PATH`, or a package in
//! GHC's package database.
//!
//! Asking `ghc-pkg` starts a Haskell program that loads the whole database: 30–100 ms, paid by
//! every run of every GHC scenario, a sizeable part of watching a short program. So a package
//! found is remembered in the work directory (`requirements.json`) together with what the
//! answer depends on: the `ghc-pkg` on `PATH`, `GHC_PACKAGE_PATH`, and each package database
//! directory `ghc-pkg list` names, by modification time (adding or removing a package rewrites
//! its database directory). The next check only reads those times. A package *not* found is
//! never remembered: the check that skips (or, under CI, fails) a scenario always asks afresh.

use super::RunConfig;
use crate::scenario::{Run, Scenario};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::UNIX_EPOCH;

/// Where the cache lives, in the work directory.
const CACHE_FILE: &str = "requirements.json";

/// Checks the tools a scenario requires. `Err` holds a reason with the install command.
pub fn check_requirements(scenario: &Scenario, cfg: &RunConfig) -> Result<(), String> {
    let Run::Command(c) = &scenario.run else {
        return Ok(());
    };
    // A massif run needs valgrind whether or not the scenario says so.
    let implied = (c.profile == crate::scenario::ProfileKind::Massif).then_some("valgrind");
    let cache = cfg.work_dir.join(CACHE_FILE);
    for req in c.requires.iter().map(String::as_str).chain(implied) {
        // A requirement is a program on PATH (`ghc`) or, failing that, a GHC package.
        let found = which(req).is_some() || ghc_package_installed(req, &cache);
        if !found {
            return Err(format!(
                "`{req}` is not installed (hint: `sudo apt-get install -y {}` on Debian/Ubuntu)",
                debian_package(req)
            ));
        }
    }
    Ok(())
}

/// The Debian package that provides a required tool.
fn debian_package(tool: &str) -> String {
    match tool {
        "ghc" | "ghc-pkg" => "ghc".into(),
        "clash-prelude" => "ghc libghc-clash-prelude-dev".into(),
        "clash" => "haskell-clash-ghc-utils".into(),
        "cc" => "gcc".into(),
        "hp2ps" => "ghc".into(),
        t if t.starts_with("clash-") || t.starts_with("ghc-typelits-") => {
            format!("ghc libghc-{t}-dev")
        }
        t => t.into(),
    }
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// What a package found depends on: paths with their modification times (ns since the epoch),
/// and the environment variable that changes which databases `ghc-pkg` reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Evidence {
    ghc_package_path: Option<String>,
    files: Vec<(PathBuf, u128)>,
}

impl Evidence {
    /// The evidence as it stands now for `ghc-pkg` at `ghc_pkg` and these databases.
    fn now(ghc_pkg: &Path, dbs: &[PathBuf]) -> Option<Evidence> {
        let files = std::iter::once(ghc_pkg)
            .chain(dbs.iter().map(PathBuf::as_path))
            .map(|p| Some((p.to_owned(), mtime(p)?)))
            .collect::<Option<Vec<_>>>()?;
        Some(Evidence {
            ghc_package_path: std::env::var("GHC_PACKAGE_PATH").ok(),
            files,
        })
    }

    /// Whether nothing it names has changed, for `ghc-pkg` at `ghc_pkg` (the first file).
    fn holds(&self, ghc_pkg: &Path) -> bool {
        self.files.first().is_some_and(|(p, _)| p == ghc_pkg)
            && self.ghc_package_path == std::env::var("GHC_PACKAGE_PATH").ok()
            && self.files.iter().all(|(p, t)| mtime(p) == Some(*t))
    }
}

fn mtime(p: &Path) -> Option<u128> {
    let m = std::fs::metadata(p).ok()?.modified().ok()?;
    Some(m.duration_since(UNIX_EPOCH).ok()?.as_nanos())
}

type Cache = BTreeMap<String, Evidence>;

fn read_cache(path: &Path) -> Cache {
    // A missing or unreadable cache only means asking ghc-pkg.
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Writes the cache beside itself and renames it into place, so that concurrent runs never
/// read half a file. Failure to write is harmless: the next run asks again.
fn write_cache(path: &Path, cache: &Cache) {
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let Ok(text) = serde_json::to_vec_pretty(cache) else {
        return;
    };
    // A temporary file of its own: scenarios run in threads of one process check at once.
    let Ok(mut tmp) = tempfile::Builder::new()
        .prefix(&format!(".{CACHE_FILE}."))
        .tempfile_in(dir)
    else {
        return;
    };
    use std::io::Write as _;
    if tmp.write_all(&text).is_ok() {
        let _ = tmp.persist(path);
    }
}

fn ghc_package_installed(pkg: &str, cache_path: &Path) -> bool {
    let Some(ghc_pkg) = which("ghc-pkg") else {
        return false;
    };
    let mut cache = read_cache(cache_path);
    if cache.get(pkg).is_some_and(|e| e.holds(&ghc_pkg)) {
        return true;
    }
    let found = Command::new(&ghc_pkg)
        .args(["--simple-output", "field", pkg, "version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        if let Some(e) = package_dbs(&ghc_pkg).and_then(|dbs| Evidence::now(&ghc_pkg, &dbs)) {
            cache.insert(pkg.to_owned(), e);
            write_cache(cache_path, &cache);
        }
    } else if cache.remove(pkg).is_some() {
        write_cache(cache_path, &cache);
    }
    found
}

/// The package databases `ghc-pkg list` reads: the lines that are not indented (packages are)
/// and end in `:` or name an existing path. `None` when it lists none: then nothing is cached.
fn package_dbs(ghc_pkg: &Path) -> Option<Vec<PathBuf>> {
    let out = Command::new(ghc_pkg)
        .arg("list")
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let dbs = parse_db_headers(&String::from_utf8_lossy(&out.stdout));
    (out.status.success() && !dbs.is_empty()).then_some(dbs)
}

fn parse_db_headers(list: &str) -> Vec<PathBuf> {
    list.lines()
        .filter(|l| !l.is_empty() && !l.starts_with(char::is_whitespace))
        .map(|l| PathBuf::from(l.trim_end().trim_end_matches(':')))
        .filter(|p| p.is_absolute())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_headers_are_the_unindented_absolute_lines() {
        let list = "/usr/lib/ghc/package.conf.d\n    base-4.15.1.0\n    (ghc-9.0.2)\n\n/root/.ghc/x86_64-linux-9.0.2/package.conf.d:\n    clash-prelude-1.6.4\n";
        assert_eq!(
            parse_db_headers(list),
            vec![
                PathBuf::from("/usr/lib/ghc/package.conf.d"),
                PathBuf::from("/root/.ghc/x86_64-linux-9.0.2/package.conf.d"),
            ]
        );
    }

    #[test]
    fn evidence_fails_when_a_database_changes_or_goes() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("package.conf.d");
        std::fs::create_dir(&db).unwrap();
        let tool = dir.path().join("ghc-pkg");
        std::fs::write(&tool, "").unwrap();
        let e = Evidence::now(&tool, std::slice::from_ref(&db)).unwrap();
        assert!(e.holds(&tool));
        // Another ghc-pkg first on PATH: another GHC, other databases.
        assert!(!e.holds(&dir.path().join("other-ghc-pkg")));
        // A package removed: its database directory's time moves.
        let mut moved = e.clone();
        moved.files[1].1 += 1;
        assert!(!moved.holds(&tool));
        std::fs::remove_dir(&db).unwrap();
        assert!(!e.holds(&tool));
    }
}

//! What the end-to-end tests that build real programs share: a scratch project to build them
//! in, and the rule for a tool the test needs (under `CI=true` a missing one is a failure, never
//! a silent skip).
// Each test crate uses a different part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A scratch project: `scenarios/`, `baselines/`, `bin/` and a work directory.
pub struct Project {
    /// Its root, removed when the project is dropped.
    pub dir: tempfile::TempDir,
}

impl Project {
    /// A new empty project.
    pub fn new() -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        for d in ["scenarios", "baselines", "bin", "work"] {
            std::fs::create_dir_all(dir.path().join(d)).expect("mkdir");
        }
        Project { dir }
    }

    /// A path inside the project.
    pub fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// Compiles a C source file into `bin/` (with debug information, for massif's file:line).
    pub fn cc_file(&self, name: &str, source: &Path) -> PathBuf {
        let exe = self.path("bin").join(name);
        let out = Command::new("cc")
            .args(["-g", "-O1", "-o"])
            .arg(&exe)
            .arg(source)
            .output()
            .expect("cc");
        assert!(
            out.status.success(),
            "cc: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        exe
    }

    /// Compiles a C program given as text into `bin/`.
    pub fn cc(&self, name: &str, text: &str) -> PathBuf {
        let src = self.path("bin").join(format!("{name}.c"));
        std::fs::write(&src, text).expect("write C source");
        self.cc_file(name, &src)
    }
}

/// Whether `tool` runs (`tool <version_arg>` succeeds). Outside CI a missing tool skips the
/// test with a note; under `CI=true` it fails, so a broken `.ci/setup` cannot turn tests green.
pub fn have(tool: &str, version_arg: &str) -> bool {
    let ok = Command::new(tool)
        .arg(version_arg)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but `{tool}` is missing (hint: bash .ci/setup)");
    }
    if !ok {
        eprintln!("`{tool}` not installed: skipped (hint: bash .ci/setup)");
    }
    ok
}

/// Whether GHC is here; under CI it must be.
pub fn have_ghc() -> bool {
    have("ghc", "--numeric-version")
}

/// Every eventlog fixture under `tests/data`, sorted: GHC's own test logs, the Clash runs and
/// the hand-made ones. Checked to be more than 20, so a moved folder cannot empty a test.
pub fn eventlog_fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut logs: Vec<_> = ["fixtures/ghc-events", "fixtures/clash", "."]
        .iter()
        .flat_map(|d| std::fs::read_dir(dir.join(d)).expect("fixtures"))
        .map(|e| e.expect("entry").path())
        .filter(|f| f.extension().is_some_and(|e| e == "eventlog"))
        .collect();
    logs.sort();
    assert!(logs.len() > 20, "{logs:?}");
    logs
}

/// A `register_wb` simulator scenario: `leak` as its knob, run for `cycles` sampled every
/// `sample_every`, with `rest` (invariants, phases) after its `[run]`.
pub fn register_wb(leak: &str, cycles: u64, sample_every: u64, rest: &str) -> String {
    format!(
        r#"description = "test"
[run]
simulator = "register_wb"
cycles = {cycles}
sample_every = {sample_every}
params = {{ slaves = 4, seed = 7, leak = "{leak}" }}
{rest}
"#
    )
}

/// Fails, showing the whole text, unless `text` contains `want`.
pub fn assert_has(text: &str, want: &str) {
    assert!(text.contains(want), "expected\n  {want}\nin\n{text}");
}

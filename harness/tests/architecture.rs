//! The code map's invariants (ARCHITECTURE.md), checked against the source: each rule names
//! the folders where something may appear, and fails with the file and line where it appears
//! elsewhere. A rule broken on purpose is changed here and in ARCHITECTURE.md together.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `dir`, relative to the workspace root.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p.strip_prefix(root()).expect("under root").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Code lines of a file (comments and the test module are not code the rule is about).
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(root().join(path)).expect("read");
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        out.push((i + 1, line.to_owned()));
    }
    out
}

/// One rule: `needles` may appear only in files whose path starts with one of `allowed`.
fn check(rule: &str, needles: &[&str], allowed: &[&str]) {
    let mut broken = Vec::new();
    for dir in ["harness/src", "sim/src", "xtask/src", "tests"] {
        for f in rust_files(&root().join(dir)) {
            let name = f.to_string_lossy().replace('\\', "/");
            if allowed.iter().any(|a| name.starts_with(a)) {
                continue;
            }
            for (n, line) in code_lines(&f) {
                if let Some(needle) = needles.iter().find(|nd| line.contains(*nd)) {
                    broken.push(format!("{name}:{n}: `{needle}` in {}", line.trim()));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "ARCHITECTURE.md: {rule}, but:\n{}",
        broken.join("\n")
    );
}

#[test]
fn only_sources_spawn_the_processes_a_scenario_runs() {
    check(
        "only `source/` spawns processes (the CLI runs `git show` for reports, xtask runs cargo)",
        &[
            "Command::new",
            "process::Command",
            "libc::fork",
            "libc::kill",
        ],
        &[
            "harness/src/source/",
            "harness/src/store/", // `kill(pid, 0)` asks whether a temp file's writer lives
            "harness/src/main.rs",
            "xtask/src/main.rs",
        ],
    );
}

#[test]
fn only_the_store_and_the_sources_write_files() {
    check(
        "only `store/` writes files (baselines, results, reports); `source/` writes only its \
         scratch directories under the work dir",
        &[
            "fs::write",
            "File::create",
            "OpenOptions",
            "create_dir",
            "remove_file",
            "remove_dir",
            "fs::rename",
            ".persist(",
        ],
        &["harness/src/store/", "harness/src/source/", "tests/"],
    );
}

#[test]
fn stages_after_the_sources_know_nothing_of_them() {
    check(
        "downstream of `source/`, nothing depends on where a `Timeline` came from",
        &["crate::source", "use super::super::source"],
        &[
            "harness/src/source/",
            "harness/src/pipeline.rs", // sequences the stages: calls `source::run`
            // runs a scenario at several lengths (`source::run`); its classes and proposal
            // (`explore/classify.rs`, `explore/propose.rs`) see only timelines.
            "harness/src/explore/mod.rs",
            // `membound profile` summarises a GHC profile: closure sizes are its subject.
            "harness/src/report/summary.rs",
            "harness/src/main.rs",
            "harness/src/lib.rs",
            "xtask/",
            "tests/",
        ],
    );
}

#[test]
fn pure_stages_do_no_io() {
    check(
        "`measure/`, `judge/`, `report/` and `timeline` are pure: no files, processes or environment",
        &["std::fs", "std::process", "std::env", "std::net"],
        &[
            "harness/src/source/",
            "harness/src/store/",
            "harness/src/scenario/", // reads the scenario files it parses
            "harness/src/pipeline.rs",
            "harness/src/main.rs",
            "harness/src/lib.rs",
            "sim/",
            "xtask/",
            "tests/",
        ],
    );
}

#[test]
fn only_the_judge_decides_a_verdict() {
    check(
        "front ends never decide pass/fail: only `judge/verdict.rs` builds or edits a `Verdict`; \
         the others render one",
        &[
            "= Verdict {",
            ": Verdict {",
            "(Verdict {",
            "verdict.status = ",
            "verdict.reasons.push",
            "verdict.reasons.insert",
            "verdict.reasons.retain",
        ],
        &["harness/src/judge/verdict.rs"],
    );
}

#[test]
fn the_simulator_knows_nothing_of_the_harness() {
    check(
        "`sim` knows nothing of the harness: no allocator, no JSON, no processes, no files",
        &["membound", "serde", "jemalloc", "std::process", "std::fs"],
        &["harness/", "xtask/", "tests/", "sim/tests/"],
    );
    let manifest = std::fs::read_to_string(root().join("sim/Cargo.toml")).expect("sim manifest");
    let deps = manifest.split("[dependencies]").nth(1).unwrap_or("");
    let deps = deps.split("\n[").next().unwrap_or("");
    assert!(
        deps.lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')),
        "sim has no dependencies, found:\n{deps}"
    );
}

#[test]
fn the_code_map_names_every_module() {
    let map = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut missing = Vec::new();
    for f in rust_files(&root().join("harness/src")) {
        let rel = f
            .strip_prefix("harness/src")
            .expect("under harness/src")
            .to_string_lossy()
            .into_owned();
        let module = rel.trim_end_matches(".rs").trim_end_matches("/mod");
        if matches!(module, "lib" | "main") {
            continue;
        }
        let leaf = module.rsplit('/').next().unwrap_or(module);
        if !map.contains(&format!("`{leaf}`")) && !map.contains(&format!("`{module}/`")) {
            missing.push(module.to_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md does not name these modules: {missing:?}"
    );
}

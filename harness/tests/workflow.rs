//! The GitHub workflow as GitHub would take it: actionlint (with shellcheck over every `run:`
//! block) passes on `.github/workflows/memory.yml`, so a workflow GitHub would refuse, or an
//! action on a runtime its runners no longer have, fails `cargo test` here instead of on the
//! first pull request. The same lint is shown to fail on known-bad copies.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn workflow() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows/memory.yml")
}

/// Whether both linters are here (under `CI=true` they must be). shellcheck is required too:
/// without it on `PATH` actionlint silently skips the `run:` blocks.
fn have_linters() -> bool {
    // Both asked, so that a machine missing both hears of both.
    let shellcheck = common::have("shellcheck", "--version");
    let actionlint = common::have("actionlint", "--version");
    shellcheck && actionlint
}

/// actionlint's verdict on a workflow text: `Ok` when it is clean, else its findings.
fn lint(text: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let wf = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&wf).expect("mkdir");
    let file = wf.join("memory.yml");
    std::fs::write(&file, text).expect("write workflow");
    let out = Command::new("actionlint")
        .arg("-no-color")
        .arg(&file)
        .current_dir(dir.path())
        .output()
        .expect("actionlint runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match out.status.code() {
        Some(0) => Ok(()),
        // 1: problems found. Anything else is actionlint failing, not a finding.
        Some(1) => Err(said),
        other => panic!("actionlint failed to run ({other:?}): {said}"),
    }
}

fn text() -> String {
    std::fs::read_to_string(workflow()).expect("the workflow file")
}

#[test]
fn the_workflow_passes_actionlint_and_shellcheck() {
    if !have_linters() {
        return;
    }
    if let Err(findings) = lint(&text()) {
        panic!("{} does not lint clean:\n{findings}", workflow().display());
    }
}

#[test]
fn an_action_on_a_removed_runtime_fails_the_lint() {
    if !have_linters() {
        return;
    }
    let t = text();
    assert!(
        t.contains("actions/checkout@v5"),
        "the workflow checks out with checkout@v5"
    );
    let old = t.replace("actions/checkout@v5", "actions/checkout@v4");
    let findings = lint(&old).expect_err("checkout@v4 runs on node20, gone from GitHub's runners");
    assert!(findings.contains("node20"), "{findings}");
}

#[test]
fn a_shell_mistake_in_a_run_block_fails_the_lint() {
    if !have_linters() {
        return;
    }
    let t = text();
    let good = r#"for d in partitions/*/; do args+=(--results "$d"); done"#;
    assert!(
        t.contains(good),
        "the merge step collects --results per partition"
    );
    // An array expanded as one word: shellcheck's SC2128, only found if it ran.
    let bad = t.replace(good, &format!("{good}\n          echo $args"));
    let findings = lint(&bad).expect_err("an unquoted array expansion is a shellcheck finding");
    assert!(findings.contains("shellcheck"), "{findings}");
}

#[test]
fn a_misspelt_context_fails_the_lint() {
    if !have_linters() {
        return;
    }
    let bad = text().replace("matrix.partition }}/", "matrix.partiton }}/");
    let findings = lint(&bad).expect_err("an unknown matrix key is refused");
    assert!(findings.contains("partiton"), "{findings}");
}

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
    code_of(&std::fs::read_to_string(root().join(path)).expect("read"))
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
        "only `source/` spawns the processes a scenario runs (`store::git` runs git for reports and \
         history, xtask runs cargo)",
        &[
            "Command::new",
            "process::Command",
            "libc::fork",
            "libc::kill",
        ],
        &[
            "harness/src/source/",
            // `kill(pid, 0)` asks whether a temp file's writer lives.
            "harness/src/store/mod.rs",
            "harness/src/store/git.rs",
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
            // `membound profile` summarises a GHC profile: closure sizes are its subject, and
            // `--json` streams the eventlog by label id.
            "harness/src/report/summary.rs",
            "harness/src/report/timeline_json.rs",
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

/// The code map's module index (ARCHITECTURE.md, "Module index"): one line per stage, in the
/// order imports may point, each naming the stage's top module then its submodules.
fn module_index(map: &str) -> Vec<Vec<String>> {
    let section = map
        .split("## Module index")
        .nth(1)
        .expect("ARCHITECTURE.md has a `## Module index` section");
    let block = section
        .split("```text\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the module index is a ```text block");
    block
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// Every module of `harness/src` (`source/ghc/hp`), but the crate roots.
fn modules() -> Vec<String> {
    rust_files(&root().join("harness/src"))
        .iter()
        .map(|f| module_of(&f.to_string_lossy()))
        .filter(|m| !matches!(m.as_str(), "lib" | "main"))
        .collect()
}

/// `harness/src/source/ghc/mod.rs` → `source/ghc`.
fn module_of(path: &str) -> String {
    let rel = path.replace('\\', "/");
    let rel = rel.trim_start_matches("harness/src/");
    rel.trim_end_matches(".rs")
        .trim_end_matches("/mod")
        .to_owned()
}

/// The crate-root names `lib.rs` re-exports (`pub use timeline::{Mark, ...}`), by the module
/// they come from.
fn root_reexports(lib: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for stmt in lib.split(';') {
        let Some(rest) = stmt.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, names)) = rest.split_once("::") else {
            continue;
        };
        for name in names.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = name.trim();
            if !name.is_empty() {
                out.push((name.to_owned(), module.to_owned()));
            }
        }
    }
    out
}

/// Every place a module's code (not its tests or comments) names another stage than its own
/// through `crate::` or a `super::` chain that climbs out of its stage, where that stage comes
/// later in `index`: "file:line: `crate::x` is the later stage `x`". Names the module index
/// does not know are reported too.
fn back_arrows(
    index: &[Vec<String>],
    reexports: &[(String, String)],
    files: &[(String, String)],
) -> Vec<String> {
    let stage_of = |top: &str| index.iter().position(|line| line[0] == top);
    let mut out = Vec::new();
    for (path, text) in files {
        let module = module_of(path);
        let Some(own) = stage_of(module.split('/').next().unwrap_or("")) else {
            out.push(format!(
                "{path}: module `{module}` is in no stage of the index"
            ));
            continue;
        };
        for (n, line) in code_of(text) {
            for target in referenced_tops(&module, &line, reexports) {
                match stage_of(&target) {
                    Some(s) if s <= own => {}
                    Some(_) => out.push(format!(
                        "{path}:{n}: `{}` names the later stage `{target}`: {}",
                        module.split('/').next().unwrap_or(""),
                        line.trim()
                    )),
                    None => out.push(format!(
                        "{path}:{n}: `{target}` is in no stage of the index: {}",
                        line.trim()
                    )),
                }
            }
        }
    }
    out
}

/// Code lines of a text: no comment lines, nothing after `#[cfg(test)]`.
fn code_of(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            break;
        }
        if !t.starts_with("//") {
            out.push((i + 1, line.to_owned()));
        }
    }
    out
}

/// The top-level modules a line of `module` names: `crate::x…`, and `super::…` chains that
/// climb to the crate root (`super::super::store` from `measure/invariant`).
fn referenced_tops(module: &str, line: &str, reexports: &[(String, String)]) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let resolve = |name: String| -> String {
        reexports
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(name, |(_, m)| m.clone())
    };
    let mut out = Vec::new();
    for (at, _) in line.match_indices("crate::") {
        // `membound::crate::` does not exist; `$crate::` in macros is the same crate.
        let name = ident(&line[at + "crate::".len()..]);
        if !name.is_empty() {
            out.push(resolve(name));
        }
    }
    // A file module `a/b.rs` is at depth 2: `super::` is `a`, `super::super::` the root.
    let depth = module.split('/').count();
    let mut rest = line;
    while let Some(at) = rest.find("super::") {
        let before_ok =
            at == 0 || !rest[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':');
        let mut tail = &rest[at..];
        let mut climbs = 0;
        while let Some(t) = tail.strip_prefix("super::") {
            climbs += 1;
            tail = t;
        }
        if before_ok && climbs >= depth {
            let name = ident(tail);
            if !name.is_empty() {
                out.push(resolve(name));
            }
        }
        rest = &rest[at + "super::".len() * climbs.max(1)..];
    }
    out
}

#[test]
fn each_stage_imports_only_itself_and_the_stages_before_it() {
    let map = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let lib = std::fs::read_to_string(root().join("harness/src/lib.rs")).expect("lib.rs");
    let files: Vec<(String, String)> = rust_files(&root().join("harness/src"))
        .into_iter()
        .map(|f| f.to_string_lossy().into_owned())
        .filter(|f| !f.ends_with("/lib.rs") && !f.ends_with("/main.rs"))
        .map(|f| {
            let text = std::fs::read_to_string(root().join(&f)).expect("read");
            (f, text)
        })
        .collect();
    let broken = back_arrows(&module_index(&map), &root_reexports(&lib), &files);
    assert!(
        broken.is_empty(),
        "ARCHITECTURE.md (Module index): each stage imports only itself and the stages before it, but:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_order_check_finds_a_back_arrow() {
    // The check itself, on sources written to break it: a validator that imports the checker
    // (the cycle this order was made to remove), a checker reaching the store through `super`,
    // and a name no stage holds.
    let index: Vec<Vec<String>> = [
        "timeline",
        "spec spec/metric",
        "scenario",
        "measure measure/invariant",
        "store",
    ]
    .iter()
    .map(|l| l.split_whitespace().map(str::to_owned).collect())
    .collect();
    let reexports = vec![("XUnit".to_owned(), "timeline".to_owned())];
    let file = |p: &str, t: &str| (p.to_owned(), t.to_owned());
    let files = [
        file(
            "harness/src/scenario/mod.rs",
            "use crate::spec::metric::Value;\nuse crate::XUnit;\nuse crate::measure::invariant::MIN;\n",
        ),
        file(
            "harness/src/measure/invariant.rs",
            "use super::metrics::Fit;\nuse super::super::store::Baseline;\n// use crate::store::Baseline;\n#[cfg(test)]\nmod tests { use crate::store::Baseline; }\n",
        ),
        file("harness/src/spec/metric.rs", "use crate::nowhere::X;\n"),
    ];
    let broken = back_arrows(&index, &reexports, &files);
    assert_eq!(
        broken,
        [
            "harness/src/scenario/mod.rs:3: `scenario` names the later stage `measure`: use crate::measure::invariant::MIN;",
            "harness/src/measure/invariant.rs:2: `measure` names the later stage `store`: use super::super::store::Baseline;",
            "harness/src/spec/metric.rs:1: `nowhere` is in no stage of the index: use crate::nowhere::X;",
        ],
    );
}

#[test]
fn the_code_map_lists_exactly_the_modules_there_are() {
    let map = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let listed: std::collections::BTreeSet<String> =
        module_index(&map).into_iter().flatten().collect();
    let present: std::collections::BTreeSet<String> = modules().into_iter().collect();
    let missing: Vec<_> = present.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&present).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "ARCHITECTURE.md's module index: not listed {missing:?}; listed but absent {stale:?}"
    );
    // Each module the index lists is described in the map's prose as well.
    let prose = map.split("## Module index").next().unwrap_or("");
    let undescribed: Vec<_> = present
        .iter()
        .filter(|m| {
            let leaf = m.rsplit('/').next().unwrap_or(m);
            !prose.contains(&format!("`{leaf}`")) && !prose.contains(&format!("`{m}/`"))
        })
        .collect();
    assert!(
        undescribed.is_empty(),
        "ARCHITECTURE.md describes none of these modules: {undescribed:?}"
    );
}

#[test]
fn only_the_front_ends_and_tool_lookup_read_the_environment() {
    check(
        "the environment is read by the front ends, and by `source/requirements` (`PATH`, \
         `GHC_PACKAGE_PATH`: a tool is found as the programs it spawns will find it)",
        &[
            "env::var",
            "env::vars",
            "var_os(",
            "env::args",
            "env::current_dir",
            "env::home_dir",
        ],
        &[
            "harness/src/main.rs",
            "harness/src/source/requirements.rs",
            "xtask/",
            "tests/",
        ],
    );
}

#[test]
fn metric_names_are_spelt_only_in_the_metric_table() {
    check(
        "a metric's name is spelt once, in `spec/metric.rs`; code reads it from the table",
        &[
            "\"live_bytes.",
            "\"heap.",
            "\"rss.",
            "\"ghc.",
            "\"allocations.",
            "\"jemalloc.",
        ],
        &["harness/src/spec/metric.rs", "xtask/", "tests/"],
    );
}

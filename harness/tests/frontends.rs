//! What the front ends write for others to read, end to end through the CLI: a report never
//! shows an earlier run's result as this run's, JUnit XML for CI systems, and baselines that
//! follow the scenarios directory.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// A scratch project: scenarios/, baselines/ and a work directory.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        for d in ["scenarios", "baselines"] {
            std::fs::create_dir_all(dir.path().join(d)).expect("mkdir");
        }
        Project { dir }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    fn scenario(&self, name: &str, text: &str) -> &Self {
        std::fs::write(self.path(&format!("scenarios/{name}.toml")), text).expect("write scenario");
        self
    }

    /// `membound <args>` in this project, outside CI, with its directories named.
    fn run(&self, args: &[&str]) -> (Option<i32>, String) {
        let out = Command::cargo_bin("membound")
            .expect("membound binary")
            .current_dir(self.dir.path())
            .env_remove("CI")
            .args(["--scenarios", "scenarios", "--baselines", "baselines"])
            .args(["--work-dir", "work"])
            .args(args)
            .output()
            .expect("run membound");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, text) = self.run(args);
        assert_eq!(code, Some(0), "membound {args:?}: {text}");
        text
    }
}

/// A small RegisterWb run with one invariant that holds.
fn flat(cycles: u64) -> String {
    format!(
        r#"description = "test"
[run]
simulator = "register_wb"
cycles = {cycles}
sample_every = 1_000
params = {{ slaves = 2, seed = 3, leak = "none" }}
[phases]
steady = {{ cycles = [5_000, "end"] }}

[[invariant]]
name = "no growth"
during = "steady"
metric = "live_bytes"
max_growth_per_kcycle = 0
"#
    )
}

/// A project whose scenarios `a` and `b` are blessed and pass.
fn blessed_project() -> Project {
    let p = Project::new();
    p.scenario("a", &flat(20_000)).scenario("b", &flat(21_000));
    p.ok(&["bless"]);
    let text = p.ok(&["run"]);
    assert!(text.contains("2 passed"), "{text}");
    p
}

#[test]
fn a_report_after_a_refused_run_shows_the_scenario_refused_not_its_old_pass() {
    let p = blessed_project();
    let md = p.ok(&["report"]);
    assert!(md.contains("2 scenarios run: 2 passed"), "{md}");
    // The file breaks; the next run refuses it and runs nothing.
    p.scenario(
        "a",
        "description = \"test\"\n[run]\nsimulator = \"register_wb\"\ncycles = oops\n",
    );
    let (code, text) = p.run(&["run"]);
    assert_eq!(code, Some(2), "{text}");
    let md = p.ok(&["report"]);
    assert!(
        md.contains("2 scenarios without a result from this run"),
        "{md}"
    );
    assert!(md.contains("- `a` scenario refused: "), "{md}");
    assert!(md.contains("a.toml:4:"), "the refusal says where: {md}");
    assert!(
        md.contains("- `b` no result from this run (the result on disk is from an earlier run)"),
        "{md}"
    );
    assert!(
        md.contains("0 scenarios run: 0 passed"),
        "no earlier pass is shown: {md}"
    );
    let html = p.ok(&["report", "--format", "html"]);
    assert!(html.contains("scenario refused"), "{html}");
}

#[test]
fn a_result_of_a_scenario_file_changed_since_is_not_shown() {
    let p = blessed_project();
    p.ok(&["run", "a", "--exact"]);
    // `b` was not part of the last run; `a` changes after it.
    std::fs::write(p.path("scenarios/a.toml"), flat(20_000) + "# edited\n").expect("edit");
    let md = p.ok(&["report"]);
    assert!(md.contains("- `b` no result from this run"), "{md}");
    assert!(
        md.contains("- `a` no result from this run of the scenario file as it is now"),
        "{md}"
    );
    assert!(md.contains("0 scenarios run: 0 passed"), "{md}");
    p.ok(&["run", "a", "--exact"]);
    let md = p.ok(&["report", "a"]);
    assert!(
        md.contains("1 scenario run: 1 passed") || md.contains("1 scenarios run: 1 passed"),
        "{md}"
    );
    assert!(
        !md.contains("without a result"),
        "the filter leaves `b` out: {md}"
    );
}

/// Every element of an XML text, with its attributes, checking it is well formed.
fn xml_elements(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut out = Vec::new();
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                let attrs = e
                    .attributes()
                    .map(|a| {
                        let a = a.expect("attribute");
                        (
                            String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                            a.unescape_value().expect("attribute value").into_owned(),
                        )
                    })
                    .collect();
                out.push((
                    String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                    attrs,
                ));
            }
            Ok(_) => {}
            Err(e) => panic!(
                "not well-formed at byte {}: {e}\n{text}",
                reader.buffer_position()
            ),
        }
    }
    out
}

#[test]
fn junit_xml_has_each_scenario_with_its_duration_and_failure_message() {
    let p = blessed_project();
    // `b` now leaks: its invariant fails.
    p.scenario(
        "b",
        &flat(21_000).replace("leak = \"none\"", "leak = \"lazy_unzip\""),
    );
    let (code, text) = p.run(&["run", "--junit", "junit.xml"]);
    assert_eq!(code, Some(1), "{text}");
    let xml = std::fs::read_to_string(p.path("junit.xml")).expect("junit.xml written");
    let els = xml_elements(&xml);
    let attr = |el: &(String, Vec<(String, String)>), k: &str| {
        el.1.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {k} on {}", el.0))
    };
    let suite = els.iter().find(|e| e.0 == "testsuite").expect("testsuite");
    assert_eq!(attr(suite, "tests"), "2");
    assert_eq!(attr(suite, "failures"), "1");
    let cases: Vec<_> = els.iter().filter(|e| e.0 == "testcase").collect();
    assert_eq!(
        cases.iter().map(|c| attr(c, "name")).collect::<Vec<_>>(),
        ["a", "b"]
    );
    for c in &cases {
        let t: f64 = attr(c, "time").parse().expect("time in seconds");
        assert!(t > 0.0, "{xml}");
    }
    let failures: Vec<_> = els.iter().filter(|e| e.0 == "failure").collect();
    assert_eq!(failures.len(), 1, "{xml}");
    assert!(attr(failures[0], "message").contains("no growth"), "{xml}");
    assert!(
        xml.contains("scenario `b`"),
        "the body is the failure message: {xml}"
    );
}

#[test]
fn baselines_follow_the_scenarios_directory() {
    let p = Project::new();
    std::fs::create_dir_all(p.path("other/scenarios")).expect("mkdir");
    std::fs::write(p.path("other/scenarios/s.toml"), flat(20_000)).expect("write");
    let out = Command::cargo_bin("membound")
        .expect("membound binary")
        .current_dir(p.dir.path())
        .env_remove("CI")
        .args([
            "--scenarios",
            "other/scenarios",
            "--work-dir",
            "work",
            "run",
        ])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "no baseline yet: {text}");
    assert!(
        Path::new(&p.path("other/baselines/s.json.new")).exists(),
        "the pending result goes beside the scenarios: {text}"
    );
    assert!(
        std::fs::read_dir(p.path("baselines"))
            .expect("ls")
            .next()
            .is_none(),
        "nothing is written to ./baselines"
    );
    assert!(
        text.contains("report.html"),
        "a run names the HTML report too: {text}"
    );
}

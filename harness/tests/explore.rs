//! `membound explore` end to end: a program in, a proposed scenario out, and that proposal
//! passing the program it came from and failing, on the right label, the same program with a
//! leak knob turned on.

mod common;
// Shared with the report tests; this one uses only its golden check.
#[allow(dead_code)]
mod report_data;

use assert_cmd::Command;
use membound::explore::classify::{Basis, Class, LabelEvidence, NoiseReason, RunFigures, Warmup};
use membound::explore::propose::Proposal;
use membound::explore::{Curve, Exploration, Points};
use membound::report;
use membound::XUnit;
use std::path::{Path, PathBuf};

/// A scratch project whose scenarios directory holds `files` (name, text).
struct Project {
    dir: tempfile::TempDir,
    work: PathBuf,
}

impl Project {
    fn new(work: Option<PathBuf>) -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        for d in ["scenarios", "baselines"] {
            std::fs::create_dir_all(dir.path().join(d)).expect("mkdir");
        }
        let work = work.unwrap_or_else(|| dir.path().join("work"));
        Project { dir, work }
    }

    fn scenario(&self, name: &str, text: &str) {
        std::fs::write(self.path(&format!("scenarios/{name}.toml")), text).expect("write");
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::cargo_bin("membound")
            .expect("membound binary")
            .env_remove("CI")
            .arg("--scenarios")
            .arg(self.path("scenarios"))
            .arg("--baselines")
            .arg(self.path("baselines"))
            .arg("--work-dir")
            .arg(&self.work)
            .args(args)
            .output()
            .expect("run membound")
    }

    /// The proposal `explore` left for `name`.
    fn proposal(&self, name: &str) -> String {
        std::fs::read_to_string(self.work.join(format!("explore/{name}.toml"))).expect("proposal")
    }
}

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Explores `name` at `lengths`: its exit code and what it printed.
fn explore(p: &Project, name: &str, lengths: &str) -> (Option<i32>, String) {
    let out = p.cmd(&["explore", name, "--lengths", lengths]);
    (out.status.code(), text(&out))
}

fn register_wb(leak: &str) -> String {
    format!(
        r#"description = "RegisterWb, leak {leak}"
[run]
simulator = "register_wb"
cycles = 20_000
sample_every = 500
params = {{ slaves = 2, seed = 3, leak = "{leak}" }}
"#
    )
}

/// Explores the fixed circuit, then checks its proposal against the circuit itself (bless
/// accepts only a result whose invariants hold) and against each culprit, which must fail
/// naming the label that leaks.
#[test]
fn the_simulators_fixed_proposal_passes_it_and_catches_each_culprit() {
    let p = Project::new(None);
    p.scenario("rwb", &register_wb("none"));
    let (code, out) = explore(&p, "rwb", "20000,80000");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("exactly"), "{out}");
    let proposal = p.proposal("rwb");
    assert!(proposal.contains("[phases.steady]"), "{proposal}");
    assert!(proposal.contains("# evidence: 20,000:"), "{proposal}");
    p.scenario("rwb", &proposal);
    let out = p.cmd(&["bless", "rwb"]);
    assert!(
        out.status.success(),
        "the proposal fails its own program:\n{}",
        text(&out)
    );
    for (leak, label) in [
        ("lazy_unzip", "Signal<WishboneS2M>::Cons"),
        ("lazy_record_update", "LazyM2S::Update"),
        ("unshared_iterate", "Lazy<u64>::Thunk"),
    ] {
        p.scenario(
            &format!("rwb_{leak}"),
            &proposal.replace("leak = \"none\"", &format!("leak = \"{leak}\"")),
        );
        let out = p.cmd(&["run", &format!("rwb_{leak}")]);
        let t = text(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{leak} passed the fixed proposal:\n{t}"
        );
        assert!(t.contains("violated") && t.contains(label), "{leak}: {t}");
    }
}

/// `--html`: every label charted, one line per length, the suspected leak first.
#[test]
fn the_evidence_as_an_html_page() {
    let p = Project::new(None);
    p.scenario("leak", &register_wb("lazy_unzip"));
    let page = p.path("explore.html");
    let out = p.cmd(&[
        "explore",
        "leak",
        "--lengths",
        "20000,80000",
        "--html",
        &page.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let html = std::fs::read_to_string(&page).expect("page");
    let charts = html.matches("<svg").count();
    let rows = html.matches("<tr><td>").count();
    assert!(
        charts > 2 && charts == rows,
        "{charts} charts for {rows} labels"
    );
    assert_eq!(
        html.matches(r#"data-series="length""#).count(),
        2 * charts,
        "one line per length in each chart"
    );
    let first = html.find("<figcaption>").expect("a chart");
    assert!(
        html[first..].starts_with("<figcaption>(whole heap"),
        "the whole heap grows first"
    );
    assert!(
        html.contains("Signal&lt;WishboneS2M&gt;::Cons: GROWING"),
        "{html}"
    );
}

#[test]
fn each_simulator_culprit_is_a_suspected_leak_and_exits_non_zero() {
    let p = Project::new(None);
    for (leak, label) in [
        ("lazy_unzip", "`Signal<WishboneS2M>::Cons` grows"),
        ("lazy_record_update", "`LazyM2S::Update` grows"),
        ("unshared_iterate", "`Lazy<u64>::Thunk` grows"),
    ] {
        p.scenario(leak, &register_wb(leak));
        let (code, out) = explore(&p, leak, "20000,80000");
        assert_eq!(code, Some(1), "{leak}: {out}");
        assert!(out.contains(label), "{leak}: {out}");
        let proposal = p.proposal(leak);
        assert!(proposal.contains("# LEAK SUSPECTED"), "{proposal}");
    }
}

#[test]
fn the_same_program_gives_the_same_proposal_byte_for_byte() {
    let p = Project::new(None);
    p.scenario("rwb", &register_wb("none"));
    let mut proposals = Vec::new();
    for _ in 0..2 {
        let (code, out) = explore(&p, "rwb", "20000,60000");
        assert_eq!(code, Some(0), "{out}");
        proposals.push(p.proposal("rwb"));
    }
    assert_eq!(proposals[0], proposals[1]);
}

#[test]
fn lengths_need_a_length_to_vary() {
    let p = Project::new(None);
    p.scenario(
        "cmd",
        "description = \"x\"\n[run]\ncommand = [\"true\"]\nprofile = \"rss\"\n",
    );
    let (code, out) = explore(&p, "cmd", "10,40");
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("has no length to vary") && out.contains("{n}"),
        "{out}"
    );
    // `{n}` without `length`, and `length` without `{n}`, are scenario errors.
    p.scenario(
        "cmd",
        "description = \"x\"\n[run]\ncommand = [\"sleep\", \"{n}\"]\nprofile = \"rss\"\n",
    );
    let out = p.cmd(&["check"]);
    assert!(
        text(&out).contains("uses `{n}` but `[run]` has no `length`"),
        "{}",
        text(&out)
    );
    p.scenario(
        "cmd",
        "description = \"x\"\n[run]\ncommand = [\"true\"]\nlength = 3\nprofile = \"rss\"\n",
    );
    let out = p.cmd(&["check"]);
    assert!(
        text(&out).contains("no argument of `command` is `{n}`"),
        "{}",
        text(&out)
    );
}

/// A C program with no scenario, explored under massif: the fixed one gets a scenario in the
/// scenarios directory, the leaky one names its allocation site and gets none.
#[test]
fn a_new_c_program_under_massif() {
    if !common::have("valgrind", "--version") || !common::have("cc", "--version") {
        return;
    }
    let p = Project::new(None);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/c/scoreboard.c");
    let bin = common::Project::new();
    let exe = bin.cc_file("scoreboard", &src);
    let exe = exe.to_string_lossy().into_owned();
    let new = |name: &str, mode: &str| {
        p.cmd(&[
            "explore",
            "--new",
            name,
            "--profile",
            "massif",
            "--lengths",
            "2000,8000",
            "--",
            &exe,
            mode,
            "{n}",
        ])
    };
    let out = new("board", "fixed");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let written = std::fs::read_to_string(p.path("scenarios/board.toml")).expect("written");
    assert!(
        written.contains("length = 2000") && written.contains("[[invariant]]"),
        "{written}"
    );
    // The proposal passes the program it came from...
    let out = p.cmd(&["bless", "board"]);
    assert!(out.status.success(), "{}", text(&out));
    // ...and catches the same program with its leak knob on, at the site that leaks.
    p.scenario("board_leaky", &written.replace("\"fixed\"", "\"leaky\""));
    let out = p.cmd(&["run", "board_leaky"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("record_write"), "{}", text(&out));
    // Explored directly, the leaky program is a suspected leak and gets no scenario.
    let out = new("leaky", "leaky");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("leak suspected: `record_write"),
        "{}",
        text(&out)
    );
    assert!(!p.path("scenarios/leaky.toml").exists());
    // A name that exists is never overwritten.
    let out = new("board", "fixed");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("exists"), "{}", text(&out));
}

/// Whether GHC with clash-prelude is here; under CI it must be.
fn have_clash() -> bool {
    let ok = std::process::Command::new("ghc-pkg")
        .args(["--simple-output", "field", "clash-prelude", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but ghc / clash-prelude are missing (hint: bash .ci/setup)");
    }
    ok
}

/// The Clash reproduction, its length written `{n}`: the fixed variant's proposal passes it
/// and fails every culprit variant on `:-` cells; each culprit explored is a suspected leak.
#[test]
fn the_clash_variants() {
    if !have_clash() {
        return;
    }
    // The GHC build is cached across runs in cargo's scratch directory for integration tests.
    let p = Project::new(Some(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("explore-ghc"),
    ));
    std::fs::create_dir_all(p.path("scenarios/haskell")).expect("mkdir");
    for file in ["RegisterWb.hs", "Membound.hs"] {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/haskell")
            .join(file);
        std::fs::copy(&src, p.path("scenarios/haskell").join(file)).expect("copy");
    }
    let fixed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/clash_register_wb_fixed.toml"),
    )
    .expect("read");
    let fixed = fixed.replace("\"fixed\", \"3000\"]", "\"fixed\", \"{n}\"]\nlength = 1000");
    assert!(
        fixed.contains("{n}"),
        "the Clash scenario's command changed: {fixed}"
    );
    p.scenario("cfixed", &fixed);
    let (code, out) = explore(&p, "cfixed", "1000,4000");
    assert_eq!(code, Some(0), "{out}");
    let proposal = p.proposal("cfixed");
    p.scenario("cfixed", &proposal);
    let out = p.cmd(&["bless", "cfixed"]);
    assert!(out.status.success(), "{}", text(&out));
    // Each culprit's growing label, as its scenario in `scenarios/` expects it.
    for (leak, label) in [
        ("lazy_unzip", "clash-prelude:Clash.Signal.Internal.:-"),
        (
            "lazy_record_update",
            "clash-prelude:Clash.Signal.Internal.:-",
        ),
        ("unshared_iterate", "THUNK_2_0"),
    ] {
        let name = format!("c{leak}");
        // Attribution is another test's; here only the catch matters.
        let leaky = proposal
            .replace("\"fixed\", \"{n}\"", &format!("\"{leak}\", \"{{n}}\""))
            .replace("[run]\n", "[run]\ndiagnose = false\n");
        p.scenario(&name, &leaky);
        let out = p.cmd(&["run", &name]);
        assert_eq!(out.status.code(), Some(1), "{leak}: {}", text(&out));
        let t = text(&out);
        let top = t
            .split("top growth")
            .nth(1)
            .and_then(|g| g.lines().nth(1))
            .unwrap_or("");
        assert!(
            top.contains(&format!("`{label}`")),
            "{leak}: the top growth is not {label}:\n{t}"
        );
        // One culprit is attributed as a failing run would be (a profiled rerun); the others
        // only need their suspected leak named.
        let attributed = leak == "lazy_unzip";
        let mut explored = fixed.replace("\"fixed\", \"{n}\"", &format!("\"{leak}\", \"{{n}}\""));
        if !attributed {
            explored = explored.replace("[run]\n", "[run]\ndiagnose = false\n");
        }
        p.scenario(&name, &explored);
        let (code, out) = explore(&p, &name, "1000,4000");
        assert_eq!(code, Some(1), "{leak}: {out}");
        assert!(
            out.contains(&format!("leak suspected: `{label}`")),
            "{leak}: {out}"
        );
        assert_eq!(
            out.contains("attribution (profiled rerun"),
            attributed,
            "{leak}: {out}"
        );
        if attributed {
            assert!(out.contains("singleMasterInterconnectC"), "{leak}: {out}");
        }
    }
}

/// A scenario that expects a violation cannot also declare invariants that hold: what the
/// exploration found holding is proposed commented out, for the fixed variant, and the
/// proposal still loads.
#[test]
fn a_scenario_expecting_a_violation_gets_its_holding_invariants_commented_out() {
    let p = Project::new(None);
    let leaky = register_wb("lazy_unzip")
        + r#"
[[invariant]]
name = "cells bounded"
type = "Signal<*>::Cons"
max_count = 1_000
expect = "violated"
expect_type = "Signal<WishboneS2M>::Cons"
"#;
    p.scenario("leaky", &leaky);
    let (code, out) = explore(&p, "leaky", "20000,80000");
    assert_eq!(code, Some(1), "{out}");
    let proposal = p.proposal("leaky");
    assert!(proposal.contains("\n# [[invariant]]\n"), "{proposal}");
    assert!(
        proposal.contains("belong in the fixed variant"),
        "{proposal}"
    );
    p.scenario("leaky", &proposal);
    let out = p.cmd(&["check"]);
    assert!(out.status.success(), "{}", text(&out));
}

/// Whether the Verilator toolchain is here (Clash's Verilog, Verilator, massif); under CI it
/// must be.
fn have_verilator() -> bool {
    have_clash()
        && common::have("verilator", "--version")
        && common::have("valgrind", "--version")
        && common::have("clash", "--version")
}

/// The RegisterWb as hardware (Verilator, its C++ testbench) under massif: the fixed
/// testbench keeps what it explores, the leak knob is a suspected leak at the scoreboard's
/// allocation site.
#[test]
fn the_verilator_testbench_under_massif() {
    if !have_verilator() {
        return;
    }
    // The Verilator model is built once and cached across runs (about 40 s).
    let p = Project::new(Some(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("explore-verilator"),
    ));
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/verilator");
    std::fs::create_dir_all(p.path("scenarios/verilator")).expect("mkdir");
    for e in std::fs::read_dir(&src).expect("scenarios/verilator") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), p.path("scenarios/verilator").join(e.file_name())).expect("copy");
    }
    let original = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/verilator_register_wb_massif_fixed.toml"),
    )
    .expect("read");
    let with_n = |variant: &str| {
        let start = original.find("[phases]").expect("phases");
        let head = original[..start].replace(
            "\"fixed\", \"300000\"]",
            &format!("\"{variant}\", \"{{n}}\"]\nlength = 20000"),
        );
        assert!(
            head.contains("{n}"),
            "the Verilator scenario's command changed: {head}"
        );
        head
    };
    p.scenario("vfixed", &with_n("fixed"));
    let (code, out) = explore(&p, "vfixed", "20000,80000");
    assert_eq!(code, Some(0), "{out}");
    assert!(p.proposal("vfixed").contains("[[invariant]]"), "{out}");
    p.scenario("vleaky", &with_n("unbounded_log"));
    let (code, out) = explore(&p, "vleaky", "20000,80000");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("leak suspected: `") && out.contains("Scoreboard::record"),
        "{out}"
    );
}

/// One label's evidence: its figures per run as (length, samples, min, max), and its class.
fn evidence(
    label: Option<&str>,
    basis: Basis,
    runs: &[(Option<u64>, usize, u64, u64)],
    class: Class,
) -> LabelEvidence {
    LabelEvidence {
        label: label.map(str::to_owned),
        basis,
        runs: runs
            .iter()
            .map(|&(length, samples, min, max)| RunFigures {
                length,
                samples,
                min,
                max,
                late: max as f64,
                warmup_max: max,
            })
            .collect(),
        class,
        late_bytes_rise: 0.0,
    }
}

/// A fixed exploration: per label its evidence and, per run, its points (x, figure).
fn exploration(
    scenario: &str,
    x_unit: XUnit,
    warmup: Warmup,
    labels: Vec<(LabelEvidence, Vec<Points>)>,
) -> Exploration {
    let lengths: Vec<Option<u64>> = labels[0].0.runs.iter().map(|r| r.length).collect();
    let (evidence, curves) = labels
        .into_iter()
        .map(|(e, points)| {
            let runs = lengths.iter().copied().zip(points).collect();
            (e, Curve { runs })
        })
        .unzip();
    Exploration {
        scenario: scenario.into(),
        x_unit,
        lengths,
        warmup,
        evidence,
        proposal: Proposal {
            base: String::new(),
            text: String::new(),
            invariants: vec![],
            dropped: vec![],
        },
        curves,
        attribution: None,
    }
}

/// A rising or flat line of `n` points, `step` apart in x.
fn line(n: u64, step: u64, from: u64, rise: u64) -> Points {
    (0..n).map(|i| (i * step, from + i * rise)).collect()
}

/// The page of a simulator explored at three lengths, with a label of every class (a growth
/// in objects and in bytes, noise of both kinds) and names that need escaping: held to its
/// golden file byte for byte. A growing label last in the table shows among the first charts.
#[test]
fn the_html_page_matches_its_golden_file() {
    let (a, b, c) = (Some(20_000), Some(80_000), Some(320_000));
    let e = exploration(
        "leak<&|>",
        XUnit::Cycles,
        Warmup::Phase(vec![2_000, 2_000, 2_000]),
        vec![
            (
                evidence(
                    None,
                    Basis::Bytes,
                    &[
                        (a, 36, 4_096, 9_000),
                        (b, 156, 4_096, 30_000),
                        (c, 636, 4_096, 120_000),
                    ],
                    Class::Growing { per: 2_048.0 },
                ),
                vec![
                    line(4, 5_000, 4_096, 1_600),
                    line(4, 20_000, 4_096, 8_000),
                    line(4, 80_000, 4_096, 38_000),
                ],
            ),
            (
                evidence(
                    Some("Signal<WishboneS2M>::Cons"),
                    Basis::Count,
                    &[(a, 36, 10, 190), (b, 156, 10, 790), (c, 636, 10, 3_190)],
                    Class::Growing { per: 1_000.0 },
                ),
                vec![
                    line(3, 10_000, 10, 90),
                    line(3, 40_000, 10, 390),
                    line(3, 160_000, 10, 1_590),
                ],
            ),
            (
                evidence(
                    Some("RegisterWb::Slave"),
                    Basis::Count,
                    &[(a, 36, 2, 2), (b, 156, 2, 2), (c, 636, 2, 2)],
                    Class::Exactly(2),
                ),
                vec![
                    line(2, 20_000, 2, 0),
                    line(2, 80_000, 2, 0),
                    line(2, 320_000, 2, 0),
                ],
            ),
            (
                evidence(
                    Some("Fifo<Word>"),
                    Basis::Count,
                    &[(a, 36, 0, 1_200), (b, 156, 0, 1_250), (c, 636, 0, 1_250)],
                    Class::Bounded { max: 1_250 },
                ),
                vec![
                    line(3, 10_000, 0, 600),
                    line(3, 40_000, 0, 625),
                    line(3, 160_000, 0, 625),
                ],
            ),
            (
                evidence(
                    Some("malloc | init.c:12"),
                    Basis::Bytes,
                    &[(a, 36, 0, 65_536), (b, 156, 0, 70_000), (c, 636, 0, 70_000)],
                    Class::Bounded { max: 70_000 },
                ),
                vec![
                    line(2, 20_000, 65_536, 0),
                    line(2, 80_000, 70_000, 0),
                    line(2, 320_000, 70_000, 0),
                ],
            ),
            (
                evidence(
                    Some("Boot"),
                    Basis::Count,
                    &[(a, 36, 0, 0), (b, 156, 0, 0), (c, 636, 0, 0)],
                    Class::GoneAfterInit,
                ),
                vec![
                    line(2, 1_000, 5, 0),
                    line(2, 1_000, 5, 0),
                    line(2, 1_000, 5, 0),
                ],
            ),
            (
                evidence(
                    Some("Rare"),
                    Basis::Count,
                    &[(a, 2, 0, 1), (b, 156, 0, 1), (c, 636, 0, 1)],
                    Class::Noise(NoiseReason::TooFewSamples {
                        length: a,
                        samples: 2,
                    }),
                ),
                vec![
                    line(2, 20_000, 0, 1),
                    line(2, 80_000, 0, 1),
                    line(2, 320_000, 0, 1),
                ],
            ),
            (
                evidence(
                    Some("Jitter"),
                    Basis::Count,
                    &[(a, 36, 5, 40), (b, 156, 3, 90), (c, 636, 5, 60)],
                    Class::Noise(NoiseReason::Irregular { ratio: 1.62 }),
                ),
                vec![
                    line(2, 20_000, 40, 0),
                    line(2, 80_000, 90, 0),
                    line(2, 320_000, 60, 0),
                ],
            ),
            (
                evidence(
                    Some("Lazy<u64>::Thunk & \"co\" | x"),
                    Basis::Count,
                    &[(a, 36, 1, 3), (b, 156, 1, 10), (c, 636, 1, 38)],
                    Class::Growing { per: 2.5 },
                ),
                vec![
                    line(2, 20_000, 1, 2),
                    line(2, 80_000, 1, 9),
                    line(2, 320_000, 1, 37),
                ],
            ),
        ],
    );
    report_data::check_golden("explore", "explore.html", &report::explore_html(&e));
}

/// The warm-up as the other two ways of finding it say it, with the x-units of the other
/// sources: a GHC program's `steady` marker (at a different census in each run), and a
/// program explored along its own one run until its labels settle.
#[test]
fn the_html_pages_other_warmups_match_their_golden_files() {
    let (a, b) = (Some(3_000), Some(12_000));
    let census = exploration(
        "ghc_leak",
        XUnit::Census,
        Warmup::Marker(vec![4, 9]),
        vec![
            (
                evidence(
                    None,
                    Basis::Bytes,
                    &[(a, 20, 800, 900), (b, 80, 800, 910)],
                    Class::Bounded { max: 910 },
                ),
                vec![line(3, 10, 800, 50), line(3, 40, 800, 55)],
            ),
            (
                evidence(
                    Some("[]"),
                    Basis::Count,
                    &[(a, 20, 3, 3), (b, 80, 3, 3)],
                    Class::Exactly(3),
                ),
                vec![line(2, 10, 3, 0), line(2, 40, 3, 0)],
            ),
        ],
    );
    report_data::check_golden(
        "explore",
        "explore_marker.html",
        &report::explore_html(&census),
    );
    let rss = exploration(
        "server",
        XUnit::Millis,
        Warmup::Settled(1_500),
        vec![(
            evidence(
                None,
                Basis::Bytes,
                &[(None, 30, 1 << 20, 3 << 20)],
                Class::Bounded { max: 3 << 20 },
            ),
            vec![line(3, 1_000, 1 << 20, 1 << 20)],
        )],
    );
    report_data::check_golden(
        "explore",
        "explore_settled.html",
        &report::explore_html(&rss),
    );
}

/// The explore pages are well-formed XHTML, as the report is (`tests/report_html.rs`): read
/// back as XML, every tag closed where it was opened. The goldens are the pages, byte for byte.
#[test]
fn the_html_pages_are_well_formed() {
    use quick_xml::events::Event;
    for name in [
        "explore.html",
        "explore_marker.html",
        "explore_settled.html",
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name);
        let html = std::fs::read_to_string(&path).expect("golden page");
        let mut r = quick_xml::Reader::from_str(&html);
        r.config_mut().check_end_names = true;
        let mut open = 0i64;
        loop {
            match r.read_event() {
                Ok(Event::Eof) => break,
                Ok(Event::Start(_)) => open += 1,
                Ok(Event::End(_)) => open -= 1,
                Ok(_) => {}
                Err(e) => panic!(
                    "{name}: not well-formed at byte {}: {e}",
                    r.buffer_position()
                ),
            }
        }
        assert_eq!(open, 0, "{name}: elements left open");
    }
}

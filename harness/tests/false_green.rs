//! Issue #8 end to end: each input that once gave a green result on a real leak, or was
//! accepted when it said nothing, now fails or is rejected before anything runs, and says why.
//! Every test drives the `membound` CLI on scenario files in a temporary directory.

mod common;

use assert_cmd::Command;
use common::{assert_has, register_wb};
use std::path::{Path, PathBuf};

/// A scratch project: scenarios/, baselines/ and a work directory.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        for sub in ["scenarios", "baselines"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        Project { dir }
    }

    fn scenario(&self, name: &str, text: &str) -> PathBuf {
        let path = self
            .dir
            .path()
            .join("scenarios")
            .join(format!("{name}.toml"));
        std::fs::write(&path, text).expect("write scenario");
        path
    }

    /// `membound <args>` in this project, outside CI; its exit code and all it printed.
    fn run(&self, args: &[&str]) -> (Option<i32>, String) {
        let out = Command::cargo_bin("membound")
            .expect("membound binary")
            .env_remove("CI")
            .arg("--scenarios")
            .arg(self.dir.path().join("scenarios"))
            .arg("--baselines")
            .arg(self.dir.path().join("baselines"))
            .arg("--work-dir")
            .arg(self.dir.path().join("work"))
            .args(args)
            .output()
            .expect("run membound");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text)
    }
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn a_growth_bound_sampled_too_sparsely_is_a_scenario_error_naming_the_sampling() {
    // The reproduction: lazy_unzip over 100,000 cycles sampled every 40,000 was blessed as
    // "held (4 samples)" while its own baseline recorded the growth.
    let p = Project::new();
    let inv =
        "[[invariant]]\nname = \"no growth\"\nmetric = \"live_bytes\"\nmax_growth_per_kcycle = 0\n";
    p.scenario("sparse", &register_wb("lazy_unzip", 100_000, 40_000, inv));
    for cmd in ["check", "run", "bless"] {
        let (code, text) = p.run(&[cmd]);
        assert!(matches!(code, Some(1 | 2)), "{cmd} must fail: {text}");
        assert_has(&text, "sparse.toml:10:25: invariant `no growth`: a growth bound needs at least 5 samples in its window, but cycles 0 to 100000 sampled every 40000 cycles hold 4 (hint: `sample_every = 25000` or less in `[run]`)");
    }
    assert!(
        !p.dir.path().join("baselines/sparse.json").exists(),
        "nothing is blessed"
    );
}

#[test]
fn a_type_glob_that_matches_nothing_fails_on_a_leaking_circuit_and_lists_the_labels() {
    let p = Project::new();
    let inv = "[[invariant]]\nname = \"cells bounded\"\ntype = \"Signal<Nope>::Cons\"\nmax_count = 1_000\n";
    p.scenario("typo", &register_wb("lazy_unzip", 20_000, 1_000, inv));
    let (code, text) = p.run(&["run"]);
    assert_eq!(code, Some(1), "{text}");
    assert_has(
        &text,
        "invariant `cells bounded` could not be evaluated: type `Signal<Nope>::Cons` matches no label seen in the run (hint: labels seen, nearest first: `Signal<WishboneM2S>::Cons`, `Signal<WishboneS2M>::Cons`",
    );
    let (code, text) = p.run(&["bless"]);
    assert_eq!(code, Some(1), "a typo cannot be blessed: {text}");
}

#[test]
fn a_window_without_samples_fails_and_so_does_a_scenario_whose_windows_all_were() {
    let p = Project::new();
    let invs = "[[invariant]]\nname = \"early cells\"\ncycles = [10, 20]\ntype = \"Signal<*>::Cons\"\nmax_count = 1_000\n\
                [[invariant]]\nname = \"early bytes\"\ncycles = [30, 40]\nmetric = \"live_bytes\"\nmax = \"1 GiB\"\n";
    p.scenario("unsampled", &register_wb("none", 5_000, 1_000, invs));
    let (code, text) = p.run(&["run"]);
    assert_eq!(code, Some(1), "{text}");
    assert_has(
        &text,
        "invariant `early cells` was never checked: no sample fell in its window (10 to 20)",
    );
    assert_has(
        &text,
        "invariant `early bytes` was never checked: no sample fell in its window (30 to 40)",
    );
}

/// `membound profile` of the `churn-hT-i0.hp` fixture against scenario `name` (its text):
/// exit code and output.
fn check_profile(name: &str, scenario: &str) -> (Option<i32>, String) {
    let p = Project::new();
    let s = p.scenario(name, scenario);
    let hp = data("churn-hT-i0.hp");
    p.run(&[
        "profile",
        hp.to_str().expect("utf-8 path"),
        "--scenario",
        s.to_str().expect("utf-8 path"),
    ])
}

#[test]
fn census_windows_too_short_for_a_growth_fit_fail_at_run_time() {
    // Census windows are known only once the profile is read: the outcome is a failure.
    let (code, text) = check_profile(
        "short",
        "description = \"t\"\n[run]\ncommand = [\"prog\"]\n[[invariant]]\nname = \"no growth\"\ncensus = [27, 30]\nmetric = \"heap\"\nmax_growth_per_census = 0\n",
    );
    assert_eq!(code, Some(1), "{text}");
    assert_has(
        &text,
        "no growth: not evaluable: its window held 4 sample(s) and a growth bound needs at least 5",
    );
}

#[test]
fn a_profile_whose_marker_never_came_fails_the_check() {
    // The profile has no `steady` marker: the invariant was never checked, which is no pass.
    let (code, text) = check_profile(
        "unmarked",
        "description = \"t\"\n[run]\ncommand = [\"prog\"]\n[phases]\nsteady = { markers = [\"steady\", \"end\"] }\n[[invariant]]\nname = \"bounded\"\nduring = \"steady\"\nmetric = \"heap\"\nmax = \"1 GiB\"\n",
    );
    assert_eq!(code, Some(1), "{text}");
    assert_has(&text, "bounded: not checked");
}

#[test]
fn a_census_type_glob_typo_fails_with_the_nearest_label_first() {
    let (code, text) = check_profile(
        "typo",
        "description = \"t\"\n[run]\ncommand = [\"prog\"]\n[[invariant]]\nname = \"nodes\"\ntype = \"main:Main.Nod\"\nmax_count = 10\n",
    );
    assert_eq!(code, Some(1), "{text}");
    assert_has(&text, "nodes: not evaluable: type `main:Main.Nod` matches no label seen in the run (hint: labels seen, nearest first: `main:Main.Node`");
}

#[test]
fn accepted_bad_input_is_rejected_with_file_line_column_and_a_fix() {
    let p = Project::new();
    let cases: &[(&str, String, &str)] = &[
        (
            "sparse",
            register_wb("none", 1_000, 5_000, ""),
            "sparse.toml:5:16: `sample_every` = 5000 is larger than `cycles` = 1000",
        ),
        (
            "min0",
            register_wb("none", 10_000, 1_000, "[[invariant]]\nname = \"x\"\ntype = \"Signal<*>::Cons\"\nmin_count = 0\n"),
            "min0.toml:10:13: `min_count = 0` always holds",
        ),
        (
            "holds",
            register_wb("none", 10_000, 1_000, "[[invariant]]\nname = \"x\"\nmetric = \"live_bytes\"\nmax = 1\nexpect = \"holds\"\nexpect_type = \"A\"\n"),
            "holds.toml:12:15: `expect_type`, `expect_site` and `expect_retainer` name the culprit of a violation, but `expect = \"holds\"`",
        ),
        (
            "noname",
            register_wb("none", 10_000, 1_000, "[[invariant]]\nname = \"\"\nmetric = \"live_bytes\"\nmax = 1\n"),
            "noname.toml:8:8: an invariant's `name` is empty",
        ),
        (
            "negtol",
            register_wb("none", 10_000, 1_000, "[tolerance]\n\"rss.peak\" = { absolute = -1 }\n"),
            "negtol.toml:8:27: a tolerance's `absolute` must be non-negative",
        ),
        (
            "corrupt",
            register_wb("none", 10_000, 1_000, "").replace("slaves = 4,", "slaves = 2, corrupt_slave = 2,"),
            "corrupt.toml:6:24: register_wb: parameter `corrupt_slave` = 2 must be below `slaves` = 2",
        ),
        (
            "closure",
            "description = \"t\"\n[run]\ncommand = [\"prog\"]\nclosure_sizes = { \"x\" = 0 }\n".into(),
            "closure.toml:4:25: closure size of `x` is 0",
        ),
        (
            "tool",
            "description = \"t\"\n[run]\ncommand = [\"prog\"]\nrequires = [\"ghcc\"]\n".into(),
            "tool.toml:4:13: unknown tool `ghcc` in `requires`: a misspelt tool would skip the scenario forever (hint: one of gcc, ghc, cc, ",
        ),
    ];
    for (name, text, want) in cases {
        let path = p.scenario(name, text);
        let (code, out) = p.run(&["check", path.to_str().expect("utf-8 path")]);
        assert_eq!(code, Some(1), "{name}: {out}");
        assert_has(&out, want);
    }
}

// The catalogue as a value: a project's own circuits reach the probe child without editing
// `sim/`, and the driver, not the circuit, keeps the clock.

mod own_catalogue {
    use membound::source::probe::{parse_line, run_child, Message, Request};
    use sim::circuits::{
        Catalog, Circuit, CircuitSpec, CircuitStatus, ParamKind, ParamSpec, Params, SimError,
    };

    /// Counts its steps; reports them as transactions.
    struct Counter(u64);

    impl Circuit for Counter {
        fn step(&mut self) {
            self.0 += 1;
        }
        fn status(&self) -> CircuitStatus {
            CircuitStatus {
                transactions: self.0,
                ..Default::default()
            }
        }
    }

    static PARAMS: [ParamSpec; 1] = [ParamSpec {
        name: "start",
        kind: ParamKind::Int { min: 0, max: 100 },
        default: "0",
        doc: "initial count",
    }];

    fn build(p: &Params) -> Result<Box<dyn Circuit>, SimError> {
        Ok(Box::new(Counter(p.int("start") as u64)))
    }

    fn validate(_: &Params) -> Result<(), String> {
        Ok(())
    }

    fn catalog() -> Catalog {
        Catalog::new(vec![CircuitSpec {
            name: "counter",
            doc: "counts cycles",
            params: &PARAMS,
            build,
            validate,
        }])
    }

    fn request(circuit: &str) -> Request {
        Request {
            circuit: circuit.into(),
            params: [("start".to_string(), serde_json::Value::from(2))].into(),
            cycles: 10,
            sample_every: 5,
        }
    }

    #[test]
    fn the_probe_child_builds_circuits_of_the_catalogue_it_is_given() {
        let mut out = Vec::new();
        let mut acks: &[u8] = b"cccc";
        run_child(&request("counter"), &catalog(), &mut out, &mut acks).expect("runs");
        let text = String::from_utf8(out).expect("utf-8");
        let msgs: Vec<Message> = text
            .lines()
            .map(|l| parse_line(l).expect("a message"))
            .collect();
        let xs: Vec<u64> = msgs
            .iter()
            .filter_map(|m| match m {
                Message::Sample(s) => Some(s.x),
                _ => None,
            })
            .collect();
        assert_eq!(xs, [0, 5, 10]);
        assert!(
            matches!(
                msgs.last(),
                Some(Message::Done {
                    transactions: 12,
                    mismatches: 0,
                    ..
                })
            ),
            "{text}"
        );
        let err = run_child(
            &request("register_wb"),
            &catalog(),
            &mut Vec::new(),
            &mut &b""[..],
        )
        .expect_err("not in this catalogue");
        assert_eq!(err, "unknown circuit `register_wb` (valid: counter)");
    }
}

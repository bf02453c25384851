//! Ways a leak could pass, or membound misbehave, through a source: each a real program (C,
//! Haskell, or a shell leaving a real profile behind) run end to end through the CLI, and the
//! run failing (or erring before anything runs) with why.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::{have, have_ghc, Project};

/// Writes scenario `name` into the project.
fn scenario(p: &Project, name: &str, text: &str) {
    std::fs::write(p.path("scenarios").join(format!("{name}.toml")), text).expect("write scenario");
}

/// `membound <args>` in the project, outside CI, with `work` as the work directory.
fn membound(p: &Project, work: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("membound"));
    c.env_remove("CI")
        .arg("--scenarios")
        .arg(p.path("scenarios"))
        .arg("--baselines")
        .arg(p.path("baselines"))
        .arg("--work-dir")
        .arg(work)
        .args(args);
    c
}

/// Runs `membound run NAME`: its exit code, everything it printed, and how long it took.
fn run(p: &Project, name: &str) -> (Option<i32>, String, Duration) {
    let start = Instant::now();
    let out = membound(p, &p.path("work"), &["run", name])
        .output()
        .expect("membound run");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text, start.elapsed())
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A shell command as a scenario's `command`: `sh -c SCRIPT` (the RTS options membound appends
/// for a GHC profile become the script's `$0 $1 …`, unused).
fn sh(script: &str) -> String {
    format!("[\"sh\", \"-c\", {script:?}]")
}

/// A scenario running `command` with profile `profile` and the invariants `rest`.
fn scenario_text(command: &str, profile: &str, rest: &str) -> String {
    let diagnose = if profile.starts_with("ghc") {
        "diagnose = false\n"
    } else {
        ""
    };
    format!(
        "description = \"trust test\"\n[run]\ncommand = {command}\nprofile = \"{profile}\"\n{diagnose}{rest}\n"
    )
}

const HEAP_BOUND: &str =
    "[[invariant]]\nname = \"heap bounded\"\nmetric = \"heap\"\nmax = \"1 GiB\"\n";

// ---- 3: a closure size that divides no census row ----

/// Keeps 40,000 list cells live across a census, then exits.
const CELLS_HS: &str = r#"
import Control.Exception (evaluate)
import Data.IORef
import System.Mem (performMajorGC)

main :: IO ()
main = do
  ref <- newIORef (replicate 40000 (1 :: Int))
  _ <- readIORef ref >>= evaluate . length
  performMajorGC
  performMajorGC
  readIORef ref >>= print . length
"#;

/// A project whose scenario `name` builds `CELLS_HS` and bounds its list cells with the
/// declared closure size `size`.
fn cells_project(p: &Project, name: &str, size: u64) {
    std::fs::create_dir_all(p.path("scenarios/haskell")).expect("mkdir");
    std::fs::write(p.path("scenarios/haskell/Cells.hs"), CELLS_HS).expect("write");
    scenario(
        p,
        name,
        &format!(
            r#"description = "40,000 list cells"
[build]
command = ["ghc", "-O0", "-rtsopts", "-outputdir", "{{outdir}}", "-o", "{{out}}", "haskell/Cells.hs"]
inputs = ["haskell/Cells.hs"]
[run]
command = ["{{build}}"]
profile = "ghc-hp"
diagnose = false
closure_sizes = {{ "ghc-prim:GHC.Types.:" = {size} }}
[[invariant]]
name = "cells bounded"
type = "ghc-prim:GHC.Types.:"
max_count = 1000
"#
        ),
    );
}

#[test]
fn a_declared_closure_size_that_divides_no_row_is_an_error_not_a_count_of_zero() {
    if !have_ghc() {
        return;
    }
    let p = Project::new();
    cells_project(&p, "cells_wrong_size", 1_000_000);
    let (code, text, _) = run(&p, "cells_wrong_size");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("closure size 1000000 declared for `ghc-prim:GHC.Types.:` does not divide its bytes in census"),
        "{text}"
    );
    assert!(!text.contains("invariant `cells bounded` holds"), "{text}");
    // The right size: the same leak is caught by the same invariant.
    cells_project(&p, "cells_right_size", 24);
    let (code, text, _) = run(&p, "cells_right_size");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("invariant `cells bounded` violated"),
        "{text}"
    );
    assert!(!text.contains("does not divide"), "{text}");
}

// ---- 4: a profile of the wrong kind ----

#[test]
fn a_cost_centre_profile_does_not_pass_type_invariants() {
    let p = Project::new();
    let absent =
        "[[invariant]]\nname = \"no list cells\"\ntype = \"ghc-prim:GHC.Types.:\"\nabsent = true\n";
    let hc = data("attribution/lazy_unzip-hc.hp");
    scenario(
        &p,
        "hc_profile",
        &scenario_text(
            &sh(&format!("cp '{}' prog.hp", hc.display())),
            "ghc-hp",
            absent,
        ),
    );
    let (code, text, _) = run(&p, "hc_profile");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("the profile is a cost centre profile (`-hc`)")
            && text.contains("`no list cells`")
            && text.contains("+RTS -hT"),
        "{text}"
    );
    // A closure-type profile of a program with list cells: the same invariant is checked, and
    // violated.
    let ht = data("churn-hT-i0.hp");
    let job = std::fs::read_to_string(&ht).expect("fixture");
    let with_flags = job.replacen(
        "JOB \"eventlog_churn\"",
        "JOB \"eventlog_churn +RTS -hT -RTS\"",
        1,
    );
    std::fs::write(p.path("bin/churn.hp"), with_flags).expect("write");
    scenario(
        &p,
        "ht_profile",
        &scenario_text(
            &sh(&format!(
                "cp '{}' prog.hp",
                p.path("bin/churn.hp").display()
            )),
            "ghc-hp",
            absent,
        ),
    );
    let (code, text, _) = run(&p, "ht_profile");
    assert_eq!(code, Some(1), "{text}");
    assert!(!text.contains("not closure types"), "{text}");
}

// ---- 5: several .hp files ----

#[test]
fn two_hp_files_in_the_run_directory_are_an_error_listing_them() {
    let p = Project::new();
    let ht = data("churn-hT-i0.hp");
    scenario(
        &p,
        "two_hps",
        &scenario_text(
            &sh(&format!("cp '{0}' a.hp && cp '{0}' b.hp", ht.display())),
            "ghc-hp",
            HEAP_BOUND,
        ),
    );
    let (code, text, _) = run(&p, "two_hps");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("holds 2 .hp files"), "{text}");
    assert!(text.contains("a.hp") && text.contains("b.hp"), "{text}");
}

// ---- 2: a profile cut short ----

/// The first `n` bytes of a fixture, written into the project's `bin/`.
fn cut_fixture(p: &Project, fixture: &str, n: usize, name: &str) -> PathBuf {
    let bytes = std::fs::read(data(fixture)).expect("fixture");
    let out = p.path("bin").join(name);
    std::fs::write(&out, &bytes[..n.min(bytes.len())]).expect("write");
    out
}

/// The byte offset of the start of 1-based line `line` of a fixture.
fn line_offset(fixture: &str, line: usize) -> usize {
    let text = std::fs::read_to_string(data(fixture)).expect("fixture");
    text.split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum()
}

#[test]
fn an_hp_file_cut_mid_sample_by_a_program_that_exits_0_is_incomplete() {
    let p = Project::new();
    // Cut inside the third sample (begun at line 43), after a few of its rows.
    let cut = cut_fixture(
        &p,
        "churn-hT-i0.hp",
        line_offset("churn-hT-i0.hp", 50),
        "cut.hp",
    );
    scenario(
        &p,
        "cut_hp",
        &scenario_text(
            &sh(&format!("cp '{}' prog.hp", cut.display())),
            "ghc-hp",
            HEAP_BOUND,
        ),
    );
    let (code, text, _) = run(&p, "cut_hp");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("the profile ends mid-record, inside the sample begun at line 43"),
        "{text}"
    );
    assert!(text.contains("incomplete"), "{text}");
    // `profile FILE --scenario S` on the same file.
    let out = membound(&p, &p.path("work"), &["profile"])
        .arg(&cut)
        .arg("--scenario")
        .arg(p.path("scenarios/cut_hp.toml"))
        .output()
        .expect("profile");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("inside the sample begun at line 43"),
        "{text}"
    );
}

#[test]
fn an_eventlog_without_its_end_marker_from_a_program_that_exits_0_is_incomplete() {
    let p = Project::new();
    let cut = cut_fixture(&p, "churn-hT-i0.eventlog", 40_000, "cut.eventlog");
    scenario(
        &p,
        "cut_eventlog",
        &scenario_text(
            &sh(&format!("cp '{}' profile.eventlog", cut.display())),
            "ghc-eventlog",
            HEAP_BOUND,
        ),
    );
    let (code, text, _) = run(&p, "cut_eventlog");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("the profile ends mid-record, byte ")
            && text.contains("without its end-of-data marker"),
        "{text}"
    );
    let out = membound(&p, &p.path("work"), &["profile"])
        .arg(&cut)
        .arg("--scenario")
        .arg(p.path("scenarios/cut_eventlog.toml"))
        .output()
        .expect("profile");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("the log ends mid-record at byte"), "{text}");
}

// ---- 7: runaway stderr ----

/// The highest `VmHWM` of `pid` seen while polling it until it exits.
fn peak_while_running(child: &mut std::process::Child) -> u64 {
    let pid = child.id();
    let mut peak = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            if let Some(kib) = status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
            {
                peak = peak.max(kib * 1024);
            }
        }
        if child.try_wait().expect("wait").is_some() {
            return peak;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_program_flooding_stderr_leaves_membound_small_and_its_tail_bounded() {
    let p = Project::new();
    let exe = p.cc(
        "flood",
        r#"#include <stdio.h>
#include <string.h>
int main(void) {
    static char block[1 << 20];
    memset(block, 'x', sizeof block);
    fputs("first line\n", stderr);
    for (int i = 0; i < 300; i++) fwrite(block, 1, sizeof block, stderr);
    fputs("\nlast words\n", stderr);
    return 1;
}"#,
    );
    scenario(
        &p,
        "flood",
        &scenario_text(
            &format!("[{:?}]", exe.display().to_string()),
            "rss",
            "[[invariant]]\nname = \"rss bounded\"\nmetric = \"rss\"\nmax = \"1 GiB\"\n",
        ),
    );
    let mut child = membound(&p, &p.path("work"), &["run", "flood"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("membound");
    // The pipes are drained on threads, so that membound never waits on them.
    let drain = |r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut r = r;
            let mut s = Vec::new();
            let _ = r.read_to_end(&mut s);
            s
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let peak = peak_while_running(&mut child);
    let text = String::from_utf8_lossy(&out.join().expect("stdout")).into_owned()
        + &String::from_utf8_lossy(&err.join().expect("stderr"));
    assert!(
        text.contains("first line"),
        "{}",
        &text[..text.len().min(2000)]
    );
    assert!(
        text.contains("last words"),
        "{}",
        &text[..text.len().min(2000)]
    );
    assert!(text.len() < 200_000, "{} bytes of output", text.len());
    assert!(
        peak < 150 << 20,
        "membound's own peak RSS was {} MiB",
        peak >> 20
    );
}

// ---- 8: an rss run answers when the program exits ----

#[test]
fn an_rss_run_answers_when_the_program_exits_not_at_the_next_tick() {
    let p = Project::new();
    let exe = p.cc(
        "short",
        "#include <unistd.h>\nint main(void) { usleep(500000); return 0; }\n",
    );
    scenario(
        &p,
        "short",
        &scenario_text(
            &format!("[{:?}]", exe.display().to_string()),
            "rss",
            "sample_interval = \"10s\"\n[budget]\ntimeout = \"3s\"\n[[invariant]]\nname = \"rss bounded\"\nmetric = \"rss\"\nmax = \"1 GiB\"\n",
        ),
    );
    let (_, text, took) = run(&p, "short");
    assert!(!text.contains("timed out"), "{text}");
    assert!(took < Duration::from_millis(2500), "took {took:?}: {text}");
}

// ---- 6: an rss spike between samples ----

/// Sleeps `before` ms, touches 200 MiB and frees it, sleeps `after` ms.
fn spike(p: &Project, name: &str, before: u32, after: u32) -> PathBuf {
    p.cc(
        name,
        &format!(
            r#"#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(void) {{
    usleep({before} * 1000);
    size_t n = 200u << 20;
    /* volatile: the allocation must happen, not be optimised away with its free */
    char *volatile p = malloc(n);
    if (!p) return 2;
    memset(p, 1, n);
    int sum = p[n / 2];
    free(p);
    usleep({after} * 1000);
    return sum == 1 ? 0 : 3;
}}"#
        ),
    )
}

const RSS_50: &str = "[[invariant]]\nname = \"rss bounded\"\nmetric = \"rss\"\nmax = \"50 MiB\"\n";

#[test]
fn an_rss_spike_between_two_samples_is_not_missed() {
    let p = Project::new();
    // Samples at about 0 and 600 ms; the 200 MiB come and go at about 200 ms.
    let exe = spike(&p, "spike_between", 200, 1000);
    scenario(
        &p,
        "spike_between",
        &scenario_text(
            &format!("[{:?}]", exe.display().to_string()),
            "rss",
            &format!("sample_interval = \"600ms\"\n{RSS_50}"),
        ),
    );
    let (code, text, _) = run(&p, "spike_between");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("invariant `rss bounded` violated"), "{text}");
    // In the resident set's words, not a heap's.
    assert!(text.contains("resident set ≤ 50.0 MiB"), "{text}");
    assert!(!text.contains("live bytes"), "{text}");
    // After the last sample, just before the exit: the program's mark at exit.
    let exe = spike(&p, "spike_at_exit", 300, 100);
    scenario(
        &p,
        "spike_at_exit",
        &scenario_text(
            &format!("[{:?}]", exe.display().to_string()),
            "rss",
            &format!("sample_interval = \"10s\"\n{RSS_50}"),
        ),
    );
    let (code, text, _) = run(&p, "spike_at_exit");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("invariant `rss bounded` violated"), "{text}");
}

// ---- 1: massif follows every process ----

/// Keeps N blocks of 1 MiB (N from its first argument), each touched, then exits.
const HOARD_C: &str = r#"#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20;
    for (int i = 0; i < n; i++) {
        char *p = malloc(1 << 20);
        if (!p) return 2;
        memset(p, 1, 1 << 20);
    }
    return 0;
}"#;

const HEAP_1M: &str =
    "[[invariant]]\nname = \"heap bounded\"\nmetric = \"heap\"\nmax = \"1 MiB\"\n";

#[test]
fn massif_measures_the_program_a_shell_starts() {
    if !have("valgrind", "--version") {
        return;
    }
    let p = Project::new();
    let exe = p.cc("hoard", HOARD_C);
    scenario(
        &p,
        "through_sh",
        &scenario_text(
            &format!("[\"sh\", \"-c\", \"'{}' 20; true\"]", exe.display()),
            "massif",
            HEAP_1M,
        ),
    );
    let (code, text, _) = run(&p, "through_sh");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("invariant `heap bounded` violated"), "{text}");
}

#[test]
fn massif_measures_a_forked_child() {
    if !have("valgrind", "--version") {
        return;
    }
    let p = Project::new();
    let exe = p.cc(
        "forker",
        r#"#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    pid_t c = fork();
    if (c == 0) {
        for (int i = 0; i < 20; i++) {
            char *p = malloc(1 << 20);
            if (!p) _exit(2);
            memset(p, 1, 1 << 20);
        }
        exit(0);
    }
    int status = 0;
    waitpid(c, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}"#,
    );
    scenario(
        &p,
        "forked",
        &scenario_text(
            &format!("[{:?}]", exe.display().to_string()),
            "massif",
            HEAP_1M,
        ),
    );
    let (code, text, _) = run(&p, "forked");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("invariant `heap bounded` violated"), "{text}");
}

// ---- 10: each source in its own words ----

#[test]
fn an_rss_failure_speaks_of_the_resident_set_not_of_censuses() {
    let p = Project::new();
    // Holds 30 MiB, then fails: the figures so far are the resident set's.
    let exe = p.cc(
        "fails",
        r#"#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    char *volatile p = malloc(30 << 20);
    if (!p) return 2;
    memset(p, 1, 30 << 20);
    usleep(400 * 1000);
    return p[5] == 1 ? 4 : 5;
}"#,
    );
    scenario(
        &p,
        "fails",
        &scenario_text(
            &format!("[{:?}]", exe.display().to_string()),
            "rss",
            "sample_interval = \"50ms\"\n[[invariant]]\nname = \"rss bounded\"\nmetric = \"rss\"\nmax = \"1 GiB\"\n",
        ),
    );
    let (code, text, _) = run(&p, "fails");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("exit status 4"), "{text}");
    assert!(text.contains("so far: peak resident set"), "{text}");
    assert!(text.contains("last sample ("), "{text}");
    assert!(
        !text.contains("census") && !text.contains("top types"),
        "{text}"
    );
}

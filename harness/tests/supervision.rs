//! Supervision of external programs with real programs: small C programs compiled with `cc`
//! and Haskell programs compiled with `ghc` in the test. Each test can fail: it checks what a
//! watcher outside membound sees (`/proc`, wall-clock time, files the programs write).
//!
//! Time bounds are generous (a loaded 2-core machine): they separate "held within the
//! interval" from "ran to its own end", not milliseconds; benches/ measures the exact figures.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{have_ghc, Project};

impl Project {
    fn scenario(&self, name: &str, text: &str) {
        std::fs::write(self.path("scenarios").join(format!("{name}.toml")), text)
            .expect("write scenario");
    }

    /// `membound <args>` in this project, outside CI, with `work` as the work directory.
    fn cmd(&self, work: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("membound"));
        c.env_remove("CI")
            .arg("--scenarios")
            .arg(self.path("scenarios"))
            .arg("--baselines")
            .arg(self.path("baselines"))
            .arg("--work-dir")
            .arg(work)
            .args(args);
        c
    }

    fn run(&self, args: &[&str]) -> (std::process::Output, Duration) {
        let start = Instant::now();
        let out = self
            .cmd(&self.path("work"), args)
            .output()
            .expect("membound run");
        (out, start.elapsed())
    }
}

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn external(exe: &Path, args: &[&str], extra: &str) -> String {
    let mut argv = vec![format!("{:?}", exe.to_string_lossy())];
    argv.extend(args.iter().map(|a| format!("{a:?}")));
    format!(
        "description = \"supervision test\"\n[run]\ncommand = [{}]\n{extra}\n",
        argv.join(", ")
    )
}

/// Whether a process is alive: a zombie has ended (it only waits to be reaped by init).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}

/// Waits up to `within` for every pid to end; returns the survivors.
fn survivors(pids: &[i32], within: Duration) -> Vec<i32> {
    let deadline = Instant::now() + within;
    loop {
        let left: Vec<i32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Pids written one per line by the test programs into `file`.
fn read_pids(file: &Path) -> Vec<i32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn wait_for_pids(file: &Path, n: usize, within: Duration) -> Vec<i32> {
    let deadline = Instant::now() + within;
    loop {
        let pids = read_pids(file);
        if pids.len() >= n || Instant::now() > deadline {
            return pids;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Children of `pid` per /proc.
fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.filter_map(|t| t.ok()) {
            if let Ok(c) = std::fs::read_to_string(t.path().join("children")) {
                out.extend(c.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
            }
        }
    }
    out
}

fn descendants(pid: i32) -> Vec<i32> {
    let mut out = children(pid);
    let mut i = 0;
    while i < out.len() {
        let c = children(out[i]);
        out.extend(c);
        i += 1;
    }
    out
}

/// Writes the caller's pid, one line, appending (O_APPEND writes of a line are atomic).
const C_PRELUDE: &str = r#"
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
static void note_pid(const char *file) {
    char line[32];
    int fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int n = snprintf(line, sizeof line, "%d\n", (int)getpid());
    if (fd >= 0) { write(fd, line, n); close(fd); }
}
/* Escapes allocations, so that the compiler keeps them and their memset. */
static char *volatile keep;
static double now(void) {
    struct timespec t; clock_gettime(CLOCK_REALTIME, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}
"#;

#[test]
fn the_budget_covers_every_descendant_and_holds_within_half_a_second() {
    let p = Project::new();
    // Four children of 30 MiB each, 1 s apart: none alone is over the 50 MiB budget, two
    // together are. Each notes when it starts filling its memory; then all sleep a minute.
    let exe = p.cc(
        "forks",
        &format!(
            "{C_PRELUDE}
int main(int argc, char **argv) {{
    for (int i = 0; i < 4; i++) {{
        if (fork() == 0) {{
            note_pid(argv[1]);
            FILE *f = fopen(argv[2], \"a\"); fprintf(f, \"%.6f\\n\", now()); fclose(f);
            size_t n = 30u << 20;
            char *m = malloc(n);
            memset(m, 1, n);
            keep = m;
            sleep(60);
            return 0;
        }}
        usleep(1000000);
    }}
    sleep(60);
    return 0;
}}"
        ),
    );
    let pids = p.path("pids");
    let started = p.path("started");
    p.scenario(
        "forks",
        &external(
            &exe,
            &[&pids.to_string_lossy(), &started.to_string_lossy()],
            "[budget]\nmax_rss = \"50 MiB\"\ntimeout = \"120s\"",
        ),
    );
    let (out, took) = p.run(&["run"]);
    let ended = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("exceeds the budget of 50.0 MiB"), "{t}");
    assert!(t.contains("killed: RSS "), "names the RSS reached: {t}");
    assert!(
        took < Duration::from_secs(30),
        "not the program's own minute: {took:?}"
    );
    let times: Vec<f64> = std::fs::read_to_string(&started)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect();
    // The second child takes the sum over 50 MiB while it fills its memory: the budget, read
    // every 50 ms, must end the tree before the third child starts 1 s later (generous: a
    // loaded machine may delay the watchdog; benches/ has the exact figure).
    assert!(times.len() >= 2, "two children started: {times:?}\n{t}");
    assert_eq!(
        times.len(),
        2,
        "stopped before the third child: {times:?}\n{t}"
    );
    assert!(
        ended - times[1] < 10.0,
        "membound ended {:.2}s after the second child started\n{t}",
        ended - times[1]
    );
    let left = survivors(&read_pids(&pids), Duration::from_secs(5));
    assert!(left.is_empty(), "every child is killed: {left:?}");
}

#[test]
fn a_hanging_build_times_out_and_leaves_nothing() {
    let p = Project::new();
    let pids = p.path("build-pids");
    p.scenario(
        "hanging_build",
        &format!(
            "description = \"a build that hangs\"
[build]
command = [\"sh\", \"-c\", \"echo $$ >> {pids}; sleep 301.5\"]
timeout = \"1s\"
[run]
command = [\"{{build}}\"]
",
            pids = pids.display()
        ),
    );
    let (out, took) = p.run(&["run"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("build step"), "{t}");
    assert!(t.contains("timed out after 1s"), "{t}");
    assert!(took < Duration::from_secs(20), "{took:?}: {t}");
    let shell = read_pids(&pids);
    assert_eq!(shell.len(), 1, "the build ran: {t}");
    let mut all = shell.clone();
    all.extend(sleepers("301.5"));
    assert!(
        survivors(&all, Duration::from_secs(5)).is_empty(),
        "{all:?}"
    );
}

/// Pids of `sleep <duration>` processes.
fn sleepers(duration: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            (String::from_utf8_lossy(&cmd).replace('\0', " ").trim() == format!("sleep {duration}"))
                .then_some(pid)
        })
        .filter(|p| alive(*p))
        .collect()
}

/// A program whose grandchild leaves its session (`setsid`) with stderr still open, then sleeps.
fn escaper(p: &Project, main_sleeps: u32) -> PathBuf {
    p.cc(
        &format!("escaper{main_sleeps}"),
        &format!(
            "{C_PRELUDE}
int main(int argc, char **argv) {{
    int noted[2];
    char c;
    note_pid(argv[1]);
    if (pipe(noted) != 0) return 3;
    if (fork() == 0) {{
        setsid();
        if (fork() == 0) {{
            note_pid(argv[1]);
            fprintf(stderr, \"grandchild escaped\\n\");
            /* The program goes on only once its grandchild is on record. */
            if (write(noted[1], \"x\", 1) != 1) return 3;
            sleep(300);
            return 0;
        }}
        return 0;
    }}
    if (read(noted[0], &c, 1) != 1) return 3;
    sleep({main_sleeps});
    return 0;
}}"
        ),
    )
}

#[test]
fn a_setsid_grandchild_does_not_hold_membound_past_the_budget_nor_outlive_the_run() {
    let p = Project::new();
    let exe = escaper(&p, 60);
    let pids = p.path("pids");
    p.scenario(
        "escape",
        &external(
            &exe,
            &[&pids.to_string_lossy()],
            "[budget]\ntimeout = \"2s\"",
        ),
    );
    let (out, took) = p.run(&["run"]);
    let t = text(&out);
    assert!(t.contains("timed out after 2s"), "{t}");
    assert!(took < Duration::from_secs(15), "held {took:?}: {t}");
    let all = read_pids(&pids);
    assert_eq!(all.len(), 2, "program and grandchild ran: {all:?}");
    assert!(
        survivors(&all, Duration::from_secs(5)).is_empty(),
        "{all:?}"
    );
}

#[test]
fn a_program_that_exits_takes_its_setsid_grandchild_with_it() {
    let p = Project::new();
    let exe = escaper(&p, 0);
    let pids = p.path("pids");
    p.scenario(
        "escape_exit",
        &external(&exe, &[&pids.to_string_lossy()], ""),
    );
    let (out, took) = p.run(&["run"]);
    let t = text(&out);
    assert!(took < Duration::from_secs(15), "held {took:?}: {t}");
    let all = read_pids(&pids);
    assert_eq!(all.len(), 2, "program and grandchild ran: {all:?}\n{t}");
    assert!(
        survivors(&all, Duration::from_secs(5)).is_empty(),
        "{all:?}"
    );
}

/// Starts `membound run` on a program that forks a child and sleeps; returns membound and
/// the pids of the launcher, the program and its child once they are running.
fn start_sleeper(p: &Project, name: &str) -> (std::process::Child, Vec<i32>) {
    let exe = p.cc(
        name,
        &format!(
            "{C_PRELUDE}
int main(int argc, char **argv) {{
    if (fork() == 0) {{ note_pid(argv[1]); sleep(300); return 0; }}
    char line[32]; int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644);
    int n = snprintf(line, sizeof line, \"%d\\n%d\\n\", (int)getppid(), (int)getpid());
    write(fd, line, n); close(fd);
    sleep(300);
    return 0;
}}"
        ),
    );
    let pids = p.path(&format!("{name}.pids"));
    p.scenario(name, &external(&exe, &[&pids.to_string_lossy()], ""));
    let membound = p
        .cmd(&p.path("work"), &["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn membound");
    let found = wait_for_pids(&pids, 3, Duration::from_secs(20));
    assert_eq!(
        found.len(),
        3,
        "launcher, program and child started: {found:?}"
    );
    (membound, found)
}

fn kill_membound_with(signal: i32, name: &str) {
    let p = Project::new();
    let (mut membound, pids) = start_sleeper(&p, name);
    // SAFETY: signalling the child this test started.
    unsafe {
        libc::kill(membound.id() as i32, signal);
    }
    let _ = membound.wait();
    let left = survivors(&pids, Duration::from_secs(10));
    assert!(
        left.is_empty(),
        "signal {signal}: survivors {left:?} of {pids:?}"
    );
}

#[test]
fn kill_9_of_membound_leaves_no_process_behind() {
    kill_membound_with(libc::SIGKILL, "sleeper_kill");
}

#[test]
fn sigterm_of_membound_leaves_no_process_behind() {
    kill_membound_with(libc::SIGTERM, "sleeper_term");
}

#[test]
fn ctrl_c_of_membound_leaves_no_process_behind() {
    kill_membound_with(libc::SIGINT, "sleeper_int");
}

#[test]
fn kill_9_of_membound_ends_the_simulators_probe_child() {
    let p = Project::new();
    p.scenario(
        "long_sim",
        "description = \"a long simulation\"\n[run]\nsimulator = \"register_wb\"\ncycles = 500_000_000\nsample_every = 100_000\n[budget]\ntimeout = \"10 min\"\n",
    );
    let mut membound = p
        .cmd(&p.path("work"), &["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn membound");
    let me = membound.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut probe = Vec::new();
    while probe.is_empty() && Instant::now() < deadline {
        probe = descendants(me);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!probe.is_empty(), "the probe child started");
    // SAFETY: signalling the child this test started.
    unsafe {
        libc::kill(me, libc::SIGKILL);
    }
    let _ = membound.wait();
    let left = survivors(&probe, Duration::from_secs(10));
    assert!(left.is_empty(), "survivors {left:?}");
}

#[test]
fn a_crash_is_reported_by_signal_name() {
    let p = Project::new();
    let exe = p.cc(
        "segv",
        &format!(
            "{C_PRELUDE}
int main(void) {{
    struct rlimit none = {{0, 0}};
    setrlimit(RLIMIT_CORE, &none);
    fprintf(stderr, \"about to crash\\n\");
    raise(SIGSEGV);
    return 0;
}}"
        ),
    );
    p.scenario("segv", &external(&exe, &[], ""));
    let (out, _) = p.run(&["run"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("killed by SIGSEGV"), "{t}");
    assert!(!t.contains("exit status 139"), "{t}");
    assert!(t.contains("about to crash"), "{t}");
}

#[test]
fn the_first_error_line_is_kept_before_pages_of_usage() {
    let p = Project::new();
    let exe = p.cc(
        "usage",
        &format!(
            "{C_PRELUDE}
int main(void) {{
    fprintf(stderr, \"usage: bad flag -Xbogus\\n\");
    for (int i = 0; i < 300; i++) fprintf(stderr, \"   usage text line %d\\n\", i);
    return 1;
}}"
        ),
    );
    p.scenario("usage", &external(&exe, &[], ""));
    let (out, _) = p.run(&["run"]);
    let t = text(&out);
    assert!(t.contains("usage: bad flag -Xbogus"), "{t}");
    assert!(t.contains("usage text line 299"), "{t}");
}

// ---- GHC programs ----

/// A program that keeps 1,000 more list cells per step and forces a census per step, one step
/// every 100 ms: `leak STEPS` runs STEPS / 10 seconds. Markers `steady` after step 3, `end`
/// after the last.
const LEAK_HS: &str = r#"
import Control.Concurrent (threadDelay)
import Control.Monad (forM_, when)
import Data.IORef
import Membound (marker)
import System.Environment (getArgs)
import System.Mem (performMajorGC)

main :: IO ()
main = do
  [n] <- map read <$> getArgs
  ref <- newIORef []
  forM_ [1 .. n :: Int] $ \i -> do
    modifyIORef' ref (\xs -> let ys = replicate 1000 i ++ xs in length ys `seq` ys)
    performMajorGC
    when (i == 3) (marker "steady")
    threadDelay 100000
  readIORef ref >>= print . length
  marker "end"
"#;

/// A project whose scenario `name` (`description`) builds the first of `sources` (file names
/// under `haskell/`, with their text) and runs it with `args`, bounding its heap by `max`
/// during `steady = { markers = ["steady", to] }`; built into a cached work directory shared
/// by the GHC tests.
fn ghc_project(
    name: &str,
    description: &str,
    sources: &[(&str, &str)],
    args: &[&str],
    extra: &str,
    to: &str,
    max: &str,
) -> (Project, PathBuf) {
    let p = Project::new();
    std::fs::create_dir_all(p.path("scenarios/haskell")).expect("mkdir");
    for (file, text) in sources {
        std::fs::write(p.path("scenarios/haskell").join(file), text).expect("write");
    }
    let quoted = |v: &[&str]| {
        v.iter()
            .map(|a| format!("{a:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let inputs: Vec<String> = sources
        .iter()
        .map(|(f, _)| format!("haskell/{f}"))
        .collect();
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let command: Vec<&str> = std::iter::once("{build}")
        .chain(args.iter().copied())
        .collect();
    p.scenario(
        name,
        &format!(
            r#"description = "{description}"
[build]
command = ["ghc", "-O1", "-eventlog", "-rtsopts", "-ihaskell", "-outputdir", "{{outdir}}", "-o", "{{out}}", {main:?}]
inputs = [{inputs}]
[run]
command = [{command}]
{extra}
[phases]
steady = {{ markers = ["steady", {to:?}] }}
[[invariant]]
name = "heap bounded"
during = "steady"
metric = "heap"
max = "{max}"
[budget]
timeout = "10 min"
"#,
            main = inputs[0],
            inputs = quoted(&inputs),
            command = quoted(&command),
        ),
    );
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("supervision-ghc");
    (p, work)
}

/// A project with `haskell/Leak.hs` and `haskell/Membound.hs` (see [`ghc_project`]).
fn leak_project(name: &str, steps: u32, extra: &str) -> (Project, PathBuf) {
    let membound_hs = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/haskell/Membound.hs"),
    )
    .expect("read Membound.hs");
    ghc_project(
        name,
        "a leak in its first censuses",
        &[("Leak.hs", LEAK_HS), ("Membound.hs", &membound_hs)],
        &[&steps.to_string()],
        extra,
        "end",
        "256 KiB",
    )
}

#[test]
fn a_leak_in_the_first_censuses_of_a_five_minute_program_stops_in_seconds() {
    if !have_ghc() {
        return;
    }
    let (p, work) = leak_project("leak_stop", 3000, "");
    let start = Instant::now();
    let out = p.cmd(&work, &["run"]).output().expect("run");
    let took = start.elapsed();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("heap bounded"), "{t}");
    // Cold GHC builds take a while; the run itself is seconds of a 300 s program.
    assert!(took < Duration::from_secs(120), "{took:?}: {t}");
    let result: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(work.join("results/leak_stop.json")).expect("result file"),
    )
    .expect("result json");
    let stopped = result["stopped_at"].as_u64().expect("stopped_at");
    assert!(
        (3..40).contains(&stopped),
        "stopped at an early census of the steady phase: {stopped}\n{t}"
    );
}

/// A membound that a failing test must not leave waiting on a paused program.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn pause_leaves_a_stopped_program_that_resumes_when_continued() {
    if !have_ghc() {
        return;
    }
    let (p, work) = leak_project("leak_pause", 60, "");
    // Under CI the pause is refused.
    let out = p
        .cmd(&work, &["run", "--on-violation", "pause"])
        .env("CI", "true")
        .output()
        .expect("run");
    let t = text(&out);
    assert_ne!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("refusing to pause"), "{t}");
    let mut membound = KillOnDrop(
        p.cmd(&work, &["run", "--on-violation", "pause"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn"),
    );
    let membound = &mut membound.0;
    let stderr = membound.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut pid = None;
    for line in lines.by_ref() {
        let Ok(line) = line else { break };
        if let Some(rest) = line.split("paused at its first violation (pid ").nth(1) {
            pid = rest.split(',').next().and_then(|n| n.parse::<i32>().ok());
            break;
        }
    }
    let pid = pid.expect("membound said which pid it paused");
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("paused program");
    let state = state
        .rsplit_once(')')
        .map(|(_, r)| r.trim_start().chars().next());
    assert_eq!(state, Some(Some('T')), "the program is stopped");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        membound.try_wait().expect("try_wait").is_none(),
        "membound waits"
    );
    let pgid = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().nth(2)?.parse::<i32>().ok())
        })
        .expect("pgid");
    // SAFETY: continuing the process group membound created for the program.
    unsafe {
        libc::kill(-pgid, libc::SIGCONT);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = membound.try_wait().expect("try_wait") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "membound ends once the program is continued"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(
        status.code(),
        Some(1),
        "the violation is the verdict: {rest:?}"
    );
    assert!(!alive(pid));
}

#[test]
fn a_bad_rts_flag_keeps_the_rts_error_line() {
    if !have_ghc() {
        return;
    }
    let (p, work) = leak_project("leak_bad_rts", 10, "rts = [\"-Xbogus\"]");
    let out = p.cmd(&work, &["run"]).output().expect("run");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("unknown RTS option: -Xbogus"), "{t}");
}

#[test]
fn a_scenarios_own_rts_options_mark_its_timeline_inexact() {
    if !have_ghc() {
        return;
    }
    let (p, work) = leak_project("leak_sparse", 5, "rts = [\"-i0.05\"]");
    let scenario = membound::scenario::load(
        &p.path("scenarios/leak_sparse.toml"),
        &sim::circuits::catalog(),
    )
    .expect("valid scenario");
    let cfg = membound::source::RunConfig {
        probe_program: assert_cmd::cargo::cargo_bin("membound"),
        scenarios_dir: p.path("scenarios"),
        work_dir: work,
        on_violation: None,
        allow_pause: false,
    };
    let out = match membound::source::run(&scenario, &cfg, &mut |_| {}, &mut ()) {
        Ok(out) => out,
        Err(e) => panic!("run: {e}"),
    };
    assert_eq!(
        out.profile.facts.get("exact").map(String::as_str),
        Some("false")
    );
    assert_eq!(
        out.profile.facts.get("rts").map(String::as_str),
        Some("-i0.05")
    );
    assert!(out.samples > 0, "censuses were read");
}

#[test]
fn new_scenario_fields_are_validated_with_their_choices() {
    let p = Project::new();
    let exe = Path::new("/bin/true");
    p.scenario("bad_mode", &external(exe, &[], "on_violation = \"freeze\""));
    let (out, _) = p.run(&["check"]);
    let t = text(&out);
    assert_ne!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("unknown on_violation `freeze` (hint: one of stop, pause)"),
        "{t}"
    );
    let p = Project::new();
    p.scenario("bad_rts", &external(exe, &[], "rts = [\"+RTS\"]"));
    let (out, _) = p.run(&["check"]);
    let t = text(&out);
    assert!(t.contains("RTS option `+RTS` must be one option"), "{t}");
    let p = Project::new();
    p.scenario(
        "bad_build_timeout",
        "description = \"x\"\n[build]\ncommand = [\"true\"]\ntimeout = \"soon\"\n[run]\ncommand = [\"{build}\"]\n",
    );
    let (out, _) = p.run(&["check"]);
    let t = text(&out);
    assert_ne!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("bad_build_timeout.toml:4:"),
        "names the line of the timeout: {t}"
    );
}

/// `Membound.marker`'s two writes as separate calls, so that the late-marker programs can
/// hold the marker file's one back: the `.hp` size now, the line whenever they choose.
const MARKER_FILE_HS: &str = r#"
module MarkerFile (hpSize, record) where

import System.Environment (getProgName, lookupEnv)
import System.Posix.Files (fileSize, getFileStatus)

hpSize :: IO Integer
hpSize = do
  name <- getProgName
  toInteger . fileSize <$> getFileStatus (name ++ ".hp")

record :: Integer -> String -> IO ()
record offset label =
  lookupEnv "MEMBOUND_MARKERS" >>= maybe (return ()) (\p -> appendFile p (show offset ++ " " ++ label ++ "\n"))
"#;

/// `Membound.marker "steady"`'s two writes with the marker file's one held back, as when a
/// program is descheduled between them: the `.hp` size is taken after census 3, the line is
/// appended only after two more censuses, well after the watch has checked them.
const LATE_MARKER_HS: &str = r#"
import Control.Concurrent (threadDelay)
import Control.Monad (forM_, when)
import Data.IORef
import Debug.Trace (traceMarkerIO)
import MarkerFile (hpSize, record)
import System.Mem (performMajorGC)

main :: IO ()
main = do
  ref <- newIORef []
  held <- newIORef 0
  forM_ [1 .. 8 :: Int] $ \i -> do
    modifyIORef' ref (\xs -> let ys = replicate 1000 i ++ xs in length ys `seq` ys)
    performMajorGC
    when (i == 3) (traceMarkerIO "steady" >> hpSize >>= writeIORef held)
    when (i == 5) (readIORef held >>= \o -> record o "steady")
    threadDelay 200000
  readIORef ref >>= print . length
  traceMarkerIO "done"
  hpSize >>= \o -> record o "done"
"#;

/// A project with `haskell/Late.hs` (`program`) and `haskell/MarkerFile.hs`, bounding the
/// heap by `max` from the marker `steady` to the marker `done` (not `"end"`, which is the
/// run's end, not a marker; see [`ghc_project`]).
fn late_marker_project(name: &str, program: &str, max: &str) -> (Project, PathBuf) {
    ghc_project(
        name,
        "markers written after the censuses they precede were checked",
        &[("Late.hs", program), ("MarkerFile.hs", MARKER_FILE_HS)],
        &[],
        "",
        "done",
        max,
    )
}

#[test]
fn a_marker_that_arrives_after_its_census_was_checked_still_places_the_window_exactly() {
    if !have_ghc() {
        return;
    }
    let (p, work) = late_marker_project("late_marker", LATE_MARKER_HS, "64 MiB");
    let out = p
        .cmd(&work, &["bless", "late_marker"])
        .output()
        .expect("bless");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let baseline: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(p.path("baselines/late_marker.json")).expect("baseline file"),
    )
    .expect("baseline json");
    let live = baseline["invariants"]["heap bounded"]["samples"]
        .as_u64()
        .expect("samples in the steady window");
    // The reference: the same files judged after the run, markers from the eventlog.
    let run_dir = work.join("runs/late_marker");
    let profile = p
        .cmd(
            &work,
            &[
                "profile",
                &run_dir.join("profile.eventlog").to_string_lossy(),
                "--scenario",
                &p.path("scenarios/late_marker.toml").to_string_lossy(),
            ],
        )
        .output()
        .expect("profile");
    let pt = text(&profile);
    let expected = format!("heap bounded: holds ({live} samples)");
    assert!(
        pt.contains(&expected),
        "run: {live} samples; profile:\n{pt}\nrun:\n{t}"
    );
    assert!(
        live >= 5,
        "the window opens at census 3 of 8 or more: {live}"
    );
}

/// Steady from census 1, `done` after census 3; the heap grows by kilobytes up to census 3, by
/// megabytes after. `done` reaches the marker file only when the program is told to stop
/// (SIGINT, `UserInterrupt`): after the watch has checked the censuses it precedes.
const LATE_END_HS: &str = r#"
import Control.Concurrent (threadDelay)
import Control.Exception (AsyncException (UserInterrupt), catch, throwIO)
import Control.Monad (forM_, when)
import Data.IORef
import Debug.Trace (traceMarkerIO)
import MarkerFile (hpSize, record)
import System.Mem (performMajorGC)

main :: IO ()
main = do
  ref <- newIORef []
  held <- newIORef 0
  let body = forM_ [1 .. 8 :: Int] $ \i -> do
        let cells = if i <= 3 then 1000 else 100000
        modifyIORef' ref (\xs -> let ys = replicate cells i ++ xs in length ys `seq` ys)
        performMajorGC
        when (i == 1) (traceMarkerIO "steady" >> hpSize >>= \o -> record o "steady")
        when (i == 3) (traceMarkerIO "done" >> hpSize >>= writeIORef held)
        threadDelay 200000
  body `catch` \e -> case e of
    UserInterrupt -> readIORef held >>= \o -> record o "done" >> throwIO e
    _ -> throwIO e
  readIORef ref >>= print . length
"#;

#[test]
fn a_stop_that_a_late_marker_does_not_confirm_is_an_error_not_a_pass() {
    if !have_ghc() {
        return;
    }
    // Live, `done` is not known yet when the megabytes come: the open window is violated and
    // the program stopped. Then `done` arrives, placed before them: nothing in the window is
    // over the bound, and the run, stopped early, is incomplete.
    let (p, work) = late_marker_project("late_end", LATE_END_HS, "1 MiB");
    let out = p.cmd(&work, &["run", "late_end"]).output().expect("run");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("does not confirm") && t.contains("the run is incomplete"),
        "{t}"
    );
    assert!(
        !t.contains("... ok"),
        "an incomplete run must not pass: {t}"
    );
}

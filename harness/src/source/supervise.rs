//! Supervision of the children a run starts: each in its own process group, under a timeout
//! and an RSS budget over its whole process tree, enforced by a watchdog thread, with the head
//! and tail of its stderr kept for the failure. Also the `/proc` readings the budget, the
//! launcher and the probe use.
//!
//! What ends a supervised child, and everything it started:
//! - the watchdog, on timeout or budget: SIGKILL to every descendant it sees, SIGTERM to the
//!   root (the launcher then ends whatever it adopted, see `probe::launcher_main`), and SIGKILL
//!   to the root's group after [`ROOT_GRACE`];
//! - membound's own death (Ctrl-C, SIGTERM, `kill -9`): the root is spawned with
//!   `PR_SET_PDEATHSIG = SIGTERM`. Linux sends it when the *thread* that forked the root exits,
//!   not the process: every caller spawns and waits on the same thread (a scenario's worker
//!   thread or test thread lives for the whole run), so the signal fires only when membound
//!   goes away.

use crate::errors::RunError;
use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// Lines kept from the end of a child's stderr.
pub(crate) const STDERR_TAIL_LINES: usize = 30;
/// Lines kept from the start: an RTS error line comes first, before pages of usage text.
pub(crate) const STDERR_HEAD_LINES: usize = 8;
/// How often the watchdog reads the process tree: the budget holds within this (≤ 0.5 s).
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How long a root told to end (SIGTERM) may take to end its descendants before SIGKILL.
const ROOT_GRACE: Duration = Duration::from_secs(2);
/// How long `wait` waits for the stderr reader after the child is reaped: a descendant that
/// escaped with the pipe open must not hold the run.
const READER_GRACE: Duration = Duration::from_millis(500);

/// Limits of one supervised child.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Wall-clock limit.
    pub timeout: Duration,
    /// Budget on the sum of RSS over the process tree; `None`: unlimited (build steps).
    pub max_rss: Option<u64>,
}

impl From<crate::scenario::Budget> for Limits {
    fn from(b: crate::scenario::Budget) -> Self {
        Limits {
            timeout: b.timeout,
            max_rss: Some(b.max_rss),
        }
    }
}

/// Whose memory the budget counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Root {
    /// The child itself is the measured program (the probe child) and its descendants.
    Measured,
    /// The child is the launcher: only its descendants (the program and what it starts) count.
    Launcher,
}

impl Root {
    /// The processes of `tree` (the child first, from [`tree_of`]) whose memory counts.
    fn counted(self, tree: &[i32]) -> &[i32] {
        match self {
            Root::Measured => tree,
            Root::Launcher => tree.get(1..).unwrap_or_default(),
        }
    }
}

/// How a supervised child ended.
#[derive(Debug, Clone)]
pub(crate) struct Exit {
    /// The exit as a person reads it: `exit status 3`, `killed by SIGSEGV`.
    pub status: String,
    /// Exited with status 0.
    pub success: bool,
    /// The highest sum of RSS over the process tree the watchdog saw, in bytes.
    pub peak_rss_polled: u64,
    /// Why the watchdog ended it (timeout, budget), if it did.
    pub killed: Option<String>,
    /// The head and tail of its stderr.
    pub stderr: String,
}

struct Shared {
    killed: Mutex<Option<String>>,
    done: AtomicBool,
    /// While set (a paused program waiting for a person), the timeout clock stands still.
    held: AtomicBool,
    peak: AtomicU64,
    /// The tree the watchdog saw last, root first: what `wait` kills before reaping.
    tree: Mutex<Vec<i32>>,
}

/// A child in its own process group, with a watchdog enforcing the limits and a thread keeping
/// the head and tail of its stderr.
pub(crate) struct Supervised {
    pid: i32,
    shared: Arc<Shared>,
    stderr: Arc<Mutex<StderrKeep>>,
    reader: Option<mpsc::Receiver<()>>,
    watchdog: Option<std::thread::JoinHandle<()>>,
    /// Dropped by `wait` to wake the watchdog at once rather than after its poll interval.
    wake: Option<mpsc::Sender<()>>,
    /// The raw wait status once the child has exited (seen with `WNOWAIT`, not yet reaped).
    exited: Option<i32>,
    /// A pidfd of the child, readable once it exits: [`Supervised::wait_exit_for`] wakes on it
    /// at once instead of sleeping out a poll. `None` where the kernel has no `pidfd_open`.
    pidfd: Option<std::os::fd::OwnedFd>,
}

impl Supervised {
    /// Spawns `cmd` in its own process group with stderr piped, and starts its watchdog.
    pub(crate) fn spawn(
        mut cmd: Command,
        limits: Limits,
        root: Root,
    ) -> Result<(Supervised, std::process::Child), RunError> {
        let program = cmd.get_program().to_string_lossy().into_owned();
        // SAFETY: getpid has no preconditions.
        let parent = unsafe { libc::getpid() };
        cmd.process_group(0).stderr(Stdio::piped());
        // SAFETY: between fork and exec only async-signal-safe calls (prctl, getppid, _exit).
        unsafe {
            cmd.pre_exec(move || die_with_parent(parent, libc::SIGTERM));
        }
        let mut child = cmd
            .spawn()
            .map_err(|source| RunError::Spawn { program, source })?;
        let pid = child.id() as i32;
        let shared = Arc::new(Shared {
            killed: Mutex::new(None),
            done: AtomicBool::new(false),
            held: AtomicBool::new(false),
            peak: AtomicU64::new(0),
            tree: Mutex::new(vec![pid]),
        });
        let stderr = Arc::new(Mutex::new(StderrKeep::default()));
        let reader = child.stderr.take().map(|err| {
            let keep = Arc::clone(&stderr);
            let (tx, rx) = mpsc::channel();
            // Detached: `wait` gives it READER_GRACE after the reap, then stops listening.
            std::thread::spawn(move || {
                keep_lines(err, &keep);
                let _ = tx.send(());
            });
            rx
        });
        let (wake, woken) = mpsc::channel();
        let watchdog = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || watch(pid, limits, root, &shared, &woken))
        };
        Ok((
            Supervised {
                pid,
                shared,
                stderr,
                reader,
                watchdog: Some(watchdog),
                wake: Some(wake),
                exited: None,
                pidfd: open_pidfd(pid),
            },
            child,
        ))
    }

    /// The root's pid (and process group id).
    pub(crate) fn pid(&self) -> i32 {
        self.pid
    }

    /// Why the watchdog ended the child, once it has.
    pub(crate) fn killed(&self) -> Option<String> {
        self.shared
            .killed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Sends `signal` to the child's process group (which it created: group id = its pid).
    /// Harmless once it is gone: the unreaped zombie keeps the id reserved.
    pub(crate) fn signal_group(&self, signal: i32) {
        // SAFETY: signalling the process group we created; at worst ESRCH.
        unsafe {
            libc::kill(-self.pid, signal);
        }
    }

    /// Stops the timeout clock: a program paused for a debugger is not timed.
    pub(crate) fn hold_timeout(&self) {
        self.shared.held.store(true, Ordering::Release);
    }

    /// Restarts the timeout clock where [`Supervised::hold_timeout`] stopped it.
    pub(crate) fn release_timeout(&self) {
        self.shared.held.store(false, Ordering::Release);
    }

    /// Ends the child and everything it started (a violation stops a run early).
    pub(crate) fn kill(&self) {
        end_tree(self.pid, &self.shared);
    }

    /// Whether the child has exited (it is not reaped until [`Supervised::wait`]).
    pub(crate) fn has_exited(&mut self) -> bool {
        if self.exited.is_some() {
            return true;
        }
        self.exited = peek_exit(self.pid, libc::WNOHANG);
        self.exited.is_some()
    }

    /// Waits up to `timeout` for the child to exit; whether it has. Returns as soon as it exits
    /// (a pidfd becomes readable then), so a watcher polling the program's output learns of
    /// the end at once rather than up to a poll interval later.
    ///
    /// A wait the pidfd saw time out asks nothing more: the descriptor is readable from the
    /// child's exit on, so the child was running at the timeout. Asking `waitid` before and after
    /// every wait as well was three system calls per poll, a tenth of the live watch's own CPU.
    pub(crate) fn wait_exit_for(&mut self, timeout: Duration) -> bool {
        if self.exited.is_some() {
            return true;
        }
        match wait_on_pidfd(self.pidfd.as_ref(), timeout) {
            Waited::Running => false,
            Waited::Readable | Waited::Unknown => self.has_exited(),
        }
    }

    /// The state letter of `/proc/<pid>/stat` of the child's first descendant (the program
    /// under a launcher) or the child: `T` when stopped.
    pub(crate) fn program_state(&self, root: Root) -> Option<char> {
        let pid = match root {
            Root::Measured => self.pid,
            Root::Launcher => *children_of(self.pid).first()?,
        };
        proc_state(pid)
    }

    /// Waits for the child to exit, ends whatever of its tree is left, reaps it.
    pub(crate) fn wait(mut self) -> Exit {
        let status = match self.exited {
            Some(s) => Some(s),
            None => peek_exit(self.pid, 0),
        };
        self.shared.done.store(true, Ordering::Release);
        drop(self.wake.take());
        // Before the reap, while the zombie keeps the group id from being reused: anything left
        // in the group or the tree (a program's own children) goes too.
        self.signal_group(libc::SIGKILL);
        for p in self
            .shared
            .tree
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .skip(1)
        {
            kill_descendant(*p, libc::SIGKILL);
        }
        let mut raw = 0;
        // SAFETY: pid is our child; the pointer is valid for the call.
        unsafe { libc::waitpid(self.pid, &mut raw, 0) };
        if let Some(w) = self.watchdog.take() {
            let _ = w.join();
        }
        if let Some(rx) = self.reader.take() {
            let _ = rx.recv_timeout(READER_GRACE);
        }
        let (status, success) = match status {
            Some(s) => (
                describe_status(s),
                libc::WIFEXITED(s) && libc::WEXITSTATUS(s) == 0,
            ),
            None => ("unknown status".to_owned(), false),
        };
        Exit {
            status,
            success,
            peak_rss_polled: self.shared.peak.load(Ordering::Relaxed),
            killed: self.killed(),
            stderr: self.stderr.lock().unwrap_or_else(|p| p.into_inner()).text(),
        }
    }
}

/// The watchdog: reads the tree's RSS every [`POLL_INTERVAL`] and ends it over a limit.
fn watch(pid: i32, limits: Limits, root: Root, shared: &Shared, woken: &mpsc::Receiver<()>) {
    let start = Instant::now();
    let mut held_for = Duration::ZERO;
    let mut last = start;
    let mut procs = ProcFiles::default();
    while !shared.done.load(Ordering::Acquire) {
        let now = Instant::now();
        if shared.held.load(Ordering::Acquire) {
            held_for += now - last;
        }
        last = now;
        // A child that has exited (not yet reaped: only `wait` reaps) is past any limit's
        // reach: ending it now would blame a finished program for a timeout it never ran into.
        if peek_exit(pid, libc::WNOHANG).is_some() {
            return;
        }
        let tree = procs.tree_of(pid);
        let (rss, processes) = procs.rss_over(&tree, root);
        shared.peak.fetch_max(rss, Ordering::Relaxed);
        *shared.tree.lock().unwrap_or_else(|p| p.into_inner()) = tree;
        let why = if now - start - held_for > limits.timeout {
            Some(format!("timed out after {:.0?}", limits.timeout))
        } else {
            limits.max_rss.filter(|m| rss > *m).map(|m| {
                format!(
                    "killed: RSS {} (summed over {} process(es)) exceeds the budget of {}",
                    crate::units::fmt_bytes(rss as f64),
                    processes,
                    crate::units::fmt_bytes(m as f64)
                )
            })
        };
        if let Some(why) = why {
            *shared.killed.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
            end_tree(pid, shared);
            return;
        }
        if let Err(mpsc::RecvTimeoutError::Disconnected) = woken.recv_timeout(POLL_INTERVAL) {
            return;
        }
    }
}

/// SIGKILL to every descendant, SIGTERM to the root so a launcher ends what it adopted, then
/// SIGKILL to the root's group if it has not exited after [`ROOT_GRACE`].
fn end_tree(pid: i32, shared: &Shared) {
    let tree = tree_of(pid);
    for p in tree.iter().skip(1) {
        kill_descendant(*p, libc::SIGKILL);
    }
    *shared.tree.lock().unwrap_or_else(|p| p.into_inner()) = tree;
    // SAFETY: signalling our own child; a stopped one must run to act on SIGTERM.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
        libc::kill(pid, libc::SIGCONT);
    }
    let deadline = Instant::now() + ROOT_GRACE;
    while Instant::now() < deadline {
        if peek_exit(pid, libc::WNOHANG).is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: the group we created; its leader is not reaped (only `wait` reaps), so the id
    // cannot have been reused.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

fn kill_descendant(pid: i32, signal: i32) {
    // SAFETY: pid was a descendant of our child in the latest /proc reading; a process that
    // ended since yields ESRCH. Its id could in principle be reused within one poll interval.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// What a [`wait_on_pidfd`] learnt of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waited {
    /// The pidfd stayed unreadable for the whole timeout: the process had not exited then.
    Running,
    /// The pidfd became readable: the process has exited.
    Readable,
    /// No pidfd (the wait was a sleep), or a signal ended the wait: ask `waitid`.
    Unknown,
}

/// Waits up to `timeout` for the process of `pidfd` to exit (the descriptor becomes readable
/// then), or sleeps it out without one. A signal only ends the wait early.
pub(crate) fn wait_on_pidfd(pidfd: Option<&std::os::fd::OwnedFd>, timeout: Duration) -> Waited {
    match pidfd {
        Some(fd) => {
            use std::os::fd::AsRawFd;
            let mut p = libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
            // SAFETY: one valid pollfd for the call; an EINTR only ends the wait early.
            match unsafe { libc::poll(&mut p, 1, ms) } {
                0 => Waited::Running,
                n if n > 0 => Waited::Readable,
                _ => Waited::Unknown,
            }
        }
        None => {
            std::thread::sleep(timeout);
            Waited::Unknown
        }
    }
}

/// A pidfd for our child `pid` (Linux ≥ 5.3), or `None`.
pub(crate) fn open_pidfd(pid: i32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a descriptor the kernel just gave us, owned by nobody else.
    (fd >= 0).then(|| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// The raw wait status once `pid` has exited, without reaping it (`WNOWAIT`).
fn peek_exit(pid: i32, flags: i32) -> Option<i32> {
    // SAFETY: siginfo_t is plain data; waitid fills it for our own child.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our child; the pointer is valid for the call.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT | flags,
            )
        };
        if r == 0 {
            break;
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return None;
        }
    }
    // SAFETY: filled by a successful waitid; si_pid is 0 when WNOHANG found nothing.
    let (si_pid, code, status) = unsafe { (info.si_pid(), info.si_code, info.si_status()) };
    if si_pid == 0 {
        return None;
    }
    // Back to the waitpid encoding the rest of the harness reads with WIFEXITED & co.
    Some(match code {
        libc::CLD_EXITED => (status & 0xff) << 8,
        libc::CLD_DUMPED => (status & 0x7f) | 0x80,
        _ => status & 0x7f,
    })
}

/// Makes the calling process (between fork and exec) receive `signal` when the thread that
/// forked it exits, and exits at once if that already happened. Async-signal-safe.
pub(crate) fn die_with_parent(parent: i32, signal: i32) -> std::io::Result<()> {
    // SAFETY: prctl with an integer argument; getppid has no preconditions.
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // The parent may have died before the prctl: then we are already orphaned.
        if libc::getppid() != parent {
            libc::_exit(125);
        }
    }
    Ok(())
}

/// `exit status 3`, `killed by SIGSEGV`, from a raw wait status.
pub(crate) fn describe_status(status: i32) -> String {
    if libc::WIFEXITED(status) {
        format!("exit status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        let core = if libc::WCOREDUMP(status) {
            ", core dumped"
        } else {
            ""
        };
        format!("killed by {}{core}", signal_name(libc::WTERMSIG(status)))
    } else {
        "stopped".to_owned()
    }
}

/// `SIGSEGV` for 11; the number for signals without a conventional name.
pub(crate) fn signal_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGSYS => "SIGSYS",
        _ => return format!("signal {sig}"),
    };
    name.to_owned()
}

/// Bytes kept of one stderr line: a program may write hundreds of megabytes without a
/// newline, and membound's memory must not grow with it. With [`STDERR_HEAD_LINES`] and
/// [`STDERR_TAIL_LINES`] this bounds what is kept of a child's stderr to about 76 KiB.
pub(crate) const STDERR_LINE_BYTES: usize = 2048;

/// Reads `stream` to its end into `keep`, line by line, in fixed chunks: a line longer than
/// [`STDERR_LINE_BYTES`] keeps its start and says how much was cut, so memory stays bounded
/// whatever the child writes.
fn keep_lines(mut stream: impl Read, keep: &Mutex<StderrKeep>) {
    let mut chunk = vec![0u8; 64 * 1024];
    let mut line: Vec<u8> = Vec::new();
    let mut cut = 0u64;
    let flush = |line: &mut Vec<u8>, cut: &mut u64| {
        let mut text = String::from_utf8_lossy(line).into_owned();
        if *cut > 0 {
            text.push_str(&format!(" [… {} more byte(s) of this line cut …]", *cut));
        }
        keep.lock().unwrap_or_else(|p| p.into_inner()).push(text);
        line.clear();
        *cut = 0;
    };
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let mut rest = &chunk[..n];
        while !rest.is_empty() {
            let (part, newline) = match rest.iter().position(|b| *b == b'\n') {
                Some(i) => (&rest[..i], true),
                None => (rest, false),
            };
            let room = STDERR_LINE_BYTES.saturating_sub(line.len());
            line.extend_from_slice(&part[..part.len().min(room)]);
            cut += part.len().saturating_sub(room) as u64;
            rest = &rest[part.len() + usize::from(newline)..];
            if newline {
                flush(&mut line, &mut cut);
            }
        }
    }
    if !line.is_empty() || cut > 0 {
        flush(&mut line, &mut cut);
    }
}

/// The head and the tail of a stream of lines.
#[derive(Default)]
struct StderrKeep {
    head: Vec<String>,
    tail: VecDeque<String>,
    /// Lines between head and tail that were dropped.
    skipped: usize,
}

impl StderrKeep {
    fn push(&mut self, line: String) {
        if self.head.len() < STDERR_HEAD_LINES {
            self.head.push(line);
            return;
        }
        if self.tail.len() == STDERR_TAIL_LINES {
            self.tail.pop_front();
            self.skipped += 1;
        }
        self.tail.push_back(line);
    }

    fn text(&self) -> String {
        let mut lines: Vec<String> = self.head.clone();
        if self.skipped > 0 {
            lines.push(format!("[… {} line(s) omitted …]", self.skipped));
        }
        lines.extend(self.tail.iter().cloned());
        lines.join("\n")
    }
}

/// Keeps the head and tail of `text`'s lines, as the stderr of a supervised child is kept.
#[cfg(test)]
fn head_and_tail(text: &str) -> String {
    let mut k = StderrKeep::default();
    for l in text.lines() {
        k.push(l.to_owned());
    }
    k.text()
}

/// `pid` and all its descendants, parents before children, from
/// `/proc/<pid>/task/<tid>/children` (a child is listed under the thread that forked it).
pub(crate) fn tree_of(pid: i32) -> Vec<i32> {
    walk_tree(pid, children_of)
}

/// `root` and all its descendants, parents before children, each process's children from
/// `children`.
fn walk_tree(root: i32, mut children: impl FnMut(i32) -> Vec<i32>) -> Vec<i32> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        for c in children(out[i]) {
            if !out.contains(&c) {
                out.push(c);
            }
        }
        i += 1;
    }
    out
}

/// The `/proc` files the watchdog reads at every poll, kept open and read again from their
/// start: opening each by its path every 50 ms (a path walk through `/proc` for each file, and
/// a size query for each read) was about 150 us per poll, a twelfth of membound's own CPU on a
/// long watch. A descriptor of a process's file names that process: once it has ended its
/// reads fail, even if its pid is reused.
#[derive(Default)]
struct ProcFiles {
    /// Each process's `statm` (its resident set) and its threads.
    procs: HashMap<i32, Proc>,
    polls: u64,
}

/// One process's open files.
struct Proc {
    statm: std::fs::File,
    /// `/proc/<pid>/task`, whose link count is 2 + the number of threads.
    task_dir: std::fs::File,
    /// The link count when `children` were listed.
    links: u64,
    /// Each thread's `children`, listed again when the number of threads changed, and every
    /// [`RELIST`] polls in case one thread ended and another began between two polls.
    children: Vec<std::fs::File>,
    /// The resident set, as last read.
    rss: u64,
}

/// How often (in polls) the watchdog lists a process's threads even when their number is the
/// same.
const RELIST: u64 = 10;

impl ProcFiles {
    /// [`tree_of`], from the open files, opening those of processes not seen before.
    fn tree_of(&mut self, root: i32) -> Vec<i32> {
        self.polls += 1;
        let out = walk_tree(root, |p| self.children_of(p));
        // Processes gone from the tree close their files.
        self.procs.retain(|p, _| out.contains(p));
        out
    }

    /// `pid`'s children; reads its resident set on the way.
    fn children_of(&mut self, pid: i32) -> Vec<i32> {
        use std::os::unix::fs::MetadataExt;
        let relist = self.polls.is_multiple_of(RELIST);
        let proc = match self.procs.entry(pid) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let open = |what: &str| std::fs::File::open(format!("/proc/{pid}/{what}")).ok();
                let (Some(statm), Some(task_dir)) = (open("statm"), open("task")) else {
                    return Vec::new();
                };
                e.insert(Proc {
                    statm,
                    task_dir,
                    links: 0,
                    children: Vec::new(),
                    rss: 0,
                })
            }
        };
        let resident = read_from_start(&proc.statm)
            .and_then(|t| t.split_whitespace().nth(1)?.parse::<u64>().ok());
        let links = proc.task_dir.metadata().map(|m| m.nlink()).ok();
        let (Some(pages), Some(links)) = (resident, links) else {
            // Gone: its files are closed with the next tree.
            self.procs.remove(&pid);
            return Vec::new();
        };
        proc.rss = pages * page_size();
        if links != proc.links || relist {
            proc.links = links;
            proc.children = list_tasks(pid)
                .into_iter()
                .filter_map(|tid| {
                    std::fs::File::open(format!("/proc/{pid}/task/{tid}/children")).ok()
                })
                .collect();
        }
        let mut out = Vec::new();
        for f in &proc.children {
            if let Some(text) = read_from_start(f) {
                out.extend(pids(&text));
            }
        }
        out
    }

    /// [`rss_over`], from the resident sets read by the last [`ProcFiles::tree_of`].
    fn rss_over(&self, tree: &[i32], root: Root) -> (u64, usize) {
        let counted = root.counted(tree);
        (
            counted
                .iter()
                .filter_map(|p| self.procs.get(p).map(|p| p.rss))
                .sum(),
            counted.len(),
        )
    }
}

/// The ids of `pid`'s threads.
fn list_tasks(pid: i32) -> Vec<i32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .filter_map(|t| t.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// What `f` (a `/proc` file) holds now, read from its start.
fn read_from_start(f: &std::fs::File) -> Option<String> {
    use std::os::unix::fs::FileExt;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = f.read_at(&mut buf, out.len() as u64).ok()?;
        out.extend_from_slice(&buf[..n]);
        if n < buf.len() {
            return String::from_utf8(out).ok();
        }
    }
}

/// The resident set summed over the processes of `tree` (from [`tree_of`]) that `root` counts,
/// and how many those are.
pub(crate) fn rss_over(tree: &[i32], root: Root) -> (u64, usize) {
    let counted = root.counted(tree);
    (
        counted.iter().filter_map(|p| rss_of(*p)).sum(),
        counted.len(),
    )
}

/// The direct children of `pid`, over all its threads.
pub(crate) fn children_of(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for tid in list_tasks(pid) {
        if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/children")) {
            out.extend(pids(&text));
        }
    }
    out
}

/// The pids of a `children` file.
fn pids(text: &str) -> impl Iterator<Item = i32> + '_ {
    text.split_whitespace().filter_map(|c| c.parse().ok())
}

/// Resident set size of one process in bytes (`/proc/<pid>/statm`, resident pages).
fn rss_of(pid: i32) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size())
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

/// The state letter from `/proc/<pid>/stat` (`R`, `S`, `T`, `Z`, …).
pub(crate) fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: the state follows the last `)`.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// A `/proc/<pid>/status` field in bytes (`VmRSS`, `VmHWM`).
fn proc_status_bytes(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A process's resident set now and its high-water mark since exec (`VmRSS`, `VmHWM` of
/// `/proc/<pid>/status`, read once), in bytes; `None` for a process gone or a zombie (whose
/// memory, and with it the mark, is already released).
pub(crate) fn rss_and_hwm(pid: i32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// This process's peak RSS since exec (`VmHWM`): unlike `ru_maxrss`, it does not inherit the
/// parent's high-water mark across fork, so it does not depend on which front end ran it.
pub fn own_peak_rss() -> Option<u64> {
    proc_status_bytes("self", "VmHWM:")
}

#[cfg(test)]
mod proc_tests {
    use super::*;

    #[test]
    fn the_open_files_see_the_tree_as_paths_do() {
        let mut procs = ProcFiles::default();
        let me = std::process::id() as i32;
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let kid = child.id() as i32;
        for _ in 0..3 {
            // Other tests' children may come and go between two readings: only ours is sure.
            let tree = procs.tree_of(me);
            assert!(tree.contains(&kid) && tree_of(me).contains(&kid));
            let (rss, n) = procs.rss_over(&tree, Root::Measured);
            assert!(rss > 0 && n == tree.len());
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!procs.tree_of(me).contains(&kid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_error_line_before_pages_of_usage() {
        let mut text = String::from("prog: unknown RTS option: -Xbogus\n");
        for i in 0..200 {
            text.push_str(&format!("prog:   usage line {i}\n"));
        }
        let kept = head_and_tail(&text);
        assert!(
            kept.starts_with("prog: unknown RTS option: -Xbogus"),
            "{kept}"
        );
        assert!(kept.contains("usage line 199"), "{kept}");
        assert!(kept.contains("line(s) omitted"), "{kept}");
        assert!(kept.lines().count() <= STDERR_HEAD_LINES + STDERR_TAIL_LINES + 1);
    }

    /// A stream of `n` bytes of `b`, made as it is read.
    struct Flood {
        left: u64,
        byte: u8,
    }

    impl Read for Flood {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.left as usize);
            buf[..n].fill(self.byte);
            self.left -= n as u64;
            Ok(n)
        }
    }

    #[test]
    fn a_runaway_stderr_is_kept_bounded() {
        // 300 MB without a newline, and 300 MB of short lines: what is kept stays small.
        for byte in [b'x', b'\n'] {
            let keep = Mutex::new(StderrKeep::default());
            keep_lines(
                Flood {
                    left: 300_000_000,
                    byte,
                },
                &keep,
            );
            let text = keep.lock().unwrap_or_else(|p| p.into_inner()).text();
            let bound = (STDERR_HEAD_LINES + STDERR_TAIL_LINES) * (STDERR_LINE_BYTES + 64) + 64;
            assert!(text.len() <= bound, "{} bytes kept", text.len());
            if byte == b'x' {
                assert!(text.contains("more byte(s) of this line cut"), "{text}");
            } else {
                assert!(text.contains("line(s) omitted"), "{text}");
            }
        }
    }

    #[test]
    fn signals_are_named() {
        assert_eq!(describe_status(libc::SIGSEGV), "killed by SIGSEGV");
        assert_eq!(describe_status(3 << 8), "exit status 3");
        assert_eq!(signal_name(64), "signal 64");
    }
}

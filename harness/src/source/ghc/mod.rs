//! GHC profiles into a [`Timeline`]: the entry point [`read_profile`] with its [`ReadOptions`],
//! plus what the three readers share — label normalisation ([`normalise_label`]) and object
//! counts from bytes by closure size ([`assign_counts`], [`ClosureSize`]).
//!
//! The readers themselves live in [`crate::source::ghc::eventlog`] (binary `-l` eventlogs), [`crate::source::ghc::hp`]
//! (`.hp` text profiles) and [`crate::source::ghc::rts_stats`] (`+RTS -t --machine-readable` statistics).
//! [`read_profile`] picks one by the file's content, never by its name.
//!
//! Architecture invariant: this module and the readers know nothing of scenarios, baselines or
//! TOML; they turn bytes into a `Timeline` and nothing else.

pub mod eventlog;
pub mod hp;
mod labels;
pub mod prof;
pub mod rts_stats;

use crate::timeline::Timeline;
use eventlog::EventlogError;
use hp::HpError;
pub use labels::{
    assign_counts, closure_sizes, known_closure_size, normalise_label, ClosureSize, Counts,
    IndivisibleSize, ReadOptions, SizeInference,
};
use rts_stats::StatsError;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

/// Which kind of GHC profile a file holds, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileKind {
    /// A binary eventlog (`+RTS -l`), starting with the `hdrb` magic.
    Eventlog,
    /// A `.hp` text heap profile, starting with a `JOB` line.
    Hp,
    /// `+RTS -t --machine-readable` statistics: a Haskell-`show`n list of pairs.
    RtsStats,
}

/// Where a profile stops short of its end: a program that exited normally leaves a whole one,
/// so a cut is an incomplete profile (a program killed or stopped may leave one legitimately).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// An eventlog stops at this byte offset, without its end-of-data marker.
    Byte(u64),
    /// A `.hp` file stops inside the sample begun at this line (no `END_SAMPLE`).
    Sample {
        /// The 1-based line of its `BEGIN_SAMPLE`.
        line: usize,
    },
    /// A `.hp` file stops inside this line (no newline).
    Line {
        /// The 1-based line.
        line: usize,
    },
}

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cut::Byte(b) => write!(f, "byte {b}, without its end-of-data marker"),
            Cut::Sample { line } => {
                write!(
                    f,
                    "inside the sample begun at line {line} (no `END_SAMPLE`)"
                )
            }
            Cut::Line { line } => write!(f, "inside line {line}"),
        }
    }
}

/// What is wrong with a profile cut at `at`, and what to do.
pub fn incomplete(at: Cut) -> String {
    format!("the profile ends mid-record, {at}: it is incomplete, and a check of the part that was read would not be the run's (hint: the program ended before its runtime finished writing the profile; run it again, or find out why it did)")
}

/// The fact a reader records the heap profile's breakdown under (the eventlog's heap-profile
/// begin event, a `.hp` file's `-h` flag on its `JOB` line), as [`HeapBreakdown::name`] says it.
pub const BREAKDOWN_FACT: &str = "heap_profile_breakdown";

/// What a heap profile's rows are: closure types (`-hT`, what type invariants are about) or
/// something else (cost centres, modules, retainers, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeapBreakdown {
    /// `-hc`/`-hC`: cost-centre stacks.
    CostCentre,
    /// `-hm`: modules.
    Module,
    /// `-hd`: closure descriptions.
    ClosureDescription,
    /// `-hy`: type descriptions.
    TypeDescription,
    /// `-hr`: retainer sets.
    Retainer,
    /// `-hb`: biography.
    Biography,
    /// `-hT`: closure types, the only breakdown type invariants are about.
    ClosureType,
    /// `-hi`: info tables.
    InfoTable,
    /// `-he`: eras.
    Era,
}

impl HeapBreakdown {
    const ALL: [(HeapBreakdown, u32, char, &'static str); 9] = [
        (HeapBreakdown::CostCentre, 1, 'c', "cost centre"),
        (HeapBreakdown::Module, 2, 'm', "module"),
        (
            HeapBreakdown::ClosureDescription,
            3,
            'd',
            "closure description",
        ),
        (HeapBreakdown::TypeDescription, 4, 'y', "type description"),
        (HeapBreakdown::Retainer, 5, 'r', "retainer"),
        (HeapBreakdown::Biography, 6, 'b', "biography"),
        (HeapBreakdown::ClosureType, 7, 'T', "closure type"),
        (HeapBreakdown::InfoTable, 8, 'i', "info table"),
        (HeapBreakdown::Era, 9, 'e', "era"),
    ];

    /// The breakdown of an eventlog's heap-profile-begin event.
    pub fn from_eventlog_code(code: u32) -> Option<Self> {
        Self::ALL.iter().find(|e| e.1 == code).map(|e| e.0)
    }

    /// Its name, as `ghc-events` says it (`closure type`, `cost centre`).
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|e| e.0 == self)
            .map_or("unknown", |e| e.3)
    }

    /// The RTS flag that asks for it (`-hT`).
    pub fn flag(self) -> String {
        let c = Self::ALL.iter().find(|e| e.0 == self).map_or('?', |e| e.2);
        format!("-h{c}")
    }

    /// The breakdown a command line's RTS options ask for (a `.hp` file's `JOB` line): the last
    /// `-h<c>` between `+RTS` and `-RTS` (`-hC` is `-hc`). `None` when there is none, or only a
    /// bare `-h` (closure types without profiling, cost centres with it: the line does not say
    /// which). A longer flag (`-hd:-`, `-hcMain`) restricts the census and is not a breakdown.
    pub fn of_rts_flags(command_line: &str) -> Option<Self> {
        let mut in_rts = false;
        let mut found = None;
        for word in command_line.split_whitespace() {
            match word {
                "+RTS" => in_rts = true,
                "-RTS" => in_rts = false,
                w if in_rts && w.len() == 3 && w.starts_with("-h") => {
                    let c = match w.as_bytes()[2] {
                        b'C' => 'c',
                        c => c as char,
                    };
                    if let Some(e) = Self::ALL.iter().find(|e| e.2 == c) {
                        found = Some(e.0);
                    }
                }
                _ => {}
            }
        }
        found
    }

    /// The breakdown a timeline's reader recorded ([`BREAKDOWN_FACT`]), if it knew it.
    pub fn of(timeline: &Timeline) -> Option<Self> {
        let name = timeline.facts.get(BREAKDOWN_FACT)?;
        Self::ALL.iter().find(|e| e.3 == name).map(|e| e.0)
    }
}

/// Why a profile could not be read: the reader's error, with the file it came from.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The profile's path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file's content is none of the profile kinds.
    #[error(
        "{path}: not a GHC profile (hint: expected an eventlog from `+RTS -l`, a .hp file from \
         `+RTS -h…`, or statistics from `+RTS -t --machine-readable`)"
    )]
    UnknownFormat {
        /// The profile's path.
        path: PathBuf,
    },
    /// The eventlog reader failed.
    #[error("{path}: {source}")]
    Eventlog {
        /// The profile's path.
        path: PathBuf,
        /// The reader's error (it carries the byte offset).
        #[source]
        source: EventlogError,
    },
    /// The `.hp` reader failed.
    #[error("{path}: {source}")]
    Hp {
        /// The profile's path.
        path: PathBuf,
        /// The reader's error (it carries the line).
        #[source]
        source: HpError,
    },
    /// The profile stops short of its end (a program that exited normally writes a whole
    /// one): what was read of it is not the run.
    #[error("{path}: {}", incomplete(*.at))]
    Incomplete {
        /// The profile's path.
        path: PathBuf,
        /// Where it stops.
        at: Cut,
    },
    /// A declared closure size does not divide a census row of its label.
    #[error("{path}: {source}")]
    ClosureSize {
        /// The profile's path.
        path: PathBuf,
        /// The label, its size and the row.
        #[source]
        source: IndivisibleSize,
    },
    /// The statistics reader failed.
    #[error("{path}: {source}")]
    Stats {
        /// The profile's path.
        path: PathBuf,
        /// The reader's error (it carries the line and column).
        #[source]
        source: StatsError,
    },
}

/// Reads the GHC profile at `path`, whichever kind it is (see [`sniff`]), from a file or a pipe:
/// the kind is told from the first bytes read, which are then read again from memory, never by
/// seeking. A FIFO with no writer is not waited on forever (see [`open_profile`]).
///
/// A whole profile only: one that stops mid-record is [`ProfileError::Incomplete`], with where
/// it stops, and a declared closure size that does not divide a row of its label is
/// [`ProfileError::ClosureSize`]. (The run of a program stopped on purpose reads what it left
/// with [`read_partial_profile`].)
///
/// Statistics give a timeline with totals and facts only (no samples); to combine them with an
/// eventlog or `.hp` timeline of the same run use [`rts_stats::RtsStats::merge_into`].
pub fn read_profile(path: &Path, opts: &ReadOptions) -> Result<Timeline, ProfileError> {
    let (tl, cut) = read_partial_profile(path, opts)?;
    if let Some(at) = cut {
        return Err(ProfileError::Incomplete {
            path: path.to_owned(),
            at,
        });
    }
    for s in &tl.samples {
        opts.check_sample(s)
            .map_err(|source| ProfileError::ClosureSize {
                path: path.to_owned(),
                source,
            })?;
    }
    Ok(tl)
}

/// [`read_profile`] of a profile that may have been cut short (its writer was killed or
/// stopped): its whole records, and where it stops if it does. Declared sizes are not checked.
pub fn read_partial_profile(
    path: &Path,
    opts: &ReadOptions,
) -> Result<(Timeline, Option<Cut>), ProfileError> {
    let io_err = |source| ProfileError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = open_profile(path).map_err(io_err)?;
    let mut head = [0u8; 4096];
    let n = read_up_to(&mut file, &mut head).map_err(io_err)?;
    let kind = sniff(&head[..n]).ok_or_else(|| ProfileError::UnknownFormat {
        path: path.to_owned(),
    })?;
    let reader = BufReader::new(io::Cursor::new(head[..n].to_vec()).chain(file));
    match kind {
        ProfileKind::Eventlog => eventlog::read_eventlog_cut(reader, opts)
            .map(|(t, at)| (t, at.map(Cut::Byte)))
            .map_err(|source| ProfileError::Eventlog {
                path: path.to_owned(),
                source,
            }),
        ProfileKind::Hp => hp::read_hp_cut(reader, opts).map_err(|source| ProfileError::Hp {
            path: path.to_owned(),
            source,
        }),
        ProfileKind::RtsStats => rts_stats::read_rts_stats(reader)
            .map(|stats| (stats.to_timeline(), None))
            .map_err(|source| ProfileError::Stats {
                path: path.to_owned(),
                source,
            }),
    }
}

/// How long [`open_profile`] waits for a FIFO's writer.
pub const FIFO_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Opens a profile for reading, a named pipe included (`membound profile <(cat x.eventlog)`):
/// a FIFO is opened without blocking and read once a writer has written to it or gone, within
/// [`FIFO_WAIT`]; a FIFO nobody writes to is an error saying so, not a hang.
pub fn open_profile(path: &Path) -> io::Result<File> {
    open_profile_within(path, FIFO_WAIT)
}

/// [`open_profile`] waiting up to `wait` for a FIFO's writer.
fn open_profile_within(path: &Path, wait: std::time::Duration) -> io::Result<File> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let is_fifo = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo());
    if !is_fifo {
        return File::open(path);
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    let deadline = std::time::Instant::now() + wait;
    let mut ready = false;
    // Data (POLLIN), or a writer come and gone (POLLHUP: Linux reports it only once a writer
    // has opened the FIFO, never for one that has had none), ends the wait.
    while std::time::Instant::now() < deadline {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the call.
        let r = unsafe { libc::poll(&mut p, 1, 50) };
        if r > 0 && p.revents & (libc::POLLIN | libc::POLLHUP) != 0 {
            ready = true;
            break;
        }
    }
    if !ready {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "a named pipe nobody wrote to within {:.1}s (hint: start the program or `cat` that writes it, or pass the file itself)",
                wait.as_secs_f64()
            ),
        ));
    }
    // Reads block again from here on: the writer is there and the data comes as it writes.
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    Ok(file)
}

/// A profile that is not a regular file (a pipe, `<(cat x.eventlog)`, or a FIFO), copied
/// into a temporary file so that it can be read more than once (`membound profile` streams an
/// eventlog in two passes); `None` for a regular file, which is read where it is. A FIFO is
/// opened as [`open_profile`] opens it: a writer that never comes is an error, not a hang.
pub fn spool(path: &Path) -> io::Result<Option<tempfile::NamedTempFile>> {
    if std::fs::metadata(path)?.is_file() {
        return Ok(None);
    }
    let mut from = open_profile(path)?;
    let mut to = tempfile::Builder::new()
        .prefix("membound-profile-")
        .tempfile()?;
    io::copy(&mut from, to.as_file_mut())?;
    Ok(Some(to))
}

/// Tells the profile kind from the first bytes of a file (a few hundred are plenty).
pub fn sniff(head: &[u8]) -> Option<ProfileKind> {
    if head.starts_with(&eventlog::MAGIC) {
        return Some(ProfileKind::Eventlog);
    }
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with("JOB") {
        return Some(ProfileKind::Hp);
    }
    // The statistics start with the command line on its own line, then ` [("…`.
    // (The human-readable `<<ghc: …>>` form is claimed too, so that its error says what to add.)
    let stats_line = |l: &str| {
        let l = l.trim_start();
        l.starts_with("[(") || l.starts_with("<<ghc:")
    };
    if text.lines().take(3).any(stats_line) {
        return Some(ProfileKind::RtsStats);
    }
    None
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Removes the version and unit-id hash from a label's package, so that baselines survive a
/// rebuild: `clash-prelude-1.6.4-LGazv5LCaVL5CedqwbVEjM:Clash.Signal.Internal.:-` becomes
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_kinds() {
        assert_eq!(sniff(b"hdrb\0\0"), Some(ProfileKind::Eventlog));
        assert_eq!(sniff(b"JOB \"leak\"\n"), Some(ProfileKind::Hp));
        assert_eq!(
            sniff(b"'./leak' +RTS -t\n [(\"bytes allocated\", \"1\")\n ]\n"),
            Some(ProfileKind::RtsStats)
        );
        assert_eq!(
            sniff(b"'./leak' +RTS -t\n<<ghc: 39599160 bytes, 153 GCs >>\n"),
            Some(ProfileKind::RtsStats)
        );
        assert_eq!(sniff(b"hello"), None);
    }

    #[test]
    fn the_breakdown_is_the_last_h_flag_of_the_rts_options() {
        let of = HeapBreakdown::of_rts_flags;
        assert_eq!(of("leak"), None);
        assert_eq!(of("leak +RTS -h -RTS"), None);
        assert_eq!(
            of("leak +RTS -hT -i0 -RTS"),
            Some(HeapBreakdown::ClosureType)
        );
        assert_eq!(
            of("leak +RTS -hT -hc -RTS"),
            Some(HeapBreakdown::CostCentre)
        );
        assert_eq!(of("leak +RTS -hC"), Some(HeapBreakdown::CostCentre));
        // A restriction is not a breakdown; a program argument is not an RTS option.
        assert_eq!(
            of("out lazy_unzip 100 +RTS -hc -hd:- -p -L400 -i0"),
            Some(HeapBreakdown::CostCentre)
        );
        assert_eq!(
            of("prog -hc +RTS -hT -RTS -hc"),
            Some(HeapBreakdown::ClosureType)
        );
        assert_eq!(HeapBreakdown::CostCentre.flag(), "-hc");
        assert_eq!(
            HeapBreakdown::from_eventlog_code(7).map(HeapBreakdown::name),
            Some("closure type")
        );
    }

    const CUT_HP: &str = "JOB \"leak +RTS -hT -RTS\"\nDATE \"d\"\nSAMPLE_UNIT \"seconds\"\nVALUE_UNIT \"bytes\"\nBEGIN_SAMPLE 0.5\nTHUNK_1_0\t48\nEND_SAMPLE 0.5\nBEGIN_SAMPLE 1.0\nTHUNK_1_0\t24\n";

    #[test]
    fn a_cut_profile_is_incomplete_and_read_partially_only_on_request() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cut.hp");
        std::fs::write(&path, CUT_HP).expect("write");
        let e = read_profile(&path, &ReadOptions::default()).expect_err("cut");
        assert!(
            e.to_string()
                .contains("ends mid-record, inside the sample begun at line 8"),
            "{e}"
        );
        let (tl, cut) = read_partial_profile(&path, &ReadOptions::default()).expect("partial");
        assert_eq!((tl.samples.len(), cut), (1, Some(Cut::Sample { line: 8 })));
        assert_eq!(HeapBreakdown::of(&tl), Some(HeapBreakdown::ClosureType));
    }

    #[test]
    fn a_declared_size_that_divides_no_row_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("whole.hp");
        std::fs::write(&path, format!("{CUT_HP}END_SAMPLE 1.0\n")).expect("write");
        let mut opts = ReadOptions::default();
        opts.closure_sizes.insert("THUNK_1_0".into(), 1_000_000);
        let e = read_profile(&path, &opts).expect_err("indivisible");
        assert!(
            e.to_string().contains(
                "closure size 1000000 declared for `THUNK_1_0` does not divide its bytes in census 0 (48 bytes)"
            ),
            "{e}"
        );
        opts.closure_sizes.insert("THUNK_1_0".into(), 24);
        assert_eq!(read_profile(&path, &opts).expect("whole").samples.len(), 2);
    }

    #[test]
    fn a_profile_is_read_from_a_pipe_and_a_fifo_without_a_writer_does_not_hang() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).expect("path");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                let text = format!("{CUT_HP}END_SAMPLE 1.0\n");
                std::fs::write(&fifo, text).expect("write fifo");
            })
        };
        let tl = read_profile(&fifo, &ReadOptions::default()).expect("from a pipe");
        writer.join().expect("writer");
        assert_eq!(tl.samples.len(), 2);
        // Nobody writes: an error within the bounded wait, not a hang.
        let start = std::time::Instant::now();
        let wait = std::time::Duration::from_millis(300);
        let e = open_profile_within(&fifo, wait).expect_err("no writer");
        assert!(e.to_string().contains("named pipe nobody wrote to"), "{e}");
        assert!(start.elapsed() < wait + std::time::Duration::from_secs(5));
    }
}

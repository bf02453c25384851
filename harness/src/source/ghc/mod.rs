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
    ReadOptions, SizeInference,
};
use rts_stats::StatsError;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
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

/// Reads the GHC profile at `path`, whichever kind it is (see [`sniff`]).
///
/// Statistics give a timeline with totals and facts only (no samples); to combine them with an
/// eventlog or `.hp` timeline of the same run use [`rts_stats::RtsStats::merge_into`].
pub fn read_profile(path: &Path, opts: &ReadOptions) -> Result<Timeline, ProfileError> {
    let io_err = |source| ProfileError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    let mut head = [0u8; 4096];
    let n = read_up_to(&mut file, &mut head).map_err(io_err)?;
    file.seek(SeekFrom::Start(0)).map_err(io_err)?;
    let kind = sniff(&head[..n]).ok_or_else(|| ProfileError::UnknownFormat {
        path: path.to_owned(),
    })?;
    let reader = BufReader::new(file);
    match kind {
        ProfileKind::Eventlog => {
            eventlog::read_eventlog(reader, opts).map_err(|source| ProfileError::Eventlog {
                path: path.to_owned(),
                source,
            })
        }
        ProfileKind::Hp => hp::read_hp(reader, opts).map_err(|source| ProfileError::Hp {
            path: path.to_owned(),
            source,
        }),
        ProfileKind::RtsStats => rts_stats::read_rts_stats(reader)
            .map(|stats| stats.to_timeline())
            .map_err(|source| ProfileError::Stats {
                path: path.to_owned(),
                source,
            }),
    }
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
}

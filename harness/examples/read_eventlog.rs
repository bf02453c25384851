//! Reads the heap censuses of a GHC eventlog and prints how many there are and their peak:
//! the membound side of `benches/eventlog_vs_ghc_events.sh`.
//!
//! `read_eventlog LOG` streams (constant memory, whatever the log's size);
//! `read_eventlog --timeline LOG` builds the whole `Timeline` as the harness does, which keeps
//! every census and so grows with their number; `read_eventlog --count LOG` only counts the
//! censuses, skipping their rows (the first pass of `membound profile`'s summary).

use membound::source::ghc::eventlog::{count_censuses, EventlogReader, Record};
use membound::source::ghc::{read_profile, ReadOptions};
use std::fs::File;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (timeline, path) = match args.as_slice() {
        [flag, path] if flag == "--count" => {
            println!("censuses {}", count_censuses(File::open(path)?)?);
            return Ok(());
        }
        [flag, path] if flag == "--timeline" => (true, path),
        [path] => (false, path),
        _ => return Err("usage: read_eventlog [--timeline | --count] LOG".into()),
    };
    let (mut censuses, mut markers, mut peak, mut peak_at) = (0u64, 0u64, 0u64, 0u64);
    let truncated;
    if timeline {
        let t = read_profile(Path::new(path), &ReadOptions::default())?;
        censuses = t.samples.len() as u64;
        markers = t.marks.len() as u64;
        if let Some(s) = t
            .samples
            .iter()
            .max_by_key(|s| (s.live_bytes, std::cmp::Reverse(s.x)))
        {
            (peak, peak_at) = (s.live_bytes, s.x);
        }
        truncated = t.truncated;
    } else {
        // The reader has its own buffer: no BufReader needed.
        let mut reader = EventlogReader::new(File::open(path)?)?;
        while let Some(record) = reader.next_record()? {
            match record {
                Record::Census(c) => {
                    censuses += 1;
                    if c.live_bytes > peak {
                        (peak, peak_at) = (c.live_bytes, c.x);
                    }
                }
                Record::Marker { .. } => markers += 1,
            }
        }
        truncated = reader.into_timeline().truncated;
    }
    println!("censuses {censuses}, peak {peak} bytes at census {peak_at}, markers {markers}, truncated {truncated}");
    Ok(())
}

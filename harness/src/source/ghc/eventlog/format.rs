//! The eventlog wire format as data: header markers and the literal table of known event ids.
//!
//! All values are big-endian. A log is
//! `"hdrb" "hetb" ("etb\0" u16 id, i16 size (-1: variable), u32 len, desc, u32 len, extra, "ete\0")*
//! "hete" "hdre" "datb" event* u16 0xffff`, and an event is `u16 id, u64 time_ns, [u16 size if
//! variable], payload`. The table below says, per id, what the reader does with the payload and
//! how many bytes of it that takes; the payload's real size always comes from the header (or the
//! event's own u16), so newer GHCs that append fields are read for what is known and skipped for
//! the rest (as ghc-events does).

/// `hdrb`: the first four bytes of every eventlog.
pub const HEADER_BEGIN: u32 = 0x6864_7262;
/// `hdre`
pub(crate) const HEADER_END: u32 = 0x6864_7265;
/// `hetb`
pub(crate) const HET_BEGIN: u32 = 0x6865_7462;
/// `hete`
pub(crate) const HET_END: u32 = 0x6865_7465;
/// `etb\0`
pub(crate) const ET_BEGIN: u32 = 0x6574_6200;
/// `ete\0`
pub(crate) const ET_END: u32 = 0x6574_6500;
/// `datb`
pub(crate) const DATA_BEGIN: u32 = 0x6461_7462;
/// The u16 event id that ends the data.
pub(crate) const DATA_END: u16 = 0xffff;
/// The declared size of a variable-size event type.
pub(crate) const VARIABLE: u16 = 0xffff;

/// What the reader does with an event's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handling {
    /// A GHC event that says nothing about heap samples, markers or the program: skipped by size.
    Skip,
    /// `u32 capset, bytes` — the RTS identifier, e.g. `GHC-9.0.2 rts_l`.
    RtsIdentifier,
    /// `u32 capset, NUL-separated args`.
    ProgramArgs,
    /// `u32 heap_capset, u64 bytes` — total bytes allocated so far.
    HeapAllocated,
    /// `u32 heap_capset, u64 bytes` — current heap size.
    HeapSize,
    /// `u32 heap_capset, u64 bytes` — live data after a GC.
    HeapLive,
    /// `bytes` — a `traceMarker` text (no terminator).
    UserMarker,
    /// `u8 profile_id, u64 sampling_period_ns, u32 breakdown, 7 × NUL-terminated filter strings`.
    HeapProfBegin,
    /// `u32 cc_id, label\0, module\0, srcloc\0, u8 flags`.
    CostCentre,
    /// `u64 era` — a census begins.
    SampleBegin,
    /// `u64 era, u64 time` — a biographical (`-hb`) census begins.
    BioSampleBegin,
    /// `u8 profile_id, u64 residency, label\0`.
    SampleString,
    /// `u8 profile_id, u64 residency, u8 depth, depth × u32 cc_id` (innermost first).
    SampleCostCentre,
    /// `u64 era` — the census ends (GHC ≥ 8.10; older logs end a census at the next one).
    SampleEnd,
    /// `u64 info_ptr, table_name\0, closure_desc\0, ty_desc\0, label\0, module\0, srcloc…\0`
    /// (GHC ≥ 9.2; 9.10 splits the source location into file\0 span\0).
    InfoTable,
}

/// The payload bytes of a string census row before its label: `u8 profile_id, u64 residency`.
pub(crate) const SAMPLE_STRING_MIN: usize = 9;

/// One entry of the table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KnownEvent {
    /// The event id, as in GHC's `EventLogFormat.h`.
    pub id: u16,
    /// A short name for notes and errors.
    pub name: &'static str,
    /// What the reader does with it.
    pub handling: Handling,
    /// Payload bytes the reader needs: a shorter event is a variant it does not know.
    pub min_size: usize,
}

const fn ev(id: u16, name: &'static str, handling: Handling, min_size: usize) -> KnownEvent {
    KnownEvent {
        id,
        name,
        handling,
        min_size,
    }
}

use Handling::*;

/// Every event id GHC (7.x to 9.x) and the eventlog tools define. Ids absent from this table are
/// "unknown": skipped by their declared size and counted in a note, never an error.
#[rustfmt::skip]
pub(crate) const KNOWN_EVENTS: &[KnownEvent] = &[
    ev(0, "create thread", Skip, 0),                 // (4) u32 thread
    ev(1, "run thread", Skip, 0),                    // (4) u32 thread
    ev(2, "stop thread", Skip, 0),                   // (10) u32 thread, u16 status, u32 blocked_on
    ev(3, "thread runnable", Skip, 0),               // (4) u32 thread
    ev(4, "migrate thread", Skip, 0),                // (6) u32 thread, u16 new_cap
    ev(5, "run spark", Skip, 0),                     // (4) deprecated
    ev(6, "steal spark", Skip, 0),                   // (6) deprecated
    ev(7, "shutdown", Skip, 0),                      // (0) deprecated
    ev(8, "wakeup thread", Skip, 0),                 // (6) u32 thread, u16 other_cap
    ev(9, "gc start", Skip, 0),                      // (0)
    ev(10, "gc end", Skip, 0),                       // (0)
    ev(11, "request seq gc", Skip, 0),               // (0)
    ev(12, "request par gc", Skip, 0),               // (0)
    ev(15, "create spark thread", Skip, 0),          // (4) u32 spark_thread
    ev(16, "log message", Skip, 0),                  // (var) bytes
    ev(17, "startup", Skip, 0),                      // (2) u16 n_caps, deprecated
    ev(18, "block marker", Skip, 0),                 // (14) u32 block_size, u64 end_time, u16 cap:
                                                     //   the events inside follow as usual
    ev(19, "user message", Skip, 0),                 // (var) bytes
    ev(20, "gc idle", Skip, 0),                      // (0)
    ev(21, "gc working", Skip, 0),                   // (0)
    ev(22, "gc done", Skip, 0),                      // (0)
    ev(23, "version", Skip, 0),                      // (var) Eden
    ev(24, "program invocation", Skip, 0),           // (var) Eden
    ev(25, "capset create", Skip, 0),                // (6) u32 capset, u16 type
    ev(26, "capset delete", Skip, 0),                // (4) u32 capset
    ev(27, "capset assign cap", Skip, 0),            // (6) u32 capset, u16 cap
    ev(28, "capset remove cap", Skip, 0),            // (6) u32 capset, u16 cap
    ev(29, "rts identifier", RtsIdentifier, 4),      // (var) u32 capset, bytes
    ev(30, "program args", ProgramArgs, 4),          // (var) u32 capset, NUL-separated args
    ev(31, "program env", Skip, 0),                  // (var) u32 capset, NUL-separated env:
                                                     //   skipped, it may hold secrets
    ev(32, "osprocess pid", Skip, 0),                // (8) u32 capset, u32 pid
    ev(33, "osprocess ppid", Skip, 0),               // (8) u32 capset, u32 ppid
    ev(34, "spark counters", Skip, 0),               // (56) 7 × u64
    ev(35, "spark create", Skip, 0),                 // (0)
    ev(36, "spark dud", Skip, 0),                    // (0)
    ev(37, "spark overflow", Skip, 0),               // (0)
    ev(38, "spark run", Skip, 0),                    // (0)
    ev(39, "spark steal", Skip, 0),                  // (2) u16 victim_cap
    ev(40, "spark fizzle", Skip, 0),                 // (0)
    ev(41, "spark gc", Skip, 0),                     // (0)
    ev(42, "intern string", Skip, 0),                // (var) bytes, u32 id
    ev(43, "wall clock time", Skip, 0),              // (16) u32 capset, u64 sec, u32 nsec
    ev(44, "thread label", Skip, 0),                 // (var) u32 thread, bytes
    ev(45, "cap create", Skip, 0),                   // (2) u16 cap
    ev(46, "cap delete", Skip, 0),                   // (2) u16 cap
    ev(47, "cap disable", Skip, 0),                  // (2) u16 cap
    ev(48, "cap enable", Skip, 0),                   // (2) u16 cap
    ev(49, "heap allocated", HeapAllocated, 12),     // (12) u32 heap_capset, u64 alloc_bytes
    ev(50, "heap size", HeapSize, 12),               // (12) u32 heap_capset, u64 size_bytes
    ev(51, "heap live", HeapLive, 12),               // (12) u32 heap_capset, u64 live_bytes
    ev(52, "heap info", Skip, 0),                    // (38) u32 capset, u16 gens, 4 × u64
    ev(53, "gc stats", Skip, 0),                     // (50 | 58) u32 capset, u16 gen, 3 × u64,
                                                     //   u32 par_n_threads, 2 × u64, [u64 balanced]
    ev(54, "gc global sync", Skip, 0),               // (0)
    ev(55, "task create", Skip, 0),                  // (18) u64 task, u16 cap, u64 kernel_tid
    ev(56, "task migrate", Skip, 0),                 // (12) u64 task, u16 cap, u16 new_cap
    ev(57, "task delete", Skip, 0),                  // (8) u64 task
    ev(58, "user marker", UserMarker, 0),            // (var) bytes
    ev(59, "hack bug T9003", Skip, 0),               // (0)
    ev(60, "eden start receive", Skip, 0),           // 60–69: Eden parallel tracing
    ev(61, "eden end receive", Skip, 0),
    ev(62, "create process", Skip, 0),
    ev(63, "kill process", Skip, 0),
    ev(64, "assign thread to process", Skip, 0),
    ev(65, "create machine", Skip, 0),
    ev(66, "kill machine", Skip, 0),
    ev(67, "send message", Skip, 0),
    ev(68, "receive message", Skip, 0),
    ev(69, "send receive local message", Skip, 0),
    ev(90, "mem return", Skip, 0),                   // (16) u32 capset, 3 × u32
    ev(91, "blocks size", Skip, 0),                  // (12) u32 heap_capset, u64 bytes
    ev(100, "mer start par conjunction", Skip, 0),   // 100–113: Mercury
    ev(101, "mer stop par conjunction", Skip, 0),
    ev(102, "mer stop par conjunct", Skip, 0),
    ev(103, "mer create spark", Skip, 0),
    ev(104, "mer fut create", Skip, 0),
    ev(105, "mer fut wait nosuspend", Skip, 0),
    ev(106, "mer fut wait suspended", Skip, 0),
    ev(107, "mer fut signal", Skip, 0),
    ev(108, "mer looking for global context", Skip, 0),
    ev(109, "mer work stealing", Skip, 0),
    ev(110, "mer release context", Skip, 0),
    ev(111, "mer engine sleeping", Skip, 0),
    ev(112, "mer looking for local spark", Skip, 0),
    ev(113, "mer calling main", Skip, 0),
    ev(140, "perf name", Skip, 0),                   // 140–142: Linux perf counters
    ev(141, "perf counter", Skip, 0),
    ev(142, "perf tracepoint", Skip, 0),
    ev(160, "heap prof begin", HeapProfBegin, 13),   // (var) u8 id, u64 period, u32 breakdown, 7 × str\0
    ev(161, "heap prof cost centre", CostCentre, 4), // (var) u32 id, label\0, module\0, srcloc\0, u8 flags
    ev(162, "heap prof sample begin", SampleBegin, 8),   // (8) u64 era
    ev(163, "heap prof sample cost centre", SampleCostCentre, 10), // (var) u8 id, u64 residency,
                                                     //   u8 depth, depth × u32 cc
    ev(164, "heap prof sample string", SampleString, SAMPLE_STRING_MIN), // (var) u8 id, u64 residency, label\0
    ev(165, "heap prof sample end", SampleEnd, 8),   // (8) u64 era
    ev(166, "heap bio prof sample begin", BioSampleBegin, 16), // (16) u64 era, u64 time
    ev(167, "prof sample cost centre", Skip, 0),     // (var) time profile: u32 cap, u64 ticks, u8 depth, …
    ev(168, "prof begin", Skip, 0),                  // (8) u64 tick_interval
    ev(169, "info table provenance", InfoTable, 8),  // (var) u64 info, 6–7 × str\0
    ev(181, "user binary message", Skip, 0),         // (var) bytes
    ev(200, "conc mark begin", Skip, 0),             // 200–208: the nonmoving collector
    ev(201, "conc mark end", Skip, 0),
    ev(202, "conc sync begin", Skip, 0),
    ev(203, "conc sync end", Skip, 0),
    ev(204, "conc sweep begin", Skip, 0),
    ev(205, "conc sweep end", Skip, 0),
    ev(206, "conc upd rem set flush", Skip, 0),
    ev(207, "nonmoving heap census", Skip, 0),       // (13 | 14) not a heap-profile census
    ev(208, "nonmoving pruned segments", Skip, 0),
    ev(210, "ticky counter def", Skip, 0),           // 210–212: ticky-ticky
    ev(211, "ticky counter sample", Skip, 0),
    ev(212, "ticky begin sample", Skip, 0),
];

/// `HeapProfBreakdown` of the heap-profile-begin event, as `ghc-events` names it.
pub(crate) fn breakdown_name(code: u32) -> &'static str {
    crate::source::ghc::HeapBreakdown::from_eventlog_code(code).map_or("unknown", |b| b.name())
}

/// The breakdown whose string-sample labels are info-table addresses.
pub(crate) const BREAKDOWN_INFO_TABLE: u32 = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_ids_are_unique_and_sorted() {
        for w in KNOWN_EVENTS.windows(2) {
            assert!(w[0].id < w[1].id, "{} then {}", w[0].id, w[1].id);
        }
    }
}

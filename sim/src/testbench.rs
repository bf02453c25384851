//! The RegisterWb testbench: a master issues a seeded pseudo-random sequence of reads and writes
//! to `N` `register_wb` slaves through the interconnect (plus some unmapped accesses), and a
//! scoreboard checks every read against the last value written and every unmapped access for
//! `err`.
//!
//! Wiring (one loop, closed through a [`Feedback`]; requests depend on the master alone, so
//! slaves answer in the same cycle without a combinational loop):
//! ```text
//! master (Moore) --m2s--> interconnect --request[i]--> [record_update] --> register_wb[i]
//!     ^                       |  <--------------------------- s2m[i] ------------'
//!     '---- s2m (feedback) ---'
//! ```
//! Slaves acknowledge in the cycle of the strobe, so a transfer takes one cycle; the master
//! idles one cycle in 16.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::census;
use crate::lazy::{Lazy, Unshared};
use crate::signal::{feedback, map_at, moore, Feedback, Signal};
use crate::wishbone::{
    merge_bytes, record_update, register_wb_bus, single_master_interconnect, MemoryMap, Priority,
    RecordUpdate, RegisterWbConfig, Unzip, WishboneM2S, WishboneS2M,
};

/// Which culprit of the investigation to reproduce, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leak {
    /// No leak: live memory is bounded.
    None,
    /// Culprit 1: the interconnect's `unzip` as two projections of a shared input.
    LazyUnzip,
    /// Culprit 2: the interconnect's slave-side record updated lazily.
    LazyRecordUpdate,
    /// Culprit 3: the master's random sequence by `iterate` without sharing.
    UnsharedIterate,
}

impl Leak {
    /// The knob's values, as the catalog spells them.
    pub const NAMES: &'static [&'static str] = &[
        "none",
        "lazy_unzip",
        "lazy_record_update",
        "unshared_iterate",
    ];

    /// Parses a knob value.
    pub fn from_name(name: &str) -> Option<Leak> {
        match name {
            "none" => Some(Leak::None),
            "lazy_unzip" => Some(Leak::LazyUnzip),
            "lazy_record_update" => Some(Leak::LazyRecordUpdate),
            "unshared_iterate" => Some(Leak::UnsharedIterate),
            _ => None,
        }
    }
}

/// The testbench's parameters (the number of slaves is the const parameter `N`).
#[derive(Clone, Copy, Debug)]
pub struct BenchConfig {
    /// Seed of the master's pseudo-random sequence.
    pub seed: u64,
    /// The leak knob.
    pub leak: Leak,
    /// A slave whose read data is corrupted (flips bit 0), to check the scoreboard; `None` for
    /// a correct testbench.
    pub corrupt_slave: Option<usize>,
}

/// The scoreboard's findings, shared between the master's transition and the testbench.
#[derive(Default, Debug)]
pub struct Scoreboard {
    transactions: Cell<u64>,
    mismatches: Cell<u64>,
    first_mismatch: RefCell<Option<String>>,
}

impl Scoreboard {
    fn mismatch(&self, msg: impl FnOnce() -> String) {
        self.mismatches.set(self.mismatches.get() + 1);
        let mut first = self.first_mismatch.borrow_mut();
        if first.is_none() {
            *first = Some(msg());
        }
    }
    /// Transactions completed.
    pub fn transactions(&self) -> u64 {
        self.transactions.get()
    }
    /// Checks that failed.
    pub fn mismatches(&self) -> u64 {
        self.mismatches.get()
    }
    /// The first failed check, described.
    pub fn first_mismatch(&self) -> Option<String> {
        self.first_mismatch.borrow().clone()
    }
}

/// The address prefixes: 4 bits, slave `i` at prefix `i`; prefixes `N..16` are unmapped.
const PREFIX_BITS: u32 = 4;
/// A transfer that gets no response within this many cycles is a mismatch.
const TIMEOUT: u32 = 16;

fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

/// The master's random source: strict (`f` applied once per draw to the last value), or
/// unshared (each draw `n` recomputes `f^n(seed)` from the seed through a chain of pending
/// applications that grows by one per draw: culprit 3).
enum Rng {
    Strict(u64),
    Unshared(Unshared<u64>),
}

impl Rng {
    fn draw(&mut self) -> u64 {
        match self {
            Rng::Strict(s) => {
                *s = xorshift(*s);
                *s
            }
            Rng::Unshared(u) => {
                *u = u.next();
                u.eval()
            }
        }
    }
}

/// What the master is doing.
#[derive(Clone, Copy, Debug)]
struct Request {
    m2s: WishboneM2S,
    /// The slave addressed, `None` for an unmapped address.
    target: Option<usize>,
    waited: u32,
}

struct Master<const N: usize> {
    rng: Rng,
    req: Option<Request>,
    expected: [u32; N],
    cycle: u64,
}

fn new_request<const N: usize>(r: u64) -> Option<Request> {
    if r & 15 == 0 {
        return None; // an idle cycle
    }
    let unmapped = (r >> 4) & 7 == 0 && N < 16;
    let (prefix, target) = if unmapped {
        (N as u64 + (r >> 8) % (16 - N as u64), None)
    } else {
        let t = ((r >> 8) % N as u64) as usize;
        (t as u64, Some(t))
    };
    let offset = ((r >> 20) as u32) & 0xFFC;
    let sel = ((r >> 16) & 0xF) as u8;
    let m2s = WishboneM2S {
        addr: ((prefix as u32) << (32 - PREFIX_BITS)) | offset,
        write_data: (r >> 32) as u32,
        bus_select: if sel == 0 { 0xF } else { sel },
        bus_cycle: true,
        strobe: true,
        write_enable: (r >> 12) & 1 == 1,
        ..WishboneM2S::default()
    };
    Some(Request {
        m2s,
        target,
        waited: 0,
    })
}

fn master_transition<const N: usize>(
    board: &Scoreboard,
    mut st: Master<N>,
    s2m: &WishboneS2M,
) -> Master<N> {
    let cycle = st.cycle;
    st.cycle += 1;
    if let Some(mut req) = st.req {
        let responded = s2m.acknowledge || s2m.err || s2m.retry;
        if !responded {
            req.waited += 1;
            if req.waited < TIMEOUT {
                st.req = Some(req);
                return st;
            }
            board.mismatch(|| {
                format!(
                    "cycle {cycle}: no response to {:?} within {TIMEOUT} cycles",
                    req.m2s
                )
            });
        } else {
            board.transactions.set(board.transactions.get() + 1);
            match req.target {
                None => {
                    if !s2m.err || s2m.acknowledge {
                        board.mismatch(|| {
                            format!("cycle {cycle}: unmapped access to {:#010x} answered {s2m:?}, expected err", req.m2s.addr)
                        });
                    }
                }
                Some(t) => {
                    if !s2m.acknowledge || s2m.err {
                        board.mismatch(|| {
                            format!(
                                "cycle {cycle}: access to slave {t} at {:#010x} answered {s2m:?}",
                                req.m2s.addr
                            )
                        });
                    } else if req.m2s.write_enable {
                        st.expected[t] =
                            merge_bytes(st.expected[t], req.m2s.write_data, req.m2s.bus_select);
                    } else if s2m.read_data != st.expected[t] {
                        let expected = st.expected[t];
                        board.mismatch(|| {
                            format!(
                                "cycle {cycle}: read of slave {t} returned {:#010x}, last written {expected:#010x}",
                                s2m.read_data
                            )
                        });
                    }
                }
            }
        }
    }
    let r = st.rng.draw();
    st.req = new_request::<N>(r);
    st
}

/// The built testbench. Dropping it frees every node (there are no `Rc` cycles).
pub struct RegisterWbBench<const N: usize> {
    /// The master's view of the bus response: forcing it each cycle drives the whole circuit.
    s2m: Signal<WishboneS2M>,
    /// The loop's loose end (owns the master's read position).
    _loop: Feedback<WishboneS2M>,
    /// The interconnect's simulation-only memory-map output, kept as Clash keeps `SimOnly`.
    mem_map: Lazy<[u32; N]>,
    board: Rc<Scoreboard>,
    cycle: u64,
}

impl<const N: usize> RegisterWbBench<N> {
    /// Builds the testbench.
    pub fn new(cfg: BenchConfig) -> Self {
        let board = Rc::new(Scoreboard::default());
        let (response, fb) = census::component("testbench", feedback::<WishboneS2M>);
        let b = board.clone();
        let rng = match cfg.leak {
            Leak::UnsharedIterate => census::component("master", || {
                Rng::Unshared(Unshared::new(xorshift, cfg.seed | 1))
            }),
            _ => Rng::Strict(cfg.seed | 1),
        };
        let m2s = census::component("master", || {
            moore(
                move |st: Master<N>, s2m: &WishboneS2M| master_transition(&b, st, s2m),
                |st: &Master<N>| st.req.map(|r| r.m2s).unwrap_or_default(),
                Master {
                    rng,
                    req: None,
                    expected: [0; N],
                    cycle: 0,
                },
                &response,
            )
        });
        let reg = RegisterWbConfig {
            init: 0,
            priority: Priority::BusFirst,
        };
        let map = MemoryMap {
            prefix_bits: PREFIX_BITS,
            prefixes: std::array::from_fn(|i| i as u32),
        };
        let unzip = if cfg.leak == Leak::LazyUnzip {
            Unzip::Lazy
        } else {
            Unzip::SinglePass
        };
        let ic =
            single_master_interconnect(map, unzip, &m2s, |requests: [Signal<WishboneM2S>; N]| {
                let mut i = 0;
                requests.map(|req| {
                    let s2m = match cfg.leak {
                        Leak::LazyRecordUpdate => {
                            register_wb_bus(reg, &record_update(RecordUpdate::Lazy, &req))
                        }
                        _ => register_wb_bus(reg, &req),
                    };
                    let s2m = if cfg.corrupt_slave == Some(i) {
                        census::component("testbench", || {
                            map_at("corrupt", &s2m, |s: &WishboneS2M| WishboneS2M {
                                read_data: s.read_data ^ 1,
                                ..*s
                            })
                        })
                    } else {
                        s2m
                    };
                    i += 1;
                    ((i - 1) as u32, s2m)
                })
            });
        fb.tie(&ic.to_master);
        RegisterWbBench {
            s2m: ic.to_master,
            _loop: fb,
            mem_map: ic.mem_map,
            board,
            cycle: 0,
        }
    }

    /// Simulates one more cycle. The census cycle (nodes' birth stamp) is the driver's to
    /// set, see `circuits::Driver`.
    pub fn step(&mut self) {
        let _ = self.s2m.head();
        self.s2m.advance();
        self.cycle += 1;
    }

    /// Cycles simulated so far.
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// The scoreboard.
    pub fn scoreboard(&self) -> &Scoreboard {
        &self.board
    }

    /// Whether the memory-map output was ever evaluated (it never is, by design).
    pub fn mem_map_forced(&self) -> bool {
        self.mem_map.is_forced()
    }
}

//! Wishbone (B4, standard non-pipelined mode): the bus records, a single-master interconnect
//! that routes by address prefix, and `register_wb`, a register shared by a circuit and the bus.
//!
//! Two components carry leak knobs that reproduce culprits of the investigation:
//! [`Unzip::Lazy`] in [`single_master_interconnect`] and [`record_update`] with
//! [`RecordUpdate::Lazy`].

use std::rc::Rc;

use crate::census::{self, Tag};
use crate::lazy::Lazy;
use crate::signal::{map_at, mealy, zip_with_vec, Signal};

/// Wishbone cycle type identifier (CTI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CycleTypeIdentifier {
    /// A classic cycle.
    #[default]
    Classic,
    /// A burst at a constant address.
    ConstantAddressBurst,
    /// A burst at incrementing addresses.
    IncrementingBurst,
    /// The last beat of a burst.
    EndOfBurst,
}

/// Wishbone burst type extension (BTE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BurstTypeExtension {
    /// Linear burst.
    #[default]
    Linear,
    /// 4-beat wrap burst.
    Beat4,
    /// 8-beat wrap burst.
    Beat8,
    /// 16-beat wrap burst.
    Beat16,
}

/// Master-to-slave signals, every field of the standard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct WishboneM2S {
    /// ADR: the byte address.
    pub addr: u32,
    /// DAT_MOSI: the data written.
    pub write_data: u32,
    /// SEL: one bit per byte lane (bit `i` is bits `8i..8i+8`).
    pub bus_select: u8,
    /// LOCK: the bus cycle is uninterruptible.
    pub lock: bool,
    /// CYC: a bus cycle is in progress.
    pub bus_cycle: bool,
    /// STB: a valid transfer.
    pub strobe: bool,
    /// WE: write (true) or read (false).
    pub write_enable: bool,
    /// CTI.
    pub cycle_type_identifier: CycleTypeIdentifier,
    /// BTE.
    pub burst_type_extension: BurstTypeExtension,
}

/// Slave-to-master signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct WishboneS2M {
    /// DAT_MISO: the data read.
    pub read_data: u32,
    /// ACK: the transfer completed.
    pub acknowledge: bool,
    /// ERR: the transfer failed.
    pub err: bool,
    /// STALL: not ready (pipelined mode only; always false here).
    pub stall: bool,
    /// RTY: retry later.
    pub retry: bool,
}

/// Read access to an M2S record, whether a plain [`WishboneM2S`] or a lazily updated
/// [`LazyM2S`]. Slaves are generic over it.
pub trait M2sView: 'static {
    /// ADR.
    fn addr(&self) -> u32;
    /// DAT_MOSI.
    fn write_data(&self) -> u32;
    /// SEL.
    fn bus_select(&self) -> u8;
    /// CYC.
    fn bus_cycle(&self) -> bool;
    /// STB.
    fn strobe(&self) -> bool;
    /// WE.
    fn write_enable(&self) -> bool;
    /// LOCK.
    fn lock(&self) -> bool;
    /// CTI.
    fn cycle_type_identifier(&self) -> CycleTypeIdentifier;
    /// BTE.
    fn burst_type_extension(&self) -> BurstTypeExtension;
}

impl M2sView for WishboneM2S {
    fn addr(&self) -> u32 {
        self.addr
    }
    fn write_data(&self) -> u32 {
        self.write_data
    }
    fn bus_select(&self) -> u8 {
        self.bus_select
    }
    fn bus_cycle(&self) -> bool {
        self.bus_cycle
    }
    fn strobe(&self) -> bool {
        self.strobe
    }
    fn write_enable(&self) -> bool {
        self.write_enable
    }
    fn lock(&self) -> bool {
        self.lock
    }
    fn cycle_type_identifier(&self) -> CycleTypeIdentifier {
        self.cycle_type_identifier
    }
    fn burst_type_extension(&self) -> BurstTypeExtension {
        self.burst_type_extension
    }
}

/// Merges `data` into `old` on the byte lanes selected by `sel`.
pub fn merge_bytes(old: u32, data: u32, sel: u8) -> u32 {
    let mut mask = 0u32;
    for lane in 0..4 {
        if sel & (1 << lane) != 0 {
            mask |= 0xFF << (8 * lane);
        }
    }
    (old & !mask) | (data & mask)
}

// ---------------------------------------------------------------------------------------------
// Interconnect.

/// How the interconnect splits its slaves' (memory map, response) pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unzip {
    /// One pass; nothing of the input is kept (the investigation's fix).
    SinglePass,
    /// Two independent projections of the shared input, `(map fst xs, map snd xs)`: the memory
    /// map half is a thunk that retains all of `xs`, including each slave's response signal from
    /// cycle 0 on (culprit 1).
    Lazy,
}

/// The interconnect's configuration: which address prefix selects which slave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryMap<const N: usize> {
    /// Number of top address bits that form the prefix (1..=31).
    pub prefix_bits: u32,
    /// The prefix of each slave port.
    pub prefixes: [u32; N],
}

impl<const N: usize> MemoryMap<N> {
    /// The slave an address selects, if any.
    pub fn select(&self, addr: u32) -> Option<usize> {
        let prefix = addr >> (32 - self.prefix_bits);
        self.prefixes.iter().position(|&p| p == prefix)
    }
    /// The address within the selected slave's region (prefix bits cleared).
    pub fn offset(&self, addr: u32) -> u32 {
        addr & (u32::MAX >> self.prefix_bits)
    }
}

/// The interconnect's outputs.
pub struct Interconnect<const N: usize> {
    /// The response to the master.
    pub to_master: Signal<WishboneS2M>,
    /// The request to each slave.
    pub to_slaves: [Signal<WishboneM2S>; N],
    /// The slaves' declared memory maps (a simulation-only output, like Clash's `SimOnly
    /// memMap`): kept by the testbench for reporting, never needed by the circuit, so never
    /// forced.
    pub mem_map: Lazy<[u32; N]>,
}

/// Routes one master to `N` slaves by address prefix. A transfer to an unmapped address is
/// answered with `err`; a slave sees `bus_cycle`/`strobe` only when selected, and its address
/// with the prefix cleared.
///
/// `slaves` builds the slaves from their request signals and returns, per slave, its declared
/// memory map and its response signal (Clash's `Vec n (mm, Signal s2m)`). Requests depend on the
/// master only, so a slave may answer in the same cycle without a combinational loop.
pub fn single_master_interconnect<const N: usize>(
    map: MemoryMap<N>,
    unzip: Unzip,
    master: &Signal<WishboneM2S>,
    slaves: impl FnOnce([Signal<WishboneM2S>; N]) -> [(u32, Signal<WishboneS2M>); N],
) -> Interconnect<N> {
    census::component("interconnect", || {
        // One routing node per slave and cycle (rather than a vector node plus projections):
        // each slave's request depends on the master alone.
        let to_slaves: [Signal<WishboneM2S>; N] = std::array::from_fn(|i| {
            map_at("route", master, move |m: &WishboneM2S| {
                route_request(&map, i, m)
            })
        });
        let xs = slaves(to_slaves.clone());
        let (mem_map, s2ms) = match unzip {
            Unzip::SinglePass => {
                let (mms, s2ms) = crate::vec::unzip(xs);
                (Lazy::ready_at("unzip", mms), s2ms)
            }
            Unzip::Lazy => {
                let xs = Rc::new(xs);
                let for_map = xs.clone();
                let mem_map = Lazy::new_at("unzip", move || crate::vec::map(&for_map, |p| p.0));
                (mem_map, crate::vec::map(&xs, |p| p.1.clone()))
            }
        };
        let to_master = zip_with_vec(master, &s2ms, move |m, s2ms| route_response(&map, m, s2ms));
        Interconnect {
            to_master,
            to_slaves,
            mem_map,
        }
    })
}

/// One cycle of request routing to slave `i` (combinational, from the master alone).
fn route_request<const N: usize>(map: &MemoryMap<N>, i: usize, m: &WishboneM2S) -> WishboneM2S {
    let mine = map.select(m.addr) == Some(i);
    WishboneM2S {
        addr: map.offset(m.addr),
        bus_cycle: m.bus_cycle && mine,
        strobe: m.strobe && mine,
        ..*m
    }
}

/// One cycle of response routing (combinational).
fn route_response<const N: usize>(
    map: &MemoryMap<N>,
    m: &WishboneM2S,
    s2ms: &[WishboneS2M; N],
) -> WishboneS2M {
    match (m.bus_cycle && m.strobe, map.select(m.addr)) {
        (false, _) => WishboneS2M::default(),
        (true, Some(i)) => s2ms[i],
        (true, None) => WishboneS2M {
            err: true,
            ..WishboneS2M::default()
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Lazy record update (culprit 2).

/// How the interconnect's slave-side record is updated from one cycle to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordUpdate {
    /// Every field evaluated (Clash's `strictM2S`, the fix).
    Strict,
    /// `old { addr = …, strobe = … }`: the fields the update does not set refer lazily to the
    /// old record, which so stays alive, and so does the one before it (culprit 2).
    Lazy,
}

const F_ADDR: u16 = 1;
const F_DATA: u16 = 2;
const F_SEL: u16 = 4;
const F_LOCK: u16 = 8;
const F_CYC: u16 = 16;
const F_STB: u16 = 32;
const F_WE: u16 = 64;
const F_CTI: u16 = 128;
const F_BTE: u16 = 256;
const F_ALL: u16 = 511;
/// The fields the interconnect's update sets each cycle: what routing changes and what slaves
/// read. LOCK, CTI and BTE are left to the old record.
const F_UPDATED: u16 = F_ADDR | F_DATA | F_SEL | F_CYC | F_STB | F_WE;

/// An M2S record built by record update: fields in `mask` are its own, the others are read from
/// the record it was updated from. Counted by the census as `LazyM2S::Update`.
#[derive(Clone)]
pub struct LazyM2S(Rc<RecordNode>);

struct RecordNode {
    _tag: Tag,
    own: WishboneM2S,
    mask: u16,
    old: Option<LazyM2S>,
}

impl Drop for RecordNode {
    fn drop(&mut self) {
        // Iterative: a lazily updated record can chain millions of old ones.
        let mut next = self.old.take();
        while let Some(LazyM2S(rc)) = next {
            next = match Rc::try_unwrap(rc) {
                Ok(mut node) => node.old.take(),
                Err(_) => None,
            };
        }
    }
}

impl std::fmt::Debug for LazyM2S {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "LazyM2S {{ mask: {:#x}, chained: {} }}",
            self.0.mask,
            self.0.old.is_some()
        )
    }
}

impl LazyM2S {
    fn field<R>(&self, bit: u16, get: impl Fn(&WishboneM2S) -> R) -> R {
        let mut at = &self.0;
        loop {
            if at.mask & bit != 0 {
                return get(&at.own);
            }
            match &at.old {
                Some(old) => at = &old.0,
                // A root record owns every field.
                None => return get(&at.own),
            }
        }
    }

    fn new(slot: u32, own: WishboneM2S, mask: u16, old: Option<LazyM2S>) -> LazyM2S {
        let tag = Tag::born(slot, std::mem::size_of::<RecordNode>() + 16);
        let old = if mask == F_ALL { None } else { old };
        LazyM2S(Rc::new(RecordNode {
            _tag: tag,
            own,
            mask,
            old,
        }))
    }

    /// The fully evaluated record.
    pub fn to_strict(&self) -> WishboneM2S {
        WishboneM2S {
            addr: self.addr(),
            write_data: self.write_data(),
            bus_select: self.bus_select(),
            lock: self.lock(),
            bus_cycle: self.bus_cycle(),
            strobe: self.strobe(),
            write_enable: self.write_enable(),
            cycle_type_identifier: self.cycle_type_identifier(),
            burst_type_extension: self.burst_type_extension(),
        }
    }
}

impl M2sView for LazyM2S {
    fn addr(&self) -> u32 {
        self.field(F_ADDR, |m| m.addr)
    }
    fn write_data(&self) -> u32 {
        self.field(F_DATA, |m| m.write_data)
    }
    fn bus_select(&self) -> u8 {
        self.field(F_SEL, |m| m.bus_select)
    }
    fn bus_cycle(&self) -> bool {
        self.field(F_CYC, |m| m.bus_cycle)
    }
    fn strobe(&self) -> bool {
        self.field(F_STB, |m| m.strobe)
    }
    fn write_enable(&self) -> bool {
        self.field(F_WE, |m| m.write_enable)
    }
    fn lock(&self) -> bool {
        self.field(F_LOCK, |m| m.lock)
    }
    fn cycle_type_identifier(&self) -> CycleTypeIdentifier {
        self.field(F_CTI, |m| m.cycle_type_identifier)
    }
    fn burst_type_extension(&self) -> BurstTypeExtension {
        self.field(F_BTE, |m| m.burst_type_extension)
    }
}

/// The interconnect's slave-side output stage: each cycle's record is the previous cycle's
/// record updated with the routed fields. [`RecordUpdate::Strict`] copies every field (no
/// chain); [`RecordUpdate::Lazy`] sets only the routed fields, so LOCK/CTI/BTE refer to the old
/// record, which refers to the one before, and so on from cycle 0: a slave never reads those
/// fields, so the chain is never cut. (Lazily, LOCK/CTI/BTE keep their cycle-0 values; the
/// testbench's master never drives them, so both modes behave alike.) Census: `LazyM2S::Update` at `interconnect/record_update`.
pub fn record_update(mode: RecordUpdate, routed: &Signal<WishboneM2S>) -> Signal<LazyM2S> {
    census::component("interconnect", || {
        let slot = census::intern_one("LazyM2S::Update", &census::site("record_update"));
        let init = LazyM2S::new(slot, WishboneM2S::default(), F_ALL, None);
        let mask = match mode {
            RecordUpdate::Strict => F_ALL,
            RecordUpdate::Lazy => F_UPDATED,
        };
        mealy(
            move |old: LazyM2S, m: &WishboneM2S| {
                let new = LazyM2S::new(slot, *m, mask, Some(old));
                (new.clone(), new)
            },
            init,
            routed,
        )
    })
}

// ---------------------------------------------------------------------------------------------
// register_wb.

/// Who wins when the circuit and the bus write the register in the same cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    /// The circuit's write wins.
    CircuitFirst,
    /// The bus's write wins.
    BusFirst,
}

/// A register readable and writable by the circuit and over the bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegisterWbConfig {
    /// The value in cycle 0.
    pub init: u32,
    /// Who wins simultaneous writes.
    pub priority: Priority,
}

/// One cycle of the register: the bus response (combinational: ACK in the cycle of the
/// strobe, read data = the value before this cycle's writes) and the next value.
fn register_step<M: M2sView>(
    cfg: &RegisterWbConfig,
    value: u32,
    m: &M,
    circuit_write: Option<u32>,
) -> (u32, WishboneS2M) {
    let active = m.bus_cycle() && m.strobe();
    let s2m = WishboneS2M {
        read_data: value,
        acknowledge: active,
        ..WishboneS2M::default()
    };
    let bus_write = if active && m.write_enable() {
        Some(merge_bytes(value, m.write_data(), m.bus_select()))
    } else {
        None
    };
    let next = match (bus_write, circuit_write, cfg.priority) {
        (Some(_), Some(c), Priority::CircuitFirst) => c,
        (Some(b), Some(_), Priority::BusFirst) => b,
        (Some(b), None, _) => b,
        (None, Some(c), _) => c,
        (None, None, _) => value,
    };
    (next, s2m)
}

/// `register_wb`: returns the bus response and the register's value as the circuit sees it
/// (the value at the start of each cycle). The register occupies the slave's whole region
/// (every offset aliases it); byte selects are honoured on bus writes.
pub fn register_wb<M: M2sView + Clone>(
    cfg: RegisterWbConfig,
    m2s: &Signal<M>,
    circuit_write: &Signal<Option<u32>>,
) -> (Signal<WishboneS2M>, Signal<u32>) {
    census::component("register_wb", || {
        let both = mealy(
            move |value: u32, (m, w): &(M, Option<u32>)| {
                let (next, s2m) = register_step(&cfg, value, m, *w);
                (next, (s2m, value))
            },
            cfg.init,
            &m2s.zip(circuit_write),
        );
        crate::signal::unbundle2(&both)
    })
}

/// `register_wb` seen from the bus only, with no circuit writes: one node per cycle (what the
/// testbench uses).
pub fn register_wb_bus<M: M2sView>(cfg: RegisterWbConfig, m2s: &Signal<M>) -> Signal<WishboneS2M> {
    census::component("register_wb", || {
        mealy(
            move |value: u32, m: &M| register_step(&cfg, value, m, None),
            cfg.init,
            m2s,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(addr: u32, data: u32, sel: u8) -> WishboneM2S {
        WishboneM2S {
            addr,
            write_data: data,
            bus_select: sel,
            bus_cycle: true,
            strobe: true,
            write_enable: true,
            ..WishboneM2S::default()
        }
    }
    fn read(addr: u32) -> WishboneM2S {
        WishboneM2S {
            addr,
            bus_select: 0xF,
            bus_cycle: true,
            strobe: true,
            ..WishboneM2S::default()
        }
    }
    fn idle() -> WishboneM2S {
        WishboneM2S::default()
    }

    /// A signal that plays `v` then repeats its last element.
    fn script<T: Clone + 'static>(v: Vec<T>) -> Signal<T> {
        let last = v.last().cloned().expect("non-empty script");
        crate::signal::mealy(
            move |i: usize, _: &()| (i + 1, v.get(i).cloned().unwrap_or_else(|| last.clone())),
            0,
            &Signal::constant(()),
        )
    }

    #[test]
    fn byte_merge() {
        assert_eq!(merge_bytes(0x1122_3344, 0xAABB_CCDD, 0b0101), 0x11BB_33DD);
        assert_eq!(merge_bytes(0x1122_3344, 0xAABB_CCDD, 0xF), 0xAABB_CCDD);
        assert_eq!(merge_bytes(0x1122_3344, 0xAABB_CCDD, 0), 0x1122_3344);
    }

    #[test]
    fn register_acknowledges_and_honours_byte_selects() {
        let cfg = RegisterWbConfig {
            init: 0x1122_3344,
            priority: Priority::BusFirst,
        };
        let m2s = script(vec![
            read(0),
            write(0, 0xAABB_CCDD, 0b0011),
            idle(),
            read(0),
        ]);
        let s2m = register_wb_bus(cfg, &m2s).sample_n(4);
        assert!(s2m[0].acknowledge && s2m[0].read_data == 0x1122_3344);
        assert!(s2m[1].acknowledge);
        assert!(!s2m[2].acknowledge, "no strobe, no ack");
        assert_eq!(s2m[3].read_data, 0x1122_CCDD);
        assert!(s2m.iter().all(|s| !s.err && !s.stall && !s.retry));
    }

    #[test]
    fn priority_for_simultaneous_writes() {
        for (priority, expect) in [
            (Priority::CircuitFirst, 7),
            (Priority::BusFirst, 0xFFFF_FFFF),
        ] {
            let cfg = RegisterWbConfig { init: 0, priority };
            let m2s = script(vec![write(0, 0xFFFF_FFFF, 0xF), idle()]);
            let cw = script(vec![Some(7), None]);
            let (_s2m, value) = register_wb(cfg, &m2s, &cw);
            assert_eq!(value.sample_n(2), vec![0, expect], "{priority:?}");
        }
        // the circuit alone writes
        let cfg = RegisterWbConfig {
            init: 0,
            priority: Priority::BusFirst,
        };
        let (_s, value) = register_wb(cfg, &script(vec![idle()]), &script(vec![Some(5), None]));
        assert_eq!(value.sample_n(3), vec![0, 5, 5]);
    }

    #[test]
    fn interconnect_routes_and_errs_on_unmapped() {
        let map = MemoryMap {
            prefix_bits: 4,
            prefixes: [1, 2],
        };
        for unzip in [Unzip::SinglePass, Unzip::Lazy] {
            let master = script(vec![
                write(0x1000_0000, 11, 0xF),
                write(0x2000_0004, 22, 0xF),
                read(0x1000_0000),
                read(0x2000_0000),
                read(0x7000_0000),
                idle(),
            ]);
            let cfg = RegisterWbConfig {
                init: 0,
                priority: Priority::BusFirst,
            };
            let ic = single_master_interconnect(map, unzip, &master, |[s0, s1]| {
                [
                    (1, register_wb_bus(cfg, &s0)),
                    (2, register_wb_bus(cfg, &s1)),
                ]
            });
            let out = ic.to_master.sample_n(6);
            assert!(out[0].acknowledge && out[1].acknowledge);
            assert_eq!((out[2].read_data, out[3].read_data), (11, 22));
            assert!(out[4].err && !out[4].acknowledge, "unmapped gets err");
            assert_eq!(out[5], WishboneS2M::default());
            assert_eq!(ic.to_slaves[1].sample_n(2)[1].addr, 4, "prefix cleared");
            assert!(
                !ic.to_slaves[1].sample_n(1)[0].strobe,
                "unselected slave sees no strobe"
            );
            assert_eq!(*ic.mem_map.force(), [1, 2]);
        }
    }

    #[test]
    fn lazy_record_update_reads_old_fields() {
        let first = WishboneM2S {
            lock: true,
            ..read(5)
        };
        let m2s = script(vec![first, write(6, 1, 1)]);
        let lazy = record_update(RecordUpdate::Lazy, &m2s).sample_n(2);
        assert_eq!(lazy[1].addr(), 6);
        assert!(
            !lazy[1].lock(),
            "LOCK comes from the old record: the initial idle one"
        );
        assert!(!lazy[1].to_strict().lock);
        let strict = record_update(RecordUpdate::Strict, &m2s).sample_n(2);
        assert_eq!(strict[1].to_strict(), write(6, 1, 1));
        assert!(strict[0].lock());
    }
}

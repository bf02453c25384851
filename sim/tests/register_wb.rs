//! The RegisterWb testbench end to end: self-checks, the leak knobs as the census sees them,
//! census exactness after drop, and the catalogue's validation.

use std::collections::BTreeMap;

use sim::census::{self, CensusEntry};
use sim::circuits::{build, catalog, Driver, ParamKind, ParamValue};

fn params(pairs: &[(&str, ParamValue)]) -> BTreeMap<String, ParamValue> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn bench(leak: &str) -> Driver {
    build(
        "register_wb",
        &params(&[("leak", ParamValue::Str(leak.into()))]),
    )
    .expect("valid")
}

fn run(c: &mut Driver, cycles: u64) {
    for _ in 0..cycles {
        c.step();
    }
}

fn entry<'a>(snap: &'a [CensusEntry], label: &str, site: &str) -> Option<&'a CensusEntry> {
    snap.iter().find(|e| e.label == label && e.site == site)
}

fn total_live(snap: &[CensusEntry]) -> (u64, u64) {
    (
        snap.iter().map(|e| e.live).sum(),
        snap.iter().map(|e| e.live * e.node_bytes).sum(),
    )
}

fn assert_all_freed() {
    for e in census::snapshot() {
        assert_eq!(e.live, 0, "still live after drop: {e:?}");
        assert_eq!(e.oldest_birth, None);
    }
}

#[test]
fn every_mode_passes_its_self_checks_and_frees_everything() {
    for leak in [
        "none",
        "lazy_unzip",
        "lazy_record_update",
        "unshared_iterate",
    ] {
        let mut c = bench(leak);
        run(&mut c, 3_000);
        let st = c.status();
        assert_eq!(c.cycle(), 3_000);
        assert_eq!(st.mismatches, 0, "{leak}: {:?}", st.first_mismatch);
        assert!(
            st.transactions > 2_500,
            "{leak}: {} transactions",
            st.transactions
        );
        drop(c);
        assert_all_freed();
    }
}

#[test]
fn all_modes_see_the_same_transactions() {
    let mut counts = Vec::new();
    for leak in [
        "none",
        "lazy_unzip",
        "lazy_record_update",
        "unshared_iterate",
    ] {
        let mut c = bench(leak);
        run(&mut c, 1_000);
        counts.push(c.status().transactions);
    }
    assert!(counts.windows(2).all(|w| w[0] == w[1]), "{counts:?}");
}

#[test]
fn scoreboard_catches_a_corrupted_slave() {
    let p = params(&[
        ("corrupt_slave", ParamValue::Int(2)),
        ("seed", ParamValue::Int(9)),
    ]);
    let mut c = build("register_wb", &p).expect("valid");
    run(&mut c, 500);
    let st = c.status();
    assert!(st.mismatches > 0);
    let msg = st.first_mismatch.expect("described");
    assert!(msg.contains("read of slave 2"), "{msg}");
}

#[test]
fn unmapped_accesses_get_err_and_are_checked() {
    // With one slave most prefixes are unmapped; the scoreboard expects err for them.
    let mut c = build("register_wb", &params(&[("slaves", ParamValue::Int(1))])).expect("valid");
    run(&mut c, 2_000);
    assert_eq!(c.status().mismatches, 0, "{:?}", c.status().first_mismatch);
}

#[test]
fn none_is_bounded() {
    let mut c = bench("none");
    run(&mut c, 10_000);
    let a = total_live(&census::snapshot());
    run(&mut c, 90_000);
    let b = total_live(&census::snapshot());
    assert_eq!(a, b, "live (nodes, bytes) at 1e4 vs 1e5 cycles");
    assert!(a.0 < 64, "a bounded circuit keeps a few nodes: {}", a.0);
}

/// Growth of each (label, site) between 2,000 and 4,000 cycles, per 1,000 cycles.
/// (label, site, growth per 1000 cycles, oldest birth)
type Growth = (String, String, f64, Option<u64>);

fn growth(leak: &str) -> (Vec<Growth>, Vec<CensusEntry>) {
    let mut c = bench(leak);
    run(&mut c, 2_000);
    let before = census::snapshot();
    run(&mut c, 2_000);
    let after = census::snapshot();
    let mut out = Vec::new();
    for e in &after {
        let prev = entry(&before, &e.label, &e.site).map_or(0, |p| p.live);
        let g = (e.live as f64 - prev as f64) / 2.0;
        if g > 0.0 {
            out.push((e.label.clone(), e.site.clone(), g, e.oldest_birth));
        }
    }
    println!("{leak}: growing per 1000 cycles: {out:?}");
    (out, after)
}

#[test]
fn lazy_unzip_retains_slave_responses() {
    let (g, snap) = growth("lazy_unzip");
    assert_eq!(g.len(), 1, "{g:?}");
    assert_eq!(
        (g[0].0.as_str(), g[0].1.as_str()),
        ("Signal<WishboneS2M>::Cons", "register_wb/mealy")
    );
    assert_eq!(g[0].2, 4_000.0, "4 slaves, one response each per cycle");
    assert_eq!(g[0].3, Some(0), "born since cycle 0");
    let retainer =
        entry(&snap, "Lazy<[u32; 4]>::Thunk", "interconnect/unzip").expect("the retainer");
    assert_eq!(retainer.live, 1);
}

#[test]
fn lazy_record_update_chains_records() {
    let (g, _) = growth("lazy_record_update");
    assert_eq!(g.len(), 1, "{g:?}");
    assert_eq!(
        (g[0].0.as_str(), g[0].1.as_str()),
        ("LazyM2S::Update", "interconnect/record_update")
    );
    assert_eq!(g[0].2, 4_000.0);
    assert_eq!(g[0].3, Some(0));
}

#[test]
fn unshared_iterate_accumulates_pending_applications() {
    let (g, _) = growth("unshared_iterate");
    assert_eq!(g.len(), 1, "{g:?}");
    assert_eq!(
        (g[0].0.as_str(), g[0].1.as_str()),
        ("Lazy<u64>::Thunk", "master/iterate")
    );
    assert!(
        g[0].2 > 900.0 && g[0].2 <= 1_000.0,
        "one draw per cycle: {}",
        g[0].2
    );
}

#[test]
fn census_off_counts_nothing_and_stays_exact() {
    census::set_enabled(false);
    let mut c = bench("lazy_unzip");
    run(&mut c, 500);
    census::set_enabled(true);
    run(&mut c, 500); // nodes born now are counted, earlier ones never
    let snap = census::snapshot();
    let e = entry(&snap, "Signal<WishboneS2M>::Cons", "register_wb/mealy").expect("counted");
    assert!(e.live >= 4 * 499 && e.live <= 4 * 501, "{e:?}");
    assert!(e.oldest_birth.expect("live") >= 440, "{e:?}");
    drop(c);
    assert_all_freed();
}

#[test]
fn dropping_a_leaky_million_cycle_circuit_does_not_overflow() {
    let mut c = bench("lazy_record_update");
    run(&mut c, 1_000_000);
    let snap = census::snapshot();
    let e = entry(&snap, "LazyM2S::Update", "interconnect/record_update").expect("counted");
    assert!(e.live >= 4_000_000, "{e:?}");
    drop(c);
    assert_all_freed();
}

#[test]
fn catalogue_and_validation() {
    let catalog = catalog();
    let spec = catalog.get("register_wb").expect("catalogued");
    let names: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
    assert_eq!(names, ["slaves", "seed", "leak", "corrupt_slave"]);
    let leak = spec.params.iter().find(|p| p.name == "leak").expect("leak");
    assert_eq!(
        leak.kind,
        ParamKind::Choice(&[
            "none",
            "lazy_unzip",
            "lazy_record_update",
            "unshared_iterate"
        ])
    );

    let err = |name: &str, p: &[(&str, ParamValue)]| {
        build(name, &params(p)).expect_err("an error").to_string()
    };
    assert_eq!(
        err("nope", &[]),
        "unknown circuit `nope` (valid: register_wb)"
    );
    assert_eq!(
        err("register_wb", &[("slave", ParamValue::Int(2))]),
        "register_wb: unknown parameter `slave` (valid: slaves, seed, leak, corrupt_slave)"
    );
    assert_eq!(
        err("register_wb", &[("slaves", ParamValue::Int(99))]),
        "register_wb: parameter `slaves` = 99 is out of range 1..=8"
    );
    assert_eq!(
        err("register_wb", &[("leak", ParamValue::Str("all".into()))]),
        "register_wb: parameter `leak` = \"all\" is not one of: none, lazy_unzip, lazy_record_update, unshared_iterate"
    );
    assert!(
        err("register_wb", &[("seed", ParamValue::Str("x".into()))]).contains("expects an integer")
    );
    assert!(err("register_wb", &[("corrupt_slave", ParamValue::Int(5))])
        .contains("must be below `slaves`"));
    for n in 1..=8 {
        let mut c =
            build("register_wb", &params(&[("slaves", ParamValue::Int(n))])).expect("valid");
        run(&mut c, 200);
        assert_eq!(c.status().mismatches, 0);
    }
}

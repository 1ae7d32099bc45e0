//! A trap or an exhausted budget rolls the call back; the next call works.

use credit_host::api::*;
use credit_host::{FUEL_PER_CALL_DEFAULT, Fault};

use crate::support::*;

#[test]
fn a_trap_half_way_through_a_call_rolls_back_all_its_writes() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    h.approve("acme", "SO-1", "100.00");
    let before = h.dump();
    // An approval writes the sequence, the hold, the order, an entry, the
    // account and the idempotency record: fail on the third write.
    h.ledger.inject_fault(Fault::StoreFailsAfterWrites(2));
    let c = h.ctx();
    let req = AuthorizeRequest { account_id: "acme".into(), order_id: "SO-2".into(), amount: gbp("200.00"), hold_ttl_s: None, open_ended: None };
    let err = h.ledger.authorize(&h.m, &c, &req).expect_err("the call traps");
    assert!(format!("{err:#}").contains("injected store failure"), "{err:#}");
    assert_eq!(h.dump(), before, "nothing of the trapped call remains");
    h.check();
    // The same request with the same key now succeeds, once.
    let Authorization::Approved(a) = h.authorize_with(&c, &req).unwrap() else { panic!("approval expected") };
    assert_eq!(a.after.open_holds, "300.00");
    assert_eq!(a.hold.hold_id, "H-acme-2", "the trapped call used up no number");
}

#[test]
fn an_exhausted_fuel_budget_rolls_back_and_the_next_call_works() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    let before = h.dump();
    h.ledger.set_fuel_per_call(2_000);
    let c = h.ctx();
    let req = AuthorizeRequest { account_id: "acme".into(), order_id: "SO-1".into(), amount: gbp("100.00"), hold_ttl_s: None, open_ended: None };
    let err = h.ledger.authorize(&h.m, &c, &req).expect_err("the budget runs out");
    assert!(format!("{err:#}").contains("fuel"), "{err:#}");
    assert_eq!(h.dump(), before);
    h.ledger.set_fuel_per_call(FUEL_PER_CALL_DEFAULT);
    h.check();
    let answer = h.ledger.authorize(&h.m, &c, &req).unwrap();
    let used = h.ledger.last_call_fuel();
    let Ok(Authorization::Approved(a)) = answer else { panic!("approval expected") };
    assert_eq!(a.after.available_credit, "900.00");
    h.check();
    assert!(used > 2_000 && used < FUEL_PER_CALL_DEFAULT / 100, "an approval used {used} fuel");
}

#[test]
fn a_refused_call_after_writes_changes_nothing() {
    // `authorize` releases expired holds (writing entries) before it looks
    // at the order; when it then refuses, the release must not survive.
    let mut h = H::new();
    h.open("acme", "1000.00");
    let c = h.ctx();
    let short = AuthorizeRequest { account_id: "acme".into(), order_id: "SO-1".into(), amount: gbp("10.00"), hold_ttl_s: Some(1), open_ended: None };
    h.authorize_with(&c, &short).unwrap();
    h.approve("acme", "SO-2", "10.00");
    h.now_ms += 2_000; // SO-1's hold has expired but is not released yet
    let before = h.dump();
    assert_eq!(h.authorize("acme", "SO-2", gbp("5.00")), Err(CreditError::OrderAlreadyAuthorized("SO-2".into())));
    assert_eq!(h.dump(), before);
    // A call that succeeds does release it.
    h.approve("acme", "SO-3", "5.00");
    assert!(h.entries("acme").iter().any(|e| e.kind == EntryKind::HoldExpired));
}

#[test]
fn a_memory_blow_up_in_the_guest_rolls_back_and_the_next_call_works() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    h.approve("acme", "SO-1", "100.00");
    let before = h.dump();
    // The guest must allocate the value it reads; 80 MiB is more than its
    // allocator's 32 MiB arena (and the instance's 64 MiB limit), so the
    // allocation fails and it aborts.
    h.ledger.inject_fault(Fault::OversizedRead(80 << 20));
    let c = h.ctx();
    let req = AuthorizeRequest { account_id: "acme".into(), order_id: "SO-2".into(), amount: gbp("50.00"), hold_ttl_s: None, open_ended: None };
    let err = h.ledger.authorize(&h.m, &c, &req).expect_err("the guest runs out of memory");
    assert!(format!("{err:#}").contains("trapped"), "{err:#}");
    assert_eq!(h.dump(), before);
    h.check();
    let Authorization::Approved(a) = h.authorize_with(&c, &req).unwrap() else { panic!("approval expected") };
    assert_eq!(a.after.open_holds, "150.00");
}

/// The component built with deliberate faults (never shipped).
fn faulty() -> &'static credit_host::Component {
    static C: std::sync::OnceLock<credit_host::Component> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        let wasm = std::fs::read(credit_host::FAULTY_COMPONENT_PATH).expect("build.rs built the faulty component");
        credit_host::Component::from_bytes(&wasm).unwrap()
    })
}

#[test]
fn a_panic_an_endless_loop_and_a_huge_allocation_in_the_guest_each_roll_back() {
    // (order id that triggers the fault, what the host error says)
    let rows = [("FAULT-PANIC", "unreachable"), ("FAULT-LOOP", "fuel"), ("FAULT-ALLOC", "unreachable")];
    for (order, says) in rows {
        let mut h = H::on(crate::support::ledger(faulty()));
        h.ledger.set_fuel_per_call(20_000_000);
        h.open("acme", "1000.00");
        h.approve("acme", "SO-1", "100.00");
        let before = h.dump();
        let c = h.ctx();
        let req = AuthorizeRequest { account_id: "acme".into(), order_id: order.into(), amount: gbp("50.00"), hold_ttl_s: None, open_ended: None };
        let err = h.ledger.authorize(&h.m, &c, &req).expect_err(order);
        let text = format!("{err:#}");
        assert!(text.contains("trapped") && text.contains(says), "{order}: {text}");
        assert_eq!(h.dump(), before, "{order}: the store is as it was");
        h.check();
        // The next call is served normally, by a fresh instance.
        let a = h.approve("acme", "SO-2", "50.00");
        assert_eq!(a.after.open_holds, "150.00", "{order}");
    }
}

#[test]
fn the_shipped_component_has_no_fault_hooks() {
    let faulty = std::fs::read(credit_host::FAULTY_COMPONENT_PATH).unwrap();
    let has = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(has(&faulty, b"fault injected"), "the test build has them");
    assert!(!has(credit_host::COMPONENT_WASM, b"fault injected"), "the shipped build does not");
}

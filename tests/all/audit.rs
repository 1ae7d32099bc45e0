//! The audit that backs every test must itself catch a wrong figure.

use credit_host::audit;

use crate::support::*;

#[test]
fn the_audit_finds_a_cached_figure_that_does_not_match_its_entries() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    h.approve("acme", "SO-1", "100.00");
    h.pay("acme", "20.00").unwrap();
    assert!(audit::audit(h.ledger.backend()).unwrap().is_clean());

    // Damage the cached stored balance behind the component's back.
    let m = h.m.as_str().to_owned();
    let backend = h.ledger.backend();
    let raw = backend.get(&m, "acct/acme").unwrap().unwrap();
    let mut account: credit_guest::model::Account = credit_guest::codec::decode(&raw).unwrap();
    assert_eq!(account.stored_balance, d("20.00"));
    account.stored_balance = d("20.01");
    backend.begin().unwrap();
    backend.put(&m, "acct/acme", &credit_guest::codec::encode(&account).unwrap()).unwrap();
    backend.commit().unwrap();

    let report = audit::audit(h.ledger.backend()).unwrap();
    assert_eq!(report.accounts, 1);
    assert_eq!(report.entries, 3);
    // The figure, and the debtor-list rows it now disagrees with: the
    // account says it is listed under 20.01, its rows say 20.00.
    let found: Vec<(&str, &str)> = report.discrepancies.iter().map(|d| (d.at.as_str(), d.what.as_str())).collect();
    assert_eq!(found[0], ("acme", "stored_balance is 20.01 but its entries add up to 20.00"), "{found:?}");
    assert!(found[1].1.starts_with("indexed as"), "{found:?}");
    assert_eq!(found[2..], [
        ("dx/bal/GBP/10000000000000000000002000/acme", "stale: account \"acme\" is indexed elsewhere"),
        ("dx/sto/GBP/09999999999999999999998000/acme", "stale: account \"acme\" is indexed elsewhere"),
    ]);
}

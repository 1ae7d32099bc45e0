//! One host, several merchants: none can see or touch another's data.

use credit_host::MerchantId;
use credit_host::api::*;

use crate::support::*;

#[test]
fn merchants_are_isolated() {
    let mut h = H::new();
    let a = MerchantId::new("merchant-a").unwrap();
    let b = MerchantId::new("merchant-b").unwrap();
    h.m = a.clone();
    h.open("acme", "1000.00");
    let hold_a = h.approve("acme", "SO-1", "300.00").hold.hold_id;
    let a_before = h.dump();

    h.m = b.clone();
    assert_eq!(h.ledger.get_account(&b, "acme", T0).unwrap(), Err(CreditError::AccountNotFound("acme".into())));
    assert_eq!(h.ledger.list_accounts(&b, None, 10).unwrap().unwrap(), Vec::<String>::new());
    // B's own "acme" is another account, and B's hold numbers start at 1.
    h.open("acme", "50.00");
    assert_eq!(h.summary("acme").figures.credit_limit, "50.00");
    assert_eq!(h.capture(&hold_a, "300.00").map(|_| ()), Err(CreditError::HoldNotFound("H-acme-1".into())));
    assert_eq!(h.approve("acme", "SO-1", "50.00").hold.hold_id, "H-acme-1");
    // Idempotency keys are scoped too: the same key works in each merchant.
    let c = CallContext { idempotency_key: "shared-key".into(), now_ms: T0 };
    let pay = RecordPaymentRequest {
        account_id: "acme".into(),
        amount: gbp("5.00"),
        received_on: day_of(T0),
        method: "cash".into(),
        reference: "r".into(),
        allocations: vec![],
        spread: None,
    };
    assert_eq!(h.ledger.record_payment(&b, &c, &pay).unwrap().unwrap().payment.payment_id, "P-acme-1");
    h.m = a.clone();
    h.check();
    let a_data: Vec<_> = h.dump().into_iter().filter(|(m, _, _)| m == "merchant-a").collect();
    assert_eq!(a_data, a_before, "nothing B did touched A");
    assert_eq!(h.ledger.record_payment(&a, &c, &pay).unwrap().unwrap().payment.payment_id, "P-acme-1");
    assert_eq!(h.summary("acme").figures.credit_limit, "1000.00");
    assert_eq!(h.summary("acme").figures.open_holds, "300.00");
    h.check();
}

#[test]
fn merchant_ids_are_checked_by_the_host() {
    assert!(MerchantId::new("").is_err());
    assert!(MerchantId::new("a/b").is_err());
    assert!(MerchantId::new("x".repeat(65)).is_err());
    assert!(MerchantId::new("x".repeat(64)).is_ok());
}

#[test]
fn the_component_imports_its_store_and_nothing_else() {
    // No clock, randomness, files, network or environment to observe: the
    // only way in is the merchant-scoped store.
    let mut imports = component().imports();
    imports.sort();
    assert_eq!(imports, vec![format!("storefront:credit/store@{}", credit_host::WIT_VERSION), format!("storefront:credit/types@{}", credit_host::WIT_VERSION)]);
}

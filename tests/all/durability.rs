//! Data written before the host closes is there when it reopens.

use credit_host::Ledger;
use credit_host::api::*;

use crate::support::*;

#[test]
fn sqlite_data_survives_closing_and_reopening_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.sqlite");
    let (hold, retry_ctx, retry_req, first_answer, dump) = {
        let mut h = H::sqlite(&path);
        h.open("acme", "1000.00");
        let hold = h.approve("acme", "SO-1", "400.00").hold.hold_id;
        h.pay("acme", "50.00").unwrap();
        let c = h.ctx();
        let req = AuthorizeRequest { account_id: "acme".into(), order_id: "SO-2".into(), amount: gbp("100.00"), hold_ttl_s: None, open_ended: None };
        let answer = h.authorize_with(&c, &req).unwrap();
        (hold, c, req, answer, h.dump())
        // the ledger, its instance and its connection are dropped here
    };

    let mut h = H::on(Ledger::open_sqlite(component(), &path).unwrap());
    assert_eq!(h.dump(), dump, "every key and value is back");
    h.check();
    let s = h.summary("acme");
    assert_eq!(s.figures.open_holds, "500.00");
    assert_eq!(s.figures.stored_balance, "50.00");
    assert_eq!(s.entry_count, 4);
    // A retry after the restart still returns the first answer.
    assert_eq!(h.authorize_with(&retry_ctx, &retry_req).unwrap(), first_answer);
    // And work goes on where it stopped.
    let r = h.capture(&hold, "400.00").unwrap();
    assert_eq!(r.after.posted_debt, "400.00");
    assert_eq!(h.approve("acme", "SO-3", "1.00").hold.hold_id, "H-acme-3");
}

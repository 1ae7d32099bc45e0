//! The command line as a user runs it, in a separate process: the demo (the
//! project's main job) and `verify` on a database before and after damage.

use std::process::Command;

use credit_host::store::{Backend, SqliteBackend};

use crate::support::component_cache;

fn cli(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_credit-host-cli"));
    c.current_dir(dir).arg("--component-cache").arg(component_cache());
    c
}

#[test]
fn the_demo_runs_and_verify_finds_damage() {
    let dir = tempfile::tempdir().unwrap();
    let demo = cli(dir.path()).args(["demo", "--db", "demo.sqlite"]).output().unwrap();
    let out = String::from_utf8_lossy(&demo.stdout);
    assert!(demo.status.success(), "{out}\n{}", String::from_utf8_lossy(&demo.stderr));
    for expected in [
        "DECLINED (insufficient credit), short by £350.00",
        "INV1 £1,078.00 + £22.00 discount (owes £0.00)",
        "late fee £15.00 on INV3",
        "PUT ON HOLD",
        "DECLINED (on hold for overdue invoices)",
        "0 discrepancies",
    ] {
        assert!(out.contains(expected), "the demo should say {expected:?}:\n{out}");
    }
    let mails = std::fs::read_dir(dir.path().join("demo.mail/northwind-office/cobalt-print")).unwrap().count();
    assert_eq!(mails, 5, "five reminders to Cobalt");

    let verify = cli(dir.path()).args(["verify", "--db", "demo.sqlite"]).output().unwrap();
    assert_eq!(verify.status.code(), Some(0), "{}", String::from_utf8_lossy(&verify.stdout));

    // Damage a cached figure behind the component's back.
    let mut db = SqliteBackend::open(dir.path().join("demo.sqlite")).unwrap();
    db.begin().unwrap();
    let raw = db.get("northwind-office", "acct/birch-architects").unwrap().unwrap();
    let mut account: credit_guest::model::Account = credit_guest::codec::decode(&raw).unwrap();
    assert_eq!(account.posted_debt.to_string(), "1150.00");
    account.posted_debt = "1149.00".parse().unwrap();
    db.put("northwind-office", "acct/birch-architects", &credit_guest::codec::encode(&account).unwrap()).unwrap();
    db.commit().unwrap();
    drop(db);

    let verify = cli(dir.path()).args(["verify", "--db", "demo.sqlite"]).output().unwrap();
    let out = String::from_utf8_lossy(&verify.stdout);
    assert_eq!(verify.status.code(), Some(1), "{out}");
    assert!(out.contains("birch-architects: posted_debt is 1149.00 but its entries add up to 1150.00"), "{out}");
}

//! The WIT contract changes on purpose only: `wit/` compared with the last
//! released contract (`tests/contract/released/`), parsed by wit-parser,
//! must carry a version that fits what changed (`credit_host::contract`).

use std::path::Path;

use credit_host::contract::{Comparison, compare_dirs};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[test]
fn the_contract_changed_only_as_its_version_allows() {
    let c = compare_dirs(&root().join("tests/contract/released"), &root().join("wit")).unwrap();
    assert_eq!(c.current.version.as_ref().map(ToString::to_string).as_deref(), Some(credit_host::WIT_VERSION), "wit/ is what the host embeds");
    if let Some(problem) = c.problem() {
        panic!("wit/ ({}) against the released contract ({}): {problem}", c.current, c.released);
    }
}

#[test]
fn every_released_contract_version_has_its_changelog_section() {
    let changelog = std::fs::read_to_string(root().join("CHANGELOG.md")).unwrap();
    let c = compare_dirs(&root().join("tests/contract/released"), &root().join("wit")).unwrap();
    for v in [c.released.version.unwrap(), c.current.version.unwrap()] {
        assert!(changelog.lines().any(|l| l.starts_with(&format!("## {v} "))), "CHANGELOG.md has no \"## {v} ...\" section");
    }
}

/// A one-file package of the shape of ours, at `version`, with `checkout`
/// and the `store` import as given.
fn package(version: &str, checkout: &str, store: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let wit = format!(
        "package storefront:credit@{version};\n\
         interface store {{ {store} }}\n\
         interface checkout {{ {checkout} }}\n\
         world credit-account {{ import store; export checkout; }}\n"
    );
    std::fs::write(dir.path().join("credit.wit"), wit).unwrap();
    dir
}

const CHECKOUT: &str = "record req { amount: string, note: option<string> }\n\
                        enum reason { over-limit, on-hold }\n\
                        authorize: func(r: req) -> result<u64, reason>;";
const STORE: &str = "get: func(key: string) -> option<list<u8>>;";

fn check(released: &str, version: &str, checkout: &str, store: &str) -> Comparison {
    let old = package(released, CHECKOUT, STORE);
    let new = package(version, checkout, store);
    compare_dirs(old.path(), new.path()).unwrap()
}

#[test]
fn the_check_allows_what_keeps_users_working_and_refuses_the_rest() {
    // (released, now, checkout, store, allowed, what the comparison lists)
    let same = check("1.2.0", "1.2.0", CHECKOUT, STORE);
    assert!(same.changes.is_empty() && same.problem().is_none(), "{:?}", same.changes);

    let commented = check("1.2.0", "1.2.0", &format!("/// Authorizes.\n{CHECKOUT}"), STORE);
    assert!(commented.changes.is_empty(), "comments are not the contract: {:?}", commented.changes);
    let reordered = check("1.2.0", "1.2.0", "authorize: func(r: req) -> result<u64, reason>;\nenum reason { over-limit, on-hold }\nrecord req { amount: string, note: option<string> }", STORE);
    assert!(reordered.changes.is_empty(), "nor is their order: {:?}", reordered.changes);

    let added = format!("{CHECKOUT}\nvoid: func(id: u64) -> bool;");
    let c = check("1.2.0", "1.2.0", &added, STORE);
    assert_eq!(c.changes.len(), 1, "{:?}", c.changes);
    assert!(c.changes[0].compatible && c.changes[0].what.contains("function void added"));
    assert!(c.problem().unwrap().contains("changed but its version is still 1.2.0"), "any change moves the version");
    assert_eq!(check("1.2.0", "1.2.1", &added, STORE).problem(), None, "an addition is compatible");
    assert_eq!(check("1.2.0", "1.3.0", &added, STORE).problem(), None);

    let field = "record req { amount: string, note: option<string>, channel: option<string> }\n\
                 enum reason { over-limit, on-hold }\n\
                 authorize: func(r: req) -> result<u64, reason>;";
    let c = check("1.2.0", "1.3.0", field, STORE);
    assert!(c.changes.iter().any(|ch| !ch.compatible && ch.what.contains("function authorize changed")), "{:?}", c.changes);
    assert!(c.problem().unwrap().contains("need a breaking version (2.0.0)"), "{:?}", c.problem());
    assert_eq!(check("1.2.0", "2.0.0", field, STORE).problem(), None);

    let case = CHECKOUT.replace("on-hold", "on-hold, closed");
    assert!(check("1.2.0", "1.3.0", &case, STORE).problem().is_some(), "a case added to an answer's enum breaks callers that match on it");
    let removed = "record req { amount: string, note: option<string> }\nenum reason { over-limit, on-hold }";
    let c = check("1.2.0", "1.3.0", removed, STORE);
    assert!(c.changes.iter().any(|ch| !ch.compatible && ch.what.ends_with("function authorize removed")), "{:?}", c.changes);
    assert!(c.problem().is_some());
    let retyped = CHECKOUT.replace("result<u64, reason>", "result<u32, reason>");
    assert!(check("1.2.0", "1.9.0", &retyped, STORE).problem().is_some());

    // The host provides the imports: one more is a break, one fewer is not.
    let more = format!("{STORE}\nput: func(key: string, value: list<u8>);");
    let c = check("1.2.0", "1.3.0", CHECKOUT, &more);
    assert!(c.changes.iter().any(|ch| !ch.compatible && ch.what.contains("import storefront:credit/store: function put added")), "{:?}", c.changes);
    assert!(c.problem().is_some());
    let fewer = check("1.2.0", "1.3.0", CHECKOUT, "");
    assert!(fewer.changes.iter().all(|ch| ch.compatible) && fewer.problem().is_none(), "{:?}", fewer.changes);

    // Before 1.0 the minor version is the breaking one (Cargo's reading).
    assert!(check("0.7.0", "0.7.1", field, STORE).problem().is_some());
    assert_eq!(check("0.7.0", "0.8.0", field, STORE).problem(), None);
    assert_eq!(check("0.7.0", "0.7.1", &added, STORE).problem(), None);
    assert!(check("0.7.0", "0.6.0", CHECKOUT, STORE).problem().unwrap().contains("older than the released"));
}

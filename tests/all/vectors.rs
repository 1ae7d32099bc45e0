//! The conformance vectors (`tests/vectors/`) through the component: every
//! answer as the vectors say, every exported function and error case shown
//! by some vector, and the contract file current. The Node.js host runs the
//! same files (`host/node/test/`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use credit_host::vectors;

use crate::support::component;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

/// Error cases no input within the limits can produce: amounts are at most
/// 10^12 and `rust_decimal` holds 7.9 x 10^28, so the checked arithmetic's
/// `amount-overflow` is a guard, not a path. Each entry must stay
/// unreachable by the vectors: the test fails if one shows up.
const UNREACHABLE_ERRORS: &[&str] = &["amount-overflow"];

/// The size-optimised build, compiled once.
fn small() -> &'static credit_host::Component {
    static C: std::sync::OnceLock<credit_host::Component> = std::sync::OnceLock::new();
    C.get_or_init(|| credit_host::Component::from_bytes(credit_host::SMALL_COMPONENT_WASM).expect("the small build compiles"))
}

fn run_all(component: &credit_host::Component) {
    let files = vectors::files(&dir()).unwrap();
    assert!(files.len() >= 12, "vectors missing: {files:?}");
    let mut calls = 0;
    let mut failures = Vec::new();
    for file in &files {
        let mut v = vectors::load(file).unwrap();
        let outcome = vectors::run(component, &mut v, false).unwrap();
        calls += outcome.calls;
        for m in outcome.mismatches {
            failures.push(format!("{}: {m}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{} answers differ:\n{}", failures.len(), failures.join("\n"));
    assert!(calls > 600, "only {calls} calls");
}

#[test]
fn every_vector_gives_its_expected_answers() {
    run_all(component());
}

#[test]
fn every_vector_gives_its_expected_answers_from_the_small_build() {
    assert!(credit_host::SMALL_COMPONENT_WASM.len() < credit_host::COMPONENT_WASM.len() * 2 / 3);
    run_all(small());
}

#[test]
fn the_vectors_call_every_exported_function_and_show_every_error_case() {
    let contract = vectors::contract(component());
    let functions: BTreeSet<String> = contract["functions"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(functions.len(), 49);
    // Every function answers result<_, error>: the cases of that variant.
    let any = contract["functions"].as_object().unwrap().values().next().unwrap();
    let cases: BTreeSet<String> =
        any["result"]["result"]["err"]["variant"].as_array().unwrap().iter().map(|c| c[0].as_str().unwrap().to_owned()).collect();
    assert!(cases.len() > 50 && cases.contains("store-corrupt"), "{cases:?}");

    let (mut called, mut errors, mut declines) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for file in vectors::files(&dir()).unwrap() {
        for step in vectors::load(&file).unwrap().steps {
            let Some(call) = step.call else { continue };
            let expect = step.expect.unwrap();
            if let Some(tag) = expect["err"]["tag"].as_str() {
                errors.insert(tag.to_owned());
            }
            if expect["ok"]["tag"] == "declined" {
                declines.insert(expect["ok"]["val"]["reason"].as_str().unwrap().to_owned());
            }
            called.insert(call);
        }
    }
    let not_called: Vec<_> = functions.difference(&called).collect();
    assert!(not_called.is_empty(), "no vector calls {not_called:?}");
    let unknown: Vec<_> = called.difference(&functions).collect();
    assert!(unknown.is_empty(), "vectors call functions the component lacks: {unknown:?}");
    let unshown: Vec<_> = cases.iter().filter(|c| !errors.contains(*c) && !UNREACHABLE_ERRORS.contains(&c.as_str())).collect();
    assert!(unshown.is_empty(), "no vector shows the error cases {unshown:?}");
    for c in UNREACHABLE_ERRORS {
        assert!(cases.contains(*c) && !errors.contains(*c), "{c} is listed as unreachable: update the list");
    }
    let reasons = ["insufficient-credit", "account-on-hold", "overdue-invoices", "account-closed", "currency-mismatch", "company-credit-insufficient", "company-overdue-invoices"];
    assert_eq!(declines, reasons.iter().map(|r| r.to_string()).collect(), "every decline reason");
}

#[test]
fn a_changed_answer_is_found_at_its_step() {
    // The comparison is exact: one figure of one answer changed is one
    // mismatch, named by its step.
    let mut v = vectors::load(&dir().join("payments.json")).unwrap();
    let step = v.steps.iter().position(|s| s.about.as_deref().is_some_and(|a| a.starts_with("980.00 for INV-acme-1"))).unwrap();
    let expect = v.steps[step].expect.as_mut().unwrap();
    assert_eq!(expect["ok"]["payment"]["allocations"][0]["discount"], "20.00");
    expect["ok"]["payment"]["allocations"][0]["discount"] = "19.99".into();
    let outcome = vectors::run(component(), &mut v, false).unwrap();
    assert_eq!(outcome.mismatches.len(), 1, "{:?}", outcome.mismatches);
    assert_eq!(outcome.mismatches[0].step, step);
}

#[test]
fn the_contract_file_is_the_components() {
    // `tests/vectors/contract.json` is what `credit-host contract` prints;
    // regenerate it with `cargo run -p credit-host -- contract --out
    // tests/vectors/contract.json` when the WIT changes.
    let committed = std::fs::read_to_string(dir().join("contract.json")).unwrap();
    assert!(committed == vectors::contract_text(component()).unwrap(), "tests/vectors/contract.json is out of date");
}

#[test]
fn wrong_arguments_are_refused_by_the_host_before_the_call() {
    // A third party's vector with a typo gets a message naming it, not a
    // default value.
    let mut ledger = crate::support::ledger(component());
    let m = credit_host::MerchantId::new("shop").unwrap();
    let cases = [
        ("queries.list-accounts", serde_json::json!({"after": null, "limit": 1, "limt": 2}), "no parameter \"limt\""),
        ("queries.list-accounts", serde_json::json!({"after": null}), "argument \"limit\" missing"),
        ("queries.list-accounts", serde_json::json!({"limit": -1}), "limit: expected an integer in range"),
        ("queries.get-account", serde_json::json!({"account-id": 7, "now-ms": 0}), "account-id: expected a string"),
        ("queries.nothing", serde_json::json!({}), "exports no function"),
        (
            "reports.aging",
            serde_json::json!({"req": {"as-of": "2026-01-01", "basis": "due", "edges": [], "limit": 1}}),
            "req.basis: no case \"due\"",
        ),
    ];
    for (call, args, want) in cases {
        let e = ledger.call_json(&m, call, &args).unwrap_err();
        assert!(format!("{e:#}").contains(want), "{call} {args}: {e:#}");
        // Read before the call: not a trap.
        assert!(!format!("{e:#}").contains("trapped"), "{call} {args}: {e:#}");
        // Typed, so a server can answer 400 or 404 rather than 500.
        let refused = e.downcast_ref::<credit_host::CallRefused>();
        assert!(matches!(refused, Some(credit_host::CallRefused::BadArguments(_) | credit_host::CallRefused::NoSuchFunction(_))), "{call} {args}: {e:#}");
    }
}

#[test]
fn wit_parses_and_both_builds_carry_exactly_its_interfaces() {
    // wit/ with the parser of current wasm-tools (wit-parser); jco's parser
    // is checked by host/node/test/contract.test.mjs.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("wit");
    let mut resolve = wit_parser::Resolve::default();
    let (pkg, _) = resolve.push_dir(&root).expect("wit/ parses");
    assert_eq!(resolve.packages[pkg].name.to_string(), format!("storefront:credit@{}", credit_host::WIT_VERSION));
    let mut printer = wit_component_printer();
    printer.print(&resolve, pkg, &[]).unwrap();
    let source = vectors::interface_blocks(&printer.output.to_string());
    assert_eq!(source.len(), 9, "accounts, bank, billing, checkout, migration, queries, reports, store, types");
    for (build, bytes) in [("fast", credit_host::COMPONENT_WASM), ("small", credit_host::SMALL_COMPONENT_WASM)] {
        let carried = vectors::interface_blocks(&vectors::component_wit(bytes).unwrap());
        let first_difference = carried
            .iter()
            .zip(&source)
            .flat_map(|(c, s)| c.lines().zip(s.lines()).find(|(a, b)| a != b))
            .next();
        assert_eq!(first_difference, None, "the {build} build carries another contract than wit/");
        assert_eq!(carried, source, "the {build} build carries another contract than wit/");
    }
    // A name whose segment starts with a digit is refused by older
    // tooling (jco before 1.17): none is left.
    for block in &source {
        for word in block.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
            assert!(!word.split('-').skip(1).any(|seg| seg.starts_with(|c: char| c.is_ascii_digit())), "{word}");
        }
    }
}

fn wit_component_printer() -> credit_host::WitPrinter {
    let mut p = credit_host::WitPrinter::default();
    p.emit_docs(false);
    p
}

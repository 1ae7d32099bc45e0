//! Inputs the fuzzer (`host/fuzz`) kept, replayed on every test run: the 40
//! largest of the minimized corpus after a 661-second run (1,157,955
//! executions, no failure found). Each is a sequence of up to 64 calls made
//! through the component and natively; the component must not trap, the
//! two must agree on every success or refusal, and the audit must pass.

use crate::support::component;

#[test]
fn the_fuzzers_corpus_still_passes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz-corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 40, "the corpus is in {}", dir.display());
    for f in files {
        let data = std::fs::read(&f).unwrap();
        credit_host::fuzzing::run_with(component(), &data);
    }
}

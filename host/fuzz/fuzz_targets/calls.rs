//! Arbitrary call sequences through the host into the component, and to the
//! same engine compiled natively; the logic is `credit_host::fuzzing`, so
//! the regression tests can replay what this target finds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| credit_host::fuzzing::run(data));

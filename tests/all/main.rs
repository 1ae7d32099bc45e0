//! Integration tests: every call goes through the real `.wasm` component,
//! embedded in the host library. One binary, one compile of the component.

mod audit;
mod bank;
mod bad_input;
mod billing;
mod checkout;
mod companies;
mod contract;
mod cli;
mod concurrency;
mod crash;
mod discounts;
mod durability;
mod events;
mod faults;
mod fuzz_regressions;
mod http;
mod idempotency;
mod import;
mod model;
mod postgres;
mod probe;
mod reports;
mod scale;
mod shapes;
mod simulate;
mod staff_pages;
mod support;
mod tenancy;
mod upgrades;
mod vectors;

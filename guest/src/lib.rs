//! The credit-account engine.
//!
//! The domain (money, accounts, holds, ledger, errors) is plain Rust that
//! builds and tests natively; `bindings` (only on wasm32) is the thin glue
//! that turns it into the `storefront:credit` WebAssembly component.

pub mod codec;
pub mod dates;
pub mod engine;
#[cfg(feature = "fault-injection")]
pub mod faults;
pub mod error;
pub mod kv;
pub mod limits;
pub mod model;
pub mod money;
pub mod rules;
pub mod validate;

#[cfg(target_arch = "wasm32")]
mod bindings;

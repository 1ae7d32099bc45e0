//! The credit-account engine.
//!
//! The domain (money, accounts, holds, ledger, errors) is plain Rust that
//! builds and tests natively; `bindings` (only on wasm32) is the thin glue
//! that turns it into the `storefront:credit` WebAssembly component.
//!
//! `no_std` + `alloc`: built for `wasm32-wasip2`, Rust's std would make the
//! component import about 15 WASI interfaces (stdio, environment, exit,
//! clocks) that it never calls, and every platform would have to provide
//! them. Without std it imports the `store` interface and nothing else.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

/// What std's prelude would give every module.
pub(crate) mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::format;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

pub mod chain;
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

// Without std, nothing links the memory routines the compiler calls
// (`memcpy`, `memcmp`, `memset`, `memmove`): on `wasm32-wasip2` they come
// from wasi-libc, which the Rust target ships (`self-contained/libc.a`).
// Only those objects are linked; none of them imports anything.
#[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
#[link(name = "c")]
unsafe extern "C" {}

/// A panic is a bug: it traps the call, and the host rolls back everything
/// the call wrote. Nothing is printed (the component has no output).
#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

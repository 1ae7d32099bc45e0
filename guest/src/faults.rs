//! Deliberate faults, compiled only with the `fault-injection` feature, for
//! the host's tests of traps, endless loops and memory blow-ups. The shipped
//! component has none of this (a test checks its bytes).

#[allow(unused_imports)]
use crate::prelude::*;

/// Fails as the order id asks: `FAULT-PANIC`, `FAULT-LOOP`, `FAULT-ALLOC`.
pub fn on_order(order_id: &str) {
    match order_id {
        "FAULT-PANIC" => panic!("fault injected: panic"),
        "FAULT-LOOP" => {
            let mut n = 0u64;
            loop {
                n = core::hint::black_box(n.wrapping_add(1));
            }
        }
        "FAULT-ALLOC" => {
            // 1 GiB, far past the host's memory limit: the allocator fails.
            let hoard: Vec<u8> = Vec::with_capacity(1 << 30);
            core::hint::black_box(hoard);
            panic!("fault injected: the allocation succeeded");
        }
        _ => {}
    }
}

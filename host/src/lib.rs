//! Embeds the credit-account WebAssembly component and keeps its data.
//!
//! The component holds the logic and no state; this crate gives it storage
//! (SQLite in a file by default, or memory), the current time, and a budget
//! per call, and turns each exported call into one atomic unit of work.
//!
//! ```no_run
//! use credit_host::{Component, Ledger, MerchantId, api};
//!
//! # fn main() -> anyhow::Result<()> {
//! let component = Component::embedded()?;            // compile once, share
//! let mut ledger = Ledger::open_sqlite(&component, "shop.sqlite")?;
//! let shop = MerchantId::new("northwind")?;
//! let ctx = api::CallContext { idempotency_key: "order-1001-auth".into(), now_ms: 1_767_600_000_000 };
//! let req = api::AuthorizeRequest {
//!     account_id: "acme-gbp".into(),
//!     order_id: "SO-1001".into(),
//!     amount: api::Money { amount: "1240.00".into(), currency: "GBP".into() },
//!     hold_ttl_s: None,
//! };
//! match ledger.authorize(&shop, &ctx, &req)? {
//!     Ok(api::Authorization::Approved(a)) => println!("hold {}", a.hold.hold_id),
//!     Ok(api::Authorization::Declined(d)) => println!("declined, short by {}", d.shortfall),
//!     Err(e) => println!("refused: {e:?}"),
//! }
//! # Ok(()) }
//! ```
//!
//! Two error channels, never mixed: the outer `anyhow::Result` is a host
//! failure or a trap (the call was rolled back); the inner
//! `Result<_, api::CreditError>` is the component's answer.
#![deny(missing_docs)]

pub mod audit;
pub mod backend;
pub mod cli;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod mail;
pub mod pool;
pub mod serve;

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use wasmtime::component::{ComponentExportIndex, ComponentNamedList, HasSelf, InstancePre, Lift, Linker, Lower, TypedFunc};
use wasmtime::{Config, Store, StoreLimits, StoreLimitsBuilder};

use backend::{Backend, MemoryBackend, SqliteBackend};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "credit-account",
        imports: { default: trappable },
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq, Eq],
    });
}

/// The contract's types, as generated from `wit/` (see the WIT docs there).
pub mod api {
    pub use crate::bindings::exports::storefront::credit::accounts::{
        ChangeCreditLimitRequest, OpenAccountRequest, SetBillingPolicyRequest, SetStatusRequest,
    };
    pub use crate::bindings::exports::storefront::credit::billing::{
        AllocateBalanceRequest, AllocationRequest, BalanceAllocation, Charge, DayCloseReport, PaymentReceipt,
        RecordPaymentRequest, ReversalReceipt,
    };
    pub use crate::bindings::exports::storefront::credit::queries::CreditLimitSuggestion;
    pub use crate::bindings::exports::storefront::credit::checkout::{
        ApplyBalanceRequest, Approval, AuthorizeRequest, Authorization, BalanceApplication, CaptureReceipt,
        CaptureRequest, CreditNote, CreditTarget, Decline, DeclineReason, RecordReturnRequest, VoidReceipt,
    };
    pub use crate::bindings::storefront::credit::types::{
        AccountStatus, AccountSummary, Allocation, AllocationPage, AllocationSource, AppliedAllocation, BillingPolicy, Book,
        CallContext, CreditFigures, CreditLimitChange, CreditLimitPage, CurrencyMismatch, DayCount,
        EarlyPaymentDiscount, EntryKind, Error as CreditError, Hold, HoldState, Instalment, InterestRule, Invoice,
        InvoiceLine, InvoicePage, InvoicedLine, ItemKind, LedgerEntry, LedgerPage, Money, Payment, PaymentTerms, Portion, Posting,
        Reminder, ReminderStep, SmallDifferenceTreatment, TermBasis, Tolerance,
    };
}

use api::*;
use bindings::CreditAccount;

/// The version of the `storefront:credit` WIT package (`wit/world.wit`).
macro_rules! wit_version {
    () => {
        "0.2.0"
    };
}

/// The version of the WIT package this host embeds and calls.
pub const WIT_VERSION: &str = wit_version!();

/// The component's exports the host calls: interface and function name.
/// Each is called from exactly one `Ledger` method, always with the same
/// parameter and result types (see `typed_func`).
#[derive(Clone, Copy, Debug)]
enum Export {
    OpenAccount,
    ChangeCreditLimit,
    SetStatus,
    SetBillingPolicy,
    RecordPayment,
    ReversePayment,
    AllocateBalance,
    DayClose,
    Authorize,
    Capture,
    VoidHold,
    ApplyBalance,
    RecordReturn,
    GetAccount,
    ListAccounts,
    Ledger,
    OpenHolds,
    GetHold,
    CreditLimitHistory,
    OpenInvoices,
    GetInvoice,
    InvoiceAllocations,
    Payments,
    Reminders,
    SuggestCreditLimit,
}

impl Export {
    const ALL: [Export; 25] = [
        Export::OpenAccount,
        Export::ChangeCreditLimit,
        Export::SetStatus,
        Export::SetBillingPolicy,
        Export::RecordPayment,
        Export::ReversePayment,
        Export::AllocateBalance,
        Export::DayClose,
        Export::Authorize,
        Export::Capture,
        Export::VoidHold,
        Export::ApplyBalance,
        Export::RecordReturn,
        Export::GetAccount,
        Export::ListAccounts,
        Export::Ledger,
        Export::OpenHolds,
        Export::GetHold,
        Export::CreditLimitHistory,
        Export::OpenInvoices,
        Export::GetInvoice,
        Export::InvoiceAllocations,
        Export::Payments,
        Export::Reminders,
        Export::SuggestCreditLimit,
    ];

    /// (interface, function) as the WIT names them.
    fn name(self) -> (&'static str, &'static str) {
        const ACCOUNTS: &str = concat!("storefront:credit/accounts@", wit_version!());
        const BILLING: &str = concat!("storefront:credit/billing@", wit_version!());
        const CHECKOUT: &str = concat!("storefront:credit/checkout@", wit_version!());
        const QUERIES: &str = concat!("storefront:credit/queries@", wit_version!());
        match self {
            Export::OpenAccount => (ACCOUNTS, "open-account"),
            Export::ChangeCreditLimit => (ACCOUNTS, "change-credit-limit"),
            Export::SetStatus => (ACCOUNTS, "set-status"),
            Export::SetBillingPolicy => (ACCOUNTS, "set-billing-policy"),
            Export::RecordPayment => (BILLING, "record-payment"),
            Export::ReversePayment => (BILLING, "reverse-payment"),
            Export::AllocateBalance => (BILLING, "allocate-balance"),
            Export::DayClose => (BILLING, "day-close"),
            Export::Authorize => (CHECKOUT, "authorize"),
            Export::Capture => (CHECKOUT, "capture"),
            Export::VoidHold => (CHECKOUT, "void-hold"),
            Export::ApplyBalance => (CHECKOUT, "apply-balance"),
            Export::RecordReturn => (CHECKOUT, "record-return"),
            Export::GetAccount => (QUERIES, "get-account"),
            Export::ListAccounts => (QUERIES, "list-accounts"),
            Export::Ledger => (QUERIES, "ledger"),
            Export::OpenHolds => (QUERIES, "open-holds"),
            Export::GetHold => (QUERIES, "get-hold"),
            Export::CreditLimitHistory => (QUERIES, "credit-limit-history"),
            Export::OpenInvoices => (QUERIES, "open-invoices"),
            Export::GetInvoice => (QUERIES, "get-invoice"),
            Export::InvoiceAllocations => (QUERIES, "invoice-allocations"),
            Export::Payments => (QUERIES, "payments"),
            Export::Reminders => (QUERIES, "reminders"),
            Export::SuggestCreditLimit => (QUERIES, "suggest-credit-limit"),
        }
    }
}

/// The component built from `guest/` by `build.rs`, embedded in this crate.
pub const COMPONENT_WASM: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/credit_guest.wasm"));

include!(concat!(env!("OUT_DIR"), "/faulty_component.rs"));

/// Fuel one call may burn before it is stopped (about one wasm instruction
/// each). A normal call uses well under 1% of it.
pub const FUEL_PER_CALL_DEFAULT: u64 = 200_000_000;
/// Linear memory one instance may grow to.
pub const MEMORY_BYTES_MAX: usize = 64 << 20;
/// Instances alive at once per `Component` (the pooling allocator's slots).
pub const INSTANCES_MAX: u32 = 256;
/// Linear memory a finished instance keeps mapped for the next one.
pub const KEEP_RESIDENT_BYTES: usize = 1 << 20;
/// Keys the component may write: printable ASCII up to this length.
pub const KEY_LEN_MAX: usize = 256;
/// Values the component may write, in bytes.
pub const VALUE_LEN_MAX: usize = 1 << 20;

/// The compiled component: compile once, then open any number of ledgers.
/// Cloning is cheap.
#[derive(Clone)]
pub struct Component {
    inner: Arc<Compiled>,
}

struct Compiled {
    engine: wasmtime::Engine,
    pre: InstancePre<HostState>,
    /// Where each `Export` is, by `Export as usize`.
    exports: Vec<ComponentExportIndex>,
    /// The Rust signature each export was type-checked against, once per
    /// compiled component: the check depends on the component's types, not
    /// on the instance, so later instances skip it (it was most of the cost
    /// of a fresh instance).
    checked: Vec<std::sync::OnceLock<&'static str>>,
}

impl Component {
    /// Compiles the embedded component.
    pub fn embedded() -> Result<Component> {
        Self::from_bytes(COMPONENT_WASM)
    }

    /// Compiles a component from its bytes (the `.wasm` of another build).
    pub fn from_bytes(wasm: &[u8]) -> Result<Component> {
        let engine = Self::engine()?;
        let component = wasmtime::component::Component::new(&engine, wasm)
            .map_err(anyhow::Error::from)
            .context("compiling the credit component")?;
        Self::link(engine, component)
    }

    /// The embedded component, compiled once into `dir` and loaded from
    /// there afterwards (milliseconds instead of seconds). The file name
    /// carries a hash of the component and of the compiler settings, so a
    /// stale file is never used; a file that fails to load is recompiled.
    pub fn embedded_cached(dir: &Path) -> Result<Component> {
        use std::hash::{Hash, Hasher};
        let engine = Self::engine()?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        COMPONENT_WASM.hash(&mut hasher);
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let path = dir.join(format!("credit-{:016x}.cwasm", hasher.finish()));
        if path.exists() {
            // SAFETY: the file was written by `serialize` below, by this
            // build (its name carries the hash of the component and of the
            // engine's settings), into a folder the caller controls.
            if let Ok(component) = unsafe { wasmtime::component::Component::deserialize_file(&engine, &path) } {
                return Self::link(engine, component);
            }
        }
        let component = wasmtime::component::Component::new(&engine, COMPONENT_WASM)
            .map_err(anyhow::Error::from)
            .context("compiling the credit component")?;
        std::fs::create_dir_all(dir)?;
        let bytes = component.serialize().map_err(anyhow::Error::from)?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &path)?;
        Self::link(engine, component)
    }

    /// The names of everything the component imports: with this build,
    /// only the `store` interface (and the `types` it uses).
    pub fn imports(&self) -> Vec<String> {
        let c = &self.inner;
        c.pre.component().component_type().imports(&c.engine).map(|(name, _)| name.to_owned()).collect()
    }

    fn engine() -> Result<wasmtime::Engine> {
        let mut config = Config::new();
        config.consume_fuel(true);
        // Profilers such as valgrind cannot reserve the pool's address
        // space (about 1 TiB): `CREDIT_HOST_NO_POOLING=1` turns it off.
        if std::env::var_os("CREDIT_HOST_NO_POOLING").is_some() {
            return wasmtime::Engine::new(&config).map_err(anyhow::Error::from);
        }
        // Instances come from a pool of pre-reserved slots, so a fresh
        // instance per call costs microseconds, not a memory mapping.
        let mut pool = wasmtime::PoolingAllocationConfig::new();
        pool.total_component_instances(INSTANCES_MAX)
            .total_core_instances(INSTANCES_MAX)
            .total_memories(INSTANCES_MAX)
            .total_tables(INSTANCES_MAX)
            .max_memory_size(MEMORY_BYTES_MAX);
        // A finished instance's memory stays mapped: only the pages it
        // dirtied (found with Linux's PAGEMAP_SCAN where the kernel has it,
        // 6.7+) are reset from the image, instead of unmapping it all and
        // faulting it back in on the next instance. Halved the cost of a
        // fresh instance per call (BENCHMARKS.md).
        pool.linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(KEEP_RESIDENT_BYTES / 16)
            .pagemap_scan(wasmtime::Enabled::Auto);
        config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
        wasmtime::Engine::new(&config).map_err(anyhow::Error::from)
    }

    fn link(engine: wasmtime::Engine, component: wasmtime::component::Component) -> Result<Component> {
        let mut linker = Linker::<HostState>::new(&engine);
        CreditAccount::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s).map_err(anyhow::Error::from)?;
        let pre = linker.instantiate_pre(&component).map_err(anyhow::Error::from)?;
        // The generated bindings check that the component exports the world
        // the host was built for.
        bindings::CreditAccountPre::new(pre.clone()).map_err(anyhow::Error::from)?;
        let mut exports = Vec::with_capacity(Export::ALL.len());
        for e in Export::ALL {
            let (iface, func) = e.name();
            let index = component
                .get_export_index(None, iface)
                .and_then(|i| component.get_export_index(Some(&i), func))
                .with_context(|| format!("the component does not export {iface}#{func}"))?;
            exports.push(index);
        }
        let checked = Export::ALL.iter().map(|_| std::sync::OnceLock::new()).collect();
        Ok(Component { inner: Arc::new(Compiled { engine, pre, exports, checked }) })
    }
}

/// A merchant (tenant): every account belongs to exactly one, and a call
/// made for one merchant can neither read nor change another's data.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MerchantId(String);

impl MerchantId {
    /// 1 ..= 64 bytes of `A-Z a-z 0-9 . _ : @ -`.
    pub fn new(id: impl Into<String>) -> Result<MerchantId> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'@' | b'-'));
        if !ok {
            bail!("merchant id {id:?} must be 1 to 64 characters of A-Z a-z 0-9 . _ : @ -");
        }
        Ok(MerchantId(id))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A fault to inject into the next call, for tests of rollback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The store import fails (and so the call traps) on the write after
    /// this many successful ones.
    StoreFailsAfterWrites(u32),
    /// The next read returns a value of this many bytes, more than the
    /// component may hold in memory: its allocation fails inside the guest.
    OversizedRead(usize),
}

struct HostState {
    limits: StoreLimits,
    backend: Box<dyn Backend>,
    merchant: String,
    fault: Option<Fault>,
    writes: u32,
}

fn trap(e: anyhow::Error) -> wasmtime::Error {
    wasmtime::Error::from_anyhow(e)
}

impl HostState {
    fn new(backend: Box<dyn Backend>) -> HostState {
        // The component imports nothing but `store`: no clock, no
        // randomness, no files, no environment (see build.rs).
        HostState {
            limits: StoreLimitsBuilder::new().memory_size(MEMORY_BYTES_MAX).instances(4).build(),
            backend,
            merchant: String::new(),
            fault: None,
            writes: 0,
        }
    }

    fn check_key(key: &str) -> wasmtime::Result<()> {
        if key.is_empty() || key.len() > KEY_LEN_MAX || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(trap(anyhow::anyhow!("component used an invalid store key {key:?}")));
        }
        Ok(())
    }

    fn count_write(&mut self) -> wasmtime::Result<()> {
        if let Some(Fault::StoreFailsAfterWrites(n)) = self.fault
            && self.writes >= n {
                return Err(trap(anyhow::anyhow!("injected store failure after {n} writes")));
            }
        self.writes += 1;
        Ok(())
    }
}

impl bindings::storefront::credit::types::Host for HostState {}

impl bindings::storefront::credit::store::Host for HostState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
        Self::check_key(&key)?;
        if let Some(Fault::OversizedRead(bytes)) = self.fault {
            self.fault = None;
            return Ok(Some(vec![b' '; bytes]));
        }
        self.backend.get(&self.merchant, &key).map_err(trap)
    }

    fn put(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<()> {
        Self::check_key(&key)?;
        if value.len() > VALUE_LEN_MAX {
            return Err(trap(anyhow::anyhow!("component wrote {} bytes under {key:?}", value.len())));
        }
        self.count_write()?;
        self.backend.put(&self.merchant, &key, &value).map_err(trap)
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        Self::check_key(&key)?;
        self.count_write()?;
        self.backend.delete(&self.merchant, &key).map_err(trap)
    }

    fn scan(&mut self, prefix: String, start_after: Option<String>, limit: u32) -> wasmtime::Result<Vec<(String, Vec<u8>)>> {
        if prefix.len() > KEY_LEN_MAX || start_after.as_ref().is_some_and(|s| s.len() > KEY_LEN_MAX) || limit > 1000 {
            return Err(trap(anyhow::anyhow!("component asked for an oversized scan")));
        }
        self.backend.scan(&self.merchant, &prefix, start_after.as_deref(), limit).map_err(trap)
    }
}

fn new_store(component: &Component, backend: Box<dyn Backend>) -> Store<HostState> {
    let mut store = Store::new(&component.inner.engine, HostState::new(backend));
    store.limiter(|s| &mut s.limits);
    store
}

/// The export as a typed function of `instance`. The first time an export
/// is used with a compiled component its type is checked against `P` and
/// `R`; after that the same signature skips the check (the types belong to
/// the component, not to the instance).
fn typed_func<P, R>(
    compiled: &Compiled,
    instance: &wasmtime::component::Instance,
    store: &mut Store<HostState>,
    export: Export,
) -> Result<TypedFunc<P, R>>
where
    P: ComponentNamedList + Lower + Send + Sync,
    R: ComponentNamedList + Lift + Send + Sync,
{
    let index = &compiled.exports[export as usize];
    let signature = std::any::type_name::<(P, R)>();
    let checked = &compiled.checked[export as usize];
    if checked.get() == Some(&signature) {
        let func = instance.get_func(&mut *store, index).with_context(|| format!("{export:?} is not exported"))?;
        // SAFETY: this export's type was checked against exactly these
        // parameter and result types (the same signature) on an instance of
        // the same compiled component.
        return Ok(unsafe { TypedFunc::new_unchecked(func) });
    }
    let func = instance.get_typed_func::<P, R>(&mut *store, index).map_err(anyhow::Error::from)?;
    let _ = checked.set(signature);
    Ok(func)
}

/// One store of accounts with the component that serves it. Each call runs
/// in its own transaction: committed when the component answers `Ok`,
/// rolled back when it answers `Err` or traps. After a trap the instance is
/// thrown away and the next call gets a fresh one.
pub struct Ledger {
    component: Component,
    store: Option<Store<HostState>>,
    instance: Option<wasmtime::component::Instance>,
    fuel_per_call: u64,
    fresh_instance_per_call: bool,
}

impl Ledger {
    /// A ledger on the SQLite database at `path` (created if missing).
    pub fn open_sqlite(component: &Component, path: impl AsRef<Path>) -> Result<Ledger> {
        Ok(Self::with_backend(component, Box::new(SqliteBackend::open(path)?)))
    }

    /// A ledger kept in memory, gone when dropped.
    pub fn open_in_memory(component: &Component) -> Ledger {
        Self::with_backend(component, Box::new(MemoryBackend::new()))
    }

    /// A ledger on any `Backend`.
    pub fn with_backend(component: &Component, backend: Box<dyn Backend>) -> Ledger {
        let store = new_store(component, backend);
        Ledger {
            component: component.clone(),
            store: Some(store),
            instance: None,
            fuel_per_call: FUEL_PER_CALL_DEFAULT,
            fresh_instance_per_call: false,
        }
    }

    /// Sets the fuel budget of each call (see `FUEL_PER_CALL_DEFAULT`).
    pub fn set_fuel_per_call(&mut self, fuel: u64) {
        self.fuel_per_call = fuel;
    }

    /// Gives every call a fresh instance (and store), so no call can see
    /// anything a previous one left in memory; slower than reusing one.
    pub fn set_fresh_instance_per_call(&mut self, on: bool) {
        self.fresh_instance_per_call = on;
    }

    /// Makes the next call fail as `fault` says (a test hook for rollback).
    pub fn inject_fault(&mut self, fault: Fault) {
        if let Some(store) = &mut self.store {
            store.data_mut().fault = Some(fault);
        }
    }

    /// The fuel the last call used.
    pub fn last_call_fuel(&self) -> u64 {
        let left = self.store.as_ref().and_then(|s| s.get_fuel().ok()).unwrap_or(0);
        self.fuel_per_call.saturating_sub(left)
    }

    /// Direct access to the storage, for audits and tools. Not for changing
    /// data behind the component's back.
    pub fn backend(&mut self) -> &mut dyn Backend {
        self.store.as_mut().expect("store present between calls").data_mut().backend.as_mut()
    }

    /// Runs one exported function as one unit of work.
    fn call<P, R>(&mut self, merchant: &MerchantId, export: Export, params: P) -> Result<std::result::Result<R, CreditError>>
    where
        P: ComponentNamedList + Lower + Send + Sync,
        (std::result::Result<R, CreditError>,): ComponentNamedList + Lift + Send + Sync,
    {
        if self.fresh_instance_per_call && self.instance.is_some() {
            self.reset();
        }
        let store = self.store.as_mut().expect("store present between calls");
        store.set_fuel(self.fuel_per_call).map_err(anyhow::Error::from)?;
        if self.instance.is_none() {
            self.instance = Some(self.component.inner.pre.instantiate(&mut *store).map_err(anyhow::Error::from)?);
            // Instantiation burns fuel too; each call starts with a full budget.
            store.set_fuel(self.fuel_per_call).map_err(anyhow::Error::from)?;
        }
        let instance = self.instance.expect("instantiated above");
        let func = typed_func::<P, (std::result::Result<R, CreditError>,)>(&self.component.inner, &instance, store, export)?;
        {
            let state = store.data_mut();
            state.merchant.clear();
            state.merchant.push_str(merchant.as_str());
            state.writes = 0;
            state.backend.begin()?;
        }
        let outcome = func.call(&mut *store, params).map(|(r,)| r);
        let state = store.data_mut();
        state.fault = None;
        match outcome {
            Ok(Ok(answer)) => {
                state.backend.commit()?;
                Ok(Ok(answer))
            }
            Ok(Err(refused)) => {
                state.backend.rollback()?;
                Ok(Err(refused))
            }
            Err(trapped) => {
                state.backend.rollback()?;
                self.reset();
                Err(anyhow::Error::from(trapped).context("the credit component trapped; the call was rolled back"))
            }
        }
    }

    /// Throws away the instance and its memory, keeping the storage.
    fn reset(&mut self) {
        let old = self.store.take().expect("store present between calls");
        let backend = old.into_data().backend;
        self.store = Some(new_store(&self.component, backend));
        self.instance = None;
    }

    // ------------------------------------------------------------ accounts

    /// `accounts.open-account`.
    pub fn open_account(&mut self, m: &MerchantId, ctx: &CallContext, req: &OpenAccountRequest) -> Result<std::result::Result<AccountSummary, CreditError>> {
        self.call(m, Export::OpenAccount, (ctx, req,))
    }

    /// `accounts.change-credit-limit`.
    pub fn change_credit_limit(&mut self, m: &MerchantId, ctx: &CallContext, req: &ChangeCreditLimitRequest) -> Result<std::result::Result<AccountSummary, CreditError>> {
        self.call(m, Export::ChangeCreditLimit, (ctx, req,))
    }

    /// `accounts.set-status`.
    pub fn set_status(&mut self, m: &MerchantId, ctx: &CallContext, req: &SetStatusRequest) -> Result<std::result::Result<AccountSummary, CreditError>> {
        self.call(m, Export::SetStatus, (ctx, req,))
    }

    /// `accounts.set-billing-policy`.
    pub fn set_billing_policy(&mut self, m: &MerchantId, ctx: &CallContext, req: &SetBillingPolicyRequest) -> Result<std::result::Result<AccountSummary, CreditError>> {
        self.call(m, Export::SetBillingPolicy, (ctx, req,))
    }

    // ------------------------------------------------------------- billing

    /// `billing.record-payment`.
    pub fn record_payment(&mut self, m: &MerchantId, ctx: &CallContext, req: &RecordPaymentRequest) -> Result<std::result::Result<PaymentReceipt, CreditError>> {
        self.call(m, Export::RecordPayment, (ctx, req,))
    }

    /// `billing.reverse-payment`.
    pub fn reverse_payment(&mut self, m: &MerchantId, ctx: &CallContext, payment_id: &str, reason: &str) -> Result<std::result::Result<ReversalReceipt, CreditError>> {
        self.call(m, Export::ReversePayment, (ctx, payment_id, reason,))
    }

    /// `billing.allocate-balance`.
    pub fn allocate_balance(&mut self, m: &MerchantId, ctx: &CallContext, req: &AllocateBalanceRequest) -> Result<std::result::Result<BalanceAllocation, CreditError>> {
        self.call(m, Export::AllocateBalance, (ctx, req,))
    }

    /// `billing.day-close`.
    pub fn day_close(&mut self, m: &MerchantId, ctx: &CallContext, account_id: &str, date: &str) -> Result<std::result::Result<DayCloseReport, CreditError>> {
        self.call(m, Export::DayClose, (ctx, &account_id.to_owned(), &date.to_owned(),))
    }

    // ------------------------------------------------------------ checkout

    /// `checkout.authorize`.
    pub fn authorize(&mut self, m: &MerchantId, ctx: &CallContext, req: &AuthorizeRequest) -> Result<std::result::Result<Authorization, CreditError>> {
        self.call(m, Export::Authorize, (ctx, req,))
    }

    /// `checkout.capture`.
    pub fn capture(&mut self, m: &MerchantId, ctx: &CallContext, req: &CaptureRequest) -> Result<std::result::Result<CaptureReceipt, CreditError>> {
        self.call(m, Export::Capture, (ctx, req,))
    }

    /// `checkout.void-hold`.
    pub fn void_hold(&mut self, m: &MerchantId, ctx: &CallContext, hold_id: &str) -> Result<std::result::Result<VoidReceipt, CreditError>> {
        self.call(m, Export::VoidHold, (ctx, hold_id,))
    }

    /// `checkout.apply-balance`.
    pub fn apply_balance(&mut self, m: &MerchantId, ctx: &CallContext, req: &ApplyBalanceRequest) -> Result<std::result::Result<BalanceApplication, CreditError>> {
        self.call(m, Export::ApplyBalance, (ctx, req,))
    }

    /// `checkout.record-return`.
    pub fn record_return(&mut self, m: &MerchantId, ctx: &CallContext, req: &RecordReturnRequest) -> Result<std::result::Result<CreditNote, CreditError>> {
        self.call(m, Export::RecordReturn, (ctx, req,))
    }

    // ------------------------------------------------------------- queries

    /// `queries.get-account`.
    pub fn get_account(&mut self, m: &MerchantId, account_id: &str, now_ms: i64) -> Result<std::result::Result<AccountSummary, CreditError>> {
        self.call(m, Export::GetAccount, (&account_id.to_owned(), now_ms,))
    }

    /// `queries.list-accounts`.
    pub fn list_accounts(&mut self, m: &MerchantId, after: Option<&str>, limit: u32) -> Result<std::result::Result<Vec<String>, CreditError>> {
        self.call(m, Export::ListAccounts, (after.map(str::to_owned).as_ref(), limit,))
    }

    /// `queries.ledger`.
    pub fn ledger(&mut self, m: &MerchantId, account_id: &str, after_seq: Option<u64>, limit: u32) -> Result<std::result::Result<LedgerPage, CreditError>> {
        self.call(m, Export::Ledger, (&account_id.to_owned(), after_seq, limit,))
    }

    /// Every entry of the account's ledger, fetched page by page.
    pub fn ledger_all(&mut self, m: &MerchantId, account_id: &str) -> Result<std::result::Result<Vec<LedgerEntry>, CreditError>> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = match self.ledger(m, account_id, after, 100)? {
                Ok(p) => p,
                Err(e) => return Ok(Err(e)),
            };
            all.extend(page.entries);
            match page.next_after_seq {
                Some(s) => after = Some(s),
                None => return Ok(Ok(all)),
            }
        }
    }

    /// `queries.open-holds`.
    pub fn open_holds(&mut self, m: &MerchantId, account_id: &str, now_ms: i64) -> Result<std::result::Result<Vec<Hold>, CreditError>> {
        self.call(m, Export::OpenHolds, (&account_id.to_owned(), now_ms,))
    }

    /// `queries.get-hold`.
    pub fn get_hold(&mut self, m: &MerchantId, hold_id: &str, now_ms: i64) -> Result<std::result::Result<Hold, CreditError>> {
        self.call(m, Export::GetHold, (hold_id, now_ms,))
    }

    /// `queries.credit-limit-history`.
    pub fn credit_limit_history(&mut self, m: &MerchantId, account_id: &str, after_seq: Option<u64>, limit: u32) -> Result<std::result::Result<CreditLimitPage, CreditError>> {
        self.call(m, Export::CreditLimitHistory, (&account_id.to_owned(), after_seq, limit,))
    }

    /// `queries.open-invoices`: one page.
    pub fn open_invoices(&mut self, m: &MerchantId, account_id: &str, today: &str, after: Option<&str>, limit: u32) -> Result<std::result::Result<InvoicePage, CreditError>> {
        self.call(m, Export::OpenInvoices, (&account_id.to_owned(), &today.to_owned(), after.map(str::to_owned).as_ref(), limit,))
    }

    /// Every open item of the account, fetched page by page.
    pub fn open_invoices_all(&mut self, m: &MerchantId, account_id: &str, today: &str) -> Result<std::result::Result<Vec<Invoice>, CreditError>> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = match self.open_invoices(m, account_id, today, after.as_deref(), 100)? {
                Ok(p) => p,
                Err(e) => return Ok(Err(e)),
            };
            all.extend(page.invoices);
            match page.next_after {
                Some(a) => after = Some(a),
                None => return Ok(Ok(all)),
            }
        }
    }

    /// `queries.invoice-allocations`.
    pub fn invoice_allocations(&mut self, m: &MerchantId, invoice_id: &str, after_seq: Option<u64>, limit: u32) -> Result<std::result::Result<AllocationPage, CreditError>> {
        self.call(m, Export::InvoiceAllocations, (invoice_id, after_seq, limit,))
    }

    /// `queries.get-invoice`.
    pub fn get_invoice(&mut self, m: &MerchantId, invoice_id: &str, today: &str) -> Result<std::result::Result<Invoice, CreditError>> {
        self.call(m, Export::GetInvoice, (invoice_id, &today.to_owned(),))
    }

    /// `queries.payments`.
    pub fn payments(&mut self, m: &MerchantId, account_id: &str, after: Option<u64>, limit: u32) -> Result<std::result::Result<Vec<Payment>, CreditError>> {
        self.call(m, Export::Payments, (&account_id.to_owned(), after, limit,))
    }

    /// `queries.reminders`.
    pub fn reminders(&mut self, m: &MerchantId, account_id: &str, after_seq: Option<u64>, limit: u32) -> Result<std::result::Result<Vec<Reminder>, CreditError>> {
        self.call(m, Export::Reminders, (&account_id.to_owned(), after_seq, limit,))
    }

    /// `queries.suggest-credit-limit`.
    pub fn suggest_credit_limit(&mut self, m: &MerchantId, account_id: &str, as_of: &str) -> Result<std::result::Result<CreditLimitSuggestion, CreditError>> {
        self.call(m, Export::SuggestCreditLimit, (&account_id.to_owned(), &as_of.to_owned(),))
    }
}

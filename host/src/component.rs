//! The compiled component and what every instance of it is linked to: the
//! `store` import over a `Backend`, fuel and memory limits, and the
//! exports the host calls, type-checked once per compiled component.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use wasmtime::component::{ComponentExportIndex, ComponentNamedList, HasSelf, InstancePre, Lift, Linker, Lower, TypedFunc};
use wasmtime::{Config, Store, StoreLimits, StoreLimitsBuilder};

use crate::bindings::{self, CreditAccount};
use crate::store::Backend;

/// The component's exports the host calls: interface and function name.
/// Each is called from exactly one `Ledger` method, always with the same
/// parameter and result types (see `typed_func`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Export {
    OpenAccount,
    OpenCompany,
    ChangeCreditLimit,
    SetStatus,
    SetBillingPolicy,
    SetDynamicDiscount,
    AddNote,
    RecordPayment,
    ReversePayment,
    AllocateBalance,
    RefundBalance,
    WriteOff,
    CancelCreditNote,
    DayClose,
    MatchBankLine,
    ImportInvoice,
    ImportStoredBalance,
    Authorize,
    Capture,
    VoidHold,
    AmendHold,
    ApplyBalance,
    RecordReturn,
    GetAccount,
    GetCompany,
    ListAccounts,
    Ledger,
    OpenHolds,
    GetHold,
    CreditLimitHistory,
    OpenInvoices,
    GetInvoice,
    DynamicDiscount,
    InvoiceAllocations,
    Payments,
    Reminders,
    SuggestCreditLimit,
    Notes,
    Deliveries,
    Statement,
    CompanyStatement,
    Statements,
    GetStatement,
    Aging,
    AccountAging,
    Debtors,
    AccountWarnings,
    Warnings,
    BankReview,
}

impl Export {
    const ALL: [Export; 49] = [
        Export::OpenAccount,
        Export::OpenCompany,
        Export::ChangeCreditLimit,
        Export::SetStatus,
        Export::SetBillingPolicy,
        Export::SetDynamicDiscount,
        Export::AddNote,
        Export::RecordPayment,
        Export::ReversePayment,
        Export::AllocateBalance,
        Export::RefundBalance,
        Export::WriteOff,
        Export::CancelCreditNote,
        Export::DayClose,
        Export::MatchBankLine,
        Export::ImportInvoice,
        Export::ImportStoredBalance,
        Export::Authorize,
        Export::Capture,
        Export::VoidHold,
        Export::AmendHold,
        Export::ApplyBalance,
        Export::RecordReturn,
        Export::GetAccount,
        Export::GetCompany,
        Export::ListAccounts,
        Export::Ledger,
        Export::OpenHolds,
        Export::GetHold,
        Export::CreditLimitHistory,
        Export::OpenInvoices,
        Export::GetInvoice,
        Export::DynamicDiscount,
        Export::InvoiceAllocations,
        Export::Payments,
        Export::Reminders,
        Export::SuggestCreditLimit,
        Export::Notes,
        Export::Deliveries,
        Export::Statement,
        Export::CompanyStatement,
        Export::Statements,
        Export::GetStatement,
        Export::Aging,
        Export::AccountAging,
        Export::Debtors,
        Export::AccountWarnings,
        Export::Warnings,
        Export::BankReview,
    ];

    /// Whether the export may change data: every function of `accounts`,
    /// `billing` and `checkout`. `queries` and `reports` only read, and run
    /// as read-only units of work (one snapshot, no locks).
    pub(crate) fn writes(self) -> bool {
        (self as usize) <= Export::RecordReturn as usize
    }

    /// (interface, function) as the WIT names them.
    /// `interface.function`, as the journal and `call_json` name it.
    pub(crate) fn function(self) -> String {
        let (iface, func) = self.name();
        let iface = iface.trim_start_matches("storefront:credit/");
        let iface = iface.split_once('@').map_or(iface, |(i, _)| i);
        format!("{iface}.{func}")
    }

    fn name(self) -> (&'static str, &'static str) {
        const ACCOUNTS: &str = concat!("storefront:credit/accounts@", wit_version!());
        const BILLING: &str = concat!("storefront:credit/billing@", wit_version!());
        const CHECKOUT: &str = concat!("storefront:credit/checkout@", wit_version!());
        const QUERIES: &str = concat!("storefront:credit/queries@", wit_version!());
        const REPORTS: &str = concat!("storefront:credit/reports@", wit_version!());
        const BANK: &str = concat!("storefront:credit/bank@", wit_version!());
        const MIGRATION: &str = concat!("storefront:credit/migration@", wit_version!());
        match self {
            Export::OpenAccount => (ACCOUNTS, "open-account"),
            Export::OpenCompany => (ACCOUNTS, "open-company"),
            Export::ChangeCreditLimit => (ACCOUNTS, "change-credit-limit"),
            Export::SetStatus => (ACCOUNTS, "set-status"),
            Export::SetBillingPolicy => (ACCOUNTS, "set-billing-policy"),
            Export::SetDynamicDiscount => (ACCOUNTS, "set-dynamic-discount"),
            Export::AddNote => (ACCOUNTS, "add-note"),
            Export::RecordPayment => (BILLING, "record-payment"),
            Export::ReversePayment => (BILLING, "reverse-payment"),
            Export::AllocateBalance => (BILLING, "allocate-balance"),
            Export::RefundBalance => (BILLING, "refund-balance"),
            Export::WriteOff => (BILLING, "write-off"),
            Export::CancelCreditNote => (BILLING, "cancel-credit-note"),
            Export::DayClose => (BILLING, "day-close"),
            Export::Authorize => (CHECKOUT, "authorize"),
            Export::Capture => (CHECKOUT, "capture"),
            Export::VoidHold => (CHECKOUT, "void-hold"),
            Export::AmendHold => (CHECKOUT, "amend-hold"),
            Export::ApplyBalance => (CHECKOUT, "apply-balance"),
            Export::RecordReturn => (CHECKOUT, "record-return"),
            Export::GetAccount => (QUERIES, "get-account"),
            Export::GetCompany => (QUERIES, "get-company"),
            Export::ListAccounts => (QUERIES, "list-accounts"),
            Export::Ledger => (QUERIES, "ledger"),
            Export::OpenHolds => (QUERIES, "open-holds"),
            Export::GetHold => (QUERIES, "get-hold"),
            Export::CreditLimitHistory => (QUERIES, "credit-limit-history"),
            Export::OpenInvoices => (QUERIES, "open-invoices"),
            Export::GetInvoice => (QUERIES, "get-invoice"),
            Export::DynamicDiscount => (QUERIES, "dynamic-discount"),
            Export::InvoiceAllocations => (QUERIES, "invoice-allocations"),
            Export::Payments => (QUERIES, "payments"),
            Export::Reminders => (QUERIES, "reminders"),
            Export::SuggestCreditLimit => (QUERIES, "suggest-credit-limit"),
            Export::Notes => (QUERIES, "notes"),
            Export::Deliveries => (QUERIES, "deliveries"),
            Export::Statement => (REPORTS, "statement"),
            Export::CompanyStatement => (REPORTS, "company-statement"),
            Export::Statements => (REPORTS, "statements"),
            Export::GetStatement => (REPORTS, "get-statement"),
            Export::Aging => (REPORTS, "aging"),
            Export::AccountAging => (REPORTS, "account-aging"),
            Export::Debtors => (REPORTS, "debtors"),
            Export::AccountWarnings => (REPORTS, "account-warnings"),
            Export::Warnings => (REPORTS, "warnings"),
            Export::MatchBankLine => (BANK, "match-bank-line"),
            Export::ImportInvoice => (MIGRATION, "import-invoice"),
            Export::ImportStoredBalance => (MIGRATION, "import-stored-balance"),
            Export::BankReview => (BANK, "bank-review"),
        }
    }
}

/// The component built from `guest/` by `build.rs`, embedded in this crate.
pub const COMPONENT_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/credit_guest.wasm"));

/// The same component built for size (opt-level "z", `wasm-opt -Oz`), for
/// platforms that cap a plugin's size; slower per call (BENCHMARKS.md).
pub const SMALL_COMPONENT_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/credit_guest_small.wasm"));

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
    pub(crate) inner: Arc<Compiled>,
}

pub(crate) struct Compiled {
    pub(crate) engine: wasmtime::Engine,
    pub(crate) pre: InstancePre<HostState>,
    /// Where each `Export` is, by `Export as usize`.
    pub(crate) exports: Vec<ComponentExportIndex>,
    /// The Rust signature each export was type-checked against, once per
    /// compiled component: the check depends on the component's types, not
    /// on the instance, so later instances skip it (it was most of the cost
    /// of a fresh instance).
    pub(crate) checked: Vec<std::sync::OnceLock<&'static str>>,
    /// Each export's type, by `Export as usize`, read once (for the
    /// events of typed calls).
    pub(crate) types: Vec<wasmtime::component::types::ComponentFunc>,
    /// Each export's `values::FuncPlan`, made on its first use.
    pub(crate) plans: Vec<std::sync::OnceLock<crate::values::FuncPlan>>,
}

impl Component {
    /// Compiles the embedded component.
    pub fn embedded() -> Result<Component> {
        Self::from_bytes(COMPONENT_WASM)
    }

    /// Compiles a component from its bytes (the `.wasm` of another build).
    pub fn from_bytes(wasm: &[u8]) -> Result<Component> {
        let engine = Self::engine()?;
        let component = wasmtime::component::Component::new(&engine, wasm).map_err(anyhow::Error::from).context("compiling the credit component")?;
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
        let component =
            wasmtime::component::Component::new(&engine, COMPONENT_WASM).map_err(anyhow::Error::from).context("compiling the credit component")?;
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

    /// Every exported function as (interface, function, type), interfaces
    /// by their full name (`storefront:credit/checkout@...`), in the order
    /// the component lists them.
    pub fn exported_functions(&self) -> Vec<(String, String, wasmtime::component::types::ComponentFunc)> {
        use wasmtime::component::types::ComponentItem;
        let c = &self.inner;
        let mut out = Vec::new();
        for (iface, item) in c.pre.component().component_type().exports(&c.engine) {
            if let ComponentItem::ComponentInstance(instance) = item.ty {
                for (name, item) in instance.exports(&c.engine) {
                    if let ComponentItem::ComponentFunc(f) = item.ty {
                        out.push((iface.to_owned(), name.to_owned(), f));
                    }
                }
            }
        }
        out
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
        pool.linear_memory_keep_resident(KEEP_RESIDENT_BYTES).table_keep_resident(KEEP_RESIDENT_BYTES / 16).pagemap_scan(wasmtime::Enabled::Auto);
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
        let mut types = Vec::with_capacity(Export::ALL.len());
        let component_type = component.component_type();
        for e in Export::ALL {
            use wasmtime::component::types::ComponentItem;
            let (iface, func) = e.name();
            let instance = match component_type.get_export(&engine, iface).map(|x| x.ty) {
                Some(ComponentItem::ComponentInstance(i)) => i,
                _ => anyhow::bail!("the component does not export {iface}"),
            };
            match instance.get_export(&engine, func).map(|x| x.ty) {
                Some(ComponentItem::ComponentFunc(f)) => types.push(f),
                _ => anyhow::bail!("the component does not export {iface}#{func} as a function"),
            }
        }
        let plans = Export::ALL.iter().map(|_| std::sync::OnceLock::new()).collect();
        Ok(Component { inner: Arc::new(Compiled { engine, pre, exports, checked, types, plans }) })
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

pub(crate) struct HostState {
    pub(crate) limits: StoreLimits,
    pub(crate) backend: Box<dyn Backend>,
    pub(crate) merchant: String,
    pub(crate) fault: Option<Fault>,
    pub(crate) writes: u32,
    /// The store answered a `Conflict` during this call: the call is run
    /// again rather than reported as a trap.
    pub(crate) conflicted: bool,
    /// The journal record of the call running (`crate::journal`), written
    /// by the ledger with the call's writes.
    pub(crate) journal: Option<Vec<u8>>,
    /// The call's business events (`crate::events`), appended to the
    /// outbox with its journal record when it commits.
    pub(crate) events: Vec<crate::store::NewEvent>,
}

fn trap(e: anyhow::Error) -> wasmtime::Error {
    wasmtime::Error::from_anyhow(e)
}

impl HostState {
    /// A store error as a trap, remembering whether it was a `Conflict`.
    fn store_error(&mut self, e: anyhow::Error) -> wasmtime::Error {
        self.conflicted |= crate::store::is_conflict(&e);
        trap(e)
    }
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
            conflicted: false,
            journal: None,
            events: Vec::new(),
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
            && self.writes >= n
        {
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
        self.backend.get(&self.merchant, &key).map_err(|e| self.store_error(e))
    }

    fn put(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<()> {
        Self::check_key(&key)?;
        if value.len() > VALUE_LEN_MAX {
            return Err(trap(anyhow::anyhow!("component wrote {} bytes under {key:?}", value.len())));
        }
        self.count_write()?;
        self.backend.put(&self.merchant, &key, &value).map_err(|e| self.store_error(e))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        Self::check_key(&key)?;
        self.count_write()?;
        self.backend.delete(&self.merchant, &key).map_err(|e| self.store_error(e))
    }

    fn scan(&mut self, prefix: String, start_after: Option<String>, limit: u32) -> wasmtime::Result<Vec<(String, Vec<u8>)>> {
        if prefix.len() > KEY_LEN_MAX || start_after.as_ref().is_some_and(|s| s.len() > KEY_LEN_MAX) || limit > 1000 {
            return Err(trap(anyhow::anyhow!("component asked for an oversized scan")));
        }
        self.backend.scan(&self.merchant, &prefix, start_after.as_deref(), limit).map_err(|e| self.store_error(e))
    }
}

pub(crate) fn new_store(component: &Component, backend: Box<dyn Backend>) -> Store<HostState> {
    let mut store = Store::new(&component.inner.engine, HostState::new(backend));
    store.limiter(|s| &mut s.limits);
    store
}

/// The export as a typed function of `instance`. The first time an export
/// is used with a compiled component its type is checked against `P` and
/// `R`; after that the same signature skips the check (the types belong to
/// the component, not to the instance).
pub(crate) fn typed_func<P, R>(
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

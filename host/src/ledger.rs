//! A ledger: one store of accounts served by the component, one
//! transaction per exported call.

use std::path::Path;

use anyhow::{Context, Result, bail};
use wasmtime::Store;
use wasmtime::component::{ComponentNamedList, Lift, Lower};

use crate::api::*;
use crate::component::{Component, Export, FUEL_PER_CALL_DEFAULT, Fault, HostState, new_store, typed_func};
use crate::shape::{self, Oversized};
use crate::store::{Backend, MemoryBackend, PostgresBackend, SqliteBackend};

/// The interface part of `interface.function`.
fn iface_short(function: &str) -> &str {
    function.split_once('.').map_or(function, |(i, _)| i)
}

/// A merchant (tenant): every account belongs to exactly one, and a call
/// made for one merchant can neither read nor change another's data.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MerchantId(String);

impl MerchantId {
    /// 1 ..= 64 bytes of `A-Z a-z 0-9 . _ : @ -`.
    pub fn new(id: impl Into<String>) -> Result<MerchantId> {
        let id = id.into();
        let ok = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'@' | b'-'));
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

/// Times a call is run again after a `store::Conflict` before the error
/// is given to the caller.
pub const CONFLICT_RETRIES_MAX: u32 = 10;

/// How a ledger's calls met other processes' calls (`Ledger::contention`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Contention {
    /// Reads that waited for a row another unit of work held.
    pub lock_waits: u64,
    /// Calls run again after a conflict (the callers never saw them).
    pub retries: u64,
}

/// A try that failed, and whether trying again may succeed.
struct Failed {
    error: anyhow::Error,
    conflicted: bool,
}

impl Failed {
    fn plain(error: anyhow::Error) -> Failed {
        Failed { error, conflicted: false }
    }

    fn from_store(error: anyhow::Error) -> Failed {
        let conflicted = crate::store::is_conflict(&error);
        Failed { error, conflicted }
    }
}

/// The pause before retry `attempt` (1, 2, ...): random within a window
/// that doubles from 1 ms to 64 ms, so calls that collided do not collide
/// again in step.
fn backoff(attempt: u32) -> std::time::Duration {
    use std::hash::{BuildHasher, RandomState};
    let window_us = 1000u64 << attempt.min(6);
    let random = RandomState::new().hash_one((attempt, std::thread::current().id()));
    std::time::Duration::from_micros(window_us / 2 + random % (window_us / 2))
}

/// `call_json` refused a call before making it: nothing was read or
/// changed. The caller's mistake (an HTTP 404 or 400), told apart from
/// a host failure by downcasting the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallRefused {
    /// No exported function has this `interface.function` name.
    NoSuchFunction(String),
    /// The arguments do not fit the function's parameters: why, with the
    /// path to the wrong value.
    BadArguments(String),
}

impl std::fmt::Display for CallRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallRefused::NoSuchFunction(name) => write!(f, "the component exports no function {name:?}"),
            CallRefused::BadArguments(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for CallRefused {}

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
    retries: u64,
    journal: bool,
    events: bool,
}

impl Ledger {
    /// A ledger on the SQLite database at `path` (created if missing).
    pub fn open_sqlite(component: &Component, path: impl AsRef<Path>) -> Result<Ledger> {
        Ok(Self::with_backend(component, Box::new(SqliteBackend::open(path)?)))
    }

    /// A ledger on PostgreSQL at `url` (see `store::PostgresBackend`),
    /// creating or migrating the schema.
    pub fn open_postgres(component: &Component, url: &str) -> Result<Ledger> {
        Ok(Self::with_backend(component, Box::new(PostgresBackend::connect(url)?)))
    }

    /// A ledger on the database `db` names: a `postgres://` or
    /// `postgresql://` URL, or else a SQLite file's path.
    pub fn open(component: &Component, db: &crate::Database) -> Result<Ledger> {
        match db {
            crate::Database::Sqlite(path) => Self::open_sqlite(component, path),
            crate::Database::Postgres(url) => Self::open_postgres(component, url),
        }
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
            retries: 0,
            journal: true,
            events: true,
        }
    }

    /// Starts the component again on the same storage, as a host process
    /// that stops and starts would: the instance, its memory and the
    /// wasmtime store are dropped and made anew; the data is the storage's.
    pub fn restart(&mut self) {
        let backend = self.store.take().expect("store present between calls").into_data().backend;
        self.store = Some(new_store(&self.component, backend));
        self.instance = None;
    }

    /// The storage, with the component dropped.
    pub fn into_backend(mut self) -> Box<dyn Backend> {
        self.store.take().expect("store present between calls").into_data().backend
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

    /// Whether mutating calls are written to the journal (`crate::journal`;
    /// on unless turned off, e.g. for the ledger a replay runs on).
    pub fn set_journal(&mut self, on: bool) {
        self.journal = on;
    }

    /// Whether committed calls write their business events to the outbox
    /// (`crate::events`; on unless turned off, and only while the journal
    /// is on). Off only to measure what they cost.
    pub fn set_events(&mut self, on: bool) {
        self.events = on;
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
        P: ComponentNamedList + Lower + Send + Sync + Copy + serde::Serialize,
        R: serde::Serialize,
        (std::result::Result<R, CreditError>,): ComponentNamedList + Lift + Send + Sync,
    {
        let compiled = self.component.inner.clone();
        let journal = self.journal && export.writes();
        let events = journal && self.events;
        self.transact(merchant, export.writes(), |store, instance| {
            let func = typed_func::<P, (std::result::Result<R, CreditError>,)>(&compiled, &instance, store, export)?;
            let answer = func.call(&mut *store, params).map(|(r,)| r).map_err(anyhow::Error::from)?;
            if journal {
                let function = export.function();
                store.data_mut().journal = Some(crate::journal::record_rust(&function, &params, &answer)?);
                if events && answer.is_ok() {
                    let plan = compiled.plans[export as usize].get_or_init(|| crate::values::FuncPlan::of(&compiled.types[export as usize]));
                    let (args, answer) = plan.to_wit(&serde_json::to_value(params)?, &serde_json::to_value(&answer)?)?;
                    store.data_mut().events = crate::events::of_call(merchant.as_str(), &function, &args, &answer);
                }
            }
            Ok((answer.is_ok(), answer))
        })
    }

    /// Runs any exported function with its arguments as JSON (by parameter
    /// name, in the encoding of `crate::values`) as one unit of work, and
    /// answers its `result` as JSON: `{"ok": ...}` (committed) or
    /// `{"err": {"tag": ..., "val": ...}}` (rolled back). `function` is
    /// `interface.function` as the WIT names them, e.g. `checkout.authorize`.
    /// This is how the conformance vectors are run.
    pub fn call_json(&mut self, merchant: &MerchantId, function: &str, args: &serde_json::Value) -> Result<serde_json::Value> {
        let no_function = || CallRefused::NoSuchFunction(function.to_owned());
        let (iface, name) = function.split_once('.').ok_or_else(no_function)?;
        let iface = format!("storefront:credit/{iface}@{}", crate::WIT_VERSION);
        let wasm = self.component.inner.pre.component();
        let index = wasm.get_export_index(None, &iface).and_then(|i| wasm.get_export_index(Some(&i), name)).ok_or_else(no_function)?;
        let bad = |m: String| CallRefused::BadArguments(format!("{function}: {m}"));
        let args = args.as_object().ok_or_else(|| bad("the arguments must be an object".into()))?;
        // The arguments are read against the function's type before the
        // call: a wrong argument is the caller's error, not a trap, and
        // touches neither the store nor the instance.
        let ty = self
            .component
            .exported_functions()
            .into_iter()
            .find(|(i, n, _)| *i == iface && n == name)
            .map(|(_, _, ty)| ty)
            .ok_or_else(no_function)?;
        if let Some(k) = args.keys().find(|k| !ty.params().any(|(p, _)| p == k.as_str())) {
            return Err(bad(format!("no parameter {k:?}")).into());
        }
        let mut params = Vec::new();
        for (p, t) in ty.params() {
            params.push(match (args.get(p), &t) {
                (Some(v), t) => crate::values::from_json(t, v, p).map_err(|e| bad(format!("{e:#}")))?,
                (None, wasmtime::component::Type::Option(_)) => wasmtime::component::Val::Option(None),
                (None, _) => return Err(bad(format!("argument {p:?} missing")).into()),
            });
        }
        let results = ty.results().len();
        let writes = !matches!(iface_short(function), "queries" | "reports");
        let journal = self.journal && writes;
        let events = journal && self.events;
        self.transact(merchant, writes, |store, instance| {
            let func = instance.get_func(&mut *store, index).with_context(|| format!("{function} is not a function"))?;
            let mut results = vec![wasmtime::component::Val::Bool(false); results];
            func.call(&mut *store, &params, &mut results).map_err(anyhow::Error::from)?;
            let ok = matches!(results.first(), Some(wasmtime::component::Val::Result(Ok(_))));
            let answer = results.first().map(crate::values::to_json).unwrap_or(serde_json::Value::Null);
            if journal {
                let args = serde_json::Value::Object(args.clone());
                store.data_mut().journal = Some(crate::journal::record_wit(function, &args, &answer)?);
                if events && ok {
                    store.data_mut().events = crate::events::of_call(merchant.as_str(), function, &args, &answer);
                }
            }
            Ok((ok, answer))
        })
    }

    /// One call in one transaction: `run` calls into the instance and says
    /// whether the answer is `ok` (commit) or not (roll back). A trap (an
    /// error from `run` after the call began) rolls back and replaces the
    /// instance. `writes` is false for calls that only read: they run as a
    /// read-only unit (one snapshot, no locks).
    ///
    /// When the store reports a `Conflict` (another process won a race for
    /// the same rows; see `store::PostgresBackend`), nothing of the call was
    /// kept: it is run again from the start, up to `CONFLICT_RETRIES_MAX`
    /// times, after a short random pause. The caller never sees it; the
    /// retries are counted (`contention`).
    fn transact<T>(
        &mut self,
        merchant: &MerchantId,
        writes: bool,
        mut run: impl FnMut(&mut Store<HostState>, wasmtime::component::Instance) -> Result<(bool, T)>,
    ) -> Result<T> {
        let mut attempt = 0;
        loop {
            match self.attempt(merchant, writes, &mut run) {
                Err(e) if e.conflicted && attempt < CONFLICT_RETRIES_MAX => {
                    attempt += 1;
                    self.retries += 1;
                    std::thread::sleep(backoff(attempt));
                }
                Err(e) if e.conflicted => {
                    return Err(e.error.context(format!("the call conflicted with other calls {} times running; given up", attempt + 1)));
                }
                Err(e) => return Err(e.error),
                Ok(answer) => return Ok(answer),
            }
        }
    }

    /// One try of `transact`.
    fn attempt<T>(
        &mut self,
        merchant: &MerchantId,
        writes: bool,
        run: &mut impl FnMut(&mut Store<HostState>, wasmtime::component::Instance) -> Result<(bool, T)>,
    ) -> std::result::Result<T, Failed> {
        if self.fresh_instance_per_call && self.instance.is_some() {
            self.reset();
        }
        let store = self.store.as_mut().expect("store present between calls");
        store.set_fuel(self.fuel_per_call).map_err(|e| Failed::plain(e.into()))?;
        if self.instance.is_none() {
            self.instance = Some(self.component.inner.pre.instantiate(&mut *store).map_err(|e| Failed::plain(e.into()))?);
            // Instantiation burns fuel too; each call starts with a full budget.
            store.set_fuel(self.fuel_per_call).map_err(|e| Failed::plain(e.into()))?;
        }
        let instance = self.instance.expect("instantiated above");
        {
            let state = store.data_mut();
            state.journal = None;
            state.events.clear();
            state.merchant.clear();
            state.merchant.push_str(merchant.as_str());
            state.writes = 0;
            state.conflicted = false;
            let begun = if writes { state.backend.begin() } else { state.backend.begin_read() };
            begun.map_err(Failed::from_store)?;
        }
        let outcome = run(store, instance);
        let state = store.data_mut();
        state.fault = None;
        let journal = state.journal.take();
        let events = std::mem::take(&mut state.events);
        match outcome {
            Ok((true, answer)) => {
                let logged = match journal {
                    Some(record) => state.backend.journal_append(merchant.as_str(), &record),
                    None => Ok(()),
                };
                let logged = logged.and_then(|()| if events.is_empty() { Ok(()) } else { state.backend.outbox_append(merchant.as_str(), &events) });
                if let Err(e) = logged {
                    let _ = state.backend.rollback();
                    return Err(Failed::from_store(e));
                }
                state.backend.commit().map_err(Failed::from_store)?;
                Ok(answer)
            }
            Ok((false, answer)) => {
                if let Err(e) = state.backend.validate() {
                    let _ = state.backend.rollback();
                    return Err(Failed::from_store(e));
                }
                state.backend.rollback().map_err(Failed::from_store)?;
                // A refused call changed nothing, but it is part of the
                // history a new build is tried on: journaled on its own.
                if let Some(record) = journal {
                    state.backend.begin().map_err(Failed::from_store)?;
                    if let Err(e) = state.backend.journal_append(merchant.as_str(), &record) {
                        let _ = state.backend.rollback();
                        return Err(Failed::from_store(e));
                    }
                    state.backend.commit().map_err(Failed::from_store)?;
                }
                Ok(answer)
            }
            Err(trapped) => {
                let conflicted = state.conflicted || crate::store::is_conflict(&trapped);
                let rolled_back = state.backend.rollback();
                self.reset();
                rolled_back.map_err(Failed::plain)?;
                let error = if conflicted { trapped } else { trapped.context("the credit component trapped; the call was rolled back") };
                Err(Failed { error, conflicted })
            }
        }
    }

    /// How often this ledger's calls met other processes' calls on the same
    /// rows: reads that waited for a row lock, and calls run again after a
    /// conflict. Both stay 0 on SQLite and memory (one writer at a time).
    pub fn contention(&mut self) -> Contention {
        let lock_waits = self.backend().lock_waits();
        Contention { lock_waits, retries: self.retries }
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
    pub fn open_account(
        &mut self,
        m: &MerchantId,
        ctx: &CallContext,
        req: &OpenAccountRequest,
    ) -> Result<std::result::Result<AccountSummary, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| req.oversized()) {
            return Ok(Err(e));
        }
        self.call(m, Export::OpenAccount, (ctx, req))
    }

    /// `accounts.open-company`.
    pub fn open_company(
        &mut self,
        m: &MerchantId,
        ctx: &CallContext,
        req: &OpenCompanyRequest,
    ) -> Result<std::result::Result<CompanySummary, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| req.oversized()) {
            return Ok(Err(e));
        }
        self.call(m, Export::OpenCompany, (ctx, req))
    }

    /// `accounts.change-credit-limit`.
    pub fn change_credit_limit(
        &mut self,
        m: &MerchantId,
        ctx: &CallContext,
        req: &ChangeCreditLimitRequest,
    ) -> Result<std::result::Result<AccountSummary, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| req.oversized()) {
            return Ok(Err(e));
        }
        self.call(m, Export::ChangeCreditLimit, (ctx, req))
    }

    /// `accounts.set-status`.
    pub fn set_status(
        &mut self,
        m: &MerchantId,
        ctx: &CallContext,
        req: &SetStatusRequest,
    ) -> Result<std::result::Result<AccountSummary, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| req.oversized()) {
            return Ok(Err(e));
        }
        self.call(m, Export::SetStatus, (ctx, req))
    }

    /// `accounts.set-billing-policy`.
    pub fn set_billing_policy(
        &mut self,
        m: &MerchantId,
        ctx: &CallContext,
        req: &SetBillingPolicyRequest,
    ) -> Result<std::result::Result<AccountSummary, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| req.oversized()) {
            return Ok(Err(e));
        }
        self.call(m, Export::SetBillingPolicy, (ctx, req))
    }

    /// `accounts.set-dynamic-discount`.
    pub fn set_dynamic_discount(
        &mut self,
        m: &MerchantId,
        ctx: &CallContext,
        req: &SetDynamicDiscountRequest,
    ) -> Result<std::result::Result<DynamicDiscountSetting, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| req.oversized()) {
            return Ok(Err(e));
        }
        self.call(m, Export::SetDynamicDiscount, (ctx, req))
    }

    /// `accounts.add-note`.
    pub fn add_note(&mut self, m: &MerchantId, ctx: &CallContext, req: &AddNoteRequest) -> Result<std::result::Result<Note, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| req.oversized()) {
            return Ok(Err(e));
        }
        self.call(m, Export::AddNote, (ctx, req))
    }

    // ------------------------------------------------------------- billing

    /// `billing.record-payment`.
    pub fn record_payment(
        &mut self,
        m: &MerchantId,
        ctx: &CallContext,
        req: &RecordPaymentRequest,
    ) -> Result<std::result::Result<PaymentReceipt, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| req.oversized()) {
            return Ok(Err(e));
        }
        self.call(m, Export::RecordPayment, (ctx, req))
    }

    /// `billing.reverse-payment`.
    pub fn reverse_payment(
        &mut self,
        m: &MerchantId,
        ctx: &CallContext,
        payment_id: &str,
        reason: &str,
    ) -> Result<std::result::Result<ReversalReceipt, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| shape::id_param(payment_id, "payment-id")).or_else(|| shape::text_param(reason, "reason")) {
            return Ok(Err(e));
        }
        self.call(m, Export::ReversePayment, (ctx, payment_id, reason))
    }

    /// `billing.allocate-balance`.
    pub fn allocate_balance(
        &mut self,
        m: &MerchantId,
        ctx: &CallContext,
        req: &AllocateBalanceRequest,
    ) -> Result<std::result::Result<BalanceAllocation, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| req.oversized()) {
            return Ok(Err(e));
        }
        self.call(m, Export::AllocateBalance, (ctx, req))
    }

    /// `billing.day-close`.
    pub fn day_close(
        &mut self,
        m: &MerchantId,
        ctx: &CallContext,
        account_id: &str,
        date: &str,
    ) -> Result<std::result::Result<DayCloseReport, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| shape::id_param(account_id, "account-id")).or_else(|| shape::date_param(date, "date")) {
            return Ok(Err(e));
        }
        self.call(m, Export::DayClose, (ctx, &account_id.to_owned(), &date.to_owned()))
    }

    // ------------------------------------------------------------ checkout

    /// `checkout.authorize`.
    pub fn authorize(
        &mut self,
        m: &MerchantId,
        ctx: &CallContext,
        req: &AuthorizeRequest,
    ) -> Result<std::result::Result<Authorization, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| req.oversized()) {
            return Ok(Err(e));
        }
        self.call(m, Export::Authorize, (ctx, req))
    }

    /// `checkout.capture`.
    pub fn capture(&mut self, m: &MerchantId, ctx: &CallContext, req: &CaptureRequest) -> Result<std::result::Result<CaptureReceipt, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| req.oversized()) {
            return Ok(Err(e));
        }
        self.call(m, Export::Capture, (ctx, req))
    }

    /// `checkout.void-hold`.
    pub fn void_hold(&mut self, m: &MerchantId, ctx: &CallContext, hold_id: &str) -> Result<std::result::Result<VoidReceipt, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| shape::id_param(hold_id, "hold-id")) {
            return Ok(Err(e));
        }
        self.call(m, Export::VoidHold, (ctx, hold_id))
    }

    /// `billing.cancel-credit-note`.
    pub fn cancel_credit_note(
        &mut self,
        m: &MerchantId,
        ctx: &CallContext,
        req: &CancelCreditNoteRequest,
    ) -> Result<std::result::Result<CreditNoteCancellation, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| req.oversized()) {
            return Ok(Err(e));
        }
        self.call(m, Export::CancelCreditNote, (ctx, req))
    }

    /// `billing.write-off`.
    pub fn write_off(&mut self, m: &MerchantId, ctx: &CallContext, req: &WriteOffRequest) -> Result<std::result::Result<WriteOffReceipt, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| req.oversized()) {
            return Ok(Err(e));
        }
        self.call(m, Export::WriteOff, (ctx, req))
    }

    /// `billing.refund-balance`.
    pub fn refund_balance(&mut self, m: &MerchantId, ctx: &CallContext, req: &RefundRequest) -> Result<std::result::Result<RefundReceipt, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| req.oversized()) {
            return Ok(Err(e));
        }
        self.call(m, Export::RefundBalance, (ctx, req))
    }

    /// `checkout.amend-hold`.
    pub fn amend_hold(&mut self, m: &MerchantId, ctx: &CallContext, req: &AmendHoldRequest) -> Result<std::result::Result<Authorization, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| req.oversized()) {
            return Ok(Err(e));
        }
        self.call(m, Export::AmendHold, (ctx, req))
    }

    /// `checkout.apply-balance`.
    pub fn apply_balance(
        &mut self,
        m: &MerchantId,
        ctx: &CallContext,
        req: &ApplyBalanceRequest,
    ) -> Result<std::result::Result<BalanceApplication, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| req.oversized()) {
            return Ok(Err(e));
        }
        self.call(m, Export::ApplyBalance, (ctx, req))
    }

    /// `checkout.record-return`.
    pub fn record_return(
        &mut self,
        m: &MerchantId,
        ctx: &CallContext,
        req: &RecordReturnRequest,
    ) -> Result<std::result::Result<CreditNote, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| req.oversized()) {
            return Ok(Err(e));
        }
        self.call(m, Export::RecordReturn, (ctx, req))
    }

    // ------------------------------------------------------------- queries

    /// `queries.get-account`.
    pub fn get_account(&mut self, m: &MerchantId, account_id: &str, now_ms: i64) -> Result<std::result::Result<AccountSummary, CreditError>> {
        if let Some(e) = shape::id_param(account_id, "account-id") {
            return Ok(Err(e));
        }
        self.call(m, Export::GetAccount, (&account_id.to_owned(), now_ms))
    }

    /// `queries.get-company`.
    pub fn get_company(&mut self, m: &MerchantId, company_id: &str, now_ms: i64) -> Result<std::result::Result<CompanySummary, CreditError>> {
        if let Some(e) = shape::id_param(company_id, "company-id") {
            return Ok(Err(e));
        }
        self.call(m, Export::GetCompany, (&company_id.to_owned(), now_ms))
    }

    /// `queries.list-accounts`.
    pub fn list_accounts(&mut self, m: &MerchantId, after: Option<&str>, limit: u32) -> Result<std::result::Result<Vec<String>, CreditError>> {
        if let Some(e) = after.and_then(|a| shape::id_param(a, "after")) {
            return Ok(Err(e));
        }
        self.call(m, Export::ListAccounts, (after.map(str::to_owned).as_ref(), limit))
    }

    /// `queries.ledger`.
    pub fn ledger(
        &mut self,
        m: &MerchantId,
        account_id: &str,
        after_seq: Option<u64>,
        limit: u32,
    ) -> Result<std::result::Result<LedgerPage, CreditError>> {
        if let Some(e) = shape::id_param(account_id, "account-id") {
            return Ok(Err(e));
        }
        self.call(m, Export::Ledger, (&account_id.to_owned(), after_seq, limit))
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
        if let Some(e) = shape::id_param(account_id, "account-id") {
            return Ok(Err(e));
        }
        self.call(m, Export::OpenHolds, (&account_id.to_owned(), now_ms))
    }

    /// `queries.get-hold`.
    pub fn get_hold(&mut self, m: &MerchantId, hold_id: &str, now_ms: i64) -> Result<std::result::Result<Hold, CreditError>> {
        if let Some(e) = shape::id_param(hold_id, "hold-id") {
            return Ok(Err(e));
        }
        self.call(m, Export::GetHold, (hold_id, now_ms))
    }

    /// `queries.credit-limit-history`.
    pub fn credit_limit_history(
        &mut self,
        m: &MerchantId,
        account_id: &str,
        after_seq: Option<u64>,
        limit: u32,
    ) -> Result<std::result::Result<CreditLimitPage, CreditError>> {
        if let Some(e) = shape::id_param(account_id, "account-id") {
            return Ok(Err(e));
        }
        self.call(m, Export::CreditLimitHistory, (&account_id.to_owned(), after_seq, limit))
    }

    /// `queries.open-invoices`: one page.
    pub fn open_invoices(
        &mut self,
        m: &MerchantId,
        account_id: &str,
        today: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<std::result::Result<InvoicePage, CreditError>> {
        if let Some(e) = shape::id_param(account_id, "account-id")
            .or_else(|| shape::date_param(today, "today"))
            .or_else(|| after.and_then(|a| shape::id_param(a, "after")))
        {
            return Ok(Err(e));
        }
        self.call(m, Export::OpenInvoices, (&account_id.to_owned(), &today.to_owned(), after.map(str::to_owned).as_ref(), limit))
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
    pub fn invoice_allocations(
        &mut self,
        m: &MerchantId,
        invoice_id: &str,
        after_seq: Option<u64>,
        limit: u32,
    ) -> Result<std::result::Result<AllocationPage, CreditError>> {
        if let Some(e) = shape::id_param(invoice_id, "invoice-id") {
            return Ok(Err(e));
        }
        self.call(m, Export::InvoiceAllocations, (invoice_id, after_seq, limit))
    }

    /// `queries.get-invoice`.
    pub fn get_invoice(&mut self, m: &MerchantId, invoice_id: &str, today: &str) -> Result<std::result::Result<Invoice, CreditError>> {
        if let Some(e) = shape::id_param(invoice_id, "invoice-id").or_else(|| shape::date_param(today, "today")) {
            return Ok(Err(e));
        }
        self.call(m, Export::GetInvoice, (invoice_id, &today.to_owned()))
    }

    /// `queries.dynamic-discount`.
    pub fn dynamic_discount(
        &mut self,
        m: &MerchantId,
        account_id: &str,
        invoice_id: Option<&str>,
    ) -> Result<std::result::Result<DynamicDiscountSetting, CreditError>> {
        if let Some(e) = shape::id_param(account_id, "account-id").or_else(|| invoice_id.and_then(|i| shape::id_param(i, "invoice-id"))) {
            return Ok(Err(e));
        }
        self.call(m, Export::DynamicDiscount, (&account_id.to_owned(), invoice_id.map(str::to_owned).as_ref()))
    }

    /// `queries.payments`.
    pub fn payments(
        &mut self,
        m: &MerchantId,
        account_id: &str,
        after: Option<u64>,
        limit: u32,
    ) -> Result<std::result::Result<Vec<Payment>, CreditError>> {
        if let Some(e) = shape::id_param(account_id, "account-id") {
            return Ok(Err(e));
        }
        self.call(m, Export::Payments, (&account_id.to_owned(), after, limit))
    }

    /// `queries.reminders`.
    pub fn reminders(
        &mut self,
        m: &MerchantId,
        account_id: &str,
        after_seq: Option<u64>,
        limit: u32,
    ) -> Result<std::result::Result<Vec<Reminder>, CreditError>> {
        if let Some(e) = shape::id_param(account_id, "account-id") {
            return Ok(Err(e));
        }
        self.call(m, Export::Reminders, (&account_id.to_owned(), after_seq, limit))
    }

    /// `queries.suggest-credit-limit`.
    pub fn suggest_credit_limit(
        &mut self,
        m: &MerchantId,
        account_id: &str,
        as_of: &str,
    ) -> Result<std::result::Result<CreditLimitSuggestion, CreditError>> {
        if let Some(e) = shape::id_param(account_id, "account-id").or_else(|| shape::date_param(as_of, "as-of")) {
            return Ok(Err(e));
        }
        self.call(m, Export::SuggestCreditLimit, (&account_id.to_owned(), &as_of.to_owned()))
    }

    /// `queries.notes`.
    pub fn notes(
        &mut self,
        m: &MerchantId,
        account_id: &str,
        after_seq: Option<u64>,
        limit: u32,
    ) -> Result<std::result::Result<NotePage, CreditError>> {
        if let Some(e) = shape::id_param(account_id, "account-id") {
            return Ok(Err(e));
        }
        self.call(m, Export::Notes, (&account_id.to_owned(), after_seq, limit))
    }

    /// `queries.deliveries`.
    pub fn deliveries(
        &mut self,
        m: &MerchantId,
        account_id: &str,
        after_seq: Option<u64>,
        limit: u32,
    ) -> Result<std::result::Result<DeliveryPage, CreditError>> {
        if let Some(e) = shape::id_param(account_id, "account-id") {
            return Ok(Err(e));
        }
        self.call(m, Export::Deliveries, (&account_id.to_owned(), after_seq, limit))
    }

    // ------------------------------------------------------------- reports

    /// `reports.statement`.
    pub fn statement(
        &mut self,
        m: &MerchantId,
        account_id: &str,
        from: &str,
        to: &str,
        after_seq: Option<u64>,
    ) -> Result<std::result::Result<AccountStatement, CreditError>> {
        if let Some(e) = shape::id_param(account_id, "account-id")
            .or_else(|| shape::date_param(from, "period-from"))
            .or_else(|| shape::date_param(to, "period-to"))
        {
            return Ok(Err(e));
        }
        self.call(m, Export::Statement, (&account_id.to_owned(), &from.to_owned(), &to.to_owned(), after_seq))
    }

    /// `reports.company-statement`.
    pub fn company_statement(
        &mut self,
        m: &MerchantId,
        company_id: &str,
        from: &str,
        to: &str,
    ) -> Result<std::result::Result<CompanyAccountStatement, CreditError>> {
        if let Some(e) = shape::id_param(company_id, "company-id")
            .or_else(|| shape::date_param(from, "period-from"))
            .or_else(|| shape::date_param(to, "period-to"))
        {
            return Ok(Err(e));
        }
        self.call(m, Export::CompanyStatement, (&company_id.to_owned(), &from.to_owned(), &to.to_owned()))
    }

    /// Every line of a statement, fetched call by call (a period with more
    /// than `STATEMENT_LINES_MAX` lines takes several).
    pub fn statement_all(
        &mut self,
        m: &MerchantId,
        account_id: &str,
        from: &str,
        to: &str,
    ) -> Result<std::result::Result<AccountStatement, CreditError>> {
        let mut first = match self.statement(m, account_id, from, to, None)? {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        while let Some(after) = first.next_after_seq {
            let more = match self.statement(m, account_id, from, to, Some(after))? {
                Ok(s) => s,
                Err(e) => return Ok(Err(e)),
            };
            let sum = |a: &str, b: &str| -> String {
                use std::str::FromStr;
                let total = rust_decimal::Decimal::from_str(a).unwrap_or_default() + rust_decimal::Decimal::from_str(b).unwrap_or_default();
                // Both halves have the currency's minor units, so the sum does.
                total.to_string()
            };
            first.total_debits = sum(&first.total_debits, &more.total_debits);
            first.total_credits = sum(&first.total_credits, &more.total_credits);
            first.lines.extend(more.lines);
            first.closing_balance = more.closing_balance;
            first.next_after_seq = more.next_after_seq;
        }
        Ok(Ok(first))
    }

    /// `reports.statements`.
    pub fn statements(
        &mut self,
        m: &MerchantId,
        account_id: &str,
        after_seq: Option<u64>,
        limit: u32,
    ) -> Result<std::result::Result<Vec<StatementHeader>, CreditError>> {
        if let Some(e) = shape::id_param(account_id, "account-id") {
            return Ok(Err(e));
        }
        self.call(m, Export::Statements, (&account_id.to_owned(), after_seq, limit))
    }

    /// `reports.get-statement`.
    pub fn get_statement(&mut self, m: &MerchantId, account_id: &str, seq: u64) -> Result<std::result::Result<AccountStatement, CreditError>> {
        if let Some(e) = shape::id_param(account_id, "account-id") {
            return Ok(Err(e));
        }
        self.call(m, Export::GetStatement, (&account_id.to_owned(), seq))
    }

    /// `reports.aging`: one page.
    pub fn aging(&mut self, m: &MerchantId, req: &AgingRequest) -> Result<std::result::Result<AgingPage, CreditError>> {
        if let Some(e) = req.oversized() {
            return Ok(Err(e));
        }
        self.call(m, Export::Aging, (req,))
    }

    /// `reports.account-aging`.
    pub fn account_aging(
        &mut self,
        m: &MerchantId,
        account_id: &str,
        as_of: &str,
        basis: AgingBasis,
        edges: &[u32],
    ) -> Result<std::result::Result<AgingRow, CreditError>> {
        if let Some(e) = shape::id_param(account_id, "account-id").or_else(|| shape::date_param(as_of, "as-of")).or_else(|| shape::edges(edges)) {
            return Ok(Err(e));
        }
        self.call(m, Export::AccountAging, (&account_id.to_owned(), &as_of.to_owned(), basis, edges))
    }

    /// `reports.debtors`: one page.
    pub fn debtors(&mut self, m: &MerchantId, q: &DebtorQuery) -> Result<std::result::Result<DebtorPage, CreditError>> {
        if let Some(e) = q.oversized() {
            return Ok(Err(e));
        }
        self.call(m, Export::Debtors, (q,))
    }

    /// `reports.account-warnings`.
    pub fn account_warnings(
        &mut self,
        m: &MerchantId,
        account_id: &str,
        as_of: &str,
        rules: &WarningRules,
    ) -> Result<std::result::Result<WarningRow, CreditError>> {
        if let Some(e) = shape::id_param(account_id, "account-id").or_else(|| shape::date_param(as_of, "as-of")).or_else(|| rules.oversized()) {
            return Ok(Err(e));
        }
        self.call(m, Export::AccountWarnings, (&account_id.to_owned(), &as_of.to_owned(), rules))
    }

    /// `reports.warnings`: one page.
    pub fn warnings(
        &mut self,
        m: &MerchantId,
        as_of: &str,
        rules: &WarningRules,
        after: Option<&str>,
        limit: u32,
    ) -> Result<std::result::Result<WarningPage, CreditError>> {
        if let Some(e) = shape::date_param(as_of, "as-of").or_else(|| rules.oversized()).or_else(|| after.and_then(|a| shape::id_param(a, "after"))) {
            return Ok(Err(e));
        }
        self.call(m, Export::Warnings, (&as_of.to_owned(), rules, after.map(str::to_owned).as_ref(), limit))
    }

    /// `bank.match-bank-line`.
    pub fn match_bank_line(
        &mut self,
        m: &MerchantId,
        ctx: &CallContext,
        line: &BankLine,
        decision: Option<&BankDecision>,
    ) -> Result<std::result::Result<BankLineResult, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| line.oversized()).or_else(|| decision.and_then(Oversized::oversized)) {
            return Ok(Err(e));
        }
        self.call(m, Export::MatchBankLine, (ctx, line, decision))
    }

    /// `migration.import-invoice`.
    pub fn import_invoice(&mut self, m: &MerchantId, ctx: &CallContext, req: &OpeningInvoice) -> Result<std::result::Result<Invoice, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| req.oversized()) {
            return Ok(Err(e));
        }
        self.call(m, Export::ImportInvoice, (ctx, req))
    }

    /// `migration.import-stored-balance`.
    pub fn import_stored_balance(
        &mut self,
        m: &MerchantId,
        ctx: &CallContext,
        req: &OpeningStoredBalance,
    ) -> Result<std::result::Result<AccountSummary, CreditError>> {
        if let Some(e) = ctx.oversized().or_else(|| req.oversized()) {
            return Ok(Err(e));
        }
        self.call(m, Export::ImportStoredBalance, (ctx, req))
    }

    /// `bank.bank-review`: one page.
    pub fn bank_review(&mut self, m: &MerchantId, after: Option<&str>, limit: u32) -> Result<std::result::Result<Vec<BankReviewItem>, CreditError>> {
        if let Some(e) = after.and_then(|a| shape::text_param(a, "after")) {
            return Ok(Err(e));
        }
        self.call(m, Export::BankReview, (after.map(str::to_owned).as_ref(), limit))
    }
}

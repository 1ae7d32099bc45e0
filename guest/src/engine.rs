//! The operations. Each public method is one unit of work: it checks the
//! request's shape, then its idempotency key, then the state it touches, and
//! only then writes. On `Err` the caller (the host) discards every write, so
//! a refused call changes nothing even if it failed half-way.

use rust_decimal::Decimal;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Field};
use crate::kv::Kv;
use crate::limits::{HOLD_TTL_S_DEFAULT, HOLD_TTL_S_MAX, HOLDS_PER_ACCOUNT_MAX, NET_DAYS_MAX, TOLERANCE_PERCENT_MAX};
use crate::model::*;
use crate::money::{self, Currency, Sign, add, sub};
use crate::validate;

/// The engine over one merchant's storage.
pub struct Engine<K: Kv> {
    kv: K,
}

/// A ledger entry about to be appended; deltas default to zero.
struct NewEntry {
    kind: EntryKind,
    amount: Decimal,
    debt_delta: Decimal,
    stored_delta: Decimal,
    held_delta: Decimal,
    hold_id: Option<String>,
    order_id: Option<String>,
    document_id: Option<String>,
    memo: String,
}

impl NewEntry {
    fn new(kind: EntryKind, amount: Decimal, memo: String) -> NewEntry {
        NewEntry {
            kind,
            amount,
            debt_delta: Decimal::ZERO,
            stored_delta: Decimal::ZERO,
            held_delta: Decimal::ZERO,
            hold_id: None,
            order_id: None,
            document_id: None,
            memo,
        }
    }
}

/// The figures of an account at an instant, unformatted.
struct RawFigures {
    credit_limit: Decimal,
    tolerance: Decimal,
    stored_balance: Decimal,
    posted_debt: Decimal,
    open_holds: Decimal,
    open_hold_count: u32,
    exposure: Decimal,
    available_credit: Decimal,
    available_with_tolerance: Decimal,
}

fn account_key(id: &str) -> String {
    format!("acct/{id}")
}
fn customer_key(customer: &str, currency: &str) -> String {
    format!("cust/{customer}/{currency}")
}
fn entry_prefix(account: &str) -> String {
    format!("entry/{account}/")
}
fn entry_key(account: &str, seq: u64) -> String {
    format!("entry/{account}/{seq:020}")
}
fn limit_prefix(account: &str) -> String {
    format!("limit/{account}/")
}
fn limit_key(account: &str, seq: u64) -> String {
    format!("limit/{account}/{seq:020}")
}
fn hold_key(id: &str) -> String {
    format!("hold/{id}")
}
fn order_key(id: &str) -> String {
    format!("order/{id}")
}
fn idem_key(key: &str) -> String {
    format!("idem/{key}")
}

fn currency_of(account: &Account) -> Result<Currency, Error> {
    Currency::from_code(&account.currency).map_err(|_| Error::StoreCorrupt(format!("account {} has currency {}", account.id, account.currency)))
}

/// Parses a money input: known currency, then amount in its minor units.
fn money_input(m: &MoneyInput, sign: Sign, field: Field) -> Result<(Currency, Decimal), Error> {
    let currency = Currency::from_code(&m.currency)?;
    let amount = money::parse_amount(&m.amount, currency, sign, field)?;
    Ok((currency, amount))
}

fn ensure_currency(account: &Account, given: Currency) -> Result<(), Error> {
    if account.currency == given.code() {
        Ok(())
    } else {
        Err(Error::CurrencyMismatch { expected: account.currency.clone(), given: given.code().to_owned() })
    }
}

fn min(a: Decimal, b: Decimal) -> Decimal {
    if a < b { a } else { b }
}

impl<K: Kv> Engine<K> {
    /// An engine over `kv`.
    pub fn new(kv: K) -> Self {
        Engine { kv }
    }

    /// The storage, for tests that inspect it.
    pub fn kv(&self) -> &K {
        &self.kv
    }

    // ------------------------------------------------------------ storage

    fn load<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        match self.kv.get(key) {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| Error::StoreCorrupt(format!("{key}: {e}"))),
        }
    }

    fn save<T: Serialize>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        let bytes = serde_json::to_vec(value).map_err(|e| Error::StoreCorrupt(format!("{key}: {e}")))?;
        self.kv.put(key, &bytes);
        Ok(())
    }

    fn account(&self, id: &str) -> Result<Account, Error> {
        self.load(&account_key(id))?.ok_or_else(|| Error::AccountNotFound(id.to_owned()))
    }

    fn hold(&self, id: &str) -> Result<Hold, Error> {
        self.load(&hold_key(id))?.ok_or_else(|| Error::HoldNotFound(id.to_owned()))
    }

    /// The next number of a merchant-wide sequence (holds, payments, credit notes).
    fn next_number(&mut self, name: &str) -> Result<u64, Error> {
        let key = format!("seq/{name}");
        let next = self.load::<u64>(&key)?.unwrap_or(0) + 1;
        self.save(&key, &next)?;
        Ok(next)
    }

    /// Runs `op` once per idempotency key. A retry with the same request gets
    /// the remembered answer; another request under the key is refused.
    fn idempotent<R: Clone>(
        &mut self,
        ctx: &Ctx,
        operation: &str,
        request: &impl Serialize,
        wrap: fn(R) -> Response,
        unwrap: fn(Response) -> Option<R>,
        op: impl FnOnce(&mut Self) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let fingerprint = format!(
            "{operation}:{}",
            serde_json::to_string(request).map_err(|e| Error::StoreCorrupt(format!("request: {e}")))?
        );
        let key = idem_key(&ctx.idempotency_key);
        if let Some(record) = self.load::<IdemRecord>(&key)? {
            if record.request != fingerprint {
                return Err(Error::IdempotencyKeyReused);
            }
            return unwrap(record.response).ok_or_else(|| Error::StoreCorrupt(format!("{key}: answer of another kind")));
        }
        let answer = op(self)?;
        self.save(&key, &IdemRecord { request: fingerprint, response: wrap(answer.clone()) })?;
        Ok(answer)
    }

    /// Appends an entry and moves the cached figures by its deltas.
    fn append(&mut self, account: &mut Account, ctx: &Ctx, e: NewEntry) -> Result<(), Error> {
        account.posted_debt = add(account.posted_debt, e.debt_delta)?;
        account.stored_balance = add(account.stored_balance, e.stored_delta)?;
        account.held = add(account.held, e.held_delta)?;
        account.entry_count += 1;
        let entry = Entry {
            seq: account.entry_count,
            at_ms: ctx.now_ms,
            kind: e.kind,
            amount: e.amount,
            debt_delta: e.debt_delta,
            stored_delta: e.stored_delta,
            held_delta: e.held_delta,
            debt_after: account.posted_debt,
            stored_after: account.stored_balance,
            hold_id: e.hold_id,
            order_id: e.order_id,
            document_id: e.document_id,
            memo: e.memo,
            idempotency_key: ctx.idempotency_key.clone(),
        };
        self.save(&entry_key(&account.id, entry.seq), &entry)
    }

    /// Releases every hold of the account whose expiry is at or before now.
    fn release_expired(&mut self, account: &mut Account, ctx: &Ctx) -> Result<(), Error> {
        let (expired, live): (Vec<_>, Vec<_>) =
            core::mem::take(&mut account.open_holds).into_iter().partition(|h| h.expires_at_ms <= ctx.now_ms);
        account.open_holds = live;
        for r in expired {
            let mut hold = self.hold(&r.hold_id)?;
            hold.state = HoldState::Expired;
            self.save(&hold_key(&hold.id), &hold)?;
            self.clear_open_hold(&hold.order_id, &hold.id)?;
            let mut e = NewEntry::new(EntryKind::HoldExpired, hold.amount, format!("hold {} expired", hold.id));
            e.held_delta = -hold.amount;
            e.hold_id = Some(hold.id.clone());
            e.order_id = Some(hold.order_id.clone());
            self.append(account, ctx, e)?;
        }
        Ok(())
    }

    fn clear_open_hold(&mut self, order_id: &str, hold_id: &str) -> Result<(), Error> {
        if let Some(mut order) = self.load::<Order>(&order_key(order_id))?
            && order.open_hold_id.as_deref() == Some(hold_id) {
                order.open_hold_id = None;
                self.save(&order_key(order_id), &order)?;
            }
        Ok(())
    }

    /// The order record for `order_id` on `account`: refused if it belongs
    /// to another account, a fresh one if it does not exist.
    fn order_for(&self, account: &Account, order_id: &str) -> Result<Order, Error> {
        match self.load::<Order>(&order_key(order_id))? {
            Some(o) if o.account_id != account.id => Err(Error::OrderBelongsToAnotherAccount(order_id.to_owned())),
            Some(o) => Ok(o),
            None => Ok(Order {
                account_id: account.id.clone(),
                open_hold_id: None,
                captured: Decimal::ZERO,
                balance_applied: Decimal::ZERO,
                credited: Decimal::ZERO,
            }),
        }
    }

    // ------------------------------------------------------------ figures

    fn raw_figures(account: &Account, now_ms: i64) -> Result<RawFigures, Error> {
        let currency = currency_of(account)?;
        let mut open_holds = Decimal::ZERO;
        let mut open_hold_count = 0;
        for h in account.open_holds.iter().filter(|h| h.expires_at_ms > now_ms) {
            open_holds = add(open_holds, h.amount)?;
            open_hold_count += 1;
        }
        let tolerance = match &account.tolerance {
            ToleranceRule::None => Decimal::ZERO,
            ToleranceRule::Amount(a) => *a,
            ToleranceRule::Percent(p) => money::percent_of_round_down(account.credit_limit, *p, currency)?,
        };
        let exposure = add(account.posted_debt, open_holds)?;
        let available_credit = sub(add(account.credit_limit, account.stored_balance)?, exposure)?;
        let available_with_tolerance = add(available_credit, tolerance)?;
        Ok(RawFigures {
            credit_limit: account.credit_limit,
            tolerance,
            stored_balance: account.stored_balance,
            posted_debt: account.posted_debt,
            open_holds,
            open_hold_count,
            exposure,
            available_credit,
            available_with_tolerance,
        })
    }

    fn figures_view(account: &Account, raw: &RawFigures) -> Result<Figures, Error> {
        let c = currency_of(account)?;
        Ok(Figures {
            credit_limit: c.format(raw.credit_limit),
            tolerance: c.format(raw.tolerance),
            stored_balance: c.format(raw.stored_balance),
            posted_debt: c.format(raw.posted_debt),
            open_holds: c.format(raw.open_holds),
            exposure: c.format(raw.exposure),
            available_credit: c.format(raw.available_credit),
            available_with_tolerance: c.format(raw.available_with_tolerance),
        })
    }

    fn figures(account: &Account, now_ms: i64) -> Result<Figures, Error> {
        Self::figures_view(account, &Self::raw_figures(account, now_ms)?)
    }

    fn summary(account: &Account, now_ms: i64) -> Result<AccountSummary, Error> {
        let c = currency_of(account)?;
        let raw = Self::raw_figures(account, now_ms)?;
        let pct = |p: Decimal| p.normalize().to_string();
        Ok(AccountSummary {
            account_id: account.id.clone(),
            customer_id: account.customer_id.clone(),
            currency: account.currency.clone(),
            status: account.status,
            tolerance_rule: match &account.tolerance {
                ToleranceRule::None => ToleranceView::None,
                ToleranceRule::Amount(a) => ToleranceView::Amount(c.format(*a)),
                ToleranceRule::Percent(p) => ToleranceView::Percent(pct(*p)),
            },
            terms: TermsView {
                net_days: account.terms.net_days,
                basis: account.terms.basis,
                discount: account.terms.discount.as_ref().map(|d| DiscountView { percent: pct(d.percent), days: d.days }),
            },
            balance: c.format(sub(raw.posted_debt, raw.stored_balance)?),
            open_hold_count: raw.open_hold_count,
            figures: Self::figures_view(account, &raw)?,
            opened_at_ms: account.opened_at_ms,
            entry_count: account.entry_count,
        })
    }

    fn hold_view(hold: &Hold, currency: Currency, now_ms: i64) -> HoldView {
        let state = match hold.state {
            HoldState::Open if hold.expires_at_ms <= now_ms => HoldState::Expired,
            s => s,
        };
        HoldView {
            hold_id: hold.id.clone(),
            account_id: hold.account_id.clone(),
            order_id: hold.order_id.clone(),
            amount: currency.format(hold.amount),
            captured: currency.format(hold.captured),
            state,
            placed_at_ms: hold.placed_at_ms,
            expires_at_ms: hold.expires_at_ms,
        }
    }

    // ------------------------------------------------------------ accounts

    /// `accounts.open-account`.
    pub fn open_account(&mut self, ctx: &Ctx, req: &OpenAccount) -> Result<AccountSummary, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.account_id, Field::AccountId)?;
        validate::id(&req.customer_id, Field::CustomerId)?;
        validate::text(&req.opened_by, Field::OpenedBy)?;
        let currency = Currency::from_code(&req.currency)?;
        let credit_limit = money::parse_amount(&req.credit_limit, currency, Sign::NonNegative, Field::CreditLimit)?;
        let tolerance = match &req.tolerance {
            ToleranceInput::None => ToleranceRule::None,
            ToleranceInput::Amount(a) => {
                ToleranceRule::Amount(money::parse_amount(a, currency, Sign::NonNegative, Field::Tolerance)?)
            }
            ToleranceInput::Percent(p) => {
                ToleranceRule::Percent(money::parse_percent(p, TOLERANCE_PERCENT_MAX, Sign::NonNegative, Field::Tolerance)?)
            }
        };
        let terms = validate_terms(&req.terms)?;

        self.idempotent(ctx, "open-account", req, Response::Account, |r| match r {
            Response::Account(a) => Some(a),
            _ => None,
        }, |eng| {
            if eng.kv.get(&account_key(&req.account_id)).is_some() {
                return Err(Error::AccountAlreadyExists(req.account_id.clone()));
            }
            let cust = customer_key(&req.customer_id, currency.code());
            if let Some(existing) = eng.load::<String>(&cust)? {
                return Err(Error::CustomerHasAccountInCurrency(existing));
            }
            eng.save(&cust, &req.account_id)?;
            let mut account = Account {
                id: req.account_id.clone(),
                customer_id: req.customer_id.clone(),
                currency: currency.code().to_owned(),
                credit_limit,
                tolerance,
                terms,
                status: Status::Active,
                opened_at_ms: ctx.now_ms,
                posted_debt: Decimal::ZERO,
                stored_balance: Decimal::ZERO,
                held: Decimal::ZERO,
                entry_count: 0,
                limit_change_count: 0,
                open_holds: Vec::new(),
            };
            eng.record_limit_change(&mut account, ctx, Decimal::ZERO, credit_limit, &req.opened_by, "account opened")?;
            let memo = format!("opened by {} with credit limit {}", req.opened_by, currency.format(credit_limit));
            eng.append(&mut account, ctx, NewEntry::new(EntryKind::AccountOpened, credit_limit, memo))?;
            eng.save(&account_key(&account.id), &account)?;
            Self::summary(&account, ctx.now_ms)
        })
    }

    fn record_limit_change(
        &mut self,
        account: &mut Account,
        ctx: &Ctx,
        old_limit: Decimal,
        new_limit: Decimal,
        by: &str,
        reason: &str,
    ) -> Result<(), Error> {
        account.limit_change_count += 1;
        let change = LimitChange {
            seq: account.limit_change_count,
            at_ms: ctx.now_ms,
            changed_by: by.to_owned(),
            reason: reason.to_owned(),
            old_limit,
            new_limit,
        };
        self.save(&limit_key(&account.id, change.seq), &change)
    }

    /// `accounts.change-credit-limit`.
    pub fn change_credit_limit(&mut self, ctx: &Ctx, req: &ChangeCreditLimit) -> Result<AccountSummary, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.account_id, Field::AccountId)?;
        validate::text(&req.changed_by, Field::ChangedBy)?;
        validate::text(&req.reason, Field::Reason)?;
        let (currency, new_limit) = money_input(&req.new_limit, Sign::NonNegative, Field::NewLimit)?;

        self.idempotent(ctx, "change-credit-limit", req, Response::Account, |r| match r {
            Response::Account(a) => Some(a),
            _ => None,
        }, |eng| {
            let mut account = eng.account(&req.account_id)?;
            ensure_currency(&account, currency)?;
            if account.status == Status::Closed {
                return Err(Error::AccountClosed);
            }
            if account.credit_limit == new_limit {
                return Err(Error::CreditLimitUnchanged);
            }
            eng.release_expired(&mut account, ctx)?;
            let old = account.credit_limit;
            account.credit_limit = new_limit;
            eng.record_limit_change(&mut account, ctx, old, new_limit, &req.changed_by, &req.reason)?;
            let memo = format!(
                "credit limit {} -> {} by {}: {}",
                currency.format(old),
                currency.format(new_limit),
                req.changed_by,
                req.reason
            );
            eng.append(&mut account, ctx, NewEntry::new(EntryKind::CreditLimitChanged, new_limit, memo))?;
            eng.save(&account_key(&account.id), &account)?;
            Self::summary(&account, ctx.now_ms)
        })
    }

    /// `accounts.set-status`.
    pub fn set_status(&mut self, ctx: &Ctx, req: &SetStatus) -> Result<AccountSummary, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.account_id, Field::AccountId)?;
        validate::text(&req.changed_by, Field::ChangedBy)?;
        validate::text(&req.reason, Field::Reason)?;

        self.idempotent(ctx, "set-status", req, Response::Account, |r| match r {
            Response::Account(a) => Some(a),
            _ => None,
        }, |eng| {
            let mut account = eng.account(&req.account_id)?;
            if account.status == Status::Closed {
                return Err(Error::AccountClosed);
            }
            if account.status == req.status {
                return Err(Error::StatusUnchanged);
            }
            eng.release_expired(&mut account, ctx)?;
            if req.status == Status::Closed
                && (!account.posted_debt.is_zero() || !account.stored_balance.is_zero() || !account.open_holds.is_empty())
            {
                return Err(Error::AccountNotSettled);
            }
            let memo = format!("{:?} -> {:?} by {}: {}", account.status, req.status, req.changed_by, req.reason);
            account.status = req.status;
            eng.append(&mut account, ctx, NewEntry::new(EntryKind::StatusChanged, Decimal::ZERO, memo))?;
            eng.save(&account_key(&account.id), &account)?;
            Self::summary(&account, ctx.now_ms)
        })
    }

    /// `accounts.record-payment`: reduces debt first, the rest is stored.
    pub fn record_payment(&mut self, ctx: &Ctx, req: &RecordPayment) -> Result<PaymentReceipt, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.account_id, Field::AccountId)?;
        validate::text(&req.method, Field::Method)?;
        validate::text(&req.reference, Field::Reference)?;
        let (currency, amount) = money_input(&req.amount, Sign::Positive, Field::Amount)?;

        self.idempotent(ctx, "record-payment", req, Response::Payment, |r| match r {
            Response::Payment(p) => Some(p),
            _ => None,
        }, |eng| {
            let mut account = eng.account(&req.account_id)?;
            ensure_currency(&account, currency)?;
            if account.status == Status::Closed {
                return Err(Error::AccountClosed);
            }
            eng.release_expired(&mut account, ctx)?;
            let to_debt = min(amount, account.posted_debt.max(Decimal::ZERO));
            let to_stored = sub(amount, to_debt)?;
            let payment_id = format!("P{}", eng.next_number("payment")?);
            let memo = format!("{} payment {} ref {}", req.method, currency.format(amount), req.reference);
            let mut e = NewEntry::new(EntryKind::PaymentRecorded, amount, memo);
            e.debt_delta = -to_debt;
            e.stored_delta = to_stored;
            e.document_id = Some(payment_id.clone());
            eng.append(&mut account, ctx, e)?;
            eng.save(&account_key(&account.id), &account)?;
            Ok(PaymentReceipt {
                payment_id,
                amount: currency.format(amount),
                applied_to_debt: currency.format(to_debt),
                added_to_stored_balance: currency.format(to_stored),
                account: Self::summary(&account, ctx.now_ms)?,
            })
        })
    }

    // ------------------------------------------------------------ checkout

    /// `checkout.authorize`.
    pub fn authorize(&mut self, ctx: &Ctx, req: &Authorize) -> Result<Authorization, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.account_id, Field::AccountId)?;
        validate::id(&req.order_id, Field::OrderId)?;
        let (currency, amount) = money_input(&req.amount, Sign::Positive, Field::Amount)?;
        let ttl_s = req.hold_ttl_s.unwrap_or(HOLD_TTL_S_DEFAULT);
        if ttl_s == 0 || ttl_s > HOLD_TTL_S_MAX {
            return Err(Error::HoldTtlOutOfRange);
        }
        let expires_at_ms = ctx.now_ms + i64::from(ttl_s) * 1000;

        self.idempotent(ctx, "authorize", req, Response::Authorization, |r| match r {
            Response::Authorization(a) => Some(a),
            _ => None,
        }, |eng| {
            let mut account = eng.account(&req.account_id)?;
            let mut order = eng.order_for(&account, &req.order_id)?;
            eng.release_expired(&mut account, ctx)?;
            // The sweep may have released this order's hold.
            if let Some(o) = eng.load::<Order>(&order_key(&req.order_id))? {
                order = o;
            }
            if order.open_hold_id.is_some() {
                return Err(Error::OrderAlreadyAuthorized(req.order_id.clone()));
            }
            let before = Self::raw_figures(&account, ctx.now_ms)?;
            let acct_currency = currency_of(&account)?;
            let decline = |reason, shortfall: Decimal| -> Result<Authorization, Error> {
                Ok(Authorization::Declined {
                    reason,
                    requested: currency.format(amount),
                    shortfall: acct_currency.format(shortfall),
                    figures: Self::figures_view(&account, &before)?,
                })
            };
            let answer = match account.status {
                Status::Closed => decline(DeclineReason::AccountClosed, Decimal::ZERO),
                Status::OnHold => decline(DeclineReason::AccountOnHold, Decimal::ZERO),
                Status::Active if account.currency != currency.code() => {
                    decline(DeclineReason::CurrencyMismatch, Decimal::ZERO)
                }
                Status::Active if amount > before.available_with_tolerance => {
                    decline(DeclineReason::InsufficientCredit, sub(amount, before.available_with_tolerance)?)
                }
                Status::Active => {
                    if account.open_holds.len() >= HOLDS_PER_ACCOUNT_MAX {
                        return Err(Error::TooManyOpenHolds);
                    }
                    let hold = Hold {
                        id: format!("H{}", eng.next_number("hold")?),
                        account_id: account.id.clone(),
                        order_id: req.order_id.clone(),
                        amount,
                        captured: Decimal::ZERO,
                        state: HoldState::Open,
                        placed_at_ms: ctx.now_ms,
                        expires_at_ms,
                    };
                    eng.save(&hold_key(&hold.id), &hold)?;
                    order.open_hold_id = Some(hold.id.clone());
                    eng.save(&order_key(&req.order_id), &order)?;
                    account.open_holds.push(OpenHoldRef { hold_id: hold.id.clone(), amount, expires_at_ms });
                    let memo = format!("hold {} for order {}", hold.id, req.order_id);
                    let mut e = NewEntry::new(EntryKind::HoldPlaced, amount, memo);
                    e.held_delta = amount;
                    e.hold_id = Some(hold.id.clone());
                    e.order_id = Some(req.order_id.clone());
                    eng.append(&mut account, ctx, e)?;
                    Ok(Authorization::Approved {
                        hold: Self::hold_view(&hold, currency, ctx.now_ms),
                        before: Self::figures_view(&account, &before)?,
                        after: Self::figures(&account, ctx.now_ms)?,
                    })
                }
            }?;
            eng.save(&account_key(&account.id), &account)?;
            Ok(answer)
        })
    }

    /// Loads an open hold with its account, releasing expired holds first.
    fn open_hold(&mut self, ctx: &Ctx, hold_id: &str) -> Result<(Hold, Account), Error> {
        let hold = self.hold(hold_id)?;
        let mut account = self.account(&hold.account_id)?;
        self.release_expired(&mut account, ctx)?;
        let hold = self.hold(hold_id)?;
        match hold.state {
            HoldState::Open => Ok((hold, account)),
            HoldState::Captured => Err(Error::HoldAlreadyCaptured),
            HoldState::Voided => Err(Error::HoldAlreadyVoided),
            HoldState::Expired => Err(Error::HoldExpired),
        }
    }

    /// `checkout.capture`.
    pub fn capture(&mut self, ctx: &Ctx, req: &Capture) -> Result<CaptureReceipt, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.hold_id, Field::HoldId)?;
        let (currency, amount) = money_input(&req.amount, Sign::Positive, Field::Amount)?;

        self.idempotent(ctx, "capture", req, Response::Capture, |r| match r {
            Response::Capture(c) => Some(c),
            _ => None,
        }, |eng| {
            let (mut hold, mut account) = eng.open_hold(ctx, &req.hold_id)?;
            ensure_currency(&account, currency)?;
            if amount > hold.amount {
                return Err(Error::CaptureExceedsHold);
            }
            let released = sub(hold.amount, amount)?;
            hold.state = HoldState::Captured;
            hold.captured = amount;
            eng.save(&hold_key(&hold.id), &hold)?;
            account.open_holds.retain(|h| h.hold_id != hold.id);
            let mut order = eng.order_for(&account, &hold.order_id)?;
            order.open_hold_id = None;
            order.captured = add(order.captured, amount)?;
            eng.save(&order_key(&hold.order_id), &order)?;
            let memo = format!(
                "hold {} captured {}, released {}",
                hold.id,
                currency.format(amount),
                currency.format(released)
            );
            let mut e = NewEntry::new(EntryKind::HoldCaptured, amount, memo);
            e.debt_delta = amount;
            e.held_delta = -hold.amount;
            e.hold_id = Some(hold.id.clone());
            e.order_id = Some(hold.order_id.clone());
            eng.append(&mut account, ctx, e)?;
            eng.save(&account_key(&account.id), &account)?;
            Ok(CaptureReceipt {
                hold: Self::hold_view(&hold, currency, ctx.now_ms),
                captured: currency.format(amount),
                released: currency.format(released),
                after: Self::figures(&account, ctx.now_ms)?,
            })
        })
    }

    /// `checkout.void-hold`.
    pub fn void_hold(&mut self, ctx: &Ctx, hold_id: &str) -> Result<VoidReceipt, Error> {
        validate::ctx(ctx)?;
        validate::id(hold_id, Field::HoldId)?;

        self.idempotent(ctx, "void-hold", &hold_id, Response::Void, |r| match r {
            Response::Void(v) => Some(v),
            _ => None,
        }, |eng| {
            let (mut hold, mut account) = eng.open_hold(ctx, hold_id)?;
            let currency = currency_of(&account)?;
            hold.state = HoldState::Voided;
            eng.save(&hold_key(&hold.id), &hold)?;
            account.open_holds.retain(|h| h.hold_id != hold.id);
            eng.clear_open_hold(&hold.order_id, &hold.id)?;
            let mut e = NewEntry::new(EntryKind::HoldVoided, hold.amount, format!("hold {} voided", hold.id));
            e.held_delta = -hold.amount;
            e.hold_id = Some(hold.id.clone());
            e.order_id = Some(hold.order_id.clone());
            eng.append(&mut account, ctx, e)?;
            eng.save(&account_key(&account.id), &account)?;
            Ok(VoidReceipt {
                hold: Self::hold_view(&hold, currency, ctx.now_ms),
                released: currency.format(hold.amount),
                after: Self::figures(&account, ctx.now_ms)?,
            })
        })
    }

    /// `checkout.apply-balance`.
    pub fn apply_balance(&mut self, ctx: &Ctx, req: &ApplyBalance) -> Result<BalanceApplication, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.account_id, Field::AccountId)?;
        validate::id(&req.order_id, Field::OrderId)?;
        let (currency, amount) = money_input(&req.amount, Sign::Positive, Field::Amount)?;

        self.idempotent(ctx, "apply-balance", req, Response::Balance, |r| match r {
            Response::Balance(b) => Some(b),
            _ => None,
        }, |eng| {
            let mut account = eng.account(&req.account_id)?;
            ensure_currency(&account, currency)?;
            if account.status == Status::Closed {
                return Err(Error::AccountClosed);
            }
            let mut order = eng.order_for(&account, &req.order_id)?;
            eng.release_expired(&mut account, ctx)?;
            if let Some(o) = eng.load::<Order>(&order_key(&req.order_id))? {
                order = o;
            }
            let applied = min(amount, account.stored_balance.max(Decimal::ZERO));
            if applied > Decimal::ZERO {
                order.balance_applied = add(order.balance_applied, applied)?;
                eng.save(&order_key(&req.order_id), &order)?;
                let memo = format!("stored balance {} applied to order {}", currency.format(applied), req.order_id);
                let mut e = NewEntry::new(EntryKind::BalanceApplied, applied, memo);
                e.stored_delta = -applied;
                e.order_id = Some(req.order_id.clone());
                eng.append(&mut account, ctx, e)?;
            }
            eng.save(&account_key(&account.id), &account)?;
            Ok(BalanceApplication {
                applied: currency.format(applied),
                remaining: currency.format(sub(amount, applied)?),
                stored_balance_after: currency.format(account.stored_balance),
            })
        })
    }

    /// `checkout.record-return`.
    pub fn record_return(&mut self, ctx: &Ctx, req: &RecordReturn) -> Result<CreditNote, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.account_id, Field::AccountId)?;
        validate::id(&req.order_id, Field::OrderId)?;
        validate::text(&req.reason, Field::Reason)?;
        let (currency, amount) = money_input(&req.amount, Sign::Positive, Field::Amount)?;

        self.idempotent(ctx, "record-return", req, Response::CreditNote, |r| match r {
            Response::CreditNote(c) => Some(c),
            _ => None,
        }, |eng| {
            let mut account = eng.account(&req.account_id)?;
            ensure_currency(&account, currency)?;
            if account.status == Status::Closed {
                return Err(Error::AccountClosed);
            }
            let Some(mut order) = eng.load::<Order>(&order_key(&req.order_id))? else {
                return Err(Error::OrderNotFound(req.order_id.clone()));
            };
            if order.account_id != account.id {
                return Err(Error::OrderBelongsToAnotherAccount(req.order_id.clone()));
            }
            let sold = add(order.captured, order.balance_applied)?;
            if sold.is_zero() {
                return Err(Error::OrderNotFound(req.order_id.clone()));
            }
            if amount > sub(sold, order.credited)? {
                return Err(Error::ReturnExceedsOrder);
            }
            eng.release_expired(&mut account, ctx)?;
            let to_debt = match req.credit_to {
                CreditTarget::OwedFirst => min(amount, account.posted_debt.max(Decimal::ZERO)),
                CreditTarget::StoredBalance => Decimal::ZERO,
            };
            let to_stored = sub(amount, to_debt)?;
            order.credited = add(order.credited, amount)?;
            eng.save(&order_key(&req.order_id), &order)?;
            let credit_note_id = format!("CN{}", eng.next_number("credit-note")?);
            let memo = format!("credit note {} on order {}: {}", credit_note_id, req.order_id, req.reason);
            let mut e = NewEntry::new(EntryKind::CreditNoteIssued, amount, memo);
            e.debt_delta = -to_debt;
            e.stored_delta = to_stored;
            e.order_id = Some(req.order_id.clone());
            e.document_id = Some(credit_note_id.clone());
            eng.append(&mut account, ctx, e)?;
            eng.save(&account_key(&account.id), &account)?;
            Ok(CreditNote {
                credit_note_id,
                order_id: req.order_id.clone(),
                amount: currency.format(amount),
                applied_to_debt: currency.format(to_debt),
                added_to_stored_balance: currency.format(to_stored),
                after: Self::figures(&account, ctx.now_ms)?,
            })
        })
    }

    // ------------------------------------------------------------ queries

    /// `queries.account-summary`.
    pub fn account_summary(&self, account_id: &str, now_ms: i64) -> Result<AccountSummary, Error> {
        validate::id(account_id, Field::AccountId)?;
        validate::timestamp(now_ms, Field::NowMs)?;
        Self::summary(&self.account(account_id)?, now_ms)
    }

    /// `queries.list-accounts`.
    pub fn list_accounts(&self, after: Option<&str>, limit: u32) -> Result<Vec<String>, Error> {
        if let Some(a) = after {
            validate::id(a, Field::After)?;
        }
        validate::page_limit(limit)?;
        let start = after.map(account_key);
        Ok(self
            .kv
            .scan("acct/", start.as_deref(), limit)
            .into_iter()
            .map(|(k, _)| k["acct/".len()..].to_owned())
            .collect())
    }

    /// `queries.ledger`.
    pub fn ledger(&self, account_id: &str, after_seq: Option<u64>, limit: u32) -> Result<LedgerPage, Error> {
        validate::id(account_id, Field::AccountId)?;
        validate::page_limit(limit)?;
        let account = self.account(account_id)?;
        let c = currency_of(&account)?;
        let start = after_seq.map(|s| entry_key(account_id, s));
        let mut entries = Vec::new();
        for (key, bytes) in self.kv.scan(&entry_prefix(account_id), start.as_deref(), limit) {
            let e: Entry = serde_json::from_slice(&bytes).map_err(|e| Error::StoreCorrupt(format!("{key}: {e}")))?;
            entries.push(EntryView {
                seq: e.seq,
                at_ms: e.at_ms,
                kind: e.kind,
                amount: c.format(e.amount),
                debt_delta: c.format(e.debt_delta),
                stored_delta: c.format(e.stored_delta),
                held_delta: c.format(e.held_delta),
                debt_after: c.format(e.debt_after),
                stored_after: c.format(e.stored_after),
                hold_id: e.hold_id,
                order_id: e.order_id,
                document_id: e.document_id,
                memo: e.memo,
                idempotency_key: e.idempotency_key,
            });
        }
        let next_after_seq = entries.last().map(|e| e.seq).filter(|&s| s < account.entry_count);
        Ok(LedgerPage { entries, next_after_seq })
    }

    /// `queries.open-holds`.
    pub fn open_holds(&self, account_id: &str, now_ms: i64) -> Result<Vec<HoldView>, Error> {
        validate::id(account_id, Field::AccountId)?;
        validate::timestamp(now_ms, Field::NowMs)?;
        let account = self.account(account_id)?;
        let c = currency_of(&account)?;
        account
            .open_holds
            .iter()
            .filter(|h| h.expires_at_ms > now_ms)
            .map(|h| Ok(Self::hold_view(&self.hold(&h.hold_id)?, c, now_ms)))
            .collect()
    }

    /// `queries.get-hold`.
    pub fn get_hold(&self, hold_id: &str, now_ms: i64) -> Result<HoldView, Error> {
        validate::id(hold_id, Field::HoldId)?;
        validate::timestamp(now_ms, Field::NowMs)?;
        let hold = self.hold(hold_id)?;
        let account = self.account(&hold.account_id)?;
        Ok(Self::hold_view(&hold, currency_of(&account)?, now_ms))
    }

    /// `queries.credit-limit-history`.
    pub fn credit_limit_history(&self, account_id: &str, after_seq: Option<u64>, limit: u32) -> Result<LimitPage, Error> {
        validate::id(account_id, Field::AccountId)?;
        validate::page_limit(limit)?;
        let account = self.account(account_id)?;
        let c = currency_of(&account)?;
        let start = after_seq.map(|s| limit_key(account_id, s));
        let mut changes = Vec::new();
        for (key, bytes) in self.kv.scan(&limit_prefix(account_id), start.as_deref(), limit) {
            let l: LimitChange = serde_json::from_slice(&bytes).map_err(|e| Error::StoreCorrupt(format!("{key}: {e}")))?;
            changes.push(LimitChangeView {
                seq: l.seq,
                at_ms: l.at_ms,
                changed_by: l.changed_by,
                reason: l.reason,
                old_limit: c.format(l.old_limit),
                new_limit: c.format(l.new_limit),
            });
        }
        let next_after_seq = changes.last().map(|l| l.seq).filter(|&s| s < account.limit_change_count);
        Ok(LimitPage { changes, next_after_seq })
    }
}

fn validate_terms(t: &TermsInput) -> Result<Terms, Error> {
    if t.net_days > NET_DAYS_MAX {
        return Err(Error::PaymentTermsOutOfRange(Field::NetDays));
    }
    let discount = match &t.discount {
        None => None,
        Some(d) => {
            let percent = money::parse_percent(&d.percent, 100, Sign::Positive, Field::DiscountPercent)?;
            if d.days == 0 || d.days > t.net_days {
                return Err(Error::PaymentTermsOutOfRange(Field::DiscountDays));
            }
            Some(Discount { percent, days: d.days })
        }
    };
    Ok(Terms { net_days: t.net_days, basis: t.basis, discount })
}

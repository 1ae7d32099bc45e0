//! Opening, limiting, holding and closing accounts.

#[allow(unused_imports)]
use crate::prelude::*;

use super::*;
use crate::model::Canonical;
use crate::validate;

impl<K: Kv> Engine<K> {
    /// `accounts.open-account`.
    pub fn open_account(&mut self, ctx: &Ctx, req: &OpenAccount) -> Result<AccountSummary, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.account_id, Field::AccountId)?;
        validate::id(&req.customer_id, Field::CustomerId)?;
        validate::text(&req.opened_by, Field::OpenedBy)?;
        let currency = Currency::from_code(&req.currency)?;
        let credit_limit = money::parse_amount(&req.credit_limit, currency, Sign::NonNegative, Field::CreditLimit)?;
        let tolerance = tolerance_rule(&req.tolerance, currency)?;
        if let Some(company) = &req.company_id {
            validate::id(company, Field::CompanyId)?;
        }
        let terms = validate_terms(&req.terms, currency)?;
        let policy = validate_policy(&req.policy, currency)?;

        self.idempotent(
            ctx,
            "open-account",
            &req.canonical(),
            |eng| {
                if eng.kv.get(&account_key(&req.account_id)).is_some() {
                    return Err(Error::AccountAlreadyExists(req.account_id.clone()));
                }
                // A buyer joins its company: same currency, room for one more.
                if let Some(id) = &req.company_id {
                    let mut company = eng.company(id)?;
                    if company.currency != currency.code() {
                        return Err(Error::CurrencyMismatch { expected: company.currency.clone(), given: currency.code().to_owned() });
                    }
                    if company.buyers.len() >= BUYERS_PER_COMPANY_MAX {
                        return Err(Error::TooManyBuyers);
                    }
                    company.buyers.push(req.account_id.clone());
                    eng.save(&company_key(id), &company)?;
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
                    status: Status::Active,
                    held_for_overdue: false,
                    posted_debt: Decimal::ZERO,
                    stored_balance: Decimal::ZERO,
                    held: Decimal::ZERO,
                    entry_count: 0,
                    open_hold_count: 0,
                    next_expiry_ms: None,
                    highest_debt: Decimal::ZERO,
                    last_entry_at_ms: 0,
                    overdue_close_on: None,
                    overdue_close: Decimal::ZERO,
                    indexed: false,
                    oldest_due: None,
                    numbers: DocumentNumbers::default(),
                    company_id: req.company_id.clone(),
                    head_hash: crate::chain::genesis(&req.account_id),
                    loaded: None,
                    cfg: Some(AccountCfg {
                        terms,
                        policy,
                        opened_at_ms: ctx.now_ms,
                        limit_change_count: 0,
                        open_item_count: 0,
                        item_count: 0,
                        payment_count: 0,
                        reminder_count: 0,
                        close_pending: None,
                        note_count: 0,
                        delivery_count: 0,
                        statement_count: 0,
                        last_statement_to: None,
                        last_statement_seq: 0,
                    }),
                    cfg_changed: true,
                    profile: None,
                    profile_changed: false,
                    invoice_ladder_changed: false,
                };
                eng.record_limit_change(&mut account, ctx, Decimal::ZERO, credit_limit, &req.opened_by, "account opened")?;
                let memo = format!("opened by {} with credit limit {}", req.opened_by, currency.format(credit_limit));
                eng.append(&mut account, ctx, NewEntry::new(EntryKind::AccountOpened, credit_limit, memo))?;
                eng.save_account(&mut account)?;
                eng.summary(&mut account, ctx.now_ms)
            },
        )
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
        let cfg = self.cfg_mut(account)?;
        cfg.limit_change_count += 1;
        let change = LimitChange {
            seq: cfg.limit_change_count,
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

        self.idempotent(
            ctx,
            "change-credit-limit",
            &req.canonical(),
            |eng| {
                let mut account = eng.account_for_money(&req.account_id, currency)?;
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
                eng.save_account(&mut account)?;
                eng.summary(&mut account, ctx.now_ms)
            },
        )
    }

    /// `accounts.set-status`. A person's decision replaces a hold day-close
    /// made for overdue invoices.
    pub fn set_status(&mut self, ctx: &Ctx, req: &SetStatus) -> Result<AccountSummary, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.account_id, Field::AccountId)?;
        validate::text(&req.changed_by, Field::ChangedBy)?;
        validate::text(&req.reason, Field::Reason)?;

        self.idempotent(
            ctx,
            "set-status",
            req,
            |eng| {
                let mut account = eng.account(&req.account_id)?;
                if account.status == Status::Closed {
                    return Err(Error::AccountClosed);
                }
                if account.status == req.status {
                    return Err(Error::StatusUnchanged);
                }
                eng.release_expired(&mut account, ctx)?;
                if req.status == Status::Closed
                    && (!account.posted_debt.is_zero()
                        || !account.stored_balance.is_zero()
                        || account.open_hold_count > 0)
                {
                    return Err(Error::AccountNotSettled);
                }
                let memo = format!("{:?} -> {:?} by {}: {}", account.status, req.status, req.changed_by, req.reason);
                account.status = req.status;
                if account.held_for_overdue {
                    account.held_for_overdue = false;
                    eng.company_overdue(&account, false)?;
                }
                eng.append(&mut account, ctx, NewEntry::new(EntryKind::StatusChanged, Decimal::ZERO, memo))?;
                eng.save_account(&mut account)?;
                eng.summary(&mut account, ctx.now_ms)
            },
        )
    }

    /// `accounts.set-billing-policy`.
    pub fn set_billing_policy(&mut self, ctx: &Ctx, req: &SetBillingPolicy) -> Result<AccountSummary, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.account_id, Field::AccountId)?;
        validate::text(&req.changed_by, Field::ChangedBy)?;
        validate::text(&req.reason, Field::Reason)?;

        self.idempotent(
            ctx,
            "set-billing-policy",
            &req.canonical(),
            |eng| {
                let mut account = eng.account(&req.account_id)?;
                if account.status == Status::Closed {
                    return Err(Error::AccountClosed);
                }
                let terms = validate_terms(&req.terms, currency_of(&account)?)?;
                let policy = validate_policy(&req.policy, currency_of(&account)?)?;
                eng.release_expired(&mut account, ctx)?;
                let cfg = eng.cfg_mut(&mut account)?;
                cfg.terms = terms;
                cfg.policy = policy;
                let memo = format!("terms and billing policy changed by {}: {}", req.changed_by, req.reason);
                eng.append(&mut account, ctx, NewEntry::new(EntryKind::PolicyChanged, Decimal::ZERO, memo))?;
                eng.save_account(&mut account)?;
                eng.summary(&mut account, ctx.now_ms)
            },
        )
    }
}

//! Company credit: several buyer accounts of one company share one credit
//! line. The company record keeps the sums of its buyers' posted debt,
//! stored balance and held credit; every entry a buyer's ledger gets moves
//! them (`Engine::append`), so the line is exact after every call.

#[allow(unused_imports)]
use crate::prelude::*;

use super::*;
use crate::model::Canonical;
use crate::validate;

/// A company's figures, unformatted.
pub(super) struct CompanyFigures {
    pub tolerance: Decimal,
    pub exposure: Decimal,
    pub available_credit: Decimal,
    pub available_with_tolerance: Decimal,
}

pub(super) fn company_figures(company: &Company) -> Result<CompanyFigures, Error> {
    let c = Currency::from_code(&company.currency).map_err(|_| Error::StoreCorrupt(format!("company {} currency", company.id)))?;
    let tolerance = match &company.tolerance {
        ToleranceRule::None => Decimal::ZERO,
        ToleranceRule::Amount(a) => *a,
        ToleranceRule::Percent(p) => money::percent_of_round_down(company.credit_limit, *p, c)?,
    };
    let exposure = add(company.posted_debt, company.held)?;
    let available_credit = sub(add(company.credit_limit, company.stored_balance)?, exposure)?;
    let available_with_tolerance = add(available_credit, tolerance)?;
    Ok(CompanyFigures { tolerance, exposure, available_credit, available_with_tolerance })
}

impl<K: Kv> Engine<K> {
    pub(super) fn company(&self, id: &str) -> Result<Company, Error> {
        self.load(&company_key(id))?.ok_or_else(|| Error::CompanyNotFound(id.to_owned()))
    }

    /// Moves a buyer's company by an entry's deltas.
    pub(super) fn company_moved(&mut self, company_id: &str, debt: Decimal, stored: Decimal, held: Decimal) -> Result<(), Error> {
        if debt.is_zero() && stored.is_zero() && held.is_zero() {
            return Ok(());
        }
        let mut company = self.company(company_id)?;
        company.posted_debt = add(company.posted_debt, debt)?;
        company.stored_balance = add(company.stored_balance, stored)?;
        company.held = add(company.held, held)?;
        self.save(&company_key(company_id), &company)
    }

    /// Counts a buyer going on (+1) or off (-1) hold for overdue invoices.
    pub(super) fn company_overdue(&mut self, account: &Account, on: bool) -> Result<(), Error> {
        let Some(id) = &account.company_id else { return Ok(()) };
        let mut company = self.company(id)?;
        company.buyers_held_for_overdue =
            if on { company.buyers_held_for_overdue.saturating_add(1) } else { company.buyers_held_for_overdue.saturating_sub(1) };
        self.save(&company_key(id), &company)
    }

    pub(super) fn company_summary(company: &Company) -> Result<CompanySummary, Error> {
        let c = Currency::from_code(&company.currency).map_err(|_| Error::StoreCorrupt(format!("company {} currency", company.id)))?;
        let f = company_figures(company)?;
        Ok(CompanySummary {
            company_id: company.id.clone(),
            currency: company.currency.clone(),
            tolerance_rule: match &company.tolerance {
                ToleranceRule::None => ToleranceView::None,
                ToleranceRule::Amount(a) => ToleranceView::Amount(c.format(*a)),
                ToleranceRule::Percent(p) => ToleranceView::Percent(pct(*p)),
            },
            figures: Figures {
                credit_limit: c.format(company.credit_limit),
                tolerance: c.format(f.tolerance),
                stored_balance: c.format(company.stored_balance),
                posted_debt: c.format(company.posted_debt),
                open_holds: c.format(company.held),
                exposure: c.format(f.exposure),
                available_credit: c.format(f.available_credit),
                available_with_tolerance: c.format(f.available_with_tolerance),
            },
            buyers_held_for_overdue: company.buyers_held_for_overdue,
            buyers: company.buyers.clone(),
            opened_at_ms: company.opened_at_ms,
        })
    }

    /// `accounts.open-company`.
    pub fn open_company(&mut self, ctx: &Ctx, req: &OpenCompany) -> Result<CompanySummary, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.company_id, Field::CompanyId)?;
        validate::text(&req.opened_by, Field::OpenedBy)?;
        let currency = Currency::from_code(&req.currency)?;
        let credit_limit = money::parse_amount(&req.credit_limit, currency, Sign::NonNegative, Field::CreditLimit)?;
        let tolerance = tolerance_rule(&req.tolerance, currency)?;
        self.idempotent(ctx, "open-company", &req.canonical(), |eng| {
            if eng.kv.get(&company_key(&req.company_id)).is_some() {
                return Err(Error::CompanyAlreadyExists(req.company_id.clone()));
            }
            let company = Company {
                id: req.company_id.clone(),
                currency: currency.code().to_owned(),
                credit_limit,
                tolerance,
                posted_debt: Decimal::ZERO,
                stored_balance: Decimal::ZERO,
                held: Decimal::ZERO,
                buyers: Vec::new(),
                buyers_held_for_overdue: 0,
                opened_at_ms: ctx.now_ms,
            };
            eng.save(&company_key(&company.id), &company)?;
            Self::company_summary(&company)
        })
    }

    /// `queries.get-company`.
    pub fn get_company(&self, company_id: &str, now_ms: i64) -> Result<CompanySummary, Error> {
        validate::id(company_id, Field::CompanyId)?;
        validate::timestamp(now_ms, Field::NowMs)?;
        Self::company_summary(&self.company(company_id)?)
    }
}

//! `migration`: invoices and stored balances brought in from another
//! system, and what is kept of them (`opening/invoice/<number>`,
//! `opening/balance/<account>`: the request as first brought in).

use crate::prelude::*;

use serde::{Deserialize, Serialize};

use super::{Canonical, MoneyInput};

/// `migration.opening-invoice`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpeningInvoice {
    pub account_id: String,
    pub number: String,
    pub invoice_date: String,
    pub due_date: String,
    pub amount: MoneyInput,
    pub paid: String,
    pub order_id: Option<String>,
}

impl Canonical for OpeningInvoice {
    fn canonical(&self) -> Self {
        OpeningInvoice { amount: self.amount.canonical(), paid: crate::money::canonical(&self.paid), ..self.clone() }
    }
}

/// `migration.opening-stored-balance`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpeningStoredBalance {
    pub account_id: String,
    pub amount: MoneyInput,
    pub reference: String,
}

impl Canonical for OpeningStoredBalance {
    fn canonical(&self) -> Self {
        OpeningStoredBalance { amount: self.amount.canonical(), ..self.clone() }
    }
}

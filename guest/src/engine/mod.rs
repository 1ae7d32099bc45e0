//! The operations. Each public method is one unit of work: it checks the
//! request's shape, then its idempotency key, then the state it touches, and
//! only then writes. On `Err` the caller (the host) discards every write, so
//! a refused call changes nothing even if it failed half-way.

#[allow(unused_imports)]
use crate::prelude::*;

mod accounts;
mod bank;
mod migration;
mod billing;
mod checkout;
mod collections;
mod companies;
mod discounts;
mod notes;
mod queries;
mod reports;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::dates;
use crate::error::{Error, Field};
use crate::kv::Kv;
use crate::limits::*;
use crate::model::*;
use crate::money::{self, Currency, Sign, add, sub};
use crate::rules;

/// The engine over one merchant's storage.
pub struct Engine<K: Kv> {
    kv: K,
    /// Reused for encoding every record a call writes: in the component,
    /// allocation was the largest cost after the engine's own code.
    buf: Vec<u8>,
}

/// A ledger entry about to be appended. Posted debt and stored balance move
/// by its postings to `receivable` and `customer-credit`; held credit by
/// `held_delta` (holds are not money and post nothing).
struct NewEntry {
    kind: EntryKind,
    amount: Decimal,
    held_delta: Decimal,
    postings: Vec<Posting>,
    hold_id: Option<String>,
    order_id: Option<String>,
    document_id: Option<String>,
    invoice_id: Option<String>,
    memo: String,
}

impl NewEntry {
    fn new(kind: EntryKind, amount: Decimal, memo: String) -> NewEntry {
        NewEntry {
            kind,
            amount,
            held_delta: Decimal::ZERO,
            postings: Vec::new(),
            hold_id: None,
            order_id: None,
            document_id: None,
            invoice_id: None,
            memo,
        }
    }
    fn dr(self, book: Book, amount: Decimal) -> Self {
        self.post(book, None, amount, false)
    }
    fn cr(self, book: Book, amount: Decimal) -> Self {
        self.post(book, None, amount, true)
    }
    /// A debit (or a credit) to `book` at a tax `rate`, added to the
    /// posting already there for the same book, rate and side.
    fn post(mut self, book: Book, tax_rate: Option<Decimal>, amount: Decimal, credit: bool) -> Self {
        if amount.is_zero() {
            return self;
        }
        let same = |p: &&mut Posting| p.book == book && p.tax_rate == tax_rate && p.credit.is_zero() != credit;
        match self.postings.iter_mut().find(|p| same(p)) {
            Some(p) if credit => p.credit += amount,
            Some(p) => p.debit += amount,
            None if credit => self.postings.push(Posting { book, debit: Decimal::ZERO, credit: amount, tax_rate }),
            None => self.postings.push(Posting { book, debit: amount, credit: Decimal::ZERO, tax_rate }),
        }
        self
    }
    /// Credits an invoice's sales and tax, each tax rate on its own.
    fn sales(mut self, parts: &[TaxPart]) -> Self {
        for p in parts {
            self = self.post(Book::Sales, p.rate, p.net, true).post(Book::Tax, p.rate, p.tax, true);
        }
        self
    }
    /// Debits an early-payment discount of `amount` taken on `invoice` to
    /// discounts allowed and, on the gross basis, its tax part back to tax,
    /// each rate on its own (`rules::discount_parts`); `undo` credits the
    /// same postings, for a payment that bounced.
    fn discount(mut self, invoice: &Invoice, amount: Decimal, undo: bool, c: Currency) -> Self {
        let basis = invoice.terms.discount.as_ref().map(|d| d.basis).unwrap_or_default();
        for p in rules::discount_parts(&item_tax_parts(invoice), basis, amount, c) {
            self = self.post(Book::DiscountsAllowed, p.rate, p.net, undo).post(Book::Tax, p.rate, p.tax, undo);
        }
        self
    }
    fn held(mut self, delta: Decimal) -> Self {
        self.held_delta = delta;
        self
    }
    fn hold(mut self, id: &str) -> Self {
        self.hold_id = Some(id.to_owned());
        self
    }
    fn order(mut self, id: &str) -> Self {
        self.order_id = Some(id.to_owned());
        self
    }
    fn doc(mut self, id: &str) -> Self {
        self.document_id = Some(id.to_owned());
        self
    }
    fn invoice(mut self, id: &str) -> Self {
        self.invoice_id = Some(id.to_owned());
        self
    }
    /// Net movement of one book: debits less credits.
    fn net(&self, book: Book) -> Decimal {
        self.postings.iter().filter(|p| p.book == book).map(|p| p.debit - p.credit).sum()
    }
}

/// An answer that is remembered for its idempotency key.
trait Remembered: Sized {
    fn wrap_ref(&self) -> ResponseRef<'_>;
    fn unwrap(r: Response) -> Option<Self>;
    /// Whether the call lifted an overdue hold (answers that can say so).
    fn released_from_hold(&self) -> bool {
        false
    }
    /// Marks the answer read back from `Response::Released`.
    fn set_released_from_hold(&mut self) {}
}

macro_rules! remembered {
    ($($t:ty => $v:ident $(, $released:ident)?);* $(;)?) => {
        $(impl Remembered for $t {
            fn wrap_ref(&self) -> ResponseRef<'_> {
                ResponseRef::$v(self)
            }
            fn unwrap(r: Response) -> Option<Self> {
                match r {
                    Response::$v(x) => Some(x),
                    _ => None,
                }
            }
            $(
                fn $released(&self) -> bool {
                    self.released_from_hold
                }
                fn set_released_from_hold(&mut self) {
                    self.released_from_hold = true;
                }
            )?
        })*
    };
}

remembered! {
    AccountSummary => Account;
    Authorization => Authorization;
    CaptureReceipt => Capture;
    VoidReceipt => Void;
    BalanceApplication => Balance;
    CreditNote => CreditNote, released_from_hold;
    PaymentReceipt => Payment, released_from_hold;
    ReversalReceipt => Reversal;
    BalanceAllocation => Allocation, released_from_hold;
    DayCloseReport => DayClose;
    NoteView => Note;
    RefundReceipt => Refund;
    WriteOffReceipt => WriteOff, released_from_hold;
    CreditNoteCancellation => CreditNoteCancellation;
    CompanySummary => Company;
    BankLineResult => BankLine, released_from_hold;
    InvoiceView => Invoice;
    DynamicDiscountSetting => DynamicDiscount;
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

// Keys are built on every call, several times: by hand rather than with
// `format!`, whose machinery was a tenth of authorize's native profile.

/// `parts` joined, with `n` (when given) appended as 20 zero-padded digits,
/// so numbered keys sort in numeric order.
fn key(parts: &[&str], n: Option<u64>) -> String {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = String::with_capacity(len + 20);
    for p in parts {
        out.push_str(p);
    }
    if let Some(n) = n {
        push_padded(&mut out, n);
    }
    out
}

/// Appends `n` in decimal, without `core::fmt` (a tenth of the cost).
fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[i..].iter().map(|&b| b as char));
}

/// Appends `n` as 20 decimal digits, zero-padded (`u64::MAX` has 20).
fn push_padded(out: &mut String, mut n: u64) {
    let mut digits = [b'0'; 20];
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend(digits.iter().map(|&b| b as char));
}

fn account_key(id: &str) -> String {
    key(&["acct/", id], None)
}
/// Open items list under their account in two lists, invoices (`i`, what
/// day-close works through) and the debit items that come of them (`o`),
/// each in the order payments reach them: the due date of the earliest
/// unpaid portion, then issue order. A position (`<due>/<seq>`) orders the
/// two lists as one.
fn open_item_prefix(account: &str, list: &str) -> String {
    key(&["open/", account, "/", list, "/"], None)
}
fn open_item_key(account: &str, list: &str, due: &str, seq: u64) -> String {
    let mut k = open_item_prefix(account, list);
    k.push_str(due);
    k.push('/');
    push_padded(&mut k, seq);
    k
}
/// Which of an account's two ladders an item's unpaid portions count in:
/// invoices (`i`), which decide holds for overdue accounts, or the debit
/// items that come of them (`o`: fees, interest, adjustments).
fn ladder(kind: ItemKind) -> &'static str {
    if kind == ItemKind::Invoice { "i" } else { "o" }
}
const LADDERS: [&str; 2] = ["i", "o"];
fn owed_prefix(account: &str, ladder: &str) -> String {
    key(&["owed/", account, "/", ladder, "/"], None)
}
fn owed_key(account: &str, ladder: &str, date: &str) -> String {
    let mut k = owed_prefix(account, ladder);
    k.push_str(date);
    k
}
fn alloc_prefix(item: &str) -> String {
    key(&["alloc/", item, "/"], None)
}
fn alloc_key(item: &str, n: u64) -> String {
    key(&["alloc/", item, "/"], Some(n))
}
fn customer_key(customer: &str, currency: &str) -> String {
    key(&["cust/", customer, "/", currency], None)
}
fn entry_prefix(account: &str) -> String {
    key(&["entry/", account, "/"], None)
}
fn entry_key(account: &str, seq: u64) -> String {
    key(&["entry/", account, "/"], Some(seq))
}
fn limit_prefix(account: &str) -> String {
    key(&["limit/", account, "/"], None)
}
fn limit_key(account: &str, seq: u64) -> String {
    key(&["limit/", account, "/"], Some(seq))
}
fn open_hold_prefix(account: &str) -> String {
    key(&["ohold/", account, "/"], None)
}
/// Open holds list in order of expiry (then id) under their account.
/// Expiries are valid timestamps, never negative.
fn open_hold_key(account: &str, expires_at_ms: i64, hold_id: &str) -> String {
    let mut k = key(&["ohold/", account, "/"], Some(expires_at_ms.max(0) as u64));
    k.push('/');
    k.push_str(hold_id);
    k
}
fn hold_key(id: &str) -> String {
    key(&["hold/", id], None)
}
fn order_key(id: &str) -> String {
    key(&["order/", id], None)
}
fn idem_key(k: &str) -> String {
    key(&["idem/", k], None)
}
fn invoice_key(id: &str) -> String {
    key(&["invoice/", id], None)
}
fn lines_key(id: &str) -> String {
    key(&["lines/", id], None)
}
fn account_invoice_prefix(account: &str) -> String {
    key(&["acctinv/", account, "/"], None)
}
fn account_invoice_key(account: &str, seq: u64) -> String {
    key(&["acctinv/", account, "/"], Some(seq))
}
fn company_key(id: &str) -> String {
    key(&["company/", id], None)
}
fn credit_note_key(id: &str) -> String {
    key(&["cnote/", id], None)
}
fn payment_key(id: &str) -> String {
    key(&["payment/", id], None)
}
fn account_payment_prefix(account: &str) -> String {
    key(&["acctpay/", account, "/"], None)
}
fn account_payment_key(account: &str, seq: u64) -> String {
    key(&["acctpay/", account, "/"], Some(seq))
}
fn reminder_prefix(account: &str) -> String {
    key(&["notice/", account, "/"], None)
}
fn reminder_key(account: &str, seq: u64) -> String {
    key(&["notice/", account, "/"], Some(seq))
}
fn cfg_key(account: &str) -> String {
    key(&["acfg/", account], None)
}
fn profile_key(account: &str) -> String {
    key(&["prof/", account], None)
}
fn note_prefix(account: &str) -> String {
    key(&["note/", account, "/"], None)
}
fn note_key(account: &str, seq: u64) -> String {
    key(&["note/", account, "/"], Some(seq))
}
fn delivery_prefix(account: &str) -> String {
    key(&["dlv/", account, "/"], None)
}
fn delivery_key(account: &str, seq: u64) -> String {
    key(&["dlv/", account, "/"], Some(seq))
}
fn statement_prefix(account: &str) -> String {
    key(&["stmt/", account, "/"], None)
}
fn statement_key(account: &str, seq: u64) -> String {
    key(&["stmt/", account, "/"], Some(seq))
}
/// The document-date ladder: what every item owes, by the date on it.
const DOCUMENT_LADDER: &str = "d";

/// The debtor indexes (the audit recomputes them with the same keys): one
/// row per account and sort order, empty values,
/// keys that sort in the order the debtor list is read. Amounts are per
/// currency (amounts in different currencies do not compare) and largest
/// first; utilisation largest first; the oldest unpaid due date first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ix {
    Balance,
    Overdue,
    Stored,
    Utilisation,
    OldestDue,
    Status,
}

impl Ix {
    pub const ALL: [Ix; 6] = [Ix::Balance, Ix::Overdue, Ix::Stored, Ix::Utilisation, Ix::OldestDue, Ix::Status];

    /// The index's own prefix, `dx/<name>/`.
    pub fn prefix(self) -> &'static str {
        match self {
            Ix::Balance => "dx/bal/",
            Ix::Overdue => "dx/ovd/",
            Ix::Stored => "dx/sto/",
            Ix::Utilisation => "dx/utl/",
            Ix::OldestDue => "dx/old/",
            Ix::Status => "dx/sts/",
        }
    }
}

/// An amount as an index position: largest first, 26 digits of
/// 10^25 minus its minor units.
fn descending(amount: Decimal, c: Currency) -> String {
    let mut a = amount;
    a.rescale(c.minor_units());
    let pos = 10i128.pow(25) - a.mantissa();
    let mut out = String::with_capacity(26);
    let digits = pos.max(0).to_string();
    for _ in digits.len()..26 {
        out.push('0');
    }
    out.push_str(&digits);
    out
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Active => "active",
        Status::OnHold => "on-hold",
        Status::Closed => "closed",
    }
}

/// The key of `account` in one debtor index, for the values in `ix`.
pub fn index_key(which: Ix, account: &str, currency: Currency, ix: &IndexState) -> String {
    let mut k = String::with_capacity(64);
    k.push_str(which.prefix());
    match which {
        Ix::Balance | Ix::Overdue | Ix::Stored => {
            let amount = match which {
                Ix::Balance => ix.balance,
                Ix::Overdue => ix.overdue,
                _ => ix.stored,
            };
            k.push_str(currency.code());
            k.push('/');
            k.push_str(&descending(amount, currency));
        }
        Ix::Utilisation => {
            let pos = UTILISATION_UNBOUNDED - ix.utilisation_pct.min(UTILISATION_UNBOUNDED);
            let digits = pos.to_string();
            for _ in digits.len()..6 {
                k.push('0');
            }
            k.push_str(&digits);
        }
        // Dates sort as text; "none" after every date.
        Ix::OldestDue => k.push_str(ix.oldest_due.as_deref().unwrap_or("none")),
        Ix::Status => k.push_str(status_name(ix.status)),
    }
    k.push('/');
    k.push_str(account);
    k
}

/// Utilisation, in whole percent, of exposure on a zero limit.
pub const UTILISATION_UNBOUNDED: u32 = 999_999;

/// Exposure in whole percent of the limit, rounded down (a debtor-list
/// position, not a figure).
pub fn utilisation_pct(exposure: Decimal, limit: Decimal) -> u32 {
    if exposure <= Decimal::ZERO {
        return 0;
    }
    if limit <= Decimal::ZERO {
        return UTILISATION_UNBOUNDED;
    }
    // Integer arithmetic on the two mantissas brought to one scale: every
    // approval computes this, and Decimal's division is the dear part.
    let scale = exposure.scale().max(limit.scale());
    let up = |d: Decimal| d.mantissa().checked_mul(10i128.checked_pow(scale - d.scale())?);
    match (up(exposure), up(limit)) {
        (Some(e), Some(l)) => e
            .checked_mul(100)
            .map(|e100| e100 / l)
            .and_then(|p| u32::try_from(p).ok())
            .map_or(UTILISATION_UNBOUNDED, |p| p.min(UTILISATION_UNBOUNDED)),
        _ => UTILISATION_UNBOUNDED,
    }
}

fn close_key(account: &str, date: &str) -> String {
    key(&["close/", account, "/", date], None)
}

/// The id of the next document of `series` on `account`:
/// `<PREFIX>-<account-id>-<n>`, `n` counting from 1 within the account
/// and series (`H-acme-1`, `INV-acme-1`, ...). At most
/// `DOCUMENT_ID_LEN_MAX` bytes: a 64-byte account id leaves room for any
/// prefix and a 20-digit number.
fn next_document_id(account: &mut Account, series: Series) -> Result<String, Error> {
    let n = account.numbers.next(series).ok_or_else(|| Error::StoreCorrupt(format!("account {} ran out of numbers", account.id)))?;
    let mut id = String::with_capacity(series.prefix().len() + account.id.len() + 22);
    id.push_str(series.prefix());
    id.push('-');
    id.push_str(&account.id);
    id.push('-');
    push_u64(&mut id, n);
    Ok(id)
}

/// The largest page a walk asks `scan` for.
const SCAN_PAGE: u32 = 128;
/// The first page of a walk: most walks stop after a row or two (the
/// oldest item a payment reaches, the first item not yet due), and every
/// row fetched is copied into the component.
const FIRST_PAGE: u32 = 4;

/// Walks the keys under a prefix in order, a page at a time, the pages
/// doubling from `FIRST_PAGE` to `SCAN_PAGE`. It holds no borrow of the
/// store between rows, so the walker may write as it goes (rows written
/// after the current one are met later).
struct Pager {
    prefix: String,
    after: Option<String>,
    page: u32,
    rows: alloc::vec::IntoIter<(String, Vec<u8>)>,
    last_page: bool,
}

impl Pager {
    /// A walk of `prefix`, after the full key `after` when given.
    fn new(prefix: String, after: Option<String>) -> Pager {
        Pager { prefix, after, page: FIRST_PAGE, rows: Vec::new().into_iter(), last_page: false }
    }

    fn next<K: Kv>(&mut self, kv: &K) -> Option<(String, Vec<u8>)> {
        self.peek(kv)?;
        let row = self.rows.next()?;
        self.after = Some(row.0.clone());
        Some(row)
    }

    /// The next row's key, fetching a page when needed.
    fn peek<K: Kv>(&mut self, kv: &K) -> Option<&str> {
        if self.rows.as_slice().is_empty() {
            if self.last_page {
                return None;
            }
            let page = kv.scan(&self.prefix, self.after.as_deref(), self.page);
            self.last_page = page.len() < self.page as usize;
            self.page = (self.page * 2).min(SCAN_PAGE);
            self.rows = page.into_iter();
        }
        self.rows.as_slice().first().map(|(k, _)| k.as_str())
    }
}

/// An account's open items, both lists merged into the order payments
/// reach them, from after a position (`<due>/<seq>`).
struct OpenItems {
    lists: [(usize, Pager); 2],
}

impl OpenItems {
    fn new(account: &str, after: Option<&str>) -> OpenItems {
        let list = |name: &str| {
            let prefix = open_item_prefix(account, name);
            let start = after.map(|a| key(&[&prefix, a], None));
            (prefix.len(), Pager::new(prefix, start))
        };
        OpenItems { lists: [list(LADDERS[0]), list(LADDERS[1])] }
    }

    /// The next item and its position.
    fn next<K: Kv>(&mut self, kv: &K) -> Result<Option<(String, OpenItemRef)>, Error> {
        let position = |k: Option<&str>, len: usize| k.map(|k| k[len..].to_owned());
        let [(a_len, a), (b_len, b)] = &mut self.lists;
        let first = position(a.peek(kv), *a_len);
        let second = position(b.peek(kv), *b_len);
        let (pager, at) = match (first, second) {
            (None, None) => return Ok(None),
            (Some(x), None) => (a, x),
            (None, Some(y)) => (b, y),
            (Some(x), Some(y)) if x <= y => (a, x),
            (Some(_), Some(y)) => (b, y),
        };
        let Some((k, bytes)) = pager.next(kv) else { return Ok(None) };
        Ok(Some((at, decode(&k, &bytes)?)))
    }
}

/// A bare decimal record (ladder rows).
#[derive(Serialize, serde::Deserialize)]
struct Dec(#[serde(with = "crate::codec::dec")] Decimal);

/// Decodes a stored record, naming its key when it cannot.
fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, Error> {
    crate::codec::decode(bytes).map_err(|e| Error::StoreCorrupt(format!("{key}: {e}")))
}

/// An item as its account's open-item index lists it.
fn item_ref(inv: &Invoice) -> OpenItemRef {
    OpenItemRef {
        id: inv.id.clone(),
        seq: inv.seq,
        kind: inv.kind,
        total: inv.total,
        outstanding: inv.outstanding,
        schedule: inv.schedule.clone(),
    }
}

/// Where an open item is listed: its index key's date, the due date of its
/// earliest unpaid portion. `None` when it owes nothing.
fn item_due(item: &OpenItemRef) -> Option<String> {
    rules::effective_due(&item.schedule, item.total, item.outstanding).map(dates::format)
}

/// One untaxed line of `amount`.
fn one_line(description: String, amount: Decimal) -> Line {
    Line { description, quantity: Decimal::ONE, unit_price: amount, net: amount, tax: Decimal::ZERO, total: amount, tax_rate: None }
}

/// Due `days` after the invoice date, no discount, one instalment.
fn net_terms(days: u32) -> Terms {
    Terms { net_days: days, basis: TermBasis::InvoiceDate, discount: None, instalments: Vec::new(), months: None, day_of_month: None, cut_off_day: None }
}

fn currency_of(account: &Account) -> Result<Currency, Error> {
    Currency::from_code(&account.currency)
        .map_err(|_| Error::StoreCorrupt(format!("account {} has currency {}", account.id, account.currency)))
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

fn parse_date(text: &str, field: Field) -> Result<NaiveDate, Error> {
    dates::parse(text, field)
}

/// A stored date written by this crate.
fn stored_date(text: &str) -> Result<NaiveDate, Error> {
    dates::parse(text, Field::Date).map_err(|_| Error::StoreCorrupt(format!("stored date {text:?}")))
}

/// An item's lines per tax rate; an item stored before rates were kept
/// has one part, without a rate.
fn item_tax_parts(invoice: &Invoice) -> Vec<TaxPart> {
    if invoice.tax_parts.is_empty() {
        return vec![TaxPart { rate: None, net: invoice.net_total, tax: invoice.tax_total }];
    }
    invoice.tax_parts.clone()
}

/// Lines added up per tax rate, in the order the rates first appear.
fn tax_parts_of(lines: &[Line]) -> Result<Vec<TaxPart>, Error> {
    let mut parts: Vec<TaxPart> = Vec::new();
    for l in lines {
        // Rates compare by value: 20 and 20.00 are one rate.
        let rate = l.tax_rate.map(|r| r.normalize());
        match parts.iter_mut().find(|p| p.rate == rate) {
            Some(p) => {
                p.net = add(p.net, l.net)?;
                p.tax = add(p.tax, l.tax)?;
            }
            None => parts.push(TaxPart { rate, net: l.net, tax: l.tax }),
        }
    }
    Ok(parts)
}

/// Checks and converts a tolerance in `currency`.
fn tolerance_rule(t: &ToleranceInput, currency: Currency) -> Result<ToleranceRule, Error> {
    Ok(match t {
        ToleranceInput::None => ToleranceRule::None,
        ToleranceInput::Amount(a) => ToleranceRule::Amount(money::parse_amount(a, currency, Sign::NonNegative, Field::Tolerance)?),
        ToleranceInput::Percent(p) => ToleranceRule::Percent(money::parse_percent(p, TOLERANCE_PERCENT_MAX, Sign::NonNegative, Field::Tolerance)?),
    })
}

/// Checks and converts payment terms. Fields the basis does not use must
/// be left out: terms that say more than they mean are refused, not
/// quietly read otherwise.
fn validate_terms(t: &TermsInput, currency: Currency) -> Result<Terms, Error> {
    let out_of_range = |field| Err(Error::PaymentTermsOutOfRange(field));
    // The bases whose due date is a calendar rule with no days to count.
    let calendar = t.basis.is_calendar() && t.basis != TermBasis::EndOfMonthAfterDays;
    if t.net_days > NET_DAYS_MAX || (calendar && t.net_days != 0) {
        return out_of_range(Field::NetDays);
    }
    if t.months.is_some_and(|m| !calendar || !(1..=TERM_MONTHS_MAX).contains(&m)) {
        return out_of_range(Field::Months);
    }
    let day_wanted = t.basis == TermBasis::DayOfMonth;
    if t.day_of_month.is_some() != day_wanted || t.day_of_month.is_some_and(|d| !(1..=31).contains(&d)) {
        return out_of_range(Field::DayOfMonth);
    }
    let by_month = matches!(t.basis, TermBasis::EndOfMonth | TermBasis::DayOfMonth | TermBasis::MonthsAfterEndOfMonth);
    if t.cut_off_day.is_some_and(|c| !by_month || !(1..=CUT_OFF_DAY_MAX).contains(&c)) {
        return out_of_range(Field::CutOffDay);
    }
    let discount = match &t.discount {
        None => None,
        Some(d) => {
            let off = match (&d.percent, &d.amount) {
                (Some(p), None) => Share::Percent(money::parse_percent(p, 100, Sign::Positive, Field::DiscountPercent)?),
                (None, Some(a)) => Share::Amount(money::parse_amount(a, currency, Sign::Positive, Field::DiscountAmount)?),
                (Some(_), Some(_)) => return out_of_range(Field::DiscountAmount),
                (None, None) => return out_of_range(Field::DiscountPercent),
            };
            // Calendar terms have no fixed number of days to the due date:
            // their window ends on the due date at the latest.
            let days_max = if calendar { NET_DAYS_MAX } else { t.net_days };
            if d.days == 0 || d.days > days_max {
                return Err(Error::PaymentTermsOutOfRange(Field::DiscountDays));
            }
            Some(Discount { off, days: d.days, basis: d.basis.unwrap_or_default() })
        }
    };
    let mut instalments = Vec::new();
    if !t.instalments.is_empty() {
        if t.basis.is_calendar() {
            return out_of_range(Field::Instalments);
        }
        if t.instalments.len() > INSTALMENTS_MAX || discount.is_some() {
            return Err(Error::PaymentTermsOutOfRange(Field::InstalmentDays));
        }
        let mut percent_sum = Decimal::ZERO;
        let mut last_days: Option<u32> = None;
        let lines = t.instalments.len();
        for (n, i) in t.instalments.iter().enumerate() {
            let share = match (&i.percent, &i.amount) {
                (Some(p), None) => {
                    let p = money::parse_percent_scaled(p, 100, INSTALMENT_PERCENT_SCALE_MAX, Field::InstalmentPercent)?;
                    percent_sum += p;
                    Share::Percent(p)
                }
                (None, Some(a)) => Share::Amount(money::parse_amount(a, currency, Sign::Positive, Field::InstalmentAmount)?),
                (Some(_), Some(_)) => return out_of_range(Field::InstalmentAmount),
                // The balance line: the last, and only there.
                (None, None) if n + 1 == lines => Share::Balance,
                (None, None) => return out_of_range(Field::Instalments),
            };
            // Lines never fall due before the one above them; two may
            // share a day.
            if i.days > NET_DAYS_MAX || last_days.is_some_and(|l| i.days < l) {
                return Err(Error::PaymentTermsOutOfRange(Field::InstalmentDays));
            }
            last_days = Some(i.days);
            instalments.push(Instalment { share, days: i.days });
        }
        let balance_line = instalments.last().is_some_and(|i| i.share == Share::Balance);
        if balance_line {
            if percent_sum > Decimal::ONE_HUNDRED {
                return Err(Error::PaymentTermsOutOfRange(Field::InstalmentPercent));
            }
        } else {
            // Without a balance line only shares can be sure to add up.
            if instalments.iter().any(|i| matches!(i.share, Share::Amount(_))) {
                return out_of_range(Field::InstalmentAmount);
            }
            if percent_sum != Decimal::ONE_HUNDRED {
                return Err(Error::PaymentTermsOutOfRange(Field::InstalmentPercent));
            }
        }
        if last_days != Some(t.net_days) {
            return Err(Error::PaymentTermsOutOfRange(Field::InstalmentDays));
        }
    }
    Ok(Terms {
        net_days: t.net_days,
        basis: t.basis,
        discount,
        instalments,
        months: t.months,
        day_of_month: t.day_of_month,
        cut_off_day: t.cut_off_day,
    })
}

/// Checks and converts a billing policy for an account in `currency`.
fn validate_policy(p: &PolicyInput, currency: Currency) -> Result<Policy, Error> {
    if p.grace_days > GRACE_DAYS_MAX {
        return Err(Error::PolicyOutOfRange(Field::GraceDays));
    }
    let late_fee = match &p.late_fee {
        None => None,
        Some(f) => Some(money::parse_amount(f, currency, Sign::Positive, Field::LateFee)?),
    };
    let interest = match &p.interest {
        None => None,
        Some(i) => {
            let rate = money::parse_decimal(&i.annual_rate_percent, Field::InterestRate)?;
            if rate <= Decimal::ZERO {
                return Err(Error::AmountMustBePositive(Field::InterestRate));
            }
            if rate.normalize().scale() > INTEREST_RATE_SCALE_MAX {
                return Err(Error::AmountTooPrecise(Field::InterestRate));
            }
            if rate > Decimal::from(INTEREST_RATE_PERCENT_MAX) {
                return Err(Error::AmountTooLarge(Field::InterestRate));
            }
            Some(Interest { annual_rate_percent: rate.normalize(), day_count: i.day_count })
        }
    };
    if p.reminders.len() > REMINDER_STEPS_MAX {
        return Err(Error::PolicyOutOfRange(Field::Reminders));
    }
    let mut previous: Option<i32> = None;
    for step in &p.reminders {
        let in_range = step.offset_days.abs() <= REMINDER_OFFSET_DAYS_MAX && (1..=REMINDER_LEVEL_MAX).contains(&step.level);
        if !in_range || previous.is_some_and(|o| step.offset_days <= o) {
            return Err(Error::PolicyOutOfRange(Field::Reminders));
        }
        previous = Some(step.offset_days);
    }
    if p.hold_after_days_overdue.is_some_and(|d| d > HOLD_AFTER_DAYS_MAX) {
        return Err(Error::PolicyOutOfRange(Field::HoldAfterDaysOverdue));
    }
    let small_difference_max =
        money::parse_amount(&p.small_difference_max, currency, Sign::NonNegative, Field::SmallDifferenceMax)?;
    Ok(Policy {
        grace_days: p.grace_days,
        late_fee,
        interest,
        reminders: p.reminders.clone(),
        hold_after_days_overdue: p.hold_after_days_overdue,
        small_difference_max,
        small_difference_treatment: p.small_difference_treatment,
        statement_day: match p.statement_day {
            None => None,
            Some(d) if (1..=31).contains(&d) => Some(d),
            Some(_) => return Err(Error::PolicyOutOfRange(Field::StatementDay)),
        },
        open_ended_holds: p.open_ended_holds == Some(true),
    })
}

fn pct(p: Decimal) -> String {
    p.normalize().to_string()
}

/// A share as the contract shows it: (percent, amount), both none for the
/// balance line.
fn share_view(s: Share, c: Currency) -> (Option<String>, Option<String>) {
    match s {
        Share::Percent(p) => (Some(pct(p)), None),
        Share::Amount(a) => (None, Some(c.format(a))),
        Share::Balance => (None, None),
    }
}

fn terms_view(t: &Terms, c: Currency) -> TermsView {
    TermsView {
        net_days: t.net_days,
        basis: t.basis,
        discount: t.discount.as_ref().map(|d| {
            let (percent, amount) = share_view(d.off, c);
            DiscountInput { percent, amount, days: d.days, basis: Some(d.basis) }
        }),
        instalments: t
            .instalments
            .iter()
            .map(|i| {
                let (percent, amount) = share_view(i.share, c);
                InstalmentInput { percent, amount, days: i.days }
            })
            .collect(),
        months: t.months,
        day_of_month: t.day_of_month,
        cut_off_day: t.cut_off_day,
    }
}

fn policy_view(p: &Policy, c: Currency) -> PolicyView {
    PolicyView {
        grace_days: p.grace_days,
        late_fee: p.late_fee.map(|f| c.format(f)),
        interest: p
            .interest
            .as_ref()
            .map(|i| InterestInput { annual_rate_percent: pct(i.annual_rate_percent), day_count: i.day_count }),
        reminders: p.reminders.clone(),
        hold_after_days_overdue: p.hold_after_days_overdue,
        small_difference_max: c.format(p.small_difference_max),
        small_difference_treatment: p.small_difference_treatment,
        statement_day: p.statement_day,
        open_ended_holds: Some(p.open_ended_holds),
    }
}

impl<K: Kv> Engine<K> {
    /// An engine over `kv`.
    pub fn new(kv: K) -> Self {
        Engine { kv, buf: Vec::with_capacity(1024) }
    }

    /// The storage, for tests that inspect it.
    pub fn kv(&self) -> &K {
        &self.kv
    }

    // ------------------------------------------------------------ storage

    fn load<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        match self.kv.get(key) {
            None => Ok(None),
            Some(bytes) => decode(key, &bytes).map(Some),
        }
    }

    fn save<T: Serialize>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        let mut buf = core::mem::take(&mut self.buf);
        buf.clear();
        let bytes = crate::codec::encode_into(value, buf).map_err(|e| Error::StoreCorrupt(format!("{key}: {e}")))?;
        self.kv.put(key, &bytes);
        self.buf = bytes;
        Ok(())
    }

    /// The account record: its figures and settings, never its items.
    fn account(&self, id: &str) -> Result<Account, Error> {
        let mut account: Account = self.load(&account_key(id))?.ok_or_else(|| Error::AccountNotFound(id.to_owned()))?;
        account.loaded = Some(Loaded {
            posted_debt: account.posted_debt,
            stored_balance: account.stored_balance,
            held: account.held,
            credit_limit: account.credit_limit,
            overdue_close: account.overdue_close,
            status: account.status,
        });
        Ok(account)
    }

    /// Saves the account: its debtor-index rows first (only those whose
    /// values changed), then its profile when it changed, then the record.
    fn save_account(&mut self, account: &mut Account) -> Result<(), Error> {
        self.reindex(account)?;
        if account.cfg_changed
            && let Some(cfg) = &account.cfg
        {
            let key = cfg_key(&account.id);
            let cfg = cfg.clone();
            self.save(&key, &cfg)?;
            account.cfg_changed = false;
        }
        if account.profile_changed
            && let Some(p) = &account.profile
        {
            let key = profile_key(&account.id);
            let p = p.clone();
            self.save(&key, &p)?;
            account.profile_changed = false;
        }
        self.save(&account_key(&account.id), account)
    }

    /// Moves the account's debtor-index rows to its values now: a row is
    /// written only for an index whose value changed. What it was listed
    /// under is what was read (every save lists it under its figures), so a
    /// call that changed nothing listed (most approvals) costs a few
    /// comparisons and writes nothing.
    fn reindex(&mut self, account: &mut Account) -> Result<(), Error> {
        let (loaded, ladder_changed) = (account.loaded.clone(), account.invoice_ladder_changed);
        let old = match (loaded, account.indexed) {
            (Some(l), true) => l,
            _ => return self.index_all(account),
        };
        let util_old = utilisation_pct(add(old.posted_debt, old.held)?, old.credit_limit);
        let util_now = utilisation_pct(add(account.posted_debt, account.held)?, account.credit_limit);
        let balance_old = sub(old.posted_debt, old.stored_balance)?;
        let balance_now = sub(account.posted_debt, account.stored_balance)?;
        let oldest_due = if ladder_changed { self.oldest_unpaid_due(&account.id) } else { account.oldest_due.clone() };
        let changed = [
            balance_old != balance_now,
            old.overdue_close != account.overdue_close,
            old.stored_balance != account.stored_balance,
            util_old != util_now,
            oldest_due != account.oldest_due,
            old.status != account.status,
        ];
        if changed.iter().any(|&c| c) {
            let c = currency_of(account)?;
            let before = IndexState {
                balance: balance_old,
                overdue: old.overdue_close,
                stored: old.stored_balance,
                utilisation_pct: util_old,
                oldest_due: account.oldest_due.clone(),
                status: old.status,
            };
            let after = IndexState {
                balance: balance_now,
                overdue: account.overdue_close,
                stored: account.stored_balance,
                utilisation_pct: util_now,
                oldest_due: oldest_due.clone(),
                status: account.status,
            };
            for (which, changed) in Ix::ALL.into_iter().zip(changed) {
                if changed {
                    self.kv.delete(&index_key(which, &account.id, c, &before));
                    self.kv.put(&index_key(which, &account.id, c, &after), &[]);
                }
            }
        }
        account.oldest_due = oldest_due;
        self.mark_listed(account);
        Ok(())
    }

    /// Lists an account that is in no index yet (a new one).
    fn index_all(&mut self, account: &mut Account) -> Result<(), Error> {
        let c = currency_of(account)?;
        let now = IndexState {
            balance: sub(account.posted_debt, account.stored_balance)?,
            overdue: account.overdue_close,
            stored: account.stored_balance,
            utilisation_pct: utilisation_pct(add(account.posted_debt, account.held)?, account.credit_limit),
            oldest_due: self.oldest_unpaid_due(&account.id),
            status: account.status,
        };
        for which in Ix::ALL {
            self.kv.put(&index_key(which, &account.id, c, &now), &[]);
        }
        account.indexed = true;
        account.oldest_due = now.oldest_due;
        self.mark_listed(account);
        Ok(())
    }

    fn oldest_unpaid_due(&self, account: &str) -> Option<String> {
        let prefix = owed_prefix(account, ladder(ItemKind::Invoice));
        self.kv.scan(&prefix, None, 1).into_iter().next().map(|(k, _)| k[prefix.len()..].to_owned())
    }

    /// The account's figures are what it is now listed under.
    fn mark_listed(&self, account: &mut Account) {
        account.invoice_ladder_changed = false;
        account.loaded = Some(Loaded {
            posted_debt: account.posted_debt,
            stored_balance: account.stored_balance,
            held: account.held,
            credit_limit: account.credit_limit,
            overdue_close: account.overdue_close,
            status: account.status,
        });
    }

    /// The account's settings and counters, read once per call;
    /// `cfg_mut` marks them to be saved with the account.
    fn cfg<'a>(&self, account: &'a mut Account) -> Result<&'a AccountCfg, Error> {
        if account.cfg.is_none() {
            let key = cfg_key(&account.id);
            account.cfg = Some(self.load(&key)?.ok_or_else(|| Error::StoreCorrupt(format!("{key} is missing")))?);
        }
        Ok(account.cfg.as_ref().expect("loaded above"))
    }

    fn cfg_mut<'a>(&self, account: &'a mut Account) -> Result<&'a mut AccountCfg, Error> {
        self.cfg(account)?;
        account.cfg_changed = true;
        Ok(account.cfg.as_mut().expect("loaded above"))
    }

    /// The account's profile (payment habits, promises), read once per
    /// call; `profile_mut` marks it to be saved with the account.
    fn profile<'a>(&self, account: &'a mut Account) -> Result<&'a Profile, Error> {
        if account.profile.is_none() {
            account.profile = Some(self.load(&profile_key(&account.id))?.unwrap_or_default());
        }
        Ok(account.profile.as_ref().expect("loaded above"))
    }

    fn profile_mut<'a>(&self, account: &'a mut Account) -> Result<&'a mut Profile, Error> {
        self.profile(account)?;
        account.profile_changed = true;
        Ok(account.profile.as_mut().expect("loaded above"))
    }

    /// The account a money movement is for: it must exist, be in the
    /// request's currency, and not be closed (checked in that order).
    fn account_for_money(&self, id: &str, currency: Currency) -> Result<Account, Error> {
        let account = self.account(id)?;
        ensure_currency(&account, currency)?;
        if account.status == Status::Closed {
            return Err(Error::AccountClosed);
        }
        Ok(account)
    }

    fn hold(&self, id: &str) -> Result<Hold, Error> {
        self.load(&hold_key(id))?.ok_or_else(|| Error::HoldNotFound(id.to_owned()))
    }

    fn invoice(&self, id: &str) -> Result<Invoice, Error> {
        self.load(&invoice_key(id))?.ok_or_else(|| Error::InvoiceNotFound(id.to_owned()))
    }

    /// Runs `op` once per idempotency key. A retry with the same request gets
    /// the remembered answer; another request under the key is refused.
    fn idempotent<R: Remembered>(
        &mut self,
        ctx: &Ctx,
        operation: &str,
        request: &impl Serialize,
        op: impl FnOnce(&mut Self) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let fingerprint =
            crate::codec::fingerprint(&(operation, request)).map_err(|e| Error::StoreCorrupt(format!("request: {e}")))?;
        let key = idem_key(&ctx.idempotency_key);
        if let Some(record) = self.load::<IdemRecord>(&key)? {
            if record.request != fingerprint {
                return Err(Error::IdempotencyKeyReused);
            }
            let corrupt = || Error::StoreCorrupt(format!("{key}: answer of another kind"));
            return match record.response {
                Response::Released(inner) => {
                    let mut answer = R::unwrap(*inner).ok_or_else(corrupt)?;
                    answer.set_released_from_hold();
                    Ok(answer)
                }
                response => R::unwrap(response).ok_or_else(corrupt),
            };
        }
        let answer = op(self)?;
        let response = if answer.released_from_hold() {
            ResponseRef::Released(alloc::boxed::Box::new(answer.wrap_ref()))
        } else {
            answer.wrap_ref()
        };
        self.save(&key, &IdemRecordRef { request: &fingerprint, response })?;
        Ok(answer)
    }

    /// Appends an entry and moves the cached figures by it. Returns its seq.
    fn append(&mut self, account: &mut Account, ctx: &Ctx, e: NewEntry) -> Result<u64, Error> {
        let debits: Decimal = e.postings.iter().map(|p| p.debit).sum();
        let credits: Decimal = e.postings.iter().map(|p| p.credit).sum();
        if debits != credits {
            // A bug, not bad input: refuse to write it rather than trap.
            return Err(Error::StoreCorrupt(format!("unbalanced {:?} entry: {debits} != {credits}", e.kind)));
        }
        let debt_delta = e.net(Book::Receivable);
        let stored_delta = -e.net(Book::CustomerCredit);
        if let Some(company) = &account.company_id {
            self.company_moved(&company.clone(), debt_delta, stored_delta, e.held_delta)?;
        }
        account.posted_debt = add(account.posted_debt, debt_delta)?;
        account.stored_balance = add(account.stored_balance, stored_delta)?;
        account.held = add(account.held, e.held_delta)?;
        account.highest_debt = account.highest_debt.max(account.posted_debt);
        account.entry_count += 1;
        // Never earlier than the entry before it: a clock that steps back
        // does not reorder the ledger (statements find periods by time).
        account.last_entry_at_ms = account.last_entry_at_ms.max(ctx.now_ms);
        let entry = Entry {
            seq: account.entry_count,
            at_ms: account.last_entry_at_ms,
            kind: e.kind,
            amount: e.amount,
            debt_delta,
            stored_delta,
            held_delta: e.held_delta,
            debt_after: account.posted_debt,
            stored_after: account.stored_balance,
            hold_id: e.hold_id,
            order_id: e.order_id,
            document_id: e.document_id,
            memo: e.memo,
            idempotency_key: ctx.idempotency_key.clone(),
            invoice_id: e.invoice_id,
            postings: e.postings,
            hash: [0; 32],
        };
        // Encoded once: the chain hashes the record's bytes before `hash`
        // (its last field: a length byte and 32 bytes), then fills it in.
        let key = entry_key(&account.id, entry.seq);
        let mut buf = core::mem::take(&mut self.buf);
        buf.clear();
        let mut bytes = crate::codec::encode_into(&entry, buf).map_err(|e| Error::StoreCorrupt(format!("{key}: {e}")))?;
        let end = bytes.len() - crate::chain::HASH_FIELD_LEN;
        let hash = crate::chain::link(&account.head_hash, &bytes[1..end]);
        bytes[end + 1..].copy_from_slice(&hash);
        self.kv.put(&key, &bytes);
        self.buf = bytes;
        account.head_hash = hash;
        Ok(entry.seq)
    }

    /// Lists a newly placed hold as open on the account.
    fn add_open_hold(&mut self, account: &mut Account, r: OpenHoldRef) -> Result<(), Error> {
        account.open_hold_count += 1;
        account.next_expiry_ms = Some(account.next_expiry_ms.map_or(r.expires_at_ms, |e| e.min(r.expires_at_ms)));
        self.save(&open_hold_key(&account.id, r.expires_at_ms, &r.hold_id), &r)
    }

    /// Takes a hold off the account's open list (captured, voided or
    /// expired). `next_expiry_ms` may now be early; the next call that
    /// reaches it finds nothing to release and moves it on.
    fn remove_open_hold(&mut self, account: &mut Account, hold: &Hold) -> Result<(), Error> {
        account.open_hold_count = account
            .open_hold_count
            .checked_sub(1)
            .ok_or_else(|| Error::StoreCorrupt(format!("account {} lists no open hold to remove", account.id)))?;
        if account.open_hold_count == 0 {
            account.next_expiry_ms = None;
        }
        self.kv.delete(&open_hold_key(&account.id, hold.expires_at_ms, &hold.id));
        Ok(())
    }

    /// Every open hold of the account, in order of expiry.
    fn open_hold_refs(&self, account: &Account) -> Result<Vec<OpenHoldRef>, Error> {
        if account.open_hold_count == 0 {
            return Ok(Vec::new());
        }
        let limit = (HOLDS_PER_ACCOUNT_MAX + 1) as u32;
        self.kv
            .scan(&open_hold_prefix(&account.id), None, limit)
            .into_iter()
            .map(|(k, v)| decode::<OpenHoldRef>(&k, &v))
            .collect()
    }

    /// Releases every hold of the account whose expiry is at or before now.
    /// Returns how many it released. Reads the open list only once the
    /// earliest expiry is reached.
    fn release_expired(&mut self, account: &mut Account, ctx: &Ctx) -> Result<u32, Error> {
        if account.next_expiry_ms.is_none_or(|e| e > ctx.now_ms) {
            return Ok(0);
        }
        let refs = self.open_hold_refs(account)?;
        let mut count = 0;
        for r in refs.iter().filter(|h| h.expires_at_ms <= ctx.now_ms) {
            let mut hold = self.hold(&r.hold_id)?;
            hold.state = HoldState::Expired;
            self.save(&hold_key(&hold.id), &hold)?;
            self.remove_open_hold(account, &hold)?;
            self.clear_open_hold(&hold.order_id, &hold.id)?;
            let e = NewEntry::new(EntryKind::HoldExpired, hold.reserved, format!("hold {} expired", hold.id))
                .held(-hold.reserved)
                .hold(&hold.id)
                .order(&hold.order_id);
            self.append(account, ctx, e)?;
            count += 1;
        }
        // The list is in order of expiry: the first live hold is the next.
        account.next_expiry_ms = refs.iter().map(|h| h.expires_at_ms).find(|&e| e > ctx.now_ms);
        Ok(count)
    }

    fn clear_open_hold(&mut self, order_id: &str, hold_id: &str) -> Result<(), Error> {
        if let Some(mut order) = self.load::<Order>(&order_key(order_id))?
            && order.open_hold_id.as_deref() == Some(hold_id)
        {
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
                invoices: Vec::new(),
                captured: Decimal::ZERO,
                balance_applied: Decimal::ZERO,
                credited: Decimal::ZERO,
            }),
        }
    }

    /// Lifts a hold that day-close put on for overdue invoices once no item
    /// is more than `hold-after-days-overdue` late on `today`.
    fn release_overdue_hold(&mut self, account: &mut Account, ctx: &Ctx, today: NaiveDate) -> Result<bool, Error> {
        if !(account.status == Status::OnHold && account.held_for_overdue) {
            return Ok(false);
        }
        if let Some(limit) = self.cfg(account)?.policy.hold_after_days_overdue
            && self.invoice_overdue_beyond(account, today, limit)?
        {
            return Ok(false);
        }
        account.status = Status::Active;
        account.held_for_overdue = false;
        self.company_overdue(account, false)?;
        let memo = "OnHold -> Active: no invoice is overdue past the hold threshold".to_owned();
        self.append(account, ctx, NewEntry::new(EntryKind::StatusChanged, Decimal::ZERO, memo))?;
        Ok(true)
    }

    /// Whether an invoice of the account has a portion unpaid more than
    /// `days` days after its due date on `today`: one read of the invoice
    /// ladder, whatever the number of items.
    fn invoice_overdue_beyond(&self, account: &Account, today: NaiveDate, days: u32) -> Result<bool, Error> {
        // The account keeps its oldest unpaid due date (the ladder's first
        // row) for the debtor list; read the ladder only when this call
        // has changed it.
        let earliest = if account.indexed && !account.invoice_ladder_changed {
            account.oldest_due.clone()
        } else {
            self.oldest_unpaid_due(&account.id)
        };
        let Some(earliest) = earliest else { return Ok(false) };
        Ok(dates::days_between(stored_date(&earliest)?, today) > i64::from(days))
    }

    /// What the account's items have unpaid from portions due before
    /// `today`: the ladders read up to that day, one row per due date.
    fn overdue_total(&self, account: &Account, today: NaiveDate) -> Result<Decimal, Error> {
        if account.posted_debt.is_zero() {
            // Nothing is owed (posted debt is what the open items owe).
            return Ok(Decimal::ZERO);
        }
        let today = dates::format(today);
        let mut total = Decimal::ZERO;
        for ladder in LADDERS {
            let prefix = owed_prefix(&account.id, ladder);
            let mut rows = Pager::new(prefix.clone(), None);
            while let Some((key, bytes)) = rows.next(&self.kv) {
                if key[prefix.len()..] >= *today {
                    break;
                }
                total = add(total, decode::<Dec>(&key, &bytes)?.0)?;
            }
        }
        Ok(total)
    }

    /// Adds `delta` to what the account's items of `kind` owe on `date`;
    /// a row that comes to zero is removed.
    fn owed_add(&mut self, account: &mut Account, ladder: &str, date: &str, delta: Decimal) -> Result<(), Error> {
        if ladder == "i" {
            account.invoice_ladder_changed = true;
        }
        // The overdue figure as of the last close follows every change to
        // portions due before that day.
        if ladder != DOCUMENT_LADDER
            && account.overdue_close_on.as_deref().is_some_and(|close| date < close)
        {
            account.overdue_close = add(account.overdue_close, delta)?;
        }
        let key = owed_key(&account.id, ladder, date);
        let now = add(self.load::<Dec>(&key)?.map_or(Decimal::ZERO, |d| d.0), delta)?;
        if now < Decimal::ZERO {
            return Err(Error::StoreCorrupt(format!("{key} would owe {now}")));
        }
        if now.is_zero() {
            self.kv.delete(&key);
            Ok(())
        } else {
            self.save(&key, &Dec(now))
        }
    }

    /// Moves an item's listing from what it was (`before`; `None` for a new
    /// item) to what `after` is: its place in the open-item index, the
    /// account's count of open items, and its unpaid portions on the
    /// ladders. Touches only this item's rows.
    fn sync_item(&mut self, account: &mut Account, before: Option<&OpenItemRef>, after: &Invoice) -> Result<(), Error> {
        let after_ref = item_ref(after);
        let list = ladder(after.kind);
        let before_key = before.and_then(|b| item_due(b).map(|due| open_item_key(&account.id, list, &due, b.seq)));
        let after_key = item_due(&after_ref).map(|due| open_item_key(&account.id, list, &due, after.seq));
        if let Some(k) = &before_key
            && after_key.as_ref() != Some(k)
        {
            self.kv.delete(k);
        }
        if let Some(k) = &after_key {
            self.save(k, &after_ref)?;
        }
        match (before_key.is_some(), after_key.is_some()) {
            (false, true) => self.cfg_mut(account)?.open_item_count += 1,
            (true, false) => {
                let id = account.id.clone();
                let cfg = self.cfg_mut(account)?;
                cfg.open_item_count =
                    cfg.open_item_count.checked_sub(1).ok_or_else(|| Error::StoreCorrupt(format!("account {id} counts no open item to close")))?;
            }
            _ => {}
        }
        // Ladder rows move by the difference of unpaid portions per date.
        let mut deltas: Vec<(String, Decimal)> = Vec::new();
        if let Some(b) = before {
            for (due, amount) in rules::unpaid_portions(&b.schedule, b.total, b.outstanding) {
                deltas.push((due.to_owned(), -amount));
            }
        }
        for (due, amount) in rules::unpaid_portions(&after.schedule, after.total, after.outstanding) {
            match deltas.iter_mut().find(|(d, _)| d == due) {
                Some((_, delta)) => *delta += amount,
                None => deltas.push((due.to_owned(), amount)),
            }
        }
        for (due, delta) in deltas {
            if !delta.is_zero() {
                self.owed_add(account, ladder(after.kind), &due, delta)?;
            }
        }
        let document_delta = sub(after.outstanding, before.map_or(Decimal::ZERO, |b| b.outstanding))?;
        if !document_delta.is_zero() {
            self.owed_add(account, DOCUMENT_LADDER, &after.invoice_date, document_delta)?;
        }
        Ok(())
    }

    /// Records the next allocation on an item (stored on its own key, so an
    /// item may have any number).
    fn add_allocation(&mut self, invoice: &mut Invoice, allocation: &Allocation) -> Result<(), Error> {
        invoice.allocation_count += 1;
        self.save(&alloc_key(&invoice.id, invoice.allocation_count), allocation)
    }

    // ------------------------------------------------------------ figures

    fn raw_figures(&self, account: &Account, now_ms: i64) -> Result<RawFigures, Error> {
        let currency = currency_of(account)?;
        // Until the earliest expiry every open hold counts: `held` is their
        // sum. After it (a query between calls), add up the live ones.
        let (open_holds, open_hold_count) = if account.next_expiry_ms.is_none_or(|e| e > now_ms) {
            (account.held, account.open_hold_count)
        } else {
            let mut sum = Decimal::ZERO;
            let mut count = 0;
            for h in self.open_hold_refs(account)?.iter().filter(|h| h.expires_at_ms > now_ms) {
                sum = add(sum, h.amount)?;
                count += 1;
            }
            (sum, count)
        };
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

    fn figures(&self, account: &Account, now_ms: i64) -> Result<Figures, Error> {
        Self::figures_view(account, &self.raw_figures(account, now_ms)?)
    }

    fn summary(&self, account: &mut Account, now_ms: i64) -> Result<AccountSummary, Error> {
        let c = currency_of(account)?;
        let raw = self.raw_figures(account, now_ms)?;
        let overdue = self.overdue_total(account, dates::day_of(now_ms))?;
        self.cfg(account)?;
        let cfg = account.cfg.as_ref().expect("read above");
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
            terms: terms_view(&cfg.terms, c),
            balance: c.format(sub(raw.posted_debt, raw.stored_balance)?),
            policy: policy_view(&cfg.policy, c),
            held_for_overdue: account.held_for_overdue,
            overdue: c.format(overdue),
            open_hold_count: raw.open_hold_count,
            figures: Self::figures_view(account, &raw)?,
            opened_at_ms: cfg.opened_at_ms,
            entry_count: account.entry_count,
            company_id: account.company_id.clone(),
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
            reserved: currency.format(if state == HoldState::Open { hold.reserved } else { Decimal::ZERO }),
            captured: currency.format(hold.captured),
            capture_count: hold.captures,
            state,
            placed_at_ms: hold.placed_at_ms,
            expires_at_ms: (hold.expires_at_ms != OPEN_ENDED_EXPIRY_MS).then_some(hold.expires_at_ms),
        }
    }

    // ------------------------------------------------------------ items

    /// Creates an open item (invoice, fee, interest or adjustment) on the
    /// account and saves it. The caller appends the entry that posts it.
    #[allow(clippy::too_many_arguments)]
    fn create_item(
        &mut self,
        account: &mut Account,
        kind: ItemKind,
        order_id: Option<&str>,
        related: Option<&str>,
        invoice_date: NaiveDate,
        delivery_date: Option<NaiveDate>,
        lines: Vec<Line>,
        terms: Terms,
    ) -> Result<(Invoice, Vec<Line>), Error> {
        let id = next_document_id(account, if kind == ItemKind::Invoice { Series::Invoice } else { Series::DebitNote })?;
        let (invoice, lines) = self.new_item(account, id, kind, order_id, related, invoice_date, delivery_date, lines, terms)?;
        self.store_item(account, &invoice, &lines)?;
        Ok((invoice, lines))
    }

    /// An item not yet stored: `create_item` without its number drawn and
    /// without saving (an item brought in keeps another system's number,
    /// and what was paid on it there).
    #[allow(clippy::too_many_arguments)]
    fn new_item(
        &mut self,
        account: &mut Account,
        id: String,
        kind: ItemKind,
        order_id: Option<&str>,
        related: Option<&str>,
        invoice_date: NaiveDate,
        delivery_date: Option<NaiveDate>,
        lines: Vec<Line>,
        terms: Terms,
    ) -> Result<(Invoice, Vec<Line>), Error> {
        let c = currency_of(account)?;
        let net_total: Decimal = lines.iter().map(|l| l.net).sum();
        let tax_total: Decimal = lines.iter().map(|l| l.tax).sum();
        let total = add(net_total, tax_total)?;
        let when = rules::term_dates(&terms, invoice_date, delivery_date)?;
        let schedule = rules::schedule(total, when.due, &terms.instalments, when.anchor, c)?;
        let discount_until = when.discount_until.map(dates::format);
        let discount_amount = match &terms.discount {
            Some(d) => rules::discount_amount(d, net_total, total, c)?,
            None => Decimal::ZERO,
        };
        let tax_parts = tax_parts_of(&lines)?;
        let seq = {
            let cfg = self.cfg_mut(account)?;
            cfg.item_count += 1;
            cfg.item_count
        };
        let invoice = Invoice {
            id: id.clone(),
            account_id: account.id.clone(),
            seq,
            kind,
            order_id: order_id.map(str::to_owned),
            related_invoice_id: related.map(str::to_owned),
            invoice_date: dates::format(invoice_date),
            delivery_date: delivery_date.map(dates::format),
            net_total,
            tax_total,
            total,
            tax_parts,
            due_date: dates::format(when.due),
            terms,
            discount_until,
            discount_amount,
            discount_taken: false,
            schedule,
            outstanding: total,
            settled_on: None,
            allocation_count: 0,
            late_fees_charged: Decimal::ZERO,
            interest_accrued: Decimal::ZERO,
            interest_accrued_to: None,
            interest_charged: Decimal::ZERO,
            reminded: None,
            interest_item: None,
        };
        Ok((invoice, lines))
    }

    /// Saves a new item, its lines and its listings.
    fn store_item(&mut self, account: &mut Account, invoice: &Invoice, lines: &[Line]) -> Result<(), Error> {
        self.save(&invoice_key(&invoice.id), invoice)?;
        self.save(&lines_key(&invoice.id), &lines)?;
        self.save(&account_invoice_key(&account.id, invoice.seq), &invoice.id)?;
        self.sync_item(account, None, invoice)
    }

    /// A one-line item due on `date` (fees, interest, adjustments).
    fn create_debit_item(
        &mut self,
        account: &mut Account,
        kind: ItemKind,
        related: Option<&str>,
        date: NaiveDate,
        description: String,
        amount: Decimal,
    ) -> Result<Invoice, Error> {
        self.create_item(account, kind, None, related, date, None, vec![one_line(description, amount)], net_terms(0)).map(|(item, _)| item)
    }

    /// Saves an item that was `before` when read, and moves its listing.
    fn save_item(&mut self, account: &mut Account, before: &OpenItemRef, invoice: &Invoice) -> Result<(), Error> {
        self.save(&invoice_key(&invoice.id), invoice)?;
        self.sync_item(account, Some(before), invoice)
    }

    /// Accrues interest on an item up to `to`, when the policy charges it.
    fn accrue(&self, account: &mut Account, invoice: &mut Invoice, to: NaiveDate) -> Result<(), Error> {
        let Some(rule) = self.cfg(account)?.policy.interest.clone() else { return Ok(()) };
        if invoice.kind != ItemKind::Invoice || invoice.outstanding.is_zero() {
            return Ok(());
        }
        let from = match &invoice.interest_accrued_to {
            Some(d) => stored_date(d)?,
            None => stored_date(&invoice.invoice_date)?,
        };
        if to <= from {
            return Ok(());
        }
        let accrued = rules::accrue_interest(
            &invoice.schedule,
            invoice.total,
            invoice.outstanding,
            from,
            to,
            rule.annual_rate_percent,
            rule.day_count.year_days(),
        )?;
        invoice.interest_accrued = add(invoice.interest_accrued, accrued)?;
        invoice.interest_accrued_to = Some(dates::format(to));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_to_string_writes_them() {
        for n in [0u64, 7, 10, 99, 100, 12_345, u64::MAX] {
            let mut s = String::from("x");
            super::push_u64(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
    }

    #[test]
    fn keys_are_the_text_and_zero_padded_numbers_they_always_were() {
        assert_eq!(entry_key("acme", 42), format!("entry/acme/{:020}", 42));
        assert_eq!(entry_key("a", u64::MAX), format!("entry/a/{}", u64::MAX));
        assert_eq!(entry_key("a", 0), "entry/a/00000000000000000000");
        assert_eq!(open_hold_key("acme", 1_772_409_600_000, "H12"), format!("ohold/acme/{:020}/H12", 1_772_409_600_000u64));
        assert_eq!(close_key("acme", "2026-03-01"), "close/acme/2026-03-01");
        assert_eq!(account_key("x"), "acct/x");
        // Numbered keys sort in numeric order.
        assert!(entry_key("a", 9) < entry_key("a", 10));
    }
}

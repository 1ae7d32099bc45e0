//! The finance team's pages under `/staff`: sign in, the accounts, one
//! account with its notes, and the actions of each role, every one a call
//! to the component like any other, made on the ledger's thread with the
//! signed-in user as its "who".
//!
//! Protection: the session cookie is `HttpOnly; SameSite=Strict`; every
//! form that changes something carries the session's CSRF token, and a
//! request whose `Origin` (or `Sec-Fetch-Site`) says another site sent it
//! is refused before anything is read.

use std::collections::HashMap;

use anyhow::Result;
use askama::Template;

use super::staff::{self, Role, Session, SignIn, User};
use super::secrets;
use crate::api::{
    AccountStatus, AddNoteRequest, CallContext, ChangeCreditLimitRequest, DynamicDiscount, EarlyPaymentDiscount, SetDynamicDiscountRequest, Money, RecordPaymentRequest, SetBillingPolicyRequest, SetStatusRequest,
};
use crate::render::{grouped, utc_minute};
use crate::{Ledger, MerchantId};

mod account;
mod bank;
mod pages;
mod users;

/// What was asked.
pub(super) enum Action {
    SignInForm,
    SignIn,
    SignOut,
    Accounts,
    Aging,
    Warnings,
    Account(String),
    AddNote(String),
    RecordPayment(String),
    SetStatus(String),
    ChangeLimit(String),
    SetTerms(String),
    SetDynamicDiscount(String),
    Bank,
    SettleBank,
    Users,
    AddUser,
    UpdateUser(String),
}

/// A request as the ledger's thread needs it.
pub(super) struct Request {
    pub action: Action,
    pub cookie: Option<String>,
    /// False when the browser says another site sent it.
    pub same_origin: bool,
    /// A posted form's fields, or a page's query string.
    pub form: HashMap<String, String>,
    pub now_ms: i64,
}

/// The answer: a status, a page or a redirect, maybe a cookie.
pub(super) struct Response {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookie: Option<String>,
    pub body: String,
}

/// Who is signed in, as the pages show it.
struct Who {
    email: String,
    role: &'static str,
    merchant: String,
    csrf: String,
    /// Sees the users page.
    admin: bool,
}

#[derive(Template)]
#[template(path = "staff_sign_in.html")]
struct SignInPage {
    who: Option<Who>,
    message: String,
    merchant: String,
    email: String,
}

fn page(status: u16, body: String) -> Response {
    Response { status, location: None, set_cookie: None, body }
}

fn redirect(to: &str) -> Response {
    Response { status: 303, location: Some(to.to_owned()), set_cookie: None, body: String::new() }
}

fn sign_in_page(status: u16, message: &str, merchant: &str, email: &str) -> Result<Response> {
    let p = SignInPage { who: None, message: message.to_owned(), merchant: merchant.to_owned(), email: email.to_owned() };
    Ok(page(status, p.render()?))
}

fn status_words(s: AccountStatus) -> &'static str {
    crate::cli::tables::status(s)
}

/// Answers one request.
pub(super) fn handle(ledger: &mut Ledger, r: Request) -> Result<Response> {
    let field = |name: &str| r.form.get(name).map(String::as_str).unwrap_or_default().to_owned();
    let posted = !matches!(r.action, Action::SignInForm | Action::Accounts | Action::Aging | Action::Warnings | Action::Account(_) | Action::Users | Action::Bank);
    if posted && !r.same_origin {
        return Ok(page(403, "<!DOCTYPE html><title>Refused</title><p>This form was sent from another site; nothing was done.</p>".into()));
    }
    match r.action {
        Action::SignInForm => return sign_in_page(200, "", "", ""),
        Action::SignIn => {
            let (merchant, email) = (field("merchant"), field("email"));
            return match staff::sign_in(ledger.backend(), &merchant, &email, &field("password"), r.now_ms)? {
                SignIn::Signed(cookie, _) => Ok(Response {
                    status: 303,
                    location: Some("/staff/accounts".into()),
                    set_cookie: Some(format!("credit_session={cookie}; Path=/staff; HttpOnly; SameSite=Strict; Max-Age={}", staff::SESSION_MS / 1000)),
                    body: String::new(),
                }),
                SignIn::Refused => sign_in_page(401, "The e-mail or the password is wrong.", &merchant, &email),
                SignIn::Locked(until) => sign_in_page(429, &format!("Too many wrong passwords: try again after {}.", utc_minute(until)), &merchant, &email),
            };
        }
        _ => {}
    }
    let signed = match &r.cookie {
        Some(cookie) => staff::session(ledger.backend(), cookie, r.now_ms)?,
        None => None,
    };
    let Some((session, user)) = signed else {
        return Ok(if posted { sign_in_page(401, "You are signed out; sign in again.", "", "")? } else { redirect("/staff/sign-in") });
    };
    if posted && !secrets::same(&field("csrf"), &session.csrf) {
        return Ok(page(403, "<!DOCTYPE html><title>Refused</title><p>The form's security token is missing or old; reload the page and send it again. Nothing was done.</p>".into()));
    }
    let merchant = MerchantId::new(session.merchant.as_str())?;
    let who = |s: &Session, u: &User| Who { email: u.email.clone(), role: u.role.words(), merchant: s.merchant.clone(), csrf: s.csrf.clone(), admin: u.role >= Role::Admin };
    let need = |role: Role| user.role >= role;
    let ctx = CallContext { idempotency_key: format!("staff-{}", field("nonce")), now_ms: r.now_ms };
    let outcome = match r.action {
        Action::SignOut => {
            staff::sign_out(ledger.backend(), r.cookie.as_deref().unwrap_or_default())?;
            return Ok(Response { status: 303, location: Some("/staff/sign-in".into()), set_cookie: Some("credit_session=; Path=/staff; HttpOnly; SameSite=Strict; Max-Age=0".into()), body: String::new() });
        }
        Action::Accounts => return pages::accounts(ledger, &merchant, who(&session, &user), &r.form, r.now_ms),
        Action::Aging => return pages::aging(ledger, &merchant, who(&session, &user), &r.form, r.now_ms),
        Action::Warnings => return pages::warnings(ledger, &merchant, who(&session, &user), &r.form, r.now_ms),
        Action::Bank => return bank::view(ledger, &merchant, who(&session, &user), need(Role::Controller), ""),
        Action::SettleBank if !need(Role::Controller) => return Ok(not_allowed(&user)),
        Action::SettleBank => return bank::settle(ledger, &merchant, who(&session, &user), &r.form, r.now_ms),
        Action::Account(id) => return account(ledger, &merchant, who(&session, &user), &user, &id, r.now_ms, ""),
        Action::AddNote(_) | Action::SetStatus(_) | Action::RecordPayment(_) if !need(Role::Controller) => return Ok(not_allowed(&user)),
        Action::ChangeLimit(_) | Action::SetTerms(_) | Action::SetDynamicDiscount(_) | Action::Users | Action::AddUser | Action::UpdateUser(_) if !need(Role::Admin) => return Ok(not_allowed(&user)),
        Action::Users => return users::listing(ledger.backend(), who(&session, &user), "", 200),
        Action::AddUser => return users::add(ledger.backend(), who(&session, &user), &r.form),
        Action::UpdateUser(email) => return users::update(ledger.backend(), who(&session, &user), &email, &r.form),
        Action::AddNote(id) | Action::SetStatus(id) | Action::ChangeLimit(id) | Action::RecordPayment(id) | Action::SetTerms(id) | Action::SetDynamicDiscount(id)
            if field("nonce").len() < 16 =>
        {
            return account(ledger, &merchant, who(&session, &user), &user, &id, r.now_ms, "The form is incomplete; reload the page.").map(|p| answered(p, 400));
        }
        Action::AddNote(id) => {
            let req = AddNoteRequest { account_id: id.clone(), by: user.email.clone(), text: field("text"), promise: None };
            (id, ledger.add_note(&merchant, &ctx, &req)?.map(drop))
        }
        Action::SetStatus(id) => {
            let status = if field("status") == "active" { AccountStatus::Active } else { AccountStatus::OnHold };
            let req = SetStatusRequest { account_id: id.clone(), status, changed_by: user.email.clone(), reason: field("reason") };
            (id, ledger.set_status(&merchant, &ctx, &req)?.map(drop))
        }
        Action::ChangeLimit(id) => {
            let Ok(a) = ledger.get_account(&merchant, &id, r.now_ms)? else { return Ok(not_found()) };
            let req = ChangeCreditLimitRequest { account_id: id.clone(), new_limit: Money { amount: field("limit"), currency: a.currency }, changed_by: user.email.clone(), reason: field("reason") };
            (id, ledger.change_credit_limit(&merchant, &ctx, &req)?.map(drop))
        }
        Action::SetTerms(id) => {
            let Ok(a) = ledger.get_account(&merchant, &id, r.now_ms)? else { return Ok(not_found()) };
            let mut terms = a.terms;
            let Ok(net_days) = field("net-days").trim().parse::<u32>() else {
                return account(ledger, &merchant, who(&session, &user), &user, &id, r.now_ms, "Net days must be a whole number; nothing changed.").map(|p| answered(p, 400));
            };
            terms.net_days = net_days;
            let percent = field("discount-percent");
            terms.discount = if percent.trim().is_empty() {
                None
            } else {
                let Ok(days) = field("discount-days").trim().parse::<u32>() else {
                    return account(ledger, &merchant, who(&session, &user), &user, &id, r.now_ms, "Discount days must be a whole number; nothing changed.").map(|p| answered(p, 400));
                };
                let basis = terms.discount.and_then(|d| d.basis);
                Some(EarlyPaymentDiscount { percent: Some(percent.trim().to_owned()), days, amount: None, basis })
            };
            let req = SetBillingPolicyRequest { account_id: id.clone(), terms, policy: a.policy, changed_by: user.email.clone(), reason: field("reason") };
            (id, ledger.set_billing_policy(&merchant, &ctx, &req)?.map(drop))
        }
        Action::SetDynamicDiscount(id) => {
            // An empty rate withdraws the account's offer.
            let rate = field("annual-rate");
            let offer = (!rate.trim().is_empty()).then(|| DynamicDiscount {
                annual_rate: rate.trim().to_owned(),
                floor: field("floor").trim().to_owned(),
                cap: field("cap").trim().to_owned(),
            });
            let req = SetDynamicDiscountRequest { account_id: id.clone(), invoice_id: None, offer, changed_by: user.email.clone(), reason: field("reason") };
            (id, ledger.set_dynamic_discount(&merchant, &ctx, &req)?.map(drop))
        }
        Action::RecordPayment(id) => {
            let Ok(a) = ledger.get_account(&merchant, &id, r.now_ms)? else { return Ok(not_found()) };
            let amount = Money { amount: field("amount"), currency: a.currency };
            let req = RecordPaymentRequest {
                account_id: id.clone(),
                amount: amount.clone(),
                received_on: field("received-on"),
                method: field("method"),
                reference: field("reference"),
                allocations: Vec::new(),
                spread: None,
            };
            match ledger.record_payment(&merchant, &ctx, &req)? {
                // The contract's payment has no "who" yet: the user who
                // recorded it is kept as a note in the same form's name
                // (its own idempotency key, so a resubmitted form that
                // failed between the two calls completes it).
                Ok(receipt) => {
                    let text = format!(
                        "Recorded payment {} of {} {} received {} ({}{}{}).",
                        receipt.payment.payment_id,
                        grouped(&receipt.payment.amount),
                        amount.currency,
                        receipt.payment.received_on,
                        receipt.payment.method,
                        if receipt.payment.reference.is_empty() { "" } else { ", " },
                        receipt.payment.reference
                    );
                    let note_ctx = CallContext { idempotency_key: format!("{}-recorded-by", ctx.idempotency_key), now_ms: r.now_ms };
                    let note = AddNoteRequest { account_id: id.clone(), by: user.email.clone(), text, promise: None };
                    (id, ledger.add_note(&merchant, &note_ctx, &note)?.map(drop))
                }
                Err(e) => (id, Err(e)),
            }
        }
        Action::SignInForm | Action::SignIn => unreachable!("answered above"),
    };
    match outcome {
        (id, Ok(())) => Ok(redirect(&format!("/staff/accounts/{id}"))),
        (id, Err(e)) => account(ledger, &merchant, who(&session, &user), &user, &id, r.now_ms, &format!("Refused, nothing changed: {}.", pages::refused(&e))).map(|p| answered(p, 422)),
    }
}

fn not_allowed(user: &User) -> Response {
    page(403, format!("<!DOCTYPE html><title>Not allowed</title><p>A {} cannot do this; nothing was done.</p>", user.role.words()))
}

fn not_found() -> Response {
    page(404, "<!DOCTYPE html><title>Not found</title><p>No such account. <a href=\"/staff/accounts\">All accounts</a></p>".into())
}

/// One account's page, or 404 when there is no such account.
fn account(ledger: &mut Ledger, m: &MerchantId, who: Who, user: &User, id: &str, now_ms: i64, message: &str) -> Result<Response> {
    match account::view(ledger, m, who, user, id, now_ms, message)? {
        Some(view) => Ok(page(200, view.render()?)),
        None => Ok(not_found()),
    }
}

/// `r` with `status` instead of 200 (a 404 stays a 404).
fn answered(r: Response, status: u16) -> Response {
    if r.status == 200 { Response { status, ..r } } else { r }
}

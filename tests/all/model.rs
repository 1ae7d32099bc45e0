//! Model-based testing: random sequences of every operation go through the
//! component, and each answer is checked against a small, independent
//! reference model of balances, holds and invoices. After every step the
//! harness also checks the invariants (cached figures = sum of entries,
//! debits = credits, posted debt = open items, nothing negative).
//!
//! `PROPTEST_CASES` raises the number of sequences (default 40).

use std::collections::BTreeMap;

use credit_host::api::*;
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::support::*;

const ACCOUNTS: [&str; 2] = ["a0", "a1"];

#[derive(Clone, Debug)]
enum Op {
    Open { acct: usize, limit: u32, tolerance: u32 },
    Authorize { acct: usize, cents: u32, short_ttl: bool },
    /// Ships a share of an open hold; `keep_open` keeps the rest reserved.
    /// `split`: due in instalments, all on the account's net day (so the
    /// order items fall due in is unchanged): a share in millionths of a
    /// percent, a fixed amount in cents, and the balance line.
    Capture { pick: u8, percent: u8, keep_open: bool, split: Option<(u32, u32)> },
    /// Edits the order of an open hold: it reserves `percent` of what it
    /// reserves now (0 ends it, above 100 asks for more credit).
    Amend { pick: u8, percent: u8 },
    Void { pick: u8 },
    Advance { minutes: u32 },
    /// Spends stored balance on a new order, or (`on_hold`) on the order
    /// of an open hold, picked like `Capture` picks.
    ApplyBalance { acct: usize, cents: u32, on_hold: Option<u8>, strict: bool },
    Return { pick: u8, cents: u32, to_stored: bool },
    /// Cancels one of the credit notes issued so far.
    CancelNote { pick: u8 },
    /// A payment, oldest due first or (`pro_rata`) spread in proportion.
    Pay { acct: usize, cents: u32, pro_rata: bool },
    Allocate { acct: usize },
    /// Pays stored balance back to the customer.
    Refund { acct: usize, cents: u32 },
    /// Writes off what an open invoice still owes.
    WriteOff { pick: u8 },
    DayClose { acct: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let acct = 0..ACCOUNTS.len();
    prop_oneof![
        1 => (acct.clone(), 0..300_000u32, 0..5_000u32).prop_map(|(acct, limit, tolerance)| Op::Open { acct, limit, tolerance }),
        6 => (acct.clone(), 1..120_000u32, any::<bool>()).prop_map(|(acct, cents, short_ttl)| Op::Authorize { acct, cents, short_ttl }),
        4 => (any::<u8>(), 1..=100u8, any::<bool>(), proptest::option::of((1..=100_000_000u32, 1..=50_000u32)))
            .prop_map(|(pick, percent, keep_open, split)| Op::Capture { pick, percent, keep_open, split }),
        2 => (any::<u8>(), 0..=200u8).prop_map(|(pick, percent)| Op::Amend { pick, percent }),
        2 => any::<u8>().prop_map(|pick| Op::Void { pick }),
        2 => (0..(20 * 24 * 60u32)).prop_map(|minutes| Op::Advance { minutes }),
        3 => (acct.clone(), 1..50_000u32, prop::option::of(any::<u8>()), any::<bool>())
            .prop_map(|(acct, cents, on_hold, strict)| Op::ApplyBalance { acct, cents, on_hold, strict }),
        2 => (any::<u8>(), 1..60_000u32, any::<bool>()).prop_map(|(pick, cents, to_stored)| Op::Return { pick, cents, to_stored }),
        1 => any::<u8>().prop_map(|pick| Op::CancelNote { pick }),
        3 => (acct.clone(), 1..150_000u32, any::<bool>()).prop_map(|(acct, cents, pro_rata)| Op::Pay { acct, cents, pro_rata }),
        1 => acct.clone().prop_map(|acct| Op::Allocate { acct }),
        1 => (acct.clone(), 1..60_000u32).prop_map(|(acct, cents)| Op::Refund { acct, cents }),
        1 => any::<u8>().prop_map(|pick| Op::WriteOff { pick }),
        1 => acct.prop_map(|acct| Op::DayClose { acct }),
    ]
}

fn money(cents: i64) -> String {
    format!("{}{}.{:02}", if cents < 0 { "-" } else { "" }, cents.abs() / 100, cents.abs() % 100)
}

fn cents(text: &str) -> i64 {
    let v = d(text) * Decimal::ONE_HUNDRED;
    i64::try_from(v.trunc().mantissa()).unwrap() / 10i64.pow(v.trunc().scale())
}

/// What the model knows of one account; all money in pennies.
#[derive(Default, Debug)]
struct Acct {
    limit: i64,
    tolerance: i64,
    stored: i64,
    holds: Vec<ModelHold>,
    invoices: BTreeMap<u64, ModelInvoice>, // by issue order
}

#[derive(Debug, Clone)]
struct ModelHold {
    id: String,
    order: String,
    /// What it reserves now.
    amount: i64,
    expires_at_ms: i64,
}

#[derive(Debug, Clone)]
struct ModelInvoice {
    id: String,
    order: String,
    outstanding: i64,
    due: String,
}

#[derive(Default, Debug)]
struct Order {
    acct: usize,
    sold: i64,
    credited: i64,
}

#[derive(Default)]
struct Model {
    accts: BTreeMap<usize, Acct>,
    orders: BTreeMap<String, Order>,
    next_order: u32,
    issued: u64,
    notes: Vec<ModelNote>,
}

#[derive(Clone, Debug)]
struct ModelNote {
    id: String,
    acct: usize,
    order: String,
    amount: i64,
    to_debt: i64,
    cancelled: bool,
}

impl Model {
    fn live(a: &Acct, now: i64) -> i64 {
        a.holds.iter().filter(|h| h.expires_at_ms > now).map(|h| h.amount).sum()
    }
    fn owed(a: &Acct) -> i64 {
        a.invoices.values().map(|i| i.outstanding).sum()
    }
    /// Settles open invoices with `money`: `first` (an order's) then oldest
    /// due, then issue order. Returns what was used.
    fn settle(a: &mut Acct, mut money: i64, first: Option<&str>) -> i64 {
        let mut keys: Vec<u64> = a.invoices.keys().copied().collect();
        keys.sort_by_key(|k| {
            let i = &a.invoices[k];
            (first != Some(i.order.as_str()), i.due.clone(), *k)
        });
        let start = money;
        for k in keys {
            if money == 0 {
                break;
            }
            let inv = a.invoices.get_mut(&k).unwrap();
            let x = inv.outstanding.min(money);
            inv.outstanding -= x;
            money -= x;
        }
        a.invoices.retain(|_, i| i.outstanding > 0);
        start - money
    }
    /// Spreads `money` over the open invoices in proportion to what each
    /// owes (cents rounded down, the cents left over to the largest
    /// remainders, ties to the older due date, then issue order); money
    /// that covers everything settles everything. Returns what was used.
    fn settle_pro_rata(a: &mut Acct, money: i64) -> i64 {
        let owed = Model::owed(a);
        if money >= owed {
            return Model::settle(a, money, None);
        }
        let mut keys: Vec<u64> = a.invoices.keys().copied().collect();
        keys.sort_by_key(|k| (a.invoices[k].due.clone(), *k));
        let mut shares: Vec<(u64, i128, i128)> = keys
            .iter()
            .map(|k| {
                let p = i128::from(money) * i128::from(a.invoices[k].outstanding);
                (*k, p / i128::from(owed), p % i128::from(owed))
            })
            .collect();
        let mut left = i128::from(money) - shares.iter().map(|s| s.1).sum::<i128>();
        let mut by_remainder: Vec<usize> = (0..shares.len()).collect();
        by_remainder.sort_by(|x, y| shares[*y].2.cmp(&shares[*x].2));
        for i in by_remainder.into_iter().take(usize::try_from(left).unwrap()) {
            shares[i].1 += 1;
            left -= 1;
        }
        assert_eq!(left, 0);
        for (k, share, _) in shares {
            a.invoices.get_mut(&k).unwrap().outstanding -= i64::try_from(share).unwrap();
        }
        a.invoices.retain(|_, i| i.outstanding > 0);
        money
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut h = H::new();
    let mut m = Model::default();
    // Every account buys on one company line, too large to decline: the
    // company's figures must follow every operation of every buyer.
    let c = h.ctx();
    let group = OpenCompanyRequest {
        company_id: "group".into(),
        currency: "GBP".into(),
        credit_limit: "100000000.00".into(),
        tolerance: Tolerance::None,
        opened_by: "model".into(),
    };
    h.ledger.open_company(&h.m, &c, &group).unwrap().unwrap();
    for (step, op) in ops.into_iter().enumerate() {
        let now = h.now_ms;
        match op {
            Op::Open { acct, limit, tolerance } => {
                let mut req = open_req(ACCOUNTS[acct], "GBP", &money(limit.into()), Tolerance::Amount(money(tolerance.into())));
                req.company_id = Some("group".into());
                let r = h.open_with(&req);
                match m.accts.entry(acct) {
                    std::collections::btree_map::Entry::Occupied(_) => {
                        prop_assert_eq!(r.map(|_| ()), Err(CreditError::AccountAlreadyExists(ACCOUNTS[acct].into())));
                    }
                    std::collections::btree_map::Entry::Vacant(v) => {
                        prop_assert!(r.is_ok());
                        v.insert(Acct { limit: limit.into(), tolerance: tolerance.into(), ..Default::default() });
                    }
                }
            }
            Op::Authorize { acct, cents: amount, short_ttl } => {
                m.next_order += 1;
                let order = format!("O{}", m.next_order);
                let c = h.ctx();
                let req = AuthorizeRequest {
                    account_id: ACCOUNTS[acct].into(),
                    order_id: order.clone(),
                    amount: gbp(&money(amount.into())),
                    hold_ttl_s: short_ttl.then_some(3600),
                    open_ended: None,
                };
                let r = h.authorize_with(&c, &req);
                let Some(a) = m.accts.get_mut(&acct) else {
                    prop_assert_eq!(r.map(|_| ()), Err(CreditError::AccountNotFound(ACCOUNTS[acct].into())));
                    continue;
                };
                a.holds.retain(|x| x.expires_at_ms > now);
                let available = a.limit + a.tolerance + a.stored - Model::owed(a) - Model::live(a, now);
                let amount = i64::from(amount);
                if amount > available {
                    match r {
                        Ok(Authorization::Declined(dcl)) => prop_assert_eq!(cents(&dcl.shortfall), amount - available),
                        other => prop_assert!(false, "step {}: expected a decline, got {:?}", step, other),
                    }
                } else if a.holds.len() >= 64 {
                    prop_assert_eq!(r.map(|_| ()), Err(CreditError::TooManyOpenHolds));
                } else {
                    match r {
                        Ok(Authorization::Approved(ap)) => {
                            // Exposure never above limit + tolerance + stored at approval.
                            prop_assert!(cents(&ap.after.exposure) <= a.limit + a.tolerance + a.stored);
                            let ttl = if short_ttl { 3_600_000 } else { 7 * DAY_MS };
                            a.holds.push(ModelHold { id: ap.hold.hold_id, order: order.clone(), amount, expires_at_ms: now + ttl });
                            m.orders.insert(order, Order { acct, ..Default::default() });
                        }
                        other => prop_assert!(false, "step {}: expected approval of {}, got {:?}", step, amount, other),
                    }
                }
            }
            Op::Capture { .. } | Op::Void { .. } | Op::Amend { .. } if !m.accts.values().any(|a| !a.holds.is_empty()) => {}
            Op::Capture { pick, percent, keep_open, split } => {
                let all: Vec<(usize, ModelHold)> = m.accts.iter().flat_map(|(k, a)| a.holds.iter().map(|x| (*k, x.clone()))).collect();
                let (acct, hold) = all[usize::from(pick) % all.len()].clone();
                let amount = (hold.amount * i64::from(percent) / 100).max(1);
                let rest = keep_open.then_some(CaptureRest::KeepOpen);
                let terms = split.map(|(millionths, fixed)| {
                    let line = |percent: Option<String>, amount: Option<String>| Instalment { percent, days: 30, amount };
                    let share = (Decimal::from(millionths) / Decimal::from(1_000_000)).normalize().to_string();
                    PaymentTerms { instalments: vec![line(Some(share), None), line(None, Some(money(i64::from(fixed)))), line(None, None)], ..net30() }
                });
                let req = CaptureRequest { hold_id: hold.id.clone(), amount: gbp(&money(amount)), lines: vec![], delivery_date: None, terms, delivery: None, rest };
                let r = h.capture_with(&req);
                let a = m.accts.get_mut(&acct).unwrap();
                if hold.expires_at_ms <= now {
                    a.holds.retain(|x| x.id != hold.id);
                    prop_assert_eq!(r.map(|_| ()), Err(CreditError::HoldExpired));
                } else if amount > hold.amount {
                    // All of it was paid from the stored balance: nothing is
                    // left to capture, and the hold stays open.
                    prop_assert_eq!(r.map(|_| ()), Err(CreditError::CaptureExceedsHold));
                } else {
                    // A split shipment keeps the rest reserved; otherwise
                    // (or with nothing left) the hold is done.
                    if keep_open && amount < hold.amount {
                        a.holds.iter_mut().find(|x| x.id == hold.id).unwrap().amount -= amount;
                    } else {
                        a.holds.retain(|x| x.id != hold.id);
                    }
                    let inv = r.map_err(|e| TestCaseError::fail(format!("step {step}: capture failed: {e:?}")))?.invoice;
                    prop_assert_eq!(cents(&inv.total), amount);
                    // The portions, as the model works them out: the share
                    // rounded down to the cent, the fixed amount (at most
                    // what is left), the balance; all due on the due date.
                    let expected = match split {
                        None => vec![amount],
                        Some((millionths, fixed)) => {
                            let share = (i128::from(amount) * i128::from(millionths) / 100_000_000) as i64;
                            let fixed = i64::from(fixed).min(amount - share);
                            vec![share, fixed, amount - share - fixed]
                        }
                    };
                    prop_assert_eq!(inv.schedule.iter().map(|p| cents(&p.amount)).collect::<Vec<_>>(), expected, "step {}", step);
                    prop_assert!(inv.schedule.iter().all(|p| p.due_date == inv.due_date), "step {}", step);
                    m.issued += 1;
                    a.invoices.insert(m.issued, ModelInvoice { id: inv.invoice_id, order: hold.order.clone(), outstanding: amount, due: inv.due_date });
                    m.orders.get_mut(&hold.order).unwrap().sold += amount;
                }
            }
            Op::Void { pick } => {
                let all: Vec<(usize, ModelHold)> = m.accts.iter().flat_map(|(k, a)| a.holds.iter().map(|x| (*k, x.clone()))).collect();
                let (acct, hold) = all[usize::from(pick) % all.len()].clone();
                let r = h.void(&hold.id);
                m.accts.get_mut(&acct).unwrap().holds.retain(|x| x.id != hold.id);
                if hold.expires_at_ms <= now {
                    prop_assert_eq!(r.map(|_| ()), Err(CreditError::HoldExpired));
                } else {
                    prop_assert_eq!(cents(&r.map_err(|e| TestCaseError::fail(format!("{e:?}")))?.released), hold.amount);
                }
            }
            Op::Amend { pick, percent } => {
                let all: Vec<(usize, ModelHold)> = m.accts.iter().flat_map(|(k, a)| a.holds.iter().map(|x| (*k, x.clone()))).collect();
                let (acct, hold) = all[usize::from(pick) % all.len()].clone();
                let new = hold.amount * i64::from(percent) / 100;
                let c = h.ctx();
                let r = h.ledger.amend_hold(&h.m, &c, &AmendHoldRequest { hold_id: hold.id.clone(), amount: gbp(&money(new)) }).unwrap();
                h.check();
                let a = m.accts.get_mut(&acct).unwrap();
                if hold.expires_at_ms <= now {
                    a.holds.retain(|x| x.id != hold.id);
                    prop_assert_eq!(r.map(|_| ()), Err(CreditError::HoldExpired));
                    continue;
                }
                a.holds.retain(|x| x.expires_at_ms > now);
                let change = new - hold.amount;
                let available = a.limit + a.tolerance + a.stored - Model::owed(a) - Model::live(a, now);
                match r {
                    Ok(Authorization::Declined(dcl)) if change > available => {
                        prop_assert_eq!((cents(&dcl.requested), cents(&dcl.shortfall)), (change, change - available), "step {}", step);
                    }
                    Ok(Authorization::Approved(ap)) if change <= available => {
                        prop_assert_eq!(cents(&ap.hold.reserved), new, "step {}", step);
                        if new == 0 {
                            a.holds.retain(|x| x.id != hold.id);
                        } else {
                            a.holds.iter_mut().find(|x| x.id == hold.id).unwrap().amount = new;
                        }
                    }
                    other => prop_assert!(false, "step {}: amend {} -> {} with {} available: {:?}", step, hold.amount, new, available, other),
                }
            }
            Op::Advance { minutes } => h.now_ms += i64::from(minutes) * 60_000,
            Op::ApplyBalance { acct, cents: amount, on_hold, strict } => {
                // The order of a live hold on this account, or a new order.
                let held_order = on_hold.and_then(|pick| {
                    let live: Vec<&ModelHold> = m.accts.get(&acct)?.holds.iter().filter(|x| x.expires_at_ms > now).collect();
                    (!live.is_empty()).then(|| live[usize::from(pick) % live.len()].order.clone())
                });
                let order = held_order.clone().unwrap_or_else(|| {
                    m.next_order += 1;
                    format!("O{}", m.next_order)
                });
                let mode = strict.then_some(ApplyMode::AllOrNothing);
                let req = ApplyBalanceRequest { account_id: ACCOUNTS[acct].into(), order_id: order.clone(), amount: gbp(&money(amount.into())), mode };
                let r = h.apply_balance_with(&req);
                let Some(a) = m.accts.get_mut(&acct) else {
                    prop_assert_eq!(r.map(|_| ()), Err(CreditError::AccountNotFound(ACCOUNTS[acct].into())));
                    continue;
                };
                a.holds.retain(|x| x.expires_at_ms > now);
                // Only stored balance that backs no hold or debt may be
                // spent; what pays for a held order replaces its hold.
                let available = a.limit + a.tolerance + a.stored - Model::owed(a) - Model::live(a, now);
                let reserved = a.holds.iter().find(|x| Some(&x.order) == held_order.as_ref()).map_or(0, |x| x.amount);
                let spendable = a.stored.min(available.max(0) + reserved);
                if strict && i64::from(amount) > spendable {
                    // All or nothing: refused with the figures, nothing spent.
                    let want = BalanceShortfall { requested: money(amount.into()), available: money(spendable) };
                    prop_assert_eq!(r.map(|_| ()), Err(CreditError::StoredBalanceInsufficient(want)), "step {}", step);
                    continue;
                }
                let applied = i64::from(amount).min(spendable);
                let reduced = applied.min(reserved);
                a.stored -= applied;
                if let Some(x) = a.holds.iter_mut().find(|x| Some(&x.order) == held_order.as_ref()) {
                    x.amount -= reduced;
                }
                let r = r.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                prop_assert_eq!(
                    (cents(&r.applied), cents(&r.remaining), cents(&r.hold_reduced)),
                    (applied, i64::from(amount) - applied, reduced),
                    "step {}", step
                );
                if applied > 0 {
                    m.orders.entry(order).or_insert(Order { acct, sold: 0, credited: 0 }).sold += applied;
                }
            }
            Op::Return { pick, cents: amount, to_stored } if !m.orders.is_empty() => {
                let keys: Vec<String> = m.orders.keys().cloned().collect();
                let order = keys[usize::from(pick) % keys.len()].clone();
                let o = &m.orders[&order];
                let acct = o.acct;
                let target = if to_stored { CreditTarget::StoredBalance } else { CreditTarget::OwedFirst };
                let r = h.ret(ACCOUNTS[acct], &order, &money(amount.into()), target);
                let amount = i64::from(amount);
                if o.sold == 0 {
                    prop_assert_eq!(r.map(|_| ()), Err(CreditError::OrderNotFound(order.clone())));
                } else if amount > o.sold - o.credited {
                    prop_assert_eq!(r.map(|_| ()), Err(CreditError::ReturnExceedsOrder));
                } else {
                    let cn = r.map_err(|e| TestCaseError::fail(format!("step {step}: {e:?}")))?;
                    let a = m.accts.get_mut(&acct).unwrap();
                    let to_debt = if to_stored { 0 } else { Model::settle(a, amount, Some(&order)) };
                    a.stored += amount - to_debt;
                    prop_assert_eq!((cents(&cn.applied_to_debt), cents(&cn.added_to_stored_balance)), (to_debt, amount - to_debt));
                    m.orders.get_mut(&order).unwrap().credited += amount;
                    m.notes.push(ModelNote { id: cn.credit_note_id, acct, order: order.clone(), amount, to_debt, cancelled: false });
                }
            }
            Op::Return { .. } => {}
            Op::CancelNote { pick } if !m.notes.is_empty() => {
                let i = usize::from(pick) % m.notes.len();
                let note = m.notes[i].clone();
                let c = h.ctx();
                let req = CancelCreditNoteRequest { credit_note_id: note.id.clone(), reason: "issued by mistake".into() };
                let r = h.ledger.cancel_credit_note(&h.m, &c, &req).unwrap();
                h.check();
                let a = m.accts.get_mut(&note.acct).unwrap();
                a.holds.retain(|x| x.expires_at_ms > now);
                // Unused: none of it settled invoices, and the free stored
                // balance (as for a refund) still covers all of it.
                let available = a.limit + a.tolerance + a.stored - Model::owed(a) - Model::live(a, now);
                let free = a.stored.min(available.max(0));
                let unused = if note.to_debt == 0 { note.amount.min(free) } else { 0 };
                if note.cancelled {
                    prop_assert_eq!(r.map(|_| ()), Err(CreditError::CreditNoteAlreadyCancelled(note.id.clone())), "step {}", step);
                } else if unused < note.amount {
                    let want = BalanceShortfall { requested: money(note.amount), available: money(unused) };
                    prop_assert_eq!(r.map(|_| ()), Err(CreditError::CreditNoteUsed(want)), "step {}", step);
                } else {
                    let r = r.map_err(|e| TestCaseError::fail(format!("step {step}: cancel: {e:?}")))?;
                    a.stored -= note.amount;
                    prop_assert_eq!(cents(&r.account.figures.stored_balance), a.stored, "step {}", step);
                    m.orders.get_mut(&note.order).unwrap().credited -= note.amount;
                    m.notes[i].cancelled = true;
                }
            }
            Op::CancelNote { .. } => {}
            Op::Pay { acct, cents: amount, pro_rata } => {
                let spread = pro_rata.then_some(PaymentSpread::ProRata);
                let req = RecordPaymentRequest {
                    account_id: ACCOUNTS[acct].into(),
                    amount: gbp(&money(amount.into())),
                    received_on: h.today(),
                    method: "bank-transfer".into(),
                    reference: "REF".into(),
                    allocations: vec![],
                    spread,
                };
                let r = h.pay_with(&req);
                let Some(a) = m.accts.get_mut(&acct) else {
                    prop_assert_eq!(r.map(|_| ()), Err(CreditError::AccountNotFound(ACCOUNTS[acct].into())));
                    continue;
                };
                let used = if pro_rata { Model::settle_pro_rata(a, amount.into()) } else { Model::settle(a, amount.into(), None) };
                a.stored += i64::from(amount) - used;
                let p = r.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                prop_assert_eq!(cents(&p.payment.added_to_stored_balance), i64::from(amount) - used);
            }
            Op::Allocate { acct } => {
                let c = h.ctx();
                let req = AllocateBalanceRequest { account_id: ACCOUNTS[acct].into(), amount: None, allocations: vec![] };
                let r = h.ledger.allocate_balance(&h.m, &c, &req).unwrap();
                h.check();
                let Some(a) = m.accts.get_mut(&acct) else {
                    prop_assert_eq!(r.map(|_| ()), Err(CreditError::AccountNotFound(ACCOUNTS[acct].into())));
                    continue;
                };
                let used = Model::settle(a, a.stored, None);
                a.stored -= used;
                prop_assert_eq!(cents(&r.map_err(|e| TestCaseError::fail(format!("{e:?}")))?.used), used);
            }
            Op::WriteOff { .. } if !m.accts.values().any(|a| !a.invoices.is_empty()) => {}
            Op::WriteOff { pick } => {
                let all: Vec<(usize, u64, ModelInvoice)> =
                    m.accts.iter().flat_map(|(k, a)| a.invoices.iter().map(|(n, i)| (*k, *n, i.clone()))).collect();
                let (acct, n, inv) = all[usize::from(pick) % all.len()].clone();
                let c = h.ctx();
                let r = h.ledger.write_off(&h.m, &c, &WriteOffRequest { invoice_id: inv.id.clone(), reason: "gone".into() }).unwrap();
                h.check();
                let r = r.map_err(|e| TestCaseError::fail(format!("step {step}: write-off: {e:?}")))?;
                prop_assert_eq!(cents(&r.amount), inv.outstanding, "step {}", step);
                let a = m.accts.get_mut(&acct).unwrap();
                a.invoices.remove(&n);
                a.holds.retain(|x| x.expires_at_ms > now);
            }
            Op::Refund { acct, cents: amount } => {
                let c = h.ctx();
                let req = RefundRequest { account_id: ACCOUNTS[acct].into(), amount: gbp(&money(amount.into())), method: "bank-transfer".into(), reference: "r".into() };
                let r = h.ledger.refund_balance(&h.m, &c, &req).unwrap();
                h.check();
                let Some(a) = m.accts.get_mut(&acct) else {
                    prop_assert_eq!(r.map(|_| ()), Err(CreditError::AccountNotFound(ACCOUNTS[acct].into())));
                    continue;
                };
                a.holds.retain(|x| x.expires_at_ms > now);
                // Only stored balance that backs no hold or debt may leave.
                let available = a.limit + a.tolerance + a.stored - Model::owed(a) - Model::live(a, now);
                let free = a.stored.min(available.max(0));
                if i64::from(amount) > free {
                    let want = BalanceShortfall { requested: money(amount.into()), available: money(free) };
                    prop_assert_eq!(r.map(|_| ()), Err(CreditError::RefundExceedsBalance(want)), "step {}", step);
                } else {
                    let r = r.map_err(|e| TestCaseError::fail(format!("step {step}: refund: {e:?}")))?;
                    a.stored -= i64::from(amount);
                    prop_assert_eq!(cents(&r.account.figures.stored_balance), a.stored);
                }
            }
            Op::DayClose { acct } => {
                let today = h.today();
                let r = h.day_close(ACCOUNTS[acct], &today);
                match m.accts.get_mut(&acct) {
                    None => prop_assert_eq!(r.map(|_| ()), Err(CreditError::AccountNotFound(ACCOUNTS[acct].into()))),
                    Some(a) => {
                        // The quiet policy charges nothing; expired holds go.
                        let r = r.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                        prop_assert!(r.late_fees.is_empty() && r.interest.is_empty());
                        a.holds.retain(|x| x.expires_at_ms > now);
                    }
                }
            }
        }
        // The component's figures equal the model's, and no storefront call
        // took exposure above limit + tolerance + stored balance.
        for (k, a) in &m.accts {
            let exposure = Model::owed(a) + Model::live(a, h.now_ms);
            prop_assert!(
                exposure <= a.limit + a.tolerance + a.stored,
                "step {}: {} exposure {} over limit {} + tolerance {} + stored {}",
                step, ACCOUNTS[*k], exposure, a.limit, a.tolerance, a.stored
            );
            let s = h.summary(ACCOUNTS[*k]);
            let f = &s.figures;
            prop_assert_eq!(cents(&f.posted_debt), Model::owed(a), "step {}: {} posted debt", step, ACCOUNTS[*k]);
            prop_assert_eq!(cents(&f.stored_balance), a.stored, "step {}: {} stored balance", step, ACCOUNTS[*k]);
            prop_assert_eq!(cents(&f.open_holds), Model::live(a, h.now_ms), "step {}: {} holds", step, ACCOUNTS[*k]);
            let today = h.today();
            let open = h.ledger.open_invoices_all(&h.m, ACCOUNTS[*k], &today).unwrap().unwrap();
            let mut got: Vec<(String, i64)> = open.iter().map(|i| (i.invoice_id.clone(), cents(&i.outstanding))).collect();
            let mut want: Vec<(String, i64)> = a.invoices.values().map(|i| (i.id.clone(), i.outstanding)).collect();
            got.sort();
            want.sort();
            prop_assert_eq!(got, want, "step {}: {} open invoices", step, ACCOUNTS[*k]);
        }
        // The company: its buyers' debt and stored balance added up.
        let g = h.ledger.get_company(&h.m, "group", h.now_ms).unwrap().unwrap();
        let owed: i64 = m.accts.values().map(Model::owed).sum();
        let stored: i64 = m.accts.values().map(|a| a.stored).sum();
        prop_assert_eq!((cents(&g.figures.posted_debt), cents(&g.figures.stored_balance)), (owed, stored), "step {}: company", step);
        prop_assert_eq!(g.buyers.len(), m.accts.len(), "step {}: company buyers", step);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(40),
        max_shrink_iters: 200,
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    #[test]
    fn random_sequences_agree_with_the_reference_model(
        ops in prop::collection::vec(op(), 1..45).prop_map(|mut ops| {
            // Every sequence starts by opening both accounts, one of them
            // with a lodgment, so that stored balance backing credit (and
            // what may and may not be spent of it) comes up early.
            ops.insert(0, Op::Pay { acct: 1, cents: 50_000, pro_rata: false });
            ops.insert(0, Op::Open { acct: 1, limit: 80_000, tolerance: 1_000 });
            ops.insert(0, Op::Open { acct: 0, limit: 150_000, tolerance: 0 });
            ops
        })
    ) {
        run(ops)?;
    }
}

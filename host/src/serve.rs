//! Calls as data: one JSON object per line in, one answer per line out.
//! The answer is written only after the call's transaction has committed,
//! so a client that saw an answer knows the call is durable; a client that
//! saw none retries with the same idempotency key and gets exactly one
//! effect.
//!
//! ```text
//! {"op":"authorize","merchant":"shop","ctx":{"idempotency_key":"k1","now_ms":1772409600000},
//!  "req":{"account_id":"acme","order_id":"SO-1","amount":{"amount":"10.00","currency":"GBP"},"hold_ttl_s":null}}
//! {"ok":{"Approved":{...}}}
//! ```

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::mpsc;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::api::*;
use crate::backend::SqliteBackend;
use crate::{Component, Ledger, MerchantId};

/// One call to the component, with the merchant it is made for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Call {
    OpenAccount { merchant: String, ctx: CallContext, req: OpenAccountRequest },
    ChangeCreditLimit { merchant: String, ctx: CallContext, req: ChangeCreditLimitRequest },
    SetStatus { merchant: String, ctx: CallContext, req: SetStatusRequest },
    SetBillingPolicy { merchant: String, ctx: CallContext, req: SetBillingPolicyRequest },
    Authorize { merchant: String, ctx: CallContext, req: AuthorizeRequest },
    Capture { merchant: String, ctx: CallContext, req: CaptureRequest },
    VoidHold { merchant: String, ctx: CallContext, hold_id: String },
    ApplyBalance { merchant: String, ctx: CallContext, req: ApplyBalanceRequest },
    RecordReturn { merchant: String, ctx: CallContext, req: RecordReturnRequest },
    RecordPayment { merchant: String, ctx: CallContext, req: RecordPaymentRequest },
    ReversePayment { merchant: String, ctx: CallContext, payment_id: String, reason: String },
    AllocateBalance { merchant: String, ctx: CallContext, req: AllocateBalanceRequest },
    DayClose { merchant: String, ctx: CallContext, account_id: String, date: String },
    GetAccount { merchant: String, account_id: String, now_ms: i64 },
}

/// The answer to a `Call`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// The component's successful answer, as JSON.
    Ok(serde_json::Value),
    /// The component refused the call; nothing changed.
    Err(CreditError),
    /// The call could not be made or trapped; nothing changed.
    HostError(String),
}

/// A call's outcome before it becomes JSON. The group-commit thread hands
/// outcomes over and each caller's thread does its own conversion, so the
/// one thread every call waits on does only the call.
pub struct Outcome(Box<dyn FnOnce() -> Reply + Send>);

impl Outcome {
    /// The answer, as JSON.
    pub fn reply(self) -> Reply {
        (self.0)()
    }

    fn host_error(message: String) -> Outcome {
        Outcome(Box::new(move || Reply::HostError(message)))
    }
}

fn outcome<T: Serialize + Send + 'static>(r: anyhow::Result<std::result::Result<T, CreditError>>) -> Outcome {
    Outcome(Box::new(move || reply(r)))
}

fn reply<T: Serialize>(r: anyhow::Result<std::result::Result<T, CreditError>>) -> Reply {
    match r {
        Ok(Ok(v)) => serde_json::to_value(v).map_or_else(|e| Reply::HostError(e.to_string()), Reply::Ok),
        Ok(Err(e)) => Reply::Err(e),
        Err(e) => Reply::HostError(format!("{e:#}")),
    }
}

/// Makes one call on `ledger`.
pub fn execute(ledger: &mut Ledger, call: &Call) -> Reply {
    run(ledger, call).reply()
}

/// Makes one call on `ledger`; the answer is converted later.
fn run(ledger: &mut Ledger, call: &Call) -> Outcome {
    let merchant = match call {
        Call::OpenAccount { merchant, .. }
        | Call::ChangeCreditLimit { merchant, .. }
        | Call::SetStatus { merchant, .. }
        | Call::SetBillingPolicy { merchant, .. }
        | Call::Authorize { merchant, .. }
        | Call::Capture { merchant, .. }
        | Call::VoidHold { merchant, .. }
        | Call::ApplyBalance { merchant, .. }
        | Call::RecordReturn { merchant, .. }
        | Call::RecordPayment { merchant, .. }
        | Call::ReversePayment { merchant, .. }
        | Call::AllocateBalance { merchant, .. }
        | Call::DayClose { merchant, .. }
        | Call::GetAccount { merchant, .. } => merchant,
    };
    let m = match MerchantId::new(merchant.clone()) {
        Ok(m) => m,
        Err(e) => return Outcome::host_error(e.to_string()),
    };
    match call {
        Call::OpenAccount { ctx, req, .. } => outcome(ledger.open_account(&m, ctx, req)),
        Call::ChangeCreditLimit { ctx, req, .. } => outcome(ledger.change_credit_limit(&m, ctx, req)),
        Call::SetStatus { ctx, req, .. } => outcome(ledger.set_status(&m, ctx, req)),
        Call::SetBillingPolicy { ctx, req, .. } => outcome(ledger.set_billing_policy(&m, ctx, req)),
        Call::Authorize { ctx, req, .. } => outcome(ledger.authorize(&m, ctx, req)),
        Call::Capture { ctx, req, .. } => outcome(ledger.capture(&m, ctx, req)),
        Call::VoidHold { ctx, hold_id, .. } => outcome(ledger.void_hold(&m, ctx, hold_id)),
        Call::ApplyBalance { ctx, req, .. } => outcome(ledger.apply_balance(&m, ctx, req)),
        Call::RecordReturn { ctx, req, .. } => outcome(ledger.record_return(&m, ctx, req)),
        Call::RecordPayment { ctx, req, .. } => outcome(ledger.record_payment(&m, ctx, req)),
        Call::ReversePayment { ctx, payment_id, reason, .. } => outcome(ledger.reverse_payment(&m, ctx, payment_id, reason)),
        Call::AllocateBalance { ctx, req, .. } => outcome(ledger.allocate_balance(&m, ctx, req)),
        Call::DayClose { ctx, account_id, date, .. } => outcome(ledger.day_close(&m, ctx, account_id, date)),
        Call::GetAccount { account_id, now_ms, .. } => outcome(ledger.get_account(&m, account_id, *now_ms)),
    }
}

/// Reads calls from `input` until it ends, answering each on `output`.
/// A line that is not a call gets a `host_error` answer.
pub fn serve(ledger: &mut Ledger, input: impl BufRead, mut output: impl Write) -> Result<()> {
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<Call>(&line) {
            Ok(call) => execute(ledger, &call),
            Err(e) => Reply::HostError(format!("not a call: {e}")),
        };
        serde_json::to_writer(&mut output, &answer)?;
        output.write_all(b"\n")?;
        output.flush()?;
    }
    Ok(())
}

/// A call waiting for its group to commit, with where its answer goes.
struct Job {
    call: Call,
    answer: mpsc::Sender<Outcome>,
}

/// A call submitted to a `GroupCommit`, its answer still to come.
pub struct Pending(mpsc::Receiver<Outcome>);

impl Pending {
    /// Waits for the answer (it comes once the call's group committed).
    pub fn wait(self) -> Reply {
        self.0.recv().map_or_else(|_| Reply::HostError("the group-commit thread has stopped".into()), Outcome::reply)
    }
}

/// Group commit: one thread runs calls from many clients on one instance
/// over SQLite, up to `max_group` calls per transaction, each call in its
/// own savepoint (so a refused or trapped call still changes nothing), and
/// answers them all only after the one `COMMIT` (one fsync) made them
/// durable. If that commit fails, every call of the group is answered with
/// a host error and none took effect.
#[derive(Clone)]
pub struct GroupCommit {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the committing thread on the database at `path`.
    pub fn sqlite(component: &Component, path: &Path, max_group: usize) -> Result<GroupCommit> {
        let backend = SqliteBackend::open(path)?;
        let mut ledger = Ledger::with_backend(component, Box::new(backend));
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("group-commit".into())
            .spawn(move || {
                while let Ok(first) = queue.recv() {
                    let mut group = vec![first];
                    while group.len() < max_group.max(1) {
                        match queue.try_recv() {
                            Ok(job) => group.push(job),
                            Err(_) => break,
                        }
                    }
                    let answers = run_group(&mut ledger, &group);
                    for (job, answer) in group.into_iter().zip(answers) {
                        let _ = job.answer.send(answer);
                    }
                }
            })
            .context("starting the group-commit thread")?;
        Ok(GroupCommit { jobs })
    }

    /// Makes one call; returns once it is durable (or refused).
    pub fn call(&self, call: Call) -> Reply {
        self.submit(call).wait()
    }

    /// Queues a call and returns where its answer will arrive (for clients
    /// that pipeline).
    pub fn submit(&self, call: Call) -> Pending {
        let (answer, reply) = mpsc::channel();
        // If the thread has stopped, the answer channel closes unanswered
        // and `wait` says so.
        let _ = self.jobs.send(Job { call, answer });
        Pending(reply)
    }
}

fn run_group(ledger: &mut Ledger, group: &[Job]) -> Vec<Outcome> {
    if let Err(e) = ledger.backend().begin_group() {
        return group.iter().map(|_| Outcome::host_error(format!("begin: {e:#}"))).collect();
    }
    let answers: Vec<Outcome> = group.iter().map(|job| run(ledger, &job.call)).collect();
    match ledger.backend().commit_group() {
        Ok(()) => answers,
        Err(e) => group.iter().map(|_| Outcome::host_error(format!("commit: {e:#}"))).collect(),
    }
}

/// Like `serve`, with group commit: calls are read as they arrive (a client
/// may send many before reading answers), committed in groups, and
/// answered in order, each only after its group is durable.
pub fn serve_grouped(group: &GroupCommit, input: impl BufRead + Send, mut output: impl Write) -> Result<()> {
    let (pending, answers) = mpsc::channel::<Result<Pending, Reply>>();
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || -> Result<()> {
            for line in input.lines() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                let next = match serde_json::from_str::<Call>(&line) {
                    Ok(call) => Ok(group.submit(call)),
                    Err(e) => Err(Reply::HostError(format!("not a call: {e}"))),
                };
                if pending.send(next).is_err() {
                    break;
                }
            }
            Ok(())
        });
        for next in answers {
            let answer = match next {
                Ok(pending) => pending.wait(),
                Err(refused) => refused,
            };
            serde_json::to_writer(&mut output, &answer)?;
            output.write_all(b"\n")?;
            output.flush()?;
        }
        reader.join().map_err(|_| anyhow::anyhow!("the reader thread panicked"))?
    })
}

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
//!
//! Whatever a line holds, it gets one answer and the server goes on: a line
//! that is not valid UTF-8, not JSON, not a call, or that names a field no
//! call has (a misspelt `hold_ttl` is refused, not read as "no value"), is
//! answered `host_error` with the line's number and why. A line longer than
//! `--max-line-bytes` (`LINE_BYTES_MAX_DEFAULT`) is not read into memory:
//! it is skipped to its end and answered `host_error` too.

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::mpsc;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::api::*;
use crate::store::SqliteBackend;
use crate::{Component, Ledger, MerchantId};

/// One call to the component, with the merchant it is made for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Call {
    OpenAccount { merchant: String, ctx: CallContext, req: OpenAccountRequest },
    OpenCompany { merchant: String, ctx: CallContext, req: OpenCompanyRequest },
    ChangeCreditLimit { merchant: String, ctx: CallContext, req: ChangeCreditLimitRequest },
    SetStatus { merchant: String, ctx: CallContext, req: SetStatusRequest },
    SetBillingPolicy { merchant: String, ctx: CallContext, req: SetBillingPolicyRequest },
    Authorize { merchant: String, ctx: CallContext, req: AuthorizeRequest },
    Capture { merchant: String, ctx: CallContext, req: CaptureRequest },
    VoidHold { merchant: String, ctx: CallContext, hold_id: String },
    AmendHold { merchant: String, ctx: CallContext, req: AmendHoldRequest },
    ApplyBalance { merchant: String, ctx: CallContext, req: ApplyBalanceRequest },
    RecordReturn { merchant: String, ctx: CallContext, req: RecordReturnRequest },
    RecordPayment { merchant: String, ctx: CallContext, req: RecordPaymentRequest },
    ReversePayment { merchant: String, ctx: CallContext, payment_id: String, reason: String },
    AllocateBalance { merchant: String, ctx: CallContext, req: AllocateBalanceRequest },
    RefundBalance { merchant: String, ctx: CallContext, req: RefundRequest },
    WriteOff { merchant: String, ctx: CallContext, req: WriteOffRequest },
    CancelCreditNote { merchant: String, ctx: CallContext, req: CancelCreditNoteRequest },
    DayClose { merchant: String, ctx: CallContext, account_id: String, date: String },
    GetAccount { merchant: String, account_id: String, now_ms: i64 },
    GetCompany { merchant: String, company_id: String, now_ms: i64 },
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
        | Call::OpenCompany { merchant, .. }
        | Call::ChangeCreditLimit { merchant, .. }
        | Call::SetStatus { merchant, .. }
        | Call::SetBillingPolicy { merchant, .. }
        | Call::Authorize { merchant, .. }
        | Call::Capture { merchant, .. }
        | Call::VoidHold { merchant, .. }
        | Call::AmendHold { merchant, .. }
        | Call::ApplyBalance { merchant, .. }
        | Call::RecordReturn { merchant, .. }
        | Call::RecordPayment { merchant, .. }
        | Call::ReversePayment { merchant, .. }
        | Call::AllocateBalance { merchant, .. }
        | Call::RefundBalance { merchant, .. }
        | Call::WriteOff { merchant, .. }
        | Call::CancelCreditNote { merchant, .. }
        | Call::DayClose { merchant, .. }
        | Call::GetAccount { merchant, .. }
        | Call::GetCompany { merchant, .. } => merchant,
    };
    let m = match MerchantId::new(merchant.clone()) {
        Ok(m) => m,
        Err(e) => return Outcome::host_error(e.to_string()),
    };
    match call {
        Call::OpenAccount { ctx, req, .. } => outcome(ledger.open_account(&m, ctx, req)),
        Call::OpenCompany { ctx, req, .. } => outcome(ledger.open_company(&m, ctx, req)),
        Call::ChangeCreditLimit { ctx, req, .. } => outcome(ledger.change_credit_limit(&m, ctx, req)),
        Call::SetStatus { ctx, req, .. } => outcome(ledger.set_status(&m, ctx, req)),
        Call::SetBillingPolicy { ctx, req, .. } => outcome(ledger.set_billing_policy(&m, ctx, req)),
        Call::Authorize { ctx, req, .. } => outcome(ledger.authorize(&m, ctx, req)),
        Call::Capture { ctx, req, .. } => outcome(ledger.capture(&m, ctx, req)),
        Call::VoidHold { ctx, hold_id, .. } => outcome(ledger.void_hold(&m, ctx, hold_id)),
        Call::AmendHold { ctx, req, .. } => outcome(ledger.amend_hold(&m, ctx, req)),
        Call::ApplyBalance { ctx, req, .. } => outcome(ledger.apply_balance(&m, ctx, req)),
        Call::RecordReturn { ctx, req, .. } => outcome(ledger.record_return(&m, ctx, req)),
        Call::RecordPayment { ctx, req, .. } => outcome(ledger.record_payment(&m, ctx, req)),
        Call::ReversePayment { ctx, payment_id, reason, .. } => outcome(ledger.reverse_payment(&m, ctx, payment_id, reason)),
        Call::AllocateBalance { ctx, req, .. } => outcome(ledger.allocate_balance(&m, ctx, req)),
        Call::RefundBalance { ctx, req, .. } => outcome(ledger.refund_balance(&m, ctx, req)),
        Call::WriteOff { ctx, req, .. } => outcome(ledger.write_off(&m, ctx, req)),
        Call::CancelCreditNote { ctx, req, .. } => outcome(ledger.cancel_credit_note(&m, ctx, req)),
        Call::DayClose { ctx, account_id, date, .. } => outcome(ledger.day_close(&m, ctx, account_id, date)),
        Call::GetAccount { account_id, now_ms, .. } => outcome(ledger.get_account(&m, account_id, *now_ms)),
        Call::GetCompany { company_id, now_ms, .. } => outcome(ledger.get_company(&m, company_id, *now_ms)),
    }
}

/// The longest input line `serve` reads, by default (1 MiB; the largest
/// valid call, 100 invoice lines with every text at its limit, is about
/// 60 KB).
pub const LINE_BYTES_MAX_DEFAULT: usize = 1 << 20;

/// One line of input, as read.
enum Line {
    /// Its bytes, without the newline.
    Bytes(Vec<u8>),
    /// It had this many bytes, more than the limit; they were skipped.
    TooLong(usize),
}

/// Reads `input` line by line, never holding more than `max` bytes of one.
struct Lines<R> {
    input: R,
    max: usize,
    number: u64,
}

impl<R: BufRead> Lines<R> {
    fn next(&mut self) -> std::io::Result<Option<(u64, Line)>> {
        let mut bytes = Vec::new();
        let mut length = 0usize;
        let mut saw_any = false;
        loop {
            let available = self.input.fill_buf()?;
            if available.is_empty() {
                if !saw_any {
                    return Ok(None);
                }
                break;
            }
            saw_any = true;
            let (chunk, ends) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..i], true),
                None => (available, false),
            };
            let used = chunk.len() + usize::from(ends);
            length = length.saturating_add(chunk.len());
            if length <= self.max {
                bytes.extend_from_slice(chunk);
            } else if !bytes.is_empty() {
                bytes = Vec::new();
            }
            self.input.consume(used);
            if ends {
                break;
            }
        }
        self.number += 1;
        Ok(Some((self.number, if length > self.max { Line::TooLong(length) } else { Line::Bytes(bytes) })))
    }
}

/// What one line of input asks for: a call, nothing (a blank line), or an
/// answer saying why it is not a call.
fn read_call(number: u64, line: Line, max: usize) -> Option<Result<Call, Reply>> {
    let bytes = match line {
        Line::TooLong(n) => {
            return Some(Err(Reply::HostError(format!("line {number}: {n} bytes, over the {max}-byte limit (--max-line-bytes); not read"))));
        }
        Line::Bytes(b) => b,
    };
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            return Some(Err(Reply::HostError(format!("line {number}: not valid UTF-8 (at byte {})", e.valid_up_to()))));
        }
    };
    if text.trim().is_empty() {
        return None;
    }
    Some(parse_call(text).map_err(|why| Reply::HostError(format!("line {number}: not a call: {why}"))))
}

/// Parses one call, refusing fields that no call has: the call is read,
/// written back, and every field of the input must be in what was written.
pub fn parse_call(text: &str) -> std::result::Result<Call, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let call = Call::deserialize(&value).map_err(|e| e.to_string())?;
    let known = serde_json::to_value(&call).map_err(|e| e.to_string())?;
    match unknown_field(&value, &known) {
        Some(path) => Err(format!("unknown field `{path}`")),
        None => Ok(call),
    }
}

/// The path of the first field of `given` that `known` lacks.
fn unknown_field(given: &serde_json::Value, known: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match (given, known) {
        (Value::Object(g), Value::Object(k)) => g.iter().find_map(|(name, v)| match k.get(name) {
            None => Some(name.clone()),
            Some(kv) => unknown_field(v, kv).map(|inner| format!("{name}.{inner}")),
        }),
        (Value::Array(g), Value::Array(k)) => {
            g.iter().zip(k).enumerate().find_map(|(i, (gv, kv))| unknown_field(gv, kv).map(|inner| format!("{i}.{inner}")))
        }
        _ => None,
    }
}

fn write_reply(output: &mut impl Write, answer: &Reply) -> Result<()> {
    serde_json::to_writer(&mut *output, answer)?;
    output.write_all(b"\n")?;
    output.flush()?;
    Ok(())
}

/// Reads calls from `input` until it ends, answering each on `output`.
/// Every line gets an answer (see the module's docs), lines of more than
/// `max_line_bytes` included.
pub fn serve(ledger: &mut Ledger, input: impl BufRead, mut output: impl Write, max_line_bytes: usize) -> Result<()> {
    serve_mailing(ledger, input, &mut output, max_line_bytes, None).map(|_| ())
}

/// `serve`, also sending (through `outbox`) each captured invoice and each
/// day-close's reminders and monthly statement, after the call committed
/// and before its answer is written. A message that cannot be written is
/// reported on standard error and the answer still goes out: the call is
/// committed, and its documents can be sent again from the store.
pub fn serve_mailing(
    ledger: &mut Ledger,
    input: impl BufRead,
    mut output: impl Write,
    max_line_bytes: usize,
    outbox: Option<&crate::deliver::Outbox>,
) -> Result<u64> {
    let mut served = 0u64;
    let mut lines = Lines { input, max: max_line_bytes, number: 0 };
    while let Some((number, line)) = lines.next()? {
        let answer = match read_call(number, line, max_line_bytes) {
            None => continue,
            Some(Ok(call)) => {
                let answer = execute(ledger, &call);
                served += 1;
                if let (Some(outbox), Reply::Ok(value)) = (outbox, &answer)
                    && let Err(e) = send(ledger, outbox, &call, value)
                {
                    eprintln!("line {number}: the call committed but its mail was not written: {e:#}");
                }
                answer
            }
            Some(Err(refused)) => refused,
        };
        write_reply(&mut output, &answer)?;
        if matches!(answer, Reply::HostError(_)) {
            // A storage that is gone stops the server: nothing it answered
            // after would last.
            ledger.backend().check()?;
        }
    }
    Ok(served)
}

/// Sends what a committed call produced for the customer.
fn send(ledger: &mut Ledger, outbox: &crate::deliver::Outbox, call: &Call, answer: &serde_json::Value) -> Result<()> {
    match call {
        Call::Capture { merchant, .. } => {
            let receipt: CaptureReceipt = serde_json::from_value(answer.clone())?;
            outbox.capture(ledger, &MerchantId::new(merchant.clone())?, &receipt)?;
        }
        Call::DayClose { merchant, .. } => {
            let report: DayCloseReport = serde_json::from_value(answer.clone())?;
            outbox.day_close(ledger, &MerchantId::new(merchant.clone())?, &report)?;
        }
        _ => {}
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
    /// The committing thread, joined by `finish`.
    thread: std::sync::Arc<std::sync::Mutex<Option<std::thread::JoinHandle<Result<()>>>>>,
    /// Why the committing thread stopped taking calls, if it did (the
    /// database file was deleted or replaced).
    stopped: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl GroupCommit {
    /// Starts the committing thread on the database at `path`.
    pub fn sqlite(component: &Component, path: &Path, max_group: usize) -> Result<GroupCommit> {
        let backend = SqliteBackend::open(path)?;
        let mut ledger = Ledger::with_backend(component, Box::new(backend));
        let (jobs, queue) = mpsc::channel::<Job>();
        let stopped = std::sync::Arc::new(std::sync::Mutex::new(None));
        let stop = stopped.clone();
        let thread = std::thread::Builder::new()
            .name("group-commit".into())
            .spawn(move || -> Result<()> {
                while let Ok(first) = queue.recv() {
                    let mut group = vec![first];
                    while group.len() < max_group.max(1) {
                        match queue.try_recv() {
                            Ok(job) => group.push(job),
                            Err(_) => break,
                        }
                    }
                    let (answers, fatal) = run_group(&mut ledger, &group);
                    for (job, answer) in group.into_iter().zip(answers) {
                        let _ = job.answer.send(answer);
                    }
                    if let Some(why) = fatal {
                        *stop.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
                        // Calls still queued are dropped unanswered: their
                        // callers hear that the thread has stopped.
                        return Ok(());
                    }
                }
                // Every sender is gone: a clean end. Leave the database
                // file whole, its log checkpointed into it.
                ledger.backend().close()
            })
            .context("starting the group-commit thread")?;
        Ok(GroupCommit { jobs, thread: std::sync::Arc::new(std::sync::Mutex::new(Some(thread))), stopped })
    }

    /// Why the committing thread stopped, if it stopped on its own (the
    /// database file was deleted or replaced).
    pub fn stopped(&self) -> Option<String> {
        self.stopped.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Ends the committing thread once every call sent has been answered,
    /// and closes the database (its log checkpointed into the file). Call
    /// it on the last clone.
    pub fn finish(self) -> Result<()> {
        let GroupCommit { jobs, thread, stopped } = self;
        drop(jobs);
        let handle = thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = handle {
            handle.join().map_err(|_| anyhow::anyhow!("the group-commit thread panicked"))??;
        }
        match stopped.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            Some(why) => Err(anyhow::anyhow!(why)),
            None => Ok(()),
        }
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

/// Runs a group in one transaction; the second value says why the thread
/// must stop, when the storage is gone.
fn run_group(ledger: &mut Ledger, group: &[Job]) -> (Vec<Outcome>, Option<String>) {
    if let Err(e) = ledger.backend().begin_group() {
        return (group.iter().map(|_| Outcome::host_error(format!("begin: {e:#}"))).collect(), None);
    }
    let answers: Vec<Outcome> = group.iter().map(|job| run(ledger, &job.call)).collect();
    match ledger.backend().commit_group() {
        Ok(()) => (answers, None),
        Err(e) => {
            let fatal = e.downcast_ref::<crate::store::DatabaseGone>().map(ToString::to_string);
            (group.iter().map(|_| Outcome::host_error(format!("commit: {e:#}"))).collect(), fatal)
        }
    }
}

/// Like `serve`, with group commit: calls are read as they arrive (a client
/// may send many before reading answers), committed in groups, and
/// answered in order, each only after its group is durable.
pub fn serve_grouped(group: &GroupCommit, input: impl BufRead + Send, mut output: impl Write, max_line_bytes: usize) -> Result<()> {
    let (pending, answers) = mpsc::channel::<Result<Pending, Reply>>();
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || -> Result<()> {
            let mut lines = Lines { input, max: max_line_bytes, number: 0 };
            while let Some((number, line)) = lines.next()? {
                let next = match read_call(number, line, max_line_bytes) {
                    None => continue,
                    Some(Ok(call)) => Ok(group.submit(call)),
                    Some(Err(refused)) => Err(refused),
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
            write_reply(&mut output, &answer)?;
            if let Some(why) = group.stopped() {
                anyhow::bail!(why);
            }
        }
        reader.join().map_err(|_| anyhow::anyhow!("the reader thread panicked"))?
    })
}

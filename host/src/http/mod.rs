//! `serve-http`: the component's exported functions as JSON endpoints that
//! storefronts call.
//!
//! `POST /v1/<interface>/<function>` with the arguments as a JSON object by
//! parameter name, in the encoding of `crate::values` (the conformance
//! vectors' encoding), answers the function's `result`:
//!
//! ```text
//! POST /v1/checkout/authorize
//! Authorization: Bearer ck_1f0c..._...
//! Idempotency-Key: SO-1001-auth
//!
//! {"ctx": {}, "req": {"account-id": "acme", "order-id": "SO-1001", "amount": {"amount": "10.00", "currency": "GBP"}}}
//!
//! 200 {"ok": {"tag": "approved", "val": {...}}}
//! ```
//!
//! - The merchant is the API key's (`keys`); no request names one. A
//!   missing, unknown, wrong or revoked key is 401 and nothing is read.
//! - A function that changes data takes `ctx`: its idempotency key comes
//!   from the `Idempotency-Key` header (required; a different one in the
//!   body is refused) and its `now-ms` from the host's clock unless the
//!   body gives one. A query's `now-ms` parameter is filled the same way.
//! - The component's refusal is `{"err": {"tag": "<WIT error case>", ...}}`
//!   with 404 for the `*-not-found` cases, 409 for
//!   `idempotency-key-reused`, 422 for the rest; nothing changed.
//! - What the host refuses before calling is `{"host-error": {"kind": ...,
//!   "message": ...}}`: 400 `malformed-json`, `bad-arguments`,
//!   `idempotency-key-missing`, `idempotency-key-mismatch`; 401
//!   `unauthorized`; 404 `no-such-function`; 405 `method-not-allowed`; 413
//!   `body-too-large`; 500 `host-failure` (the call was rolled back).
//!
//! One thread owns the ledger and makes the calls one at a time, each its
//! own transaction, answered after it commits. On SIGTERM or Ctrl-C the
//! server stops accepting, finishes every request it has read, then
//! closes the database.

mod finance;
pub mod keys;
pub mod links;
mod pages;
pub(crate) mod secrets;
pub mod staff;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, mpsc};
use std::time::Instant;

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value as Json, json};
use tokio::sync::oneshot;

use crate::{CallRefused, Component, Ledger, MerchantId};

/// The largest request body read, in bytes, unless configured.
pub const BODY_BYTES_MAX_DEFAULT: usize = 64 * 1024;

/// How the server runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen (port 0: any free port, see `Server::addr`).
    pub listen: SocketAddr,
    /// Larger request bodies are refused with 413 unread.
    pub body_bytes_max: usize,
    /// Also log each request when it is received, not only when answered.
    pub verbose: bool,
    /// Names and addresses printed on pages (ids without them).
    pub names: crate::directory::Directory,
}

/// What a finished server did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Served {
    /// Requests that reached the ledger thread (authenticated or not).
    pub requests: u64,
}

/// A request for the ledger thread.
enum Job {
    /// A storefront's call.
    Call { key: String, function: String, args: Json, answer: oneshot::Sender<Outcome> },
    /// A customer's page (`pages`).
    Page { link: String, statement: Option<u64>, now_ms: i64, answer: oneshot::Sender<Result<pages::Page, String>> },
    /// A finance page or action (`finance`).
    Staff { request: finance::Request, answer: oneshot::Sender<Result<finance::Response, String>> },
}

/// What the ledger thread answers.
enum Outcome {
    Unauthorized,
    Answer { merchant: MerchantId, result: Json },
    Refused { merchant: MerchantId, why: CallRefused },
    Failed { merchant: MerchantId, why: String },
}

#[derive(Clone)]
struct App {
    jobs: mpsc::Sender<Job>,
    /// Each exported function (`checkout.authorize`) and its parameters.
    parameters: Arc<HashMap<String, Vec<String>>>,
    verbose: bool,
}

/// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight and
/// closes the ledger. `ready` is told the address once listening.
pub fn serve(component: &Component, mut ledger: Ledger, config: &Config, ready: impl FnOnce(SocketAddr)) -> Result<Served> {
    let parameters = component
        .exported_functions()
        .into_iter()
        .map(|(interface, name, ty)| {
            let short = interface.split_once('/').map_or(interface.as_str(), |(_, i)| i).split('@').next().unwrap_or_default().to_owned();
            (format!("{short}.{name}"), ty.params().map(|(p, _)| p.to_owned()).collect())
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_io().enable_time().build().context("starting the HTTP runtime")?;
    let (jobs, inbox) = mpsc::channel::<Job>();
    let names = config.names.clone();
    let worker = std::thread::Builder::new().name("ledger".into()).spawn(move || {
        let mut served = Served::default();
        for job in inbox {
            served.requests += 1;
            // The client may have gone; the call stands either way.
            match job {
                Job::Call { key, function, args, answer: to } => {
                    let _ = to.send(answer(&mut ledger, &key, &function, &args));
                }
                Job::Page { link, statement, now_ms, answer: to } => {
                    let _ = to.send(pages::my_account(&mut ledger, &names, &link, statement, now_ms).map_err(|e| format!("{e:#}")));
                }
                Job::Staff { request, answer: to } => {
                    let _ = to.send(finance::handle(&mut ledger, request).map_err(|e| format!("{e:#}")));
                }
            }
        }
        ledger.backend().close().map(|()| served)
    })?;
    let app = App { jobs, parameters: Arc::new(parameters), verbose: config.verbose };
    let router = Router::new()
        .route("/v1/{interface}/{function}", post(call).fallback(method_not_allowed))
        .route("/my/{link}", get(my_account))
        .route("/my/{link}/statement/{seq}", get(my_statement))
        .route("/staff/sign-in", get(staff_sign_in_form).post(staff_sign_in))
        .route("/staff/sign-out", post(staff_sign_out))
        .route("/staff", get(staff_home))
        .route("/staff/accounts", get(staff_accounts))
        .route("/staff/aging", get(staff_aging))
        .route("/staff/warnings", get(staff_warnings))
        .route("/staff/bank", get(staff_bank))
        .route("/staff/bank/settle", post(staff_settle_bank))
        .route("/staff/accounts/{id}", get(staff_account))
        .route("/staff/accounts/{id}/notes", post(staff_add_note))
        .route("/staff/accounts/{id}/payments", post(staff_record_payment))
        .route("/staff/accounts/{id}/status", post(staff_set_status))
        .route("/staff/accounts/{id}/limit", post(staff_change_limit))
        .route("/staff/accounts/{id}/terms", post(staff_set_terms))
        .route("/staff/accounts/{id}/dynamic-discount", post(staff_set_dynamic_discount))
        .route("/staff/users", get(staff_users).post(staff_add_user))
        .route("/staff/users/{email}", post(staff_update_user))
        .fallback(no_route)
        .layer(DefaultBodyLimit::max(config.body_bytes_max))
        .with_state(app);
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen).await.with_context(|| format!("listening on {}", config.listen))?;
        ready(listener.local_addr()?);
        axum::serve(listener, router).with_graceful_shutdown(stopped()).await.context("serving HTTP")
    });
    // Every request read has been answered; the router (and with it the
    // last sender) is gone, so the ledger thread ends and closes.
    let closed = worker.join().map_err(|_| anyhow::anyhow!("the ledger thread panicked"))?;
    served?;
    closed
}

/// The first SIGTERM or Ctrl-C.
async fn stopped() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    eprintln!("stopping: finishing the requests in flight");
}

fn answer(ledger: &mut Ledger, key: &str, function: &str, args: &Json) -> Outcome {
    let merchant = match keys::authenticate(ledger.backend(), key) {
        Ok(Some(m)) => m,
        Ok(None) => return Outcome::Unauthorized,
        Err(e) => return Outcome::Failed { merchant: MerchantId::new("-").expect("valid"), why: format!("{e:#}") },
    };
    match ledger.call_json(&merchant, function, args) {
        Ok(result) => Outcome::Answer { merchant, result },
        Err(e) => match e.downcast_ref::<CallRefused>() {
            Some(why) => Outcome::Refused { merchant, why: why.clone() },
            None => Outcome::Failed { merchant, why: format!("{e:#}") },
        },
    }
}

async fn call(State(app): State<App>, Path((interface, function)): Path<(String, String)>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let started = Instant::now();
    let path = format!("/v1/{interface}/{function}");
    if app.verbose {
        eprintln!("received POST {path}");
    }
    let (response, merchant) = respond(&app, &interface, &function, &headers, body).await;
    eprintln!("POST {path} {} {} {} us", response.status().as_u16(), merchant.as_ref().map_or("-", MerchantId::as_str), started.elapsed().as_micros());
    response
}

async fn respond(app: &App, interface: &str, function: &str, headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> (Response, Option<MerchantId>) {
    // The key first: an unauthenticated request learns nothing else.
    let Some(key) = bearer(headers) else {
        return (host_error(StatusCode::UNAUTHORIZED, "unauthorized", "send the merchant's API key as `Authorization: Bearer ck_...`"), None);
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return (host_error(StatusCode::PAYLOAD_TOO_LARGE, "body-too-large", "the request body is larger than this server reads (--max-body-bytes)"), None);
        }
        Err(rejection) => return (host_error(StatusCode::BAD_REQUEST, "malformed-json", &rejection.body_text()), None),
    };
    let mut args: Json = match serde_json::from_slice(&body) {
        Ok(args @ Json::Object(_)) => args,
        Ok(_) => return (host_error(StatusCode::BAD_REQUEST, "malformed-json", "the body must be a JSON object of the function's arguments by name"), None),
        Err(e) => return (host_error(StatusCode::BAD_REQUEST, "malformed-json", &format!("the body is not JSON: {e}")), None),
    };
    let function = format!("{interface}.{function}");
    if let Some(parameters) = app.parameters.get(&function)
        && let Err(response) = fill_context(&mut args, parameters, headers)
    {
        return (*response, None);
    }
    let (answer, outcome) = oneshot::channel();
    let job = Job::Call { key: key.to_owned(), function, args, answer };
    if app.jobs.send(job).is_err() {
        return (host_error(StatusCode::SERVICE_UNAVAILABLE, "host-failure", "the ledger has stopped"), None);
    }
    match outcome.await {
        Err(_) => (host_error(StatusCode::INTERNAL_SERVER_ERROR, "host-failure", "the ledger thread stopped during the call"), None),
        Ok(Outcome::Unauthorized) => (host_error(StatusCode::UNAUTHORIZED, "unauthorized", "the API key is unknown, wrong or revoked"), None),
        Ok(Outcome::Answer { merchant, result }) => (json_response(status_of(&result), &result), Some(merchant)),
        Ok(Outcome::Refused { merchant, why: CallRefused::NoSuchFunction(f) }) => {
            (host_error(StatusCode::NOT_FOUND, "no-such-function", &format!("the component exports no function {f:?}; see `credit-host wit`")), Some(merchant))
        }
        Ok(Outcome::Refused { merchant, why: CallRefused::BadArguments(why) }) => (host_error(StatusCode::BAD_REQUEST, "bad-arguments", &why), Some(merchant)),
        Ok(Outcome::Failed { merchant, why }) => (host_error(StatusCode::INTERNAL_SERVER_ERROR, "host-failure", &format!("{why}; nothing was changed")), Some(merchant)),
    }
}

/// The key of `Authorization: Bearer <key>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !key.trim().is_empty()).then(|| key.trim())
}

/// Puts the `Idempotency-Key` header and the clock into the `ctx` of a
/// function that changes data, and the clock into a query's `now-ms`,
/// where the body leaves them out.
fn fill_context(args: &mut Json, parameters: &[String], headers: &HeaderMap) -> Result<(), Box<Response>> {
    let refuse = |kind: &str, message: &str| Err(Box::new(host_error(StatusCode::BAD_REQUEST, kind, message)));
    let now_ms = chrono::Utc::now().timestamp_millis();
    let object = args.as_object_mut().expect("checked to be an object");
    if parameters.iter().any(|p| p == "ctx") {
        let key = match headers.get("idempotency-key").map(HeaderValue::to_str) {
            Some(Ok(key)) => key.to_owned(),
            Some(Err(_)) => return refuse("bad-arguments", "the Idempotency-Key header must be printable ASCII"),
            None => {
                return refuse(
                    "idempotency-key-missing",
                    "a call that changes data needs an Idempotency-Key header: the same key on a retry returns the first answer",
                );
            }
        };
        let Some(ctx) = object.entry("ctx").or_insert_with(|| json!({})).as_object_mut() else {
            return refuse("bad-arguments", "ctx: expected an object (it may be left out)");
        };
        if ctx.get("idempotency-key").is_some_and(|k| k.as_str() != Some(key.as_str())) {
            return refuse("idempotency-key-mismatch", "ctx.idempotency-key differs from the Idempotency-Key header; send it in the header only");
        }
        ctx.insert("idempotency-key".into(), Json::String(key));
        ctx.entry("now-ms").or_insert(json!(now_ms));
    }
    if parameters.iter().any(|p| p == "now-ms") {
        object.entry("now-ms").or_insert(json!(now_ms));
    }
    Ok(())
}

fn status_of(result: &Json) -> StatusCode {
    match result.get("err").and_then(|e| e.get("tag")).and_then(Json::as_str) {
        None => StatusCode::OK,
        Some(tag) if tag.ends_with("-not-found") => StatusCode::NOT_FOUND,
        Some("idempotency-key-reused") => StatusCode::CONFLICT,
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn host_error(status: StatusCode, kind: &str, message: &str) -> Response {
    let mut response = json_response(status, &json!({ "host-error": { "kind": kind, "message": message } }));
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn json_response(status: StatusCode, body: &Json) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

async fn method_not_allowed(method: Method) -> Response {
    host_error(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", &format!("{method}: every endpoint takes POST with a JSON body"))
}

async fn no_route() -> Response {
    host_error(StatusCode::NOT_FOUND, "no-such-function", "endpoints are POST /v1/<interface>/<function>, e.g. /v1/checkout/authorize")
}

async fn my_account(State(app): State<App>, Path(link): Path<String>) -> Response {
    page(&app, link, None).await
}

async fn my_statement(State(app): State<App>, Path((link, seq)): Path<(String, String)>) -> Response {
    match seq.parse() {
        Ok(seq) => page(&app, link, Some(seq)).await,
        Err(_) => html(StatusCode::NOT_FOUND, NOT_FOUND_PAGE.to_owned()),
    }
}

/// What a wrong, expired or revoked link shows: the same for each, so the
/// page says nothing about which links exist.
const NOT_FOUND_PAGE: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Link not valid</title></head>\
<body><main><h1>This link does not open an account</h1><p>It may have expired or been replaced. Ask the business that sent it for a new one.</p></main></body></html>";

async fn page(app: &App, link: String, statement: Option<u64>) -> Response {
    let started = Instant::now();
    let (answer, outcome) = oneshot::channel();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let response = if app.jobs.send(Job::Page { link, statement, now_ms, answer }).is_err() {
        html(StatusCode::SERVICE_UNAVAILABLE, "<!DOCTYPE html><title>Stopping</title><p>The server is stopping; try again shortly.</p>".to_owned())
    } else {
        match outcome.await {
            Ok(Ok(pages::Page::Html(body))) => html(StatusCode::OK, body),
            Ok(Ok(pages::Page::NotFound)) => html(StatusCode::NOT_FOUND, NOT_FOUND_PAGE.to_owned()),
            Ok(Err(why)) => {
                eprintln!("page failed: {why}");
                html(StatusCode::INTERNAL_SERVER_ERROR, "<!DOCTYPE html><title>Error</title><p>The page could not be made; nothing was changed. Try again later.</p>".to_owned())
            }
            Err(_) => html(StatusCode::INTERNAL_SERVER_ERROR, "<!DOCTYPE html><title>Error</title><p>The server stopped.</p>".to_owned()),
        }
    };
    // The link is a secret: it is not logged.
    eprintln!("GET /my/... {} {} us", response.status().as_u16(), started.elapsed().as_micros());
    response
}

/// An HTML page that caches nowhere, leaks no referrer (its address holds
/// the link's secret), runs no script and cannot be framed.
fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'"));
    response
}

type FormFields = axum::extract::Form<HashMap<String, String>>;

async fn staff_sign_in_form(headers: HeaderMap, State(app): State<App>) -> Response {
    staff(&app, finance::Action::SignInForm, &headers, HashMap::new()).await
}
async fn staff_sign_in(State(app): State<App>, headers: HeaderMap, form: FormFields) -> Response {
    staff(&app, finance::Action::SignIn, &headers, form.0).await
}
async fn staff_sign_out(State(app): State<App>, headers: HeaderMap, form: FormFields) -> Response {
    staff(&app, finance::Action::SignOut, &headers, form.0).await
}
async fn staff_home() -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    response.headers_mut().insert(header::LOCATION, HeaderValue::from_static("/staff/accounts"));
    response
}
/// The debtor list; its filters come in the query string (`Form` reads a
/// GET's query).
async fn staff_accounts(State(app): State<App>, headers: HeaderMap, filters: FormFields) -> Response {
    staff(&app, finance::Action::Accounts, &headers, filters.0).await
}
async fn staff_aging(State(app): State<App>, headers: HeaderMap, query: FormFields) -> Response {
    staff(&app, finance::Action::Aging, &headers, query.0).await
}
async fn staff_warnings(State(app): State<App>, headers: HeaderMap, query: FormFields) -> Response {
    staff(&app, finance::Action::Warnings, &headers, query.0).await
}
async fn staff_bank(State(app): State<App>, headers: HeaderMap) -> Response {
    staff(&app, finance::Action::Bank, &headers, HashMap::new()).await
}
async fn staff_settle_bank(State(app): State<App>, headers: HeaderMap, form: FormFields) -> Response {
    staff(&app, finance::Action::SettleBank, &headers, form.0).await
}
async fn staff_set_terms(State(app): State<App>, Path(id): Path<String>, headers: HeaderMap, form: FormFields) -> Response {
    staff(&app, finance::Action::SetTerms(id), &headers, form.0).await
}
async fn staff_set_dynamic_discount(State(app): State<App>, Path(id): Path<String>, headers: HeaderMap, form: FormFields) -> Response {
    staff(&app, finance::Action::SetDynamicDiscount(id), &headers, form.0).await
}
async fn staff_users(State(app): State<App>, headers: HeaderMap) -> Response {
    staff(&app, finance::Action::Users, &headers, HashMap::new()).await
}
async fn staff_add_user(State(app): State<App>, headers: HeaderMap, form: FormFields) -> Response {
    staff(&app, finance::Action::AddUser, &headers, form.0).await
}
async fn staff_update_user(State(app): State<App>, Path(email): Path<String>, headers: HeaderMap, form: FormFields) -> Response {
    staff(&app, finance::Action::UpdateUser(email), &headers, form.0).await
}
async fn staff_record_payment(State(app): State<App>, Path(id): Path<String>, headers: HeaderMap, form: FormFields) -> Response {
    staff(&app, finance::Action::RecordPayment(id), &headers, form.0).await
}
async fn staff_account(State(app): State<App>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    staff(&app, finance::Action::Account(id), &headers, HashMap::new()).await
}
async fn staff_add_note(State(app): State<App>, Path(id): Path<String>, headers: HeaderMap, form: FormFields) -> Response {
    staff(&app, finance::Action::AddNote(id), &headers, form.0).await
}
async fn staff_set_status(State(app): State<App>, Path(id): Path<String>, headers: HeaderMap, form: FormFields) -> Response {
    staff(&app, finance::Action::SetStatus(id), &headers, form.0).await
}
async fn staff_change_limit(State(app): State<App>, Path(id): Path<String>, headers: HeaderMap, form: FormFields) -> Response {
    staff(&app, finance::Action::ChangeLimit(id), &headers, form.0).await
}

/// Whether the browser says this request came from this server's own
/// pages: `Origin` naming this host, or `Sec-Fetch-Site: same-origin`.
/// A client that sends neither is not a browser that another site could
/// drive; the CSRF token still has to match.
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    if let Some(origin) = headers.get(header::ORIGIN) {
        return origin.to_str().ok().and_then(|o| o.strip_prefix("http://").or_else(|| o.strip_prefix("https://"))) == Some(host);
    }
    headers.get("sec-fetch-site").is_none_or(|s| matches!(s.to_str(), Ok("same-origin" | "none")))
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("credit_session=").map(str::to_owned))
        .filter(|c| !c.is_empty())
}

async fn staff(app: &App, action: finance::Action, headers: &HeaderMap, form: HashMap<String, String>) -> Response {
    let started = Instant::now();
    let request = finance::Request { action, cookie: session_cookie(headers), same_origin: same_origin(headers), form, now_ms: chrono::Utc::now().timestamp_millis() };
    let (answer, outcome) = oneshot::channel();
    let response = if app.jobs.send(Job::Staff { request, answer }).is_err() {
        html(StatusCode::SERVICE_UNAVAILABLE, "<!DOCTYPE html><title>Stopping</title><p>The server is stopping; try again shortly.</p>".to_owned())
    } else {
        match outcome.await {
            Ok(Ok(r)) => {
                let mut response = html(StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), r.body);
                let h = response.headers_mut();
                // Not `no-referrer` here: under it a browser sends
                // `Origin: null` with the staff's own forms, and the
                // same-origin check would refuse them. Staff URLs carry no
                // secret; other sites still get no referrer.
                h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
                if let Some(to) = r.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
                    h.insert(header::LOCATION, to);
                }
                if let Some(cookie) = r.set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
                    h.insert(header::SET_COOKIE, cookie);
                }
                response
            }
            Ok(Err(why)) => {
                eprintln!("staff page failed: {why}");
                html(StatusCode::INTERNAL_SERVER_ERROR, "<!DOCTYPE html><title>Error</title><p>The page could not be made; nothing was changed.</p>".to_owned())
            }
            Err(_) => html(StatusCode::INTERNAL_SERVER_ERROR, "<!DOCTYPE html><title>Error</title><p>The server stopped.</p>".to_owned()),
        }
    };
    eprintln!("staff {} {} us", response.status().as_u16(), started.elapsed().as_micros());
    response
}

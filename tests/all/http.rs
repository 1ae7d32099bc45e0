//! `serve-http` from outside, as a storefront and as an attacker meet it:
//! a real server process on loopback, spoken to over TCP. Every refused
//! request is checked to leave every stored byte as it was.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};

use credit_host::store::{Backend, SqliteBackend};
use credit_host::{Ledger, MerchantId};
use serde_json::{Value as Json, json};

use crate::support::*;

pub(crate) fn cli() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_credit-host-cli"));
    c.arg("--component-cache").arg(component_cache());
    c
}

/// Issues an API key with the command a merchant's operator runs.
fn issue_key(db: impl AsRef<std::ffi::OsStr>, merchant: &str) -> String {
    let out = cli().args(["api-keys", "--db"]).arg(db).args(["issue", "--merchant", merchant, "--label", "test shop"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

pub(crate) struct Server {
    child: Child,
    pub(crate) addr: String,
    /// Standard error, line by line, as the server writes it.
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub(crate) fn start(db: impl AsRef<std::ffi::OsStr>, extra: &[&str]) -> Server {
        let mut child = cli()
            .args(["serve-http", "--listen", "127.0.0.1:0", "--db"])
            .arg(db)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        let addr = first.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("not listening: {first:?}")).to_owned();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Server { child, addr, log }
    }

    fn post(&self, path: &str, headers: &[(&str, &str)], body: &Json) -> (u16, Json) {
        request(&self.addr, "POST", path, headers, body.to_string().as_bytes())
    }

    /// SIGTERM, then the exit status.
    pub(crate) fn stop(mut self) -> (ExitStatus, Vec<String>) {
        let term = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(term.success());
        let status = self.child.wait().unwrap();
        // The stderr thread ends with the process; give it the last lines.
        std::thread::sleep(std::time::Duration::from_millis(50));
        let log = self.log.lock().unwrap().clone();
        (status, log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on its own connection: the status and the body as
/// JSON (every answer of the server is JSON, errors included).
fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Json) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // A server refusing a large body may close before reading all of it.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"));
    (status, json)
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

/// (merchant, key, value) of every stored record.
pub(crate) type Rows = Vec<(String, String, Vec<u8>)>;

/// A refused request: what, path, headers, body, status, error kind.
type Case<'a> = (&'a str, &'a str, Vec<(&'a str, String)>, &'a [u8], u16, &'a str);

/// Every stored byte of every merchant's ledger, and the journal's records.
pub(crate) fn fingerprint(db: &Path) -> (Rows, Vec<Json>) {
    let mut store = SqliteBackend::open_read_only(db).unwrap();
    let mut all = Vec::new();
    for m in store.merchants().unwrap() {
        for (k, v) in store.scan(&m, "", None, u32::MAX).unwrap() {
            all.push((m.clone(), k, v));
        }
    }
    let journal = store.journal_scan(0, u32::MAX).unwrap().iter().map(|r| serde_json::from_slice(&r.record).unwrap()).collect();
    (all, journal)
}

fn open_body(account: &str, limit: &str) -> Json {
    json!({
        "ctx": {"now-ms": T0},
        "req": {
            "account-id": account, "customer-id": format!("cust-{account}"), "currency": "GBP", "credit-limit": limit,
            "opened-by": "ops@northwind", "tolerance": {"tag": "none"},
            "terms": {"basis": "invoice-date", "net-days": 30, "discount": null, "instalments": []},
            "policy": {"grace-days": 0, "hold-after-days-overdue": null, "interest": null, "late-fee": null, "reminders": [],
                       "small-difference-max": "0", "small-difference-treatment": "write-off", "statement-day": null}
        }
    })
}

fn authorize_body(account: &str, order: &str, amount: &str) -> Json {
    json!({"ctx": {"now-ms": T0 + HOUR_MS}, "req": {"account-id": account, "order-id": order, "amount": {"amount": amount, "currency": "GBP"}}})
}

fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.sqlite");
    (dir, db)
}

#[test]
fn a_storefront_calls_the_component_over_http_with_its_own_key() {
    let (_dir, db) = temp_db();
    let north = issue_key(&db, "northwind");
    let south = issue_key(&db, "southwind");
    let server = Server::start(&db, &[]);
    let auth = bearer(&north);
    let with = |key: &'static str| [("Authorization", auth.clone()), ("Idempotency-Key", key.to_owned())];
    let h = |pairs: &[(&'static str, String)]| pairs.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let post = |path: &str, headers: &[(&'static str, String)], body: &Json| {
        let headers = h(headers);
        let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        server.post(path, &refs, body)
    };

    let (status, opened) = post("/v1/accounts/open-account", &with("open-acme"), &open_body("acme", "1000.00"));
    assert_eq!((status, &opened["ok"]["account-id"]), (200, &json!("acme")), "{opened}");

    let (status, first) = post("/v1/checkout/authorize", &with("auth-1"), &authorize_body("acme", "SO-1", "400.00"));
    assert_eq!((status, &first["ok"]["tag"]), (200, &json!("approved")), "{first}");
    // A retry (a double click, a timeout) gets the first answer and no second hold.
    let (status, again) = post("/v1/checkout/authorize", &with("auth-1"), &authorize_body("acme", "SO-1", "400.00"));
    assert_eq!((status, &again), (200, &first));
    let (status, reused) = post("/v1/checkout/authorize", &with("auth-1"), &authorize_body("acme", "SO-1", "500.00"));
    assert_eq!((status, &reused["err"]["tag"]), (409, &json!("idempotency-key-reused")), "{reused}");
    // The idempotency key only in the body is not enough; the header is the key.
    let (status, no_key) = post("/v1/checkout/authorize", &[("Authorization", auth.clone())], &authorize_body("acme", "SO-2", "1.00"));
    assert_eq!((status, &no_key["host-error"]["kind"]), (400, &json!("idempotency-key-missing")), "{no_key}");

    // A query with its time given, and one with the server's clock.
    let (status, account) = post("/v1/queries/get-account", &[("Authorization", auth.clone())], &json!({"account-id": "acme", "now-ms": T0 + 2 * HOUR_MS}));
    assert_eq!(status, 200, "{account}");
    assert_eq!(account["ok"]["figures"]["available-credit"], json!("600.00"), "{account}");
    let (status, now) = post("/v1/queries/get-account", &[("Authorization", auth.clone())], &json!({"account-id": "acme"}));
    assert_eq!(status, 200, "{now}");
    // A query that takes no time, a report, an unknown account (the WIT case, 404).
    let (status, list) = post("/v1/queries/list-accounts", &[("Authorization", auth.clone())], &json!({"limit": 10}));
    assert_eq!((status, &list["ok"]), (200, &json!(["acme"])));
    let (status, missing) = post("/v1/checkout/authorize", &with("auth-x"), &authorize_body("nobody", "SO-9", "1.00"));
    assert_eq!((status, &missing["err"]), (404, &json!({"tag": "account-not-found", "val": "nobody"})), "{missing}");
    // Another merchant's key does not reach northwind's account.
    let south_auth = [("Authorization", bearer(&south)), ("Idempotency-Key", "auth-s".to_owned())];
    let (status, theirs) = post("/v1/queries/get-account", &south_auth[..1], &json!({"account-id": "acme", "now-ms": T0}));
    assert_eq!((status, &theirs["err"]["tag"]), (404, &json!("account-not-found")), "{theirs}");
    let (status, theirs) = post("/v1/checkout/authorize", &south_auth, &authorize_body("acme", "SO-3", "1.00"));
    assert_eq!((status, &theirs["err"]["tag"]), (404, &json!("account-not-found")), "{theirs}");

    let (status, log) = server.stop();
    assert!(status.success(), "{status:?} {log:?}");
    assert!(log.iter().any(|l| l.starts_with("POST /v1/checkout/authorize 200 northwind ")), "an access log line per request: {log:?}");
    assert!(log.last().is_some_and(|l| l.starts_with("stopped after ")), "{log:?}");

    // What HTTP answered is what the component answers on the file.
    let mut ledger = Ledger::open_sqlite(component(), &db).unwrap();
    let direct = ledger.call_json(&MerchantId::new("northwind").unwrap(), "queries.get-account", &json!({"account-id": "acme", "now-ms": T0 + 2 * HOUR_MS})).unwrap();
    assert_eq!(direct, account);
    let holds = ledger.call_json(&MerchantId::new("northwind").unwrap(), "queries.open-holds", &json!({"account-id": "acme", "now-ms": T0 + 2 * HOUR_MS})).unwrap();
    assert_eq!(holds["ok"].as_array().map(Vec::len), Some(1), "one hold after the retry: {holds}");
    assert!(ledger.backend().merchants().unwrap() == ["northwind"], "southwind's calls stored nothing");
}

#[test]
fn every_refused_request_changes_nothing() {
    let (_dir, db) = temp_db();
    let north = issue_key(&db, "northwind");
    let south = issue_key(&db, "southwind");
    let revoked = issue_key(&db, "northwind");
    let server = Server::start(&db, &["--max-body-bytes", "4096"]);
    let auth = bearer(&north);
    let (status, _) = server.post("/v1/accounts/open-account", &[("Authorization", &auth), ("Idempotency-Key", "open")], &open_body("acme", "1000.00"));
    assert_eq!(status, 200);
    let out = cli().args(["api-keys", "--db"]).arg(&db).args(["revoke", &revoked[..19]]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let mut tampered = north.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'x' { b'y' } else { b'x' };
    let tampered = String::from_utf8(tampered).unwrap();
    let authorize = authorize_body("acme", "SO-1", "10.00").to_string();
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(5000));
    let huge = "x".repeat(3 << 20);
    let negative = authorize_body("acme", "SO-1", "-5.00").to_string();
    let cases: Vec<Case> = vec![
        ("no key", "/v1/checkout/authorize", vec![("Idempotency-Key", "k".into())], authorize.as_bytes(), 401, "unauthorized"),
        ("a made-up key", "/v1/checkout/authorize", vec![("Authorization", bearer("ck_0123456789abcdef_nope")), ("Idempotency-Key", "k".into())], authorize.as_bytes(), 401, "unauthorized"),
        ("one character changed", "/v1/checkout/authorize", vec![("Authorization", bearer(&tampered)), ("Idempotency-Key", "k".into())], authorize.as_bytes(), 401, "unauthorized"),
        ("a revoked key", "/v1/checkout/authorize", vec![("Authorization", bearer(&revoked)), ("Idempotency-Key", "k".into())], authorize.as_bytes(), 401, "unauthorized"),
        ("the key as Basic", "/v1/checkout/authorize", vec![("Authorization", format!("Basic {north}")), ("Idempotency-Key", "k".into())], authorize.as_bytes(), 401, "unauthorized"),
        ("another merchant's key", "/v1/checkout/authorize", vec![("Authorization", bearer(&south)), ("Idempotency-Key", "k".into())], authorize.as_bytes(), 404, "account-not-found"),
        ("malformed JSON", "/v1/checkout/authorize", vec![("Authorization", auth.clone()), ("Idempotency-Key", "k".into())], b"{\"ctx\": {", 400, "malformed-json"),
        ("not an object", "/v1/checkout/authorize", vec![("Authorization", auth.clone()), ("Idempotency-Key", "k".into())], b"[1, 2]", 400, "malformed-json"),
        ("not UTF-8", "/v1/checkout/authorize", vec![("Authorization", auth.clone()), ("Idempotency-Key", "k".into())], b"{\"a\": \"\xff\"}", 400, "malformed-json"),
        ("a body over the limit", "/v1/checkout/authorize", vec![("Authorization", auth.clone()), ("Idempotency-Key", "k".into())], big.as_bytes(), 413, "body-too-large"),
        ("3 MiB", "/v1/checkout/authorize", vec![("Authorization", auth.clone()), ("Idempotency-Key", "k".into())], huge.as_bytes(), 413, "body-too-large"),
        ("an amount as a number", "/v1/checkout/authorize", vec![("Authorization", auth.clone()), ("Idempotency-Key", "k".into())], br#"{"req": {"account-id": "acme", "order-id": "SO-1", "amount": {"amount": 10, "currency": "GBP"}}}"#, 400, "bad-arguments"),
        ("a parameter the function lacks", "/v1/queries/list-accounts", vec![("Authorization", auth.clone())], br#"{"limit": 1, "limt": 2}"#, 400, "bad-arguments"),
        ("ctx not an object", "/v1/checkout/authorize", vec![("Authorization", auth.clone()), ("Idempotency-Key", "k".into())], br#"{"ctx": 5, "req": {}}"#, 400, "bad-arguments"),
        ("a function the component lacks", "/v1/checkout/steal", vec![("Authorization", auth.clone())], b"{}", 404, "no-such-function"),
        ("the store the component imports", "/v1/store/put", vec![("Authorization", auth.clone())], br#"{"key": "a", "value": []}"#, 404, "no-such-function"),
        ("a path that is no endpoint", "/admin", vec![("Authorization", auth.clone())], b"{}", 404, "no-such-function"),
        ("no idempotency key", "/v1/checkout/authorize", vec![("Authorization", auth.clone())], authorize.as_bytes(), 400, "idempotency-key-missing"),
        ("two idempotency keys", "/v1/checkout/authorize", vec![("Authorization", auth.clone()), ("Idempotency-Key", "other".into())], br#"{"ctx": {"idempotency-key": "k"}, "req": {"account-id": "acme", "order-id": "SO-1", "amount": {"amount": "1.00", "currency": "GBP"}}}"#, 400, "idempotency-key-mismatch"),
        ("the component's refusal", "/v1/checkout/authorize", vec![("Authorization", auth.clone()), ("Idempotency-Key", "k".into())], negative.as_bytes(), 422, "amount-must-be-positive"),
    ];
    for (what, path, headers, body, want_status, want_kind) in &cases {
        let (ledgers, journal) = fingerprint(&db);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, answer) = request(&server.addr, "POST", path, &headers, body);
        let kind = answer["host-error"]["kind"].as_str().or(answer["err"]["tag"].as_str()).unwrap_or_default();
        assert_eq!((status, kind), (*want_status, *want_kind), "{what}: {answer}");
        let (ledgers_after, journal_after) = fingerprint(&db);
        assert!(ledgers_after == ledgers, "{what}: a ledger changed");
        // What the host refuses never reaches the component; a refusal by
        // the component is journaled, as every call that may write is (so
        // that `replay` can check a new build refuses it too), and that
        // record is all it leaves.
        match answer.get("err") {
            None => assert_eq!(journal_after.len(), journal.len(), "{what}: journaled"),
            Some(err) => {
                assert_eq!(journal_after.len(), journal.len() + 1, "{what}");
                assert_eq!(&journal_after.last().unwrap()["answer"]["err"], err, "{what}");
            }
        }
    }
    let (status, answer) = request(&server.addr, "GET", "/v1/queries/list-accounts", &[("Authorization", &auth)], b"");
    assert_eq!((status, &answer["host-error"]["kind"]), (405, &json!("method-not-allowed")));
    // The refusals name what to fix.
    let (_, answer) = request(&server.addr, "POST", "/v1/checkout/authorize", &[("Authorization", &auth), ("Idempotency-Key", "k")], cases[11].3);
    assert!(answer["host-error"]["message"].as_str().unwrap().contains("req.amount.amount: expected a string"), "{answer}");

    // And after all of it the server still serves.
    let (status, ok) = server.post("/v1/checkout/authorize", &[("Authorization", &auth), ("Idempotency-Key", "k")], &authorize_body("acme", "SO-1", "10.00"));
    assert_eq!((status, &ok["ok"]["tag"]), (200, &json!("approved")), "{ok}");
    let (status, log) = server.stop();
    assert!(status.success(), "{log:?}");

    // The keys are kept as hashes: no secret is anywhere in the files.
    let mut bytes = std::fs::read(&db).unwrap();
    if let Ok(wal) = std::fs::read(db.with_extension("sqlite-wal")) {
        bytes.extend(wal);
    }
    for key in [&north, &south, &revoked] {
        let secret = &key.as_bytes()[20..];
        assert!(!bytes.windows(secret.len()).any(|w| w == secret), "a key's secret is stored");
    }
    let listed = cli().args(["api-keys", "--db"]).arg(&db).arg("list").output().unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(listed.contains(&north[..19]) && listed.contains(&revoked[..19]) && !listed.contains(&north[20..]), "{listed}");
}

#[test]
fn sigterm_finishes_the_requests_in_flight_before_closing() {
    let (_dir, db) = temp_db();
    let key = issue_key(&db, "northwind");
    let server = Server::start(&db, &["--verbose"]);
    let auth = bearer(&key);
    let (status, _) = server.post("/v1/accounts/open-account", &[("Authorization", &auth), ("Idempotency-Key", "open")], &open_body("acme", "100000.00"));
    assert_eq!(status, 200);
    const N: usize = 24;
    let calls: Vec<_> = (0..N)
        .map(|i| {
            let (addr, auth) = (server.addr.clone(), auth.clone());
            std::thread::spawn(move || {
                let body = authorize_body("acme", &format!("SO-{i}"), "1.00").to_string();
                request(&addr, "POST", "/v1/checkout/authorize", &[("Authorization", &auth), ("Idempotency-Key", &format!("auth-{i}"))], body.as_bytes())
            })
        })
        .collect();
    // Every request has been read by the server (it logs each one as it
    // arrives with --verbose); most are still waiting for the ledger.
    let received = || server.log.lock().unwrap().iter().filter(|l| l.starts_with("received POST /v1/checkout/authorize")).count();
    let waited = std::time::Instant::now();
    while received() < N {
        assert!(waited.elapsed().as_secs() < 60, "only {} of {N} requests arrived", received());
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let (status, log) = server.stop();
    assert!(status.success(), "{status:?} {log:?}");
    for (i, call) in calls.into_iter().enumerate() {
        let (status, answer) = call.join().unwrap();
        assert_eq!((status, &answer["ok"]["tag"]), (200, &json!("approved")), "request {i}: {answer}");
    }
    assert!(log.iter().any(|l| l.starts_with("stopping: finishing the requests in flight")), "{log:?}");
    let mut ledger = Ledger::open_sqlite(component(), &db).unwrap();
    let holds = ledger.call_json(&MerchantId::new("northwind").unwrap(), "queries.open-holds", &json!({"account-id": "acme", "now-ms": T0 + 2 * HOUR_MS})).unwrap();
    assert_eq!(holds["ok"].as_array().map(Vec::len), Some(N), "every answered hold is stored: {holds}");
}

#[test]
fn serve_http_refuses_addresses_beyond_loopback() {
    let (_dir, db) = temp_db();
    let out = cli().args(["serve-http", "--listen", "0.0.0.0:0", "--db"]).arg(&db).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback only"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!db.exists(), "nothing created");
}

/// Ignored in the plain `cargo test` pass, which has no database server:
/// `tests/run` starts a throwaway PostgreSQL (`tests/postgres.sh`) and runs
/// the suite again with `CREDIT_TEST_POSTGRES` set and `--include-ignored`,
/// so CI runs it every time; run without a server it fails, saying so.
#[test]
#[ignore = "needs PostgreSQL (tests/run)"]
fn two_http_servers_on_one_postgres_database_share_keys_accounts_and_revocations() {
    let url = fresh_postgres(&postgres_url().expect("CREDIT_TEST_POSTGRES: run tests/run"));
    let key = issue_key(&url, "northwind");
    let (one, two) = (Server::start(&url, &[]), Server::start(&url, &[]));
    let auth = bearer(&key);
    let (status, _) = one.post("/v1/accounts/open-account", &[("Authorization", &auth), ("Idempotency-Key", "open")], &open_body("acme", "1000.00"));
    assert_eq!(status, 200);
    let (status, held) = one.post("/v1/checkout/authorize", &[("Authorization", &auth), ("Idempotency-Key", "a1")], &authorize_body("acme", "SO-1", "250.00"));
    assert_eq!((status, &held["ok"]["tag"]), (200, &json!("approved")), "{held}");
    // The retry lands on the other server: the same answer, one hold.
    let (status, again) = two.post("/v1/checkout/authorize", &[("Authorization", &auth), ("Idempotency-Key", "a1")], &authorize_body("acme", "SO-1", "250.00"));
    assert_eq!((status, &again), (200, &held));
    let (status, account) = two.post("/v1/queries/get-account", &[("Authorization", &auth)], &json!({"account-id": "acme", "now-ms": T0 + 2 * HOUR_MS}));
    assert_eq!((status, &account["ok"]["figures"]["available-credit"]), (200, &json!("750.00")), "{account}");
    let out = cli().args(["api-keys", "--db", &url, "revoke", &key[..19]]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for server in [&one, &two] {
        let (status, _) = server.post("/v1/queries/get-account", &[("Authorization", &auth)], &json!({"account-id": "acme"}));
        assert_eq!(status, 401, "a revoked key is refused by every server at once");
    }
    for server in [one, two] {
        let (status, log) = server.stop();
        assert!(status.success(), "{log:?}");
    }
}

/// A GET on its own connection: status, head and body as text.
fn get(addr: &str, path: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    (head.split(' ').nth(1).unwrap().parse().unwrap(), head.to_ascii_lowercase(), body.to_owned())
}

/// `customer-links issue`: the path of the link printed.
fn issue_link(db: &Path, account: &str) -> String {
    let out = cli().args(["customer-links", "--db"]).arg(db).args(["issue", "--merchant", "northwind-trade", "--account", account, "--base-url", "https://shop.example"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().strip_prefix("https://shop.example").unwrap().to_owned()
}

#[test]
fn a_customer_link_opens_that_account_s_page_with_the_component_s_figures_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.sqlite");
    let sim = cli().args(["simulate", "--customers", "6", "--months", "3", "--no-documents", "--db"]).arg(&db).arg("--out").arg(dir.path().join("docs")).output().unwrap();
    assert!(sim.status.success(), "{}", String::from_utf8_lossy(&sim.stderr));
    let mine = issue_link(&db, "c0002");
    let theirs = issue_link(&db, "c0003");
    let revoked = issue_link(&db, "c0002");
    let out = cli().args(["customer-links", "--db"]).arg(&db).args(["revoke", &revoked[4..23]]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let nobody = cli().args(["customer-links", "--db"]).arg(&db).args(["issue", "--merchant", "northwind-trade", "--account", "c9999"]).output().unwrap();
    assert_eq!(nobody.status.code(), Some(2), "no link to an account that does not exist");
    // A link issued a year before the server's clock and valid for a day.
    let expired = {
        let mut store = SqliteBackend::open(&db).unwrap();
        let shop = MerchantId::new("northwind-trade").unwrap();
        let issued_ms = chrono::Utc::now().timestamp_millis() - 366 * DAY_MS;
        format!("/my/{}", credit_host::http::links::issue(&mut store, &shop, "c0002", issued_ms, 1).unwrap().0)
    };
    let before = fingerprint(&db);
    let server = Server::start(&db, &[]);

    let (status, head, page) = get(&server.addr, &mine);
    assert_eq!(status, 200, "{page}");
    for h in ["cache-control: no-store", "referrer-policy: no-referrer", "content-security-policy: default-src 'none'"] {
        assert!(head.contains(h), "{h}: {head}");
    }
    // The figures are the component's, read at the same moment.
    let mut ledger = Ledger::open_sqlite(component(), &db).unwrap();
    let shop = MerchantId::new("northwind-trade").unwrap();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let a = ledger.get_account(&shop, "c0002", now_ms).unwrap().unwrap();
    let shown = |id: &str| page.split(&format!("id=\"{id}\">")).nth(1).and_then(|r| r.split('<').next()).map(str::to_owned);
    let money = |s: &str| credit_host::render::grouped(s);
    assert_eq!(shown("balance"), Some(money(&a.figures.posted_debt)));
    assert_eq!(shown("available"), Some(money(&a.figures.available_credit)));
    assert_eq!(shown("limit"), Some(money(&a.figures.credit_limit)));
    assert_eq!(shown("overdue"), Some(money(&a.overdue)));
    let today = chrono::DateTime::from_timestamp_millis(now_ms).unwrap().format("%Y-%m-%d").to_string();
    let invoices = ledger.open_invoices_all(&shop, "c0002", &today).unwrap().unwrap();
    assert!(!invoices.is_empty(), "the simulated customer owes something");
    for i in &invoices {
        assert!(page.contains(&format!("<td>{}</td><td>{}</td><td>{}", i.invoice_id, i.invoice_date, i.due_date)), "{} with its dates", i.invoice_id);
    }
    let statements = ledger.statements(&shop, "c0002", None, 100).unwrap().unwrap();
    assert_eq!(statements.len(), 3, "one a month");
    assert!(!page.contains("c0003"), "nothing of another account");
    for s in &statements {
        let href = format!("{mine}/statement/{}", s.seq);
        assert!(page.contains(&format!("href=\"{href}\"")), "a link to statement {}", s.seq);
        let (status, _, statement) = get(&server.addr, &href);
        assert_eq!(status, 200);
        assert!(statement.contains("Statement of account") && statement.contains(&money(&s.closing_balance)), "statement {}", s.seq);
    }
    let (status, _, other) = get(&server.addr, &theirs);
    assert!(status == 200 && other.contains("Account c0003") && !other.contains("Account c0002"));

    // Each of these is the same "not valid" page: nothing says which links exist.
    let (_, _, not_found) = get(&server.addr, "/my/cl_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let swapped = format!("/my/cl_{}_{}", &theirs[7..23], &mine[24..]);
    let tampered = format!("{}{}", &mine[..mine.len() - 1], if mine.ends_with('A') { 'B' } else { 'A' });
    for (what, path) in [
        ("revoked", revoked.clone()),
        ("expired", expired),
        ("another link's id with this secret", swapped),
        ("one character changed", tampered),
        ("an API key in its place", format!("/my/{}", issue_key(&db, "northwind-trade"))),
        ("a statement the account does not have", format!("{mine}/statement/99")),
        ("a statement number that is not one", format!("{mine}/statement/x")),
        ("another account's link with a statement path", format!("{theirs}/statement/999")),
    ] {
        let (status, _, body) = get(&server.addr, &path);
        assert_eq!((status, body == not_found), (404, true), "{what}: {body}");
    }
    let (status, log) = server.stop();
    assert!(status.success());
    assert!(!log.iter().any(|l| l.contains(&mine[24..])), "the link's secret is never logged");
    let (ledgers, journal) = fingerprint(&db);
    assert!(ledgers == before.0 && journal == before.1, "pages only read");
}

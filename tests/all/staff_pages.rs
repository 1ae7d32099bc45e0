//! The finance team's pages in `serve-http` (`/staff`), spoken to as a
//! browser would: forms, cookies, `Origin`. Each role does what it may and
//! is refused what it may not; forged and stale requests change nothing.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

use credit_host::{Ledger, MerchantId};

use crate::http::{Server, cli, fingerprint};
use crate::support::*;

const SHOP: &str = "northwind-trade";

struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| l.split_once(": ").filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
    }
    /// The value of a hidden form field.
    fn field(&self, name: &str) -> String {
        let at = self.body.find(&format!("name=\"{name}\" value=\"")).unwrap_or_else(|| panic!("no field {name}: {}", self.body));
        self.body[at..].split('"').nth(3).unwrap().to_owned()
    }
}

/// A browser of one origin, with its cookie jar of one cookie.
struct Browser {
    addr: String,
    cookie: Option<String>,
}

fn encode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~@".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

impl Browser {
    fn new(server: &Server) -> Browser {
        Browser { addr: server.addr.clone(), cookie: None }
    }

    fn send(&mut self, method: &str, path: &str, form: &[(&str, &str)], extra: &[(&str, &str)]) -> Answer {
        let body = form.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect::<Vec<_>>().join("&");
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", self.addr);
        if method == "POST" {
            head.push_str(&format!("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n", body.len()));
        }
        if let Some(c) = &self.cookie {
            head.push_str(&format!("Cookie: credit_session={c}\r\n"));
        }
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.write_all(format!("{head}\r\n{body}").as_bytes()).unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let answer = Answer { status: head.split(' ').nth(1).unwrap().parse().unwrap(), head: head.to_owned(), body: body.to_owned() };
        if let Some(set) = answer.header("set-cookie") {
            let value = set.split(';').next().unwrap().strip_prefix("credit_session=").unwrap();
            self.cookie = (!value.is_empty()).then(|| value.to_owned());
        }
        answer
    }

    /// A form posted from this server's own page, as a browser sends it.
    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let origin = format!("http://{}", self.addr);
        self.send("POST", path, form, &[("Origin", &origin)])
    }

    fn get(&mut self, path: &str) -> Answer {
        self.send("GET", path, &[], &[])
    }

    fn sign_in(&mut self, email: &str, password: &str) -> Answer {
        self.post("/staff/sign-in", &[("merchant", SHOP), ("email", email), ("password", password)])
    }
}

fn add_user(db: &Path, email: &str, role: &str, password: &str) {
    let mut child = cli()
        .args(["users", "--db"])
        .arg(db)
        .args(["add", "--merchant", SHOP, "--email", email, "--role", role])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A forged request: what, its form, extra headers, the status wanted.
type Forged<'a> = (&'a str, Vec<(String, String)>, &'a [(&'a str, &'a str)], u16);

const PASSWORD: &str = "correct horse battery";

fn store() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.sqlite");
    let sim = cli().args(["simulate", "--customers", "4", "--months", "2", "--no-documents", "--db"]).arg(&db).arg("--out").arg(dir.path().join("docs")).output().unwrap();
    assert!(sim.status.success(), "{}", String::from_utf8_lossy(&sim.stderr));
    add_user(&db, "ada@northwind.example", "admin", PASSWORD);
    add_user(&db, "carl@northwind.example", "controller", PASSWORD);
    add_user(&db, "vera@northwind.example", "viewer", PASSWORD);
    (dir, db)
}

#[test]
fn each_role_does_what_it_may_as_itself_and_nothing_more() {
    let (_dir, db) = store();
    let server = Server::start(&db, &[]);
    let mut ada = Browser::new(&server);
    let away = ada.get("/staff/accounts");
    assert_eq!((away.status, away.header("location")), (303, Some("/staff/sign-in")), "signed out: to the sign-in page");
    assert!(ada.get("/staff/sign-in").body.contains("<label for=\"password\">"));

    let signed = ada.sign_in("ada@northwind.example", PASSWORD);
    assert_eq!((signed.status, signed.header("location")), (303, Some("/staff/accounts")), "{}", signed.body);
    let cookie = signed.header("set-cookie").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");

    // The list shows the component's figures.
    let list = ada.get("/staff/accounts");
    assert_eq!(list.status, 200);
    let mut ledger = Ledger::open_sqlite(component(), &db).unwrap();
    let shop = MerchantId::new(SHOP).unwrap();
    let a = ledger.get_account(&shop, "c0002", chrono::Utc::now().timestamp_millis()).unwrap().unwrap();
    let row = format!("<td><a href=\"/staff/accounts/c0002\">c0002</a></td><td>{}</td><td>active</td><td class=\"num\">{}</td>", a.customer_id, credit_host::render::grouped(&a.balance));
    assert!(list.body.contains(&row), "{row} in {}", list.body);

    // An administrator writes a note and changes a limit, as herself.
    let page = ada.get("/staff/accounts/c0002");
    let (csrf, nonce) = (page.field("csrf"), page.field("nonce"));
    let note = ada.post("/staff/accounts/c0002/notes", &[("csrf", &csrf), ("nonce", &nonce), ("text", "Rang: will pay Friday")]);
    assert_eq!((note.status, note.header("location")), (303, Some("/staff/accounts/c0002")), "{}", note.body);
    // The same form sent twice (a double click) is one note.
    let again = ada.post("/staff/accounts/c0002/notes", &[("csrf", &csrf), ("nonce", &nonce), ("text", "Rang: will pay Friday")]);
    assert_eq!(again.status, 303);
    let page = ada.get("/staff/accounts/c0002");
    let limit = ada.post("/staff/accounts/c0002/limit", &[("csrf", &csrf), ("nonce", &page.field("nonce")), ("limit", "12000.00"), ("reason", "annual review")]);
    assert_eq!(limit.status, 303, "{}", limit.body);
    let notes = ledger.notes(&shop, "c0002", None, 100).unwrap().unwrap().notes;
    assert_eq!(notes.iter().map(|n| (n.by.as_str(), n.text.as_str())).collect::<Vec<_>>(), [("ada@northwind.example", "Rang: will pay Friday")]);
    let history = ledger.credit_limit_history(&shop, "c0002", None, 100).unwrap().unwrap();
    let last = history.changes.last().unwrap();
    assert_eq!((last.changed_by.as_str(), last.new_limit.as_str(), last.reason.as_str()), ("ada@northwind.example", "12000.00", "annual review"));
    assert!(ada.get("/staff/accounts/c0002").body.contains("<td>ada@northwind.example</td><td>Rang: will pay Friday</td>"));

    // A credit controller puts an account on hold, and may not change a limit.
    let mut carl = Browser::new(&server);
    assert_eq!(carl.sign_in("carl@northwind.example", PASSWORD).status, 303);
    let page = carl.get("/staff/accounts/c0003");
    assert!(!page.body.contains("/limit\""), "no limit form for a controller");
    let (csrf, nonce) = (page.field("csrf"), page.field("nonce"));
    let hold = carl.post("/staff/accounts/c0003/status", &[("csrf", &csrf), ("nonce", &nonce), ("status", "on-hold"), ("reason", "cheque bounced")]);
    assert_eq!(hold.status, 303, "{}", hold.body);
    let held = ledger.get_account(&shop, "c0003", chrono::Utc::now().timestamp_millis()).unwrap().unwrap();
    assert_eq!(held.status, credit_host::api::AccountStatus::OnHold);

    // ... records a payment: the same form twice is one payment, with the
    // controller named in the note beside it ...
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let paid_before = ledger.payments(&shop, "c0003", None, 100).unwrap().unwrap().len();
    let nonce = carl.get("/staff/accounts/c0003").field("nonce");
    let form = [("csrf", csrf.as_str()), ("nonce", &nonce), ("amount", "25.00"), ("received-on", &today), ("method", "cheque"), ("reference", "chq 101")];
    for _ in 0..2 {
        let paid = carl.post("/staff/accounts/c0003/payments", &form);
        assert_eq!((paid.status, paid.header("location")), (303, Some("/staff/accounts/c0003")), "{}", paid.body);
    }
    let payments = ledger.payments(&shop, "c0003", None, 100).unwrap().unwrap();
    assert_eq!(payments.len(), paid_before + 1, "one payment for one form");
    let p = payments.last().unwrap();
    assert_eq!((p.amount.as_str(), p.method.as_str(), p.reference.as_str(), p.received_on.as_str()), ("25.00", "cheque", "chq 101", today.as_str()));
    let notes = ledger.notes(&shop, "c0003", None, 100).unwrap().unwrap().notes;
    assert_eq!(notes.iter().filter(|n| n.by == "carl@northwind.example" && n.text.contains(&p.payment_id)).count(), 1, "{notes:?}");
    // ... and a payment the component refuses shows why and records nothing.
    let nonce = carl.get("/staff/accounts/c0003").field("nonce");
    let bad = carl.post("/staff/accounts/c0003/payments", &[("csrf", csrf.as_str()), ("nonce", &nonce), ("amount", "12,50"), ("received-on", &today), ("method", "cheque"), ("reference", "")]);
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("Refused, nothing changed: amount"), "{}", bad.body);
    assert_eq!(ledger.payments(&shop, "c0003", None, 100).unwrap().unwrap().len(), paid_before + 1);
    let before = fingerprint(&db);
    let nonce = carl.get("/staff/accounts/c0003").field("nonce");
    let refused = carl.post("/staff/accounts/c0003/limit", &[("csrf", &csrf), ("nonce", &nonce), ("limit", "1.00"), ("reason", "x")]);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(fingerprint(&db) == before, "a controller's limit change changed something");

    // A viewer reads and is refused every action.
    let mut vera = Browser::new(&server);
    assert_eq!(vera.sign_in("vera@northwind.example", PASSWORD).status, 303);
    let page = vera.get("/staff/accounts/c0001");
    assert!(page.status == 200 && !page.body.contains("name=\"nonce\""), "no forms for a viewer");
    let csrf = page.field("csrf");
    for (path, form) in [
        ("/staff/accounts/c0001/notes", vec![("text", "x")]),
        ("/staff/accounts/c0001/status", vec![("status", "on-hold"), ("reason", "x")]),
        ("/staff/accounts/c0001/limit", vec![("limit", "1.00"), ("reason", "x")]),
        ("/staff/accounts/c0001/payments", vec![("amount", "1.00"), ("received-on", "2026-01-05"), ("method", "cash"), ("reference", "")]),
    ] {
        let mut form = form;
        form.extend([("csrf", csrf.as_str()), ("nonce", "0123456789abcdef0123")]);
        let answer = vera.post(path, &form);
        assert_eq!(answer.status, 403, "{path}: {}", answer.body);
        assert!(fingerprint(&db) == before, "{path}: a viewer changed something");
    }
    let (status, _) = server.stop();
    assert!(status.success());
}

#[test]
fn forged_stale_and_guessed_requests_change_nothing() {
    let (_dir, db) = store();
    let server = Server::start(&db, &[]);
    let mut ada = Browser::new(&server);
    assert_eq!(ada.sign_in("ada@northwind.example", PASSWORD).status, 303);
    let page = ada.get("/staff/accounts/c0002");
    let (csrf, nonce) = (page.field("csrf"), page.field("nonce"));
    let note = |csrf: &str| vec![("csrf".to_owned(), csrf.to_owned()), ("nonce".to_owned(), nonce.clone()), ("text".to_owned(), "forged".to_owned())];
    let before = fingerprint(&db);
    let evil = [("Origin", "http://evil.example")];
    let cross = [("Sec-Fetch-Site", "cross-site")];
    let cases: Vec<Forged> = vec![
        ("no CSRF token", vec![("nonce".into(), nonce.clone()), ("text".into(), "forged".into())], &[], 403),
        ("another session's token", note("cs_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), &[], 403),
        ("the right token from another site", note(&csrf), &evil, 403),
        ("sent cross-site (Sec-Fetch-Site)", note(&csrf), &cross, 403),
    ];
    for (what, form, extra, want) in cases {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let answer = if extra.is_empty() { ada.post("/staff/accounts/c0002/notes", &form) } else { ada.send("POST", "/staff/accounts/c0002/notes", &form, extra) };
        assert_eq!(answer.status, want, "{what}: {}", answer.body);
        assert!(fingerprint(&db) == before, "{what}: something changed");
    }
    // Signing in from another site is refused too (login CSRF).
    let mut other = Browser::new(&server);
    let forged = other.send("POST", "/staff/sign-in", &[("merchant", SHOP), ("email", "ada@northwind.example"), ("password", PASSWORD)], &evil);
    assert_eq!((forged.status, other.cookie.is_none()), (403, true));

    // After signing out, the old cookie and token open nothing.
    let old = ada.cookie.clone();
    let out = ada.post("/staff/sign-out", &[("csrf", &csrf)]);
    assert_eq!((out.status, ada.cookie.is_none()), (303, true), "{}", out.head);
    ada.cookie = old;
    assert_eq!(ada.get("/staff/accounts").status, 303, "the old session is over");
    let stale = ada.post("/staff/accounts/c0002/notes", &[("csrf", &csrf), ("nonce", &nonce), ("text", "after sign-out")]);
    assert_eq!(stale.status, 401, "{}", stale.body);
    assert!(fingerprint(&db) == before, "after sign-out: something changed");

    // Wrong passwords: an unknown user and a wrong password read the same;
    // the fifth failure locks the user out, the right password included.
    let mut guesser = Browser::new(&server);
    let unknown = guesser.sign_in("nobody@northwind.example", "whatever-whatever");
    let wrong = guesser.sign_in("vera@northwind.example", "wrong password 1");
    assert_eq!((unknown.status, wrong.status), (401, 401));
    assert!(unknown.body.contains("The e-mail or the password is wrong.") && wrong.body.contains("The e-mail or the password is wrong."));
    let statuses: Vec<u16> = (2..=5).map(|i| guesser.sign_in("vera@northwind.example", &format!("wrong password {i}")).status).collect();
    assert_eq!(statuses, [401, 401, 401, 429]);
    let locked = guesser.sign_in("vera@northwind.example", PASSWORD);
    assert_eq!((locked.status, guesser.cookie.is_none()), (429, true), "locked even with the right password");
    assert!(locked.body.contains("Too many wrong passwords"));
    let users = cli().args(["users", "--db"]).arg(&db).arg("list").output().unwrap();
    let users = String::from_utf8(users.stdout).unwrap();
    assert!(users.contains("vera@northwind.example") && !users.contains("argon2"), "{users}");
    let (status, _) = server.stop();
    assert!(status.success());
}

#[test]
fn an_administrator_manages_users_and_terms_and_no_one_else_can() {
    let (_dir, db) = store();
    let server = Server::start(&db, &[]);
    let shop = MerchantId::new(SHOP).unwrap();

    // A controller and a viewer cannot open or use the users page.
    let mut carl = Browser::new(&server);
    assert_eq!(carl.sign_in("carl@northwind.example", PASSWORD).status, 303);
    assert_eq!(carl.get("/staff/users").status, 403);
    let csrf = carl.get("/staff/accounts/c0001").field("csrf");
    let before = fingerprint(&db);
    let grab = carl.post("/staff/users/carl@northwind.example", &[("csrf", &csrf), ("role", "admin"), ("signs-in", "yes")]);
    assert_eq!(grab.status, 403, "{}", grab.body);
    let sneak = carl.post("/staff/users", &[("csrf", &csrf), ("email", "mallory@evil.example"), ("role", "admin"), ("password", "long enough password")]);
    assert_eq!(sneak.status, 403, "{}", sneak.body);
    assert!(fingerprint(&db) == before, "a controller changed the users");

    // The administrator adds a user, who can then sign in with that role.
    let mut ada = Browser::new(&server);
    assert_eq!(ada.sign_in("ada@northwind.example", PASSWORD).status, 303);
    let page = ada.get("/staff/users");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("carl@northwind.example") && page.body.contains("ada@northwind.example (you)"));
    let csrf = page.field("csrf");
    let short = ada.post("/staff/users", &[("csrf", &csrf), ("email", "dora@northwind.example"), ("role", "controller"), ("password", "short")]);
    assert_eq!(short.status, 422);
    assert!(short.body.contains("at least 12 characters; nobody was added."), "{}", short.body);
    let added = ada.post("/staff/users", &[("csrf", &csrf), ("email", "dora@northwind.example"), ("role", "controller"), ("password", "dora's long password")]);
    assert_eq!((added.status, added.header("location")), (303, Some("/staff/users")), "{}", added.body);
    let mut dora = Browser::new(&server);
    assert_eq!(dora.sign_in("dora@northwind.example", "dora's long password").status, 303);
    assert!(dora.get("/staff/accounts/c0001").body.contains("/payments\""), "a controller's forms");

    // Demoted, carl's open session loses the payment form at once; turned
    // off, his session ends and he cannot sign in again.
    let demote = ada.post("/staff/users/carl@northwind.example", &[("csrf", &csrf), ("role", "viewer"), ("signs-in", "yes")]);
    assert_eq!(demote.status, 303, "{}", demote.body);
    let page = carl.get("/staff/accounts/c0001");
    assert!(page.status == 200 && !page.body.contains("/payments\""), "a viewer now");
    let off = ada.post("/staff/users/carl@northwind.example", &[("csrf", &csrf), ("role", "viewer"), ("signs-in", "no")]);
    assert_eq!(off.status, 303, "{}", off.body);
    assert_eq!(carl.get("/staff/accounts").status, 303, "turned off: signed out");
    let mut again = Browser::new(&server);
    let refused = again.sign_in("carl@northwind.example", PASSWORD);
    assert_eq!((refused.status, again.cookie.is_none()), (401, true));
    assert!(refused.body.contains("The e-mail or the password is wrong."), "said as for anyone");

    // An administrator cannot demote or turn off themselves.
    let before = fingerprint(&db);
    for (role, signs_in) in [("viewer", "yes"), ("admin", "no")] {
        let me = ada.post("/staff/users/ada@northwind.example", &[("csrf", &csrf), ("role", role), ("signs-in", signs_in)]);
        assert_eq!(me.status, 422, "{}", me.body);
    }
    assert!(fingerprint(&db) == before);

    // Terms: net days and the discount for invoices from now on, through
    // set-billing-policy, with the administrator as the "who".
    let page = ada.get("/staff/accounts/c0002");
    let nonce = page.field("nonce");
    let set = ada.post("/staff/accounts/c0002/terms", &[("csrf", &csrf), ("nonce", &nonce), ("net-days", "45"), ("discount-percent", "1.5"), ("discount-days", "7"), ("reason", "annual review")]);
    assert_eq!(set.status, 303, "{}", set.body);
    let mut ledger = Ledger::open_sqlite(component(), &db).unwrap();
    let a = ledger.get_account(&shop, "c0002", chrono::Utc::now().timestamp_millis()).unwrap().unwrap();
    let d = a.terms.discount.as_ref().unwrap();
    assert_eq!((a.terms.net_days, d.percent.as_deref(), d.days), (45, Some("1.5"), 7));
    let last = ledger.ledger_all(&shop, "c0002").unwrap().unwrap().pop().unwrap();
    assert_eq!(last.kind, credit_host::api::EntryKind::PolicyChanged);
    assert!(last.memo.contains("ada@northwind.example"), "{}", last.memo);
    let nonce = ada.get("/staff/accounts/c0002").field("nonce");
    let bad = ada.post("/staff/accounts/c0002/terms", &[("csrf", &csrf), ("nonce", &nonce), ("net-days", "forty"), ("discount-percent", ""), ("reason", "x")]);
    assert_eq!(bad.status, 400, "{}", bad.body);

    // The dynamic discount: the account's offer, read back on the page
    // and through the component; a floor above the cap is refused.
    let page = ada.get("/staff/accounts/c0002");
    assert!(page.body.contains("<p id=\"dynamic\">None offered.</p>"), "{}", page.body);
    let nonce = page.field("nonce");
    let set = ada.post("/staff/accounts/c0002/dynamic-discount", &[("csrf", &csrf), ("nonce", &nonce), ("annual-rate", "12"), ("floor", "0.5"), ("cap", "2"), ("reason", "early-payment programme")]);
    assert_eq!(set.status, 303, "{}", set.body);
    let o = ledger.dynamic_discount(&shop, "c0002", None).unwrap().unwrap().offer.unwrap();
    assert_eq!((o.annual_rate.as_str(), o.floor.as_str(), o.cap.as_str()), ("12", "0.5", "2"));
    let page = ada.get("/staff/accounts/c0002");
    assert!(page.body.contains("12% a year for each day paid before the due date; none under 0.5%, at most 2%"), "{}", page.body);
    assert_eq!(page.field("annual-rate"), "12");
    // (The refusal is journaled, as every call is: the books are compared.)
    let before = crate::support::dump(&mut ledger);
    let nonce = page.field("nonce");
    let bad = ada.post("/staff/accounts/c0002/dynamic-discount", &[("csrf", &csrf), ("nonce", &nonce), ("annual-rate", "12"), ("floor", "3"), ("cap", "2"), ("reason", "x")]);
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("Refused, nothing changed: policy out of range (") && bad.body.contains("offer.floor"), "{}", bad.body);
    assert!(crate::support::dump(&mut ledger) == before);
    drop(ledger);
    let (status, _) = server.stop();
    assert!(status.success());
}

#[test]
fn bank_lines_wait_on_a_page_and_a_controller_settles_them() {
    use crate::bank::{Ntry, camt_v8};
    let (dir, db) = store();
    let yesterday: &'static str = Box::leak((chrono::Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%d").to_string().into_boxed_str());
    let lines = [
        Ntry { reference: "PG-1", amount: "1.23", booked: yesterday, payer: "Unknown & Sons", iban: "GB77", remittance: "see <letter>", ..Default::default() },
        Ntry { reference: "PG-2", amount: "4.56", booked: yesterday, payer: "Bank", iban: "", remittance: "interest", ..Default::default() },
    ];
    let file = dir.path().join("statement.xml");
    std::fs::write(&file, camt_v8(&lines).replace("Unknown & Sons", "Unknown &amp; Sons").replace("see <letter>", "see &lt;letter&gt;")).unwrap();
    let import = cli().args(["bank-import"]).arg(&file).arg("--db").arg(&db).args(["--merchant", SHOP]).output().unwrap();
    assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));
    let server = Server::start(&db, &[]);

    // A viewer sees both lines, escaped, and has no form; her post is refused.
    let mut vera = Browser::new(&server);
    assert_eq!(vera.sign_in("vera@northwind.example", PASSWORD).status, 303);
    let page = vera.get("/staff/bank");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<td>PG-1</td>") && page.body.contains("<td>PG-2</td>"), "{}", page.body);
    assert!(page.body.contains("<td>Unknown &#38; Sons, GB77</td><td>see &#60;letter&#62;</td>"), "{}", page.body);
    assert!(!page.body.contains("name=\"nonce\""), "no form for a viewer");
    let before = fingerprint(&db);
    let csrf = vera.get("/staff/accounts").field("csrf");
    let refused = vera.post("/staff/bank/settle", &[("csrf", &csrf), ("nonce", "0123456789abcdef01"), ("entry", "PG-1"), ("account", "c0001")]);
    assert_eq!(refused.status, 403);
    assert!(fingerprint(&db) == before, "a viewer settled a bank line");

    // A controller: two answers at once are refused; PG-1 goes to c0001,
    // PG-2 is dismissed; nothing waits after.
    let mut carl = Browser::new(&server);
    assert_eq!(carl.sign_in("carl@northwind.example", PASSWORD).status, 303);
    let page = carl.get("/staff/bank");
    let (csrf, nonce) = (page.field("csrf"), page.field("nonce"));
    let both = carl.post("/staff/bank/settle", &[("csrf", &csrf), ("nonce", &nonce), ("entry", "PG-1"), ("account", "c0001"), ("dismiss", "no")]);
    assert_eq!(both.status, 422, "{}", both.body);
    assert!(both.body.contains("give exactly one of"), "{}", both.body);
    assert!(fingerprint(&db) == before);
    let settled = carl.post("/staff/bank/settle", &[("csrf", &csrf), ("nonce", &nonce), ("entry", "PG-1"), ("account", "c0001")]);
    assert_eq!((settled.status, settled.header("location")), (303, Some("/staff/bank")), "{}", settled.body);
    let nonce = carl.get("/staff/bank").field("nonce");
    let dismissed = carl.post("/staff/bank/settle", &[("csrf", &csrf), ("nonce", &nonce), ("entry", "PG-2"), ("dismiss", "bank interest")]);
    assert_eq!(dismissed.status, 303, "{}", dismissed.body);
    assert!(carl.get("/staff/bank").body.contains("Nothing waits."));
    let (status, _) = server.stop();
    assert!(status.success());

    let mut ledger = Ledger::open_sqlite(component(), &db).unwrap();
    let shop = MerchantId::new(SHOP).unwrap();
    let payments = ledger.payments(&shop, "c0001", None, 100).unwrap().unwrap();
    let p = payments.iter().find(|p| p.reference == "PG-1").expect("PG-1 recorded on c0001");
    assert_eq!((p.amount.as_str(), p.method.as_str()), ("1.23", "bank-transfer"));
    assert!(credit_host::bank::review_all(&mut ledger, &shop, None).unwrap().is_empty());
}

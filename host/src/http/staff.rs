//! Finance staff: users per merchant with Argon2id password hashes, roles,
//! sessions and the limit on sign-in attempts. Kept as host records beside
//! the merchants' data (`user/<merchant>/<email>`, `session/<id>`).

use anyhow::{Result, bail};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};

use super::secrets;
use crate::MerchantId;
use crate::store::Backend;

/// What a user may do; each role may do what the ones before it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Reads every page.
    Viewer,
    /// Also records notes and puts accounts on hold or back.
    Controller,
    /// Also changes credit limits and terms and manages the users.
    Admin,
}

impl Role {
    /// As pages show it.
    pub fn words(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Controller => "credit controller",
            Role::Admin => "administrator",
        }
    }
}

/// A member of a merchant's finance team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The merchant whose accounts the user sees.
    pub merchant: String,
    /// How the user signs in; the "who" of what they do.
    pub email: String,
    /// What they may do.
    pub role: Role,
    /// Argon2id, in the PHC string format (salt and parameters inside).
    pub password_hash: String,
    /// Failed sign-ins within the last `ATTEMPT_WINDOW_MS`, ms.
    pub failures_ms: Vec<i64>,
    /// Refused until then after `ATTEMPTS_MAX` failures.
    pub locked_until_ms: Option<i64>,
    /// Turned off by an administrator: cannot sign in, and sessions open
    /// when it happened end at the next request. (Absent in records written
    /// before it existed: false.)
    #[serde(default)]
    pub disabled: bool,
}

/// A signed-in browser.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Whose.
    pub merchant: String,
    /// Who.
    pub email: String,
    /// The token every form of this session carries (cross-site request
    /// forgery: another site cannot read it).
    pub csrf: String,
    /// Until when.
    pub expires_ms: i64,
    /// SHA-256 of the cookie's value.
    pub sha256: String,
}

/// Failed sign-ins allowed within `ATTEMPT_WINDOW_MS` before the user is
/// locked out for `LOCKOUT_MS`, the right password included.
pub const ATTEMPTS_MAX: usize = 5;
/// 15 minutes.
pub const ATTEMPT_WINDOW_MS: i64 = 15 * 60_000;
/// 15 minutes.
pub const LOCKOUT_MS: i64 = 15 * 60_000;
/// A session lasts 12 hours from sign-in.
pub const SESSION_MS: i64 = 12 * 3_600_000;
/// The shortest password taken.
pub const PASSWORD_LEN_MIN: usize = 12;

fn user_key(merchant: &str, email: &str) -> String {
    format!("user/{merchant}/{}", email.to_ascii_lowercase())
}

/// Adds a user; refuses one that exists, a malformed email, a short password.
pub fn add_user(backend: &mut dyn Backend, merchant: &MerchantId, email: &str, role: Role, password: &str) -> Result<User> {
    let ok_email = email.len() <= 254 && email.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.')) && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    anyhow::ensure!(ok_email, "{email:?} is not an e-mail address");
    anyhow::ensure!(password.chars().count() >= PASSWORD_LEN_MIN, "a password needs at least {PASSWORD_LEN_MIN} characters");
    let key = user_key(merchant.as_str(), email);
    if secrets::load::<User>(backend, &key)?.is_some() {
        bail!("{email} is a user of {} already", merchant.as_str());
    }
    let salt = SaltString::encode_b64(&secrets::random::<16>()?).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let password_hash = Argon2::default().hash_password(password.as_bytes(), &salt).map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?.to_string();
    let user = User { merchant: merchant.as_str().to_owned(), email: email.to_ascii_lowercase(), role, password_hash, failures_ms: Vec::new(), locked_until_ms: None, disabled: false };
    secrets::save(backend, &key, &user)?;
    Ok(user)
}

/// Every user of every merchant.
pub fn users(backend: &mut dyn Backend) -> Result<Vec<User>> {
    secrets::load_all(backend, "user/")
}

/// Changes a user's role and whether they may sign in; refuses a user who
/// does not exist.
pub fn update_user(backend: &mut dyn Backend, merchant: &str, email: &str, role: Role, disabled: bool) -> Result<User> {
    let key = user_key(merchant, email);
    let Some(mut user) = secrets::load::<User>(backend, &key)? else { bail!("{email} is not a user of {merchant}") };
    user.role = role;
    user.disabled = disabled;
    secrets::save(backend, &key, &user)?;
    Ok(user)
}

/// A user, by merchant and email.
pub fn user(backend: &mut dyn Backend, merchant: &str, email: &str) -> Result<Option<User>> {
    secrets::load(backend, &user_key(merchant, email))
}

/// How a sign-in went.
pub enum SignIn {
    /// The session's cookie value and the session.
    Signed(String, Session),
    /// Unknown user or wrong password (not said which).
    Refused,
    /// Too many failures: refused until then, whatever the password.
    Locked(i64),
}

/// Checks a password and opens a session.
pub fn sign_in(backend: &mut dyn Backend, merchant: &str, email: &str, password: &str, now_ms: i64) -> Result<SignIn> {
    let key = user_key(merchant, email);
    let Some(mut user) = secrets::load::<User>(backend, &key)?.filter(|u| !u.disabled) else {
        // The same work as for a user, so timing does not say who exists
        // (or who was turned off).
        let _ = Argon2::default().hash_password(password.as_bytes(), &SaltString::encode_b64(&[0; 16]).expect("16 bytes encode"));
        return Ok(SignIn::Refused);
    };
    if let Some(until) = user.locked_until_ms.filter(|u| *u > now_ms) {
        return Ok(SignIn::Locked(until));
    }
    let hash = PasswordHash::new(&user.password_hash).map_err(|e| anyhow::anyhow!("stored hash of {email}: {e}"))?;
    if Argon2::default().verify_password(password.as_bytes(), &hash).is_err() {
        user.failures_ms.retain(|t| now_ms - t < ATTEMPT_WINDOW_MS);
        user.failures_ms.push(now_ms);
        let locked = user.failures_ms.len() >= ATTEMPTS_MAX;
        if locked {
            user.locked_until_ms = Some(now_ms + LOCKOUT_MS);
            user.failures_ms.clear();
        }
        secrets::save(backend, &key, &user)?;
        return Ok(if locked { SignIn::Locked(now_ms + LOCKOUT_MS) } else { SignIn::Refused });
    }
    if !user.failures_ms.is_empty() || user.locked_until_ms.is_some() {
        user.failures_ms.clear();
        user.locked_until_ms = None;
        secrets::save(backend, &key, &user)?;
    }
    let (id, cookie, sha256) = secrets::mint("ss")?;
    let (_, csrf, _) = secrets::mint("cs")?;
    let session = Session { merchant: user.merchant, email: user.email, csrf, expires_ms: now_ms + SESSION_MS, sha256 };
    secrets::save(backend, &format!("session/{id}"), &session)?;
    Ok(SignIn::Signed(cookie, session))
}

/// The session a cookie opens at `now_ms`, with its user as they are now
/// (a changed role counts at once); `None` when signed out, expired, wrong.
pub fn session(backend: &mut dyn Backend, cookie: &str, now_ms: i64) -> Result<Option<(Session, User)>> {
    let Some(id) = secrets::id_of("ss", cookie) else { return Ok(None) };
    let Some(session) = secrets::load::<Session>(backend, &format!("session/{id}"))? else { return Ok(None) };
    if !secrets::matches(cookie, &session.sha256) || now_ms >= session.expires_ms {
        return Ok(None);
    }
    let Some(user) = user(backend, &session.merchant, &session.email)?.filter(|u| !u.disabled) else { return Ok(None) };
    Ok(Some((session, user)))
}

/// Ends the session of a cookie (it is refused from now on).
pub fn sign_out(backend: &mut dyn Backend, cookie: &str) -> Result<()> {
    if let Some(id) = secrets::id_of("ss", cookie)
        && let Some(mut session) = secrets::load::<Session>(backend, &format!("session/{id}"))?
        && secrets::matches(cookie, &session.sha256)
    {
        session.expires_ms = i64::MIN;
        secrets::save(backend, &format!("session/{id}"), &session)?;
    }
    Ok(())
}

//! `/staff/users`: an administrator adds the merchant's finance staff,
//! changes their roles and turns their sign-in off (or on again). The
//! administrator may not demote or turn off themselves, so a merchant is
//! never left without one by a slip of the mouse.

use std::collections::HashMap;

use anyhow::Result;
use askama::Template;

use super::{Response, Who, page, redirect};
use crate::MerchantId;
use crate::http::staff::{self, Role};
use crate::render::utc_minute;
use crate::store::Backend;

struct UserLine {
    email: String,
    role: &'static str,
    role_value: &'static str,
    locked: String,
    disabled: bool,
    me: bool,
}

#[derive(Template)]
#[template(path = "staff_users.html")]
struct UsersView {
    who: Option<Who>,
    message: String,
    csrf: String,
    users: Vec<UserLine>,
    roles: [(&'static str, &'static str); 3],
}

const ROLES: [(&str, &str); 3] = [("viewer", "viewer"), ("controller", "credit controller"), ("admin", "administrator")];

fn role_of(value: &str) -> Option<Role> {
    match value {
        "viewer" => Some(Role::Viewer),
        "controller" => Some(Role::Controller),
        "admin" => Some(Role::Admin),
        _ => None,
    }
}

fn role_value(r: Role) -> &'static str {
    match r {
        Role::Viewer => "viewer",
        Role::Controller => "controller",
        Role::Admin => "admin",
    }
}

/// The users of the signed-in administrator's merchant.
pub(super) fn listing(backend: &mut dyn Backend, who: Who, message: &str, status: u16) -> Result<Response> {
    let users = staff::users(backend)?
        .into_iter()
        .filter(|u| u.merchant == who.merchant)
        .map(|u| UserLine {
            me: u.email == who.email,
            role: u.role.words(),
            role_value: role_value(u.role),
            locked: u.locked_until_ms.map_or_else(String::new, utc_minute),
            disabled: u.disabled,
            email: u.email,
        })
        .collect();
    let v = UsersView { csrf: who.csrf.clone(), who: Some(who), message: message.to_owned(), users, roles: ROLES };
    Ok(page(status, v.render()?))
}

/// Adds a user with the role and first password the form gives.
pub(super) fn add(backend: &mut dyn Backend, who: Who, form: &HashMap<String, String>) -> Result<Response> {
    let field = |n: &str| form.get(n).map(String::as_str).unwrap_or_default();
    let Some(role) = role_of(field("role")) else { return listing(backend, who, "Choose a role; nobody was added.", 400) };
    let merchant = MerchantId::new(who.merchant.as_str())?;
    match staff::add_user(backend, &merchant, field("email").trim(), role, field("password")) {
        Ok(_) => Ok(redirect("/staff/users")),
        Err(e) => listing(backend, who, &format!("{e}; nobody was added."), 422),
    }
}

/// Changes one user's role and whether they may sign in.
pub(super) fn update(backend: &mut dyn Backend, who: Who, email: &str, form: &HashMap<String, String>) -> Result<Response> {
    let field = |n: &str| form.get(n).map(String::as_str).unwrap_or_default();
    let Some(role) = role_of(field("role")) else { return listing(backend, who, "Choose a role; nothing changed.", 400) };
    let disabled = field("signs-in") == "no";
    if email.eq_ignore_ascii_case(&who.email) && (role != Role::Admin || disabled) {
        return listing(backend, who, "You cannot take your own administrator role or sign-in away; ask another administrator. Nothing changed.", 422);
    }
    match staff::update_user(backend, &who.merchant, email, role, disabled) {
        Ok(_) => Ok(redirect("/staff/users")),
        Err(e) => listing(backend, who, &format!("{e}; nothing changed."), 404),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_has_one_form_value() {
        for r in [Role::Viewer, Role::Controller, Role::Admin] {
            assert_eq!(role_of(role_value(r)), Some(r));
            assert!(ROLES.iter().any(|(v, words)| *v == role_value(r) && *words == r.words()));
        }
        assert_eq!(role_of("root"), None);
    }
}

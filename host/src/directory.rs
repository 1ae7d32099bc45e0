//! Who the documents name. The component keeps ids only (a merchant, an
//! account, a customer); the names and addresses printed on invoices and
//! statements, and the address mail goes to, are the storefront's records.
//! The host reads them from a JSON file (`--names`):
//!
//! ```json
//! { "merchants": { "northwind-office": {
//!     "name": "Northwind Office Supplies", "address": ["1 Dock Road", "Leeds"],
//!     "email": "accounts@northwind.example",
//!     "customers": { "acme-dental-ltd": { "name": "Acme Dental Ltd", "email": "ap@acme.example" } } } } }
//! ```
//!
//! Anyone missing from the file is named by their id, so a document is
//! always made.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// A name, an address and where mail goes.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    /// As printed.
    pub name: String,
    /// Address lines, as printed.
    #[serde(default)]
    pub address: Vec<String>,
    /// Where e-mail goes (and, for a merchant, comes from).
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Merchant {
    name: String,
    #[serde(default)]
    address: Vec<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    customers: BTreeMap<String, Party>,
}

impl Merchant {
    fn party(&self) -> Party {
        Party { name: self.name.clone(), address: self.address.clone(), email: self.email.clone() }
    }
}

/// The names file, loaded.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    #[serde(default)]
    merchants: BTreeMap<String, Merchant>,
}

/// Longest name, address line or e-mail address accepted, in bytes.
pub const FIELD_LEN_MAX: usize = 200;

impl Directory {
    /// Reads a names file. A name, address line or e-mail address with a
    /// control character (which would break a mail header) or of more than
    /// `FIELD_LEN_MAX` bytes is refused, naming it.
    pub fn load(path: &Path) -> Result<Directory> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Directory::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Parses and checks a names file's text (see `load`).
    pub fn parse(text: &str) -> Result<Directory> {
        let directory: Directory = serde_json::from_str(text).context("parsing the names")?;
        for (m, merchant) in &directory.merchants {
            check(&format!("merchant {m}"), &merchant.party())?;
            for (c, customer) in &merchant.customers {
                check(&format!("customer {c} of {m}"), customer)?;
            }
        }
        Ok(directory)
    }

    /// Builds one in code (the demo's).
    pub fn with_merchant(mut self, merchant: &str, party: Party) -> Directory {
        let m = self.merchants.entry(merchant.to_owned()).or_default();
        (m.name, m.address, m.email) = (party.name, party.address, party.email);
        self
    }

    /// Adds a customer of `merchant`.
    pub fn with_customer(mut self, merchant: &str, customer: &str, party: Party) -> Directory {
        let m = self.merchants.entry(merchant.to_owned()).or_default();
        m.customers.insert(customer.to_owned(), party);
        self
    }

    /// The merchant as printed (its id when the file does not name it).
    pub fn merchant(&self, merchant: &str) -> Party {
        match self.merchants.get(merchant) {
            Some(m) if !m.name.is_empty() => m.party(),
            _ => Party { name: merchant.to_owned(), ..Party::default() },
        }
    }

    /// A customer of `merchant` as printed (its id when not named).
    pub fn customer(&self, merchant: &str, customer: &str) -> Party {
        self.merchants
            .get(merchant)
            .and_then(|m| m.customers.get(customer))
            .cloned()
            .unwrap_or_else(|| Party { name: customer.to_owned(), ..Party::default() })
    }
}

fn check(who: &str, p: &Party) -> Result<()> {
    for (what, value) in std::iter::once(("name", p.name.as_str()))
        .chain(p.address.iter().map(|a| ("address", a.as_str())))
        .chain(p.email.iter().map(|e| ("email", e.as_str())))
    {
        if value.chars().any(char::is_control) {
            bail!("{who}: the {what} {value:?} has a control character");
        }
        if value.len() > FIELD_LEN_MAX {
            bail!("{who}: the {what} is longer than {FIELD_LEN_MAX} bytes");
        }
    }
    if let Some(e) = &p.email
        && (!e.contains('@') || e.contains(char::is_whitespace) || e.contains(['<', '>', ',', ';']))
    {
        bail!("{who}: {e:?} is not one e-mail address");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(json: &str) -> Result<Directory> {
        Directory::parse(json)
    }

    #[test]
    fn names_and_fallbacks() {
        let d =
            load(r#"{"merchants":{"m":{"name":"M Ltd","email":"a@m.example","customers":{"c":{"name":"C Ltd","address":["1 Road"]}}}}}"#).unwrap();
        assert_eq!(d.merchant("m").name, "M Ltd");
        assert_eq!(d.merchant("other").name, "other");
        assert_eq!(d.customer("m", "c").address, ["1 Road"]);
        assert_eq!(d.customer("m", "d").name, "d");
    }

    #[test]
    fn header_breaking_values_are_refused() {
        let e = load(r#"{"merchants":{"m":{"name":"M\r\nBcc: x@y"}}}"#).unwrap_err();
        assert!(format!("{e:#}").contains("control character"), "{e:#}");
        let e = load(r#"{"merchants":{"m":{"name":"M","email":"a@b, c@d"}}}"#).unwrap_err();
        assert!(format!("{e:#}").contains("not one e-mail address"), "{e:#}");
        assert!(load(r#"{"merchants":{"m":{"nam":"M"}}}"#).is_err(), "unknown fields are refused");
    }
}
